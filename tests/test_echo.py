"""The mic side's leak detector and gate (coach/core/echo.py), and the VAD's leak input.

Generated audio only (tests/support/rooms.py builds the calls).  The
pipeline-level targets (speech F1, interruptions) are in test_real_rooms.py;
here: what the gate measures, that it is exact whatever the block sizes,
what it holds back and for how long, the modes, and SideVad's `leak`.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.echo import SUB, EchoParams, LeakGate
from coach.core.vad import SideVad
from coach.errors import CoachError
from tests.support.rooms import CALL_NOISE_DBFS, analyze, conversation, laptop_call, merge, typing
from tests.support.synth import RATE, pink


def run_gate(
    x: np.ndarray, sizes: list[int] | int = 80000, mode: str = "auto"
) -> tuple[LeakGate, np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Feed x (rows mic, loop) in blocks; the released mic, the leak powers of
    every subframe (0 where not gated), and (fed, released) after each block."""
    gate = LeakGate(mode)
    sizes = [sizes] if isinstance(sizes, int) else sizes
    mics, leaks, progress = [], [], []
    fed = released = 0
    i = k = 0

    def take(mic: np.ndarray, leak: np.ndarray | None) -> None:
        nonlocal released
        before = released // SUB
        released += len(mic)
        mics.append(mic.copy())
        count = released // SUB - before
        assert leak is None or leak.shape == (count,)
        leaks.append(np.zeros(count) if leak is None else leak)

    while i < x.shape[1]:
        step = sizes[k % len(sizes)]
        m, lk = gate.feed(x[0, i : i + step], x[1, i : i + step])
        fed += len(x[0, i : i + step])
        take(m, lk)
        progress.append((fed, released))
        i += step
        k += 1
    take(*gate.flush())
    return gate, np.concatenate(mics), np.concatenate(leaks), progress


def plain_leak(far: np.ndarray, level_db: float, delay_ms: int) -> np.ndarray:
    """The far end, delayed and scaled: no speaker, no room."""
    d = delay_ms * RATE // 1000
    out = np.zeros_like(far)
    out[d:] = far[: len(far) - d] * np.float32(10 ** (level_db / 20))
    return out


# -- what it measures --------------------------------------------------------------
@pytest.mark.parametrize("delay_ms", [0, 10, 50, 130, 250, 300])
@pytest.mark.parametrize("level_db", [-12, -25])
def test_measures_delay_and_coupling(delay_ms: int, level_db: float) -> None:
    x, _ = conversation(60, seed=delay_ms + 1)
    x[0] += plain_leak(x[1], level_db, delay_ms) + pink(x.shape[1] / RATE, CALL_NOISE_DBFS - 35, 1)
    gate, _, _, _ = run_gate(x)
    assert gate.detected and gate.engaged
    assert gate.delay_ms is not None and abs(gate.delay_ms - delay_ms) <= 10
    assert gate.coupling_db is not None and abs(gate.coupling_db - level_db) <= 1.5
    assert gate.correlation > 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("snr_db", [10, 20, None])
def test_headset_calls_never_engage(seed: int, snr_db: float | None) -> None:
    """Backchannels and talking over each other, typing, noise: no leak, no gate."""
    x, _ = laptop_call(leak_db=None, snr_db=snr_db, keys=seed == 2, seed=seed)
    for i in range(int(20 * RATE), int(26 * RATE), int(1.5 * RATE)):  # double talk
        x[0, i : i + 8000] += x[1, i : i + 8000][::-1]
    gate, mic, leak, _ = run_gate(x)
    assert not gate.detected and not gate.gating
    assert not leak.any()
    assert np.array_equal(mic, x[0])


def test_releases_when_the_leak_goes_away() -> None:
    """Speakers for the first minute, then a headset: the gate lets go."""
    x, _ = conversation(180, seed=4)
    half = 60 * RATE
    x[0, :half] += plain_leak(x[1], -15, 60)[:half]
    gate, _, leak, _ = run_gate(x)
    assert gate.detected and not gate.engaged
    subs = np.arange(len(leak)) / 100
    assert leak[subs < 55].any() and not leak[subs > 120].any()


