"""The transcription names in one import, for callers that want the whole of it.

The parts live in their own modules: ``model_store`` (where models are and
whether they are intact), ``engine`` (faster-whisper), ``transcribers`` (who runs
the passes, and :func:`open_transcriber`), ``stage`` (what is transcribed when,
and what the text changes) and ``utterance_text`` (what the words add to the
statistics and the transcript).
"""

from coach.transcription.engine import Engine, WhisperEngine, offline, transcribe_many
from coach.transcription.model_store import (
    DEFAULT_MODEL,
    KNOWN_SHA256,
    MODELS_ENV,
    STAMP,
    ModelInfo,
    installed_models,
    is_model_dir,
    model_dirs,
    no_model_notice,
    resolve_model,
    sha256_of,
    source_root,
    verify_model,
)
from coach.transcription.stage import (
    BEHIND_PACKS,
    CUSTOMER_SAMPLE,
    SHED_EVERY_MS,
    SHED_LEVELS,
    SHED_NOTICES,
    STORY_HOLD_S,
    STORY_LEAD_MS,
    STORY_SETTLE_MS,
    TranscriptionStage,
)
from coach.transcription.transcribers import (
    LIVE_QUEUE_MAX,
    PieceResult,
    SyncTranscriber,
    Transcriber,
    WorkerTranscriber,
    open_transcriber,
)
from coach.transcription.utterance_text import UtteranceText

__all__ = [
    "BEHIND_PACKS",
    "CUSTOMER_SAMPLE",
    "DEFAULT_MODEL",
    "KNOWN_SHA256",
    "LIVE_QUEUE_MAX",
    "MODELS_ENV",
    "SHED_EVERY_MS",
    "SHED_LEVELS",
    "SHED_NOTICES",
    "STAMP",
    "STORY_HOLD_S",
    "STORY_LEAD_MS",
    "STORY_SETTLE_MS",
    "Engine",
    "ModelInfo",
    "PieceResult",
    "SyncTranscriber",
    "Transcriber",
    "TranscriptionStage",
    "UtteranceText",
    "WhisperEngine",
    "WorkerTranscriber",
    "installed_models",
    "is_model_dir",
    "model_dirs",
    "no_model_notice",
    "offline",
    "open_transcriber",
    "resolve_model",
    "sha256_of",
    "source_root",
    "transcribe_many",
    "verify_model",
]
