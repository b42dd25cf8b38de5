"""What every side on the native PulseAudio input keeps about its stream, held once.

A side (:class:`coach.audio.pulse_capture.PulseSide`, a device's record stream;
:class:`coach.audio.app_capture.AppSide`, an app's streams) opens its stream on
the input's one connection. Each open starts a new generation, so blocks read
from a stream closed since are told apart, and the capture's health checks see
when it was opened and when it last delivered.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from coach.audio.devices import DeviceChoice
    from coach.audio.pulse import PulseConnection


class NativeStream(Protocol):
    """What the input reads a side's stream through: a record stream, or an app's streams."""

    @property
    def ready(self) -> bool: ...

    @property
    def device(self) -> str | None: ...

    def read(self) -> bytes: ...

    def close(self) -> None: ...


class Owner(Protocol):
    """The input a side belongs to: its clock, and its one connection to the server."""

    clock: Callable[[], float]

    def connection(self, choice: DeviceChoice) -> PulseConnection: ...


StreamT = TypeVar("StreamT", bound=NativeStream)


class NativeSide(ABC, Generic[StreamT]):
    """One side's stream on the input's connection, and its open/close bookkeeping."""

    def __init__(self, side: int, choice: DeviceChoice, owner: Owner) -> None:
        self.side = side
        self.choice = choice
        self.owner = owner
        self.stream: StreamT | None = None
        self.generation = 0
        self.dropped = 0
        self.overflows = 0
        """Always 0: a record stream that is not read in time loses audio on the
        server, which the aligner sees as a gap in the sample count."""
        self.last_block_t: float | None = None
        self.opened_at = 0.0
        self.device: str | None = None
        """The source the stream records from, as last known (opened, or moved by the server)."""

    def open(self) -> None:
        """Open the stream anew (raises CoachError in words)."""
        self.close()
        self.generation += 1
        self.last_block_t = None
        self.opened_at = self.owner.clock()
        self.stream = self._start(self.owner.connection(self.choice))
        self.device = self.stream.device

    @abstractmethod
    def _start(self, conn: PulseConnection) -> StreamT:
        """This side's stream on ``conn`` (raises CoachError in words)."""

    def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()

    @property
    def alive(self) -> bool:
        return self.stream is not None and self.stream.ready
