"""Where the live loop's audio comes from: the protocol and a recording replayed in real time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from coach.audio.audio_io import open_call
from coach.audio.capture import SourceState
from coach.audio.portaudio_input import BLOCK_FRAMES
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

DEMO_CALL = Path(__file__).parent.parent / "data" / "demo_call.flac"


class Source(Protocol):
    """Where the live loop's audio comes from."""

    @property
    def listening(self) -> bool:
        """Both sides deliver audio (call time 0 is when this became true)."""
        ...

    @property
    def ended(self) -> str | None:
        """Why the source has nothing more to give, or None while it goes on."""
        ...

    def start(self) -> None: ...

    def read(self, max_wait_s: float) -> list[np.ndarray]:
        """The aligned blocks available now, waiting up to ``max_wait_s`` for some."""
        ...

    def state(self) -> SourceState: ...

    def close(self) -> None: ...

    @property
    def notices(self) -> Sequence[tuple[float, str]]:
        """Each device change so far, once: (call seconds, the line that says it)."""
        ...

    @property
    def realigned(self) -> Sequence[int]:
        """Each time the sides were realigned so far: the sample the realignment is at."""
        ...

    def want(self, frames: int) -> None:
        """The loop will feed when ``frames`` samples are in: a hint for batching reads."""
        ...


class ReplaySource:
    """A recording replayed in real time (times ``speed``), 20 ms at a time.

    Paced by the wall clock, analysed in audio time: after ``s`` wall seconds
    the loop has been given ``s * speed`` seconds of the call.
    """

    def __init__(
        self,
        path: Path,
        speed: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise CoachError(f"--speed must be a positive number, got {speed}")
        self.path = path
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self.duration_s = 0.0
        self._blocks: Iterator[np.ndarray] | None = None
        self._t0 = 0.0
        self._given = 0  # frames handed out
        self._ended: str | None = None

    @property
    def listening(self) -> bool:
        return self._blocks is not None

    @property
    def ended(self) -> str | None:
        return self._ended

    def start(self) -> None:
        info, self._blocks = open_call(self.path, block_s=BLOCK_FRAMES / SAMPLE_RATE_HZ)
        self.duration_s = info.duration_s
        self._t0 = self.clock()

    def _due(self) -> int:
        return math.floor((self.clock() - self._t0) * self.speed * SAMPLE_RATE_HZ)

    def read(self, max_wait_s: float) -> list[np.ndarray]:
        if self._blocks is None or self._ended is not None:
            return []
        due = self._due()
        if due < self._given + BLOCK_FRAMES:
            wait = (self._given + BLOCK_FRAMES - due) / (self.speed * SAMPLE_RATE_HZ)
            self.sleep(max(0.0, min(max_wait_s, wait)))
            due = self._due()
        out: list[np.ndarray] = []
        while self._given + BLOCK_FRAMES <= due:
            block = next(self._blocks, None)
            if block is None:
                self._ended = "end of the recording"
                break
            out.append(block)
            self._given += block.shape[1]
        return out

    def state(self) -> SourceState:
        speed = f" at {self.speed:g}x" if self.speed != 1 else ""
        return SourceState(status=(f"replaying {self.path.name}{speed}",))

    def close(self) -> None:
        self._blocks = None

    @property
    def notices(self) -> Sequence[tuple[float, str]]:
        return ()  # a recording has no devices to change

    @property
    def realigned(self) -> Sequence[int]:
        return ()  # a recording's two sides are aligned from the start

    def want(self, frames: int) -> None:
        pass  # a recording is read at its own pace, 20 ms at a time
