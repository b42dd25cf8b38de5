"""`coach start` keeps hearing the call when the user's audio set-up changes mid-call,
on both sound servers: PulseAudio and PipeWire (with pipewire-pulse).

Each server is the project's virtual one (scripts/pulse-virtual.sh,
tests/support/pipewire.py) with the same devices, plus a headset: speakers
"Headphones" (``coach_hp``) and a microphone "Headset" (``coach_hsmic``,
fed through ``coach_hsfeed``). The first 40 s of the demo call is played into
the devices as in tests/test_live_e2e.py, and mid-call something changes:

- the default sink moves to the headphones (a headset plugged in) and the rest
  of the call plays there; or the default source moves to the headset mic;
- the sound server that the coach talks to dies for ~3 s and is restarted
  (PulseAudio: the whole server, its devices and players; PipeWire: only
  pipewire-pulse, the devices and players go on, as with real hardware);
- a device the user named (``--loopback``) is unplugged and plugged back in.

What the daemon heard outside the gap is compared with a fault-free run of the
same audio: each side's speech within 0.3 s of what the same server's call
without the fault heard (so that what the server's path does to the audio,
which tests/test_live_e2e.py holds against ``coach analyze``, is not counted
as the fault's), no "your microphone picks up the other side" warning, no
interruption or nudge that ``coach analyze`` lacks. Each fault is played three times on each kind of
server: on three servers of each kind, each in its own directory, all six
calls at once (one call's time in all); the test ids name the server and
the run (``[default-sink-switch-pipewire-run2]``). Skips only where a server
is not installed, with CI=true it fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import soundfile as sf

from coach.core.echo import HEADSET_WARNING
from tests.support.ci import IN_CI
from tests.support.live_call import (
    DEMO_CALL,
    QUIET_CONFIG,
    Daemon,
    analyze,
    speech_offset_s,
    start_args,
)
from tests.support.pipewire import VirtualPipeWire
from tests.support.pulse import PulseUnavailable, VirtualPulse

pytestmark = pytest.mark.pulse  # a sound server: CI never lets these skip

CALL_S = 40.0
FAULT_AT_S = 15.0
OUTAGE_S = 3.0
CONFIG = QUIET_CONFIG + '\n[audio]\napi = "pulseaudio"\n'
SPEECH_TOLERANCE_S = 0.3
RESTART_LAG_S = 2.5
"""How much later than asked a restarted player's audio may reach a freshly
loaded null sink: such a sink starts at its 2 s default latency."""
SIDES = ("rep", "customer")

RUNS = 3
"""Each fault this many times per kind of server: one server each, all at once."""
KINDS = ("pulseaudio", "pipewire")

Server = VirtualPulse | VirtualPipeWire
T = TypeVar("T")


def pactl(env: dict[str, str], *args: str, check: bool = True) -> str:
    done = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL, check=check)  # fmt: skip
    return done.stdout.strip()


def warm_up(env: dict[str, str], source: str) -> None:
    """A first capture from a new source can stall for ~2 s: open it once now."""
    subprocess.run(f"timeout 2.5 parec -d {source} 2>/dev/null | head -c 3200 >/dev/null",
                   shell=True, env=env, check=False)  # fmt: skip


def add_headset(env: dict[str, str]) -> list[str]:
    """Headphones and a headset mic (its feed and the mic over it); the modules' ids."""
    modules = [
        pactl(env, "load-module", "module-null-sink", "sink_name=coach_hp", "rate=48000",
              "channels=2", "sink_properties=device.description=Headphones"),
        pactl(env, "load-module", "module-null-sink", "sink_name=coach_hsfeed", "rate=48000",
              "channels=1", "sink_properties=device.description=coach_headset_feed"),
        pactl(env, "load-module", "module-remap-source", "source_name=coach_hsmic",
              "master=coach_hsfeed.monitor", "channels=1",
              "source_properties=device.description=Headset"),
    ]  # fmt: skip
    for source in ("coach_hp.monitor", "coach_hsmic"):
        warm_up(env, source)
    return modules


def ensure_headset(env: dict[str, str]) -> None:
    """The headset again where the server lost it (pipewire-pulse's own devices
    die with it, as after the server-restart fault)."""
    if "coach_hp\t" not in pactl(env, "list", "short", "sinks", check=False):
        add_headset(env)


