"""What a transcript says, in English and German: pure functions over plain text.

Used on the transcripts of single utterances (faster-whisper output, with its
punctuation), and testable with plain strings:

* :func:`is_question` -- punctuation ("…?"), or a sentence opening with a
  question word followed by a verb ("what is…", "how many…", "wie viele…"),
  or verb-first with a subject ("do you…", "hast du…"), or an invitation to
  talk ("tell me…", "erzähl mal…").
* :func:`is_summary` -- a recap phrase anywhere in the utterance ("so what I'm
  hearing…", "to summarise…", "if I understand you correctly…", "wenn ich
  dich richtig verstehe…", "zusammengefasst…").
* :func:`ack_words` -- acknowledgement words ("aha", "mhm", "right", "I see",
  "genau", "verstehe"): they confirm that a short utterance was a backchannel.
* :func:`filler_words` -- "um", "uh", "you know"… / "äh", "ähm", "sozusagen"…
* :func:`key_phrase` -- a salient phrase of a customer story for the
  ``deepen`` nudge ("migration timeline"): runs of words between stop words,
  scored by repetition and length.

Languages are ``"en"`` and ``"de"``; anything else falls back to English. The word
lists themselves are in ``word_lists``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from coach.transcription.word_lists import ANY, WORD_RE, Lexicon, lexicon, words

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…])$")
_BREAK = re.compile(r"[.!?…,;:()\"“”„«»—–]| - ")


def sentences(text: str) -> list[str]:
    """``text`` split after ``.``, ``!``, ``?`` and ``…`` (each keeps its punctuation)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s and s.strip()]


# ---------------------------------------------------------------------------- matching


def _find(ws: list[str], phrases: tuple[tuple[str, ...], ...]) -> list[tuple[int, tuple[str, ...]]]:
    """Non-overlapping occurrences (start index, phrase), longest phrase first at each spot."""
    out: list[tuple[int, tuple[str, ...]]] = []
    i = 0
    while i < len(ws):
        for p in phrases:
            if _matches(ws, i, p):
                out.append((i, p))
                i += len(p)
                break
        else:
            i += 1
    return out


