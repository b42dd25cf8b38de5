"""Transcribers: who runs the engine's passes, in the caller's thread or in a worker.

* :class:`SyncTranscriber` (``coach analyze``): transcribes the windows when they
  are submitted, in the caller's thread; it never drops work, so the result does
  not depend on the machine's speed.
* :class:`WorkerTranscriber` (the live daemon): a worker thread with a bounded
  queue of windows, taking what waits as one batch; when it falls behind, the
  *oldest* waiting window is dropped and counted. ``submit`` never blocks, so
  capture, VAD, metrics and nudges never wait for it. The worker runs at a lower
  CPU priority.

:func:`open_transcriber` picks one for a config, or None (off, or no model).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from coach.config import Config, model_name, speech_language
from coach.core.types import Side
from coach.errors import CoachError
from coach.transcription.engine import Engine, WhisperEngine, transcribe_windows
from coach.transcription.model_store import no_model_notice, resolve_model, verify_model
from coach.transcription.utterance_audio import Piece

LIVE_QUEUE_MAX = 6
"""Windows waiting in live mode before the oldest is dropped (~6 windows of backlog)."""
BATCH_WINDOWS = 4
"""Windows decoded together at most (``coach analyze``): a one-hour spoken call analysed
at 79x real time by CPU time with four to a batch, 71x with two, 56x one at a time."""
LIVE_BATCH_WINDOWS = 2
"""... and live, where peak memory counts: with tiny.en, four 15 s windows decoded together
peaked 24 MB above one alone, two 1 MB (the daemon runs at about 236 MB)."""


@dataclass(frozen=True)
class PieceResult:
    """The transcript of one piece (empty and ``dropped`` when it was not transcribed)."""

    side: Side
    utt_start_ms: int
    start_ms: int
    end_ms: int
    speech_ms: int
    seq: int
    text: str = ""
    dropped: bool = False
    error: str | None = None
    submitted_at: float = 0.0
    """``time.monotonic()`` when the piece was submitted."""
    done_at: float = 0.0
    """``time.monotonic()`` when its transcript was ready."""
    compute_s: float = 0.0
    """Its share (by audio length) of the pass that transcribed it."""
    skipped: bool = False
    """Not transcribed because nothing needed it (a customer piece outside the sample)."""

    @classmethod
    def of(cls, piece: Piece, **kw: Any) -> PieceResult:
        return cls(
            piece.side,
            piece.utt_start_ms,
            piece.start_ms,
            piece.end_ms,
            piece.speech_ms,
            piece.seq,
            **kw,
        )

    @property
    def transcribed(self) -> bool:
        return not self.dropped and not self.skipped


class Transcriber(Protocol):
    """Runs passes of pieces through an engine and hands back their texts."""

    live: bool
    name: str
    dropped: int
    passes: int
    error: str | None
    """Why the transcriber stopped for good (None while it works)."""

    def submit(self, piece: Piece) -> None: ...
    def submit_packs(self, windows: list[list[Piece]]) -> None:
        """Windows of pieces (each packed into one whisper window), to be batched."""

    def poll(self) -> list[PieceResult]: ...
    def drain(self, timeout_s: float | None = None) -> None: ...
    def close(self) -> None: ...


def _run_windows(
    engine: Engine, windows: list[list[Piece]], submitted: list[float]
) -> list[PieceResult]:
    """One batched pass over the windows (each packed); compute shared by audio length.
    A batch that fails is tried again window by window: one bad piece loses one window."""
    t0 = time.monotonic()
    try:
        texts = transcribe_windows(engine, [[p.audio for p in w] for w in windows])
        error = None
    except Exception as e:  # a bad piece must not stop the call
        if len(windows) > 1:
            return [
                r
                for w, at in zip(windows, submitted, strict=True)
                for r in _run_windows(engine, [w], [at])
            ]
        texts, error = [["" for _ in w] for w in windows], f"{type(e).__name__}: {e}"
    t1 = time.monotonic()
    total = sum(len(p.audio) for w in windows for p in w) or 1
    return [
        PieceResult.of(
            p,
            text=text,
            dropped=error is not None,
            error=error,
            submitted_at=at,
            done_at=t1,
            compute_s=(t1 - t0) * len(p.audio) / total,
        )
        for w, ts, at in zip(windows, texts, submitted, strict=True)
        for p, text in zip(w, ts, strict=True)
    ]


class SyncTranscriber:
    """Transcribes windows at once, in the caller's thread: never drops (``coach analyze``)."""

    live = False

    def __init__(self, engine: Engine, name: str = "") -> None:
        self.engine = engine
        self.name = name
        self.dropped = 0
        self.passes = 0
        self.error: str | None = None  # a failed pass drops its pieces, never stops this one
        self._results: list[PieceResult] = []

    def submit(self, piece: Piece) -> None:
        self.submit_packs([[piece]])

    def submit_packs(self, windows: list[list[Piece]]) -> None:
        windows = [w for w in windows if w]
        now = time.monotonic()
        for i in range(0, len(windows), BATCH_WINDOWS):
            batch = windows[i : i + BATCH_WINDOWS]
            results = _run_windows(self.engine, batch, [now] * len(batch))
            self.passes += len(batch)
            self.dropped += sum(r.dropped for r in results)
            self._results.extend(results)

    def poll(self) -> list[PieceResult]:
        out, self._results = self._results, []
        return out

    def drain(self, timeout_s: float | None = None) -> None:
        return None

    def close(self) -> None:
        return None


