"""A headless PipeWire with virtual devices, beside the virtual PulseAudio of
``scripts/pulse-virtual.sh``: the sound server most current Linux desktops run.

The same devices under the same names -- speakers ``coach_spk`` (its monitor is
the customer's side), ``coach_micfeed`` and the microphone ``coach_mic`` over
it -- but owned by the ``pipewire`` daemon itself (``pipewire.conf.d``), so they
survive a restart of ``pipewire-pulse`` (the PulseAudio protocol server the
coach talks to) the way real hardware does. Audio is played with ``pw-play``,
PipeWire's own protocol, which keeps playing through such a restart.

Everything lives under one directory (runtime dir, config, state, a private
D-Bus); nothing in $HOME, nothing shared with another server. Used by the live
tests and ``make bench``; installs nothing (scripts/install-system-deps.sh).
The same face as :class:`tests.support.pulse.VirtualPulse` (``start``, ``stop``,
``env``), so the live-call helpers take either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.pulse import PulseUnavailable

PROGRAMS = ("pipewire", "wireplumber", "pipewire-pulse", "pw-play", "dbus-daemon", "pactl")
DEVICES_CONF = """\
context.objects = [
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = "coach_spk"
               node.description = "coach_speakers" media.class = Audio/Sink
               object.linger = true audio.position = [ FL FR ] } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = "coach_micfeed"
               node.description = "coach_mic_feed" media.class = Audio/Sink
               object.linger = true audio.position = [ MONO ] } }
]
context.modules = [
    { name = libpipewire-module-loopback
      args = {
        node.description = "coach_microphone"
        capture.props = { node.name = "coach_mic_capture" stream.capture.sink = true
                          target.object = "coach_micfeed" node.target = "coach_micfeed"
                          node.passive = true audio.position = [ MONO ] }
        playback.props = { node.name = "coach_mic" media.class = Audio/Source
                           audio.position = [ MONO ] }
      } }
]
"""
START_TIMEOUT_S = 15.0
WARMUP_S = 2.5


class VirtualPipeWire:
    """pipewire + wireplumber + pipewire-pulse in their own directory; ``env`` for clients."""

    kind = "pipewire"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env: dict[str, str] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._dbus_pid: int | None = None

    def start(self, attempts: int = 2) -> dict[str, str]:
        """Start the three daemons (a failed start is retried); return the clients' env."""
        missing = [p for p in PROGRAMS if shutil.which(p) is None]
        if missing:
            raise PulseUnavailable(
                f"PipeWire is not installed ({', '.join(missing)} missing; "
                "bash scripts/install-system-deps.sh)"
            )
        err = ""
        for _ in range(attempts):
            try:
                self._start()
                return self.env
            except PulseUnavailable as e:
                err = str(e)
                self.stop()
        raise PulseUnavailable(f"the virtual PipeWire did not start: {err}")

    def _start(self) -> None:
        root = self.root
        run = root / "run"
        for d in (run, root / "config" / "pulse", root / "config" / "pipewire" / "pipewire.conf.d",
                  root / "state", root / "data"):  # fmt: skip
            d.mkdir(parents=True, exist_ok=True)
        run.chmod(0o700)
        (root / "config" / "pulse" / "client.conf").write_text("autospawn = no\n")
        conf = root / "config" / "pipewire" / "pipewire.conf.d" / "coach-devices.conf"
        conf.write_text(DEVICES_CONF)
        foreign = ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE", "PIPEWIRE_REMOTE")
        env = {k: v for k, v in os.environ.items() if k not in foreign}
        env.update(
            XDG_RUNTIME_DIR=str(run),
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_STATE_HOME=str(root / "state"),
            XDG_DATA_HOME=str(root / "data"),
            DBUS_SESSION_BUS_ADDRESS=f"unix:path={run / 'bus'}",
        )
        self.env = env
        done = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-pid",
             f"--address=unix:path={run / 'bus'}"],
            env=env, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            raise PulseUnavailable(f"dbus-daemon: {done.stderr.strip()}")
        self._dbus_pid = int(done.stdout.split()[0])
        self._spawn("pipewire")
        self._wait(lambda: (run / "pipewire-0").exists(), "pipewire")
        self._spawn("wireplumber")
        self.start_pulse()
        # wireplumber picks the defaults; say which, as pulse-virtual.sh does
        self._wait(lambda: self._pactl("get-default-sink") not in (None, "@DEFAULT_SINK@"),
                   "a default sink")  # fmt: skip
        self._pactl("set-default-sink", "coach_spk")
        self._pactl("set-default-source", "coach_mic")
        self._wait(lambda: self._pactl("get-default-source") == "coach_mic", "the defaults")
        for source in ("coach_mic", "coach_spk.monitor"):  # see pulse-virtual.sh's warm_up
            # parec's "Broken pipe" when head has had enough is no news
            warm = f"timeout {WARMUP_S} parec -d {source} 2>/dev/null | head -c 3200 >/dev/null"
            subprocess.run(warm, shell=True, env=env, check=False)

    def _spawn(self, name: str) -> None:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.procs[name] = subprocess.Popen([name], env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log)  # fmt: skip
        log.close()

    def _pactl(self, *args: str) -> str | None:
        try:
            done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                                  timeout=5, stdin=subprocess.DEVNULL)  # fmt: skip
        except subprocess.TimeoutExpired:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    def _wait(self, done: object, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if callable(done) and done():
                return
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise PulseUnavailable(f"{name} exited {p.returncode} ({self._log(name)})")
            time.sleep(0.05)
        raise PulseUnavailable(f"no {what} after {START_TIMEOUT_S:.0f} s")

    def _log(self, name: str) -> str:
        with contextlib.suppress(OSError):
            lines = (self.root / f"{name}.log").read_text(errors="replace").splitlines()
            return " | ".join(lines[-3:])
        return ""

    def start_pulse(self) -> None:
        """(Re)start pipewire-pulse; returns once it answers."""
        self._spawn("pipewire-pulse")
        self._wait(lambda: "on PipeWire" in (self._pactl("info") or ""), "pipewire-pulse")

    def kill_pulse(self) -> None:
        """pipewire-pulse dies (SIGKILL); PipeWire, its devices and pw-play go on."""
        p = self.procs.pop("pipewire-pulse", None)
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(5)

    def stop(self) -> None:
        for name in ("pipewire-pulse", "wireplumber", "pipewire"):
            p = self.procs.pop(name, None)
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        if self._dbus_pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._dbus_pid, signal.SIGTERM)
            self._dbus_pid = None
