"""Stopping a live call: Ctrl-C, SIGTERM and SIGHUP become a flag the loop reads."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class StopRequest:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) ask the loop to stop (it
    then reports and saves); a second Ctrl-C aborts.

    Handlers are only installed from the main thread (Python's rule); a flag,
    not an exception, so a signal never lands in the middle of the analysis.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._saved: dict[int, Any] = {}

    def request(self, reason: str) -> None:
        self.reason = self.reason or reason

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.reason is not None:
            raise KeyboardInterrupt
        reasons = {signal.SIGINT: "interrupted", signal.SIGHUP: "hung up"}
        self.request(reasons.get(signal.Signals(signum), "terminated"))

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()
