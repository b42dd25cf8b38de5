"""Packing pieces into one whisper window and splitting the words back (no model)."""

from __future__ import annotations

import numpy as np

from coach.core.types import SAMPLE_RATE_HZ
from coach.transcription.packing import (
    GAP_S,
    WINDOW_S,
    groups,
    pack,
    packed_seconds,
    split_segments,
    split_words,
)


def test_pack_lays_pieces_end_to_end_with_known_silence_between() -> None:
    a = np.ones(SAMPLE_RATE_HZ, dtype=np.float32)  # 1 s
    b = np.full(SAMPLE_RATE_HZ // 2, 2.0, dtype=np.float32)  # 0.5 s
    audio, spans = pack([a, b])
    assert spans == [(0.0, 1.0), (1.0 + GAP_S, 1.5 + GAP_S)]
    assert len(audio) == int((1.5 + GAP_S) * SAMPLE_RATE_HZ)
    gap = audio[SAMPLE_RATE_HZ : SAMPLE_RATE_HZ + int(GAP_S * SAMPLE_RATE_HZ)]
    assert not gap.any() and audio[-1] == 2.0


def test_words_go_to_the_piece_whose_span_holds_their_middle() -> None:
    spans = [(0.0, 2.0), (3.0, 5.0)]
    words = [(0.1, 0.4, " How"), (0.5, 0.9, " big?"), (1.9, 2.3, " Yes"), (2.6, 3.2, " Mm-hmm.")]
    assert split_words(words, spans) == ["How big? Yes", "Mm-hmm."]
    assert split_words([], spans) == ["", ""]


def test_groups_fill_each_window_in_order() -> None:
    half = (WINDOW_S - GAP_S) / 2  # two of these fill a window exactly
    assert groups([half, half, half, 1]) == [[0, 1], [2, 3]]
    assert groups([WINDOW_S + 1, 1, 1]) == [[0], [1, 2]]  # too long for a window: a pass alone
    assert packed_seconds([10, 10]) == 20 + GAP_S
    assert groups([]) == []


def test_segments_go_to_the_piece_they_overlap_most() -> None:
    spans = [(0.0, 3.0), (4.0, 6.0)]
    segments = [(0.0, 4.0, " How big is your team?"), (4.0, 7.0, " About twelve.")]
    assert split_segments(segments, spans) == ["How big is your team?", "About twelve."]


def test_a_segment_across_two_pieces_asks_for_word_times() -> None:
    spans = [(0.0, 3.0), (4.0, 6.0)]
    assert split_segments([(0.0, 6.0, " How big is your team? About twelve.")], spans) is None


def test_a_segment_end_straying_into_the_next_pieces_pre_roll_is_not_ambiguous() -> None:
    spans = [(0.0, 17.7), (18.7, 27.9)]
    segments = [(14.4, 19.0, " at the end of every month."), (19.0, 23.8, " Migration.")]
    assert split_segments(segments, spans) == ["at the end of every month.", "Migration."]
    # but a short piece half covered is: "Right." may have been run into the sentence
    assert split_segments([(0.0, 19.2, " Fine. Right.")], [(0.0, 17.7), (18.7, 19.5)]) is None


def test_text_after_the_last_piece_is_whisper_going_on_in_the_padding() -> None:
    """Whisper sees at least 15 s; past a window's audio it may repeat the last words."""
    spans = [(0.0, 13.0), (14.0, 14.8)]
    segments = [(0.0, 13.0, " How many people are on your team?"), (14.0, 14.8, " Right.")]
    padding = [(15.0, 22.8, " Right."), (22.8, 23.8, " Right.")]
    assert split_segments(segments + padding, spans) == [
        "How many people are on your team?",
        "Right.",
    ]
    words = [(14.0, 14.5, " Right."), (15.0, 15.6, " Right.")]
    assert split_words(words, spans) == ["", "Right."]