class WorkerTranscriber:
    """A worker thread behind a bounded queue of windows that drops the oldest when full.

    ``submit`` and ``poll`` never wait for transcription. The engine is built in
    the worker (``engine_factory``), so loading the model delays nothing either.
    """

    live = True

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        max_queue: int = LIVE_QUEUE_MAX,
        name: str = "",
        nice: int = 5,
        max_batch: int = LIVE_BATCH_WINDOWS,
    ) -> None:
        self.name = name
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.nice = nice
        self.dropped = 0
        self.passes = 0
        self.error: str | None = None
        self.ready = threading.Event()
        self._factory = engine_factory
        self._queue: deque[tuple[list[Piece], float]] = deque()
        self._results: list[PieceResult] = []
        self._cv = threading.Condition()
        self._busy = 0  # windows in the pass under way
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="coach-transcribe", daemon=True)
        self._thread.start()

    def submit(self, piece: Piece) -> None:
        self.submit_packs([[piece]])

    def submit_packs(self, windows: list[list[Piece]]) -> None:
        now = time.monotonic()
        with self._cv:
            for pieces in windows:
                if not pieces:
                    continue
                if self.error is not None or self._stop:
                    self._drop(pieces)
                    continue
                while len(self._queue) >= self.max_queue:
                    self._drop(self._queue.popleft()[0])
                self._queue.append((list(pieces), now))
            self._cv.notify()

    def _drop(self, pieces: list[Piece]) -> None:  # with the lock held
        self.dropped += len(pieces)
        done = time.monotonic()
        self._results.extend(PieceResult.of(p, dropped=True, done_at=done) for p in pieces)

    def poll(self) -> list[PieceResult]:
        with self._cv:
            out, self._results = self._results, []
        return out

    @property
    def pending(self) -> int:
        """Windows waiting or in progress."""
        with self._cv:
            return len(self._queue) + self._busy

    def drain(self, timeout_s: float | None = 10.0) -> None:
        """Wait until the queue is done (the call is over); drop what is left at the timeout.

        The queue holds at most ``max_queue`` windows, so this is a few seconds at most
        on a machine that keeps up; the timeout bounds the wait for the report.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cv:
            while (self._queue or self._busy) and self.error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cv.wait(left)
            while self._queue:
                self._drop(self._queue.popleft()[0])

    def close(self) -> None:
        with self._cv:
            self._stop = True
            while self._queue:
                self._drop(self._queue.popleft()[0])
            self._cv.notify_all()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        if self.nice:
            # Linux: per thread; the engine's own threads, made here, inherit it
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        try:
            engine = self._factory()
        except Exception as e:
            with self._cv:
                self.error = f"{type(e).__name__}: {e}"
                while self._queue:
                    self._drop(self._queue.popleft()[0])
                self._cv.notify_all()
            self.ready.set()
            return
        self.ready.set()
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                # what waits goes together: a batch costs less than its windows one by one
                taken = [
                    self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))
                ]
                self._busy = len(taken)
            results = _run_windows(engine, [w for w, _ in taken], [at for _, at in taken])
            with self._cv:
                self._busy = 0
                self.passes += len(taken)
                self.dropped += sum(r.dropped for r in results)
                self._results.extend(results)
                self._cv.notify_all()


def open_transcriber(
    config: Config,
    *,
    live: bool,
    notice: Callable[[str], None] | None = None,
) -> Transcriber | None:
    """The transcriber ``config`` asks for, or None (off, or no model: ``notice`` says so).

    ``live``: a :class:`WorkerTranscriber` (drops when behind, loads in its thread);
    otherwise a :class:`SyncTranscriber` (the model is loaded now).
    Raises CoachError for a model that fails its checksum or cannot be loaded.
    """
    tc = config.transcribe
    if not tc.enabled:
        return None
    name, language = model_name(config), speech_language(config)
    path = resolve_model(name)
    if path is None:
        if notice is not None:
            notice(no_model_notice(name))
        return None
    if importlib.util.find_spec("faster_whisper") is None:
        if notice is not None:
            notice(
                "faster-whisper is not installed (pip install 'faster-whisper>=1.1'); "
                "coaching on VAD alone"
            )
        return None
    verify_model(path)
    name = path.name

    def factory() -> Engine:
        return WhisperEngine(path, language, tc.threads, tc.beam_size)

    if live:
        return WorkerTranscriber(factory, name=name)
    try:
        engine = factory()
    except Exception as e:
        raise CoachError(f"cannot load the transcription model {path}: {e}") from None
    return SyncTranscriber(engine, name=name)
