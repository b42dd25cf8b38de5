"""Recording from a PulseAudio or PipeWire server through its native API (libpulse, ctypes).

Why not PortAudio here: through ALSA's ``pulse`` plugin every stream has two
threads of its own (the plugin's mainloop and PortAudio's poller) that wake for
each packet the server sends, and the server sends one per sink render, every
2-8 ms while a call plays. Measured on the virtual server of
``scripts/pulse-virtual.sh`` (2-core VM): two 20 ms PortAudio streams with
callbacks that do nothing cost 4.4 % of a core; ``pa_simple`` with a thread per
stream 5.6 %; ``parec`` children 2.6 %. Here there is no thread at all: one
non-threaded ``pa_mainloop`` is run by the capture loop itself when the next
VAD frame is due (coach/audio/pulse_capture.py) and takes everything that arrived
since in one go (the kernel's socket buffer holds it meanwhile), each stream
drained by one C call (coach/audio/_pulse_drain.c): 0.9 % for both streams at 33
looks a second, of which 0.2 % is waking up. The same loop written in C costs
0.45 %.

Only what recording needs is bound: connect a context, open record streams
(float32, 16 kHz mono, the server resamples), peek/drop, states and errors,
and the server's events, to know its default sink and source as the user
changes them (headphones plugged in: ``pactl set-default-sink`` does the same).
libpulse ships with every PulseAudio and PipeWire desktop (``libpulse0``;
``pipewire-pulse`` speaks the same protocol). When it cannot be loaded the
caller falls back to PortAudio.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

BYTES_PER_FRAME = 4  # float32 mono
FRAGMENT_S = 0.02
"""Requested fragment: asks a real source to post every ~20 ms (ADJUST_LATENCY)."""
MAX_BUFFER_S = 2.0
"""The server keeps at most this much unread audio per stream (bounded memory)."""
CONNECT_TIMEOUT_S = 3.0

# enums of pulse/def.h and pulse/sample.h
_CONTEXT_READY, _CONTEXT_FAILED, _CONTEXT_TERMINATED = 4, 5, 6
_STREAM_READY, _STREAM_FAILED, _STREAM_TERMINATED = 2, 3, 4
_SAMPLE_FLOAT32LE = 5
_CONTEXT_NOAUTOSPAWN = 1
_STREAM_ADJUST_LATENCY = 0x2000
_STREAM_DONT_MOVE = 0x0200
ERR_NOENTITY = 5
"""pa_context_errno() for a source that does not exist."""
# pulse/def.h: what to be told about, and what an event is about
_MASK_SINK, _MASK_SOURCE, _MASK_SERVER = 0x1, 0x2, 0x80
MASK_SINK_INPUT, MASK_SOURCE_OUTPUT = 0x4, 0x8
_FACILITY_MASK, _FACILITY_SERVER = 0x0F, 7
_FACILITY_SINK, _FACILITY_SINK_INPUT, _FACILITY_SOURCE_OUTPUT = 0, 2, 3
_NO_INDEX = 0xFFFFFFFF
"""PA_INVALID_INDEX: a stream no client owns (a module's, as module-loopback's)."""
_TYPE_MASK, _TYPE_CHANGE = 0x30, 0x10
DEFAULTS_WAIT_S = 0.5
"""How long a look at the server's defaults may take (a round trip: ~1 ms)."""

_vp, _cp, _ci, _u32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32

try:  # the peek/copy/drop loop in C (coach/audio/_pulse_drain.c), built when a compiler was there
    from coach.audio._pulse_drain import drain as _drain
except ImportError:  # pragma: no cover - the same loop runs in Python
    _drain = None


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", _ci), ("rate", _u32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [
        ("maxlength", _u32),
        ("tlength", _u32),
        ("prebuf", _u32),
        ("minreq", _u32),
        ("fragsize", _u32),
    ]


class _ServerInfo(ctypes.Structure):
    """The head of pa_server_info, up to the default devices' names."""

    _fields_ = [
        ("user_name", _cp),
        ("host_name", _cp),
        ("server_version", _cp),
        ("server_name", _cp),
        ("sample_spec", _SampleSpec),
        ("default_sink_name", _cp),
        ("default_source_name", _cp),
    ]


