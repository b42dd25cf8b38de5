"""The nudge budget: every due nudge is kept; the budget only decides which reach the rep.

Scripted timelines (ideal speech segments, seconds) go through the same stages
as a call: timeline -> due nudges -> budget -> statistics.
"""

from __future__ import annotations

import bisect
import dataclasses
import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.config import Config, NudgesConfig
from coach.core.budget import BudgetParams, Cue, NudgeBudget
from coach.core.pipeline import analyze_segments
from coach.core.timeline import Timeline
from coach.core.timing import Timing, ms
from coach.core.types import Side
from tests.support.streaming import lay_out, report_up_to

Segs = Sequence[tuple[float, float]]


def config(**nudges: Any) -> Config:
    return dataclasses.replace(Config(), nudges=dataclasses.replace(NudgesConfig(), **nudges))


def run(duration: float, rep: Segs, customer: Segs, cfg: Config | None = None) -> dict[str, Any]:
    return analyze_segments(duration, {"rep": rep, "customer": customer}, cfg or Config())


def verdicts(
    stats: dict[str, Any], kind: str | None = None
) -> list[tuple[float, str, bool, float | None, str | None]]:
    return [
        (n["t"], n["kind"], n["shown"], n.get("held_s"), n.get("hidden"))
        for n in stats["nudges"]
        if kind is None or n["kind"] == kind
    ]


# -- cues timed to the rep's pauses ---------------------------------------------------------


def test_a_nudge_due_while_the_rep_speaks_is_shown_at_the_reps_first_pause() -> None:
    # the rep holds the floor from 0; the pause nudge is due at 60 s mid-sentence;
    # the rep breathes at 62.0 s: after 300 ms of that pause the cue is shown
    s = run(90, rep=[(0, 62.0), (62.6, 70)], customer=[(72, 85)])
    assert verdicts(s) == [(60.0, "pause", True, 2.3, None)]
    assert s["cues"]["held"] == 1 and s["cues"]["held_s_total"] == 2.3


def test_a_held_nudge_is_dropped_once_stale_and_still_counted_as_due() -> None:
    s = run(90, rep=[(0, 70)], customer=[(72, 85)])  # no pause for 10 s after it is due
    assert verdicts(s) == [(60.0, "pause", False, 5.0, "stale")]
    assert s["cues"] == {
        "due": 1,
        "shown": 0,
        "held": 1,
        "held_s_total": 5.0,
        "held_s_max": 5.0,
        "hidden": {"stale": 1},
    }


def test_a_pause_shorter_than_hold_pause_s_does_not_release_the_cue() -> None:
    rep = [(0, 61.0), (61.4, 63.0), (64.0, 66.0)]  # 0.4 s, then 1.0 s of silence
    assert verdicts(run(90, rep, [(72, 85)], config(hold_pause_s=0.5)))[0][:4] == (
        60.0,
        "pause",
        True,
        3.5,  # 63.0 + 0.5
    )
    assert verdicts(run(90, rep, [(72, 85)]))[0][:4] == (60.0, "pause", True, 1.3)  # 61.0 + 0.3


def test_a_nudge_due_in_the_reps_silence_is_shown_at_once() -> None:
    s = run(60, rep=[], customer=[(0, 25)])  # no pause in the story: due at 20 + 3 s
    assert verdicts(s) == [(23.0, "acknowledge", True, None, None)]


def test_a_held_cue_still_waiting_when_the_call_ends_is_dropped() -> None:
    s = run(62, rep=[(0, 62)], customer=[])
    assert verdicts(s) == [(60.0, "pause", False, 2.0, "ended")]


# -- cooldowns, unheeded repeats and the budget ---------------------------------------------

STORY_REP: Segs = [(30.0, 30.5)]  # "mhm" at 30 s into an 80 s story
STORY_CUSTOMER: Segs = [(0, 80)]


def test_the_same_kind_within_its_cooldown_is_hidden() -> None:
    # acknowledge at 23 s; the rep says "mhm" at 30 s, so the next one is due at 53 s
    s = run(90, STORY_REP, STORY_CUSTOMER)
    assert verdicts(s, "acknowledge")[:2] == [
        (23.0, "acknowledge", True, None, None),
        (53.0, "acknowledge", False, None, "cooldown"),
    ]
    s = run(90, STORY_REP, STORY_CUSTOMER, config(cooldown_s=20.0))
    assert verdicts(s, "acknowledge")[1] == (53.0, "acknowledge", True, None, None)


