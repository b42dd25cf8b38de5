"""Cross-key rules: settings that are each allowed but contradict one another.

Also the two derived values the rules need (the speech language and the model
name), which every stage reads through here so they are decided in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coach.config.keys import Value
from coach.config.schema import KEYS, Config, config_values
from coach.config.toml_text import show, toml_value
from coach.config.validate import Invalid, coerce, err

DEFAULT_MODEL_EN = "tiny.en"
"""transcribe.model = "" for English speech."""
DEFAULT_MODEL_MULTILINGUAL = "base"
"""transcribe.model = "" for any other language (German)."""


@dataclass(frozen=True)
class _Rule:
    """A real contradiction between two keys: `low` must be below (or at most) `high`."""

    low: str
    high: str
    strict: bool
    why: str


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "turns.utterance_gap_s",
        "turns.floor_gap_s",
        False,
        "otherwise a side would lose the floor in the middle of its own utterance",
    ),
    _Rule(
        "turns.backchannel_max_s",
        "nudges.acknowledge_after_s",
        True,
        "a backchannel resets the acknowledge count, so it must be shorter than that count",
    ),
    _Rule(
        "nudges.pause_s",
        "nudges.max_wait_s",
        False,
        "the acknowledge nudge waits at most max_wait_s for a pause of pause_s",
    ),
)


def cross_check(values: Mapping[str, Value], sources: Mapping[str, str]) -> None:
    def where(name: str) -> str:
        return f"{name} = {toml_value(values[name])} (from {sources[name]})"

    for rule in _RULES:
        low, high = float(values[rule.low]), float(values[rule.high])
        if low > high or (rule.strict and low == high):
            relation = "less than" if rule.strict else "at most"
            raise err(
                f"contradictory settings: {where(rule.low)} must be {relation} "
                f"{where(rule.high)}, because {rule.why}; change one of them"
            )
    language = _speech_language(values)
    model = _model_name(str(values["transcribe.model"]), language)
    if values["transcribe.enabled"] and Path(model).name.endswith(".en") and language != "en":
        lang_key = "transcribe.language" if values["transcribe.language"] else "coach.language"
        raise err(
            f"contradictory settings: {where(lang_key)} needs a "
            f"multilingual model, but {where('transcribe.model')} is English-only; "
            'set transcribe.model to e.g. "base" (or "" for the default) or '
            'transcribe.language = "en"'
        )


def _speech_language(values: Mapping[str, Value]) -> str:
    return str(values["transcribe.language"] or values["coach.language"])


def _model_name(model: str, language: str) -> str:
    if model:
        return model
    return DEFAULT_MODEL_EN if language == "en" else DEFAULT_MODEL_MULTILINGUAL


def speech_language(config: Config) -> str:
    """The language of the speech: ``transcribe.language``, else ``coach.language``."""
    return config.transcribe.language or config.coach.language


def model_name(config: Config) -> str:
    """The model ``transcribe.model`` asks for: "" means the default for the speech language."""
    return _model_name(config.transcribe.model, speech_language(config))


def check_config(config: Config) -> None:
    """Validate a Config built in code (ranges and cross-key rules); CoachError if bad."""
    values: dict[str, Value] = {}
    for name, value in config_values(config).items():
        try:
            values[name] = coerce(KEYS[name], value)
        except Invalid as bad:
            raise err(f"{name} = {show(value)} {bad}") from None
    cross_check(values, {name: "code" for name in values})
