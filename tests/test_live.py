"""The live daemon without a sound card: fake sources, a fake clock, a fake PortAudio.

The loop is specified by what it tells the outside world (the NDJSON events,
the statistics, the panel), the capture by how it lays two independent streams
on one time axis and what it does when one of them dies.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from coach.audio import devices
from coach.audio.aligner import Aligner
from coach.audio.audio_io import open_call
from coach.audio.capture import (
    BOTH_LOST_END_S,
    REOPEN_EVERY_S,
    WATCH_EVERY_S,
    LiveCapture,
    SourceState,
)
from coach.audio.devices import DeviceChoice
from coach.audio.portaudio_input import BLOCK_FRAMES, QUEUE_BLOCKS
from coach.audio.pulse_capture import MARGIN_S, PulseInput
from coach.cli.app import app
from coach.config import LiveConfig
from coach.core.nudge_text import nudge_text
from coach.core.pipeline import CallAnalyzer
from coach.core.timeline import Nudge
from coach.core.types import NudgeKind, Side
from coach.errors import CoachError
from coach.live.delivery import NudgeBoard, NudgeDelivery, nudge_texts
from coach.live.session import LiveOptions, run_live
from coach.live.signals import StopRequest
from coach.live.sources import DEMO_CALL, ReplaySource
from tests.support.fakes import FakeClock
from tests.support.live_call import QUIET, quiet_config

SR = 16000


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """`coach analyze` of the demo call: the whole file through CallAnalyzer."""
    _, blocks = open_call(DEMO_CALL, block_s=5.0)
    analyzer = CallAnalyzer(QUIET)
    for block in blocks:
        analyzer.feed(block)
    analyzer.finish()
    return analyzer.stats()


def replay(
    speed: float = 1.0, duration_s: float | None = None, panel: Console | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any], FakeClock, str]:
    clock = FakeClock(min_sleep_s=0.1)  # a slow loop: blocks come five at a time
    source = ReplaySource(DEMO_CALL, speed, clock=clock, sleep=clock.sleep)
    out = io.StringIO()
    options = LiveOptions(duration_s=duration_s, events=out, panel=panel, clock=clock)
    result = run_live(source, QUIET, options)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    return events, result.stats, clock, result.reason


# -- the loop ----------------------------------------------------------------------


def test_the_demo_replayed_live_gives_exactly_the_nudges_and_stats_of_analyze(
    reference: dict[str, Any],
) -> None:
    events, stats, _, reason = replay(speed=1.0)
    assert reason == "end of the recording"
    # listening first, then each nudge as it falls due and the budget's verdict
    # on it (a cue), the statistics last
    assert events[0] == {"event": "listening"}
    assert events[-1]["event"] == "stats"
    assert {e["event"] for e in events[1:-1]} == {"nudge", "cue"}
    due = [(e["t"], e["kind"], e["text"]) for e in events[1:-1] if e["event"] == "nudge"]
    assert due == [(n["t"], n["kind"], n["text"]) for n in reference["nudges"]]
    final = [
        (e["t"], e["kind"], e["action"] == "shown")
        for e in events
        if e["event"] == "cue" and e["action"] != "held"
    ]
    assert sorted(final) == [(n["t"], n["kind"], n["shown"]) for n in reference["nudges"]]
    assert {n["kind"] for n in reference["nudges"]} >= {"acknowledge", "deepen", "let_finish"}
    # the same statistics, plus why the call ended
    assert stats["end_reason"] == "end of the recording"
    assert {k: v for k, v in stats.items() if k != "end_reason"} == reference
    assert {k: v for k, v in events[-1].items() if k != "event"} == stats


def test_each_event_is_one_line_of_json_flushed_at_once() -> None:
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.unflushed_lines: list[int] = []

        def flush(self) -> None:
            self.unflushed_lines.append(self.getvalue().count("\n"))

    out = Recorder()
    clock = FakeClock(min_sleep_s=0.1)
    source = ReplaySource(DEMO_CALL, 1.0, clock=clock, sleep=clock.sleep)
    run_live(source, QUIET, LiveOptions(duration_s=40, events=out, clock=clock))
    lines = out.getvalue().splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["listening", "nudge", "cue", "stats"]
    assert out.unflushed_lines == [1, 2, 3, 4]  # flushed after every line


def test_duration_stops_the_call_in_audio_time_and_speed_paces_the_wall_clock() -> None:
    events, stats, clock, reason = replay(speed=4.0, duration_s=20.0)
    assert reason == "duration"
    assert stats["duration_s"] == 20.0
    assert 1000 + 20.0 / 4 <= clock.now <= 1000 + 20.0 / 4 + 0.2  # 20 s of call in 5 s
    assert [e["event"] for e in events] == ["listening", "stats"]


def test_a_stop_request_ends_the_call_with_the_statistics_so_far() -> None:
    clock = FakeClock()
    source = ReplaySource(DEMO_CALL, 1.0, clock=clock, sleep=clock.sleep)
    stop = StopRequest()

    def sleep_then_ctrl_c(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 1000 + 12.0:
            stop.request("interrupted")

    source.sleep = sleep_then_ctrl_c
    result = run_live(source, QUIET, LiveOptions(clock=clock), stop)
    assert result.reason == "interrupted"
    assert 12.0 <= result.stats["duration_s"] <= 12.3
    assert result.stats["rep"]["talk_s"] > 0


def test_the_panel_shows_the_newest_nudge_and_who_holds_the_floor() -> None:
    console = Console(record=True, width=60, height=15, color_system=None, force_terminal=False)
    # stop 1 s after the let_finish nudge of the demo call (due at 79.98 s while the
    # rep talks over the customer, held for the rep's pause: shown at 83.4 s)
    _, stats, _, _ = replay(speed=1.0, duration_s=84.5, panel=console)
    assert stats["nudges"][-1]["kind"] == "let_finish"
    assert stats["nudges"][-1]["shown"] and stats["nudges"][-1]["held_s"] > 3
    text = console.export_text()
    assert "Let them finish" in text
    assert "listening" in text


def test_a_nudge_is_drawn_at_once_and_an_unchanged_panel_is_not_drawn_again() -> None:
    """The rep looks at the panel for the nudge: it comes in the same turn of
    the loop that found it, not at the next refresh. Between nudges the panel
    is drawn a few times a second, but only when what it shows has changed
    (drawing costs a live call more than listening does)."""
    clock = FakeClock(min_sleep_s=0.02)
    drawn: list[float] = []
    events: list[tuple[float, str]] = []

    class Screen(io.StringIO):
        def write(self, text: str) -> int:
            drawn.append(clock.now)
            return super().write(text)

    class Events(io.StringIO):
        def write(self, text: str) -> int:
            events.append((clock.now, text))
            return super().write(text)

    screen = Screen()
    console = Console(file=screen, width=60, height=15, force_terminal=True, color_system=None)
    source = ReplaySource(DEMO_CALL, 1.0, clock=clock, sleep=clock.sleep)
    # the let_finish nudge is due at 79.98 s and shown at the rep's pause (83.4 s)
    options = LiveOptions(duration_s=84.5, events=Events(), panel=console, clock=clock)
    run_live(source, QUIET, options)
    cues = [at for at, text in events if '"cue"' in text]  # held (a marker) or shown
    assert len(cues) == 4 and set(cues) <= set(drawn)
    refreshes = 84.5 * QUIET.live.refresh_hz
    assert 84.5 < len(set(drawn)) < 0.8 * refreshes  # the clock, at least, moves each second
    assert "Let them finish" in screen.getvalue()


# -- what the rep sees and hears ---------------------------------------------------


def test_acknowledge_stays_up_until_the_rep_backchannels() -> None:
    analyzer = CallAnalyzer(QUIET)
    tl = analyzer.timeline
    tl.holder, tl.floor_start_ms = Side.CUSTOMER, 1000
    board = NudgeBoard()
    board.show(Nudge(21000, NudgeKind.ACKNOWLEDGE), "Aha", tl, 21500)
    assert board.visible(tl, 60000) is not None  # long after: still up
    tl.record.backchannels[Side.REP].append(62000)
    assert board.visible(tl, 62500) is None


def test_acknowledge_goes_when_the_story_ends_and_other_nudges_after_8_s() -> None:
    analyzer = CallAnalyzer(QUIET)
    tl = analyzer.timeline
    tl.holder, tl.floor_start_ms = Side.CUSTOMER, 1000
    board = NudgeBoard()
    board.show(Nudge(21000, NudgeKind.ACKNOWLEDGE), "Aha", tl, 21500)
    tl.holder, tl.floor_start_ms = Side.REP, 30000
    assert board.visible(tl, 30100) is None
    board.show(Nudge(40000, NudgeKind.LET_FINISH), "Let them finish", tl, 40100)
    assert board.visible(tl, 48000) is not None
    assert board.visible(tl, 48200) is None
    assert board.shown == 2


def test_a_held_cue_leaves_the_panel_when_the_budget_decides_it() -> None:
    board = NudgeBoard()
    due = Nudge(40_000, NudgeKind.LET_FINISH)
    board.hold(due)
    board.unhold(Nudge(41_000, NudgeKind.LET_FINISH))  # another nudge: still waiting
    assert board.held is due
    # the budget's decision is a new copy of the nudge: it ends the wait all the same
    board.unhold(dataclasses.replace(due, shown=False, held_ms=2_000, hidden="stale"))
    assert board.held is None


class FakeChild:
    def __init__(self, done: bool) -> None:
        self.done = done

    def poll(self) -> int | None:
        return 0 if self.done else None


def test_a_nudge_rings_the_bell_and_sends_a_desktop_notification_without_waiting() -> None:
    rings: list[int] = []
    spawned: list[list[str]] = []

    def spawn(argv: list[str], **kw: Any) -> FakeChild:
        spawned.append(argv)
        assert kw["start_new_session"] and kw["stdin"] is not None
        return FakeChild(done=False)  # never finishes: must not matter

    delivery = NudgeDelivery(
        bell=lambda: rings.append(1), desktop=True, spawn=spawn, which=lambda _: "/x/notify-send"
    )
    for _ in range(10):
        delivery.deliver("Let them finish")
    assert len(rings) == 10
    assert spawned[0] == [
        "/x/notify-send",
        "--app-name=coach",
        "--expire-time=8000",
        "coach",
        "Let them finish",
    ]
    assert len(spawned) == 4  # at most MAX_NOTIFIERS in flight; the rest skipped


def test_bell_and_notifications_can_be_switched_off() -> None:
    spawned: list[Any] = []
    delivery = NudgeDelivery(
        bell=None, desktop=False, spawn=lambda *a, **k: spawned.append(a), which=lambda _: "/x"
    )
    delivery.deliver("Aha")
    assert spawned == []


def test_the_customers_words_go_to_the_panel_and_events_never_to_notifications_or_the_log() -> None:
    deepen = Nudge(45_000, NudgeKind.DEEPEN, quote="migration timeline")
    fixed = nudge_text("deepen", "en")
    texts = nudge_texts(deepen, "en", LiveConfig())
    assert "migration timeline" in texts.panel and texts.event == texts.panel
    assert texts.notification == fixed and texts.log == fixed


def test_quotes_in_notifications_are_opt_in_and_events_can_leave_them_out() -> None:
    deepen = Nudge(45_000, NudgeKind.DEEPEN, quote="migration timeline")
    live = LiveConfig(notification_quotes=True, event_quotes=False)
    texts = nudge_texts(deepen, "de", live)
    assert "migration timeline" in texts.notification and "migration timeline" in texts.panel
    assert texts.event == texts.log == nudge_text("deepen", "de")


# -- the aligner: two streams on one time axis -------------------------------------


def constant(n: int, value: float) -> np.ndarray:
    return np.full(n, value, np.float32)


def drain(al: Aligner, now: float) -> np.ndarray:
    block = al.pop(now)
    return np.zeros((2, 0), np.float32) if block is None else block


def test_samples_are_laid_end_to_end_by_count_whatever_the_delivery_jitter() -> None:
    al = Aligner(t0=0.0)
    rng = np.random.default_rng(1)
    out = []
    for k in range(1, 51):  # 50 blocks of 20 ms per side, delivered up to 15 ms late
        t = k * 0.02
        al.push(0, constant(BLOCK_FRAMES, k), t + rng.uniform(0, 0.015))
        al.push(1, constant(BLOCK_FRAMES, -k), t + rng.uniform(0, 0.015))
        out.append(drain(al, t + 0.016))
    got = np.concatenate(out, axis=1)
    assert got.shape == (2, 50 * BLOCK_FRAMES)
    assert np.array_equal(got[0], np.repeat(np.arange(1, 51, dtype=np.float32), BLOCK_FRAMES))
    assert np.array_equal(got[1], -got[0])


def test_output_waits_for_the_slower_side() -> None:
    al = Aligner(t0=0.0)
    al.push(0, constant(3 * BLOCK_FRAMES, 1), 0.06)
    al.push(1, constant(BLOCK_FRAMES, 2), 0.06)
    assert drain(al, 0.06).shape == (2, BLOCK_FRAMES)
    al.push(1, constant(2 * BLOCK_FRAMES, 2), 0.07)
    assert drain(al, 0.07).shape == (2, 2 * BLOCK_FRAMES)


def test_a_lost_side_is_filled_with_silence_while_the_other_keeps_going() -> None:
    al = Aligner(t0=0.0)
    al.push(0, constant(BLOCK_FRAMES, 1), 0.02)
    al.push(1, constant(BLOCK_FRAMES, 2), 0.02)
    drain(al, 0.02)
    al.set_lost(1, True)
    for k in range(2, 12):
        al.push(0, constant(BLOCK_FRAMES, 1), k * 0.02)
    got = drain(al, 0.24)
    assert got.shape == (2, 10 * BLOCK_FRAMES)
    assert np.all(got[0] == 1) and np.all(got[1] == 0)
    assert al.filled[1] == 10 * BLOCK_FRAMES


def test_a_side_that_goes_quiet_stops_holding_the_other_back_after_half_a_second() -> None:
    al = Aligner(t0=0.0)
    for k in range(1, 51):  # 1 s of the mic; the loopback never delivers
        al.push(0, constant(BLOCK_FRAMES, 1), k * 0.02)
    assert drain(al, 0.4).shape[1] == 0  # within 0.5 s: it waits
    assert drain(al, 1.0).shape[1] == 50 * BLOCK_FRAMES


def test_audio_lost_in_a_stall_is_replaced_by_silence_and_the_timing_kept() -> None:
    al = Aligner(t0=0.0)
    al.push(0, constant(BLOCK_FRAMES, 1), 0.02)
    al.push(1, constant(BLOCK_FRAMES, 1), 0.02)
    drain(al, 0.02)
    # the loopback stalls for 2 s and then goes on with *current* audio
    for k in range(2, 111):
        al.push(0, constant(BLOCK_FRAMES, 1), k * 0.02)
    al.push(1, constant(BLOCK_FRAMES, 5), 110 * 0.02)
    got = drain(al, 110 * 0.02)
    assert got.shape[1] == 109 * BLOCK_FRAMES
    assert got[1, -1] == 5  # placed by the wall clock, at the end, not 2 s early
    assert np.count_nonzero(got[1]) == BLOCK_FRAMES


def test_late_samples_for_time_already_filled_with_silence_are_dropped() -> None:
    al = Aligner(t0=0.0)
    for k in range(1, 41):
        al.push(0, constant(BLOCK_FRAMES, 1), k * 0.02)
    assert drain(al, 0.8).shape[1] == 40 * BLOCK_FRAMES  # the loopback was stale
    # then its 0.9 s arrive late, in a burst: the first 0.8 s were already handed out
    for _ in range(40):
        al.push(1, constant(BLOCK_FRAMES, 3), 0.9)
    for _ in range(5):
        al.push(1, constant(BLOCK_FRAMES, 4), 0.9)
    al.push(0, constant(5 * BLOCK_FRAMES, 1), 0.9)
    got = drain(al, 0.9)
    assert got.shape[1] == 5 * BLOCK_FRAMES
    assert np.all(got[1] == 4)  # in its place, not shifted by the stall
    assert al.late_dropped[1] == 40 * BLOCK_FRAMES


def test_with_both_sides_lost_the_call_goes_on_in_silence_by_the_wall_clock() -> None:
    al = Aligner(t0=0.0)
    al.set_lost(0, True)
    al.set_lost(1, True)
    got = drain(al, 2.0)
    assert got.shape == (2, 2 * SR) and not got.any()


def test_one_side_never_waits_on_more_than_five_seconds_of_the_other() -> None:
    al = Aligner(t0=0.0, stale_s=1e9)  # the loopback counts as live, but is far behind
    al.push(1, constant(BLOCK_FRAMES, 1), 0.02)
    for k in range(2, 502):  # 10 s of the mic
        al.push(0, constant(BLOCK_FRAMES, 1), k * 0.02)
        drain(al, k * 0.02)
    assert al.pending_n[0] <= 5 * SR


# -- the capture, over a fake PortAudio ---------------------------------------------


class FakePortAudioError(Exception):
    pass


class FakeStream:
    def __init__(self, sd: FakeSd, **kw: Any) -> None:
        if sd.fail_open:
            raise FakePortAudioError(sd.fail_open)
        self.kw = kw
        self.pulse_source = os.environ.get("PULSE_SOURCE")
        self.active = False
        self.closed = False
        sd.opened.append(self)

    def start(self) -> None:
        self.active = True

    def abort(self, ignore_errors: bool = True) -> None:
        self.active = False

    def close(self, ignore_errors: bool = True) -> None:
        self.closed = True

    def deliver(self, value: float, overflow: bool = False) -> None:
        data = np.full(BLOCK_FRAMES, value, np.float32).tobytes()
        self.kw["callback"](data, BLOCK_FRAMES, None, SimpleNamespace(input_overflow=overflow))

    def die(self) -> None:
        """What a sound server dying looks like: no exception, the stream just ends."""
        self.active = False
        self.kw["finished_callback"]()


class FakeSd:
    """Just enough of the sounddevice module."""

    PortAudioError = FakePortAudioError

    def __init__(self, names: tuple[str, ...] = ("pulse", "default")) -> None:
        self.names = names
        self.opened: list[FakeStream] = []
        self.fail_open = ""
        self.default = SimpleNamespace(device=[len(names) - 1 if names else -1, -1])
        self.reinits = 0

    def RawInputStream(self, **kw: Any) -> FakeStream:  # noqa: N802 - sounddevice's name
        return FakeStream(self, **kw)

    def query_devices(self, index: int | None = None) -> Any:
        devs = [
            {
                "index": i,
                "name": n,
                "hostapi": 0,
                "max_input_channels": 32,
                "default_samplerate": 44100.0,
            }
            for i, n in enumerate(self.names)
        ]
        if index is None:
            return devs
        if not 0 <= index < len(devs):
            raise FakePortAudioError(f"Error querying device {index}")
        return devs[index]

    def query_hostapis(self) -> list[dict[str, str]]:
        return [{"name": "ALSA"}]

    def _terminate(self) -> None:
        self.reinits += 1

    def _initialize(self) -> None:
        pass


MIC = DeviceChoice("mic", "coach_mic", 0, "coach_mic", "--mic")
LOOPBACK = DeviceChoice("loopback", "coach_spk.monitor", 0, "coach_spk.monitor", "default")


def capture(sd: Any, clock: FakeClock) -> LiveCapture:
    cap = LiveCapture(MIC, LOOPBACK, sd, clock=clock, sleep=clock.sleep, gather_s=0.0)
    cap.start()
    return cap


def step(
    cap: LiveCapture,
    sd: FakeSd,
    clock: FakeClock,
    mic: float | None,
    lb: float | None,
) -> list[np.ndarray]:
    """20 ms pass; each live stream delivers one block (None: it doesn't)."""
    clock.now += 0.02
    mic_stream, lb_stream = cap.sides[0].stream, cap.sides[1].stream
    if mic is not None:
        mic_stream.deliver(mic)
    if lb is not None:
        lb_stream.deliver(lb)
    return cap.read(0.0)


def test_each_stream_opens_its_pulse_source_which_is_set_only_while_opening() -> None:
    sd, clock = FakeSd(), FakeClock()
    os.environ.pop("PULSE_SOURCE", None)
    cap = capture(sd, clock)
    assert [s.pulse_source for s in sd.opened] == ["coach_mic", "coach_spk.monitor"]
    assert "PULSE_SOURCE" not in os.environ
    assert sd.opened[0].kw["samplerate"] == 16000 and sd.opened[0].kw["blocksize"] == 320
    assert sd.opened[0].kw["channels"] == 1
    cap.close()
    assert all(s.closed for s in sd.opened)


def test_listening_only_once_both_streams_have_delivered() -> None:
    sd, clock = FakeSd(), FakeClock()
    cap = capture(sd, clock)
    for _ in range(10):
        assert step(cap, sd, clock, 0.1, None) == []
        assert not cap.listening
    step(cap, sd, clock, 0.1, 0.2)
    assert cap.listening
    blocks = [b for _ in range(5) for b in step(cap, sd, clock, 0.1, 0.2)]
    got = np.concatenate(blocks, axis=1)
    assert got.shape[1] == 5 * BLOCK_FRAMES  # call time starts at listening
    assert np.all(got[0] == np.float32(0.1)) and np.all(got[1] == np.float32(0.2))


def test_a_full_queue_drops_blocks_and_counts_them_and_overflows_are_counted() -> None:
    sd, clock = FakeSd(), FakeClock()
    cap = capture(sd, clock)
    stream = cap.sides[0].stream
    for _ in range(QUEUE_BLOCKS + 25):  # the consumer is stuck
        stream.deliver(0.1)
    stream.deliver(0.1, overflow=True)
    state = cap.state()
    assert state.counters["mic"]["dropped_blocks"] == 26
    assert state.counters["mic"]["overflows"] == 1
    assert "mic: 26 blocks dropped" in state.warnings
    cap.read(0.0)
    assert cap.input.queue.qsize() == 0


def test_a_lost_mic_is_reported_the_loopback_keeps_going_and_the_mic_comes_back() -> None:
    sd, clock = FakeSd(), FakeClock()
    cap = capture(sd, clock)
    step(cap, sd, clock, 0.1, 0.2)
    cap.sides[0].stream.die()
    out = []
    for _ in range(50):  # 1 s with the mic gone
        out += step(cap, sd, clock, None, 0.2)
    state = cap.state()
    assert any(w.startswith("mic lost") for w in state.warnings)
    got = np.concatenate(out, axis=1)
    assert got.shape[1] >= 45 * BLOCK_FRAMES  # the customer side went on
    assert np.all(got[1] == np.float32(0.2)) and not got[0].any()
    # reopened every few seconds (health is checked every WATCH_EVERY_S)
    while clock.now < 1000 + REOPEN_EVERY_S + WATCH_EVERY_S + 0.2:
        out += step(cap, sd, clock, None, 0.2)
    assert len(sd.opened) == 3 and sd.opened[2].pulse_source == "coach_mic"
    step(cap, sd, clock, 0.1, 0.2)
    assert not any(w.startswith("mic lost") for w in cap.state().warnings)
    assert cap.state().counters["mic"]["reopens"] == 1
    assert cap.ended is None


def test_both_sides_gone_for_30_s_ends_the_call() -> None:
    sd, clock = FakeSd(), FakeClock()
    cap = capture(sd, clock)
    step(cap, sd, clock, 0.1, 0.2)
    for s in sd.opened:
        s.die()
    sd.fail_open = "Error opening InputStream: Unanticipated host error [PaErrorCode -9999]"
    t_lost = clock.now
    while clock.now < t_lost + BOTH_LOST_END_S - 0.5:
        step(cap, sd, clock, None, None)
        assert cap.ended is None
    assert sd.reinits >= 1  # PortAudio re-initialised to see a restarted server
    while clock.now < t_lost + BOTH_LOST_END_S + 0.5:
        step(cap, sd, clock, None, None)
    assert cap.ended is not None and "both sides lost" in cap.ended


def test_the_loop_keeps_the_call_going_through_a_lost_side() -> None:
    """The whole loop over the capture: the mic dies mid-call, the stats still come."""
    sd: Any = FakeSd()
    clock = FakeClock()
    cap = LiveCapture(MIC, LOOPBACK, sd, clock=clock, sleep=clock.sleep, gather_s=0.0)
    ticks = {"n": 0}

    def read(max_wait_s: float) -> list[np.ndarray]:
        ticks["n"] += 1
        clock.now += 0.02
        mic, lb = cap.sides[0].stream, cap.sides[1].stream
        if ticks["n"] == 100:
            mic.die()
        if mic is not None and mic.active:
            mic.deliver(0.0)
        if lb is not None and lb.active:
            lb.deliver(0.0)
        return LiveCapture.read(cap, 0.0)

    cap.read = read  # type: ignore[method-assign]
    out = io.StringIO()
    result = run_live(cap, QUIET, LiveOptions(duration_s=10.0, events=out, clock=clock))
    assert result.reason == "duration" and result.stats["duration_s"] == 10.0
    assert result.stats["capture"]["mic"]["reopens"] >= 1
    assert json.loads(out.getvalue().splitlines()[0]) == {"event": "listening"}


# -- choosing devices ------------------------------------------------------------------


@pytest.fixture
def no_pulse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_pactl", lambda *args: None)


@pytest.fixture
def pulse_server(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {
        ("get-default-sink",): "alsa_output.usb-headset\n",
        ("get-default-source",): "alsa_input.usb-headset\n",
        ("list", "short", "sources"): "0\talsa_output.usb-headset.monitor\tx\n"
        "1\talsa_input.usb-headset\tx\n",
    }
    monkeypatch.setattr(devices, "_pactl", lambda *args: answers.get(args))


def test_the_default_loopback_is_the_default_sinks_monitor(pulse_server: None) -> None:
    sd: Any = FakeSd()
    mic, loopback = devices.choose_devices(sd, "", "")
    assert loopback == DeviceChoice(
        "loopback",
        "alsa_output.usb-headset.monitor",
        0,
        "alsa_output.usb-headset.monitor",
        "default sink's monitor",
    )
    assert mic.device == 1 and mic.pulse_source is None and "alsa_input.usb-headset" in mic.label


def test_a_device_is_picked_by_index_by_name_or_by_pulseaudio_source(pulse_server: None) -> None:
    sd: Any = FakeSd(("pulse", "default", "USB Headset Mic"))
    assert devices.choose_devices(sd, "2", "")[0].device == 2
    assert devices.choose_devices(sd, "headset mic", "")[0].label == "USB Headset Mic"
    by_source = devices.choose_devices(sd, "alsa_input", "")[0]
    assert (by_source.device, by_source.pulse_source) == (0, "alsa_input.usb-headset")


def test_a_missing_device_is_named_with_what_was_found_and_how_to_pick(no_pulse: None) -> None:
    sd: Any = FakeSd()
    with pytest.raises(CoachError) as e:
        devices.choose_devices(sd, "Yeti", "")
    msg = str(e.value)
    assert "'Yeti'" in msg and "'pulse'" in msg and "--mic" in msg and "coach devices" in msg
    with pytest.raises(CoachError, match="no input device with index 99"):
        devices.choose_devices(sd, "99", "")


def test_no_device_at_all_points_at_the_flags_and_the_demo(no_pulse: None) -> None:
    sd: Any = FakeSd(names=())
    with pytest.raises(CoachError) as e:
        devices.choose_devices(sd, "", "")
    msg = str(e.value)
    assert "no input device found" in msg and "--loopback" in msg and "coach demo" in msg


def test_without_pulseaudio_the_loopback_must_be_named(no_pulse: None) -> None:
    sd: Any = FakeSd(("MacBook Pro Microphone",))
    with pytest.raises(CoachError, match="BlackHole.*--loopback"):
        devices.choose_devices(sd, "", "")
    assert devices.choose_devices(sd, "", "MacBook")[1].label == "MacBook Pro Microphone"


@pytest.mark.parametrize(
    ("raised", "says"),
    [
        ("Error querying device -1", "no input device found"),
        ("Error querying device 99", "does not exist"),
        (
            "Error opening InputStream: Unanticipated host error [PaErrorCode -9999]",
            "has no source 'coach_mic'",
        ),
        (
            "Error starting stream: Illegal combination of I/O devices [PaErrorCode -9993]",
            "sound server went away",
        ),
    ],
)
def test_portaudio_errors_at_open_become_clear_messages(
    no_pulse: None, raised: str, says: str
) -> None:
    sd = FakeSd()
    sd.fail_open = raised
    cap = LiveCapture(MIC, LOOPBACK, sd)  # type: ignore[arg-type]  # a fake module
    with pytest.raises(CoachError, match=says) as e:
        cap.start()
    assert "coach devices" in str(e.value)


def test_missing_portaudio_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import: Callable[..., Any] = builtins.__import__

    def fake_import(name: str, *args: Any, **kw: Any) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(CoachError, match="libportaudio2.*coach demo"):
        devices.load_sounddevice()


# -- the commands ------------------------------------------------------------------------


def test_coach_demo_replays_the_sample_call_through_the_live_path(tmp_path: Path) -> None:
    out = tmp_path / "stats.json"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--speed",
            "1000",
            "--no-panel",
            "--events",
            "-",
            "--duration",
            "40",
            "--stats-json",
            str(out),
            "--config",
            str(quiet_config(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert events[0] == {"event": "listening"} and events[-1]["event"] == "stats"
    assert json.loads(out.read_text())["duration_s"] == 40.0


def test_coach_start_without_devices_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_pulse: None
) -> None:
    monkeypatch.setattr(devices, "load_sounddevice", lambda: FakeSd(names=()))
    result = CliRunner().invoke(app, ["start", "--config", str(quiet_config(tmp_path))])
    assert result.exit_code == 2
    assert "no input device found" in result.stderr and "coach demo" in result.stderr


def test_coach_devices_lists_inputs_and_the_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pulse_server: None
) -> None:
    monkeypatch.setattr(devices, "load_sounddevice", lambda: FakeSd())
    result = CliRunner().invoke(app, ["devices", "--config", str(quiet_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "pulse" in result.stdout
    assert "loopback  alsa_output.usb-headset.monitor" in result.stdout


def test_source_state_defaults_are_empty() -> None:
    assert SourceState() == SourceState((), (), {}, ())


@pytest.mark.parametrize(
    ("signum", "reason"),
    [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted"), (signal.SIGHUP, "hung up")],
)
def test_sigterm_ctrl_c_and_hangup_end_the_call_with_the_report_and_exit_0(
    tmp_path: Path, signum: int, reason: str
) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from coach.cli import main; main()",
            "demo",
            "--no-panel",
            "--events",
            "-",
            "--config",
            str(quiet_config(tmp_path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"event": "listening"}
    listening = time.monotonic()
    time.sleep(1.0)  # the call runs a while: the signal is no start-up race
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    ended_within_s = time.monotonic() - listening
    assert proc.returncode == 0, err
    stats = json.loads(out.splitlines()[-1])
    assert stats["event"] == "stats" and stats["end_reason"] == reason
    # the demo is paced by the wall clock: the call holds no more audio than the
    # time it ran (a loop starved by a busy machine may hold less, never none)
    assert 0.0 < stats["duration_s"] <= ended_within_s + 0.1
    assert "Call report" in err


# -- whole VAD frames, and PulseAudio's native API without a server ------------------


def test_blocks_end_on_whole_vad_frames_and_the_shortfall_is_known() -> None:
    al = Aligner(0.0, grid_frames=480)
    al.push(0, np.ones(700, np.float32), 0.05)
    al.push(1, np.ones(1000, np.float32), 0.05)
    block = al.pop(0.05)
    assert block is not None and block.shape == (2, 480)  # 700 known on both: one frame
    assert al.short_frames(0.05) == 260  # the mic needs 260 more for the next frame
    al.push(0, np.ones(300, np.float32), 0.07)
    block = al.pop(0.07)
    assert block is not None and block.shape == (2, 480) and al.emitted == 960


class FakeRecord:
    def __init__(self, conn: FakeConnection, source: str | None) -> None:
        self.conn, self.source, self.queued, self.closed = conn, source, b"", False
        self.device = source or conn.defaults[1]
        self.pinned = False

    @property
    def ready(self) -> bool:
        return not self.closed and not self.conn.failed

    def read(self) -> bytes:
        data, self.queued = self.queued, b""
        return data

    def close(self) -> None:
        self.closed = True


class FakeConnection:
    """The face of coach.audio.pulse.PulseConnection that coach.audio.pulse_capture uses."""

    made: list[FakeConnection] = []

    def __init__(self) -> None:
        self.failed = False
        self.pumps = 0
        self.streams: list[FakeRecord] = []
        self.closed = False
        self.defaults: tuple[str | None, str | None] = ("coach_spk", "coach_mic")
        self.watched = False
        FakeConnection.made.append(self)

    @property
    def ready(self) -> bool:
        return not self.failed

    def watch_defaults(self) -> None:
        self.watched = True

    def describe(self, kind: str, name: str) -> str:
        return f"{name} ({kind})"

    def open(self, source: str | None, name: str, pinned: bool = False) -> FakeRecord:
        stream = FakeRecord(self, source)
        stream.pinned = pinned
        self.streams.append(stream)
        return stream

    def pump(self) -> None:
        self.pumps += 1

    def close(self) -> None:
        self.closed = True


def pulse_capture(
    clock: FakeClock, mic: DeviceChoice = MIC, loopback: DeviceChoice = LOOPBACK
) -> tuple[LiveCapture, Any]:

    FakeConnection.made = []
    src = PulseInput(clock=clock, connect=FakeConnection)  # type: ignore[arg-type]
    cap = LiveCapture(
        mic, loopback, source_input=src, clock=clock, sleep=clock.sleep, grid_frames=480
    )
    cap.start()
    return cap, src


def test_native_pulse_capture_looks_again_when_the_next_whole_frame_is_due() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock)
    conn = FakeConnection.made[0]
    assert [s.stream.source for s in cap.sides] == ["coach_mic", "coach_spk.monitor"]
    mic, lb = conn.streams
    mic.queued = lb.queued = np.zeros(480, np.float32).tobytes()
    assert cap.read(0.1) == [] and cap.listening  # the first audio only starts the call
    mic.queued = lb.queued = np.ones(400, np.float32).tobytes()
    t0 = clock.now
    assert cap.read(0.1) == []  # 400 frames: not a whole 480-frame block yet
    mic.queued = lb.queued = np.ones(100, np.float32).tobytes()
    blocks = cap.read(0.1)
    # until a whole 480-frame block was due (30 ms), then until the 80 missing
    # frames were (5 ms), each plus the margin for fragments in flight
    assert clock.now - t0 == pytest.approx(0.03 + 0.005 + 2 * MARGIN_S, abs=1e-6)
    assert len(blocks) == 1 and blocks[0].shape == (2, 480)
    state = cap.state()
    assert state.counters["mic"]["api"] == "pulseaudio"


def test_native_pulse_capture_sleeps_until_the_audio_the_loop_wants_next() -> None:
    """The loop feeds, then says what it wants next (six frames on): the next
    look is planned for when that audio is due, not for the next frame."""
    clock = FakeClock()
    cap, src = pulse_capture(clock)
    conn = FakeConnection.made[0]
    mic, lb = conn.streams
    mic.queued = lb.queued = np.zeros(480, np.float32).tobytes()
    cap.read(0.1)  # starts the call
    mic.queued = lb.queued = np.ones(480, np.float32).tobytes()
    assert len(cap.read(0.1)) == 1  # a frame, fed at once
    cap.want(7 * 480)
    pumps, t0 = conn.pumps, clock.now
    assert cap.read(1.0) == []  # asleep until the six frames should be here
    assert conn.pumps == pumps + 1
    assert clock.now - t0 == pytest.approx(6 * 0.03 + MARGIN_S, abs=1e-6)


DEFAULT_MIC = DeviceChoice("mic", "coach_mic", None, None, "default input", follows="source")
DEFAULT_LOOPBACK = DeviceChoice(
    "loopback",
    "coach_spk.monitor",
    None,
    "coach_spk.monitor",
    "default sink's monitor",
    follows="sink",
)


def feed_both(conn: FakeConnection, clock: FakeClock, seconds: float, level: float = 0.0) -> None:
    """Each open stream receives ``seconds`` of audio, delivered over that much time."""
    for _ in range(round(seconds / 0.03)):
        clock.now += 0.03
        for s in conn.streams:
            if not s.closed:
                s.queued += np.full(480, level, np.float32).tobytes()


def test_a_default_sink_changed_mid_call_moves_the_loopback_to_its_monitor_once() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock, DEFAULT_MIC, DEFAULT_LOOPBACK)
    conn = FakeConnection.made[0]
    assert conn.watched  # the server is asked to tell of changes to its defaults
    feed_both(conn, clock, 0.03)
    cap.read(0.0)
    assert cap.listening
    old_lb = conn.streams[1]
    conn.defaults = ("coach_headphones", "coach_mic")  # headphones plugged in
    clock.now += 0.2
    cap.read(0.0)
    assert old_lb.closed and conn.streams[-1].source == "coach_headphones.monitor"
    assert len(conn.streams) == 3  # the mic, following the default source, stays
    assert cap.notices == [(0.0, "customer audio now from coach_headphones (sink)")]
    assert "customer audio now from coach_headphones (sink)" in cap.state().status
    for _ in range(5):  # said once, moved once
        feed_both(conn, clock, 0.3)
        cap.read(0.0)
    assert len(conn.streams) == 3 and len(cap.notices) == 1
    counters = cap.state().counters["loopback"]
    assert (counters["device"], counters["switches"], counters["reopens"]) == (
        "coach_headphones.monitor",
        1,
        0,
    )


def test_a_default_source_changed_mid_call_moves_the_mic() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock, DEFAULT_MIC, DEFAULT_LOOPBACK)
    conn = FakeConnection.made[0]
    feed_both(conn, clock, 0.03)
    cap.read(0.0)
    conn.defaults = ("coach_spk", "coach_headset_mic")
    clock.now += 0.2
    cap.read(0.0)
    assert conn.streams[0].closed and conn.streams[-1].source == "coach_headset_mic"
    assert cap.notices[-1][1] == "mic now from coach_headset_mic (source)"


def test_devices_the_user_named_are_never_moved_to_a_new_default() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock)  # both named
    conn = FakeConnection.made[0]
    feed_both(conn, clock, 0.03)
    cap.read(0.0)
    conn.defaults = ("coach_headphones", "coach_headset_mic")
    feed_both(conn, clock, 1.0)
    cap.read(0.0)
    assert len(conn.streams) == 2 and not any(s.closed for s in conn.streams)
    assert cap.notices == []
    # and the server may not move them elsewhere: a named device that goes is lost
    assert all(s.pinned for s in conn.streams)


def test_a_followed_stream_that_the_server_moved_elsewhere_is_moved_to_the_default() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock, DEFAULT_MIC, DEFAULT_LOOPBACK)
    conn = FakeConnection.made[0]
    assert not any(s.pinned for s in conn.streams)
    feed_both(conn, clock, 0.03)
    cap.read(0.0)
    conn.streams[1].device = "coach_mic"  # its sink unplugged, rescued to the mic
    clock.now += 0.2
    cap.read(0.0)
    assert conn.streams[-1].source == "coach_spk.monitor" and len(conn.streams) == 3
    assert cap.notices == []  # back where it was: nothing changed for the rep


def test_a_stream_the_server_moved_to_the_new_default_itself_is_only_announced() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock, DEFAULT_MIC, DEFAULT_LOOPBACK)
    conn = FakeConnection.made[0]
    feed_both(conn, clock, 0.03)
    cap.read(0.0)
    conn.defaults = ("coach_headphones", "coach_mic")
    conn.streams[1].device = "coach_headphones.monitor"  # as PipeWire does
    for _ in range(3):
        clock.now += 0.2
        cap.read(0.0)
    assert len(conn.streams) == 2
    assert [t for _, t in cap.notices] == ["customer audio now from coach_headphones (sink)"]
    assert cap.state().counters["loopback"]["device"] == "coach_headphones.monitor"


def test_a_stream_reopened_after_a_gap_is_placed_by_the_clock_and_says_when_it_is_back() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock)
    first = FakeConnection.made[0]
    feed_both(first, clock, 0.03)
    cap.read(0.0)
    feed_both(first, clock, 0.6)
    cap.read(0.0)
    first.failed = True  # the server dies 0.63 s into the call and is back 3.2 s later
    clock.now += 0.1
    cap.read(0.0)
    clock.now += REOPEN_EVERY_S + 0.1
    cap.read(0.0)
    second = FakeConnection.made[1]
    feed_both(second, clock, 0.3, level=1.0)
    blocks = cap.read(0.0)
    call = np.concatenate(blocks, axis=1)
    # both sides come back at the same call time, after the same silence, and
    # the analyzer is told that the sides relate anew from there
    back = np.argmax(call[0] > 0)
    assert back == np.argmax(call[1] > 0)
    assert cap.aligner is not None
    first = cap.aligner.emitted - call.shape[1]
    assert cap.realigned == [first + back, first + back]
    texts = [t for _, t in cap.notices]
    assert texts == ["mic back after 3.2 s", "customer audio back after 3.2 s"], texts


