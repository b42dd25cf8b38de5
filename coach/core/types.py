"""The core's shared vocabulary: the two sides of a call and the one sample rate."""

from __future__ import annotations

from enum import IntEnum

SAMPLE_RATE_HZ = 16000
"""Every stream inside the coach: files and devices are resampled to it on the way in."""


class Side(IntEnum):
    REP = 0
    CUSTOMER = 1

    @property
    def other(self) -> Side:
        return Side(1 - self)

    @property
    def label(self) -> str:
        return "rep" if self is Side.REP else "customer"
