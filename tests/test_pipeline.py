"""The whole pipeline on audio: a call is just many blocks, of any size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.config import Config, TranscribeConfig
from coach.core import timeline as timeline_module
from coach.core.echo import LeakGate
from coach.core.pipeline import CallAnalyzer
from tests.support.synth import make_call, near

NO_TRANSCRIPTION = replace(Config(), transcribe=TranscribeConfig(enabled=False))
CALL = make_call(50, rep=[(1, 5), (20, 20.6), (41, 46)], customer=[(6, 40), (47, 49.5)])


def analyse(call: np.ndarray, cuts: list[int]) -> tuple[dict, list[tuple[int, str]]]:
    analyzer = CallAnalyzer(NO_TRANSCRIPTION)
    emitted: list[tuple[int, str]] = []
    edges = [0, *sorted(set(cuts)), call.shape[1]]
    for a, b in zip(edges, edges[1:], strict=False):
        emitted += [(n.t_ms, n.kind) for n in analyzer.feed(call[:, a:b])]
    emitted += [(n.t_ms, n.kind) for n in analyzer.finish()]
    return analyzer.stats(), emitted


WHOLE, WHOLE_NUDGES = analyse(CALL, [])


def test_the_scripted_call_is_heard_right() -> None:
    assert near(WHOLE["speech"]["customer"], [[6.0, 40.0], [47.0, 49.5]])
    assert near([[t, t] for t in WHOLE["rep"]["backchannels"]], [[20.0, 20.0]])
    assert near(WHOLE["customer"]["monologues"], [[6.0, 40.0]])
    # the backchannel at 20 restarts the count (due 40: the story ends there);
    # the 34 s story ends with a pause: deepen 1 s after it
    story_end = WHOLE["customer"]["monologues"][0][1]
    assert [n["kind"] for n in WHOLE["nudges"]] == ["acknowledge", "deepen"]
    assert abs(WHOLE["nudges"][0]["t"] - (story_end + 0.3)) <= 0.05
    assert abs(WHOLE["nudges"][1]["t"] - (story_end + 1.0)) <= 0.05


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, CALL.shape[1] - 1), max_size=40))
def test_any_block_sizes_give_the_same_answer(cuts: list[int]) -> None:
    stats, nudges = analyse(CALL, cuts)
    assert stats == WHOLE
    assert sorted(nudges) == sorted(WHOLE_NUDGES)


def test_a_realignment_mid_call_is_no_event_of_its_own() -> None:
    """A device reopened at 10 s and at 30 s (inside a block, and twice in one):
    the cross-side estimates start again there, and nothing else changes."""
    analyzer = CallAnalyzer(NO_TRANSCRIPTION)
    assert analyzer.echo is not None
    forgotten: list[int] = []

    class Gate(LeakGate):
        def forget(self) -> None:
            forgotten.append(analyzer.samples)
            super().forget()

    analyzer.echo = Gate(analyzer.echo.mode, analyzer.echo.params)
    for at_s in (10, 30, 30):
        analyzer.realign(at_s * 16000)
    nudges = []
    for a in range(0, CALL.shape[1], 48000):
        nudges += [(n.t_ms, n.kind) for n in analyzer.feed(CALL[:, a : a + 48000])]
    nudges += [(n.t_ms, n.kind) for n in analyzer.finish()]
    assert forgotten == [160000, 480000, 480000]
    assert analyzer.stats() == WHOLE and sorted(nudges) == sorted(WHOLE_NUDGES)


def test_live_sized_blocks_give_the_same_answer() -> None:
    stats, _ = analyse(CALL, list(range(320, CALL.shape[1], 320)))  # 20 ms blocks
    assert stats == WHOLE


def test_a_file_heard_ahead_on_another_thread_gives_the_same_answer() -> None:
    """`coach analyze` runs the detectors a few blocks ahead on a second core: they
    read audio only, so the timeline, the nudges and the statistics are the same as
    when each block is fed whole, here on a laptop call whose mic the leak gate judges."""
    from coach.audio.prefetch import heard_ahead
    from tests.support.rooms import laptop_call

    call, _ = laptop_call(duration_s=60, leak_db=-16, keys=True, seed=21)
    blocks = [call[:, i : i + 80_000] for i in range(0, call.shape[1], 80_000)]
    config = _timers(acknowledge_after_s=4.0, deepen_after_story_s=6.0, rep_monologue_max_s=5.0)
    fed = CallAnalyzer(config)
    fed_nudges = [n for b in blocks for n in fed.feed(b)] + fed.finish()
    ahead = CallAnalyzer(config)
    ahead_nudges = [n for h in heard_ahead(ahead, iter(blocks)) for n in ahead.take(h)]
    ahead_nudges += ahead.finish()
    assert ahead.stats() == fed.stats()
    assert ahead_nudges == fed_nudges and len(fed_nudges) >= 2


def test_what_goes_wrong_while_reading_ahead_reaches_the_reader() -> None:
    from coach.audio.prefetch import prefetch

    def blocks() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("the file ends mid-frame")

    got: list[int] = []
    with pytest.raises(OSError, match="mid-frame"):
        for item in prefetch(blocks()):
            got.append(item)
    assert got == [1, 2]


def test_digital_silence_before_the_call_changes_nothing_but_the_clock() -> None:
    """A virtual mic or an idle loopback sends exact zeros until audio flows:
    the room noise that follows must not be taken for speech."""
    import soundfile as sf

    from coach.live.sources import DEMO_CALL

    x, _ = sf.read(DEMO_CALL, dtype="float32")
    call = np.ascontiguousarray(x.T)
    padded = np.concatenate([np.zeros((2, 1600), np.float32), call], axis=1)  # 0.1 s
    plain, shifted = analyse(call, [])[0], analyse(padded, [])[0]
    # the same call 0.1 s later: the detector's 32 ms windows fall elsewhere on
    # the voice and its model resumes at other windows, so an edge may move by up
    # to three windows (webrtcvad, refined to 10 ms: within a 30 ms frame)
    for side in ("rep", "customer"):
        want, got = plain["speech"][side], shifted["speech"][side]
        assert len(got) == len(want)
        assert np.allclose(np.array(got) - 0.1, np.array(want), atol=0.1)
    assert [n["kind"] for n in shifted["nudges"]] == [n["kind"] for n in plain["nudges"]]
    for a, b in zip(shifted["nudges"], plain["nudges"], strict=True):
        assert abs(a["t"] - 0.1 - b["t"]) <= 0.1


# -- feeding a live loop less often (CallAnalyzer.next_feed_samples) ----------------------
def _fed_like_a_live_loop(
    call: np.ndarray, config: Config, lazy: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[int, int], set[int], list[tuple[int, str, int]], int, dict]:
    """Feed whole VAD frames: every frame, or up to where ``next_feed_samples``
    says. Returns, for each instant the timeline handled, the audio fed when it
    did; the segment starts; the nudges with the audio fed when each came; the
    number of calls; the stats."""
    handled: dict[int, int] = {}
    fed = [0]
    pop = timeline_module._Instants.pop

    def logged(walk: timeline_module._Instants) -> None:
        handled.setdefault(walk.heap[0], fed[0])
        pop(walk)

    monkeypatch.setattr(timeline_module._Instants, "pop", logged)
    analyzer = CallAnalyzer(config)
    nudges: list[tuple[int, str, int]] = []
    calls, n = 0, call.shape[1]
    while analyzer.samples < n:
        step = analyzer.frame_samples
        fed[0] = min(n, analyzer.next_feed_samples() if lazy else analyzer.samples + step)
        block = call[:, analyzer.samples : fed[0]]
        nudges += [(x.t_ms, x.kind, fed[0]) for x in analyzer.feed(block)]
        calls += 1
    analyzer.finish()
    monkeypatch.undo()
    starts = {s for track in analyzer.timeline.tracks.values() for s in track.starts}
    return handled, starts, nudges, calls, analyzer.stats()


def _dense_call(tmp: Path) -> np.ndarray:
    import soundfile as sf

    from tests.support.live_call import dense_call

    x, _ = sf.read(str(dense_call(tmp / "dense.wav")), dtype="float32", always_2d=True)
    return np.ascontiguousarray(x.T)


def _timers(**nudges: Any) -> Config:
    c = NO_TRANSCRIPTION
    return replace(c, nudges=replace(c.nudges, **nudges))


@pytest.mark.parametrize(
    "case", ["dense call", "laptop with a leak", "short rules", "the customer silent at first"]
)
def test_a_live_loop_feeding_when_told_decides_everything_at_the_same_audio(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gathered audio is fed where something can be decided: every instant the
    timeline handles comes at exactly the audio it would come at if every VAD
    frame were fed, so every nudge does; only the segment starts wait (no rule
    fires at a start that did not fire before it). A fraction of the calls."""
    dense = _timers(acknowledge_after_s=4.0, deepen_after_story_s=6.0, rep_monologue_max_s=5.0)
    if case == "dense call":  # acknowledge, deepen, pause, let_finish, over and over
        call, config = _dense_call(tmp_path), dense
    elif case == "the customer silent at first":
        # until the leak gate has heard the customer, the mic reaches the VAD
        # only at its hop boundaries: the rep's pauses come to light there
        rep = [(1.0 + 1.3 * k, 1.8 + 1.3 * k + 0.05 * (k % 4)) for k in range(16)]
        call = make_call(50, rep=rep, customer=[(24, 36), (36.6, 42), (45, 49)])
        config = _timers(rep_monologue_max_s=3.0, summarise_every_s=8.0, summarise_silence_s=0.3)
    else:  # the leak gate holds the mic back until it has decided
        from tests.support.rooms import laptop_call

        call, _ = laptop_call(duration_s=60, leak_db=-16, keys=True, seed=21)
        config = dense
        if case == "short rules":
            config = _timers(
                acknowledge_after_s=3.0, deepen_after_story_s=3.0, deepen_pause_s=0.4,
                summarise_every_s=15.0, summarise_silence_s=0.3, rep_monologue_max_s=3.0,
                talk_ratio_window_s=10.0, talk_ratio_max=0.3,
            )  # fmt: skip
    every, _, every_nudges, every_calls, every_stats = _fed_like_a_live_loop(
        call, config, False, monkeypatch
    )
    told, starts, told_nudges, told_calls, told_stats = _fed_like_a_live_loop(
        call, config, True, monkeypatch
    )
    assert told_stats == every_stats
    assert told_nudges == every_nudges and len(every_nudges) >= 3
    assert handled_alike(every, told, starts)
    assert told_calls < 0.3 * every_calls


def handled_alike(every: dict[int, int], told: dict[int, int], starts: set[int]) -> bool:
    late = {t: (every[t], told.get(t)) for t in every if told.get(t) != every[t]}
    assert set(late) <= starts, {t: v for t, v in late.items() if t not in starts}
    return len(every) > 50 and set(told) == set(every)