def test_engages_when_the_leak_appears_mid_call() -> None:
    x, _ = conversation(150, seed=5)
    later = 60 * RATE
    x[0, later:] += plain_leak(x[1], -15, 60)[later:]
    gate, _, leak, _ = run_gate(x)
    assert gate.engaged
    subs = np.arange(len(leak)) / 100
    assert not leak[subs < 60].any() and leak[subs > 90].any()


@pytest.mark.parametrize("leaky", [True, False])
def test_digital_silence_between_words(leaky: bool) -> None:
    """A virtual mic and an idle loopback are exact zeros between words: the
    floors hold through them, and the answer is the same in any blocks."""
    x, _ = conversation(40, seed=22)
    if leaky:
        x[0] += plain_leak(x[1], -20, 30)
    whole, _, leak, _ = run_gate(x, x.shape[1])
    assert whole.detected == leaky
    assert np.array_equal(run_gate(x, 320)[2], leak)


# -- exact, whatever the blocks ----------------------------------------------------------
@functools.cache
def _call_and_whole(leaky: bool) -> tuple[np.ndarray, tuple]:
    x, _ = laptop_call(duration_s=40, leak_db=-16 if leaky else None, keys=True, seed=9)
    return x, run_gate(x, x.shape[1])


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(1, 20000), min_size=1, max_size=8), st.booleans())
def test_block_size_independent(sizes: list[int], leaky: bool) -> None:
    """The released mic is the input, and every subframe's leak power is the
    same, whether the call comes whole or in blocks of any sizes."""
    x, whole = _call_and_whole(leaky)
    if sum(sizes) < 2000:  # tiny blocks: a few seconds are enough
        x = x[:, : 8 * RATE]
        whole = run_gate(x, x.shape[1])
    cut = run_gate(x, sizes)
    assert np.array_equal(whole[1], x[0]) and np.array_equal(cut[1], x[0])
    assert np.array_equal(whole[2], cut[2])
    assert whole[0].detected == cut[0].detected
    assert whole[0].detected == leaky or x.shape[1] < 40 * RATE
    assert whole[0].delay_ms == cut[0].delay_ms and whole[0].coupling_db == cut[0].coupling_db


def test_live_blocks_give_the_same_gate() -> None:
    x, _ = laptop_call(duration_s=60, leak_db=-20, delay_ms=150, seed=10)
    assert np.array_equal(run_gate(x, 320)[2], run_gate(x, x.shape[1])[2])


# -- holding back, latency ---------------------------------------------------------------
def test_holds_back_only_while_undecided_and_at_most_hold_ms() -> None:
    """Before the detector has decided, mic audio from when the far end turns
    active is held (<= hold_ms); afterwards it goes straight through."""
    x, truth = laptop_call(duration_s=60, leak_db=-18, seed=12)
    hold = EchoParams().hold_ms * RATE // 1000
    gate, _, _, progress = run_gate(x, 320)
    lags = np.array([fed - rel for fed, rel in progress])
    assert lags.max() <= hold + SUB
    assert lags.max() >= 0.3 * RATE  # it did hold, while deciding
    first_customer = truth["customer"][0][0]
    late = np.array([fed for fed, _ in progress]) > (first_customer + 5) * RATE
    assert lags[late].max() < SUB  # engaged: gated block by block, nothing held


def test_headset_call_holds_only_briefly_then_never() -> None:
    """Until the detector has decided, the mic goes on at its hop boundaries
    (and is held while the far end is active); once it has, straight away."""
    x, truth = laptop_call(duration_s=60, leak_db=None, seed=13)
    _, _, _, progress = run_gate(x, 320)
    lags = np.array([fed - rel for fed, rel in progress])
    fed = np.array([f for f, _ in progress])
    hop = EchoParams().hop_ms * RATE // 1000
    assert lags[fed < truth["customer"][0][0] * RATE].max() < hop + SUB
    assert lags[fed > (truth["customer"][0][0] + 4) * RATE].max() < SUB


