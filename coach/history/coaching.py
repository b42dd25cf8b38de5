"""Coaching against the rep's own history: baselines, best call, most improved,
fading, control calls and the coach's measured effect.

Pure functions over stored ``coach.stats/1`` objects (oldest first), as the
history keeps them: numbers and fixed labels only. Each object may carry
``call_type`` (the preset, or "general") and ``coached`` (False on a silent
control call, True on a coached live call; absent for an offline analysis).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coach.config import Config
from coach.core.budget import BudgetParams
from coach.core.nudge_text import KINDS

TALK_RATIO_IDEAL = 0.43  # Gong Labs: best-converting calls 43:57
QUESTIONS_IDEAL = 12.5  # Gong: 11-14 questions in discovery work best
Z_95 = 1.959964


@dataclass(frozen=True)
class Metric:
    """A figure compared across calls, and which way is better."""

    key: str
    label: str
    goodness: Callable[[float], float]  # higher is better
    unit: str  # "%" (a fraction), "s", "" (a count), "/min"


METRICS: tuple[Metric, ...] = (
    Metric("talk_ratio", "Talk ratio", lambda v: -abs(v - TALK_RATIO_IDEAL), "%"),
    Metric("longest_monologue_s", "Longest monologue", lambda v: -v, "s"),
    Metric("longest_story_s", "Longest customer story", lambda v: v, "s"),
    Metric("questions", "Questions", lambda v: -abs(v - QUESTIONS_IDEAL), ""),
    Metric("patience_s", "Patience", lambda v: min(v, 1.5), "s"),
    Metric("interruptions", "Interruptions", lambda v: -v, ""),
)
"""The figures `coach history` holds a call against the rep's baseline on."""

EFFECT_METRICS = ("talk_ratio", "longest_monologue_s", "patience_s", "longest_story_s")
"""What `coach history effect` compares between coached and silent calls (Gong's set)."""


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _side(stats: Mapping[str, Any], side: str) -> Mapping[str, Any]:
    d = stats.get(side)
    return d if isinstance(d, dict) else {}


def figures(stats: Mapping[str, Any]) -> dict[str, float | None]:
    """The compared figures of one call (None: not measured, e.g. questions without transcripts)."""
    interruptions = stats.get("interruptions")
    return {
        "talk_ratio": _num(stats.get("talk_ratio")),
        "longest_monologue_s": _num(_side(stats, "rep").get("longest_monologue_s")),
        "longest_story_s": _num(_side(stats, "customer").get("longest_monologue_s")),
        "questions": _num(stats.get("questions")),
        "patience_s": _num(stats.get("patience_s")),
        "interruptions": float(len(interruptions)) if isinstance(interruptions, list) else None,
    }


def call_type(stats: Mapping[str, Any]) -> str:
    kind = stats.get("call_type")
    return kind if isinstance(kind, str) and kind else "general"


def coached(stats: Mapping[str, Any]) -> bool | None:
    value = stats.get("coached")
    return value if isinstance(value, bool) else None


# -- baselines --------------------------------------------------------------------------------


def same_type_before(calls: Sequence[Mapping[str, Any]], index: int, n: int) -> list[Any]:
    """The last ``n`` calls before ``calls[index]`` of its call type, oldest first."""
    kind = call_type(calls[index])
    return [c for c in calls[:index] if call_type(c) == kind][-n:]


def baseline(calls: Sequence[Mapping[str, Any]], n: int) -> dict[str, float | None]:
    """The rep's median of each figure over ``calls`` (None where none has it)."""
    out: dict[str, float | None] = {}
    for m in METRICS:
        values = [v for c in calls if (v := figures(c)[m.key]) is not None]
        out[m.key] = statistics.median(values) if values else None
    return out


def compare(calls: Sequence[Mapping[str, Any]], index: int, n: int) -> dict[str, Any]:
    """``calls[index]`` against the median of the ``n`` calls of its type before it."""
    before = same_type_before(calls, index, n)
    base = baseline(before, n)
    this = figures(calls[index])
    rows = []
    for m in METRICS:
        v, b = this[m.key], base[m.key]
        verdict = None
        if v is not None and b is not None:
            g, gb = m.goodness(v), m.goodness(b)
            verdict = (
                "same" if math.isclose(g, gb, abs_tol=1e-9) else ("better" if g > gb else "worse")
            )
        rows.append({"key": m.key, "value": v, "baseline": b, "verdict": verdict})
    return {"call_type": call_type(calls[index]), "baseline_calls": len(before), "figures": rows}


def series(calls: Sequence[Mapping[str, Any]], key: str) -> list[float | None]:
    return [figures(c)[key] for c in calls]


def best_call(calls: Sequence[Mapping[str, Any]]) -> int | None:
    """The index of the call that ranks best on average over the figures it has."""
    if not calls:
        return None
    ranks: list[list[float]] = [[] for _ in calls]
    for m in METRICS:
        have = [
            (m.goodness(v), i) for i, c in enumerate(calls) if (v := figures(c)[m.key]) is not None
        ]
        if len(have) < 2:
            continue
        ordered = sorted(have, reverse=True)
        for rank, (_, i) in enumerate(ordered):
            ranks[i].append(rank / (len(ordered) - 1))
    scored = [(statistics.fmean(r), i) for i, r in enumerate(ranks) if r]
    return min(scored)[1] if scored else None


