"""What each nudge says, per language (``coach.language``): short, one glance."""

from __future__ import annotations

from coach.core.types import NudgeKind

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "acknowledge": 'Show you\'re listening: "Aha"',
        "deepen": "That's an interesting point — can you tell me more?",
        "deepen_quote": "You heard: '{quote}' — ask: can you tell me more about that?",
        "summarise": "Summarise what you've heard so far",
        "pause": "Pause — let the customer speak",
        "talk_less": "Talk less, listen more",
        "let_finish": "Let them finish",
    },
    "de": {
        "acknowledge": 'Zeig, dass du zuhörst: "Aha"',
        "deepen": "Interessanter Punkt — kannst du mir mehr darüber erzählen?",
        "deepen_quote": "Du hast gehört: '{quote}' — frag: Kannst du mir mehr darüber erzählen?",
        "summarise": "Fasse zusammen, was du bisher gehört hast",
        "pause": "Pause — lass den Kunden sprechen",
        "talk_less": "Weniger reden, mehr zuhören",
        "let_finish": "Lass ausreden",
    },
}

KINDS = tuple(kind.value for kind in NudgeKind)
"""The contract's names of the nudge kinds, in the order reports list them."""


def nudge_text(kind: str, language: str = "en", quote: str | None = None) -> str:
    texts = TEXTS.get(language, TEXTS["en"])
    if kind == NudgeKind.DEEPEN and quote:
        return texts["deepen_quote"].format(quote=quote)
    return texts[kind]
