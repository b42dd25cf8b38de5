"""Per-key validation: a parsed value checked against its key, or one line saying why not.

Every message names the key, the value as written and what is allowed, and ends
with what to do; cross-key rules live in :mod:`coach.config.rules`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping

from coach.config.keys import KeySpec, Value
from coach.config.schema import KEYS, TABLES
from coach.config.toml_text import key_text, noun, num, show, toml_str, toml_value
from coach.errors import CoachError


def allowed(spec: KeySpec) -> str:
    """What a key accepts, in words: 'a number from 0 to 10 (seconds)'."""
    if spec.choices:
        return "one of " + ", ".join(toml_value(c) for c in spec.choices)
    if spec.kind is bool:
        return "true or false"
    if spec.kind is str:
        return spec.pattern_help or "a string in double quotes"
    noun = "a whole number" if spec.kind is int else "a number"
    if spec.min is not None and spec.max is not None:
        if spec.min_open:
            text = f"{noun} greater than {num(spec.min)} and at most {num(spec.max)}"
        else:
            text = f"{noun} from {num(spec.min)} to {num(spec.max)}"
    elif spec.min is not None:
        text = f"{noun} {'greater than' if spec.min_open else 'at least'} {num(spec.min)}"
    elif spec.max is not None:
        text = f"{noun} at most {num(spec.max)}"
    else:
        text = noun
    return f"{text} ({spec.unit})" if spec.unit else text


def err(message: str) -> CoachError:
    """A CoachError whose message is guaranteed to be a single printable line."""
    flat = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in message)
    return CoachError(flat)


def did_you_mean(word: str, options: list[str], cutoff: float = 0.6) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return f" (did you mean '{match[0]}'?)" if match else ""


# ---------------------------------------------------------------- validation


class Invalid(Exception):
    """A value that does not fit its key; the text completes '<key> = <value> ...'."""


def coerce(spec: KeySpec, value: object) -> Value:
    """Check one value against its spec and return it normalised (ints to float)."""
    example = f"e.g. {spec.key} = {toml_value(spec.default)}"
    if spec.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(
                f"is {noun(value)}, but it must be {allowed(spec)}; "
                f"{_unquote_hint(spec, value) or example}"
            )
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise Invalid(f"is not a finite number: it must be {allowed(spec)}; {example}")
    elif spec.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(
                f"is {noun(value)}, but it must be {allowed(spec)}; "
                f"{_unquote_hint(spec, value) or example}"
            )
        number = value
    elif spec.kind is bool:
        if not isinstance(value, bool):
            raise Invalid(f"is {noun(value)}, but it must be true or false (no quotes); {example}")
        return value
    else:
        if not isinstance(value, str):
            quoted = f"{spec.key} = {toml_str(show(value))}"
            hint = f"put it in double quotes: {quoted}"
            if not isinstance(value, (int, float)):
                hint = f"put it in double quotes, {example}"
            raise Invalid(f"is {noun(value)}, but it must be {allowed(spec)}; {hint}")
        if spec.choices and value not in spec.choices:
            options = [str(c) for c in spec.choices if c != ""]
            match = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            hint = f"did you mean {toml_str(match[0])}?" if match else example
            raise Invalid(f"is not allowed: it must be {allowed(spec)}; {hint}")
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            raise Invalid(f"is not allowed: it must be {allowed(spec)}; {example}")
        return value

    if spec.choices and number not in spec.choices:
        raise Invalid(f"is not allowed: it must be {allowed(spec)}; {example}")
    too_low = spec.min is not None and (number <= spec.min if spec.min_open else number < spec.min)
    too_high = spec.max is not None and number > spec.max
    if too_low or too_high:
        raise Invalid(
            f"is out of range: it must be {allowed(spec)}; change it, or delete "
            f"the line to use the default ({toml_value(spec.default)})"
        )
    return float(number) if spec.kind is float else int(number)


def _unquote_hint(spec: KeySpec, value: object) -> str:
    """'write it without quotes' when a string holds a valid value of the right kind."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    try:
        parsed: Value = int(text) if spec.kind is int else float(text)
        coerce(spec, parsed)
    except (ValueError, Invalid):
        return ""
    return f"write it without quotes: {spec.key} = {text}"


def parse_data(data: Mapping[str, object], origin: str) -> dict[str, Value]:
    """Validate parsed TOML: {"table": {"key": value}} -> {"table.key": value}."""
    values: dict[str, Value] = {}
    tables = list(TABLES)
    for table, content in data.items():
        table = str(table)
        if table not in TABLES:
            if not isinstance(content, dict):
                homes = [name for name, spec in KEYS.items() if spec.key == table]
                where = (
                    f"put it under [{KEYS[homes[0]].section}] (as '{homes[0]}')"
                    if homes
                    else f"keys belong in one of the tables {', '.join(tables)}"
                )
                raise err(
                    f"{origin}: top-level key {key_text(table)} = {show(content)} is not "
                    f"allowed: {where}"
                )
            close = difflib.get_close_matches(table, tables, n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            raise err(
                f"{origin}: unknown table [{key_text(table)}]{hint}; the tables are "
                f"{', '.join(tables)}: fix its name or delete it"
            )
        if not isinstance(content, dict):
            raise err(
                f"{origin}: {table} = {show(content)} must be a table: write [{table}] "
                f"on its own line with its keys below it"
            )
        for key, value in content.items():
            key = str(key)
            name = f"{table}.{key}"
            spec = KEYS.get(name)
            if spec is None:
                raise err(
                    f"{origin}: unknown key {key_text(name)}{_suggest(table, key)}: fix the "
                    "name or delete it (`coach config show` lists every key)"
                )
            try:
                values[name] = coerce(spec, value)
            except Invalid as bad:
                raise err(f"{origin}: {name} = {show(value)} {bad}") from None
    return values


def _suggest(table: str, key: str) -> str:
    """A 'did you mean' for an unknown key: the same key in another table, or a close name."""
    homes = [name for name, spec in KEYS.items() if spec.key == key]
    if homes:
        return f" (did you mean '{homes[0]}'?)"
    hint = did_you_mean(f"{table}.{key}", list(KEYS))
    if hint:
        return hint
    match = difflib.get_close_matches(key, [spec.key for spec in KEYS.values()], n=1, cutoff=0.75)
    if not match:
        return ""
    name = next(n for n, spec in KEYS.items() if spec.key == match[0])
    return f" (did you mean '{name}'?)"