def side_by_side(work: Callable[[Any], T], items: list[Any]) -> list[T | BaseException]:
    """``work(item)`` for every item, each in a thread of its own, all at once:
    what each returned or raised."""
    with ThreadPoolExecutor(max(1, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
        return [f.exception() or f.result() for f in futures]


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the tests that record for real: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Server] | str]]:
    """RUNS servers of each kind, each in its own directory (runtime dir, socket,
    PipeWire instance and D-Bus), started side by side, with the headset added;
    for a kind that will not start, why."""
    made: list[Server] = [
        VirtualPulse(tmp_path_factory.mktemp("pa")) if kind == "pulseaudio"
        else VirtualPipeWire(tmp_path_factory.mktemp("pw"))
        for kind in KINDS for _ in range(RUNS)
    ]  # fmt: skip

    def start(srv: Server) -> None:
        srv.start(attempts=2)  # a failed start is retried once; the assertions never are
        add_headset(srv.env)

    try:
        started = side_by_side(start, made)
        out: dict[str, list[Server] | str] = {}
        for i, kind in enumerate(KINDS):
            mine = made[i * RUNS : (i + 1) * RUNS]
            errors = [e for e in started[i * RUNS : (i + 1) * RUNS] if e is not None]
            unavailable = [str(e) for e in errors if isinstance(e, PulseUnavailable)]
            if errors and not unavailable:
                raise errors[0]
            out[kind] = unavailable[0] if unavailable else mine
        yield out
    finally:
        side_by_side(lambda srv: srv.stop(), made)


def kind_of(srv: Server) -> str:
    return "pipewire" if isinstance(srv, VirtualPipeWire) else "pulseaudio"


