"""The speech-to-text engine: faster-whisper on the CPU, from a local model directory.

Nothing is downloaded: ``HF_HUB_OFFLINE=1`` is set before faster-whisper is
imported and the model is always given as a local directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from coach.transcription import packing


def offline() -> None:
    """Before faster-whisper (and huggingface_hub) is imported: never reach for a hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class Engine(Protocol):
    """Turns one piece of 16 kHz float32 mono audio into text."""

    def transcribe(self, audio: np.ndarray) -> str: ...


def transcribe_windows(engine: Engine, windows: list[list[np.ndarray]]) -> list[list[str]]:
    """Each window's pieces' texts: in one batched pass when the engine batches (each
    window packed), else piece by piece."""
    batch = getattr(engine, "transcribe_windows", None)
    if batch is not None:
        return list(batch(windows))
    return [[engine.transcribe(a) for a in window] for window in windows]


NO_SPEECH_PROB = 0.6
"""A window whose first token says "no speech" this surely, and whose words are doubtful
(``LOW_LOGPROB`` or less), is silence: faster-whisper's own thresholds."""
LOW_LOGPROB = -1.0
MAX_INITIAL_TIMESTAMP_S = 1.0
"""Whisper's first timestamp may be at most this far in (faster-whisper's default)."""


class WhisperEngine:
    """faster-whisper on the CPU, int8; the model given as a local directory.

    Windows are decoded together, one row of a batch each: the decoder's weights are
    read once per step for every row, and decoding is most of a pass. A window of one
    piece is decoded without timestamps; a packed window with them, to split its text
    back into its pieces.
    """

    def __init__(
        self,
        path: Path,
        language: str = "en",
        threads: int = 2,
        beam_size: int = 1,
    ) -> None:
        offline()
        # ctranslate2 and the model's libraries: heavy, loaded only when transcription is on,
        # and after offline() has told the hub code never to go online
        from coach.transcription.fitted_whisper import FittedWhisper

        self.path = path
        self.language = language
        self.beam_size = beam_size
        self.model = FittedWhisper(
            str(path), device="cpu", compute_type="int8", cpu_threads=threads
        )

    def transcribe(self, audio: np.ndarray) -> str:
        return self.transcribe_windows([[audio]])[0][0]

    def transcribe_windows(self, windows: list[list[np.ndarray]]) -> list[list[str]]:
        """Each window's pieces' texts, the windows batched: one-piece windows in one batch
        (no timestamps), packed ones in another (``packing.pack``), split back by segment
        times -- or, when a segment spans two pieces, by word times (a pass of its own:
        word alignment costs ~70 % more than segment times, so it is only the fallback)."""
        out: list[list[str]] = [[] for _ in windows]
        single = [i for i, w in enumerate(windows) if len(w) == 1]
        alone = self._decode([windows[i][0] for i in single], timestamps=False)
        for i, segments in zip(single, alone, strict=True):
            out[i] = [" ".join(text.strip() for _, _, text in segments).strip()]
        packed = [i for i, w in enumerate(windows) if len(w) > 1]
        packs = [packing.pack(windows[i]) for i in packed]
        decoded = self._decode([audio for audio, _ in packs], timestamps=True)
        for i, (audio, spans), segments in zip(packed, packs, decoded, strict=True):
            texts = packing.split_segments(segments, spans)
            out[i] = texts if texts is not None else self._by_words(audio, spans)
        return out

    def _decode(
        self, audios: list[np.ndarray], timestamps: bool
    ) -> list[list[tuple[float, float, str]]]:
        """Each audio's segments ``(start_s, end_s, text)``, decoded as faster-whisper decodes
        one audio at temperature 0 -- but all audios as rows of one batch. Where a row
        stops inside a segment, it is decoded again from its last timestamp (whisper's
        seek), those rows batched in turn."""
        from ctranslate2 import StorageView
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        m = self.model
        tokenizer = Tokenizer(
            m.hf_tokenizer, m.model.is_multilingual, task="transcribe", language=self.language
        )
        prompt = m.get_prompt(tokenizer, [], without_timestamps=not timestamps)
        suppress = get_suppressed_tokens(tokenizer, [-1])
        features = [m.feature_extractor(a)[..., :-1] for a in audios]
        seeks = [0] * len(audios)  # frames decoded so far
        out: list[list[tuple[float, float, str]]] = [[] for _ in audios]
        rows = [i for i, f in enumerate(features) if f.shape[-1] > 0]
        while rows:
            # each row encoded alone, fitted to its own audio: encoding gains nothing from a
            # batch, and its memory grows with the rows; rows of one length decode together
            encoded = {
                i: np.asarray(m.encode(pad_or_trim(features[i][:, seeks[i] :]))) for i in rows
            }
            again: list[int] = []
            for length in sorted({e.shape[1] for e in encoded.values()}):
                group = [i for i in rows if encoded[i].shape[1] == length]
                results = m.model.generate(
                    StorageView.from_array(np.concatenate([encoded[i] for i in group])),
                    [prompt] * len(group),
                    beam_size=self.beam_size,
                    max_length=m.max_length,
                    return_scores=True,
                    return_no_speech_prob=True,
                    suppress_blank=True,
                    suppress_tokens=suppress,
                    max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP_S / m.time_precision),
                )
                for i, result in zip(group, results, strict=True):
                    frames = min(
                        features[i].shape[-1] - seeks[i], m.feature_extractor.nb_max_frames
                    )
                    offset_s = seeks[i] / m.frames_per_second
                    tokens = result.sequences_ids[0]
                    avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
                    segments: list[tuple[float, float, str]] = []
                    resume_s: float | None = None
                    # a window whisper takes for silence is skipped
                    if result.no_speech_prob <= NO_SPEECH_PROB or avg_logprob > LOW_LOGPROB:
                        segments, resume_s = _segments(
                            tokens, tokenizer, m.time_precision, frames / m.frames_per_second
                        )
                    out[i] += [(offset_s + a, offset_s + b, text) for a, b, text in segments]
                    resume = 0 if resume_s is None else round(resume_s * m.frames_per_second)
                    # a row that would resume where it began moves on: it would only repeat
                    seeks[i] += resume if resume > 0 else frames
                    if seeks[i] < features[i].shape[-1]:
                        again.append(i)
            rows = sorted(again)
        return out

    def _by_words(self, audio: np.ndarray, spans: list[tuple[float, float]]) -> list[str]:
        segments, _ = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            temperature=[0.0],
            vad_filter=False,
            condition_on_previous_text=False,
            word_timestamps=True,
        )
        words = [(w.start, w.end, w.word) for s in segments for w in (s.words or [])]
        return packing.split_words(words, spans)


