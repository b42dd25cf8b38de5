"""One call as the history keeps it: the trend figures of its stats, and its stored row."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _count(x: Any) -> int:
    return len(x) if isinstance(x, list) else 0


def _side(stats: dict[str, Any], side: str) -> dict[str, Any]:
    d = stats.get(side)
    return d if isinstance(d, dict) else {}


def _longest(stats: dict[str, Any], side: str) -> float:
    return max(0.0, _num(_side(stats, side).get("longest_monologue_s")) or 0.0)


def figures(stats: dict[str, Any]) -> dict[str, Any]:
    """The trend columns of one stats object, read defensively (bad values → null / 0)."""
    nudges = stats.get("nudges")
    nudges = nudges if isinstance(nudges, list) else []
    heeded = sum(1 for n in nudges if isinstance(n, dict) and n.get("heeded") is True)
    return {
        "duration_s": max(0.0, _num(stats.get("duration_s")) or 0.0),
        "talk_ratio": _num(stats.get("talk_ratio")),
        "longest_story_s": _longest(stats, "customer"),
        "longest_monologue_s": _longest(stats, "rep"),
        "patience_s": _num(stats.get("patience_s")),
        "interactivity_per_min": _num(stats.get("interactivity_per_min")),
        "nudges": len(nudges),
        "heed_rate": heeded / len(nudges) if nudges else None,
        "interruptions": _count(stats.get("interruptions")),
        "backchannels": _count(_side(stats, "rep").get("backchannels")),
    }


def _finite(x: Any) -> Any:
    """The stats with every NaN/inf replaced by null, so the stored JSON is strict JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def dumps_stats(stats: dict[str, Any]) -> str:
    return json.dumps(_finite(stats), allow_nan=False, separators=(",", ":"))


def loads_stats(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def now() -> datetime:
    return datetime.now().astimezone()


def iso(t: datetime) -> str:
    return (t if t.tzinfo is not None else t.astimezone()).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CallRow:
    """One call in the history, without its full stats (see :meth:`History.get_call`)."""

    id: int
    started_at: str
    saved_at: str
    source: str
    duration_s: float
    talk_ratio: float | None
    longest_story_s: float
    longest_monologue_s: float
    patience_s: float | None
    interactivity_per_min: float | None
    nudges: int
    heed_rate: float | None
    interruptions: int
    backchannels: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CallRow))
"""The CSV / JSON columns, in order."""


def values(rows: Sequence[CallRow], column: str) -> list[float | None]:
    """One column of ``rows``, oldest first (``rows`` come newest first)."""
    return [getattr(r, column) for r in reversed(rows)]
