"""A bug in one nudge rule or in the panel costs that part only: the call goes on."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from coach.config import Config
from coach.live import DEMO_CALL, LiveOptions, ReplaySource, run_live
from coach.timeline import Side, Timeline
from coach.timing import Timing
from tests.support.fakes import FakeClock
from tests.support.live_call import QUIET as CONFIG


def story_timeline(errors: list[str]) -> Timeline:
    tl = Timeline(Timing.from_config(Config()), on_error=errors.append)
    tl.tracks[Side.REP].add_speech(1000, 3000)
    tl.tracks[Side.CUSTOMER].add_speech(4000, 44000)  # a 40 s story, no backchannel
    return tl


def test_a_failing_rule_is_reported_and_the_others_still_fire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: Timeline, t: int) -> None:
        raise ZeroDivisionError("secret transcript words")

    monkeypatch.setattr(Timeline, "_talk_less", broken)
    errors: list[str] = []
    tl = story_timeline(errors)
    tl.finish(60000)
    assert [(n.t_ms, n.kind) for n in tl.record.nudges] == [
        (27000, "acknowledge"),
        (45000, "deepen"),
    ]
    assert tl.rule_errors > 0
    assert len(errors) == 1  # once per rule, not at every instant
    assert errors[0].startswith("nudge rule ") and errors[0].endswith(": ZeroDivisionError")
    assert "secret" not in errors[0]  # no content in the log


def test_a_failing_panel_is_reported_once_and_the_call_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import coach.panel

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(coach.panel, "build_panel", broken)
    clock = FakeClock(min_sleep_s=0.1)
    source = ReplaySource(DEMO_CALL, 20.0, clock=clock, sleep=clock.sleep)
    panel = Console(file=io.StringIO(), width=60, height=15)
    result = run_live(source, CONFIG, LiveOptions(panel=panel, clock=clock))
    assert result.reason == "end of the recording"
    assert {n["kind"] for n in result.stats["nudges"]} >= {"acknowledge", "deepen", "let_finish"}
    err = capsys.readouterr().err
    assert err.count("the panel failed (RuntimeError)") == 1
