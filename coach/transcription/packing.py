"""Pack several short pieces of audio into one whisper window, and split the words back.

Whisper's encoder gets at least 15 s of context whatever the audio's length
(``fitted_whisper``), so a 2 s utterance costs about as much as a 15 s one. Laid
end to end with a known silence between them, several utterances share one
encoder pass; each word's timestamp then says which utterance it belongs to. Pure
functions: no model here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coach.core.types import SAMPLE_RATE_HZ

WINDOW_S = 15.0
"""Audio packed into one pass: the encoder's shortest context (``fitted_whisper``), since
its cost grows faster than the audio's length beyond that."""
GAP_S = 1.0
"""Silence between packed pieces: enough that whisper keeps neighbouring pieces' words apart."""


def seconds(audio: np.ndarray) -> float:
    return len(audio) / SAMPLE_RATE_HZ


def packed_seconds(lengths_s: Sequence[float]) -> float:
    """How long the pieces of these lengths are once packed (gaps between them)."""
    return sum(lengths_s) + GAP_S * max(0, len(lengths_s) - 1)


def pack(audios: Sequence[np.ndarray]) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The pieces end to end with ``GAP_S`` of silence between; each piece's span (s)."""
    gap = np.zeros(int(GAP_S * SAMPLE_RATE_HZ), dtype=np.float32)
    parts: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    t = 0.0
    for i, audio in enumerate(audios):
        if i:
            parts.append(gap)
            t += GAP_S
        parts.append(np.asarray(audio, dtype=np.float32))
        spans.append((t, t + seconds(audio)))
        t += seconds(audio)
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), spans


def owner(start_s: float, end_s: float, spans: Sequence[tuple[float, float]]) -> int:
    """The piece a word from ``start_s`` to ``end_s`` belongs to: the span holding its
    middle, else the nearest span (whisper's word times can stray into a gap)."""
    mid = (start_s + end_s) / 2

    def distance(span: tuple[float, float]) -> float:
        a, b = span
        return 0.0 if a <= mid <= b else min(abs(mid - a), abs(mid - b))

    return min(range(len(spans)), key=lambda i: distance(spans[i]))


def past_the_audio(start_s: float, spans: Sequence[tuple[float, float]]) -> bool:
    """Text that starts after the last piece has ended is whisper going on in the silence
    the window is padded with (it repeats the last words): it belongs to no piece."""
    return start_s >= spans[-1][1]


def split_words(
    words: Sequence[tuple[float, float, str]], spans: Sequence[tuple[float, float]]
) -> list[str]:
    """Each piece's text from the pass's words ``(start_s, end_s, word)`` (words keep
    their leading space, as whisper gives them)."""
    texts: list[list[str]] = [[] for _ in spans]
    for start, end, word in words:
        if spans and not past_the_audio(start, spans):
            texts[owner(start, end, spans)].append(word)
    return ["".join(t).strip() for t in texts]


AMBIGUOUS_S = 1.0
"""A segment reaching this far (or half of a shorter piece) into two pieces cannot be given
to either by its times; whisper's segment ends stray a little into the next piece's pre-roll,
so less would ask for word times needlessly."""


def split_segments(
    segments: Sequence[tuple[float, float, str]], spans: Sequence[tuple[float, float]]
) -> list[str] | None:
    """Each piece's text from the pass's segments ``(start_s, end_s, text)``, each given to
    the piece it overlaps most; None when a segment spans two pieces (split by words then).
    """
    texts: list[list[str]] = [[] for _ in spans]
    for start, end, text in segments:
        if spans and past_the_audio(start, spans):
            continue
        overlaps = [max(0.0, min(end, b) - max(start, a)) for a, b in spans]
        reach = [min(AMBIGUOUS_S, (b - a) / 2) for a, b in spans]
        if sum(o >= r for o, r in zip(overlaps, reach, strict=True)) > 1:
            return None
        if spans and text.strip():
            best = max(range(len(spans)), key=lambda i: overlaps[i])
            if overlaps[best] <= 0:
                best = owner(start, end, spans)
            texts[best].append(text.strip())
    return [" ".join(t).strip() for t in texts]


def groups(lengths_s: Sequence[float], window_s: float = WINDOW_S) -> list[list[int]]:
    """Consecutive pieces grouped into windows of at most ``window_s`` once packed
    (a piece longer than the window gets a window of its own)."""
    out: list[list[int]] = []
    current: list[float] = []
    for i, length in enumerate(lengths_s):
        if out and current and packed_seconds([*current, length]) <= window_s:
            out[-1].append(i)
            current.append(length)
        else:
            out.append([i])
            current = [length]
    return out