def most_improved(calls: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The figure that improved most: the median of the recent half against the
    earlier half, in units of the figure's spread over all calls (so a talk ratio
    and a story length compare)."""
    best: dict[str, Any] | None = None
    for m in METRICS:
        values = [v for v in series(calls, m.key) if v is not None]
        if len(values) < 4:
            continue
        half = len(values) // 2
        early, late = statistics.median(values[:half]), statistics.median(values[-half:])
        spread = statistics.pstdev(values) or 1.0
        gain = (m.goodness(late) - m.goodness(early)) / spread
        if gain > 0 and (best is None or gain > best["gain"]):
            best = {"key": m.key, "earlier": early, "recent": late, "gain": gain}
    return best


# -- fading and the dead-band -----------------------------------------------------------------


def fade_every(
    calls: Sequence[Mapping[str, Any]],
    *,
    recent: int,
    heed_rate: float,
    every: int,
    min_shown: int = 5,
) -> dict[str, int]:
    """Kinds the rep heeds reliably in the last ``recent`` calls: those with at least
    ``min_shown`` shown nudges, heeded at ``heed_rate`` or more, show one due in ``every``."""
    if recent <= 0 or every <= 1:
        return {}
    counts: dict[str, list[int]] = {}
    for c in calls[-recent:]:
        nudges = c.get("nudges")
        for n in nudges if isinstance(nudges, list) else []:
            if not isinstance(n, dict) or n.get("shown") is False:
                continue
            kind, heeded = n.get("kind"), n.get("heeded")
            if kind in KINDS and isinstance(heeded, bool):
                pair = counts.setdefault(str(kind), [0, 0])
                pair[0] += heeded
                pair[1] += 1
    return {
        kind: every
        for kind, (h, total) in counts.items()
        if total >= min_shown and h / total >= heed_rate
    }


def talk_ratio_baseline(calls: Sequence[Mapping[str, Any]], kind: str, n: int) -> float | None:
    """The rep's median talk ratio over the last ``n`` calls of this call type."""
    values = [
        v for c in calls if call_type(c) == kind and (v := figures(c)["talk_ratio"]) is not None
    ]
    return statistics.median(values[-n:]) if values[-n:] else None


def control_call(calls_so_far: int, every: int) -> bool:
    """Whether the next live call (number ``calls_so_far + 1``) is a silent control call."""
    return every > 0 and (calls_so_far + 1) % every == 0


# -- the coach's effect ------------------------------------------------------------------------


def _t_quantile(df: float) -> float:
    """The 97.5 % quantile of Student's t (Cornish-Fisher from the normal; ~0.3 % at df 3)."""
    z = Z_95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its 95 % confidence interval (Welch's t)."""
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return ma - mb, ma - mb, ma - mb
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t_quantile(df) * se
    return ma - mb, ma - mb - half, ma - mb + half


def effect(calls: Sequence[Mapping[str, Any]], min_each: int) -> dict[str, Any]:
    """Coached against silent calls on Gong's set, with counts and 95 % intervals;
    ``enough`` is False below ``min_each`` calls on either side."""
    on = [c for c in calls if coached(c) is True]
    off = [c for c in calls if coached(c) is False]
    out: dict[str, Any] = {
        "coached": len(on),
        "silent": len(off),
        "min_each": min_each,
        "enough": False,
        "figures": [],
    }
    for key in EFFECT_METRICS:
        a = [v for c in on if (v := figures(c)[key]) is not None]
        b = [v for c in off if (v := figures(c)[key]) is not None]
        row: dict[str, Any] = {"key": key, "coached_n": len(a), "silent_n": len(b)}
        if len(a) >= max(2, min_each) and len(b) >= max(2, min_each):
            diff, lo, hi = welch(a, b)
            row.update(
                coached_mean=statistics.fmean(a),
                silent_mean=statistics.fmean(b),
                difference=diff,
                ci95=[lo, hi],
            )
            out["enough"] = True
        out["figures"].append(row)
    return out


# -- a live call's coaching, from the history ---------------------------------------------------


@dataclass(frozen=True)
class CallCoaching:
    """How the next live call is coached, and the labels its stats carry."""

    budget: BudgetParams
    call_type: str
    coached: bool


def plan_call(config: Config, history: Sequence[Mapping[str, Any]]) -> CallCoaching:
    """The budget for the next `coach start` call from the rep's history (oldest
    first): a control call (``coach.control_every``), faded kinds and the
    talk-ratio dead-band over the baseline of this call type."""
    kind = config.coach.preset or "general"
    live_calls = sum(1 for c in history if coached(c) is not None)  # not offline analyses
    silent = control_call(live_calls, config.coach.control_every)
    n = config.nudges
    fades = fade_every(history, recent=n.fade_calls, heed_rate=n.fade_heed_rate, every=n.fade_every)
    base = talk_ratio_baseline(history, kind, config.history.baseline_calls)
    floor = None if base is None else base + n.talk_ratio_band
    budget = BudgetParams.from_config(
        config, silent=silent, fade_every=fades, talk_ratio_floor=floor
    )
    return CallCoaching(budget, kind, not silent)
