"""Live benchmark: `coach start` on a headless PulseAudio with virtual devices.

``run()`` returns the lines ``make bench`` prints: nudge latency from the
moment the triggering audio is played to the nudge event (p50/p95), the
daemon's CPU use (% of one core, while listening) and its peak RSS, at the
default configuration (transcription on) beside VAD only (``--no-transcribe``),
then the VAD-only daemon in detail.

The rig is the live end-to-end tests' (tests/support/pulse.py and
tests/support/live_call.py): the project's own virtual server, the call's two
channels played into its virtual mic and speakers, ``coach start`` timestamping
each event as it arrives.

Latency of a nudge = event arrival - (play start + the nudge's time in the file,
from ``coach analyze`` of the same file with the same config). It includes the
sound server's and PortAudio's transport, the VAD's settling and the loop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tests.support.live_call import PANEL_SIZE, LiveCall, dense_call, live_call, rig
from tests.support.pulse import REPO, PulseUnavailable

# The bench call: timers shortened so a short call holds many nudges of four
# kinds (each still decided by the same rules, by the daemon and by analyze).
BENCH_CONFIG = """\
[nudges]
acknowledge_after_s = 4.0
deepen_after_story_s = 6.0
rep_monologue_max_s = 5.0

[live]
bell = false
desktop_notifications = false
"""


def nudge_latencies_ms(call: LiveCall) -> list[tuple[str, float]]:
    """Per nudge of the reference: (kind, event arrival - (play start + its time in the file))."""
    got = call.daemon.nudges()
    out = []
    used: set[int] = set()
    for want in call.expected["nudges"]:
        due = call.players.started + want["t"]
        best = None
        for i, e in enumerate(got):
            if i in used or e.data["kind"] != want["kind"]:
                continue
            if best is None or abs(e.wall - due) < abs(got[best].wall - due):
                best = i
        if best is not None and abs(got[best].wall - due) < 3.0:
            used.add(best)
            out.append((want["kind"], (got[best].wall - due) * 1000))
    return out


def _refresh_hz() -> int:
    from coach.config import Config

    return Config().live.refresh_hz


def _cpu_s() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def probe_transport(clicks: int = 8, floor_s: float = 5.0) -> dict[str, Any]:
    """Run inside the rig's env: how long a click takes from paplay to the loop.

    Also the CPU floor of capture alone, side by side: the daemon's own capture
    (``start_capture`` with the default config: PulseAudio's native API here)
    read in a loop with no analysis, and two PortAudio streams with callbacks
    that do nothing, each for ``floor_s`` seconds.
    """
    from coach.audio.devices import choose_devices, load_sounddevice
    from coach.audio.portaudio_input import open_input
    from coach.config import Config
    from coach.core.types import SAMPLE_RATE_HZ
    from coach.live.devices import start_capture

    cap = start_capture(Config(), None, None)
    cap.start()
    api = {"PulseInput": "native PulseAudio", "PortAudioInput": "PortAudio"}
    kind = type(getattr(cap, "input", cap)).__name__
    result: dict[str, Any] = {"mic_ms": [], "loopback_ms": [], "api": api.get(kind, kind)}
    with tempfile.TemporaryDirectory(prefix="coach-click-") as tmp:
        click = Path(tmp) / "click.wav"
        burst = np.random.default_rng(0).uniform(-0.3, 0.3, SAMPLE_RATE_HZ // 20)
        sf.write(str(click), burst.astype(np.float32), SAMPLE_RATE_HZ, subtype="PCM_16")
        try:
            deadline = time.monotonic() + 10
            while not cap.listening and time.monotonic() < deadline:
                cap.read(0.05)
            for _ in range(clicks):
                for row, (role, sink) in enumerate(
                    (("mic", "coach_micfeed"), ("loopback", "coach_spk"))
                ):
                    settle = time.monotonic() + 0.2
                    while time.monotonic() < settle:  # drain what is queued
                        cap.read(0.02)
                    started = time.monotonic()
                    player = subprocess.Popen(
                        ["paplay", f"--device={sink}", str(click)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    while time.monotonic() - started < 2.0:
                        blocks = cap.read(0.05)
                        if any(np.max(np.abs(b[row])) > 0.05 for b in blocks):
                            result[f"{role}_ms"].append((time.monotonic() - started) * 1000)
                            break
                    player.wait(5)
            # the capture alone: read everything, analyse nothing
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                cap.read(0.05)
            cpu0, wall0 = _cpu_s(), time.monotonic()
            while time.monotonic() < wall0 + floor_s:
                cap.read(0.05)
            result["capture_percent"] = (_cpu_s() - cpu0) / (time.monotonic() - wall0) * 100
        finally:
            cap.close()

    def nothing(*args: Any) -> None:
        pass

    sd = load_sounddevice()
    mic, loopback = choose_devices(sd, "", "")
    streams = [open_input(sd, c, nothing) for c in (mic, loopback)]
    time.sleep(1.0)
    cpu0 = _cpu_s()
    time.sleep(floor_s)
    result["portaudio_percent"] = (_cpu_s() - cpu0) / floor_s * 100
    for st in streams:
        st.close()
    return result


def analyzer_cpu_percent(call: Path, config: Path) -> tuple[float, float]:
    """CallAnalyzer alone on the call, fed as the live loop feeds it (where
    ``next_feed_samples`` says): CPU % of real time, and calls per second."""
    from coach.audio.audio_io import open_call
    from coach.config import load_config
    from coach.core.pipeline import CallAnalyzer

    info, blocks = open_call(call, block_s=3600.0)
    x = np.concatenate(list(blocks), axis=1)
    analyzer = CallAnalyzer(load_config(config).config)
    calls = 0
    t = time.process_time()
    while analyzer.samples < x.shape[1]:
        upto = min(x.shape[1], analyzer.next_feed_samples())
        analyzer.feed(x[:, analyzer.samples : upto])
        calls += 1
    analyzer.finish()
    return (time.process_time() - t) / info.duration_s * 100, calls / info.duration_s


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _latency_ms(call: LiveCall) -> str:
    ms = [x for _, x in nudge_latencies_ms(call)]
    if not ms:
        return "nudge latency: no nudges matched"
    return f"nudge latency p50 {_pct(ms, 50):.0f} ms, p95 {_pct(ms, 95):.0f} ms"


def _default_config_lines(default: LiveCall, vad_only: LiveCall) -> list[str]:
    """The daemon at the default configuration (transcription on) beside VAD only."""
    info = default.stats.get("transcription")
    if isinstance(info, dict):
        what = f"transcription on, {info.get('model')}"
        work = (
            f"live, transcription on: {info.get('pieces')} pieces cut, {info.get('dropped')} "
            f"dropped, real-time factor {info.get('real_time_factor')}"
        )
    else:
        what, work = "transcription on, but no model installed: `make models`", ""
    out = [
        f"live, default config ({what}): {_latency_ms(default)}; daemon CPU "
        f"{default.cpu_percent:.1f} % of one core; peak RSS "
        f"{default.daemon.maxrss_kb / 1024:.0f} MB",
        f"live, VAD only (--no-transcribe): {_latency_ms(vad_only)}; daemon CPU "
        f"{vad_only.cpu_percent:.1f} % of one core; "
        f"peak RSS {vad_only.daemon.maxrss_kb / 1024:.0f} MB",
    ]
    return out + ([work] if work else [])


def run() -> list[str]:
    """Lines for ``make bench``."""
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        work = Path(tmp)
        try:
            with rig(work) as pulse:
                call = dense_call(work / "bench_call.wav")
                result = live_call(pulse, call, work, BENCH_CONFIG)
                drawn = live_call(pulse, call, work, BENCH_CONFIG, panel=True)
                default = live_call(pulse, call, work, BENCH_CONFIG, transcribe=True)
                probe = subprocess.run(
                    [sys.executable, "-m", "bench.bench_live", "--probe"],
                    env=pulse.env,
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    stdin=subprocess.DEVNULL,
                )
        except PulseUnavailable as e:
            return [f"live: skipped: {e}"]
        analyzer_cpu, feeds_per_s = analyzer_cpu_percent(call, work / "coach.toml")
        pipewire = pipewire_lines(call, work, result.cpu_percent)
        pipewire += app_capture_lines(work)
    lat = nudge_latencies_ms(result)
    n_want = len(result.expected["nudges"])
    kinds = sorted({n["kind"] for n in result.expected["nudges"]})
    lines = [
        f"live: {result.call_s:.0f} s call played through virtual PulseAudio devices into "
        f"`coach start` ({n_want} nudges: {', '.join(kinds)}; timers shortened)",
        *_default_config_lines(default, result),
        "live, VAD only (--no-transcribe), in detail:",
    ]
    if lat:
        ms = [x for _, x in lat]
        per_kind = ", ".join(
            f"{k} {_pct([x for kk, x in lat if kk == k], 50):.0f}"
            for k in kinds
            if any(kk == k for kk, _ in lat)
        )
        lines.append(
            f"live: nudge latency, audio played -> nudge event: p50 {_pct(ms, 50):.0f} ms, "
            f"p95 {_pct(ms, 95):.0f} ms, max {max(ms):.0f} ms ({len(lat)}/{n_want} matched; "
            f"target p95 <= 100 ms); p50 by kind: {per_kind}"
        )
    else:
        lines.append("live: nudge latency: no nudges matched")
    if probe.returncode == 0:
        p = json.loads(probe.stdout.strip().splitlines()[-1])
        both = p["mic_ms"] + p["loopback_ms"]
        if both:
            lines.append(
                f"live: of which audio transport, a click from paplay to the loop "
                f"({p['api']}): mic p50 {_pct(p['mic_ms'] or [0], 50):.0f} ms, loopback p50 "
                f"{_pct(p['loopback_ms'] or [0], 50):.0f} ms"
            )
        floor = (
            f"; capture alone {p['capture_percent']:.1f} % ({p['api']}; two PortAudio "
            f"streams with no-op callbacks {p['portaudio_percent']:.1f} %)"
        )
    else:
        floor = f"; transport probe failed: {probe.stderr.strip()[-200:]}"
    lines.append(
        f"live: daemon CPU {result.cpu_percent:.1f} % of one core while listening "
        f"(target <= 2 %){floor}; analyzer alone {analyzer_cpu:.1f} % "
        f"(fed as the loop does: {feeds_per_s:.1f} calls a second)"
    )
    cols, rows = PANEL_SIZE
    lines.append(
        f"live: daemon CPU with the panel drawn too ({cols}x{rows} terminal, refreshed "
        f"{_refresh_hz()} times a second, redrawn when it changes): {drawn.cpu_percent:.1f} %"
    )
    lines.append(f"live: daemon peak RSS {result.daemon.maxrss_kb / 1024:.0f} MB (target <= 80 MB)")
    return lines + pipewire


def _server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the sound server so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_probe(server_pid: int, rounds: int = 12, turn_s: float = 3.0) -> dict[str, Any]:
    """Run inside the rig's env: the sound server's CPU while this process records the
    call app's stream alone (as ``--loopback app:coachcall`` does) and while it records
    the sink monitor, switching every ``turn_s`` (the first 0.5 s of a turn not
    measured) for ``rounds`` turns each: load drift on the machine falls on both."""
    from coach.audio.app_capture import AppStreams
    from coach.audio.app_streams import AppTarget
    from coach.audio.pulse import PulseConnection

    conn = PulseConnection()
    server = {"app": 0.0, "monitor": 0.0}
    own = {"app": 0.0, "monitor": 0.0}
    wall = {"app": 0.0, "monitor": 0.0}
    try:
        for _ in range(rounds):
            for kind in ("app", "monitor"):
                if kind == "app":
                    rec: Any = AppStreams(conn, AppTarget("coachcall"), time.monotonic)
                else:
                    rec = conn.open("coach_spk.monitor", "coach customer (sink monitor)")
                end = time.monotonic() + turn_s
                measured_from = time.monotonic() + 0.5
                s0 = c0 = w0 = None
                while time.monotonic() < end:
                    time.sleep(0.04)  # about the live loop's pace
                    conn.pump()
                    rec.read()
                    if s0 is None and time.monotonic() >= measured_from:
                        s0, c0, w0 = _server_cpu_s(server_pid), _cpu_s(), time.monotonic()
                assert s0 is not None and c0 is not None and w0 is not None
                server[kind] += _server_cpu_s(server_pid) - s0
                own[kind] += _cpu_s() - c0
                wall[kind] += time.monotonic() - w0
                rec.close()
    finally:
        conn.close()
    return {
        "server_percent": {k: server[k] / wall[k] * 100 for k in server},
        "own_percent": {k: own[k] / wall[k] * 100 for k in own},
        "seconds": wall["app"],
    }


def app_capture_lines(work: Path) -> list[str]:
    """``make bench``: the sound server's CPU recording one app's playback stream beside
    recording the sink monitor, from one run, with a call app and a music app playing
    into the speakers throughout (``app_probe``)."""
    from tests.support.app_call import app_player, scene_files

    out = work / "app-capture"
    out.mkdir()
    try:
        with rig(out) as pulse:
            pid = int((Path(pulse.env["XDG_RUNTIME_DIR"]) / "pulse" / "pid").read_text())
            files = scene_files(out, 60.0, 0.0, 80.0)
            players = [app_player(pulse.env, "coachmusic", files.music),
                       app_player(pulse.env, "coachcall", files.music)]  # fmt: skip
            try:
                probe = subprocess.run(
                    [sys.executable, "-m", "bench.bench_live", "--app-probe", str(pid)],
                    env=pulse.env, cwd=REPO, capture_output=True, text=True, timeout=180,
                    stdin=subprocess.DEVNULL,
                )  # fmt: skip
            finally:
                for p in players:
                    p.kill()
                    p.wait(5)
    except PulseUnavailable as e:
        return [f"live, per-app capture: skipped: {e}"]
    if probe.returncode != 0:
        return [f"live, per-app capture: probe failed: {probe.stderr.strip()[-200:]}"]
    r = json.loads(probe.stdout.strip().splitlines()[-1])
    app, monitor = r["server_percent"]["app"], r["server_percent"]["monitor"]
    own = r["own_percent"]
    return [
        f"live, per-app capture (PulseAudio; a call app and a music app playing; "
        f"{r['seconds']:.0f} s of each, taking turns): sound server CPU recording the app's "
        f"stream {app:.2f} % of one core, recording the sink monitor {monitor:.2f} % "
        f"({app - monitor:+.2f} points; target within 0.3); the recording process "
        f"{own['app']:.2f} % vs {own['monitor']:.2f} %"
    ]


def pipewire_lines(call: Path, work: Path, pulseaudio_cpu_percent: float) -> list[str]:
    """``make bench``: the bench call through PipeWire into ``coach start`` (VAD only),
    its CPU beside PulseAudio's from the same run."""
    from tests.support.pipewire import VirtualPipeWire

    server = VirtualPipeWire(work / "pw")
    try:
        server.start()
    except PulseUnavailable as e:
        return [f"live on PipeWire: skipped: {e}"]
    try:
        out = work / "pw-call"
        out.mkdir()
        result = live_call(server, call, out, BENCH_CONFIG)  # type: ignore[arg-type]
        found = re.search(r"on PipeWire ([\w.]+)", server._pactl("info") or "")
        version = found.group(1) if found else "(version unknown)"
    finally:
        server.stop()
    ms = sorted(x for _, x in nudge_latencies_ms(result))
    latency = (
        f"nudge latency p50 {ms[len(ms) // 2]:.0f} ms, max {ms[-1]:.0f} ms "
        f"({len(ms)}/{len(result.expected['nudges'])} matched)"
        if ms else "no nudges matched"
    )  # fmt: skip
    return [
        f"live on PipeWire {version} (pipewire-pulse, the same call, VAD only): daemon CPU "
        f"{result.cpu_percent:.1f} % of one core while listening (PulseAudio: "
        f"{pulseaudio_cpu_percent:.1f} %); {latency}; {heard(result)}"
    ]


def heard(call: LiveCall) -> str:
    """What the daemon heard of the call, and through what: a CPU figure is only
    that of a call if the daemon heard it."""
    apis = sorted({side.get("api", "?") for side in call.stats.get("capture", {}).values()})

    def talk_s(speech: dict[str, list[list[float]]], side: str) -> float:
        return sum(b - a for a, b in speech.get(side, []))

    live, want = call.stats["speech"], call.expected["speech"]
    sides = ", ".join(
        f"{side} {talk_s(live, side):.1f} s of {talk_s(want, side):.1f}"
        for side in ("rep", "customer")
    )
    return f"speech heard {sides} (capture: {', '.join(apis) or 'unknown'})"


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        print(json.dumps(probe_transport()))
    elif sys.argv[1:2] == ["--app-probe"]:
        print(json.dumps(app_probe(int(sys.argv[2]))))
    elif sys.argv[1:] == ["--app-capture"]:  # only that part
        with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
            for line in app_capture_lines(Path(tmp)):
                print(line)
    else:
        for line in run():
            print(line)
