"""The one pipeline: audio blocks → per-side VAD → timeline → nudges → stats.

``coach analyze``, ``coach demo`` and ``coach start`` all drive this class; a
whole file is just many blocks. Timeline files (speech segments, no audio) enter
one stage later through :func:`analyze_segments`, into the same timeline code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from coach.config import Config
from coach.stats import compute_stats
from coach.timeline import Nudge, Side, Timeline
from coach.timing import Timing, ms
from coach.vad import SAMPLE_RATE, SideVad, VadParams


def vad_params(config: Config) -> VadParams:
    return VadParams(mode=config.vad.mode, frame_ms=config.vad.frame_ms)


class CallAnalyzer:
    """Feed ``(2, n)`` float32 blocks at 16 kHz (row 0 rep, row 1 customer)."""

    def __init__(self, config: Config, on_nudge: Callable[[Nudge], None] | None = None) -> None:
        self.config = config
        self.timeline = Timeline(Timing.from_config(config), on_nudge=on_nudge)
        params = vad_params(config)
        self.vads = {side: SideVad(params) for side in Side}
        self.samples = 0

    @property
    def now_ms(self) -> int:
        """Audio time fed so far."""
        return self.samples * 1000 // SAMPLE_RATE

    def feed(self, block: np.ndarray) -> list[Nudge]:
        """Process one block; return the nudges that became due."""
        self.samples += block.shape[1]
        for side in Side:
            up = self.vads[side].feed(block[int(side)])
            self.timeline.update(side, up.closed, up.settled_ms, up.open_start_ms)
        return self.timeline.advance()

    def finish(self) -> list[Nudge]:
        """End of the call: flush the VADs and decide what is left."""
        for side in Side:
            up = self.vads[side].finish()
            self.timeline.update(side, up.closed, up.settled_ms, up.open_start_ms)
        before = len(self.timeline.record.nudges)
        self.timeline.finish(self.now_ms)
        return self.timeline.record.nudges[before:]

    def stats(self) -> dict[str, Any]:
        return compute_stats(self.timeline, language=self.config.coach.language)


def analyze_segments(
    duration_s: float,
    speech: Mapping[str, Sequence[Sequence[float]]],
    config: Config,
) -> dict[str, Any]:
    """The timeline, statistics and nudge stages on ideal speech segments."""
    timeline = Timeline(Timing.from_config(config))
    for side in Side:
        for start, end in sorted((s, e) for s, e in speech.get(side.label, [])):
            timeline.tracks[side].add_speech(ms(start), ms(end))
    timeline.finish(ms(duration_s))
    return compute_stats(timeline, language=config.coach.language)
