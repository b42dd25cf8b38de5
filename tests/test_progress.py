"""The progress bar of `coach analyze`: on stderr when it is a terminal, else nothing."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

from coach.ui.progress import audio_progress
from tests.support.synth import make_call, write_call


class _Terminal:
    """A text stream that says it is a terminal and keeps what is written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return True


class _Pipe(_Terminal):
    def isatty(self) -> bool:
        return False


def test_the_bar_shows_audio_done_speed_and_time_left_on_a_terminal() -> None:
    term = _Terminal()
    with audio_progress(3600.0, stream=term) as progress:  # type: ignore[arg-type]
        progress.advance(1800.0)
    assert "30:00 / 1:00:00 audio" in term.text
    assert "x real time" in term.text
    after = term.text.split("real time")[-1]
    assert re.search(r"-:--:--|\d+:\d\d:\d\d", after)  # the time left (or not known yet)


def test_nothing_is_written_when_stderr_is_not_a_terminal() -> None:
    pipe = _Pipe()
    with audio_progress(3600.0, stream=pipe) as progress:  # type: ignore[arg-type]
        progress.advance(1800.0)
    assert pipe.text == ""


def test_coach_analyze_json_shows_the_bar_on_a_terminal_stderr(tmp_path: Path) -> None:
    """--json on stdout stays clean JSON; the bar goes to the terminal on stderr."""
    wav = write_call(
        tmp_path / "call.wav", make_call(240, rep=[(1, 60), (120, 150)], customer=[(61, 119)])
    )
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coach.cli",
            "analyze",
            str(wav),
            "--json",
            "--no-transcribe",
            "--no-history",
        ],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    assert json.loads(out)["schema"].startswith("coach.stats")
    assert b"4:00 audio" in seen and b"x real time" in seen
