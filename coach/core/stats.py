"""Post-call statistics: :class:`Stats`, built once, and its ``coach.stats/1`` object.

:func:`build_stats` reads the finished timeline's record and segments, the
budget's decided nudges and, when the call was transcribed, what its words tell
(:class:`WordStats`); each nudge is judged there, once (coach/core/heed.py).
:meth:`Stats.to_json` is the one place the figures become the object of
docs/metrics.md: times leave the core there, from integer milliseconds to seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coach.core.budget import cue_summary, decide_all
from coach.core.heed import heeded
from coach.core.nudge_text import KINDS, nudge_text
from coach.core.record import Nudge
from coach.core.timeline import Timeline
from coach.core.types import Side

SCHEMA = "coach.stats/1"


def _s(t_ms: int) -> float:
    return round(t_ms / 1000, 3)


def _spans_s(spans: Sequence[tuple[int, int]]) -> list[list[float]]:
    return [[_s(s), _s(e)] for s, e in spans]


@dataclass(frozen=True)
class WordStats:
    """What the call's words tell (coach/transcription builds it): per side by its label."""

    questions: int
    summaries: int
    pace_wpm: Mapping[str, float | None]
    filler_words: Mapping[str, Mapping[str, int]]
    backchannel_words: Mapping[str, int]  # backchannels whose words confirm them
    backchannel_word_counts: Mapping[str, Mapping[str, int]]
    deepen_heeded: Mapping[int, bool]  # a deepen nudge's time (ms) -> taken up with a question
    transcription: Mapping[str, Any]  # the model, and how much of the call it read


@dataclass(frozen=True)
class SideStats:
    """One side's figures, in audio milliseconds."""

    talk_ms: int
    longest_monologue_ms: int
    monologues: tuple[tuple[int, int], ...]  # those of at least min_monologue_s
    backchannels: tuple[int, ...]
    speech: tuple[tuple[int, int], ...]

    def to_json(self, words: WordStats | None, label: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "talk_s": _s(self.talk_ms),
            "longest_monologue_s": _s(self.longest_monologue_ms),
            "monologues": _spans_s(self.monologues),
            "backchannels": [_s(t) for t in self.backchannels],
        }
        if words is not None:
            out["backchannel_words"] = words.backchannel_words[label]
            out["backchannel_word_counts"] = dict(words.backchannel_word_counts[label])
        return out


@dataclass(frozen=True)
class Stats:
    """A finished call's statistics: the figures, each nudge as decided and judged."""

    duration_ms: int
    talk_ratio: float | None
    patience_ms: float | None  # the mean patience gap
    interactivity_per_min: float
    interruptions: tuple[int, ...]
    interruptions_per_min: float
    sides: Mapping[Side, SideStats]
    nudges: tuple[Nudge, ...]  # in time order, each with its text and verdict
    cues: Mapping[str, object]
    words: WordStats | None = None
    warnings: tuple[str, ...] = ()

    def heed_rate(self) -> dict[str, float | None]:
        """The share heeded of each kind's nudges (None: none was due)."""
        rates: dict[str, float | None] = {}
        for kind in KINDS:
            verdicts = [bool(n.heeded) for n in self.nudges if n.kind == kind]
            rates[kind] = round(sum(verdicts) / len(verdicts), 3) if verdicts else None
        return rates

    def to_json(self) -> dict[str, Any]:
        """The ``coach.stats/1`` object (what the report, history and ``--json`` read)."""
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "duration_s": _s(self.duration_ms),
            "talk_ratio": self.talk_ratio,
            "patience_s": None if self.patience_ms is None else round(self.patience_ms / 1000, 3),
            "interactivity_per_min": self.interactivity_per_min,
            "interruptions": [_s(t) for t in self.interruptions],
            # beside the count: calls of different lengths compare
            "interruptions_per_min": self.interruptions_per_min,
            **{s.label: self.sides[s].to_json(self.words, s.label) for s in Side},
            "questions": None if self.words is None else self.words.questions,
            "summaries": None if self.words is None else self.words.summaries,
            "nudges": [_nudge_json(n) for n in self.nudges],
            "cues": dict(self.cues),
            "heed_rate": self.heed_rate(),
            "speech": {s.label: _spans_s(self.sides[s].speech) for s in Side},
        }
        if self.words is not None:
            out["pace_wpm"] = dict(self.words.pace_wpm)
            out["filler_words"] = {k: dict(v) for k, v in self.words.filler_words.items()}
            out["transcription"] = dict(self.words.transcription)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def _nudge_json(n: Nudge) -> dict[str, Any]:
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
    return entry


def _side(timeline: Timeline, side: Side) -> SideStats:
    rec = timeline.record
    segs = timeline.tracks[side].segments()
    monos = rec.monologues[side]
    return SideStats(
        talk_ms=sum(e - s for s, e in segs),
        longest_monologue_ms=max((e - s for s, e in monos), default=0),
        monologues=tuple((s, e) for s, e in monos if e - s >= timeline.timing.min_monologue_ms),
        backchannels=tuple(rec.backchannels[side]),
        speech=tuple((s, e) for s, e in segs),
    )


def build_stats(
    timeline: Timeline,
    nudges: Sequence[Nudge] | None = None,
    *,
    language: str = "en",
    words: WordStats | None = None,
    warnings: Sequence[str] = (),
) -> Stats:
    """A finished timeline's statistics.

    ``nudges`` are the record's nudges as the budget decided them, in the order
    the timeline fired them (None: decided now by the default budget).
    """
    assert timeline.duration_ms is not None, "finish() the timeline first"
    rec = timeline.record
    duration_ms = timeline.duration_ms
    if nudges is None:
        nudges = decide_all(timeline)
    sides = {side: _side(timeline, side) for side in Side}
    rep_ms, total_ms = sides[Side.REP].talk_ms, sum(s.talk_ms for s in sides.values())
    gaps = rec.patience_gaps_ms
    minutes = duration_ms / 60000
    deepen_words = None if words is None else words.deepen_heeded
    judged = tuple(
        replace(
            n,
            heeded=heeded(n, timeline, deepen_words),
            text=nudge_text(n.kind, language, n.quote),
        )
        for n in sorted(nudges, key=lambda n: n.t_ms)  # the walks emit out of order
    )
    return Stats(
        duration_ms=duration_ms,
        talk_ratio=round(rep_ms / total_ms, 4) if total_ms else None,
        patience_ms=sum(gaps) / len(gaps) if gaps else None,
        interactivity_per_min=round(rec.side_changes / minutes, 3) if minutes else 0.0,
        interruptions=tuple(rec.interruptions),
        interruptions_per_min=round(len(rec.interruptions) / minutes, 3) if minutes else 0.0,
        sides=sides,
        nudges=judged,
        cues=cue_summary(list(nudges)),
        words=words,
        warnings=tuple(warnings),
    )
