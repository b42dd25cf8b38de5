"""The config schema: every key of the TOML file is a field of a table's dataclass.

A key's type is its field's annotation and its default the field's default; what
it allows (range, choices, pattern, unit), the reason for its default and the
kind of source behind that reason sit in the field's metadata
(:func:`coach.config.keys.key`). The tables live in ``measure_tables``,
``nudges_table`` and ``setup_tables``; :class:`Config` gathers them in the file's
order, and everything else (``KEYS``, the loader, validation, the renderer) is
derived from their fields, so a key is spelled once. Times are float seconds; the
pipeline converts to what it needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coach.config.keys import KeySpec, Value, keys_of, table, tables_of
from coach.config.measure_tables import ReportConfig, TurnsConfig, VadConfig
from coach.config.nudges_table import NudgesConfig
from coach.config.setup_tables import (
    AudioConfig,
    CoachConfig,
    HistoryConfig,
    LiveConfig,
    TranscribeConfig,
)


@dataclass(frozen=True)
class Config:
    """The effective configuration; one attribute per TOML table, in the file's order."""

    vad: VadConfig = table(VadConfig, "Voice activity detection: which audio counts as speech.")
    turns: TurnsConfig = table(
        TurnsConfig, "Turn-taking: utterances, backchannels and who holds the floor."
    )
    nudges: NudgesConfig = table(
        NudgesConfig,
        "Live nudges: when the coach prompts the rep, and when a nudge counts as heeded.",
    )
    report: ReportConfig = table(ReportConfig, "Post-call report.")
    coach: CoachConfig = table(CoachConfig, "General.")
    audio: AudioConfig = table(
        AudioConfig, "Audio devices for `coach start` (see `coach devices`)."
    )
    live: LiveConfig = table(LiveConfig, "The live panel and how nudges reach the rep.")
    transcribe: TranscribeConfig = table(
        TranscribeConfig,
        "Offline transcription with faster-whisper (`make models` installs tiny.en).",
    )
    history: HistoryConfig = table(
        HistoryConfig, "Local call history (statistics only; never audio)."
    )


TABLES: dict[str, str] = tables_of(Config)
"""Table name -> its comment in the rendered file, in file order."""
SECTION_CLASSES: dict[str, type] = {name: type(part) for name, part in vars(Config()).items()}
"""Table name -> its dataclass, in file order."""
KEYS: dict[str, KeySpec] = keys_of(SECTION_CLASSES)
"""Every config key, "section.key" -> its spec, in file order."""
DEFAULTS = Config()


def config_values(config: Config) -> dict[str, Value]:
    """Flatten a Config to {"section.key": value} in file order."""
    nested = dataclasses.asdict(config)
    return {name: nested[spec.section][spec.key] for name, spec in KEYS.items()}


def build_config(values: Mapping[str, Value]) -> Config:
    """The Config of flat {"section.key": value} pairs (every key present, already valid)."""
    parts: dict[str, Any] = {}
    for section, cls in SECTION_CLASSES.items():
        kwargs = {spec.key: values[name] for name, spec in KEYS.items() if spec.section == section}
        parts[section] = cls(**kwargs)
    return Config(**parts)
