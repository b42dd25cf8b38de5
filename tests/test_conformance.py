"""The contract's conformance cases, run in-process against the timeline stage.

Each case of shared/eval/timelines.json is fed (1) whole and (2) streamed in
small steps the way the live daemon feeds it: both must give the expected
statistics and nudges exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.config import Config
from coach.conformance import compare
from coach.pipeline import analyze_segments
from tests.support.streaming import stream_segments

TIMELINES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "timelines.json"
CASES = json.loads(TIMELINES.read_text())["cases"] if TIMELINES.exists() else []


@pytest.mark.skipif(not CASES, reason=f"needs {TIMELINES} (the shared folder beside the checkout)")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_whole(case: dict) -> None:
    got = analyze_segments(case["duration_s"], case["speech"], Config())
    assert compare(case["expected"], got) == []


@pytest.mark.skipif(not CASES, reason=f"needs {TIMELINES}")
@pytest.mark.parametrize("step_ms", [10, 137, 1000])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_streamed(case: dict, step_ms: int) -> None:
    got, emitted = stream_segments(case["duration_s"], case["speech"], step_ms)
    assert compare(case["expected"], got) == []
    # a nudge is emitted once its instant is known, never before it
    for t_ms, at_ms, _ in emitted:
        assert at_ms >= t_ms
