"""Fakes for the thin edges: a clock that moves only when slept on."""

from __future__ import annotations


class FakeClock:
    """Wall time that moves only when someone sleeps."""

    def __init__(self, start: float = 1000.0, min_sleep_s: float = 1e-4) -> None:
        self.now = start
        self.min_sleep_s = min_sleep_s

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, self.min_sleep_s)
