"""Real rooms, generated: a conversation of synthetic voices, a speaker-and-room
leak, room noise, typing bursts; and speech scored as the evaluation scores it
(10 ms grid, 0.25 s collar around true boundaries, gaps under 0.3 s merged)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from coach.config import Config
from coach.core.pipeline import CallAnalyzer
from tests.support.synth import RATE, pink, voice

Segs = list[list[float]]

CALL_NOISE_DBFS = 20 * math.log10(0.5 / 4)
"""Room noise at 0 dB SNR as the evaluation's call generator makes it: the
calls' speech peaks at 0.5, the noise's std is a quarter of that."""


# -- generated calls -----------------------------------------------------------
def speechy(seconds: float, f0: float, rng: np.random.Generator) -> np.ndarray:
    """Real (espeak-ng) speech: an irregular, speech-like envelope, which a
    periodic synthetic swell is not (every multiple of its period would look
    like the leak's delay)."""
    return 0.8 * voice(seconds, f0, rng)


def conversation(
    duration_s: float, seed: int, backchannels: bool = True
) -> tuple[np.ndarray, dict[str, Segs]]:
    """Turn-taking rep (row 0, 120 Hz voice) and customer (row 1, 210 Hz),
    rep turns 3-8 s, customer turns 5-14 s, with a rep backchannel in long
    customer turns.  Digitally silent between words: add the room yourself."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE)
    x = np.zeros((2, n), np.float32)
    truth: dict[str, Segs] = {"rep": [], "customer": []}

    def put(row: int, a: float, seconds: float, f0: float) -> None:
        v = speechy(seconds, f0, rng)
        i = int(a * RATE)
        m = min(len(v), n - i)
        x[row, i : i + m] += v[:m]
        truth["rep" if row == 0 else "customer"].append([a, a + m / RATE])

    t = 1.0
    while t < duration_s - 6:
        length = float(rng.uniform(3, 8))
        put(0, t, min(length, duration_s - 1 - t), 120.0)
        t += length + float(rng.uniform(0.5, 1.0))
        if t > duration_s - 6:
            break
        length = float(min(rng.uniform(5, 14), duration_s - 1 - t))
        put(1, t, length, 210.0)
        if backchannels and length > 8:
            put(0, t + length / 2, 0.45, 120.0)
        t += length + float(rng.uniform(0.5, 1.0))
    return x, truth


def fftconv(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)
    return y[: len(x)]


def room_leak(
    far: np.ndarray,
    level_db: float,
    delay_ms: float,
    rng: np.random.Generator,
    rt60_s: float = 0.3,
    drr_db: float = 5.0,
) -> np.ndarray:
    """The far end as a laptop mic hears it from the speakers: a small
    speaker (no bass below ~300 Hz, soft clipping), a room (direct sound plus
    an exponentially decaying reverberant tail `drr_db` below it, 60 dB
    down after `rt60_s`), `delay_ms` late, `level_db` relative to the far end."""
    k = RATE // 300
    speaker = -np.ones(k) / k
    speaker[k // 2] += 1.0
    taps = max(1, int(rt60_s * RATE))
    t = np.arange(taps) / RATE
    room = rng.standard_normal(taps) * 10 ** (-3 * t / max(rt60_s, 1e-3))
    room[0] = 0.0
    room *= np.sqrt(10 ** (-drr_db / 10) / max(float(np.sum(room**2)), 1e-12))
    room[0] = 1.0
    y = fftconv(far.astype(np.float64), np.convolve(speaker, room))
    y = np.tanh(3 * y) / 3
    d = int(delay_ms * RATE / 1000)
    y = np.concatenate((np.zeros(d), y[: len(y) - d]))
    ref = np.sqrt(np.mean(far[np.abs(far) > 1e-4] ** 2))
    got = np.sqrt(np.mean(y[np.abs(y) > 1e-6] ** 2))
    return (y / got * ref * 10 ** (level_db / 20)).astype(np.float32)


def typing(
    n: int,
    rng: np.random.Generator,
    keys_per_s: float = 6.0,
    level: float = 0.3,
    decay_ms: float = 1.6,
    release: bool = True,
) -> np.ndarray:
    """Keyboard typing on the mic: bursts of 1-4 s, keystrokes at random
    (exponential gaps), each a noise click decaying in `decay_ms` plus a
    softer release click 60-120 ms later; 1-5 s pauses between bursts.
    Louder and denser than the eval call p3's clicks (0.15 peak, ~1.4/s)."""
    x = np.zeros(n, np.float32)
    t = 0.5
    length = int(decay_ms * RATE / 1000 * 8)
    while t < n / RATE - 1:
        end = t + rng.uniform(1, 4)
        while t < end:
            parts = [(0.0, 1.0)] + ([(rng.uniform(0.06, 0.12), 0.5)] if release else [])
            for offset, gain in parts:
                i = int((t + offset) * RATE)
                if i + length < n:
                    env = np.exp(-np.arange(length) / (decay_ms * RATE / 1000))
                    click = rng.standard_normal(length) * env * level * gain * rng.uniform(0.5, 1.5)
                    x[i : i + length] += click.astype(np.float32)
            t += rng.exponential(1 / keys_per_s)
        t += rng.uniform(1, 5)
    return x


def laptop_call(
    duration_s: float = 90.0,
    seed: int = 1,
    leak_db: float | None = -18.0,
    delay_ms: float = 40.0,
    snr_db: float | None = 25.0,
    keys: bool = False,
    rt60_s: float = 0.3,
) -> tuple[np.ndarray, dict[str, Segs]]:
    """A call with the mic (row 0) as a laptop hears it: the leak (None: a
    headset), room noise (None: none), typing."""
    x, truth = conversation(duration_s, seed)
    rng = np.random.default_rng(seed + 1000)
    n = x.shape[1]
    if leak_db is not None:
        x[0] += room_leak(x[1], leak_db, delay_ms, rng, rt60_s=rt60_s)
    if snr_db is not None:
        x[0] += pink(n / RATE, CALL_NOISE_DBFS - snr_db, rng)
    if keys:
        x[0] += typing(n, rng)
    return np.clip(x, -1, 1), truth


# -- analysis and scoring ----------------------------------------------------------


def config(echo: str = "auto") -> Config:
    c = Config()
    return dataclasses.replace(c, audio=dataclasses.replace(c.audio, echo_cancellation=echo))


def analyze(
    x: np.ndarray, echo: str = "auto", blocks: int | Sequence[int] = 80000
) -> tuple[dict[str, Any], CallAnalyzer]:
    """Run the pipeline on x, cut into blocks (a size, or a cycle of sizes)."""
    analyzer = CallAnalyzer(config(echo))
    sizes = [blocks] if isinstance(blocks, int) else list(blocks)
    i = k = 0
    while i < x.shape[1]:
        step = sizes[k % len(sizes)]
        analyzer.feed(x[:, i : i + step])
        i += step
        k += 1
    analyzer.finish()
    return analyzer.stats(), analyzer


def merge(segs: Sequence[Sequence[float]], gap: float = 0.3) -> Segs:
    out: Segs = []
    for a, b in sorted([list(s) for s in segs]):
        if out and a - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def speech_f1(true: Segs, hyp: Segs, duration_s: float) -> tuple[float, float, float]:
    """shared/eval/score.py's speech F1: 10 ms grid, 0.25 s collar."""
    n = int(duration_s / 0.01) + 1

    def grid(segs: Segs) -> np.ndarray:
        v = np.zeros(n, bool)
        for a, b in segs:
            v[max(0, round(a / 0.01)) : min(n, round(b / 0.01))] = True
        return v

    t, h = grid(true), grid(hyp)
    keep = np.ones(n, bool)
    for a, b in true:
        for edge in (a, b):
            i = round(edge / 0.01)
            keep[max(0, i - 25) : min(n, i + 25)] = False
    tp, fp, fn = (t & h & keep).sum(), (h & ~t & keep).sum(), (t & ~h & keep).sum()
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def score(stats: dict[str, Any], truth: dict[str, Segs], duration_s: float) -> dict[str, Any]:
    """Per side (F1, precision, recall), the talk-ratio error, interruptions."""
    out: dict[str, Any] = {}
    talk = {}
    for side in ("rep", "customer"):
        true = merge(truth[side])
        out[side] = speech_f1(true, merge(stats["speech"][side]), duration_s)
        talk[side] = sum(b - a for a, b in true)
    ratio = talk["rep"] / (talk["rep"] + talk["customer"])
    out["ratio_err"] = abs((stats["talk_ratio"] or 0.0) - ratio)
    out["interruptions"] = stats["interruptions"]
    return out
