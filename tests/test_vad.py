"""Specification of the per-side VAD (coach/core/vad.py), on synthetic audio only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.types import SAMPLE_RATE_HZ
from coach.core.vad import SideVad
from coach.core.vad_params import VadParams, VadUpdate, end_latency_ms, latency_bound_ms
from coach.errors import CoachError
from tests.support.synth import pink

SR = SAMPLE_RATE_HZ
TOL_MS = 40


# -- synthetic signals ---------------------------------------------------------
def vowel(seconds: float, f0: float = 125.0, level: float = 0.3, seed: int = 0) -> np.ndarray:
    """A voiced-like sound: harmonics of f0 shaped by three formants, with
    vibrato, a 4 Hz syllable-rate swell and 20 ms fades."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / SR
    sig = np.zeros_like(t)
    for h in range(1, int(4000 / f0)):
        fh = h * f0
        amp = 0.05 + sum(
            np.exp(-(((fh - f) / b) ** 2)) for f, b in ((700, 130), (1200, 150), (2600, 250))
        )
        sig += amp / np.sqrt(h) * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.02)
    sig *= fade * (0.75 + 0.25 * np.sin(2 * np.pi * 4 * t))
    return (sig / np.max(np.abs(sig)) * level).astype(np.float32)


def white(seconds: float, dbfs: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (dbfs / 20)).astype(np.float32)


def place(base: np.ndarray, at_s: float, sig: np.ndarray) -> np.ndarray:
    out = base.copy()
    i = int(at_s * SR)
    out[i : i + len(sig)] += sig
    return out


def run(x: np.ndarray, block: int | None = None, params: VadParams | None = None):
    """Feed x in blocks of `block` samples (whole if None); all intervals + updates."""
    vad = SideVad(params or VadParams())
    updates: list[VadUpdate] = []
    step = len(x) if block is None else block
    for i in range(0, len(x), max(step, 1)):
        updates.append(vad.feed(x[i : i + step]))
    updates.append(vad.finish())
    return [iv for u in updates for iv in u.closed], updates


def near(got: tuple[int, int], want: tuple[int, int], tol: int = TOL_MS) -> bool:
    return abs(got[0] - want[0]) <= tol and abs(got[1] - want[1]) <= tol


# a reusable test signal: room noise with a short and a long "utterance"
SPEECHY = place(place(pink(6.0, -55, seed=3), 0.5, vowel(0.4, seed=1)), 2.0, vowel(1.7, f0=180))


# -- what counts as speech -----------------------------------------------------
def test_silence_gives_no_speech() -> None:
    got, ups = run(np.zeros(5 * SR, np.float32), block=320)
    assert got == []
    assert ups[-1].settled_ms == 5000
    assert all(u.open_start_ms is None for u in ups)


def test_one_voiced_sound_is_one_interval() -> None:
    for seconds in (1.0, 1.5, 2.0):
        x = place(white(4.0, -60, seed=1), 1.0, vowel(seconds))
        got, _ = run(x)
        assert len(got) == 1, got
        assert near(got[0], (1000, 1000 + round(seconds * 1000))), got


def test_voiced_sound_in_digital_silence() -> None:
    """The customer loopback is digitally silent between turns."""
    got, _ = run(place(np.zeros(4 * SR, np.float32), 1.0, vowel(1.5)))
    assert len(got) == 1 and near(got[0], (1000, 2500)), got


def test_two_bursts_150_ms_apart_stay_two() -> None:
    """The VAD bridges at most hangover_frames (90 ms); the timeline merges < 300 ms."""
    x = place(place(white(4.0, -60, seed=2), 1.0, vowel(0.6)), 1.75, vowel(0.6, seed=2))
    got, _ = run(x)
    assert len(got) == 2, got
    assert near(got[0], (1000, 1600)) and near(got[1], (1750, 2350)), got


def test_short_gap_within_hangover_is_bridged() -> None:
    x = place(place(white(4.0, -60, seed=2), 1.0, vowel(0.6)), 1.66, vowel(0.6, seed=2))
    got, _ = run(x)
    assert len(got) == 1 and near(got[0], (1000, 2260)), got


@pytest.mark.parametrize(
    "noise",
    [
        white(5.0, -60, seed=4),
        white(5.0, -40, seed=5),
        white(5.0, -20, seed=6),
        pink(5.0, -45, seed=7),
        pink(5.0, -30, seed=8),
    ],
    ids=["white-60", "white-40", "white-20", "pink-45", "pink-30"],
)
def test_steady_noise_is_not_speech(noise: np.ndarray) -> None:
    got, _ = run(noise, block=480)
    assert got == []


