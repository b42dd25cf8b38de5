"""Synthetic two-channel calls for tests: voiced, speech-like bursts in quiet noise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000


def voice(seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal (webrtcvad hears it as speech)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)) ** 2
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    # a 120 ms breath every 2.5 s, as in real speech (shorter than the merge gap)
    breaths = ((t % 2.5) < 2.38) | (t < 0.2) | (t > seconds - 0.2)
    return (0.25 * x * syllables * ramp * breaths).astype(np.float32)


def pink(seconds: float, dbfs: float, seed: int | np.random.Generator) -> np.ndarray:
    """Room-like noise, mostly low frequencies (as in the evaluation's calls), at
    ``dbfs`` RMS; ``seed`` an int or a generator to draw from."""
    rng = np.random.default_rng(seed)
    p = np.cumsum(rng.standard_normal(round(seconds * RATE)))
    p -= np.convolve(p, np.ones(800) / 800, "same")
    return (p / (np.std(p) + 1e-12) * 10 ** (dbfs / 20)).astype(np.float32)


def tone(
    rate: int, seconds: float, burst: tuple[float, float, float], seed: int, amp: float = 0.5
) -> np.ndarray:
    """A faint seeded noise floor with one sine burst (start s, end s, Hz) of ``amp``."""
    n = round(seconds * rate)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 1e-4
    start, end, hz = burst
    a, b = round(start * rate), round(end * rate)
    t = np.arange(b - a) / rate
    x[a:b] += amp * np.sin(2 * np.pi * hz * t)
    return x.astype(np.float32)


def make_call(
    duration_s: float,
    rep: Sequence[tuple[float, float]],
    customer: Sequence[tuple[float, float]],
    seed: int = 7,
    noise_dbfs: float = -65.0,
) -> np.ndarray:
    """``(2, n)`` float32: rep voice on row 0, customer voice on row 1, in room noise."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE)
    x = (rng.standard_normal((2, n)) * 10 ** (noise_dbfs / 20)).astype(np.float32)
    for row, segs, f0 in ((0, rep, 120.0), (1, customer, 210.0)):
        for a, b in segs:
            i = int(a * RATE)
            v = voice(b - a, f0, rng)
            x[row, i : i + len(v)] += v[: n - i]
    return x


def write_call(path: Path, call: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> Path:
    data = call.T
    if rate != RATE:
        import soxr

        data = soxr.resample(data, RATE, rate)
    sf.write(path, data, rate, subtype=subtype)
    return path
