"""Signal levels both detectors measure: pre-emphasis, 10 ms subframe powers, the noise floor.

The VAD (per side) and the leak gate (mic against loopback) judge speech against
the same kind of noise floor, on the same pre-emphasised signal: one
implementation of each, so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from coach.core.types import SAMPLE_RATE_HZ

SUBFRAME_SAMPLES = SAMPLE_RATE_HZ // 100
"""A 10 ms subframe: the grid of the levels, the gate and the truth labels."""
_NEVER_QUIET = np.iinfo(np.int64).max // 4  # what an unheard entry offers the floor: nothing


def preemphasise(x: np.ndarray, prev: np.float32, pre: np.float32) -> np.ndarray:
    """``y[k] = x[k] - pre * x[k-1]`` (``prev``: the sample before ``x``), float32.

    Room noise is mostly below 200 Hz; after this the levels see the speech band.
    """
    y = np.empty_like(x)
    if pre:
        np.multiply(x[:-1], pre, out=y[1:])
        y[0] = prev * pre
        np.subtract(x, y, out=y)
    else:
        y[:] = x
    return y


def subframe_energies(y: np.ndarray) -> np.ndarray:
    """The sum of squares of each whole 10 ms subframe of ``y`` (float32)."""
    rows = y.reshape(-1, SUBFRAME_SAMPLES)
    energies: np.ndarray = np.einsum("ij,ij->i", rows, rows)
    return energies


def rising_floor(levels: np.ndarray, heard: np.ndarray, prev: int, rise: int) -> np.ndarray:
    """A noise floor that drops at once to any quieter level and rises by ``rise`` a step.

    ``floor[k] = min(levels[k], floor[k-1] + rise)`` where ``heard[k]``, else
    ``floor[k-1]`` (digital silence says nothing about the room: the floor
    holds through it), from ``floor[-1] = prev``; exact, in integers (0.01 dB),
    so the floor is the same whatever the block sizes.
    """
    ramp = rise * np.cumsum(heard, dtype=np.int64)
    quiet = np.where(heard, levels, _NEVER_QUIET)
    floor: np.ndarray = ramp + np.minimum(prev, np.minimum.accumulate(quiet - ramp))
    return floor
