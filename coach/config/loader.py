"""Loading: the user's TOML file layered over the defaults and a call-type preset.

Layering, lowest first: built-in defaults < call-type preset < the user's file
(< explicit overrides such as `--no-transcribe`, via `override`). Every problem
is one CoachError line naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from coach.config.keys import Value
from coach.config.presets import PRESETS
from coach.config.rules import cross_check
from coach.config.schema import KEYS, Config, build_config, config_values
from coach.config.toml_text import key_text, show
from coach.config.validate import Invalid, coerce, did_you_mean, err, parse_data
from coach.errors import CoachError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

ENV_VAR = "COACH_CONFIG"
"""Environment variable naming the config file to use instead of the default location."""


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where each value came from.

    `sources` maps "section.key" to "default", "preset NAME", the file's path, or
    the name of an override (e.g. "--preset", "--no-transcribe").
    """

    config: Config
    sources: dict[str, str]
    path: Path | None = None  # the file that was read, if any
    preset: str | None = None  # the preset applied, if any


def default_config_path() -> Path:
    """$COACH_CONFIG if set, else the platform's user config dir / config.toml."""
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir("coach", appauthor=False)) / "config.toml"


def _read_toml(path: Path, explicit: bool) -> dict[str, Any] | None:
    """Parse the file; None when the default file does not exist."""
    if path.is_dir():
        raise err(
            f"{path} is a directory, not a config file; give the path of a .toml file "
            "(`coach config init --path FILE` writes one)"
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not explicit:
            return None
        raise err(
            f"config file {path} not found; check the path, or create it with "
            f"`coach config init --path {path}`"
        ) from None
    except OSError as exc:
        raise err(
            f"cannot read config file {path}: {exc.strerror or exc}; check its permissions"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise err(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); save it as "
            "UTF-8 or rewrite it with `coach config init --force`"
        ) from None
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise err(
            f"{path}: not valid TOML: {exc}; fix that line (strings need double "
            "quotes, each key = value on its own line)"
        ) from None


def config_from_data(
    data: Mapping[str, object] | None,
    origin: str = "<config>",
    preset: str | None = None,
    path: Path | None = None,
) -> LoadedConfig:
    """Layer defaults < preset < `data` (parsed TOML) and validate; CoachError if bad.

    `preset` (from the command line) wins over a `coach.preset` named in `data`.
    """
    file_values = parse_data(data or {}, origin)
    chosen = preset or str(file_values.get("coach.preset", "")) or None
    if chosen is not None and chosen not in PRESETS:
        names = list(PRESETS)
        raise err(
            f"unknown preset {show(chosen)}{did_you_mean(chosen, names)}; the presets "
            f"are {', '.join(names)}"
        )

    values: dict[str, Value] = {name: spec.default for name, spec in KEYS.items()}
    sources = {name: "default" for name in KEYS}
    if chosen is not None:
        for name, value in PRESETS[chosen].values.items():
            values[name] = value
            sources[name] = f"preset {chosen}"
    for name, value in file_values.items():
        values[name] = value
        sources[name] = origin
    if preset:
        values["coach.preset"] = preset
        sources["coach.preset"] = "--preset"

    try:
        cross_check(values, {k: "this file" if v == origin else v for k, v in sources.items()})
    except CoachError as exc:
        raise (err(f"{origin}: {exc}") if data else exc) from None
    return LoadedConfig(build_config(values), sources, path, chosen)


def load_config(path: Path | str | None = None, preset: str | None = None) -> LoadedConfig:
    """Load the user's config over the defaults and an optional preset.

    `path=None` reads `default_config_path()`, which may be missing (defaults
    apply); an explicitly given path must exist. Every problem is a one-line
    CoachError naming the file, the key, the value and what is allowed.
    """
    explicit = path is not None
    file = Path(path) if path is not None else default_config_path()
    data = _read_toml(file, explicit)
    if data is None:
        return config_from_data(None, "default", preset, None)
    return config_from_data(data, str(file), preset, file)


def override(loaded: LoadedConfig, values: Mapping[str, object], source: str) -> LoadedConfig:
    """Apply command-line overrides, e.g. {"transcribe.enabled": False} from --no-transcribe."""
    current = config_values(loaded.config)
    sources = dict(loaded.sources)
    for name, value in values.items():
        spec = KEYS.get(name)
        if spec is None:
            raise err(f"{source}: unknown key {key_text(name)}{did_you_mean(name, list(KEYS))}")
        try:
            current[name] = coerce(spec, value)
        except Invalid as bad:
            raise err(f"{source}: {name} = {show(value)} {bad}") from None
        sources[name] = source
    cross_check(current, sources)
    return dataclasses.replace(loaded, config=build_config(current), sources=sources)
