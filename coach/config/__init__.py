"""The user's settings: every key's default, range and reason, and where values come from.

What enters is the defaults, an optional TOML file (``$COACH_CONFIG`` or the
platform's config folder), a preset and command-line overrides; what leaves is
one validated, frozen :class:`Config` (inside a :class:`LoadedConfig` that says
where each value came from), which every stage reads. The keys are dataclass
fields whose metadata is each key's rule and reason (made by ``keys``), in the
tables of ``measure_tables``, ``nudges_table`` and ``setup_tables``; ``schema``
gathers them into :class:`Config`, and ``presets``, ``validate`` (one key),
``rules`` (keys together), ``loader``, ``toml_text`` and ``render``
(`coach config init`) read it. Importers use this package's names.
"""

from coach.config.keys import KeySpec, Source, Value
from coach.config.loader import (
    ENV_VAR,
    LoadedConfig,
    config_from_data,
    default_config_path,
    load_config,
    override,
)
from coach.config.measure_tables import ReportConfig, TurnsConfig, VadConfig
from coach.config.nudges_table import NudgesConfig
from coach.config.presets import PRESETS, Preset
from coach.config.render import render_config_toml
from coach.config.rules import (
    DEFAULT_MODEL_EN,
    DEFAULT_MODEL_MULTILINGUAL,
    check_config,
    model_name,
    speech_language,
)
from coach.config.schema import DEFAULTS, KEYS, SECTION_CLASSES, TABLES, Config, config_values
from coach.config.setup_tables import (
    AudioConfig,
    CoachConfig,
    HistoryConfig,
    LiveConfig,
    TranscribeConfig,
)
from coach.config.toml_text import toml_value
from coach.config.validate import allowed

__all__ = [
    "Value",
    "ENV_VAR",
    "DEFAULT_MODEL_EN",
    "DEFAULT_MODEL_MULTILINGUAL",
    "KeySpec",
    "Source",
    "TABLES",
    "KEYS",
    "Preset",
    "PRESETS",
    "VadConfig",
    "TurnsConfig",
    "NudgesConfig",
    "ReportConfig",
    "CoachConfig",
    "AudioConfig",
    "LiveConfig",
    "TranscribeConfig",
    "HistoryConfig",
    "Config",
    "SECTION_CLASSES",
    "DEFAULTS",
    "LoadedConfig",
    "config_values",
    "toml_value",
    "allowed",
    "speech_language",
    "model_name",
    "check_config",
    "default_config_path",
    "config_from_data",
    "load_config",
    "override",
    "render_config_toml",
]
