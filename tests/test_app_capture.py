"""Per-app capture: `coach start --loopback app:NAME` and `auto-app` hear the call app alone.

On the project's virtual PulseAudio, a "call" app (``coachcall``: plays the
customer into the speakers, records the mic) and a "music" app (``coachmusic``:
other speech, a podcast in a tab) play into the same speakers for the whole
call. Three daemons listen to the same call at once: ``app:coachcall``,
``auto-app`` and the default sink's monitor. Mid-call the call's playback
stream is moved to other speakers (``pactl move-sink-input``), later the call
app's player is killed and started again a second after (a reconnect).

Against ``coach analyze`` of the call alone: the app daemons' customer speech
has F1 >= 0.95 and the music adds no talk time; the monitor daemon hears the
music as the customer. The move loses at most 1 s of the call, the restart is
followed within 2 s, and while the app is away nothing else is heard. One call
for all of it (CI time); skips only where PulseAudio is missing, fails in CI.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coach.audio.app_capture import AppStreams
from coach.audio.app_streams import (
    AppTarget,
    StreamMixer,
    parse_loopback,
    pick_call_app,
    streams_of,
)
from coach.audio.pulse import SinkProps, StreamProps
from coach.errors import CoachError
from tests.support.app_call import (
    STEP_S,
    SceneFiles,
    app_player,
    app_recorder,
    f1,
    pactl,
    scene_files,
    sink_input_of,
    speech_mask,
)
from tests.support.fakes import FakeClock
from tests.support.live_call import (
    COACH,
    QUIET_CONFIG,
    Daemon,
    analyze,
    speech_offset_s,
    start_args,
)
from tests.support.pulse import VirtualPulse

LEAD_S = 8.0
"""Silence before the call: the daemons start listening meanwhile (three at once
on two busy cores took up to 5.1 s)."""
CALL_S = 34.0
MOVE_AT_S = LEAD_S + 15.0
"""File times: the move, the kill and the restart all fall inside customer stories."""
KILL_AT_S = LEAD_S + 22.0
RESTART_AT_S = KILL_AT_S + 1.0
END_S = LEAD_S + CALL_S
LOOPBACKS = {"app": "app:coachcall", "auto": "auto-app", "monitor": ""}
APPS = ["app", "auto"]


@dataclass
class Heard:
    """One daemon's call: its statistics, events, and its time against the file's."""

    stats: dict[str, Any]
    daemon: Daemon
    shift_s: float
    """Live time minus file time."""
    listened_s: float
    """File time at which it started listening."""

    def customer(self, duration_s: float = END_S) -> np.ndarray:
        return speech_mask(self.stats["speech"]["customer"], duration_s, self.shift_s)

    def said(self) -> list[tuple[float, str]]:
        """Its ``device`` events: (arrival wall time, text)."""
        return [(e.wall, e.data["text"]) for e in self.daemon.events
                if e.data.get("event") == "device"]  # fmt: skip


@dataclass
class Scene:
    files: SceneFiles
    reference: dict[str, Any]
    heard: dict[str, Heard]
    kill_wall: float
    restart_wall: float

    def truth(self) -> np.ndarray:
        return speech_mask(self.reference["speech"]["customer"], END_S)


def frames(a_s: float, b_s: float) -> slice:
    return slice(round(a_s / STEP_S), round(b_s / STEP_S))


def at(started: float, file_s: float) -> None:
    time.sleep(max(0.0, started + file_s - time.monotonic()))


@pytest.fixture(scope="module")
def scene(pulse: VirtualPulse, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    env = pulse.env
    work = tmp_path_factory.mktemp("app-call")
    config = work / "coach.toml"
    config.write_text(QUIET_CONFIG, encoding="utf-8")
    # other speakers, kept rendering like the rig's (and like speakers in use): a null
    # sink with nothing at low latency renders 2 s blocks, so a stream moved onto it
    # is heard 2 s late whoever records it (measured: 2.0 s to the first packet)
    modules = [pactl(env, "load-module", "module-null-sink", "sink_name=coach_hp",
                     "rate=48000", "channels=2", "sink_properties=device.description=Headphones"),
               pactl(env, "load-module", "module-loopback", "source=coach_silence",
                     "sink=coach_hp", "latency_msec=20")]  # fmt: skip
    warm_up = "timeout 2.5 parec -d coach_hp.monitor 2>/dev/null | head -c 3200 >/dev/null"
    subprocess.run(warm_up, shell=True, env=env, check=False)  # a first capture can stall
    files = scene_files(work, CALL_S, LEAD_S, END_S + 20)
    reference = analyze(files.call, config, env)
    procs: list[subprocess.Popen[bytes]] = []
    daemons: dict[str, Daemon] = {}
    try:
        procs += [app_recorder(env, "coachcall"), app_player(env, "coachmusic", files.music)]
        started = time.monotonic()
        call = app_player(env, "coachcall", files.customer)
        rep = subprocess.Popen(["paplay", "--device=coach_micfeed", str(files.rep)], env=env,
                               stdin=subprocess.DEVNULL)  # fmt: skip
        procs += [call, rep]
        for name, loopback in LOOPBACKS.items():
            args = start_args(END_S, work / f"{name}.json", config)
            daemons[name] = Daemon([*args, *(["--loopback", loopback] if loopback else [])],
                                   env).start()  # fmt: skip
        listened = {}
        for name, d in daemons.items():
            event = d.wait_for("listening", 30)
            assert event is not None, d.stderr
            listened[name] = event.wall - started
            if listened[name] > LEAD_S + 3.0:  # the comparisons start where it listened
                raise RuntimeError(f"{name} listened only {listened[name]:.1f} s in")
        at(started, MOVE_AT_S)
        pactl(env, "move-sink-input", str(sink_input_of(env, "coachcall")), "coach_hp")
        at(started, KILL_AT_S)
        call.kill()
        call.wait(5)
        kill_wall = time.monotonic()
        at(started, RESTART_AT_S)
        restart_wall = time.monotonic()
        procs.append(app_player(env, "coachcall", files.customer_from(RESTART_AT_S)))
        rep.wait(END_S + 30)
        heard = {}
        for name, d in daemons.items():
            assert d.wait_for("stats", 40) is not None, d.stderr
            assert d.wait(30) == 0, d.stderr
            stats = json.loads((work / f"{name}.json").read_text(encoding="utf-8"))
            # the mic side, which the music never reaches, gives the exact shift
            guess = -listened[name]
            shift = speech_offset_s({"rep": stats["speech"]["rep"]},
                                    {"rep": reference["speech"]["rep"]},
                                    guess - 0.5, guess + 0.5)  # fmt: skip
            heard[name] = Heard(stats, d, shift, listened[name])
    finally:
        for d in daemons.values():
            d.kill()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        for module in reversed(modules):
            pactl(env, "unload-module", module.strip())
    return Scene(files, reference, heard, kill_wall, restart_wall)


def outside_faults(h: Heard) -> np.ndarray:
    """The frames the comparison covers: while the daemon listened, away from the faults."""
    where = np.zeros(round(END_S / STEP_S), bool)
    where[frames(h.listened_s + 0.5, END_S - 0.5)] = True
    where[frames(MOVE_AT_S - 0.3, MOVE_AT_S + 1.5)] = False
    where[frames(KILL_AT_S - 0.3, RESTART_AT_S + 2.5)] = False
    return where


@pytest.mark.parametrize("name", APPS)
def test_the_customer_is_the_call_app_alone_and_the_music_adds_no_talk_time(
    scene: Scene, name: str
) -> None:
    h = scene.heard[name]
    where, truth, live = outside_faults(h), scene.truth(), h.customer()
    score = f1(live, truth, where)
    extra_s = (np.count_nonzero(live & where) - np.count_nonzero(truth & where)) * STEP_S
    print(f"{name}: customer F1 {score:.3f}, talk {extra_s:+.2f} s against the call alone")
    assert score >= 0.95
    assert extra_s <= 0.5


def test_the_sink_monitor_hears_the_music_as_the_customer(scene: Scene) -> None:
    """The difference per-app capture makes: before the call moves away from the speakers."""
    h = scene.heard["monitor"]
    where = np.zeros(round(END_S / STEP_S), bool)
    where[frames(h.listened_s + 0.5, MOVE_AT_S - 0.3)] = True
    truth, live = scene.truth(), h.customer()
    score = f1(live, truth, where)
    extra_s = (np.count_nonzero(live & where) - np.count_nonzero(truth & where)) * STEP_S
    print(f"sink monitor: customer F1 {score:.3f}, talk {extra_s:+.2f} s against the call alone")
    assert extra_s >= 3.0
    assert score < 0.9


@pytest.mark.parametrize("name", APPS)
def test_moving_the_call_to_other_speakers_loses_at_most_a_second(scene: Scene, name: str) -> None:
    h = scene.heard[name]
    window = frames(MOVE_AT_S, MOVE_AT_S + 3.0)
    truth, live = scene.truth()[window], h.customer()[window]
    assert np.count_nonzero(truth) * STEP_S >= 2.0  # the move falls inside a story
    lost_s = np.count_nonzero(truth & ~live) * STEP_S
    print(f"{name}: {lost_s:.2f} s of the customer lost to the move")
    assert lost_s <= 1.0
    assert any(text == "customer audio: coachcall moved to Headphones" for _, text in h.said())


@pytest.mark.parametrize("name", APPS)
def test_a_call_app_that_restarts_is_waited_for_and_followed_within_2_s(
    scene: Scene, name: str
) -> None:
    h = scene.heard[name]
    said = h.said()
    waiting = [w for w, text in said if text.startswith("customer audio: coachcall has no")]
    back = [w for w, text in said if text.startswith("customer audio from coachcall again")]
    assert waiting and scene.kill_wall - 0.1 <= waiting[0] <= scene.kill_wall + 1.0, said
    assert back and 0 <= back[0] - scene.restart_wall <= 2.0, said
    window = frames(RESTART_AT_S, RESTART_AT_S + 4.0)
    truth, live = scene.truth()[window], h.customer()[window]
    lost_s = np.count_nonzero(truth & ~live) * STEP_S
    print(f"{name}: {lost_s:.2f} s of the customer lost after the restart")
    assert lost_s <= 2.0


@pytest.mark.parametrize("name", APPS)
def test_while_the_call_app_is_away_nothing_else_is_heard(scene: Scene, name: str) -> None:
    window = frames(KILL_AT_S + 0.3, RESTART_AT_S)
    music_heard_s = np.count_nonzero(scene.heard["monitor"].customer()[window]) * STEP_S
    assert music_heard_s >= 0.3  # the music speaks then: the monitor hears it
    assert np.count_nonzero(scene.heard[name].customer()[window]) * STEP_S <= 0.1


def test_auto_app_picks_the_app_that_plays_and_records(scene: Scene) -> None:
    h = scene.heard["auto"]
    assert "customer audio now from coachcall (playing and recording)" in [t for _, t in h.said()]
    assert not any("auto-app found no call app" in w for w in h.stats.get("warnings", []))
    loopback = h.stats["capture"]["loopback"]
    assert loopback["device"] == "auto-app" and loopback["app"] == "coachcall"
    # absent: the reconnect, and from the end of the call's audio to the coach's stop
    assert loopback["sink_monitor_s"] == 0.0 and loopback["app_absent_s"] >= 0.8


def coach(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*COACH, *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.pulse  # a sound server: CI never lets it skip
@pytest.mark.parametrize("server", ["pulseaudio", "pipewire"])
def test_devices_lists_the_playback_streams_and_meters_the_app_alone(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """On both servers (PipeWire's monitor streams are its own): ~10 s each."""
    srv = request.getfixturevalue("pulse" if server == "pulseaudio" else "pipewire")
    env = {**srv.env, "COLUMNS": "200"}
    files = scene_files(tmp_path, 12.0, 0.0, 30.0)
    music = app_player(env, "coachmusic", files.music)
    try:
        time.sleep(0.3)
        # the call app is not playing: named, it is waited for, never replaced by the music
        out = coach(env, "devices", "--loopback", "app:coachcall", "--meter", "--duration", "2")
        assert "app:coachcall: no playback stream now; coach start waits for one" in out
        assert "coachmusic" in out  # listed among the playback streams
        assert "waiting for coachcall" in out
        loopback_line = next(line for line in out.splitlines() if line.startswith("loopback "))
        assert "(peak -120.0)" in loopback_line
        call = app_player(env, "coachcall", files.music)
        recorder = app_recorder(env, "coachcall")
        try:
            time.sleep(0.3)
            index = sink_input_of(env, "coachcall")
            out = coach(env, "devices", "--loopback", "auto-app", "--meter", "--duration", "2")
            assert f"coachcall (playing and recording): playback stream #{index}" in out
            rows = {ln.split()[1]: ln for ln in out.splitlines() if ln.strip().startswith("#")}
            assert "records it" in rows["coachcall"] and "records it" not in rows["coachmusic"]
            loopback_line = next(ln for ln in out.splitlines() if ln.startswith("loopback "))
            assert "(peak -120.0)" not in loopback_line
        finally:
            for p in (call, recorder):
                p.kill()
                p.wait(5)
    finally:
        music.kill()
        music.wait(5)


def test_app_capture_elsewhere_than_pulseaudio_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "coach.toml"
    config.write_text(QUIET_CONFIG + '\n[audio]\napi = "portaudio"\n', encoding="utf-8")
    done = subprocess.run([*COACH, "start", "--no-history", "--loopback", "app:zoom", "--config",
                           str(config)], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode != 0
    assert "per-app capture needs PulseAudio's native API" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


# -- without a sound server: the choice of streams and their mixing ------------------------


def props(index: int, app: str, binary: str = "", **kw: Any) -> StreamProps:
    fields: dict[str, Any] = dict(device=0, app_id="", process_id=100 + index, media_role="",
                                  media_name="", corked=False, owned=True, rate_hz=48000,
                                  channels=2, sample_format="s16le")  # fmt: skip
    fields.update(kw)
    return StreamProps(index=index, app_name=app, binary=binary, **fields)


def test_a_loopback_spec_names_an_app_auto_app_or_a_device() -> None:
    assert parse_loopback("app:zoom") == AppTarget("zoom")
    assert parse_loopback(" APP:Teams ") == AppTarget("Teams")
    assert parse_loopback("auto-app") == AppTarget("", auto=True)
    assert parse_loopback("coach_spk.monitor") is None and parse_loopback("") is None
    with pytest.raises(CoachError, match="names no application: use app:NAME"):
        parse_loopback("app: ", "--loopback")


def test_an_app_s_streams_match_by_name_binary_or_id_but_never_a_notification_sound() -> None:
    playing = [
        props(1, "ZOOM VoiceEngine", "zoom"),
        props(2, "Firefox", "firefox-esr", app_id="org.mozilla.firefox"),
        props(3, "Firefox", "firefox-esr", media_role="event"),  # a notification ping
        props(4, "", "", owned=False),  # a module's loopback
        props(5, "Spotify", "spotify"),
    ]
    assert [s.index for s in streams_of(AppTarget("zoom"), playing, None)] == [1]
    assert [s.index for s in streams_of(AppTarget("FIREFOX"), playing, None)] == [2]
    assert [s.index for s in streams_of(AppTarget("mozilla"), playing, None)] == [2]
    assert streams_of(AppTarget("", auto=True), playing, None) == []


def test_auto_app_picks_the_app_playing_and_recording_known_call_apps_first() -> None:
    playing = [props(1, "Spotify", "spotify"), props(2, "Chromium", "chromium"),
               props(3, "ZOOM VoiceEngine", "zoom"), props(4, "coach")]  # fmt: skip
    recording = [props(7, "Chromium", "chromium"), props(8, "ZOOM VoiceEngine", "zoom"),
                 props(9, "coach")]  # fmt: skip
    assert pick_call_app(playing, recording, None) == "ZOOM VoiceEngine"
    assert pick_call_app(playing, recording[:1], None) == "Chromium"
    # the coach's own streams, and apps that only play, are never the call
    assert pick_call_app(playing, recording[2:], None) is None
    assert pick_call_app(playing[:1], [props(8, "Spotify", process_id=42)], 42) is None


def test_the_mixer_sums_streams_by_sample_count_and_keeps_time_while_none_plays() -> None:
    rate = 1000
    mix = StreamMixer(rate, stale_s=0.3, hold_s=0.1)
    one = np.full(100, 0.25, np.float32)
    mix.push("a", one, 10.1)
    mix.push("b", one, 10.1)  # a second stream of the app, at the same time
    out = mix.pop(10.1)
    assert out is not None and np.allclose(out, 0.5)
    mix.push("a", one, 10.2)  # b is late: the output waits for it
    assert mix.pop(10.2) is None
    mix.push("b", one, 10.2)
    out = mix.pop(10.2)
    assert out is not None and len(out) == 100 and np.allclose(out, 0.5)
    mix.drop("a")
    mix.drop("b")
    # the app is gone: silence by the wall clock, 0.1 s behind it
    out = mix.pop(11.2)
    assert out is not None and len(out) == 900 and not out.any()
    assert mix.silent == 900
    # it comes back: placed where the wall clock says, nothing cut, nothing early
    mix.push("c", one, 11.5)
    out = mix.pop(11.5)
    assert out is not None and len(out) == 400
    assert not out[:300].any() and np.allclose(out[300:], 0.25)
    assert mix.late == 0


@dataclass
class FakeRecord:
    """A record stream of the fake server: the samples it is given, then failed or not."""

    data: bytes = b""
    failed: bool = False
    source: str | None = None
    sample_spec: tuple[str, int, int] = ("float32le", 16000, 1)

    def read(self) -> bytes:
        out, self.data = self.data, b""
        return out

    def close(self) -> None:
        self.failed = True


@dataclass
class FakeServer:
    """The part of a PulseConnection that AppStreams uses, with streams set by the test."""

    playing: list[StreamProps]
    recording: list[StreamProps]
    ready: bool = True
    failed: bool = False
    stream_events: int = 0
    defaults: tuple[str | None, str | None] = ("coach_spk", "coach_mic")
    opened: list[tuple[str | None, int | None, FakeRecord]] | None = None

    def watch_streams(self, mask: int) -> None:
        pass

    def watch_defaults(self) -> None:
        pass

    def playback_streams(self) -> list[StreamProps]:
        return list(self.playing)

    def recording_streams(self) -> list[StreamProps]:
        return list(self.recording)

    def sinks(self) -> list[SinkProps]:
        return [SinkProps(0, "coach_spk", "Speakers", "coach_spk.monitor"),
                SinkProps(1, "coach_hp", "Headphones", "coach_hp.monitor")]  # fmt: skip

    def open(
        self, source: str | None, name: str, pinned: bool = False, monitor_of: int | None = None
    ) -> FakeRecord:
        rec = FakeRecord(source=source)
        self.opened = [*(self.opened or []), (source, monitor_of, rec)]
        return rec

    def change(self, playing: list[StreamProps]) -> None:
        self.playing = playing
        self.stream_events += 1


def test_an_app_side_waits_for_the_app_follows_its_move_and_says_so() -> None:
    clock = FakeClock()
    server = FakeServer([props(1, "Spotify")], [])
    side = AppStreams(server, AppTarget("zoom"), clock, own_pid=1)  # type: ignore[arg-type]
    assert side.news == ["customer audio: zoom has no playback stream; waiting for it"]
    clock.sleep(2.0)
    assert len(side.read()) > 0  # silence: the call's time goes on
    assert side.words()[1] == ("customer audio: waiting for zoom",)
    server.change([props(1, "Spotify"), props(2, "ZOOM", "zoom")])
    side.read()
    assert server.opened is not None and server.opened[-1][:2] == (None, 2)  # zoom's alone
    assert side.news[-1].startswith("customer audio from zoom again after ")
    assert side.words()[0] == "loopback: zoom, 1 stream on Speakers"
    server.change([props(1, "Spotify"), props(2, "ZOOM", "zoom", device=1)])  # headphones
    server.opened[-1][2].failed = True  # PulseAudio ends a moved stream's monitor
    side.read()
    assert side.news[-1] == "customer audio: ZOOM moved to Headphones"
    assert server.opened[-1][:2] == (None, 2) and side.words()[0].endswith("on Headphones")
    assert side.words()[2] == (  # the report names the wait (0.1 s of it was still to come)
        "zoom had no playback stream for 1.9 s of the call: the customer's side was silent "
        "meanwhile",
    )


def test_auto_app_without_a_call_app_records_the_monitor_and_says_so_until_one_comes() -> None:
    clock = FakeClock()
    server = FakeServer([props(1, "Spotify")], [])
    side = AppStreams(server, AppTarget("", auto=True), clock, own_pid=1)  # type: ignore[arg-type]
    assert server.opened is not None and server.opened[0][:2] == ("coach_spk.monitor", None)
    status, warnings, _ = side.words()
    assert "no call app yet" in status and "no call app is playing and recording" in warnings[0]
    clock.sleep(3.0)
    side.read()
    server.recording = [props(8, "Teams", "teams")]
    server.change([props(1, "Spotify"), props(2, "Teams", "teams")])
    side.read()
    assert "customer audio now from Teams (playing and recording)" in side.news
    assert server.opened[0][2].failed  # the monitor is closed
    assert server.opened[-1][:2] == (None, 2)
    report = side.words()[2]
    assert len(report) == 1 and report[0].startswith("auto-app found no call app")


def test_the_panel_says_the_customer_waits_for_the_app_where_the_customer_would_be() -> None:
    import io

    from rich.console import Console

    from coach.ui.panel import LiveSnapshot, render_panel

    snap = LiveSnapshot(
        call_s=12.0, rep_speaking=True, customer_speaking=False, holder="rep",
        talk_ratio=1.0, window_ratio=1.0, talk_ratio_max=0.65, story_s=None,
        monologue_s=12.0, monologue_max_s=60.0, story_deepen_s=30.0, nudge=None,
        nudges_shown=0, backchannels=0, interruptions=0, status=("listening",),
        warnings=("customer audio: waiting for zoom",), customer_waiting="zoom",
    )  # fmt: skip
    console = Console(record=True, width=60, height=15, color_system=None, file=io.StringIO())
    console.print(render_panel(snap, width=60, height=15))
    lines = console.export_text().splitlines()
    now = next(line for line in lines if "Now" in line)
    assert "● rep" in now and "◌ customer: waiting for zoom" in now
    assert any("! customer audio: waiting for zoom" in line for line in lines)


def test_a_wait_before_the_call_starts_is_not_reported_as_part_of_the_call() -> None:
    clock = FakeClock()
    side = AppStreams(FakeServer([], []), AppTarget("zoom"), clock, own_pid=1)  # type: ignore[arg-type]
    clock.sleep(5.0)
    side.read()
    side.call_started()  # both sides deliver: call time 0
    clock.sleep(2.0)
    side.read()
    assert side.words()[2] == (
        "zoom had no playback stream for 2.0 s of the call: the customer's side was silent "
        "meanwhile",
    )


def test_a_stream_that_would_not_open_is_tried_again_a_second_later() -> None:
    from coach.audio.pulse import PulseError

    class Hiccup(FakeServer):
        fails = 1

        def open(self, *args: Any, **kw: Any) -> FakeRecord:
            if self.fails:
                self.fails -= 1
                raise PulseError("playback stream #2 did not start in time")
            return super().open(*args, **kw)

    clock = FakeClock()
    server = Hiccup([props(2, "ZOOM", "zoom")], [])
    side = AppStreams(server, AppTarget("zoom"), clock, own_pid=1)  # type: ignore[arg-type]
    assert not side.streams and side.waiting
    clock.sleep(0.5)
    side.read()
    assert not side.streams  # no event since: not yet
    clock.sleep(0.6)
    side.read()
    assert list(side.streams) == [2] and not side.waiting