def test_native_pulse_capture_survives_a_dead_server_with_a_new_connection() -> None:
    clock = FakeClock()
    cap, src = pulse_capture(clock)
    first = FakeConnection.made[0]
    for s in first.streams:
        s.queued = np.zeros(480, np.float32).tobytes()
    cap.read(0.0)
    assert cap.listening
    first.failed = True  # the server died: both streams end at once
    clock.now += 0.1
    cap.read(0.0)
    assert all(h.lost for h in cap.health)
    assert "mic lost" in " ".join(cap.state().warnings)
    clock.now += REOPEN_EVERY_S + 0.1
    cap.read(0.0)
    assert first.closed and len(FakeConnection.made) == 2  # one reconnect brings both back
    second = FakeConnection.made[1]
    for s in second.streams:
        s.queued = np.zeros(480, np.float32).tobytes()
    clock.now += 0.05
    cap.read(0.0)
    assert not any(h.lost for h in cap.health)
    assert [cap.state().counters[r]["reopens"] for r in ("mic", "loopback")] == [1, 1]


def test_pulse_sources_are_chosen_by_default_or_by_name_and_indexes_are_portaudios(
    pulse_server: None,
) -> None:
    mic = devices.choose_pulse("mic", "", "default", ["x"])
    assert mic is not None and mic.pulse_source is None  # the server's default, followed
    assert mic.label == "alsa_input.usb-headset"
    lb = devices.choose_pulse("loopback", "", "default", [])
    assert lb is not None and lb.pulse_source == "alsa_output.usb-headset.monitor"
    sources = ["alsa_output.usb-headset.monitor", "alsa_input.usb-headset"]
    named = devices.choose_pulse("mic", "INPUT.usb", "--mic", sources)
    assert named is not None and named.pulse_source == "alsa_input.usb-headset"
    assert devices.choose_pulse("mic", "3", "--mic", sources) is None  # a PortAudio index
    assert devices.choose_pulse("mic", "Yeti", "--mic", sources) is None  # maybe PortAudio's


