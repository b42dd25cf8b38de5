"""Whisper's encoder is given the window's audio, not its zero padding to 30 s."""

from __future__ import annotations

import numpy as np
import pytest

from coach.transcription.engine import offline

offline()  # before faster-whisper is imported, as the product does

from coach.transcription.fitted_whisper import (  # noqa: E402
    FRAMES_PER_S,
    FULL_WINDOW_FRAMES,
    MIN_CONTEXT_S,
    fitted_frames,
)

MIN_FRAMES = round(MIN_CONTEXT_S * FRAMES_PER_S)


def window(content_frames: int, n_mels: int = 80) -> np.ndarray:
    """Features as faster-whisper hands them to the encoder: content, then zeros."""
    rng = np.random.default_rng(content_frames)
    out = np.zeros((1, n_mels, FULL_WINDOW_FRAMES), np.float32)
    out[..., :content_frames] = rng.uniform(-1.5, 1.5, (1, n_mels, content_frames))
    return out


@pytest.mark.parametrize("content_frames", [0, 1, 230, MIN_FRAMES - 1])
def test_a_short_window_is_encoded_with_the_shortest_context(content_frames: int) -> None:
    assert fitted_frames(window(content_frames), MIN_FRAMES) == MIN_FRAMES


def test_a_longer_window_keeps_its_content_rounded_up_to_whole_seconds() -> None:
    assert fitted_frames(window(MIN_FRAMES + 1), MIN_FRAMES) == MIN_FRAMES + FRAMES_PER_S
    assert fitted_frames(window(2_150), MIN_FRAMES) == 2_200
    assert fitted_frames(window(2_950), MIN_FRAMES) == FULL_WINDOW_FRAMES


def test_a_silent_frame_inside_the_content_is_not_taken_for_padding() -> None:
    features = window(2_150)
    features[..., 1_000:1_900] = 0.0  # only the padding is zero in every band at the end
    assert fitted_frames(features, MIN_FRAMES) == 2_200


def test_the_full_window_turns_fitting_off() -> None:
    assert fitted_frames(window(230), FULL_WINDOW_FRAMES) == FULL_WINDOW_FRAMES
