"""Synthetic two-channel calls for tests: voiced, speech-like bursts in quiet noise."""

from __future__ import annotations

import functools
import io
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from coach.core.types import SAMPLE_RATE_HZ

RATE = SAMPLE_RATE_HZ


_TEXT = (
    "so the thing we keep running into is that every team plans its own work "
    "and nobody sees the whole picture until the end of the quarter when the "
    "numbers come in and then we spend weeks working out what really happened "
    "and why the forecast was off again by so much "
)


@functools.cache
def _espeak(voice_name: str) -> np.ndarray:
    """A minute of continuous espeak-ng speech (no punctuation: no long pauses), at 16 kHz."""
    out = subprocess.run(
        ["espeak-ng", "-v", voice_name, "-s", "165", "--stdout", _TEXT * 4],
        capture_output=True,
        check=True,
    ).stdout
    x, rate = sf.read(io.BytesIO(out), dtype="float32")
    import soxr

    x = soxr.resample(x, rate, RATE).astype(np.float32)
    return x / np.max(np.abs(x))


def voice(seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    """Speech (espeak-ng) filling ``seconds``: a low voice for f0 < 160 Hz, else a high one.

    Real speech, so every speech detector hears it; the pauses between its words
    are far shorter than the contract's 0.3 s merge gap, so it is one segment.
    """
    src = _espeak("en-us" if f0 < 160 else "en-us+f3")
    n = int(seconds * RATE)
    start = int(rng.integers(0, len(src) // 2))
    reps = -(-(start + n) // len(src))
    x = np.tile(src, reps)[start : start + n].copy()
    t = np.arange(n) / RATE
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    return (0.25 * x * ramp).astype(np.float32)


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


def near(
    got: Sequence[Sequence[float]], want: Sequence[Sequence[float]], tol_s: float = 0.2
) -> bool:
    """Whether speech segments match within ``tol_s`` at every edge: a detector
    reports on its own frame grid (32 ms for the neural one) and its probability
    decays a few windows after a voice ends."""
    return len(got) == len(want) and all(
        abs(a - c) <= tol_s and abs(b - d) <= tol_s
        for (a, b), (c, d) in zip(got, want, strict=True)
    )