def test_the_customers_first_words_are_gated_too() -> None:
    """The hold lets the gate catch the leak of the words that revealed it."""
    x, truth = laptop_call(duration_s=60, leak_db=-14, delay_ms=100, seed=14)
    stats, _ = analyze(x, blocks=320)
    first = truth["customer"][0]
    rep = [s for s in merge(stats["speech"]["rep"]) if s[0] < first[1] and first[0] < s[1]]
    true_rep = [s for s in merge(truth["rep"]) if s[0] < first[1] and first[0] < s[1]]
    assert len(rep) == len(true_rep)  # the backchannel, if any; nothing else


# -- modes --------------------------------------------------------------------------
def test_mode_on_gates_from_the_start_and_auto_waits() -> None:
    x, truth = laptop_call(duration_s=40, leak_db=-18, seed=15)
    on, _, leak_on, _ = run_gate(x, mode="on")
    auto, _, leak_auto, _ = run_gate(x)
    first = int(truth["customer"][0][0] * 100)
    assert on.gating and leak_on[first : first + 20].any()
    assert auto.gating and leak_auto.any()
    with pytest.raises(CoachError):
        LeakGate("off")
    with pytest.raises(CoachError):
        EchoParams(engage_corr=0.2, release_corr=0.3)


def test_feed_checks_its_input() -> None:
    gate = LeakGate()
    with pytest.raises(CoachError):
        gate.feed(np.zeros(10, np.float32), np.zeros(11, np.float32))
    with pytest.raises(CoachError):
        gate.feed(np.zeros((2, 10), np.float32), np.zeros((2, 10), np.float32))
    mic, leak = gate.feed(np.zeros(0, np.float32), np.zeros(0, np.float32))
    assert len(mic) == 0 and leak is None


def test_trace_records_decisions() -> None:
    x, _ = laptop_call(duration_s=30, leak_db=-15, seed=16)
    gate = LeakGate()
    gate.trace = []
    gate.feed(x[0], x[1])
    assert gate.trace and gate.trace[-1][6] is True
    t, r, low, sharp, lag_ms, coupling, engaged, n = gate.trace[-1]
    assert low <= r and 0 <= lag_ms <= 300 and n > 0