def test_a_repeat_is_hidden_while_the_last_one_is_unheeded() -> None:
    # two stories, no acknowledgement in the first: the second story's reminder waits
    rep: Segs = [(41, 45)]
    customer: Segs = [(0, 40), (46, 100)]
    s = run(110, rep, customer, config(cooldown_s=10.0))
    assert verdicts(s, "acknowledge") == [
        (23.0, "acknowledge", True, None, None),
        (69.0, "acknowledge", False, None, "unheeded"),
    ]
    # the rep acknowledged in between ("mhm" at 30 s): the reminder is welcome again
    s = run(110, [*rep, (30.0, 30.5)], customer, config(cooldown_s=10.0))
    assert verdicts(s, "acknowledge")[1] == (69.0, "acknowledge", True, None, None)
    # and the quiet lasts unheeded_quiet_s at most
    s = run(110, rep, customer, config(cooldown_s=10.0, unheeded_quiet_s=40.0))
    assert verdicts(s, "acknowledge")[1] == (69.0, "acknowledge", True, None, None)


def test_at_most_max_shown_per_10min_reach_the_rep() -> None:
    # four stories of 25 s, no acknowledgement: one reminder each, cooldown off
    customer: Segs = [(a, a + 25) for a in (0, 30, 60, 90)]
    rep: Segs = [(a + 26, a + 29) for a in (0, 30, 60, 90)]
    cfg = config(cooldown_s=0.0, unheeded_quiet_s=0.0, max_shown_per_10min=2)
    s = run(200, rep, customer, cfg)
    assert verdicts(s) == [
        (23.0, "acknowledge", True, None, None),
        (53.0, "acknowledge", True, None, None),
        (83.0, "acknowledge", False, None, "budget"),
        (113.0, "acknowledge", False, None, "budget"),
    ]
    assert s["cues"]["hidden"] == {"budget": 2}
    assert (
        run(
            200,
            rep,
            customer,
            dataclasses.replace(cfg, nudges=dataclasses.replace(cfg.nudges, max_shown_per_10min=0)),
        )["cues"]["shown"]
        == 4
    )


def test_a_control_call_shows_nothing_and_keeps_every_due_nudge() -> None:
    speech = {"rep": [(41, 45)], "customer": [(0, 40), (46, 100)]}
    coached = analyze_segments(110, speech, Config())
    silent = analyze_segments(
        110, speech, Config(), BudgetParams.from_config(Config(), silent=True)
    )
    assert [(n["t"], n["kind"]) for n in silent["nudges"]] == [
        (n["t"], n["kind"]) for n in coached["nudges"]
    ]
    assert {n["hidden"] for n in silent["nudges"]} == {"control"}
    assert silent["cues"]["shown"] == 0


# -- a long call: the budget's promise ---------------------------------------------------


def long_story_call(seed: int, minutes: int = 60) -> tuple[float, dict[str, Segs]]:
    """An hour of 5-70 s rep turns and 40-240 s customer stories with pauses and,
    rarely, a rep "mhm" in a pause."""
    rng = random.Random(seed)
    rep: list[tuple[float, float]] = []
    cust: list[tuple[float, float]] = []
    t, end = 1.0, minutes * 60.0
    while t < end - 10:
        stop = t + rng.uniform(5, 70)
        while t < stop:
            u = rng.uniform(1.5, 6)
            rep.append((t, t + u))
            t += u + rng.uniform(0.35, 0.6)
        t += rng.uniform(0.2, 1.5)
        stop = t + rng.uniform(40, 240)
        while t < stop:
            u = rng.uniform(2, 8)
            cust.append((t, t + u))
            t += u
            if rng.random() < 0.08:
                rep.append((t + 0.1, t + 0.6))
            t += rng.choice([0.4, 0.5, 0.8, 1.2, 1.5])
        t += rng.uniform(0.3, 1.5)
    return end, {"rep": [s for s in rep if s[1] < end], "customer": [s for s in cust if s[1] < end]}


def most_in_10_minutes(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 600) - i for i, t in enumerate(times)), default=0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_hour_of_long_stories_shows_at_most_4_nudges_per_10_minutes(seed: int) -> None:
    print(f"seed {seed}")
    duration, speech = long_story_call(seed)
    s = analyze_segments(duration, speech, Config())
    unbudgeted = analyze_segments(
        duration,
        speech,
        config(max_shown_per_10min=0, cooldown_s=0.0, unheeded_quiet_s=0.0, hold_max_s=60.0),
    )
    # every due nudge is still there, exactly as without a budget
    due = [(n["t"], n["kind"], n["heeded"]) for n in s["nudges"]]
    assert due == [(n["t"], n["kind"], n["heeded"]) for n in unbudgeted["nudges"]]
    assert len(due) / 6 > 8  # the case the budget exists for: many due per 10 minutes
    shown_at = [n["t"] + n.get("held_s", 0.0) for n in s["nudges"] if n["shown"]]
    assert 0 < most_in_10_minutes(shown_at) <= 4
    assert s["cues"]["due"] == len(due)
    assert s["cues"]["shown"] + sum(s["cues"]["hidden"].values()) == len(due)


