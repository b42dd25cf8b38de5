"""The contract's conformance cases, run in-process against the timeline stage.

Each case of shared/eval/timelines.json is fed (1) whole and (2) streamed in
small steps the way the live daemon feeds it: both must give the expected
statistics and nudges exactly. Without the shared folder the module is skipped
with one line saying so; in CI that fails instead.
"""

from __future__ import annotations

import pytest

from coach.cli.conformance import compare
from coach.config import Config
from coach.core.pipeline import analyze_segments
from tests.support.ci import IN_CI
from tests.support.shared import CASES, MISSING, require_cases
from tests.support.streaming import stream_segments

if not CASES and not IN_CI:
    pytest.skip(MISSING, allow_module_level=True)


def test_the_cases_are_there() -> None:
    assert len(require_cases()) > 0


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_whole(case: dict) -> None:
    got = analyze_segments(case["duration_s"], case["speech"], Config())
    assert compare(case["expected"], got) == []


@pytest.mark.parametrize("step_ms", [10, 137, 1000])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_streamed(case: dict, step_ms: int) -> None:
    got, emitted = stream_segments(case["duration_s"], case["speech"], step_ms)
    assert compare(case["expected"], got) == []
    # a nudge is emitted once its instant is known, never before it
    for t_ms, at_ms, _ in emitted:
        assert at_ms >= t_ms
