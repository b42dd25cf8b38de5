"""Shared fixtures: every test's history kept out of the user's real data
directory; the project's virtual PulseAudio for the tests that record for real."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from coach.bench_live import PulseUnavailable, VirtualPulse
from coach.virtual_pipewire import VirtualPipeWire

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True, scope="session")
def _private_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("COACH_DATA_DIR", str(tmp_path_factory.mktemp("coach-data")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualPulse]:
    """scripts/pulse-virtual.sh, one server per test module.

    Skips only where PulseAudio is not installed; with CI=true it fails instead.
    """
    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        reason = "PulseAudio is not installed (bash scripts/install-system-deps.sh)"
        if IN_CI:
            pytest.fail(f"CI must run the tests that record for real: {reason}")
        pytest.skip(reason)
    server = VirtualPulse(tmp_path_factory.mktemp("pulse"))
    try:
        server.start(attempts=2)  # a failed start is retried once; the assertions never are
    except PulseUnavailable as e:
        if IN_CI:
            pytest.fail(str(e))
        pytest.skip(str(e))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pipewire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualPipeWire]:
    """coach/virtual_pipewire.py, one server per test module; skips or fails as ``pulse``."""
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
