"""The shared evaluation folder beside the checkout: the contract's conformance cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.ci import IN_CI

TIMELINES = Path(__file__).resolve().parents[3] / "shared" / "eval" / "timelines.json"
CASES: list[dict[str, Any]] = (
    json.loads(TIMELINES.read_text())["cases"] if TIMELINES.exists() else []
)
MISSING = f"no conformance cases: {TIMELINES} is missing (the shared folder beside the checkout)"


def require_cases() -> list[dict[str, Any]]:
    """The cases; where they are missing a skip saying so, and in CI a failure."""
    if not CASES:
        if IN_CI:
            pytest.fail(f"CI must run the conformance cases: {MISSING}")
        pytest.skip(MISSING)
    return CASES
