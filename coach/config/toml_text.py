"""TOML text: how a value is written into the file, and how one is shown in a message."""

from __future__ import annotations

import datetime as _dt
import math
import re

from coach.config.keys import Value


def toml_value(value: Value) -> str:
    """A scalar as TOML source text (also how values are shown to the user)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return toml_str(value)


def toml_str(text: str) -> str:
    escapes = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(value: object) -> str:
    """A value as the user wrote it, short and on one line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return ("-" if value < 0 else "") + f"a {value.bit_length()}-bit number"
    if isinstance(value, (bool, int, float, str)):
        return _clip(toml_value(value))
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return _clip("[" + ", ".join(show(v) for v in value[:5]) + "]")
    if isinstance(value, dict):
        return _clip(
            "{"
            + ", ".join(f"{key_text(str(k))} = {show(v)}" for k, v in list(value.items())[:5])
            + "}"
        )
    return _clip(repr(value))


def key_text(name: str) -> str:
    return _clip(name if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else toml_str(name), 40)


def noun(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, _dt.datetime):
        return "a date-time"
    if isinstance(value, _dt.date):
        return "a date"
    if isinstance(value, _dt.time):
        return "a time"
    return type(value).__name__


def num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