class _DeviceInfo(ctypes.Structure):
    """The head shared by pa_sink_info and pa_source_info: name, index, description."""

    _fields_ = [("name", _cp), ("index", _u32), ("description", _cp)]


class _ChannelMap(ctypes.Structure):
    _fields_ = [("channels", ctypes.c_uint8), ("map", _ci * 32)]


class _CVolume(ctypes.Structure):
    _fields_ = [("channels", ctypes.c_uint8), ("values", _u32 * 32)]


class _SinkInfo(ctypes.Structure):
    """The head of pa_sink_info, up to its monitor source's name."""

    _fields_ = [
        ("name", _cp),
        ("index", _u32),
        ("description", _cp),
        ("sample_spec", _SampleSpec),
        ("channel_map", _ChannelMap),
        ("owner_module", _u32),
        ("volume", _CVolume),
        ("mute", _ci),
        ("monitor_source", _u32),
        ("monitor_source_name", _cp),
    ]


class _SinkInputInfo(ctypes.Structure):
    """The head of pa_sink_input_info, up to ``corked`` (its layout since PulseAudio 1.0)."""

    _fields_ = [
        ("index", _u32),
        ("name", _cp),
        ("owner_module", _u32),
        ("client", _u32),
        ("sink", _u32),
        ("sample_spec", _SampleSpec),
        ("channel_map", _ChannelMap),
        ("volume", _CVolume),
        ("buffer_usec", ctypes.c_uint64),
        ("sink_usec", ctypes.c_uint64),
        ("resample_method", _cp),
        ("driver", _cp),
        ("mute", _ci),
        ("proplist", _vp),
        ("corked", _ci),
    ]


class _SourceOutputInfo(ctypes.Structure):
    """The head of pa_source_output_info, up to ``corked``."""

    _fields_ = [
        ("index", _u32),
        ("name", _cp),
        ("owner_module", _u32),
        ("client", _u32),
        ("source", _u32),
        ("sample_spec", _SampleSpec),
        ("channel_map", _ChannelMap),
        ("buffer_usec", ctypes.c_uint64),
        ("source_usec", ctypes.c_uint64),
        ("resample_method", _cp),
        ("driver", _cp),
        ("proplist", _vp),
        ("corked", _ci),
    ]


@dataclass(frozen=True)
class StreamProps:
    """A playback stream (sink input) or a recording stream (source output) of a client."""

    index: int
    device: int
    """The index of its sink (playback) or source (recording)."""
    app_name: str
    binary: str
    app_id: str
    process_id: int | None
    media_role: str
    media_name: str
    corked: bool
    owned: bool
    """A client's stream; False: a module's (module-loopback and the like)."""
    rate_hz: int
    channels: int
    sample_format: str


@dataclass(frozen=True)
class SinkProps:
    """A sink as the server describes it: its index, names and monitor source."""

    index: int
    name: str
    description: str
    monitor: str
    """Its monitor source's name."""


_SUBSCRIBE_CB = ctypes.CFUNCTYPE(None, _vp, _ci, _u32, _vp)
_SERVER_INFO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(_ServerInfo), _vp)
_DEVICE_INFO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(_DeviceInfo), _ci, _vp)
_SINK_INFO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(_SinkInfo), _ci, _vp)
_SINK_INPUT_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(_SinkInputInfo), _ci, _vp)
_SOURCE_OUTPUT_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(_SourceOutputInfo), _ci, _vp)
_SAMPLE_FORMATS = {0: "u8", 1: "alaw", 2: "ulaw", 3: "s16le", 4: "s16be", 5: "float32le",
                   6: "float32be", 7: "s32le", 8: "s32be", 9: "s24le", 10: "s24be",
                   11: "s24-32le", 12: "s24-32be"}  # fmt: skip


class PulseUnavailable(Exception):
    """libpulse cannot be loaded here (not Linux, not installed)."""


