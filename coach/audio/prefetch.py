"""Decode ahead on a second core while the pipeline analyses the current block.

Decoding (libsndfile, soxr) releases the GIL, so a reader thread overlaps it
with the VAD almost completely. The queue is small and bounded: memory stays
a few blocks whatever the call length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


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