def _matches(ws: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    got = ws[i : i + len(phrase)]
    return len(got) == len(phrase) and all(p in (w, ANY) for p, w in zip(phrase, got, strict=True))


def _opening(ws: list[str], lex: Lexicon) -> list[str]:
    i = 0
    while i < len(ws) - 1 and ws[i] in lex.discourse_openers:
        i += 1
    return ws[i:]


def sentence_is_question(sentence: str, language: str = "en") -> bool:
    """One sentence: ends with "?", or opens like a question.

    A question word followed by a verb ("what is…", "how many…", "wer
    entscheidet…") or an invitation ("tell me…") counts whatever the punctuation;
    verb-first with a subject ("do you…", "hast du…") only when the sentence is
    not closed by "." or "!" (so "Do it now." is not a question).
    """
    s = sentence.strip().rstrip("\"'”»)")
    if not s:
        return False
    if s.endswith("?"):
        return True
    lex = lexicon(language)
    ws = _opening(words(s), lex)
    if not ws:
        return False
    first = ws[0]
    nxt = ws[1] if len(ws) > 1 else ""
    if first in lex.question_words:
        # "what is…", "how many…"; but not "what we did was…"; "what's…" alone is enough
        if "'" in first or nxt in lex.question_followers:
            return True
        return (
            bool(lex.verb_endings)
            and nxt not in lex.subjects
            and not nxt.startswith("ge")
            and nxt.endswith(lex.verb_endings)
        )
    if first in lex.verb_openers and nxt in lex.subjects:
        return not s.endswith((".", "!"))
    return any(tuple(ws[: len(p)]) == p for p in lex.invitations)


def is_question(text: str, language: str = "en") -> bool:
    """Is any sentence of this utterance a question?"""
    return any(sentence_is_question(s, language) for s in sentences(text))


def question_count(text: str, language: str = "en") -> int:
    """Question sentences in ``text``."""
    return sum(sentence_is_question(s, language) for s in sentences(text))


def is_summary(text: str, language: str = "en") -> bool:
    """Does this utterance recap ("so what I'm hearing…", "zusammengefasst…")?"""
    return bool(_find(words(text), lexicon(language).summary_phrases))


def ack_words(text: str, language: str = "en") -> list[str]:
    """Acknowledgement words in ``text``, canonical ("mm-hmm" → "mhm")."""
    lex = lexicon(language)
    return [
        lex.ack_canonical.get(" ".join(p), " ".join(p))
        for _, p in _find(words(text), lex.ack_phrases)
    ]


def is_acknowledgement(text: str, language: str = "en") -> bool:
    """Is this short utterance an acknowledgement ("Mm-hmm.", "I see.", "Genau.")?"""
    return bool(ack_words(text, language))


def filler_words(text: str, language: str = "en") -> Counter[str]:
    """Filler words and their counts ("um": 2, "you know": 1)."""
    lex = lexicon(language)
    return Counter(" ".join(p) for _, p in _find(words(text), lex.filler_phrases))


def word_count(text: str) -> int:
    return len(words(text))


# ---------------------------------------------------------------------------- key phrases


@dataclass(frozen=True)
class _Candidate:
    key: tuple[str, ...]
    surface: str
    position: int  # order of occurrence in the story


def _is_content(key: str, lex: Lexicon) -> bool:
    if key in lex.stop_words or len(key) < 2:
        return False
    if "'" in key:  # "customer's": judge the word itself
        return _is_content(key.split("'")[0], lex)
    return True


def _runs(text: str, lex: Lexicon) -> list[list[tuple[str, str, bool]]]:
    """Runs of content words between stop words and punctuation.

    Each word is (key, surface, sentence_initial).
    """
    runs: list[list[tuple[str, str, bool]]] = []
    for sentence in sentences(text):
        initial = True
        for chunk in _BREAK.split(sentence.replace("’", "'")):
            run: list[tuple[str, str, bool]] = []
            for m in WORD_RE.finditer(chunk):
                surface = m.group(0)
                key = surface.lower()
                if _is_content(key, lex):
                    run.append((key, surface, initial))
                elif run:
                    runs.append(run)
                    run = []
                initial = False
            if run:
                runs.append(run)
    return runs


def _stem(key: str) -> str:
    """Fold simple plurals so "migrations" and "migration" count together."""
    if len(key) > 4 and key.endswith("s") and not key.endswith("ss"):
        return key[:-1]
    return key


def key_phrase(text: str, language: str = "en", max_words: int = 3) -> str | None:
    """The most salient phrase of a story, or None when it has no content words.

    Candidates are the 1..``max_words``-word n-grams inside runs of content words
    (split at stop words and punctuation). Score: occurrences × (1 + (words - 1) / 2),
    plus a tenth of the words' frequencies in the story -- so what the customer
    repeated wins, and among equals the longer, more specific phrase; ties go to
    the later one (the most recent topic is the natural one to ask about). A
    phrase made of digits alone is never chosen.
    """
    lex = lexicon(language)
    runs = _runs(text, lex)
    if not runs:
        return None
    freq: Counter[str] = Counter(_stem(k) for run in runs for k, _, _ in run)
    occurrences: Counter[tuple[str, ...]] = Counter()
    last: dict[tuple[str, ...], _Candidate] = {}
    position = 0
    for run in runs:
        for n in range(1, max_words + 1):
            for i in range(len(run) - n + 1):
                gram = run[i : i + n]
                key = tuple(_stem(k) for k, _, _ in gram)
                if all(k.isdigit() for k in key):
                    continue
                occurrences[key] += 1
                surface_words = [s for _, s, _ in gram]
                if lex.lowercase_first and gram[0][2] and not surface_words[0].isupper():
                    surface_words[0] = surface_words[0][:1].lower() + surface_words[0][1:]
                position += 1
                prev = last.get(key)
                # keep the surface of a non-initial occurrence when there is one
                if prev is None or not gram[0][2] or prev.surface == " ".join(surface_words):
                    last[key] = _Candidate(key, " ".join(surface_words), position)
                else:
                    last[key] = _Candidate(key, prev.surface, position)

    def score(c: _Candidate) -> tuple[float, int]:
        occ = occurrences[c.key]
        return (occ * (1 + (len(c.key) - 1) / 2) + sum(freq[k] for k in c.key) / 10, c.position)

    best = max(last.values(), key=score)
    return best.surface
