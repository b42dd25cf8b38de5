"""The timeline stage, specified by scripted calls with hand-computed answers.

Times in the scripts are seconds: ``rep=[(0, 5)], customer=[(4.5, 30)]`` means
the rep speaks from 0 to 5 s and the customer from 4.5 to 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from coach.config import Config
from coach.core.pipeline import analyze_segments
from coach.core.timeline import Timeline
from coach.core.timing import Timing
from coach.core.types import Side
from tests.support.streaming import lay_out, stream_segments


def run(
    duration: float,
    rep: Sequence[tuple[float, float]],
    customer: Sequence[tuple[float, float]],
) -> dict[str, Any]:
    return analyze_segments(duration, {"rep": rep, "customer": customer}, Config())


def nudges(stats: dict[str, Any]) -> list[tuple[float, str]]:
    return [(n["t"], n["kind"]) for n in stats["nudges"]]


def test_customer_talks_over_the_rep_and_tells_a_story() -> None:
    s = run(40, rep=[(0, 5)], customer=[(4.5, 30)])
    # the customer's long utterance takes the floor at its start (an overlap,
    # not an interruption: only the rep interrupts)
    assert s["rep"]["talk_s"] == 5.0 and s["customer"]["talk_s"] == 25.5
    assert s["talk_ratio"] == round(5 / 30.5, 4)
    assert s["rep"]["longest_monologue_s"] == 4.5  # 0 → 4.5, cut when the customer took over
    assert s["customer"]["monologues"] == [[4.5, 30.0]]
    assert s["interruptions"] == []
    assert s["patience_s"] is None  # no customer→rep change
    assert s["interactivity_per_min"] == 1.5  # one change in 40 s
    # 20 s of story without an "aha" and no pause: acknowledge 3 s after due (24.5)
    assert nudges(s) == [(27.5, "acknowledge")]


def test_a_backchannel_keeps_the_story_and_restarts_the_acknowledge_count() -> None:
    s = run(40, rep=[(10, 10.5)], customer=[(0, 30)])
    assert s["rep"]["backchannels"] == [10.0]
    assert s["customer"]["monologues"] == [[0.0, 30.0]]
    # count restarts at the backchannel: due 30.0, first 0.3 s pause at 30.3;
    # the 30 s story ends with a 1 s pause: deepen at 31.0
    assert nudges(s) == [(30.3, "acknowledge"), (31.0, "deepen")]
    assert s["nudges"][0]["heeded"] is False  # no backchannel followed
    assert s["nudges"][1]["heeded"] is False  # the rep never took the floor


def test_an_interruption_is_flagged_and_the_customer_gets_the_floor_back() -> None:
    s = run(30, rep=[(5, 8)], customer=[(0, 20)])
    assert s["interruptions"] == [5.0]
    assert nudges(s) == [(6.0, "let_finish")]
    assert s["nudges"][0]["heeded"] is True  # the rep stopped at 8, within 15 s
    # rep 5 → 8, then the still-talking customer takes it back by handover
    assert s["rep"]["longest_monologue_s"] == 3.0
    assert s["customer"]["longest_monologue_s"] == 12.0
    assert s["interactivity_per_min"] == 4.0  # two changes in half a minute
    assert s["patience_s"] is None  # the customer was speaking when the rep started


def test_patience_is_the_pause_before_the_rep_takes_the_floor() -> None:
    s = run(60, rep=[(0, 4), (11.5, 15), (26, 30)], customer=[(5, 10), (16, 20)])
    # gaps: 10 → 11.5 (1.5 s) and 20 → 26 (6 s, over patience_max_s, left out)
    assert s["patience_s"] == 1.5


def test_a_rep_monologue_gets_a_pause_nudge_at_its_limit() -> None:
    rep = [(t, t + 4.5) for t in range(0, 75, 5)]  # 75 s with 0.5 s breaths
    s = run(100, rep=rep, customer=[(80, 90)])
    assert (60.0, "pause") in nudges(s)
    assert s["rep"]["monologues"] == [[0.0, 74.5]]


def test_silence_has_no_ratio_and_no_nudges() -> None:
    s = run(30, rep=[], customer=[])
    assert s["talk_ratio"] is None and s["nudges"] == [] and s["patience_s"] is None


segments = st.lists(st.tuples(st.integers(1, 400), st.integers(1, 350)), max_size=25).map(lay_out)


@settings(max_examples=60, deadline=None)
@given(rep=segments, customer=segments, step=st.sampled_from([70, 330, 2000]))
def test_properties_hold_for_any_timeline(
    rep: list[tuple[float, float]], customer: list[tuple[float, float]], step: int
) -> None:
    whole = analyze_segments(200.0, {"rep": rep, "customer": customer}, Config())
    ratio = whole["talk_ratio"]
    assert ratio is None or 0.0 <= ratio <= 1.0
    for side in ("rep", "customer"):
        monos = whole[side]["monologues"]
        assert all(a <= b for a, b in monos)
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(monos, monos[1:], strict=False))
    assert all(0 <= n["t"] <= 200.0 for n in whole["nudges"])
    # the live way (bit by bit) gives the same answer as the whole call
    streamed, emitted = stream_segments(200.0, {"rep": rep, "customer": customer}, step)
    assert streamed == whole
    assert all(at >= t for t, at, _ in emitted)


# -- when a live loop must feed next (Timeline.next_instant_ms) -----------------------------
def test_an_utterance_in_progress_is_not_settled_before_the_backchannel_limit() -> None:
    """A rep utterance under the customer's story is a backchannel or takes the
    floor: while it goes on, only audio past start + backchannel_max can say
    which; once it pauses, speech resuming could say it any moment."""
    timing = Timing.from_config(Config())
    timeline, limit = Timeline(timing), timing.backchannel_max_ms
    timeline.update(Side.CUSTOMER, [], 5200, 0)  # the story, in progress
    timeline.update(Side.REP, [], 5200, 5000)  # the rep starts at 5 s
    timeline.advance()
    assert timeline.next_instant_ms() == 5000 + limit
    timeline.update(Side.CUSTOMER, [], 5600, 0)
    timeline.update(Side.REP, [(5000, 5400)], 5600, None)  # it stops at 5.4 s
    timeline.advance()
    assert timeline.next_instant_ms() == 5000  # decided by the next frame that settles it
    timeline.update(Side.CUSTOMER, [], 6200, 0)
    timeline.update(Side.REP, [], 6200, None)
    assert timeline.advance() == [] and timeline.record.backchannels[Side.REP] == [5000]
    # a backchannel: next, the end of the rep's speech + floor_gap (its pause is past)
    assert timeline.next_instant_ms() == 5400 + timing.floor_gap_ms


def test_nothing_waits_nothing_is_due() -> None:
    timeline = Timeline(Timing.from_config(Config()))
    # only the clock's own timers are queued: talk_less at the end of its window
    assert timeline.next_instant_ms() == Timing.from_config(Config()).talk_ratio_window_ms
