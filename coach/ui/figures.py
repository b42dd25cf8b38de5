"""The figures the post-call report reads from a ``coach.stats/1`` object, and their wording.

What enters is the plain dict ``json.loads`` gives (any producer's: unknown keys
are ignored, malformed values read as missing) and the thresholds it is judged
against; what leaves is typed figures and the formats every part of the report
shares (times, percentages, durations in a sentence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coach.ui.style import BAD, GOOD, WARN


@dataclass(frozen=True)
class ReportTargets:
    """The thresholds the report compares against, in seconds / fractions."""

    talk_ratio_max: float = 0.65  # nudges.talk_ratio_max
    talk_ratio_ideal: float = 0.43  # Gong Labs: best-converting calls 43:57
    rep_monologue_max_s: float = 60.0  # nudges.rep_monologue_max_s
    story_benchmark_s: float = 50.0  # Gong: longest story <= 50 s goes with lower close rates
    patience_good_s: float = 1.0  # ~1-1.5 s pauses of top performers (Gong, secondary sources)
    heed_window_s: float = 15.0  # nudges.heed_window_s


def number(x: Any) -> float | None:
    """A finite number, or None for null / missing / anything else."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def side_stats(stats: dict[str, Any], side: str) -> dict[str, Any]:
    d = stats.get(side)
    return d if isinstance(d, dict) else {}


def span_list(x: Any) -> list[tuple[float, float]]:
    """``[[start, end], ...]`` as float pairs; malformed entries are skipped."""
    out: list[tuple[float, float]] = []
    if not isinstance(x, list):
        return out
    for item in x:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            a, b = number(item[0]), number(item[1])
            if a is not None and b is not None and b > a:
                out.append((a, b))
    return out


def time_list(x: Any) -> list[float]:
    if not isinstance(x, list):
        return []
    return [v for v in (number(i) for i in x) if v is not None]


def fmt_time(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour), rounded to the nearest second."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_pct(fraction: float) -> str:
    return f"{round(fraction * 100)} %"


def say_duration(seconds: float) -> str:
    """A duration for a sentence: "38 s", "2 min 10 s"."""
    s = max(0, int(round(seconds)))
    if s < 90:
        return f"{s} s"
    m, sec = divmod(s, 60)
    return f"{m} min {sec} s" if sec else f"{m} min"


def times_list(times: Sequence[float], limit: int = 6) -> str:
    shown = ", ".join(fmt_time(t) for t in times[:limit])
    if len(times) > limit:
        shown += f" … +{len(times) - limit} more"
    return shown


def times_said(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def ratio_style(ratio: float, t: ReportTargets) -> str:
    if ratio > t.talk_ratio_max + 0.10:
        return f"bold {BAD}"
    if ratio > t.talk_ratio_max:
        return BAD
    if ratio > t.talk_ratio_ideal + 0.05:
        return WARN
    return GOOD


@dataclass(frozen=True)
class Figures:
    """The figures the report uses, read defensively from a stats dict."""

    duration_s: float
    talk_ratio: float | None
    rep_talk_s: float
    customer_talk_s: float
    rep_longest_s: float
    story_s: float
    patience_s: float | None
    interactivity: float | None
    interruptions: list[float]
    rep_backchannels: int
    questions: int | None
    summaries: int | None

    @classmethod
    def of(cls, stats: dict[str, Any]) -> Figures:
        rep, cust = side_stats(stats, "rep"), side_stats(stats, "customer")
        q, s = number(stats.get("questions")), number(stats.get("summaries"))
        bcs = rep.get("backchannels")
        return cls(
            duration_s=max(0.0, number(stats.get("duration_s")) or 0.0),
            talk_ratio=number(stats.get("talk_ratio")),
            rep_talk_s=max(0.0, number(rep.get("talk_s")) or 0.0),
            customer_talk_s=max(0.0, number(cust.get("talk_s")) or 0.0),
            rep_longest_s=max(0.0, number(rep.get("longest_monologue_s")) or 0.0),
            story_s=max(0.0, number(cust.get("longest_monologue_s")) or 0.0),
            patience_s=number(stats.get("patience_s")),
            interactivity=number(stats.get("interactivity_per_min")),
            interruptions=sorted(time_list(stats.get("interruptions"))),
            rep_backchannels=len(bcs) if isinstance(bcs, list) else 0,
            questions=None if q is None else int(q),
            summaries=None if s is None else int(s),
        )

    @property
    def silent(self) -> bool:
        return self.talk_ratio is None or (self.rep_talk_s == 0 and self.customer_talk_s == 0)

    @property
    def bc_per_customer_min(self) -> float | None:
        if self.customer_talk_s <= 0:
            return None
        return self.rep_backchannels / (self.customer_talk_s / 60.0)