def test_noise_bursts_and_clicks_are_not_speech() -> None:
    """A lone 5 ms click (keyboard) is shorter than onset_frames."""
    x = white(4.0, -60, seed=9)
    rng = np.random.default_rng(9)
    for t in (0.5, 1.3, 2.2, 3.1):
        i = int(t * SR)
        x[i : i + 80] += (rng.standard_normal(80) * 0.15 * np.exp(-np.arange(80) / 15)).astype(
            np.float32
        )
    got, _ = run(x)
    assert got == []


def test_quiet_speaker_is_found() -> None:
    """A mic 35 dB too quiet: the AGC boosts what webrtcvad sees."""
    x = place(pink(5.0, -60, seed=10), 1.0, vowel(2.0)) * np.float32(10 ** (-35 / 20))
    got, _ = run(x, block=320)
    assert got, "quiet speech lost"
    assert near((got[0][0], got[-1][1]), (1000, 3000), tol=60), got
    assert sum(e - s for s, e in got) >= 1800


def test_speech_at_a_normal_level_is_not_boosted() -> None:
    vad = SideVad()
    vad.feed(SPEECHY)
    assert vad._webrtc.boost_db == 0.0


def test_finish_closes_open_speech() -> None:
    x = place(white(3.0, -60, seed=11), 2.0, vowel(1.0))
    vad = SideVad()
    u = vad.feed(x)
    assert u.closed == []
    assert u.open_start_ms is not None and abs(u.open_start_ms - 2000) <= TOL_MS
    assert u.settled_ms >= 3000 - latency_bound_ms(vad.params)
    end = vad.finish()
    assert end.open_start_ms is None and end.settled_ms == 3000
    assert len(end.closed) == 1 and near(end.closed[0], (2000, 3000)), end


def test_speech_in_progress_is_reported_open() -> None:
    vad = SideVad()
    u = vad.feed(SPEECHY[: int(3.0 * SR)])  # inside the long sound (2.0-3.7 s)
    assert u.open_start_ms is not None and abs(u.open_start_ms - 2000) <= TOL_MS
    assert u.open_start_ms < u.settled_ms <= 3000
    assert [near(iv, (500, 900)) for iv in u.closed] == [True]


def test_empty_and_odd_blocks() -> None:
    vad = SideVad()
    assert vad.feed(np.zeros(0, np.float32)) == VadUpdate([], 0, None)
    u = vad.feed(np.zeros(7, np.float32))
    assert u.closed == [] and u.settled_ms == 0
    assert vad.finish().settled_ms == 0  # 7 samples: under 1 ms


def test_float64_input_is_accepted() -> None:
    a, _ = run(SPEECHY)
    b, _ = run(SPEECHY.astype(np.float64))
    assert a == b


def test_out_of_range_samples_are_clipped_not_wrapped() -> None:
    got, _ = run(SPEECHY * np.float32(3.0))
    assert len(got) == 2


@pytest.mark.parametrize(
    "bad",
    [np.zeros(10, np.int16), np.zeros((10, 2), np.float32)],
    ids=["int16", "stereo"],
)
def test_bad_blocks_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(CoachError):
        SideVad().feed(bad)


