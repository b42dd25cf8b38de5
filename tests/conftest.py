"""How the suite runs: every test's history kept out of the user's real data
directory; the project's virtual PulseAudio for the tests that record for real;
the Hypothesis profile; the markers for what a test needs, which CI never lets
skip. What the tests share besides fixtures is in tests/support/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.ci import IN_CI
from tests.support.pipewire import VirtualPipeWire
from tests.support.pulse import PulseUnavailable, VirtualPulse

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


# What a marked test needs (the markers are declared in pyproject.toml); `make
# test-fast` runs everything without them. A test that asks for one of these
# fixtures is marked by that alone.
NEEDS = ("pulse", "strace", "model", "soak")
NEED_OF_FIXTURE = {
    "pulse": "pulse",
    "own_pulse": "pulse",
    "pipewire": "pulse",
    "real_model": "model",
    "real_speech": "model",  # transcribed by the real model
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for need in {NEED_OF_FIXTURE[f] for f in fixtures if f in NEED_OF_FIXTURE}:
            item.add_marker(need)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a test marked with a need fails where it would skip: CI must run it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not (IN_CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    needs = [n for n in NEEDS if item.get_closest_marker(n)]
    if needs:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI must run the tests that need {', '.join(needs)}: {reason}"


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


@pytest.fixture(scope="module")
def pipewire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualPipeWire]:
    """The virtual PipeWire (tests/support/pipewire.py) shared by one test module's
    tests; skips only where PipeWire is not installed, and with CI=true fails instead."""
    if shutil.which("pipewire") is None or shutil.which("pw-play") is None:
        reason = "PipeWire is not installed (bash scripts/install-system-deps.sh)"
        if IN_CI:
            pytest.fail(f"CI must run the tests that record for real: {reason}")
        pytest.skip(reason)
    server = VirtualPipeWire(tmp_path_factory.mktemp("pw"))
    try:
        server.start(attempts=2)
    except PulseUnavailable as e:
        if IN_CI:
            pytest.fail(str(e))
        pytest.skip(str(e))
    yield server
    server.stop()
