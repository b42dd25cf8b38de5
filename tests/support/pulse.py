"""The project's headless PulseAudio (scripts/pulse-virtual.sh) for the tests
that record for real, and for the live benchmark.

Each :class:`VirtualPulse` has its own directory (runtime dir, socket, state),
so several can run side by side and nothing else on the machine is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PULSE_SCRIPT = REPO / "scripts" / "pulse-virtual.sh"


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
