"""The report's takeaways: one to three plain sentences, most important first.

Each topic (a silent side, the talk ratio, monologues, interruptions, the
customer's stories, acknowledgements, patience, questions) reads the figures
and notes a problem or something that went well, each with a weight; the
heaviest problems lead, and a call with fewer than three problems also gets
what went well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coach.ui.figures import (
    Figures,
    ReportTargets,
    fmt_pct,
    fmt_time,
    say_duration,
    times_list,
    times_said,
)


class _Notes:
    """Problems and good points, each with its weight (higher: said first)."""

    def __init__(self) -> None:
        self.issues: list[tuple[float, str]] = []
        self.good: list[tuple[float, str]] = []

    def issue(self, weight: float, text: str) -> None:
        self.issues.append((weight, text))

    def well(self, weight: float, text: str) -> None:
        self.good.append((weight, text))


def _silent_side(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    if f.rep_talk_s == 0:
        notes.issue(1000.0, "We heard nothing from you — check that your microphone was recorded.")
    if f.customer_talk_s == 0:
        notes.issue(
            1000.0,
            "We heard nothing from the customer — check that the call's audio "
            "(system loopback) was recorded.",
        )


def _talk_ratio(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    """The one figure that predicts conversion best."""
    ratio = f.talk_ratio if f.talk_ratio is not None else 0.0
    if ratio > t.talk_ratio_max:
        notes.issue(
            100.0 + (ratio - t.talk_ratio_max) * 100,
            f"You talked {fmt_pct(ratio)} of the time — aim for under "
            f"{fmt_pct(t.talk_ratio_max)} (top reps: about {fmt_pct(t.talk_ratio_ideal)}).",
        )
    elif ratio > t.talk_ratio_ideal + 0.10 and f.customer_talk_s > 0:
        notes.issue(
            15.0,
            f"You talked {fmt_pct(ratio)} of the time — within the limit, but top reps "
            f"talk about {fmt_pct(t.talk_ratio_ideal)}: ask, then listen.",
        )
    elif f.rep_talk_s > 0 and f.customer_talk_s > 0 and ratio < 0.5:
        notes.well(
            7.0,
            f"You talked {fmt_pct(ratio)} of the time — the customer did most of "
            "the talking. Keep it up.",
        )


def _monologue(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    if f.rep_longest_s > t.rep_monologue_max_s:
        over = (f.rep_longest_s - t.rep_monologue_max_s) / max(t.rep_monologue_max_s, 1.0)
        notes.issue(
            80.0 + min(over, 1.0) * 10,
            f"Your longest monologue ran {say_duration(f.rep_longest_s)} — stop within "
            f"{say_duration(t.rep_monologue_max_s)} and ask a question.",
        )


def _interruptions(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    n_int = len(f.interruptions)
    if n_int:
        notes.issue(
            85.0 if n_int >= 3 else 60.0 + 5 * n_int,
            f"You interrupted {times_said(n_int)} (at {times_list(f.interruptions, 3)})"
            " — let them finish.",
        )
    elif f.customer_talk_s > 0 and f.rep_talk_s > 0:
        notes.well(3.0, "You never talked over the customer — good.")


def _story(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    if f.customer_talk_s <= 0:
        return
    if f.story_s < t.story_benchmark_s:
        short = (t.story_benchmark_s - f.story_s) / max(t.story_benchmark_s, 1.0)
        notes.issue(
            50.0 + short * 20,
            f"Your customer's longest story was {say_duration(f.story_s)} — stories over "
            f"{say_duration(t.story_benchmark_s)} go with won deals: ask open questions "
            "and let them run.",
        )
    else:
        notes.well(
            8.0,
            f"Your customer's longest story ran {say_duration(f.story_s)} — long "
            "stories go with won deals.",
        )


def _acknowledgements(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    if f.rep_backchannels == 0 and f.customer_talk_s >= 60:
        notes.issue(
            45.0,
            'You never said "aha" or "right" while the customer talked — a quick '
            "acknowledgement keeps them going.",
        )
    elif f.rep_backchannels > 0:
        notes.well(
            6.0,
            f"You acknowledged the customer {times_said(f.rep_backchannels)} — good listening.",
        )


def _patience(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    if f.patience_s is None:
        return
    if f.patience_s < t.patience_good_s:
        notes.issue(
            30.0,
            f"On average you answered {f.patience_s:.1f} s after the customer stopped — "
            f"wait a beat longer (top reps pause about {t.patience_good_s:.1f} s or more).",
        )
    else:
        notes.well(
            5.0,
            f"You paused {f.patience_s:.1f} s on average before answering — room "
            "for the customer to add more.",
        )


def _questions(f: Figures, t: ReportTargets, notes: _Notes) -> None:
    if f.questions is None:
        return
    if f.questions > 18:
        notes.issue(
            20.0,
            f"You asked {f.questions} questions — 11 to 14 work best in discovery; "
            "fewer, more open ones let the customer talk.",
        )
    elif f.questions < 6 and f.duration_s >= 300:
        notes.issue(
            20.0,
            f"You asked {f.questions} question{'s' if f.questions != 1 else ''} — "
            "good discovery calls ask 11 to 14.",
        )


_TOPICS: tuple[Callable[[Figures, ReportTargets, _Notes], None], ...] = (
    _silent_side,
    _talk_ratio,
    _monologue,
    _interruptions,
    _story,
    _acknowledgements,
    _patience,
    _questions,
)
"""In this order: equal weights keep it (the ranking is a stable sort)."""


def takeaways(stats: dict[str, Any], targets: ReportTargets) -> list[str]:
    """1-3 plain-language sentences, most important first.

    Problems come first, ranked by how much they matter; a call with fewer
    than three problems also gets what went well, so the list is never empty.
    """
    f = Figures.of(stats)
    if f.silent:
        return [
            "There was no speech in this call — check that both sides were recorded "
            "(your microphone and the call's audio)."
        ]
    notes = _Notes()
    for topic in _TOPICS:
        topic(f, targets, notes)
    issues = sorted(notes.issues, key=lambda x: -x[0])
    good = sorted(notes.good, key=lambda x: -x[0])
    out = [s for _, s in issues[:3]]
    if len(out) < 3 and good:
        out += [s for _, s in good[: (2 if not out else 1)]][: 3 - len(out)]
    if not out:
        out = [f"Call of {fmt_time(f.duration_s)} analysed — nothing stood out."]
    return out
