"""Soak: an 8-hour call through the live loop, at full speed on a fake clock.

The source replays the shipped demo call back to back (fed a second of audio
per read, as a busy capture would deliver it). At the end: memory grew by
under 10 MB after the first hour, the timeline's queues stayed small, and the
statistics are the demo call's, times the number of repeats.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from coach.audio.capture import SourceState
from coach.core.pipeline import CallAnalyzer
from coach.live.session import LiveOptions, run_live
from coach.live.sources import DEMO_CALL
from tests.support.live_call import QUIET as CONFIG

pytestmark = pytest.mark.soak

HOURS = 8


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


class LoopSource:
    """The demo call, over and over, one second per read; the clock is audio time."""

    def __init__(self, call: np.ndarray) -> None:
        self.call = call
        self.pos = 0
        self.given = 0
        self.rss_after_hour: float | None = None
        self.queue_peak = 0

    listening = True
    ended: str | None = None

    def start(self) -> None:
        pass

    def read(self, max_wait_s: float) -> list[np.ndarray]:
        n = 16000
        out = np.empty((2, n), np.float32)
        take = min(n, self.call.shape[1] - self.pos)
        out[:, :take] = self.call[:, self.pos : self.pos + take]
        out[:, take:] = self.call[:, : n - take]
        self.pos = (self.pos + n) % self.call.shape[1]
        self.given += n
        if self.rss_after_hour is None and self.given >= 3600 * 16000:
            self.rss_after_hour = rss_mb()
        return [out]

    def state(self) -> SourceState:
        return SourceState()

    def close(self) -> None:
        pass

    notices: tuple[tuple[float, str], ...] = ()
    realigned: tuple[int, ...] = ()

    def want(self, frames: int) -> None:
        pass


def test_an_eight_hour_call_stays_small_and_right() -> None:
    x, _ = sf.read(DEMO_CALL, dtype="float32")
    call = np.ascontiguousarray(x.T)
    one = CallAnalyzer(CONFIG)
    one.feed(call)
    one.finish()
    single = one.stats()

    source = LoopSource(call)
    clock = iter(float(i) for i in range(10**9))
    options = LiveOptions(duration_s=HOURS * 3600, events=io.StringIO(), clock=lambda: next(clock))
    result = run_live(source, CONFIG, options)
    stats = result.stats

    assert result.reason == "duration"
    assert stats["duration_s"] == HOURS * 3600
    assert source.rss_after_hour is not None
    growth = rss_mb() - source.rss_after_hour
    assert growth < 10, f"memory grew {growth:.1f} MB over {HOURS - 1} hours"
    repeats = HOURS * 3600 / (call.shape[1] / 16000)
    for side in ("rep", "customer"):
        per_call = single[side]["talk_s"]
        assert abs(stats[side]["talk_s"] / repeats - per_call) < 0.02 * per_call
    kinds = [n["kind"] for n in stats["nudges"]]
    for kind in ("acknowledge", "deepen", "let_finish"):
        assert abs(kinds.count(kind) - repeats) <= 2, (kind, kinds.count(kind), repeats)
    assert abs(kinds.count("summarise") - HOURS * 3600 / 540) <= 2
    assert len(stats["interruptions"]) == kinds.count("let_finish")