# -- live and offline decide the same -------------------------------------------------------


def stream(
    duration: float, speech: dict[str, Segs], step_ms: int, cfg: Config | None = None
) -> tuple[NudgeBudget, list[tuple[Cue, int]]]:
    """Feed the segments as a live VAD would, stepping the budget after each advance."""
    cfg = cfg or Config()
    timeline = Timeline(Timing.from_config(cfg))
    budget = NudgeBudget(BudgetParams.from_config(cfg))
    raw = {side: sorted((ms(a), ms(b)) for a, b in speech[side.label]) for side in Side}
    reported = {side: 0 for side in Side}
    cues: list[tuple[Cue, int]] = []
    end, now = ms(duration), 0
    while now < end:
        now = min(end, now + step_ms)
        report_up_to(timeline, raw, reported, now)
        budget.add(timeline.advance())
        cues += [(c, now) for c in budget.step(timeline)]
    before = len(timeline.record.nudges)
    timeline.finish(end)
    budget.add(timeline.record.nudges[before:])
    cues += [(c, end) for c in budget.finish(timeline)]
    return budget, cues


def _decided(budget: NudgeBudget) -> list[tuple[float, str, bool | None, float | None, str | None]]:
    return sorted(
        (n.t_ms / 1000, n.kind, n.shown, None if n.held_ms is None else n.held_ms / 1000, n.hidden)
        for n in budget.nudges
    )


# short timers, so that holds, cooldowns and the budget all come into play in 200 s
BUSY = config(
    acknowledge_after_s=8.0,
    deepen_after_story_s=10.0,
    rep_monologue_max_s=12.0,
    talk_ratio_window_s=30.0,
    summarise_every_s=40.0,
    cooldown_s=15.0,
    max_shown_per_10min=3,
    unheeded_quiet_s=30.0,
    hold_max_s=2.0,
)


segments = st.lists(st.tuples(st.integers(1, 300), st.integers(1, 250)), max_size=30).map(lay_out)


@settings(max_examples=40, deadline=None)
@given(rep=segments, customer=segments, step=st.sampled_from([20, 330, 2000]))
def test_any_timeline_fed_bit_by_bit_is_decided_as_the_whole(
    rep: Segs, customer: Segs, step: int
) -> None:
    speech = {"rep": rep, "customer": customer}
    whole = analyze_segments(200.0, speech, BUSY)
    budget, cues = stream(200.0, speech, step, BUSY)
    assert _decided(budget) == sorted(verdicts(whole))
    assert all(c.at_ms <= fed for c, fed in cues)


@pytest.mark.parametrize("step_ms", [20, 330])
def test_fed_bit_by_bit_the_budget_decides_as_on_the_whole_call(step_ms: int) -> None:
    duration, speech = long_story_call(7, minutes=20)
    whole = analyze_segments(duration, speech, Config())
    budget, cues = stream(duration, speech, step_ms)
    assert _decided(budget) == [(t, k, sh, h, why) for t, k, sh, h, why in verdicts(whole)]
    # a cue is never acted on before its instant has been heard
    assert all(at_ms <= fed for (c, fed) in cues for at_ms in [c.at_ms])
    # each nudge: at most one "held", then exactly one "shown" or "hidden"
    finals = [c.nudge for c, _ in cues if c.action != "held"]
    assert len(finals) == len(budget.nudges) == len({(n.t_ms, n.kind) for n in finals})


# -- the report ------------------------------------------------------------------------------


def test_the_report_says_how_many_were_shown_held_and_hidden_and_why() -> None:
    from rich.console import Console

    from coach.ui.report import render_report

    s = run(90, rep=[(0, 70)], customer=[(72, 85)])  # the pause cue waits 5 s, dropped
    console = Console(record=True, width=140, color_system=None)
    console.print(render_report(s))
    text = console.export_text()
    assert "(not shown: you did not pause)" in text
    assert "Shown 0 of 1 due · 1 held for your pause (5.0 s on average, longest 5.0 s)" in text
    assert "not shown: no pause came 1" in text