# -- the VAD's leak input ---------------------------------------------------------------
def _vad(x: np.ndarray, leak: np.ndarray | None, sizes: list[int]) -> list[tuple[int, int]]:
    vad = SideVad()
    out: list[tuple[int, int]] = []
    i = k = 0
    while i < len(x):
        step = sizes[k % len(sizes)]
        part = None
        if leak is not None:
            part = leak[i // SUB : (i + len(x[i : i + step])) // SUB]
        out += vad.feed(x[i : i + step], part).closed
        i += step
        k += 1
    return out + vad.finish().closed


def test_vad_zero_leak_is_no_leak() -> None:
    x, _ = laptop_call(duration_s=30, leak_db=None, keys=True, seed=17)
    mic = x[0]
    zeros = np.zeros(len(mic) // SUB)
    assert _vad(mic, zeros, [4801, 333]) == _vad(mic, None, [len(mic)])


def test_vad_leak_is_block_size_independent() -> None:
    x, _ = laptop_call(duration_s=40, leak_db=-15, seed=18)
    _, mic, leak, _ = run_gate(x)
    whole = _vad(mic, leak, [len(mic)])
    assert _vad(mic, leak, [320]) == whole
    assert _vad(mic, leak, [7, 1000, 479, 161]) == whole


def test_vad_speech_must_rise_above_the_leak() -> None:
    x, _ = conversation(20, seed=19)
    mic = x[0] + pink(x.shape[1] / RATE, CALL_NOISE_DBFS - 30, 2)
    n = len(mic) // SUB
    assert _vad(mic, None, [len(mic)])
    assert _vad(mic, np.full(n, 1.0), [len(mic)]) == []  # everything within the "leak"
    assert _vad(mic, np.full(n, 1e-12), [len(mic)]) == _vad(mic, None, [len(mic)])


def test_vad_rejects_a_wrong_number_of_leak_powers() -> None:
    vad = SideVad()
    with pytest.raises(CoachError):
        vad.feed(np.zeros(480, np.float32), np.zeros(2))


def test_vad_ignores_typing_alone() -> None:
    """Dense, loud typing on a quiet mic: no speech at all."""
    rng = np.random.default_rng(20)
    n = 60 * RATE
    mic = pink(n / RATE, CALL_NOISE_DBFS - 30, rng) + typing(n, rng, keys_per_s=8.0, decay_ms=3.0)
    assert _vad(np.clip(mic, -1, 1), None, [n]) == []


def test_says_where_the_mic_goes_on_next() -> None:
    """``next_release_samples``: while it names a sample count, a block that
    ends before it releases nothing (one that reaches it may release what is
    not held); None: the block goes straight through. A live loop feeds just
    there (coach/core/pipeline.py)."""
    x, _ = laptop_call(duration_s=40, leak_db=None, seed=13)
    gate, fed, released, block = LeakGate("auto"), 0, 0, 480
    waits = straight = at_hops = 0
    while fed + block <= x.shape[1]:
        at = gate.next_release_samples()
        mic, _ = gate.feed(x[0, fed : fed + block], x[1, fed : fed + block])
        fed += block
        if at is None:
            straight += 1
            assert released + len(mic) == fed
        elif fed < at:
            waits += 1
            assert len(mic) == 0
        else:
            at_hops += len(mic) > 0
        released += len(mic)
    assert waits > 20 and at_hops > 2 and straight > 100  # held at first; decided: straight


@pytest.mark.parametrize("forget", [True, False])
def test_a_realignment_makes_it_measure_the_delay_again(forget: bool) -> None:
    """A reopened device can put the leak at another delay: after ``forget`` the
    delay is the new one within seconds; without it the old evidence still rules."""
    x, _ = conversation(60, seed=3)
    half = 30 * RATE
    x[0, :half] += plain_leak(x[1], -15, 60)[:half]
    x[0, half:] += plain_leak(x[1], -15, 200)[half:]
    gate = LeakGate("auto")
    for i in range(0, half, 320):
        gate.feed(x[0, i : i + 320], x[1, i : i + 320])
    assert gate.engaged and gate.delay_ms is not None and abs(gate.delay_ms - 60) <= 10
    if forget:
        gate.forget()
    for i in range(half, half + 12 * RATE, 320):
        gate.feed(x[0, i : i + 320], x[1, i : i + 320])
    assert gate.delay_ms is not None
    assert (abs(gate.delay_ms - 200) <= 10) == forget, gate.delay_ms


def feed_blocks(gate: LeakGate, x: np.ndarray, block: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """x (rows mic, loop) fed in live-sized blocks: the released mic and the leak
    powers of its subframes (0 where not gated)."""
    mics: list[np.ndarray] = []
    leaks: list[np.ndarray] = []
    released = 0
    for i in range(0, x.shape[1], block):
        mic, leak = gate.feed(x[0, i : i + block], x[1, i : i + block])
        count = (released + len(mic)) // SUB - released // SUB
        released += len(mic)
        mics.append(mic)
        leaks.append(np.zeros(count) if leak is None else leak)
    return np.concatenate(mics), np.concatenate(leaks)


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_after_a_realignment_the_gate_is_as_at_a_call_s_start(mode: str) -> None:
    """A laptop call for 30 s, then a headset plugged in (the mic moves: the capture
    realigns the sides). Nothing the gate learnt of the laptop -- that it leaks, at
    which delay and coupling, the devices' noise floors -- reaches the headset's
    part: from the realignment on, it releases and gates exactly what a gate that
    heard only the headset's part does."""
    laptop, _ = laptop_call(duration_s=30, leak_db=-15, delay_ms=120, seed=4)
    headset, _ = laptop_call(duration_s=30, leak_db=None, snr_db=40, seed=5)
    gate = LeakGate(mode)
    feed_blocks(gate, laptop)
    assert gate.engaged and gate.delay_ms is not None and abs(gate.delay_ms - 120) <= 10
    gate.forget()
    assert not gate.engaged and gate.delay_ms is None and gate.coupling_db is None
    after = feed_blocks(gate, headset)
    fresh = feed_blocks(LeakGate(mode), headset)
    assert gate.detected  # the call did leak, and the report says so
    assert np.array_equal(after[0], fresh[0]) and np.array_equal(after[1], fresh[1])
