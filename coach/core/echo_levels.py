"""One channel's levels for the echo stage: subframe energies, noise floor, running median.

Samples of one side (mic or loopback) in, in blocks of any size; out, per
completed 10 ms subframe, its pre-emphasised energy in integer 0.01 dB (as the
VAD measures it), the tracked noise floor under it, and the running median the
leak detector correlates (key clicks are outliers of one or two subframes).
Integer arithmetic on a fixed grid: the same numbers whatever the block size.
"""

from __future__ import annotations

import numpy as np

from coach.core.leak_detector import sliding
from coach.core.levels import SUBFRAME_SAMPLES, preemphasise, rising_floor, subframe_energies

SUB = SUBFRAME_SAMPLES
SILENCE = -12000  # level of digital silence, 0.01 dB (power 1e-12)
_MED = 5  # the detector's running median (subframes); it delays both sides alike


class ChannelLevels:
    """The levels of one side, measured as its samples come."""

    def __init__(self, preemphasis: np.float32, rise: int, median_from_first: bool) -> None:
        self._pre = preemphasis
        self._rise = rise  # how fast the floor may rise: 0.01 dB per subframe
        # the median's history before the first subframe: that subframe (the mic),
        # or silence (the loopback: nothing played before the call)
        self._median_from_first = median_from_first
        # the samples not yet measured: pieces, joined when measured
        # (a live block is copied once, not the growing rest at every block)
        self.pend: list[np.ndarray] = []
        self.forget()

    def forget(self) -> None:
        """What describes the device (floor, median, last sample) is gone; pending samples stay."""
        self._prev = np.float32(0.0)  # the sample before the pending ones (pre-emphasis)
        self._floor: int | None = None  # 0.01 dB
        self._carry: np.ndarray | None = None  # last 4 of the median's input

    def levels(self, x: np.ndarray) -> np.ndarray:
        """Pre-emphasised energies of the subframes x completes, 0.01 dB, integers."""
        pend = self.pend
        if pend:
            x = np.concatenate((*pend, x))
        n = len(x) // SUB
        self.pend = [x[n * SUB :].copy()] if len(x) > n * SUB else []
        if n == 0:
            return np.zeros(0, np.int64)
        x = x[: n * SUB]
        y = preemphasise(x, self._prev, self._pre)
        self._prev = x[-1]
        power = subframe_energies(y).astype(np.float64) * (1.0 / SUB)
        return np.rint(1000.0 * np.log10(power + 1e-12)).astype(np.int64)

    def median(self, v: np.ndarray) -> np.ndarray:
        """Running median of 5 (the current subframe and the 4 before)."""
        carry = self._carry
        if carry is None:
            carry = np.full(_MED - 1, v[0] if self._median_from_first else SILENCE, np.int64)
        both = np.concatenate((carry, v))
        self._carry = both[-(_MED - 1) :]
        med: np.ndarray = np.sort(sliding(both, _MED), axis=1)[:, _MED // 2]
        return med

    def track_floor(self, e: np.ndarray) -> np.ndarray:
        """floor[k] = min(e[k], floor[k-1] + rise), exactly (integers).

        Digital silence (a muted mic, a loopback with nothing playing) says
        nothing about the room: the floor holds through it (as the VAD's).
        """
        heard = e > SILENCE + 100
        prev = self._floor
        floor = np.full(len(e), SILENCE, np.int64)
        start = 0
        if prev is None:
            if not heard.any():
                return floor  # nothing heard yet
            start = int(np.argmax(heard))
            prev = int(e[start]) - self._rise
        floor[start:] = rising_floor(e[start:], heard[start:], prev, self._rise)
        self._floor = int(floor[-1])
        return floor
