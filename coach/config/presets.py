"""Call-type presets: values layered over the defaults and under the user's file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coach.config.keys import Value


@dataclass(frozen=True)
class Preset:
    """A call type's values, layered over the defaults and under the user's file."""

    name: str
    values: Mapping[str, Value]
    why: str


PRESETS: dict[str, Preset] = {
    "discovery": Preset(
        "discovery",
        {"nudges.talk_ratio_max": 0.55},
        "let the customer talk: Gong's best-converting calls had reps at 43 % of the talk",
    ),
    "demo": Preset(
        "demo",
        {"nudges.talk_ratio_max": 0.70},
        "a demo is the rep's show, but conversion still falls as reps pass ~70 %",
    ),
    "cold-call": Preset(
        "cold-call",
        {"nudges.talk_ratio_max": 0.65},
        "Gong: successful cold calls had reps at 55 % of the talk; alert at 65 %",
    ),
}
"""Call-type presets, layered over the defaults and under the user's file."""