def _segments(
    tokens: list[int], tokenizer: Any, precision_s: float, duration_s: float
) -> tuple[list[tuple[float, float, str]], float | None]:
    """A decoded window's segments ``(start_s, end_s, text)`` from its timestamp tokens, as
    faster-whisper splits them, and where to decode again when it stopped inside a segment
    (its last timestamp; None: the window is done)."""
    first = tokenizer.timestamp_begin

    def text(part: list[int]) -> str:
        return str(tokenizer.decode([t for t in part if t < first]))

    pairs = [i for i in range(1, len(tokens)) if tokens[i] >= first and tokens[i - 1] >= first]
    if not pairs:  # no timestamps, or only the first and the last: one segment
        stamps = [t for t in tokens if t >= first]
        end_s = (stamps[-1] - first) * precision_s if stamps and stamps[-1] != first else duration_s
        words = text(tokens)
        return ([(0.0, end_s, words)] if end_s > 0 and words.strip() else []), None
    cuts = [0, *pairs]
    closed = len(tokens) >= 2 and tokens[-2] < first <= tokens[-1]
    if closed:  # the last segment ends with a timestamp: all of it is there
        cuts.append(len(tokens))
    out: list[tuple[float, float, str]] = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        part = tokens[a:b]
        start_s = (part[0] - first) * precision_s
        end_s = (part[-1] - first) * precision_s
        if start_s != end_s and text(part).strip():
            out.append((start_s, end_s, text(part)))
    return out, None if closed else (tokens[pairs[-1] - 1] - first) * precision_s
