"""One record stream on a PulseAudio/PipeWire connection: open it, drain it, close it.

A stream is asked for float32 16 kHz mono (the server resamples) and read by
draining everything the server has sent since the last read, each fragment
peeked, copied and dropped; in C (coach/audio/_pulse_drain.c) when it was built.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

from coach.audio.pulse_lib import SAMPLE_FORMATS, BufferAttr, SampleSpec
from coach.core.types import SAMPLE_RATE_HZ

if TYPE_CHECKING:
    from coach.audio.pulse import PulseConnection, PulseError

BYTES_PER_FRAME = 4  # float32 mono
FRAGMENT_S = 0.02
"""Requested fragment: asks a real source to post every ~20 ms (ADJUST_LATENCY)."""
MAX_BUFFER_S = 2.0
"""The server keeps at most this much unread audio per stream (bounded memory)."""

# enums of pulse/def.h and pulse/sample.h
_STREAM_READY, _STREAM_FAILED, _STREAM_TERMINATED = 2, 3, 4
_SAMPLE_FLOAT32LE = 5
_STREAM_ADJUST_LATENCY = 0x2000
_STREAM_DONT_MOVE = 0x0200

try:  # the peek/copy/drop loop in C (coach/audio/_pulse_drain.c), built when a compiler was there
    from coach.audio._pulse_drain import drain as _drain
except ImportError:  # pragma: no cover - the same loop runs in Python
    _drain = None


class RecordStream:
    """One record stream on a :class:`PulseConnection`; read by the connection's ``pump``."""

    def __init__(
        self,
        conn: PulseConnection,
        source: str | None,
        name: str,
        pinned: bool = False,
        monitor_of: int | None = None,
    ) -> None:
        self.conn = conn
        self.source = source
        self.monitor_of = monitor_of
        """The sink input this stream hears alone (on its sink's monitor), if any."""
        self._ptr: int | None = self._new(name)
        if monitor_of is not None:
            self._attach(monitor_of)
        self._bind_peek()
        self.native = _drain is not None
        """Drain in C (True when coach.audio._pulse_drain was built); tests switch it off."""
        self._connect(pinned)

    def _new(self, name: str) -> int:
        spec = SampleSpec(_SAMPLE_FLOAT32LE, SAMPLE_RATE_HZ, 1)
        ptr = self.conn.lib.stream_new(self.conn.context, name.encode(), ctypes.byref(spec), None)
        if not ptr:
            what = self.source or "the default source"
            raise self.conn.error(f"cannot create a record stream for {what}")
        return int(ptr)

    def _attach(self, monitor_of: int) -> None:
        """Only this playback stream: the server picks its sink's monitor when source is None."""
        if self.conn.lib.stream_set_monitor_stream(self._ptr, monitor_of) < 0:
            raise self._given_up(f"cannot record playback stream #{monitor_of}")

    def _bind_peek(self) -> None:
        """The peek loop's C calls and out-parameters, bound once."""
        lib = self.conn.lib
        self._peek, self._drop = lib.stream_peek, lib.stream_drop
        self._data, self._size = ctypes.c_void_p(), ctypes.c_size_t()
        self._pdata, self._psize = ctypes.byref(self._data), ctypes.byref(self._size)
        self._peek_addr = ctypes.cast(lib.stream_peek, ctypes.c_void_p).value or 0
        self._drop_addr = ctypes.cast(lib.stream_drop, ctypes.c_void_p).value or 0

    def _connect(self, pinned: bool) -> None:
        frag = round(FRAGMENT_S * SAMPLE_RATE_HZ) * BYTES_PER_FRAME
        attr = BufferAttr(round(MAX_BUFFER_S * SAMPLE_RATE_HZ) * BYTES_PER_FRAME, 2**32 - 1,
                          2**32 - 1, 2**32 - 1, frag)  # fmt: skip
        dev = None if self.source is None else self.source.encode()
        # pinned: a source that goes away ends the stream (a lost device), rather
        # than the server moving it to another source without a word
        flags = _STREAM_ADJUST_LATENCY | (_STREAM_DONT_MOVE if pinned else 0)
        if self.conn.lib.stream_connect_record(self._ptr, dev, ctypes.byref(attr), flags):
            raise self._given_up(f"cannot record from {self.source or 'the default source'}")

    def _given_up(self, what: str) -> PulseError:
        """The server's error for ``what``, read before the stream is closed."""
        err = self.conn.error(what)
        self.close()
        return err

    @property
    def state(self) -> int:
        return int(self.conn.lib.stream_get_state(self._ptr)) if self._ptr else _STREAM_TERMINATED

    @property
    def ready(self) -> bool:
        return self.state == _STREAM_READY and self.conn.ready

    @property
    def failed(self) -> bool:
        return self.state in (_STREAM_FAILED, _STREAM_TERMINATED) or self.conn.failed

    @property
    def sample_spec(self) -> tuple[str, int, int] | None:
        """What the server delivers (format, rate, channels), once ready."""
        if not self._ptr or not self.ready:
            return None
        got = self.conn.lib.stream_get_sample_spec(self._ptr)
        if not got:
            return None
        spec = got.contents
        return SAMPLE_FORMATS.get(spec.format, str(spec.format)), spec.rate, spec.channels

    @property
    def device(self) -> str | None:
        """The source this stream records from now (the server may have moved it)."""
        if not self._ptr or not self.ready:
            return None
        name = self.conn.lib.stream_get_device_name(self._ptr)
        return None if not name else name.decode(errors="replace")

    def read(self) -> bytes:
        """Everything this stream has received (float32 mono, 16 kHz); b"" if nothing.

        A hole (audio the server could not deliver) comes back as silence, so the
        sample count stays the call's time. The server sends a fragment per render
        of the sink or source, every 2-7 ms on a busy server: this loop runs for each,
        so it is kept to two C calls and a copy.
        """
        ptr = self._ptr
        if not ptr:
            return b""
        if _drain is not None and self.native:
            return bytes(_drain(self._peek_addr, self._drop_addr, ptr))
        peek, drop, pdata, psize = self._peek, self._drop, self._pdata, self._psize
        data, size, string_at = self._data, self._size, ctypes.string_at
        parts = []
        while peek(ptr, pdata, psize) == 0 and size.value:
            addr, n = data.value, size.value
            parts.append(string_at(addr, n) if addr else bytes(n))
            drop(ptr)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr:
            if self.conn.context and self.conn.ready:
                self.conn.lib.stream_disconnect(ptr)
            self.conn.lib.stream_unref(ptr)
