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


def transcribe_many(engine: Engine, audios: list[np.ndarray]) -> list[str]:
    """Each piece's text: in one packed pass when the engine packs, else one at a time."""
    many = getattr(engine, "transcribe_many", None)
    if many is not None and len(audios) > 1:
        return list(many(audios))
    return [engine.transcribe(a) for a in audios]


class WhisperEngine:
    """faster-whisper on the CPU, int8; the model given as a local directory."""

    def __init__(
        self,
        path: Path,
        language: str = "en",
        threads: int = 2,
        beam_size: int = 1,
        fallback: bool = False,
    ) -> None:
        offline()
        # ctranslate2 and the model's libraries: heavy, loaded only when transcription is on,
        # and after offline() has told the hub code never to go online
        from coach.transcription.fitted_whisper import FittedWhisper

        self.path = path
        self.language = language
        self.beam_size = beam_size
        # One deterministic pass (temperature 0): the same call gives the same
        # transcript. Whisper's temperature fallback re-decodes doubtful pieces by
        # random sampling -- different text from run to run, and up to 6x the time.
        self.temperature: list[float] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if fallback else [0.0]
        self.model = FittedWhisper(
            str(path), device="cpu", compute_type="int8", cpu_threads=threads
        )

    def transcribe(self, audio: np.ndarray) -> str:
        segments, _ = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=self.language,
            beam_size=self.beam_size,
            temperature=self.temperature,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        # the generator decodes lazily: consume it here, in the transcribing thread
        return " ".join(s.text.strip() for s in segments).strip()

    def transcribe_many(self, audios: list[np.ndarray]) -> list[str]:
        """Several pieces in one pass (``packing.pack``), split back by segment times --
        or, when a segment spans two pieces, by word times (a second pass: word
        alignment costs ~70 % more than segment times, so it is only the fallback)."""
        audio, spans = packing.pack(audios)
        options: dict[str, Any] = dict(
            language=self.language,
            beam_size=self.beam_size,
            temperature=self.temperature,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        segments, _ = self.model.transcribe(audio, without_timestamps=False, **options)
        texts = packing.split_segments([(s.start, s.end, s.text) for s in segments], spans)
        if texts is not None:
            return texts
        segments, _ = self.model.transcribe(audio, word_timestamps=True, **options)
        words = [(w.start, w.end, w.word) for s in segments for w in (s.words or [])]
        return packing.split_words(words, spans)