class _Lib:
    """The few libpulse functions used, with their C signatures."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL("libpulse.so.0")
        except OSError as e:
            raise PulseUnavailable(str(e)) from None

        def fn(name: str, restype: Any, *argtypes: Any) -> Any:
            f = getattr(lib, name)
            f.restype = restype
            f.argtypes = list(argtypes)
            return f

        self.mainloop_new = fn("pa_mainloop_new", _vp)
        self.mainloop_free = fn("pa_mainloop_free", None, _vp)
        self.mainloop_get_api = fn("pa_mainloop_get_api", _vp, _vp)
        self.mainloop_iterate = fn("pa_mainloop_iterate", _ci, _vp, _ci, _vp)
        self.mainloop_prepare = fn("pa_mainloop_prepare", _ci, _vp, _ci)
        self.mainloop_poll = fn("pa_mainloop_poll", _ci, _vp)
        self.mainloop_dispatch = fn("pa_mainloop_dispatch", _ci, _vp)
        self.context_new = fn("pa_context_new", _vp, _vp, _cp)
        self.context_connect = fn("pa_context_connect", _ci, _vp, _cp, _ci, _vp)
        self.context_disconnect = fn("pa_context_disconnect", None, _vp)
        self.context_unref = fn("pa_context_unref", None, _vp)
        self.context_get_state = fn("pa_context_get_state", _ci, _vp)
        self.context_errno = fn("pa_context_errno", _ci, _vp)
        self.strerror = fn("pa_strerror", _cp, _ci)
        self.stream_new = fn("pa_stream_new", _vp, _vp, _cp, ctypes.POINTER(_SampleSpec), _vp)
        self.stream_connect_record = fn(
            "pa_stream_connect_record", _ci, _vp, _cp, ctypes.POINTER(_BufferAttr), _ci
        )
        self.stream_get_state = fn("pa_stream_get_state", _ci, _vp)
        self.stream_peek = fn(
            "pa_stream_peek", _ci, _vp, ctypes.POINTER(_vp), ctypes.POINTER(ctypes.c_size_t)
        )
        self.stream_drop = fn("pa_stream_drop", _ci, _vp)
        self.stream_disconnect = fn("pa_stream_disconnect", _ci, _vp)
        self.stream_unref = fn("pa_stream_unref", None, _vp)
        self.stream_get_device_name = fn("pa_stream_get_device_name", _cp, _vp)
        self.context_set_subscribe_callback = fn(
            "pa_context_set_subscribe_callback", None, _vp, _SUBSCRIBE_CB, _vp
        )
        self.context_subscribe = fn("pa_context_subscribe", _vp, _vp, _u32, _vp, _vp)
        self.context_get_server_info = fn(
            "pa_context_get_server_info", _vp, _vp, _SERVER_INFO_CB, _vp
        )
        self.context_get_sink_info_by_name = fn(
            "pa_context_get_sink_info_by_name", _vp, _vp, _cp, _DEVICE_INFO_CB, _vp
        )
        self.context_get_source_info_by_name = fn(
            "pa_context_get_source_info_by_name", _vp, _vp, _cp, _DEVICE_INFO_CB, _vp
        )
        self.operation_unref = fn("pa_operation_unref", None, _vp)
        self.operation_cancel = fn("pa_operation_cancel", None, _vp)
        self.stream_set_monitor_stream = fn("pa_stream_set_monitor_stream", _ci, _vp, _u32)
        self.stream_get_sample_spec = fn(
            "pa_stream_get_sample_spec", ctypes.POINTER(_SampleSpec), _vp
        )
        self.proplist_gets = fn("pa_proplist_gets", _cp, _vp, _cp)
        self.context_get_sink_info_list = fn(
            "pa_context_get_sink_info_list", _vp, _vp, _SINK_INFO_CB, _vp
        )
        self.context_get_sink_input_info_list = fn(
            "pa_context_get_sink_input_info_list", _vp, _vp, _SINK_INPUT_CB, _vp
        )
        self.context_get_source_output_info_list = fn(
            "pa_context_get_source_output_info_list", _vp, _vp, _SOURCE_OUTPUT_CB, _vp
        )


_LIB: _Lib | None = None


def load() -> _Lib:
    """libpulse's bindings (loaded once), or :class:`PulseUnavailable`."""
    global _LIB
    if _LIB is None:
        _LIB = _Lib()
    return _LIB


