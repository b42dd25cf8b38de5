"""The statistics are built once: nudges are never changed, each is judged in one place.

A story of 44 s by the customer, then the rep takes the floor: an ``acknowledge``
nudge at 24 s (no backchannel follows) and a ``deepen`` nudge at 46 s (the rep
takes the floor at 47 s).
"""

from __future__ import annotations

import dataclasses

import pytest

from coach.config import Config
from coach.core.budget import decide_all
from coach.core.record import Nudge
from coach.core.stats import WordStats, build_stats
from coach.core.timeline import Timeline
from coach.core.timing import Timing, ms
from coach.core.types import NudgeKind, Side


def story_call() -> Timeline:
    timeline = Timeline(Timing.from_config(Config()))
    for side, spans in ((Side.CUSTOMER, [(1, 45)]), (Side.REP, [(47, 52), (60, 62)])):
        for start, end in spans:
            timeline.tracks[side].add_speech(ms(start), ms(end))
    timeline.finish(ms(90.0))
    return timeline


def words(deepen_heeded: dict[int, bool]) -> WordStats:
    return WordStats(
        questions=0,
        summaries=1,
        pace_wpm={"rep": 150.0, "customer": None},
        filler_words={"rep": {"um": 2}, "customer": {}},
        backchannel_words={"rep": 0, "customer": 0},
        backchannel_word_counts={"rep": {}, "customer": {}},
        deepen_heeded=deepen_heeded,
        transcription={"model": "test"},
    )


def test_a_nudge_cannot_be_changed_once_fired() -> None:
    nudge = Nudge(24_000, NudgeKind.ACKNOWLEDGE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        nudge.heeded = True  # type: ignore[misc]


def test_the_budget_and_the_statistics_make_new_nudges_and_leave_the_record_alone() -> None:
    timeline = story_call()
    decided = decide_all(timeline)
    stats = build_stats(timeline, decided)
    assert [(n.t_ms, n.kind) for n in timeline.record.nudges] == [
        (24_000, "acknowledge"),
        (46_000, "deepen"),
    ]
    assert all(n.shown is None and n.heeded is None for n in timeline.record.nudges)
    assert [n.shown for n in decided] == [True, True]
    assert all(n.heeded is None for n in decided)
    assert [(n.kind, n.shown, n.heeded) for n in stats.nudges] == [
        ("acknowledge", True, False),
        ("deepen", True, True),
    ]


def test_without_words_taking_the_floor_heeds_a_deepen_nudge() -> None:
    out = build_stats(story_call()).to_json()
    assert [n["heeded"] for n in out["nudges"]] == [False, True]
    assert out["heed_rate"]["deepen"] == 1.0
    assert out["questions"] is None and out["summaries"] is None
    assert "pace_wpm" not in out and "transcription" not in out
    assert "backchannel_words" not in out["rep"]


def test_the_words_decide_a_deepen_nudge_in_the_nudge_and_its_rate_alike() -> None:
    timeline = story_call()
    out = build_stats(timeline, words=words({46_000: False})).to_json()
    (deepen,) = [n for n in out["nudges"] if n["kind"] == "deepen"]
    assert deepen["heeded"] is False  # the rep took the floor, but not with a question
    assert out["heed_rate"]["deepen"] == 0.0
    assert out["summaries"] == 1 and out["pace_wpm"] == {"rep": 150.0, "customer": None}
    assert out["rep"]["backchannel_words"] == 0
    assert out["transcription"] == {"model": "test"}


def test_warnings_close_the_object_only_when_there_are_some() -> None:
    timeline = story_call()
    assert "warnings" not in build_stats(timeline).to_json()
    out = build_stats(timeline, warnings=["use a headset"]).to_json()
    assert list(out)[-1] == "warnings" and out["warnings"] == ["use a headset"]
