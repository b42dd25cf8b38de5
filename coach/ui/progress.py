"""A progress bar for long offline work (``coach analyze``), on stderr, for people only.

Shown only when stderr is a terminal: audio time done out of the call's length,
the speed as x real time, and the time left. Nothing is printed otherwise, so
pipes, logs and ``--json`` consumers see exactly what they saw before. The bar
is transient: the report (or JSON) follows on a clean screen.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class AudioColumn(ProgressColumn):
    """Audio analysed out of the call's length ("12:30 / 1:00:00 audio")."""

    def render(self, task: Task) -> Text:
        total = task.total or 0.0
        return Text(f"{_clock(task.completed)} / {_clock(total)} audio")


class SpeedColumn(ProgressColumn):
    """Audio seconds per wall-clock second ("84x real time")."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0 or task.completed <= 0:
            return Text("…x real time")
        return Text(f"{task.completed / elapsed:.0f}x real time")


class AudioProgress:
    """Advance by audio seconds; a no-op when not shown."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, seconds: float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, seconds)


@contextmanager
def audio_progress(
    total_s: float, label: str = "analysing", stream: TextIO | None = None
) -> Iterator[AudioProgress]:
    """A transient bar on ``stream`` (stderr) when it is a terminal; else nothing."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield AudioProgress(None, None)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        AudioColumn(),
        SpeedColumn(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
    )
    with progress:
        task = progress.add_task(label, total=total_s)
        yield AudioProgress(progress, task)
