"""A bug in one nudge rule or in the panel costs that part only: the call goes on."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from coach.config import Config
from coach.core import rules
from coach.core.timeline import Timeline
from coach.core.timing import Timing
from coach.core.types import Side
from coach.live.session import LiveOptions, run_live
from coach.live.sources import DEMO_CALL, ReplaySource
from tests.support.fakes import FakeClock
from tests.support.live_call import QUIET as CONFIG
from tests.support.synth import make_call, write_call


def story_timeline(errors: list[str]) -> Timeline:
    tl = Timeline(Timing.from_config(Config()), on_error=errors.append)
    tl.tracks[Side.REP].add_speech(1000, 3000)
    tl.tracks[Side.CUSTOMER].add_speech(4000, 44000)  # a 40 s story, no backchannel
    return tl


def test_a_failing_rule_is_reported_and_the_others_still_fire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(tl: Timeline, t: int) -> None:
        raise ZeroDivisionError("secret transcript words")

    monkeypatch.setattr(rules, "talk_less", broken)
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
    import coach.live.session

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(coach.live.session, "build_panel", broken)
    clock = FakeClock(min_sleep_s=0.1)
    source = ReplaySource(DEMO_CALL, 20.0, clock=clock, sleep=clock.sleep)
    panel = Console(file=io.StringIO(), width=60, height=15)
    result = run_live(source, CONFIG, LiveOptions(panel=panel, clock=clock))
    assert result.reason == "end of the recording"
    assert {n["kind"] for n in result.stats["nudges"]} >= {"acknowledge", "deepen", "let_finish"}
    err = capsys.readouterr().err
    assert err.count("the panel failed (RuntimeError)") == 1


# A bug whose message quotes the call, where nothing guards it: the statistics at the end.
CRASHING_ANALYZE = """
import sys
import coach.core.pipeline

def broken(*args, **kwargs):
    try:
        raise KeyError("the customer said: secret merger plans")
    except KeyError as e:
        raise ValueError("You heard: 'secret merger plans'") from e

coach.core.pipeline.build_stats = broken
from coach.cli import main
main()
"""


@pytest.mark.parametrize("debug", ["", "1"])
def test_a_crash_names_where_it_happened_never_what_it_said(tmp_path: Path, debug: str) -> None:
    call = write_call(tmp_path / "call.flac", make_call(6, rep=[(1, 3)], customer=[(3.5, 5)]))
    env = {**os.environ, "COACH_DATA_DIR": str(tmp_path / "data"), "COACH_DEBUG": debug}
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_ANALYZE, "analyze", str(call), "--no-transcribe"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    if debug:  # asked for: Python's own traceback, messages and all
        assert "secret merger plans" in done.stderr and done.returncode == 1
        return
    assert done.returncode == 70
    assert done.stderr.startswith("coach: internal error (ValueError)")
    assert "in broken" in done.stderr and "builtins.KeyError" in done.stderr
    assert "secret" not in done.stderr and "secret" not in done.stdout


def test_a_bug_in_a_thread_is_reported_without_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    from coach.cli.crash import DEBUG_ENV, run_reporting_bugs

    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # restored afterwards

    said = ["You heard:", "secret", "merger", "plans"]

    def worker() -> None:
        raise ValueError(" ".join(said))  # its code line is printed, never its message

    def main() -> None:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()

    run_reporting_bugs(main)
    err = capsys.readouterr().err
    assert "builtins.ValueError" in err and "in worker" in err
    assert "secret merger plans" not in err
