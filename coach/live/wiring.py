"""The CLI's wiring for a live call: where the panel, events and statistics go."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from coach.errors import CoachError


def panel_console(no_panel: bool, events_to_stdout: bool) -> Console | None:
    """The panel goes to stdout's terminal, else stderr's, else nowhere."""
    if no_panel:
        return None
    if not events_to_stdout and sys.stdout.isatty():
        return Console()
    if sys.stderr.isatty():
        return Console(stderr=True)
    return None


def open_events(target: str | None) -> IO[str] | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    raise CoachError(f"--events takes '-' (standard output), got {target!r}")


def write_stats_json(stats: dict[str, Any], target: str | None) -> None:
    if target is None:
        return
    text = json.dumps(stats) + "\n"
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as e:
        raise CoachError(f"cannot write --stats-json {target}: {e.strerror or e}") from None


def check_duration(duration_s: float | None) -> None:
    if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
        raise CoachError(f"--duration must be a positive number of seconds, got {duration_s}")
