"""The whole pipeline on audio: a call is just many blocks, of any size."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.config import Config, TranscribeConfig
from coach.pipeline import CallAnalyzer
from tests.synth import make_call

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
    assert WHOLE["speech"]["customer"] == [[6.0, 40.0], [47.0, 49.5]]
    assert WHOLE["rep"]["backchannels"] == [20.0]
    assert WHOLE["customer"]["monologues"] == [[6.0, 40.0]]
    # the backchannel at 20 restarts the count (due 40: the story ends there);
    # the 34 s story ends with a pause: deepen 1 s after it
    assert [(n["t"], n["kind"]) for n in WHOLE["nudges"]] == [
        (40.3, "acknowledge"),
        (41.0, "deepen"),
    ]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, CALL.shape[1] - 1), max_size=40))
def test_any_block_sizes_give_the_same_answer(cuts: list[int]) -> None:
    stats, nudges = analyse(CALL, cuts)
    assert stats == WHOLE
    assert sorted(nudges) == sorted(WHOLE_NUDGES)


def test_live_sized_blocks_give_the_same_answer() -> None:
    stats, _ = analyse(CALL, list(range(320, CALL.shape[1], 320)))  # 20 ms blocks
    assert stats == WHOLE


def test_digital_silence_before_the_call_changes_nothing_but_the_clock() -> None:
    """A virtual mic or an idle loopback sends exact zeros until audio flows:
    the room noise that follows must not be taken for speech."""
    import soundfile as sf

    from coach.live import DEMO_CALL

    x, _ = sf.read(DEMO_CALL, dtype="float32")
    call = np.ascontiguousarray(x.T)
    padded = np.concatenate([np.zeros((2, 1600), np.float32), call], axis=1)  # 0.1 s
    plain, shifted = analyse(call, [])[0], analyse(padded, [])[0]
    # the same call 0.1 s later (boundaries within a VAD frame: 30 ms)
    for side in ("rep", "customer"):
        want, got = plain["speech"][side], shifted["speech"][side]
        assert len(got) == len(want)
        assert np.allclose(np.array(got) - 0.1, np.array(want), atol=0.031)
    assert [n["kind"] for n in shifted["nudges"]] == [n["kind"] for n in plain["nudges"]]
    for a, b in zip(shifted["nudges"], plain["nudges"], strict=True):
        assert abs(a["t"] - 0.1 - b["t"]) <= 0.031
