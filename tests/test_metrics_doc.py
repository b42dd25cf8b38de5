"""docs/metrics.md stays the definition of what the code reports: keys, kinds, JSON.

The page is prose, so only what can drift silently is checked: every config key
with its default and range, every nudge kind, every key of the ``coach.stats/1``
object the code builds, and the JSON example.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from coach.config import KEYS, Config, allowed, toml_value
from coach.core.nudge_text import KINDS
from coach.core.pipeline import analyze_segments

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
TEXT = DOC.read_text(encoding="utf-8")

# What only transcription or the command line adds (tests/test_transcribe.py checks them).
ADDED_KEYS = {
    "questions",
    "summaries",
    "pace_wpm",
    "filler_words",
    "transcription",
    "call_type",
    "warnings",
    "backchannel_words",
    "backchannel_word_counts",
}


def a_call_with_every_nudge() -> dict[str, Any]:
    """A scripted call whose nudges include a held one, so every optional field is there."""
    rep = [(0.0, 5.0), (37.0, 45.0), (60.0, 130.0), (131.0, 200.0)]
    customer = [(6.0, 36.0), (46.0, 58.0), (100.0, 100.5), (120.0, 126.0)]
    return analyze_segments(240.0, {"rep": rep, "customer": customer}, Config())


def documented_keys() -> set[str]:
    return set(re.findall(r"`([a-z_]+)`", TEXT))


def test_every_config_key_is_listed_with_its_default_and_range() -> None:
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_0-9]+)` \| `(.*?)` \| (.*?) \|$", TEXT, re.M)
    assert rows == [(name, toml_value(spec.default), allowed(spec)) for name, spec in KEYS.items()]


def test_every_nudge_kind_has_its_rule() -> None:
    kinds = re.findall(r"^\| `([a-z_]+)` \| ", TEXT, re.M)
    assert [k for k in kinds if "." not in k] == list(KINDS)


def test_every_key_of_the_stats_object_is_defined() -> None:
    stats = a_call_with_every_nudge()
    keys = set(stats) | set(stats["rep"]) | set(stats["customer"]) | set(stats["cues"])
    keys |= {k for n in stats["nudges"] for k in n}
    assert {"shown", "held_s"} <= keys, "the call no longer has a held nudge"
    missing = (keys | ADDED_KEYS) - documented_keys()
    assert not missing, f"docs/metrics.md does not define {sorted(missing)}"


def test_the_json_example_is_a_stats_object_with_every_required_key() -> None:
    block = re.search(r"```json\n(.*?)```", TEXT, re.S)
    assert block is not None
    example = json.loads(block.group(1))
    stats = a_call_with_every_nudge()
    assert example["schema"] == stats["schema"] == "coach.stats/1"
    assert set(stats) <= set(example)
    for side in ("rep", "customer"):
        assert set(stats[side]) <= set(example[side])
