"""The neural speech detector (``vad.backend = "silero"``): real speech, any level,
any block size, in audio time.

Speech here is espeak-ng's (tests/support/synth.py): a detector trained on people hears
it, where it rightly ignores a synthetic harmonic tone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.silero_vad import WINDOW, WINDOW_MS, SileroParams, SileroVad
from coach.errors import CoachError
from tests.support.synth import RATE, voice

Segs = list[tuple[int, int]]


def speech(seconds: float, dbfs: float, seed: int = 1, f0: float = 120.0) -> np.ndarray:
    """Speech at an active level of ``dbfs`` (RMS over the voice)."""
    x = voice(seconds, f0, np.random.default_rng(seed)).astype(np.float64)
    loud = np.abs(x) > 1e-3
    rms = np.sqrt(np.mean(x[loud] ** 2))
    return (x * 10 ** (dbfs / 20) / rms).astype(np.float32)


def room(seconds: float, dbfs: float, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 10 ** (dbfs / 20)).astype(np.float32)


def run(x: np.ndarray, cuts: list[int] | None = None, params: SileroParams | None = None) -> Segs:
    vad = SileroVad(params or SileroParams())
    out: Segs = []
    edges = [0, *sorted(set(cuts or [])), len(x)]
    for a, b in zip(edges, edges[1:], strict=False):
        out += vad.feed(x[a:b]).closed
    return out + vad.finish().closed


def merged_ms(segs: Segs, gap_ms: int = 300) -> Segs:
    out: list[list[int]] = []
    for s, e in segs:
        if out and s - out[-1][1] < gap_ms:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def covered_ms(segs: Segs, a_ms: int, b_ms: int) -> int:
    return sum(max(0, min(e, b_ms) - max(s, a_ms)) for s, e in segs)


def test_silence_and_room_noise_are_not_speech() -> None:
    assert run(np.zeros(5 * RATE, np.float32)) == []
    assert run(room(8.0, -50.0)) == []


@pytest.mark.parametrize("dbfs", [-15.0, -30.0, -45.0])
def test_speech_is_found_at_any_level_from_minus_45_dbfs(dbfs: float) -> None:
    x = np.concatenate([room(1.0, dbfs - 30), speech(4.0, dbfs), room(1.0, dbfs - 30)])
    x[len(x) - RATE :] += 0  # the room continues after the voice
    got = merged_ms(run(x + room(len(x) / RATE, dbfs - 30, seed=5)))
    assert covered_ms(got, 1000, 5000) >= 0.9 * 4000, got
    assert covered_ms(got, 0, 800) == 0 and covered_ms(got, 5300, 6000) == 0, got


@pytest.mark.parametrize("dbfs", [-30.0, -45.0])
def test_speech_in_steady_noise_at_5_db_snr_is_found(dbfs: float) -> None:
    """At any level: the model, not an energy or level threshold, decides."""
    x = np.concatenate([np.zeros(2 * RATE, np.float32), speech(5.0, dbfs)])
    x += room(len(x) / RATE, dbfs - 5.0)
    got = merged_ms(run(x))
    assert covered_ms(got, 2000, 7000) >= 0.85 * 5000, got
    assert covered_ms(got, 0, 1800) == 0, got


def test_a_minute_of_speech_without_a_pause_is_found_the_whole_way() -> None:
    """No noise floor may climb onto speech that never pauses."""
    x = speech(60.0, -30.0, seed=3) + room(60.0, -65.0)
    got = merged_ms(run(x))
    assert covered_ms(got, 0, 60_000) >= 0.95 * 60_000, got
    assert covered_ms(got, 50_000, 60_000) >= 0.95 * 10_000, got


def test_a_voice_from_the_first_sample_is_found_from_its_first_100_ms() -> None:
    x = speech(3.0, -25.0, seed=4)
    got = run(np.concatenate([x, np.zeros(RATE, np.float32)]))
    assert got and got[0][0] <= 100, got


def test_clicks_do_not_hold_a_turn_open() -> None:
    """A keystroke after a sentence: loud, but gone within a few ms."""
    x = np.concatenate([speech(3.0, -25.0, seed=6), np.zeros(3 * RATE, np.float32)])
    rng = np.random.default_rng(7)
    clicks = x.copy()
    for t in np.arange(3.2, 5.5, 0.15):
        i = int(t * RATE)
        clicks[i : i + 64] += (rng.standard_normal(64) * 0.3 * np.exp(-np.arange(64) / 24)).astype(
            np.float32
        )
    plain, typed = merged_ms(run(x)), merged_ms(run(clicks))
    assert len(typed) == len(plain) == 1
    assert typed[0][1] <= plain[0][1] + 2 * WINDOW_MS


def test_only_the_reps_own_energy_counts_where_the_far_end_leaks() -> None:
    """Leak powers from the echo stage (one per 10 ms subframe): speech that
    does not rise above them is the far end, heard through the speakers."""
    voice_x = speech(4.0, -30.0, seed=8)
    x = np.concatenate([voice_x, np.zeros(RATE, np.float32)])
    pre = np.concatenate([[0.0], x[:-1]]) * 0.97
    sub = ((x - pre) ** 2)[: len(x) // 160 * 160].reshape(-1, 160).mean(axis=1)
    loud_leak = sub.max() * 10.0 * np.ones_like(sub)  # everything within the leak
    vad = SileroVad()
    assert vad.feed(x, loud_leak).closed + vad.finish().closed == []
    vad = SileroVad()
    heard = vad.feed(x, np.zeros_like(sub)).closed + vad.finish().closed
    assert merged_ms(heard) == merged_ms(run(x))


def small_call() -> np.ndarray:
    """Three turns in a quiet room: 0.7-3.2 s, 4.4-4.8 s (a short one) and
    5.3-8.3 s (12 dB quieter), 9.2 s in all."""
    x = room(9.2, -60.0)
    for at_s, seconds, dbfs, seed, f0 in (
        (0.7, 2.5, -28.0, 9, 120.0),
        (4.4, 0.4, -28.0, 10, 210.0),
        (5.3, 3.0, -40.0, 11, 120.0),
    ):
        i = int(at_s * RATE)
        v = speech(seconds, dbfs, seed=seed, f0=f0)
        x[i : i + len(v)] += v
    return x


SPEECHY = small_call()


def test_the_turns_of_a_small_call() -> None:
    got = merged_ms(run(SPEECHY))
    want = [(700, 3200), (4400, 4800), (5300, 8300)]
    assert len(got) == len(want), got
    for (s, e), (ws, we) in zip(got, want, strict=True):
        assert abs(s - ws) <= 200 and abs(e - we) <= 200, (
            got
        )  # the model ramps up over a few windows


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, len(SPEECHY) - 1), max_size=30))
def test_any_block_sizes_give_the_same_turns(cuts: list[int]) -> None:
    assert run(SPEECHY, cuts) == run(SPEECHY)


def test_live_sized_blocks_give_the_same_turns() -> None:
    assert run(SPEECHY, list(range(320, len(SPEECHY), 320))) == run(SPEECHY)


def test_settled_time_trails_the_audio_by_at_most_the_latency_bound() -> None:
    params = SileroParams()
    vad = SileroVad(params)
    fed = 0
    for a in range(0, len(SPEECHY), 320):
        up = vad.feed(SPEECHY[a : a + 320])
        fed += len(SPEECHY[a : a + 320])
        assert fed * 1000 // RATE - up.settled_ms <= params.latency_bound_ms()


def test_a_speech_end_is_reported_within_the_end_latency() -> None:
    params = SileroParams()
    (first, *_) = run(SPEECHY)
    vad = SileroVad(params)
    end_samples = first[1] * RATE // 1000 + params.end_latency_ms() * RATE // 1000
    closed = vad.feed(SPEECHY[:end_samples]).closed
    assert closed and closed[0] == first


def test_the_frame_is_one_model_window() -> None:
    assert SileroParams().frame_ms == WINDOW_MS == WINDOW * 1000 // RATE


@pytest.mark.parametrize(
    "kwargs",
    [
        {"on_threshold": 0.2, "off_threshold": 0.5},
        {"off_threshold": 0.0},
        {"hangover_windows": 10},
        {"min_windows": 0},
        {"own_quarters": 5},
    ],
)
def test_bad_params_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(CoachError):
        SileroParams(**kwargs)  # type: ignore[arg-type]


def test_bad_blocks_are_refused() -> None:
    with pytest.raises(CoachError):
        SileroVad().feed(np.zeros((2, 10), np.float32))
    with pytest.raises(CoachError):
        SileroVad().feed(np.zeros(10, np.int16))
    vad = SileroVad()
    vad.finish()
    with pytest.raises(CoachError):
        vad.feed(np.zeros(10, np.float32))


def test_the_model_writes_nothing_anywhere(tmp_path: Path) -> None:
    """onnxruntime's telemetry would leave a device id in ~/.cache and a session
    file in $TMPDIR; the detector turns it off before the runtime starts."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    code = (
        "import numpy as np\n"
        "from coach.core.silero_vad import SileroVad\n"
        "v = SileroVad(); v.feed(np.zeros(16000, np.float32)); v.finish()\n"
    )
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
