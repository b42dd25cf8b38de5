"""Keep every test's history out of the user's real data directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("COACH_DATA_DIR", str(tmp_path_factory.mktemp("coach-data")))
    yield
    mp.undo()
