"""Whisper's encoder run on the audio it is given, not on a window padded to 30 s.

faster-whisper pads every window's features to 3000 frames (30 s) with zeros, so a
2 s utterance costs the encoder as much as 30 s of speech, and the encoder is most
of a short utterance's cost. :class:`FittedWhisper` cuts that padding off before
encoding but keeps at least :data:`MIN_CONTEXT_S`: Whisper was trained on full
windows, and with much less context it starts to repeat itself, while its decoder
works on any encoder length. Import this module only after
:func:`coach.transcription.engine.offline`: it imports faster-whisper.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper import WhisperModel

FRAMES_PER_S = 100
"""Whisper's mel frames: 10 ms hops."""

FULL_WINDOW_FRAMES = 30 * FRAMES_PER_S

MIN_CONTEXT_S = 15.0
"""Shortest encoder input: below about 10 s, whole utterances come out repeated or lost."""


def fitted_frames(features: np.ndarray, min_frames: int) -> int:
    """Frames of ``features`` (``(..., n_mels, frames)``) to encode: up to the last frame
    that is not zero padding, rounded up to whole seconds, at least ``min_frames``."""
    frames = features.shape[-1]
    nonzero = np.flatnonzero(np.any(features.reshape(-1, frames) != 0, axis=0))
    content = int(nonzero[-1]) + 1 if len(nonzero) else 0
    keep = -(-content // FRAMES_PER_S) * FRAMES_PER_S
    return min(frames, max(min_frames, keep))


class FittedWhisper(WhisperModel):
    """A ``WhisperModel`` whose encoder sees a window's content, not its padding."""

    min_frames = round(MIN_CONTEXT_S * FRAMES_PER_S)
    """:data:`FULL_WINDOW_FRAMES` turns fitting off (the bench compares both)."""

    def encode(self, features: np.ndarray) -> Any:
        keep = fitted_frames(features, self.min_frames)
        return super().encode(np.ascontiguousarray(features[..., :keep]))
