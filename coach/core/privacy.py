"""What of a call's words may leave the process: the forms of the statistics that do.

The words of a call -- transcripts, the ``deepen`` nudge's quote of the
customer, which acknowledgement and filler words were said -- live in memory.
They reach the user's own outputs (``--json``, ``--stats-json``, ``--events``,
``--save-transcript``, the panel and report on a terminal) and nothing else:

- :func:`for_history` is what the history database keeps: numbers and fixed
  labels only. Nudges keep their kind, time and verdict (their texts are
  rebuilt from the kind when shown); word lists become category counts
  (``acknowledgement_words``, ``filler_words`` per side).
- :func:`fixed_nudge_texts` gives every nudge the fixed text of its kind, for
  stderr, desktop notifications and a history entry being shown.

Pure functions over the plain ``coach.stats/1`` dict; inputs are never changed.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from coach.core.nudge_text import KINDS, nudge_text

HIDDEN_REASONS = (
    "control",
    "faded",
    "baseline",
    "cooldown",
    "unheeded",
    "budget",
    "stale",
    "ended",
)
"""The nudge budget's reasons for not showing a nudge (coach/core/budget.py): fixed labels."""

SIDES = ("rep", "customer")
WORD_KEYS = frozenset({"quote", "text", "transcript"})
"""Keys whose values hold words of the call wherever they appear; never kept."""


def _count(x: Any) -> int:
    """How many words a word list or word -> count map holds (a count stays a count)."""
    if isinstance(x, bool):
        return 0
    if isinstance(x, (int, float)):
        return int(x) if math.isfinite(x) else 0
    if isinstance(x, dict):
        return sum(_count(v) for v in x.values())
    if isinstance(x, list):
        return len(x)
    return 0


def _without_word_keys(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _without_word_keys(v) for k, v in x.items() if k not in WORD_KEYS}
    if isinstance(x, list):
        return [_without_word_keys(v) for v in x]
    return x


def _label_only_nudge(n: dict[str, Any]) -> dict[str, Any]:
    """A nudge as numbers plus its kind: no text, no quote, no other string."""
    kind = n.get("kind")
    out = {k: v for k, v in n.items() if not isinstance(v, (str, dict, list))}
    out["kind"] = kind if kind in KINDS else "unknown"
    if n.get("hidden") in HIDDEN_REASONS:  # why the budget did not show it: a fixed label
        out["hidden"] = n["hidden"]
    return out


def for_history(stats: dict[str, Any]) -> dict[str, Any]:
    """``stats`` as the history keeps it: numbers and fixed labels, never a word of the call."""
    out: dict[str, Any] = _without_word_keys(copy.deepcopy(stats))
    nudges = out.get("nudges")
    if isinstance(nudges, list):
        out["nudges"] = [_label_only_nudge(n) for n in nudges if isinstance(n, dict)]
    for side in SIDES:
        part = out.get(side)
        if isinstance(part, dict) and "backchannel_word_counts" in part:
            part["acknowledgement_words"] = _count(part.pop("backchannel_word_counts"))
    if "filler_words" in out:
        fillers = out["filler_words"]
        if isinstance(fillers, dict) and set(fillers) <= set(SIDES):
            out["filler_words"] = {side: _count(v) for side, v in fillers.items()}
        else:
            out["filler_words"] = _count(fillers)
    return out


def fixed_nudge_texts(stats: dict[str, Any], language: str = "en") -> dict[str, Any]:
    """``stats`` with each nudge's text the fixed one of its kind (no quote); a copy."""
    out = copy.deepcopy(stats)
    nudges = out.get("nudges")
    if isinstance(nudges, list):
        for n in nudges:
            if isinstance(n, dict):
                n.pop("quote", None)
                kind = n.get("kind")
                if kind in KINDS:
                    n["text"] = nudge_text(str(kind), language)
                else:
                    n.pop("text", None)
    return out
