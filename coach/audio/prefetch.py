"""Decode and hear ahead on a second core while the pipeline takes the current block.

Decoding (libsndfile, soxr), the speech model (onnxruntime) and whisper
(CTranslate2) release the GIL, so a reader thread overlaps decoding with the
VAD, and a detector thread overlaps the VAD with transcription. Each queue is
small and bounded: memory stays a few blocks whatever the call length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from coach.core.pipeline import CallAnalyzer, Heard

T = TypeVar("T")
_DONE = object()

HEAR_AHEAD_BLOCKS = 12
"""Blocks the detectors may run ahead (a minute of `coach analyze`'s 5 s blocks): whisper's
passes come in bursts, and the detectors keep working through them."""


def prefetch(items: Iterator[T], depth: int = 3) -> Iterator[T]:
    """Yield ``items`` in order, produced by a background thread ``depth`` ahead.

    An exception raised by the producer is re-raised here, in the consumer.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, not lost
            q.put(e)

    thread = threading.Thread(target=produce, name="coach-decode", daemon=True)
    thread.start()
    try:
        while True:
            got = q.get()
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            yield got  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=1.0)


def heard_ahead(analyzer: CallAnalyzer, blocks: Iterator[np.ndarray]) -> Iterator[Heard]:
    """A file's blocks as the analyzer's detectors heard them, decoded and heard a few
    blocks ahead; the detectors read audio only, so the result is the same as feeding."""
    return prefetch(map(analyzer.hear, prefetch(blocks)), depth=HEAR_AHEAD_BLOCKS)