def player(srv: Server, device: str, wav: Path) -> subprocess.Popen[bytes]:
    """Plays ``wav`` into ``device``: with pw-play on PipeWire, which outlives pipewire-pulse."""
    cmd = (["pw-play", "--target", device, str(wav)] if kind_of(srv) == "pipewire"
           else ["paplay", f"--device={device}", str(wav)])  # fmt: skip
    return subprocess.Popen(cmd, env=srv.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


@dataclass
class Clip:
    """The call, and its channels cut at any time into WAVs to play."""

    path: Path
    config: Path
    audio: Any
    rate: int

    def part(self, side: int, start_s: float, end_s: float = CALL_S) -> Path:
        a, b = round(start_s * self.rate), round(end_s * self.rate)
        out = self.path.parent / f"side{side}-{a}-{b}.wav"
        if not out.exists():  # written whole, then renamed: runs at once may ask for it
            part = out.with_suffix(f".{threading.get_ident()}.wav")
            sf.write(str(part), self.audio[a:b, side], self.rate, subtype="PCM_16")
            os.replace(part, out)
        return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    out = tmp_path_factory.mktemp("call")
    x, rate = sf.read(str(DEMO_CALL), dtype="int16", always_2d=True)
    x = x[: round(CALL_S * rate)]
    sf.write(str(out / "call.wav"), x, rate, subtype="PCM_16")
    (out / "coach.toml").write_text(CONFIG, encoding="utf-8")
    return Clip(out / "call.wav", out / "coach.toml", x, rate)


@pytest.fixture(scope="module")
def reference(clip: Clip) -> dict[str, Any]:
    """The fault-free run: ``coach analyze`` of the same audio."""
    return analyze(clip.path, clip.config)


@dataclass
class Run:
    """A live call through a fault, and where in the file the gap was."""

    stats: dict[str, Any]
    daemon: Daemon
    fault_wall: float
    gap_s: tuple[float, float]
    """The stretch of the call's file time the coach could not hear."""
    restarted: frozenset[str]
    """The sides whose player the fault started anew (from the gap's end)."""
    duration_s: float
    """Of the live call (``--duration``)."""

    def said(self) -> list[str]:
        return [e.data["text"] for e in self.daemon.events if e.data.get("event") == "device"]


Fault = Callable[[Server, Clip, float, list[subprocess.Popen[bytes]]], float]
"""Done at FAULT_AT_S into the call (played from ``started``): returns the file
time from which the coach can hear the call again."""


def live_run(srv: Server, clip: Clip, fault: Fault, tmp: Path, flags: list[str]) -> Run:
    stats_path = tmp / "stats.json"
    duration_s = CALL_S + 3.0
    args = [*start_args(duration_s, stats_path, clip.config), *flags]
    daemon = Daemon(args, srv.env).start()
    players: list[subprocess.Popen[bytes]] = []
    try:
        assert daemon.wait_for("listening", 30) is not None, daemon.stderr
        mic_feed, speakers = ("coach_micfeed", "coach_spk")
        if "--loopback" in flags:
            speakers = "coach_hp"
        started = time.monotonic()
        players += [player(srv, mic_feed, clip.part(0, 0.0)),
                    player(srv, speakers, clip.part(1, 0.0))]  # fmt: skip
        time.sleep(max(0.0, started + FAULT_AT_S - time.monotonic()))
        fault_wall = time.monotonic()
        before = list(players)
        heard_from_s = fault(srv, clip, started, players)
        restarted = frozenset(side for side, p, q in zip(SIDES, before, players, strict=True)
                              if p is not q)  # fmt: skip
        for p in players:
            p.wait(CALL_S + 30)
        assert daemon.wait_for("stats", 40) is not None, daemon.stderr
        assert daemon.wait(30) == 0, daemon.stderr
    finally:
        daemon.kill()
        for p in players:
            if p.poll() is None:
                p.kill()
        pactl(srv.env, "set-default-sink", "coach_spk", check=False)
        pactl(srv.env, "set-default-source", "coach_mic", check=False)
        ensure_headset(srv.env)
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    back = [e for e in daemon.events if e.data.get("event") == "device"]
    # the coach hears again from the later of: the audio back, the coach back
    back_s = max([heard_from_s] + [e.wall - started for e in back])
    return Run(stats, daemon, fault_wall, (FAULT_AT_S, back_s), restarted, duration_s)


def switch_sink(srv: Server, clip: Clip, started: float, players: list[Any]) -> float:
    """A headset plugged in: the default sink changes, the call goes on playing there."""
    players[1].kill()
    pactl(srv.env, "set-default-sink", "coach_hp")
    at = time.monotonic() - started
    players[1] = player(srv, "coach_hp", clip.part(1, at))
    return at


def switch_source(srv: Server, clip: Clip, started: float, players: list[Any]) -> float:
    """A headset mic plugged in: the default source changes, the rep talks into it."""
    players[0].kill()
    pactl(srv.env, "set-default-source", "coach_hsmic")
    at = time.monotonic() - started
    players[0] = player(srv, "coach_hsfeed", clip.part(0, at))
    return at


def restart_server(srv: Server, clip: Clip, started: float, players: list[Any]) -> float:
    """The pulse server dies for ~3 s. On PipeWire only pipewire-pulse; on
    PulseAudio everything goes with it, and the players start again after."""
    if isinstance(srv, VirtualPipeWire):
        srv.kill_pulse()
        time.sleep(OUTAGE_S)
        srv.start_pulse()
        return time.monotonic() - started
    srv.stop()
    time.sleep(OUTAGE_S)
    srv.start(attempts=2)
    add_headset(srv.env)
    at = time.monotonic() - started
    players[:] = [player(srv, "coach_micfeed", clip.part(0, at)),
                  player(srv, "coach_spk", clip.part(1, at))]  # fmt: skip
    return at


def unplug_named(srv: Server, clip: Clip, started: float, players: list[Any]) -> float:
    """The headphones the user named are unplugged for ~3 s, then plugged back in."""
    players[1].kill()
    module = next(line.split("\t")[0] for line in pactl(srv.env, "list", "short", "modules")
                  .splitlines() if "sink_name=coach_hp " in line + " ")  # fmt: skip
    pactl(srv.env, "unload-module", module)
    time.sleep(OUTAGE_S)
    pactl(srv.env, "load-module", "module-null-sink", "sink_name=coach_hp", "rate=48000",
          "channels=2", "sink_properties=device.description=Headphones")  # fmt: skip
    at = time.monotonic() - started
    players[1] = player(srv, "coach_hp", clip.part(1, at))
    return at


FAULTS: dict[str, tuple[Fault, list[str]]] = {
    "default-sink-switch": (switch_sink, []),
    "default-source-switch": (switch_source, []),
    "named-device-unplugged": (unplug_named, ["--loopback", "coach_hp.monitor"]),
    "server-restart": (restart_server, []),  # last: PulseAudio's devices are made anew
}


def no_fault(srv: Server, clip: Clip, started: float, players: list[Any]) -> float:
    """Nothing happens: the call plays on."""
    return FAULT_AT_S


Runs = dict[tuple[str, int], Run | BaseException]
"""Per (kind of server, run): the call, or what went wrong."""


def on_every_server(
    servers: dict[str, list[Server] | str], clip: Clip, fault: Fault, flags: list[str], tmp: Path
) -> Runs:
    """The call with the fault played on every server at once."""
    jobs = [(kind, i, srv) for kind, made in servers.items() if not isinstance(made, str)
            for i, srv in enumerate(made, 1)]  # fmt: skip

    def one(job: tuple[str, int, Server]) -> Run:
        kind, i, srv = job
        (tmp / f"{kind}-{i}").mkdir()
        return live_run(srv, clip, fault, tmp / f"{kind}-{i}", flags)

    return dict(zip([(kind, i) for kind, i, _ in jobs], side_by_side(one, jobs), strict=True))


@pytest.fixture(scope="module")
def fault_free(
    servers: dict[str, list[Server] | str], clip: Clip, tmp_path_factory: pytest.TempPathFactory
) -> Runs:
    """The call without a fault on every server (first, on servers as started)."""
    return on_every_server(servers, clip, no_fault, [], tmp_path_factory.mktemp("fault-free"))


@pytest.fixture(scope="module", params=list(FAULTS))
def fault_runs(
    request: pytest.FixtureRequest, servers: dict[str, list[Server] | str], clip: Clip,
    fault_free: Runs, tmp_path_factory: pytest.TempPathFactory,
) -> Runs:  # fmt: skip
    """The fault played on every server at once: each kind's RUNS runs."""
    fault, flags = FAULTS[request.param]
    return on_every_server(servers, clip, fault, flags, tmp_path_factory.mktemp(request.param))


@pytest.fixture(params=[(kind, i) for kind in KINDS for i in range(1, RUNS + 1)],
                ids=[f"{kind}-run{i}" for kind in KINDS for i in range(1, RUNS + 1)])  # fmt: skip
def run(
    request: pytest.FixtureRequest, servers: dict[str, list[Server] | str], fault_runs: Runs
) -> Run:  # fmt: skip
    kind, _ = request.param
    made = servers[kind]
    if isinstance(made, str):
        skip_or_fail(made)
    got = fault_runs[request.param]
    if isinstance(got, BaseException):
        raise got
    return got


@pytest.fixture
def twin(request: pytest.FixtureRequest, run: Run, fault_free: Runs) -> Run:
    """The fault-free call on the run's server."""
    got = fault_free[request.node.callspec.params["run"]]
    if isinstance(got, BaseException):
        raise got
    return got


def outside(
    segments: list[list[float]], gap: tuple[float, float], before_s: float = 0.0,
    after_s: float = 0.0, end_s: float = CALL_S,
) -> float:  # fmt: skip
    """Seconds of speech outside the gap (with a margin) up to ``end_s``, the
    segments moved by ``-before_s`` before the gap and by ``-after_s`` after it."""
    lo, hi = gap[0] - 0.3, gap[1] + 0.7
    total = 0.0
    for a, b in segments:
        a0, b0 = a - before_s, min(b - before_s, end_s)
        total += max(0.0, min(b0, lo) - a0) if a0 < lo else 0.0
        a1, b1 = a - after_s, min(b - after_s, end_s)
        total += max(0.0, b1 - max(a1, hi))
    return total


def side_offsets_s(run: Run, side: str, reference: dict[str, Any]) -> tuple[float, float]:
    """Where this side's audio lies in the live call, before the gap and after it.

    Each side is played by a player of its own, started on its own, so each is
    placed on its own speech. After the gap by the same offset -- the coach must
    keep a side's time across a reopen -- unless the fault started its player
    anew: that one plays from when it reaches the sink, no earlier than the
    call's first player did and up to RESTART_LAG_S later, and that stretch is
    placed on its own."""

    def fit(segments: list[list[float]], s: str, lo_s: float = -0.5, hi_s: float = 5.0) -> float:
        return speech_offset_s({s: segments}, {s: reference["speech"][s]}, lo_s, hi_s)

    live = run.stats["speech"]
    if side not in run.restarted:
        whole = fit(live[side], side)
        return whole, whole
    cut = run.gap_s[0]
    before = {s: fit([[a, min(b, cut)] for a, b in live[s] if a < cut], s) for s in SIDES}
    first = min(before.values())
    start = run.gap_s[1] + first
    after = [[max(a, start), b] for a, b in live[side] if b > start]
    return before[side], fit(after, side, first, first + RESTART_LAG_S)


def in_a_pause_s(segments: list[list[float]], limit_s: float) -> float:
    """The last time up to ``limit_s`` away from this speech: the middle of its
    last pause, or near ``limit_s`` when there is none to cut. A window cut
    through speech counts any misplacement of the live call there as speech
    lost or found."""
    starts = [a for a, _ in segments] + [float("inf")]
    ends = [0.0] + [b for _, b in segments]
    end = 0.0
    for p, q in zip(ends, starts, strict=True):  # the pauses, in order
        if p >= limit_s:
            break
        # a pause that reaches the limit is cut near it
        end = max((p + limit_s) / 2, limit_s - 0.3) if q >= limit_s else (p + q) / 2
    return end


def test_each_side_s_speech_outside_the_gap_is_that_of_a_fault_free_run(
    run: Run, twin: Run, reference: dict[str, Any]
) -> None:
    for side in SIDES:
        before, after = side_offsets_s(run, side, reference)
        placed, _ = side_offsets_s(twin, side, reference)
        # up to a pause before where both live calls still hold the audio
        limit_s = min(CALL_S, run.duration_s - after, twin.duration_s - placed)
        end_s = in_a_pause_s(reference["speech"][side], limit_s)
        live = outside(run.stats["speech"][side], run.gap_s, before, after, end_s)
        want = outside(twin.stats["speech"][side], run.gap_s, placed, placed, end_s)
        # what tells a lost stretch from a shifted one, should this fail
        why = (f"{side}: {live:.3f} s heard outside the gap {run.gap_s} up to {end_s:.2f} s, "
               f"{want:.3f} s without the fault; offsets {before} s before the gap, {after} s "
               f"after, {placed} s without the fault; live speech {run.stats['speech'][side]}, "
               f"without the fault {twin.stats['speech'][side]}; "
               f"capture {run.stats['capture']}")  # fmt: skip
        assert abs(live - want) <= SPEECH_TOLERANCE_S, why


def test_the_fault_brings_no_warning_interruption_or_nudge_of_its_own(
    run: Run, reference: dict[str, Any]
) -> None:
    offset = speech_offset_s(run.stats["speech"], reference["speech"])
    assert HEADSET_WARNING not in run.daemon.stderr
    assert not any("picks up the other side" in w for w in run.stats.get("warnings", []))
    for t in run.stats["interruptions"]:
        assert any(abs(t - offset - r) <= 1.0 for r in reference["interruptions"]), t
    # a nudge after the gap may come later (a story the gap cut in two is timed
    # anew), but none is one the fault-free run lacks
    kinds = Counter(n["kind"] for n in run.stats["nudges"])
    assert kinds <= Counter(r["kind"] for r in reference["nudges"]), run.stats["nudges"]
    for n in run.stats["nudges"]:
        if n["t"] - offset < run.gap_s[0]:
            assert any(r["kind"] == n["kind"] and abs(n["t"] - offset - r["t"]) <= 1.5
                       for r in reference["nudges"]), n  # fmt: skip


def test_what_changed_is_said_once(run: Run, request: pytest.FixtureRequest) -> None:
    fault = request.node.callspec.params["fault_runs"]
    said = run.said()
    if fault == "default-sink-switch":
        assert said == ["customer audio now from Headphones"]
        first = next(e for e in run.daemon.events if e.data.get("event") == "device")
        assert first.wall - run.fault_wall < 1.0  # moved within a second
        assert run.stats["capture"]["loopback"]["device"] == "coach_hp.monitor"
    elif fault == "default-source-switch":
        assert said == ["mic now from Headset"]
        assert run.stats["capture"]["mic"]["device"] == "coach_hsmic"
    elif fault == "named-device-unplugged":
        assert len(said) == 1 and said[0].startswith("customer audio back after"), said
        assert run.stats["capture"]["loopback"]["device"] == "coach_hp.monitor"  # never moved
        assert run.stats["capture"]["loopback"]["switches"] == 0
    else:
        assert sorted(s.split(" back after")[0] for s in said) == ["customer audio", "mic"], said
