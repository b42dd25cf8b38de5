"""Two sides' samples laid on one time axis by count, and handed out as ``(2, n)`` blocks.

Audio time comes from sample counts, never from the input's ADC timestamps
(unusable through PulseAudio: jumps of 120-490 ms). The wall clock only anchors
the call's start and detects audio that was lost (a stalled or reopened stream):
then the gap is filled with silence. The first audio of a reopened stream is
always placed by the wall clock, so after any reopen or move both sides stay
aligned.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from coach.core.types import SAMPLE_RATE_HZ

STALE_S = 0.5
"""A side that delivered nothing for this long no longer holds the other back:
its part of the call is filled with silence (and late samples are dropped)."""
RESYNC_S = 1.0
"""A side whose sample count lags the wall clock by more than this lost audio
(a stall, a reopen): its next samples are placed by the wall clock."""
MAX_PENDING_S = 5.0
"""Most audio one side may have waiting for the other (bounded memory)."""


class Aligner:
    """Lays two sides' sample blocks on one time axis and hands out ``(2, n)`` blocks.

    Pure bookkeeping with the wall clock passed in (seconds, any origin), so it
    is tested with a fake clock. Frame ``0`` of the call is at wall time ``t0``.
    Each side's samples follow each other by count; a block is placed by the
    wall clock only when the count lags it by more than ``resync_s`` (audio was
    lost). Output runs up to the least advanced *live* side; a side that is
    lost, or stale for ``stale_s``, is filled with silence meanwhile, and when
    both are, the call goes on in silence by the wall clock.
    """

    def __init__(
        self,
        t0: float,
        *,
        rate_hz: int = SAMPLE_RATE_HZ,
        stale_s: float = STALE_S,
        resync_s: float = RESYNC_S,
        max_pending_s: float = MAX_PENDING_S,
        grid_frames: int = 1,
    ) -> None:
        self.t0 = t0
        self.grid = max(1, grid_frames)
        """Blocks end on multiples of this many frames (the VAD's frame): see pop."""
        self.rate_hz = rate_hz
        self.stale_s = stale_s
        self.resync_frames = round(resync_s * rate_hz)
        self.max_pending = round(max_pending_s * rate_hz)
        self.emitted = 0
        """Frames handed out so far: the call's audio time."""
        self.pos = [0, 0]
        """Per side, the call frame where its next sample goes."""
        self.pending: list[deque[np.ndarray]] = [deque(), deque()]
        self.pending_n = [0, 0]
        self.last_push = [t0, t0]
        self.lost = [False, False]
        self.late_dropped = [0, 0]
        """Frames that arrived for time already filled with silence."""
        self.filled = [0, 0]
        """Frames of silence put in for lost audio."""

    def _wall_frames(self, t: float) -> int:
        return round((t - self.t0) * self.rate_hz)

    def push(self, side: int, x: np.ndarray, t: float, fresh: bool = False) -> int:
        """Side ``side``'s next block, delivered at wall time ``t``; returns the frames
        of silence put before it. ``fresh``: the first block of a reopened stream,
        whose audio follows the old stream's by the wall clock, not by count."""
        n = len(x)
        start = self.pos[side]
        wall_start = self._wall_frames(t) - n
        if wall_start - start > (0 if fresh else self.resync_frames):
            start = wall_start  # audio was lost: place this block by the clock
        lost = start - self.pos[side]
        if start < self.emitted:  # that time was already handed out as silence
            cut = min(n, self.emitted - start)
            self.late_dropped[side] += cut
            x = x[cut:]
            start += cut
        gap = start - max(self.pos[side], self.emitted)
        if gap > 0:
            self._append(side, np.zeros(gap, np.float32))
            self.filled[side] += gap
        if len(x):
            self._append(side, x)
        self.pos[side] = start + len(x)
        self.last_push[side] = t
        return lost

    def _append(self, side: int, x: np.ndarray) -> None:
        self.pending[side].append(x)
        self.pending_n[side] += len(x)

    def set_lost(self, side: int, lost: bool) -> None:
        self.lost[side] = lost

    def live(self, side: int, now: float) -> bool:
        """Does this side hold the call back (it delivers audio)?"""
        return not self.lost[side] and now - self.last_push[side] <= self.stale_s

    def pop(self, now: float) -> np.ndarray | None:
        """Every frame both sides are known for; None when there is nothing new."""
        live = [side for side in (0, 1) if self.live(side, now)]
        target = min(self.pos[side] for side in live) if live else self._wall_frames(now)
        # bounded memory: a live side never waits more than max_pending for the other
        target = max(target, max(self.pos) - self.max_pending)
        # whole VAD frames only: a partial frame would wait inside the VAD anyway,
        # and each analyzer call has a fixed cost
        target -= target % self.grid
        n = target - self.emitted
        if n <= 0:
            return None
        out = np.zeros((2, n), np.float32)
        for side in (0, 1):
            # a side short of frames is filled with silence; its pos stays behind, so
            # its late frames for this stretch are dropped when they come (see push)
            self.filled[side] += n - self._take(side, out[side], self.emitted)
        self.emitted = target
        return out

    def short_frames(self, now: float, want: int = 0) -> int:
        """Frames the live sides still lack for the next block ``pop`` would give,
        or for the call to reach ``want`` frames if that is further."""
        live = [self.pos[side] for side in (0, 1) if self.live(side, now)]
        if not live:
            return 0
        return max(0, max(self.emitted + self.grid, want) - min(live))

    def _take(self, side: int, row: np.ndarray, first: int) -> int:
        """Copy this side's pending frames in ``[first, first + len(row))`` into ``row``."""
        pend = self.pending[side]
        at = self.pos[side] - self.pending_n[side]  # call frame of the first pending frame
        filled = max(0, at - first)
        copied = 0
        while pend and filled < len(row):
            head = pend[0]
            k = min(len(head), len(row) - filled)
            row[filled : filled + k] = head[:k]
            filled += k
            copied += k
            self.pending_n[side] -= k
            if k == len(head):
                pend.popleft()
            else:
                pend[0] = head[k:]
        return copied
