"""Shared fixtures: every test's history kept out of the user's real data
directory; the project's virtual PulseAudio for the tests that record for real."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.pulse import PulseUnavailable, VirtualPulse

IN_CI = os.environ.get("CI", "").lower() == "true"

# Property tests: in CI each test draws from a seed fixed by its own source
# (derandomize), so a failure there reproduces anywhere with
# HYPOTHESIS_PROFILE=ci; elsewhere they explore anew on every run. Loaded here,
# before the test modules are imported, so their own @settings inherit it.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "explore")
settings.load_profile(HYPOTHESIS_PROFILE)


def _hypothesis_line() -> str:
    how = (
        "fixed seed per test (derandomize)"
        if settings().derandomize
        else "a new seed each run (reproduce a CI failure with HYPOTHESIS_PROFILE=ci)"
    )
    return f"hypothesis: profile {HYPOTHESIS_PROFILE!r}, {how}"


def pytest_report_header(config: pytest.Config) -> str:
    return _hypothesis_line()


@pytest.fixture(autouse=True, scope="session")
def _private_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("COACH_DATA_DIR", str(tmp_path_factory.mktemp("coach-data")))
    yield
    mp.undo()


def _started_pulse(root: Path) -> VirtualPulse:
    """scripts/pulse-virtual.sh in ``root``, started; skips only where PulseAudio
    is not installed or will not start, and with CI=true fails instead."""
    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        reason = "PulseAudio is not installed (bash scripts/install-system-deps.sh)"
        if IN_CI:
            pytest.fail(f"CI must run the tests that record for real: {reason}")
        pytest.skip(reason)
    server = VirtualPulse(root)
    try:
        server.start(attempts=2)  # a failed start is retried once; the assertions never are
    except PulseUnavailable as e:
        if IN_CI:
            pytest.fail(str(e))
        pytest.skip(str(e))
    return server


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualPulse]:
    """The virtual PulseAudio shared by one test module's tests."""
    server = _started_pulse(tmp_path_factory.mktemp("pulse"))
    yield server
    server.stop()


@pytest.fixture
def own_pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualPulse]:
    """A virtual PulseAudio of the test's own, for a test that stops or restarts
    it: the module's shared server is never touched, whatever the order."""
    server = _started_pulse(tmp_path_factory.mktemp("own-pulse"))
    yield server
    server.stop()