def _text(value: bytes | None) -> str:
    return value.decode(errors="replace") if value else ""


class PulseError(CoachError):
    """The server refused or went away; ``errno`` is libpulse's error code."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


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
        lib = conn.lib
        spec = _SampleSpec(_SAMPLE_FLOAT32LE, SAMPLE_RATE_HZ, 1)
        self._ptr: int | None = lib.stream_new(
            conn.context, name.encode(), ctypes.byref(spec), None
        )
        if not self._ptr:
            raise conn.error(f"cannot create a record stream for {source or 'the default source'}")
        # only this playback stream: the server picks its sink's monitor when source is None
        if monitor_of is not None and lib.stream_set_monitor_stream(self._ptr, monitor_of) < 0:
            err = conn.error(f"cannot record playback stream #{monitor_of}")
            self.close()
            raise err
        frag = round(FRAGMENT_S * SAMPLE_RATE_HZ) * BYTES_PER_FRAME
        attr = _BufferAttr(round(MAX_BUFFER_S * SAMPLE_RATE_HZ) * BYTES_PER_FRAME, 2**32 - 1,
                           2**32 - 1, 2**32 - 1, frag)  # fmt: skip
        dev = None if source is None else source.encode()
        # the peek loop's C calls and out-parameters, bound once
        self._peek, self._drop = lib.stream_peek, lib.stream_drop
        self._data, self._size = ctypes.c_void_p(), ctypes.c_size_t()
        self._pdata, self._psize = ctypes.byref(self._data), ctypes.byref(self._size)
        self._peek_addr = ctypes.cast(lib.stream_peek, _vp).value or 0
        self._drop_addr = ctypes.cast(lib.stream_drop, _vp).value or 0
        self.native = _drain is not None
        """Drain in C (True when coach.audio._pulse_drain was built); tests switch it off."""
        # pinned: a source that goes away ends the stream (a lost device), rather
        # than the server moving it to another source without a word
        flags = _STREAM_ADJUST_LATENCY | (_STREAM_DONT_MOVE if pinned else 0)
        if lib.stream_connect_record(self._ptr, dev, ctypes.byref(attr), flags):
            err = conn.error(f"cannot record from {source or 'the default source'}")
            self.close()
            raise err

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
        return _SAMPLE_FORMATS.get(spec.format, str(spec.format)), spec.rate, spec.channels

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


class PulseConnection:
    """A context on a non-threaded mainloop that only runs when ``pump`` is called."""

    def __init__(
        self,
        app_name: str = "coach",
        *,
        timeout_s: float = CONNECT_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lib = load()
        self.clock = clock
        self.defaults: tuple[str | None, str | None] = (None, None)
        """The server's default sink and source, kept current by ``watch_defaults``."""
        self._watching = False
        self._defaults_stale = False
        self._mask = 0
        self._sinks_count = False
        self.stream_events = 0
        """Events about clients' streams so far (``watch_streams``): a change is a new count."""
        # ctypes callbacks made once: libpulse may call them as long as the context lives
        self._replies: list[Any] = []
        self._on_server = _SERVER_INFO_CB(self._server_reply)
        self._on_device = _DEVICE_INFO_CB(self._device_reply)
        self._on_event: Any = None
        self.mainloop: int | None = self.lib.mainloop_new()
        self.context: int | None = self.lib.context_new(
            self.lib.mainloop_get_api(self.mainloop), app_name.encode()
        )
        try:
            if self.lib.context_connect(self.context, None, _CONTEXT_NOAUTOSPAWN, None) < 0:
                raise self.error("no PulseAudio/PipeWire server answers")
            self.wait(lambda: self.ready or self.failed, timeout_s)
            if not self.ready:
                raise self.error("no PulseAudio/PipeWire server answers")
        except CoachError:
            self.close()
            raise

    @property
    def state(self) -> int:
        return (
            int(self.lib.context_get_state(self.context)) if self.context else _CONTEXT_TERMINATED
        )

    @property
    def ready(self) -> bool:
        return self.state == _CONTEXT_READY

    @property
    def failed(self) -> bool:
        return self.state in (_CONTEXT_FAILED, _CONTEXT_TERMINATED)

    def error(self, what: str) -> PulseError:
        errno = int(self.lib.context_errno(self.context)) if self.context else 0
        why = self.lib.strerror(errno).decode(errors="replace") if errno else ""
        return PulseError(f"{what}: {why}" if why else what, errno)

    def wait(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Run the mainloop until ``done()`` or the timeout; returns ``done()``."""
        deadline = self.clock() + timeout_s
        while not done():
            left = deadline - self.clock()
            if left <= 0 or self.mainloop is None:
                break
            lib = self.lib
            if lib.mainloop_prepare(self.mainloop, int(min(left, 0.05) * 1e6)) < 0:
                break
            if lib.mainloop_poll(self.mainloop) < 0 or lib.mainloop_dispatch(self.mainloop) < 0:
                break
        return done()

    def open(
        self, source: str | None, name: str, pinned: bool = False, monitor_of: int | None = None
    ) -> RecordStream:
        """A record stream from ``source`` (None: the default source), once it is ready;
        ``pinned``: never moved to another source by the server; ``monitor_of``: only
        that sink input (playback stream), from its sink's monitor."""
        stream = RecordStream(self, source, name, pinned, monitor_of)
        what = source or "the default source"
        if monitor_of is not None:
            what = f"playback stream #{monitor_of}"
        if not self.wait(lambda: stream.ready or stream.failed, CONNECT_TIMEOUT_S):
            stream.close()
            raise PulseError(f"{what} did not start in time")
        if stream.failed:
            err = self.error(f"cannot record from {what}")
            stream.close()
            raise err
        return stream

    def pump(self) -> None:
        """Handle everything the server sent since the last call, without waiting."""
        if self.mainloop is None:
            return
        iterate, ml = self.lib.mainloop_iterate, self.mainloop
        while iterate(ml, 0, None) > 0:
            pass
        if self._defaults_stale:
            self._refresh_defaults()

    def watch_defaults(self) -> None:
        """Keep ``defaults`` current: the server tells of each change of its
        defaults (a server event), and of devices coming and going."""
        if self._watching or not self.ready:
            return
        self._watching = True
        self._subscribe(_MASK_SINK | _MASK_SOURCE | _MASK_SERVER)
        self._refresh_defaults()

    def watch_streams(self, mask: int) -> None:
        """Count the server's events about clients' streams in ``stream_events``:
        ``MASK_SINK_INPUT`` (playback streams come, move, go) and/or
        ``MASK_SOURCE_OUTPUT`` (recording streams). Sinks' events count too with
        playback streams: pipewire-pulse tells of a moved stream only through them."""
        if mask & MASK_SINK_INPUT:
            mask |= _MASK_SINK
            self._sinks_count = True
        if self.ready and mask & ~self._mask:
            self._subscribe(mask)

    def _subscribe(self, mask: int) -> None:
        """One subscription and one callback serve every watcher: the mask grows."""
        self._mask |= mask

        def on_event(_c: Any, kind: int, _idx: int, _u: Any) -> None:
            facility, what = kind & _FACILITY_MASK, kind & _TYPE_MASK
            if facility in (_FACILITY_SINK_INPUT, _FACILITY_SOURCE_OUTPUT):
                self.stream_events += 1
                return
            if facility == _FACILITY_SINK and self._sinks_count:
                self.stream_events += 1
            # a device's volume or state changes often; only these can move a default
            if facility == _FACILITY_SERVER or what != _TYPE_CHANGE:
                self._defaults_stale = self._watching

        if self._on_event is None:
            self._on_event = _SUBSCRIBE_CB(on_event)
            self.lib.context_set_subscribe_callback(self.context, self._on_event, None)
        self._run(self.lib.context_subscribe(self.context, self._mask, None, None))

    def sinks(self) -> list[SinkProps]:
        """The server's sinks (one round trip)."""
        got: list[SinkProps] = []
        done: list[bool] = []

        def reply(_c: Any, info: Any, eol: int, _u: Any) -> None:
            if eol or not info:
                done.append(True)
                return
            i = info.contents
            got.append(SinkProps(i.index, _text(i.name), _text(i.description),
                                 _text(i.monitor_source_name)))  # fmt: skip

        cb = _SINK_INFO_CB(reply)
        self._run(self.lib.context_get_sink_info_list(self.context, cb, None), lambda: bool(done))
        return got

    def playback_streams(self) -> list[StreamProps]:
        """The clients' playback streams, sink inputs (one round trip)."""
        return self._streams(_SINK_INPUT_CB, self.lib.context_get_sink_input_info_list, "sink")

    def recording_streams(self) -> list[StreamProps]:
        """The clients' recording streams, source outputs (one round trip)."""
        return self._streams(
            _SOURCE_OUTPUT_CB, self.lib.context_get_source_output_info_list, "source"
        )

    def _streams(self, cb_type: Any, ask: Any, device: str) -> list[StreamProps]:
        got: list[StreamProps] = []
        done: list[bool] = []
        gets = self.lib.proplist_gets

        def prop(plist: int | None, key: bytes) -> str:
            return _text(gets(plist, key)) if plist else ""

        def reply(_c: Any, info: Any, eol: int, _u: Any) -> None:
            if eol or not info:
                done.append(True)
                return
            i = info.contents
            pl = i.proplist
            pid = prop(pl, b"application.process.id")
            spec = i.sample_spec
            got.append(StreamProps(
                index=i.index, device=getattr(i, device), app_name=prop(pl, b"application.name"),
                binary=prop(pl, b"application.process.binary"), app_id=prop(pl, b"application.id"),
                process_id=int(pid) if pid.isdigit() else None,
                media_role=prop(pl, b"media.role"), media_name=prop(pl, b"media.name"),
                corked=bool(i.corked), owned=i.client != _NO_INDEX, rate_hz=spec.rate,
                channels=spec.channels, sample_format=_SAMPLE_FORMATS.get(spec.format, "?"),
            ))  # fmt: skip

        cb = cb_type(reply)
        self._run(ask(self.context, cb, None), lambda: bool(done))
        return got

    def _refresh_defaults(self) -> None:
        self._defaults_stale = False
        got = self._replies = []
        self._run(self.lib.context_get_server_info(self.context, self._on_server, None),
                  lambda: bool(got))  # fmt: skip
        if got:
            self.defaults = got[0]

    def describe(self, kind: str, name: str) -> str | None:
        """A sink's or source's description ("Headphones"), or None."""
        got = self._replies = []
        ask = (
            self.lib.context_get_sink_info_by_name
            if kind == "sink"
            else self.lib.context_get_source_info_by_name
        )
        self._run(ask(self.context, name.encode(), self._on_device, None), lambda: bool(got))
        return got[0] if got else None

    def _server_reply(self, _c: Any, info: Any, _u: Any) -> None:
        if info:
            sink, source = info.contents.default_sink_name, info.contents.default_source_name
            self._replies.append((sink.decode() if sink else None,
                                  source.decode() if source else None))  # fmt: skip

    def _device_reply(self, _c: Any, info: Any, eol: int, _u: Any) -> None:
        if info and eol == 0 and info.contents.description:
            self._replies.append(info.contents.description.decode(errors="replace"))

    def _run(self, op: int | None, done: Callable[[], bool] | None = None) -> None:
        """Wait (briefly) for an operation's answer, then let it go."""
        if not op:
            return
        if done is not None:
            self.wait(lambda: done() or self.failed, DEFAULTS_WAIT_S)
            if not done():  # its callback must not run once the caller has moved on
                self.lib.operation_cancel(op)
        self.lib.operation_unref(op)

    def close(self) -> None:
        context, self.context = self.context, None
        if context:
            self.lib.context_disconnect(context)
            self.lib.context_unref(context)
        mainloop, self.mainloop = self.mainloop, None
        if mainloop:
            self.lib.mainloop_free(mainloop)
