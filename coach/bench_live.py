"""Live benchmark: `coach start` on a headless PulseAudio with virtual devices.

``run()`` returns the lines ``make bench`` prints: nudge latency from the
moment the triggering audio is played to the nudge event (p50/p95), the
daemon's CPU use (% of one core, while listening) and its peak RSS, at the
default configuration (transcription on) beside VAD only (``--no-transcribe``),
then the VAD-only daemon in detail.

The rig (also used by ``tests/test_live_e2e.py``):

- :class:`VirtualPulse` starts the project's own server with
  ``scripts/pulse-virtual.sh`` (its own runtime dir, so nothing else is touched);
- :func:`split_call` writes the rep and customer channels of a call as two mono
  WAVs (test fixtures in a temporary dir);
- :class:`Daemon` runs ``coach start --events - --no-panel`` and timestamps each
  event line as it arrives;
- :func:`play` plays the rep channel into ``coach_micfeed`` (heard by the mic
  ``coach_mic``) and the customer channel into ``coach_spk`` (heard by the
  loopback ``coach_spk.monitor``), as two separate players: a combined sink drifts.

Latency of a nudge = event arrival - (play start + the nudge's time in the file,
from ``coach analyze`` of the same file with the same config). It includes the
sound server's and PortAudio's transport, the VAD's settling and the loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
PULSE_SCRIPT = REPO / "scripts" / "pulse-virtual.sh"
DEMO_CALL = Path(__file__).parent / "data" / "demo_call.flac"
COACH = [sys.executable, "-c", "from coach.cli import main; main()"]

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
QUIET_CONFIG = """\
[live]
bell = false
desktop_notifications = false
"""


class PulseUnavailable(RuntimeError):
    """No PulseAudio here (not installed, or it will not start)."""


class VirtualPulse:
    """The project's headless PulseAudio (scripts/pulse-virtual.sh) in its own directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env: dict[str, str] = {}

    def _script(self, action: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COACH_PULSE_DIR": str(self.root)}
        return subprocess.run(
            ["bash", str(PULSE_SCRIPT), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    def start(self, attempts: int = 2) -> dict[str, str]:
        """Start the server (retrying a failed start once); return the clients' env."""
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            raise PulseUnavailable(
                "pulseaudio/pactl not installed (bash scripts/install-system-deps.sh)"
            )
        err = ""
        for _ in range(attempts):
            done = self._script("start")
            if done.returncode == 0:
                self.env = self._client_env(done.stdout)
                return self.env
            err = (done.stderr or done.stdout).strip()
            self._script("stop")
        raise PulseUnavailable(f"the virtual PulseAudio did not start: {err}")

    @staticmethod
    def _client_env(exports: str) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
            env.pop(var, None)
        for line in exports.splitlines():
            if line.startswith("export ") and "=" in line:
                key, _, value = line[len("export ") :].partition("=")
                env[key] = value.strip("'\"")
        return env

    def stop(self) -> None:
        self._script("stop")


def split_call(call: Path, out_dir: Path) -> tuple[Path, Path, float]:
    """The call's rep and customer channels as two mono WAVs; and its duration."""
    x, rate = sf.read(str(call), dtype="int16", always_2d=True)
    rep, customer = out_dir / "rep.wav", out_dir / "customer.wav"
    sf.write(str(rep), x[:, 0], rate, subtype="PCM_16")
    sf.write(str(customer), x[:, 1], rate, subtype="PCM_16")
    return rep, customer, len(x) / rate


def analyze(call: Path, config: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``coach analyze --json`` of the call: what the live daemon should find."""
    done = subprocess.run(
        [*COACH, "analyze", str(call), "--json", "--no-transcribe", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"coach analyze failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@dataclass
class Event:
    wall: float
    """time.monotonic() when the line arrived."""
    data: dict[str, Any]


def start_args(
    duration_s: float, stats_path: Path, config: Path, panel: bool = False
) -> list[str]:
    """``coach start``'s flags for a measured call: NDJSON events on stdout, no
    panel (unless asked: then it is drawn on stderr's terminal), the statistics
    written to ``stats_path``."""
    return ["--events", "-", *([] if panel else ["--no-panel"]),
            "--duration", f"{duration_s:.3f}", "--stats-json", str(stats_path),
            "--config", str(config)]  # fmt: skip


PANEL_SIZE = (60, 15)
"""Columns and rows of the terminal the panel is drawn in: the small window
beside the video call that the panel is designed for."""


@dataclass
class Daemon:
    """``coach start`` as a child process; its NDJSON events, timestamped on arrival."""

    args: Sequence[str]
    env: dict[str, str]
    events: list[Event] = field(default_factory=list)
    stderr: str = ""
    maxrss_kb: int = 0
    """Its peak RSS: the kernel's high-water mark (VmHWM) of its own memory,
    sampled while it runs. Not wait4's ru_maxrss: Linux carries the RSS of the
    forked copy of the parent (a big bench process) over into the child's."""
    proc: subprocess.Popen[str] | None = None
    terminal: bool = False
    """stderr on a pseudo-terminal of PANEL_SIZE (where the panel is drawn)."""
    transcribe: bool = False
    """Transcription on (the default configuration) or VAD only (``--no-transcribe``)."""
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> Daemon:
        stderr: int = subprocess.PIPE
        env = self.env
        if self.terminal:
            import fcntl
            import pty
            import struct
            import termios

            master, stderr = pty.openpty()
            cols, rows = PANEL_SIZE
            fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            env = {**env, "TERM": "xterm-256color"}
        self.proc = subprocess.Popen(
            # kept out of history; VAD only unless asked for the default configuration
            [*COACH, "start", *([] if self.transcribe else ["--no-transcribe"]), "--no-history",
             *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        threading.Thread(target=self._read_events, daemon=True).start()
        if self.terminal:
            os.close(stderr)
            threading.Thread(target=self._read_terminal, args=(master,), daemon=True).start()
        else:
            threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._watch_memory, daemon=True).start()
        return self

    def _watch_memory(self) -> None:
        assert self.proc is not None
        path = f"/proc/{self.proc.pid}/status"
        while True:  # not proc.poll(): that could reap the child before wait() does
            try:
                with open(path) as f:
                    hwm = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")]
            except (OSError, ValueError):
                return  # gone
            if not hwm:
                return  # a zombie: its memory is gone
            self.maxrss_kb = max(self.maxrss_kb, hwm[0])
            time.sleep(0.05)

    def _read_events(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            wall = time.monotonic()
            try:
                data = json.loads(line)
            except ValueError:
                data = {"event": "garbage", "line": line}
            with self._cond:
                self.events.append(Event(wall, data))
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def _read_terminal(self, master: int) -> None:
        """What the terminal shows: the panel; its tail stands for stderr."""
        tail = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the daemon closed it
                break
            if not chunk:
                break
            tail = (tail + chunk)[-65536:]
        os.close(master)
        self.stderr = tail.decode(errors="replace")

    def wait_for(self, event: str, timeout_s: float) -> Event | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for e in self.events:
                    if e.data.get("event") == event:
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc is not None and self.proc.poll() is not None):
                    return None
                self._cond.wait(min(left, 0.2))

    def cpu_s(self) -> float:
        """User + system CPU seconds of the running daemon (all its threads)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait(self, timeout_s: float) -> int:
        """Its exit status."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid, status, _ = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                time.sleep(0.1)  # let the readers drain the pipes
                return self.proc.returncode
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"coach start did not exit within {timeout_s:.0f} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(Exception):
                self.proc.wait(5)

    def nudges(self) -> list[Event]:
        return [e for e in self.events if e.data.get("event") == "nudge"]


@dataclass
class Players:
    started: float
    """time.monotonic() just before the first player was started."""
    procs: list[subprocess.Popen[bytes]]

    def wait(self, timeout_s: float) -> None:
        for p in self.procs:
            p.wait(timeout_s)
            if p.returncode != 0:
                raise RuntimeError(f"{p.args!r} exited with {p.returncode}")


def play(rep_wav: Path, customer_wav: Path, env: dict[str, str]) -> Players:
    """Play the rep into the virtual mic and the customer into the virtual speakers."""
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            ["paplay", f"--device={device}", str(wav)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for device, wav in (("coach_micfeed", rep_wav), ("coach_spk", customer_wav))
    ]
    return Players(started, procs)


def speech_offset_s(
    live: dict[str, list[list[float]]],
    reference: dict[str, list[list[float]]],
    lo_s: float = -0.5,
    hi_s: float = 5.0,
    step_s: float = 0.01,
) -> float:
    """The shift of the live call against the reference that best overlaps their speech."""

    def overlap(shift: float) -> float:
        total = 0.0
        for side in ("rep", "customer"):
            for a, b in reference.get(side, []):
                for c, d in live.get(side, []):
                    total += max(0.0, min(b, d - shift) - max(a, c - shift))
        return total

    shifts = np.arange(lo_s, hi_s + step_s / 2, step_s)
    scores = [overlap(float(s)) for s in shifts]
    return round(float(shifts[int(np.argmax(scores))]), 3)


@dataclass
class LiveCall:
    """One call played through the virtual devices into ``coach start``."""

    expected: dict[str, Any]
    stats: dict[str, Any]
    daemon: Daemon
    players: Players
    listening: Event
    cpu_percent: float
    call_s: float


@contextlib.contextmanager
def rig(workdir: Path) -> Iterator[VirtualPulse]:
    pulse = VirtualPulse(workdir / "pulse")
    try:
        pulse.start()
        yield pulse
    finally:
        pulse.stop()


def live_call(
    pulse: VirtualPulse,
    call: Path,
    workdir: Path,
    config_text: str = QUIET_CONFIG,
    margin_s: float = 3.0,
    panel: bool = False,
    transcribe: bool = False,
) -> LiveCall:
    """Play ``call`` into a running ``coach start`` and collect what it reported
    (``panel``: with the panel drawn on a terminal of PANEL_SIZE; ``transcribe``:
    transcription on, as by default, instead of VAD only)."""
    config = workdir / "coach.toml"
    config.write_text(config_text, encoding="utf-8")
    rep_wav, customer_wav, call_s = split_call(call, workdir)
    expected = analyze(call, config, pulse.env)
    stats_path = workdir / "live-stats.json"
    args = start_args(call_s + margin_s, stats_path, config, panel)
    daemon = Daemon(args, pulse.env, terminal=panel, transcribe=transcribe).start()
    try:
        listening = daemon.wait_for("listening", 30.0)
        if listening is None:
            raise RuntimeError(f"coach start never said listening; stderr: {daemon.stderr}")
        cpu0, wall0 = daemon.cpu_s(), time.monotonic()
        players = play(rep_wav, customer_wav, pulse.env)
        players.wait(call_s + 30)
        end = daemon.wait_for("stats", margin_s + 30)
        if end is None:
            raise RuntimeError(f"coach start sent no stats; stderr: {daemon.stderr}")
        cpu = (daemon.cpu_s() - cpu0) / (end.wall - wall0) * 100
        status = daemon.wait(30)
        if status != 0:
            raise RuntimeError(f"coach start exited {status}; stderr: {daemon.stderr}")
    finally:
        daemon.kill()
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    return LiveCall(expected, stats, daemon, players, listening, cpu, call_s)


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
    from coach.capture import SAMPLE_RATE_HZ, open_input
    from coach.config import Config
    from coach.devices import choose_devices, load_sounddevice
    from coach.live import start_capture

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
    from coach.audio_io import open_call
    from coach.config import load_config
    from coach.pipeline import CallAnalyzer

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


def bench_call(out: Path, seconds: float = 90.0, seed: int = 7) -> Path:
    """A stereo call assembled from the demo call's speech, dense with nudges.

    Cycles of: a customer story of several sentences (acknowledge, deepen with
    the shortened timers of BENCH_CONFIG), a rep monologue (pause), and the rep
    cutting into the customer (let_finish).
    """
    x, rate = sf.read(str(DEMO_CALL), dtype="float32", always_2d=True)
    meta = json.loads(DEMO_CALL.with_suffix(".json").read_text(encoding="utf-8"))
    rep_snips = [x[round(a * rate) : round(b * rate), 0] for a, b in meta["speech"]["rep"]]
    cust_snips = [x[round(a * rate) : round(b * rate), 1] for a, b in meta["speech"]["customer"]]
    rep_snips = [s for s in rep_snips if len(s) > 1.5 * rate] or rep_snips
    cust_snips = [s for s in cust_snips if len(s) > 2.0 * rate] or cust_snips
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    call = np.zeros((n, 2), np.float32)

    def put(side: int, at_s: float, snip: np.ndarray) -> float:
        i = round(at_s * rate)
        k = min(len(snip), n - i)
        if k > 0:
            call[i : i + k, side] += snip[:k]
        return at_s + len(snip) / rate

    def pick(snips: list[np.ndarray]) -> np.ndarray:
        return snips[int(rng.integers(len(snips)))]

    t = 0.5
    while t < seconds - 20:
        # a customer story: sentences with natural pauses
        story_end = t + 9.0
        while t < story_end:
            t = put(1, t, pick(cust_snips)) + float(rng.uniform(0.4, 0.6))
        t += 1.5
        # the rep talks on (two sentences, a short breath between)
        t = put(0, t, pick(rep_snips)) + 0.35
        t = put(0, t, pick(rep_snips)) + 2.5
        # the customer starts, the rep cuts in
        snip = pick(cust_snips)
        put(1, t, snip)
        t = put(0, t + 1.0, pick(rep_snips)) + 2.5
    sf.write(str(out), np.clip(call, -1, 1), rate, subtype="PCM_16")
    return out


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
                call = bench_call(work / "bench_call.wav")
                result = live_call(pulse, call, work, BENCH_CONFIG)
                drawn = live_call(pulse, call, work, BENCH_CONFIG, panel=True)
                default = live_call(pulse, call, work, BENCH_CONFIG, transcribe=True)
                probe = subprocess.run(
                    [sys.executable, "-m", "coach.bench_live", "--probe"],
                    env=pulse.env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    stdin=subprocess.DEVNULL,
                )
        except PulseUnavailable as e:
            return [f"live: skipped: {e}"]
        analyzer_cpu, feeds_per_s = analyzer_cpu_percent(call, work / "coach.toml")
        from coach.virtual_pipewire import bench_lines

        pipewire = bench_lines(call, work, result.cpu_percent)
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


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        print(json.dumps(probe_transport()))
    else:
        for line in run():
            print(line)