def test_coach_start_through_pulseaudio_without_a_server_says_what_to_do(
    tmp_path: Path, no_pulse: None
) -> None:
    config = quiet_config(tmp_path)
    config.write_text(config.read_text() + '[audio]\napi = "pulseaudio"\n')
    result = CliRunner().invoke(app, ["start", "--config", str(config)])
    assert result.exit_code == 2
    assert "no PulseAudio/PipeWire server answers" in result.stderr
    assert "Traceback" not in result.output


def test_audio_is_fed_in_fewer_calls_yet_each_nudge_comes_at_the_same_audio_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop gathers audio while nothing can be due (CallAnalyzer.next_feed_samples)."""

    def run(lazy: bool) -> tuple[list[tuple[str, float, float]], int]:
        if not lazy:  # the reference: a call for every VAD frame
            monkeypatch.setattr(
                CallAnalyzer, "next_feed_samples", lambda self: self.samples + self.frame_samples
            )
        calls = [0]
        feed = CallAnalyzer.feed

        def counted(self: CallAnalyzer, block: np.ndarray) -> list[Nudge]:
            calls[0] += 1
            return feed(self, block)

        monkeypatch.setattr(CallAnalyzer, "feed", counted)
        clock = FakeClock(min_sleep_s=0.001)  # the loop looks every 20 ms replay block

        class Stamped(io.StringIO):
            """Each event with the audio time given out when it was written."""

            stamps: list[float] = []

            def write(self, text: str) -> int:
                self.stamps.append(source.given_s)
                return super().write(text)

        class Source(ReplaySource):
            @property
            def given_s(self) -> float:
                return self._given / SR

        source = Source(DEMO_CALL, 1.0, clock=clock, sleep=clock.sleep)
        out = Stamped()
        run_live(source, QUIET, LiveOptions(events=out, clock=clock))
        monkeypatch.undo()
        events = [json.loads(x) for x in out.getvalue().splitlines()]
        shown = [
            (e["kind"], e["t"], at)
            for e, at in zip(events, out.stamps, strict=True)
            if e["event"] == "nudge"
        ]
        return shown, calls[0]

    every_frame, frame_calls = run(lazy=False)
    gathered, lazy_calls = run(lazy=True)
    assert [(k, t) for k, t, _ in gathered] == [(k, t) for k, t, _ in every_frame]
    for (kind, t, lazy_at), (_, _, frame_at) in zip(gathered, every_frame, strict=True):
        assert lazy_at <= frame_at + 0.02, (kind, t)  # within one replay block
    assert lazy_calls < 0.5 * frame_calls
