"""What a config key is: a dataclass field whose metadata holds its rule and reason.

:func:`key` makes such a field and :class:`KeySpec` is how the loader, the
validation and the renderer see it once it is placed in a table; the tables
themselves are the dataclasses gathered in :mod:`coach.config.schema`.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

Value: TypeAlias = bool | int | float | str
_V = TypeVar("_V", bool, int, float, str)

KEY_META = "coach.key"  # the metadata entry of a key's field
TABLE_META = "coach.table"  # the metadata entry of a table's field in Config

SECONDS = "seconds"  # the unit of every *_s key
DAY_S = 86400.0  # upper bound for timers, so a huge value effectively switches a nudge off


class Source(enum.Enum):
    """Where the reason for a default comes from; the reason's text names it."""

    CONTRACT = "metrics contract"  # the metric definitions (docs/metrics.md)
    RESEARCH = "research"  # a published study or sales-call analysis, cited by name
    MEASURED = "measured"  # measured for this project, on real or generated speech
    CHOICE = "project choice"  # a judgement call, said as such
    DESIGN = "design"  # what the key does; there is no figure to cite


@dataclass(frozen=True, kw_only=True)
class KeyRule:
    """What one key allows and why its default is what it is (a field's metadata)."""

    why: str
    source: tuple[Source, ...]
    min: float | None = None
    max: float | None = None
    min_open: bool = False  # True: the value must be strictly greater than `min`
    choices: tuple[Value, ...] = ()
    unit: str = ""
    pattern: str | None = None  # str keys: re.fullmatch this
    pattern_help: str = ""


@dataclass(frozen=True, kw_only=True)
class KeySpec(KeyRule):
    """One config key as the loader and renderer see it: its place, default and type too."""

    section: str
    key: str
    default: Value
    kind: type  # bool, int, float or str

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


def key(
    default: _V,
    *,
    why: str,
    source: Source | tuple[Source, ...],
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    choices: tuple[Value, ...] = (),
    unit: str = "",
    pattern: str | None = None,
    pattern_help: str = "",
) -> _V:
    """A config key: a dataclass field with its default and its rule as metadata."""
    rule = KeyRule(
        why=why,
        source=source if isinstance(source, tuple) else (source,),
        min=min,
        max=max,
        min_open=min_open,
        choices=choices,
        unit=unit,
        pattern=pattern,
        pattern_help=pattern_help,
    )
    return field(default=default, metadata={KEY_META: rule})


def table(cls: type[Any], about: str) -> Any:
    """A TOML table: a field of Config holding one section, with its comment for the file."""
    return field(default_factory=cls, metadata={TABLE_META: about})


def tables_of(config_cls: type[Any]) -> dict[str, str]:
    """Table name -> its comment for the file, from the fields made by :func:`table`."""
    return {f.name: f.metadata[TABLE_META] for f in dataclasses.fields(config_cls)}


def keys_of(sections: dict[str, type[Any]]) -> dict[str, KeySpec]:
    """Every key of these tables as a KeySpec, "section.key" -> spec, in field order."""
    keys: dict[str, KeySpec] = {}
    for section, cls in sections.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            rule: KeyRule = f.metadata[KEY_META]
            kind, default = hints[f.name], f.default
            if not isinstance(default, (bool, int, float, str)) or type(default) is not kind:
                raise TypeError(f"default of {section}.{f.name} is not a {kind.__name__}")
            rest = {r.name: getattr(rule, r.name) for r in dataclasses.fields(KeyRule)}
            spec = KeySpec(section=section, key=f.name, default=default, kind=kind, **rest)
            keys[spec.name] = spec
    return keys
