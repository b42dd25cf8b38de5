"""Interruptions are competitive overlaps only: the rep taking the floor mid-phrase.

A backchannel under the customer's speech, or a rep turn that starts in a
customer pause (a gap of vad.merge_gap_s, 300 ms, or more), is not one.
"""

from __future__ import annotations

from coach.config import Config
from coach.core.pipeline import analyze_segments


def run(rep: list[tuple[float, float]], customer: list[tuple[float, float]]) -> dict:
    return analyze_segments(120.0, {"rep": rep, "customer": customer}, Config())


def test_a_backchannel_under_the_customer_is_cooperative_not_an_interruption() -> None:
    s = run(rep=[(10.0, 10.6)], customer=[(0.0, 30.0)])
    assert s["interruptions"] == [] and s["rep"]["backchannels"] == [10.0]


def test_a_turn_started_in_a_customer_pause_is_not_an_interruption() -> None:
    # the customer pauses 0.5 s at 20 s; the rep starts 0.1 s into it, goes on 5 s
    s = run(rep=[(20.1, 25.1)], customer=[(0.0, 20.0), (20.5, 40.0)])
    assert s["interruptions"] == []


def test_a_turn_started_mid_phrase_is_an_interruption_and_counted_per_minute() -> None:
    # a 0.2 s gap is inside the customer's phrase (shorter than the 300 ms merge gap)
    s = run(rep=[(20.1, 25.1), (60.0, 65.0)], customer=[(0.0, 20.0), (20.2, 40.0), (45, 90)])
    assert s["interruptions"] == [20.1, 60.0]
    assert s["interruptions_per_min"] == 1.0  # 2 in 2 minutes
