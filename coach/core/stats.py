"""Post-call statistics: the ``coach.stats/1`` object of docs/metrics.md.

Pure: computed from the finished timeline's record and segments. Times leave
the core here, converted from integer milliseconds to seconds.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from coach.core.budget import cue_summary, decide_all
from coach.core.nudge_text import KINDS, nudge_text
from coach.core.timeline import FloorChange, Nudge, Timeline
from coach.core.types import NudgeKind, Side

SCHEMA = "coach.stats/1"


def _s(t_ms: int) -> float:
    return round(t_ms / 1000, 3)


class _FloorHistory:
    """Who held the floor when, from the list of floor changes."""

    def __init__(self, changes: list[FloorChange]) -> None:
        self.times = [c.t_ms for c in changes]
        self.holders = [c.side for c in changes]

    def holder_at(self, t: int) -> Side | None:
        i = bisect_right(self.times, t) - 1
        return self.holders[i] if i >= 0 else None

    def rep_holds_within(self, a: int, b: int) -> bool:
        if self.holder_at(a) is Side.REP:
            return True
        i = bisect_right(self.times, a)
        return any(
            h is Side.REP for t, h in zip(self.times[i:], self.holders[i:], strict=True) if t <= b
        )

    def rep_yields_within(self, a: int, b: int) -> bool:
        if self.holder_at(a) is not Side.REP:
            return True
        i = bisect_right(self.times, a)
        return any(
            h is not Side.REP
            for t, h in zip(self.times[i:], self.holders[i:], strict=True)
            if t <= b
        )


def heeded(nudge: Nudge, timeline: Timeline, history: _FloorHistory) -> bool:
    """Did the behaviour the nudge asks for follow within ``nudges.heed_window_s``?"""
    tm = timeline.timing
    a, b = nudge.t_ms, nudge.t_ms + tm.heed_window_ms
    rep = timeline.tracks[Side.REP]
    if nudge.kind is NudgeKind.ACKNOWLEDGE:
        return any(a <= x <= b for x in timeline.record.backchannels[Side.REP])
    if nudge.kind is NudgeKind.DEEPEN:
        return history.rep_holds_within(a, b)
    if nudge.kind in (NudgeKind.PAUSE, NudgeKind.TALK_LESS):
        return history.rep_yields_within(a, b)
    if nudge.kind is NudgeKind.LET_FINISH:
        i = rep.segment_index_before(a - tm.backchannel_max_ms + 1)
        if i < 0:
            return True
        end, _ = rep.utterance_end(i)
        return end is not None and end <= b
    return False  # summarise: needs transcription to tell


def _sides(timeline: Timeline) -> tuple[dict[str, dict[str, Any]], dict[Side, int]]:
    """Each side's figures by its label, and its talk in ms."""
    tm = timeline.timing
    rec = timeline.record
    sides: dict[str, dict[str, Any]] = {}
    talk: dict[Side, int] = {}
    for side in Side:
        segs = timeline.tracks[side].segments()
        talk[side] = sum(e - s for s, e in segs)
        monos = rec.monologues[side]
        sides[side.label] = {
            "talk_s": _s(talk[side]),
            "longest_monologue_s": _s(max((e - s for s, e in monos), default=0)),
            "monologues": [[_s(s), _s(e)] for s, e in monos if e - s >= tm.min_monologue_ms],
            "backchannels": [_s(t) for t in rec.backchannels[side]],
        }
    return sides, talk


def _nudges(
    timeline: Timeline, language: str
) -> tuple[list[dict[str, Any]], dict[str, list[bool]]]:
    """The due nudges in time order, each judged; and the verdicts by the kind's name."""
    history = _FloorHistory(timeline.record.floor_changes)
    nudges = []
    per_kind: dict[str, list[bool]] = {}
    for n in sorted(timeline.record.nudges, key=lambda n: n.t_ms):  # the walks emit out of order
        n.heeded = heeded(n, timeline, history)
        n.text = n.text or nudge_text(n.kind, language, n.quote)
        per_kind.setdefault(n.kind.value, []).append(n.heeded)
        entry: dict[str, Any] = {
            "t": _s(n.t_ms),
            "kind": n.kind.value,
            "text": n.text,
            "heeded": n.heeded,
        }
        if n.shown is not None:  # the budget's verdict (coach/core/budget.py)
            entry["shown"] = n.shown
            if n.held_ms is not None:
                entry["held_s"] = _s(n.held_ms)
            if n.hidden is not None:
                entry["hidden"] = n.hidden
        nudges.append(entry)
    return nudges, per_kind


def compute_stats(
    timeline: Timeline,
    *,
    language: str = "en",
    questions: int | None = None,
    summaries: int | None = None,
) -> dict[str, Any]:
    """The ``coach.stats/1`` object for a finished timeline."""
    assert timeline.duration_ms is not None, "finish() the timeline first"
    rec = timeline.record
    duration_ms = timeline.duration_ms
    sides, talk = _sides(timeline)
    total = talk[Side.REP] + talk[Side.CUSTOMER]
    gaps = rec.patience_gaps_ms
    if any(n.shown is None for n in rec.nudges):  # not decided on the way: the default budget
        decide_all(timeline)
    nudges, per_kind = _nudges(timeline, language)
    minutes = duration_ms / 60000
    return {
        "schema": SCHEMA,
        "duration_s": _s(duration_ms),
        "talk_ratio": round(talk[Side.REP] / total, 4) if total else None,
        "patience_s": round(sum(gaps) / len(gaps) / 1000, 3) if gaps else None,
        "interactivity_per_min": round(rec.side_changes / minutes, 3) if minutes else 0.0,
        "interruptions": [_s(t) for t in rec.interruptions],
        # beside the count: calls of different lengths compare
        "interruptions_per_min": round(len(rec.interruptions) / minutes, 3) if minutes else 0.0,
        "rep": sides["rep"],
        "customer": sides["customer"],
        "questions": questions,
        "summaries": summaries,
        "nudges": nudges,
        "cues": cue_summary(rec.nudges),
        "heed_rate": {
            k: (round(sum(v) / len(v), 3) if (v := per_kind.get(k)) else None) for k in KINDS
        },
        "speech": {
            side.label: [[_s(s), _s(e)] for s, e in timeline.tracks[side].segments()]
            for side in Side
        },
    }