def test_no_feed_after_finish() -> None:
    vad = SideVad()
    vad.finish()
    with pytest.raises(CoachError):
        vad.feed(np.zeros(10, np.float32))
    with pytest.raises(CoachError):
        vad.finish()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": 4},
        {"frame_ms": 25},
        {"onset_frames": 0},
        {"hangover_frames": 10},
        {"edge_db": 12.0},
        {"tail_db": 1.0},
        {"lookback_ms": 15},
        {"lookback_ms": -10},
        {"preemphasis": 1.0},
    ],
)
def test_bad_params_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(CoachError):
        VadParams(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_every_frame_length_works(frame_ms: int) -> None:
    got, _ = run(SPEECHY, block=333, params=VadParams(frame_ms=frame_ms))
    assert len(got) == 2
    assert near(got[0], (500, 900), tol=50) and near(got[1], (2000, 3700), tol=50), got


# -- the stream contract -------------------------------------------------------
def check_stream(x: np.ndarray, cuts: list[int], params: VadParams) -> list[tuple[int, int]]:
    """Feed x cut at `cuts`; check every invariant of the updates; return intervals."""
    vad = SideVad(params)
    bound, end_bound = latency_bound_ms(params), end_latency_ms(params)
    fed = 0
    settled = 0
    last_end = 0
    open_start: int | None = None
    out: list[tuple[int, int]] = []
    edges = [0, *sorted(set(cuts)), len(x)]
    blocks = [x[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    for i, block in enumerate([*blocks, None]):
        before_ms = fed * 1000 // SR
        if block is None:
            u = vad.finish()
        else:
            fed += len(block)
            u = vad.feed(block)
        fed_ms = fed * 1000 // SR
        if block is not None:  # reported by the block that brings the frame that tells
            new_start = u.open_start_ms if u.open_start_ms != open_start else None
            for s in [s for s, _ in u.closed if s != open_start] + [new_start]:
                assert s is None or before_ms < s + bound, (i, before_ms, u)
            for _, e in u.closed:
                assert before_ms < e + end_bound, (i, before_ms, u, end_bound)
        for s, e in u.closed:
            assert s < e, u
            assert s >= last_end, (out, u)
            # nothing closes before what was settled, except the open interval
            assert s >= settled or s == open_start, (settled, open_start, u)
            last_end = e
            out.append((s, e))
        assert settled <= u.settled_ms <= fed_ms, (i, settled, u, fed_ms)
        assert u.settled_ms >= fed_ms - bound, (i, u, fed_ms, bound)
        if u.open_start_ms is not None:
            assert last_end <= u.open_start_ms < u.settled_ms, u
        settled, open_start = u.settled_ms, u.open_start_ms
    assert settled == fed_ms
    assert open_start is None
    return out


def busy_signal(seed: int) -> np.ndarray:
    """Noise with randomly placed voiced sounds of random length and pitch."""
    rng = np.random.default_rng(seed)
    x = pink(5.0, float(rng.uniform(-65, -40)), seed=seed)
    t = float(rng.uniform(0.0, 0.4))
    while t < 4.6:
        d = float(rng.uniform(0.1, 1.0))
        x = place(x, t, vowel(min(d, 4.9 - t), f0=float(rng.uniform(90, 250)), seed=seed))
        t += d + float(rng.uniform(0.05, 0.6))
    return x


BUSY = [busy_signal(s) for s in range(4)]
WHOLE = [run(x)[0] for x in BUSY]


@settings(max_examples=40, deadline=None)
@given(
    which=st.integers(0, len(BUSY) - 1),
    cuts=st.lists(st.integers(0, 5 * SR), max_size=40),
)
def test_block_size_independence(which: int, cuts: list[int]) -> None:
    """The intervals are the same whatever the block sizes; every update is sound."""
    got = check_stream(BUSY[which], cuts, VadParams())
    assert got == WHOLE[which]


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    block=st.sampled_from([17, 160, 320, 333, 480, 1024, 16000]),
    frame_ms=st.sampled_from([10, 20, 30]),
)
def test_invariants_on_random_calls(seed: int, block: int, frame_ms: int) -> None:
    x = busy_signal(seed)
    params = VadParams(frame_ms=frame_ms)
    got = check_stream(x, list(range(block, len(x), block)), params)
    assert got == run(x, params=params)[0]


def test_live_sized_blocks_match_whole_file() -> None:
    for x, whole in zip(BUSY, WHOLE, strict=True):
        assert run(x, block=320)[0] == whole


@pytest.mark.parametrize("block", [160, 320, 640, 1440])
def test_live_blocks_match_whole_file_when_boosted_or_clipped(block: int) -> None:
    """Live blocks go frame by frame (SideVad._frame): the AGC's boost and the
    clipping of out-of-range samples there are those of the whole file."""
    quiet = place(pink(5.0, -60, seed=10), 1.0, vowel(2.0)) * np.float32(10 ** (-35 / 20))
    for x in (quiet, SPEECHY * np.float32(3.0), np.concatenate([np.zeros(SR, np.float32), quiet])):
        whole, _ = run(x)
        assert whole
        assert run(x, block=block)[0] == whole


def test_latency_of_settled_is_small() -> None:
    """While someone speaks steadily, settled_ms trails the audio by < 2 frames."""
    vad = SideVad()
    x = place(white(4.0, -60, seed=12), 0.5, vowel(3.0))
    lags = []
    for i in range(0, len(x), 320):
        u = vad.feed(x[i : i + 320])
        t_ms = (i + 320) * 1000 // SR
        if 800 <= t_ms <= 3300:
            lags.append(t_ms - u.settled_ms)
    assert max(lags) < 2 * vad.params.frame_ms + vad.params.frame_ms, max(lags)
    assert latency_bound_ms(VadParams()) <= 180
