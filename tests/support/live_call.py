"""A call played into ``coach start`` through the virtual devices, and what it reported.

- :func:`split_call` writes the rep and customer channels of a call as two mono
  WAVs (in a temporary dir);
- :class:`Daemon` runs ``coach start --events - --no-panel`` and timestamps each
  event line as it arrives;
- :func:`play` plays the rep channel into ``coach_micfeed`` (heard by the mic
  ``coach_mic``) and the customer channel into ``coach_spk`` (heard by the
  loopback ``coach_spk.monitor``), as two separate players: a combined sink drifts;
- :func:`live_call` does all of that on a running :class:`VirtualPulse` and
  compares with ``coach analyze`` of the same file.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from coach.config import Config, LiveConfig, TranscribeConfig
from coach.live.sources import DEMO_CALL
from tests.support.pulse import VirtualPulse

COACH = [sys.executable, "-c", "from coach.cli import main; main()"]

QUIET_CONFIG = """\
[live]
bell = false
desktop_notifications = false

[transcribe]
enabled = false
"""
"""No bell, no desktop notifications, no transcription (tested on its own)."""

QUIET = replace(
    Config(),
    live=LiveConfig(bell=False, desktop_notifications=False),
    transcribe=TranscribeConfig(enabled=False),
)
"""QUIET_CONFIG as the Config it loads to."""


def quiet_config(folder: Path) -> Path:
    """QUIET_CONFIG written to ``folder/coach.toml``."""
    path = folder / "coach.toml"
    path.write_text(QUIET_CONFIG, encoding="utf-8")
    return path


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


def start_args(duration_s: float, stats_path: Path, config: Path, panel: bool = False) -> list[str]:
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
    _readers: list[threading.Thread] = field(default_factory=list)

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
            [
                *COACH,
                "start",
                *([] if self.transcribe else ["--no-transcribe"]),
                "--no-history",
                *self.args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        readers = [threading.Thread(target=self._read_events, daemon=True)]
        if self.terminal:
            os.close(stderr)
            terminal = threading.Thread(target=self._read_terminal, args=(master,), daemon=True)
            readers.append(terminal)
        else:
            readers.append(threading.Thread(target=self._read_stderr, daemon=True))
        for reader in readers:
            reader.start()
        self._readers = readers
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
                for reader in self._readers:  # every line it wrote is read
                    reader.join(5.0)
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


def dense_call(out: Path, seconds: float = 90.0, seed: int = 7) -> Path:
    """A stereo call assembled from the demo call's speech, dense with nudges.

    Cycles of: a customer story of several sentences (acknowledge, deepen with
    shortened timers), a rep monologue (pause), and the rep
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
