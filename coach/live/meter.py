"""``coach devices --meter``: each input's level, live, to check the right one is chosen."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.live import Live
from rich.text import Text

from coach.config import Config
from coach.live.devices import start_capture
from coach.live.signals import StopRequest
from coach.live.sources import Source

METER_FLOOR_DB = -60.0


def dbfs(x: np.ndarray) -> float:
    """RMS level of ``x`` in dB relative to full scale (floor: -120)."""
    if x.size == 0:
        return -120.0
    ms = float(np.mean(np.square(x, dtype=np.float64)))
    return max(-120.0, 10 * math.log10(ms)) if ms > 0 else -120.0


def _bar(db: float, width: int = 30) -> str:
    frac = min(1.0, max(0.0, (db - METER_FLOOR_DB) / -METER_FLOOR_DB))
    n = round(frac * width)
    return "#" * n + "." * (width - n)


def run_meter(
    config: Config,
    mic: str | None,
    loopback: str | None,
    console: Console,
    duration_s: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, float]:
    """Live levels of both chosen inputs until Ctrl-C or ``duration_s``; returns the peaks."""
    source = start_capture(config, mic, loopback)
    roles = ("mic", "loopback")
    level = [-120.0, -120.0]
    peak = [-120.0, -120.0]
    t_end = None if duration_s is None else clock() + duration_s

    source.start()
    try:
        with (
            StopRequest() as stop,
            Live(
                _meter_view(source, roles, level, peak),
                console=console,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            ) as live,
        ):
            next_draw = clock()
            while stop.reason is None and (t_end is None or clock() < t_end):
                for block in source.read(0.1):
                    for i in range(2):
                        level[i] = dbfs(block[i])
                        peak[i] = max(peak[i], level[i])
                if clock() >= next_draw:
                    live.update(_meter_view(source, roles, level, peak), refresh=True)
                    next_draw = clock() + 0.1
            live.update(_meter_view(source, roles, level, peak), refresh=True)
        if not console.is_terminal:
            console.line()
    finally:
        source.close()
    return dict(zip(roles, peak, strict=True))


def _meter_view(
    source: Source, roles: tuple[str, ...], level: list[float], peak: list[float]
) -> Text:
    """One bar per input with its level and peak, then whether audio is flowing."""
    text = Text()
    for i, role in enumerate(roles):
        text.append(f"{role:<9}", "bold")
        text.append(_bar(level[i]), "green" if level[i] > -50 else "grey50")
        text.append(f" {level[i]:6.1f} dBFS  (peak {peak[i]:6.1f})\n")
    status = "listening" if source.listening else "waiting for audio"
    warnings = source.state().warnings
    text.append(status + ("; " + "; ".join(warnings) if warnings else ""), "grey50")
    return text
