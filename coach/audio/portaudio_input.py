"""The live capture's input through PortAudio (sounddevice): any platform, callbacks on its threads.

Each side is a PortAudio input stream at 16 kHz mono with a fixed 20 ms block.
Their callbacks only copy the block into one bounded queue (a full queue drops
the block and counts it; PortAudio's input-overflow flags are counted too),
which :class:`coach.audio.capture.LiveCapture` drains.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from coach.audio.devices import DeviceChoice, open_error
from coach.core.types import SAMPLE_RATE_HZ

BLOCK_FRAMES = 320
"""20 ms: PortAudio honours a fixed blocksize exactly (p95 callback gap 21 ms)."""
QUEUE_BLOCKS = 1000
"""Both sides' blocks in flight: ~10 s each, 1.3 MB; a full queue drops and counts."""
GATHER_S = 0.04
"""The consumer takes what has arrived at most this often. Each wakeup and each
analyzer call has a fixed cost: 40 ms instead of 20 saved ~3 % of a core here,
for ~10 ms more latency on average (measured with `make bench`)."""
INPUT_LATENCY_S = 0.06
"""PortAudio's input buffer. Callbacks still come every block; with ALSA's
'low' default (40 ms) its thread sometimes spun at 15-20 % CPU here, and at
100 ms the monitor source delivered ~40 ms later (measured through PulseAudio)."""

_ENV_LOCK = threading.Lock()
"""``PULSE_SOURCE`` is process-wide: one stream opens at a time."""


class SideStream:
    """One side's PortAudio input stream; the callback only copies into the queue."""

    def __init__(
        self,
        side: int,
        choice: DeviceChoice,
        sink: queue.Queue[tuple[int, int, float, bytes]],
        sd: ModuleType,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.side = side
        self.choice = choice
        self.sink = sink
        self.sd = sd
        self.clock = clock
        self.stream: Any = None
        self.generation = 0
        self.finished = False
        self.dropped = 0
        self.overflows = 0
        self.last_block_t: float | None = None
        self.opened_at = 0.0

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # raw bytes, not numpy: the cheapest copy there is (numpy views cost ~1 % CPU)
        if status.input_overflow:
            self.overflows += 1
        try:
            self.sink.put_nowait((self.side, self.generation, self.clock(), bytes(indata)))
        except queue.Full:
            self.dropped += 1

    def _finished(self) -> None:
        self.finished = True

    def open(self) -> None:
        """Open and start the stream (raises CoachError in words)."""
        self.close()
        self.generation += 1
        self.finished = False
        self.last_block_t = None
        self.opened_at = self.clock()
        self.stream = open_input(self.sd, self.choice, self._callback, self._finished)

    def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception:  # noqa: BLE001 - a dead server can fail in any way here
                pass

    @property
    def alive(self) -> bool:
        return self.stream is not None and not self.finished and bool(self.stream.active)


def open_input(
    sd: ModuleType,
    choice: DeviceChoice,
    callback: Callable[..., None],
    finished_callback: Callable[[], None] | None = None,
) -> Any:
    """A started ``sd.RawInputStream`` (float32) at 16 kHz mono, 20 ms blocks, for ``choice``.

    A PulseAudio source is selected by setting ``PULSE_SOURCE`` just while the
    ``pulse`` device opens (the plugin reads it then), under a lock because the
    environment is process-wide.
    """
    with _ENV_LOCK:
        saved = os.environ.get("PULSE_SOURCE")
        if choice.pulse_source is not None:
            os.environ["PULSE_SOURCE"] = choice.pulse_source
        try:
            stream = sd.RawInputStream(
                device=choice.device,
                samplerate=SAMPLE_RATE_HZ,
                channels=1,
                dtype="float32",
                blocksize=BLOCK_FRAMES,
                latency=INPUT_LATENCY_S,
                callback=callback,
                finished_callback=finished_callback,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as e:
            raise open_error(e, choice, sd) from None
        finally:
            if choice.pulse_source is not None:
                if saved is None:
                    os.environ.pop("PULSE_SOURCE", None)
                else:
                    os.environ["PULSE_SOURCE"] = saved
    return stream


class PortAudioInput:
    """Two PortAudio streams whose callbacks copy into one bounded queue."""

    name = "portaudio"

    def __init__(self, sd: ModuleType, clock: Callable[[], float], gather_s: float) -> None:
        self.sd = sd
        self.clock = clock
        self.gather_s = gather_s
        self.queue: queue.Queue[tuple[int, int, float, bytes]] = queue.Queue(QUEUE_BLOCKS)
        self._last_read = 0.0

    def side(self, i: int, choice: DeviceChoice) -> SideStream:
        return SideStream(i, choice, self.queue, self.sd, self.clock)

    def collect(
        self, max_wait_s: float, sleep: Callable[[float], None]
    ) -> list[tuple[int, int, float, bytes]]:
        """What the callbacks queued: after a short gather, waiting up to ``max_wait_s``."""
        start = self.clock()
        rest = min(self._last_read + self.gather_s - start, max_wait_s)
        if rest > 0:  # let a few blocks gather: fewer wakeups and analyzer calls
            sleep(rest)
        items = []
        try:
            items.append(self.queue.get(timeout=max(0.0, start + max_wait_s - self.clock())))
            while True:
                items.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        self._last_read = self.clock()
        return items

    def due(self, wait_s: float) -> None:
        """Callbacks push: nothing to schedule."""

    def reset(self) -> bool:
        """Nothing is open: let PortAudio see a restarted server (private, but the only way)."""
        terminate = getattr(self.sd, "_terminate", None)
        initialize = getattr(self.sd, "_initialize", None)
        if terminate is not None and initialize is not None:
            try:
                terminate()
                initialize()
            except Exception:  # noqa: BLE001 - retried next time
                return False
        return True

    def close(self) -> None:
        pass
