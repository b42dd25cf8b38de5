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

Only what recording needs is bound (coach/audio/pulse_lib.py): connect a context,
open record streams (coach/audio/pulse_stream.py: float32, 16 kHz mono, the server
resamples), peek/drop, states and errors, and the server's events, to know its
default sink and source as the user changes them (headphones plugged in:
``pactl set-default-sink`` does the same).
libpulse ships with every PulseAudio and PipeWire desktop (``libpulse0``;
``pipewire-pulse`` speaks the same protocol). When it cannot be loaded the
caller falls back to PortAudio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from coach.audio.pulse_lib import (
    DEVICE_INFO_CB,
    SAMPLE_FORMATS,
    SERVER_INFO_CB,
    SINK_INFO_CB,
    SINK_INPUT_CB,
    SOURCE_OUTPUT_CB,
    SUBSCRIBE_CB,
    load,
)
from coach.audio.pulse_stream import RecordStream
from coach.errors import CoachError

CONNECT_TIMEOUT_S = 3.0

# enums of pulse/def.h and pulse/sample.h
_CONTEXT_READY, _CONTEXT_FAILED, _CONTEXT_TERMINATED = 4, 5, 6
_CONTEXT_NOAUTOSPAWN = 1
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
_T = TypeVar("_T")


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


def _text(value: bytes | None) -> str:
    return value.decode(errors="replace") if value else ""


class PulseError(CoachError):
    """The server refused or went away; ``errno`` is libpulse's error code."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


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
        self._on_server = SERVER_INFO_CB(self._server_reply)
        self._on_device = DEVICE_INFO_CB(self._device_reply)
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
            self._on_event = SUBSCRIBE_CB(on_event)
            self.lib.context_set_subscribe_callback(self.context, self._on_event, None)
        self._run(self.lib.context_subscribe(self.context, self._mask, None, None))

    def sinks(self) -> list[SinkProps]:
        """The server's sinks (one round trip)."""

        def sink(i: Any) -> SinkProps:
            return SinkProps(i.index, _text(i.name), _text(i.description),
                             _text(i.monitor_source_name))  # fmt: skip

        return self._listed(SINK_INFO_CB, self.lib.context_get_sink_info_list, sink)

    def playback_streams(self) -> list[StreamProps]:
        """The clients' playback streams, sink inputs (one round trip)."""
        return self._streams(SINK_INPUT_CB, self.lib.context_get_sink_input_info_list, "sink")

    def recording_streams(self) -> list[StreamProps]:
        """The clients' recording streams, source outputs (one round trip)."""
        return self._streams(
            SOURCE_OUTPUT_CB, self.lib.context_get_source_output_info_list, "source"
        )

    def _streams(self, cb_type: Any, ask: Any, device: str) -> list[StreamProps]:
        gets = self.lib.proplist_gets

        def prop(plist: int | None, key: bytes) -> str:
            return _text(gets(plist, key)) if plist else ""

        def stream(i: Any) -> StreamProps:
            pl = i.proplist
            pid = prop(pl, b"application.process.id")
            spec = i.sample_spec
            return StreamProps(
                index=i.index, device=getattr(i, device), app_name=prop(pl, b"application.name"),
                binary=prop(pl, b"application.process.binary"), app_id=prop(pl, b"application.id"),
                process_id=int(pid) if pid.isdigit() else None,
                media_role=prop(pl, b"media.role"), media_name=prop(pl, b"media.name"),
                corked=bool(i.corked), owned=i.client != _NO_INDEX, rate_hz=spec.rate,
                channels=spec.channels, sample_format=SAMPLE_FORMATS.get(spec.format, "?"),
            )  # fmt: skip

        return self._listed(cb_type, ask, stream)

    def _listed(self, cb_type: Any, ask: Any, item: Callable[[Any], _T]) -> list[_T]:
        """Every entry a list query (``ask``) answers, each made ``item(info)``."""
        got: list[_T] = []
        done: list[bool] = []

        def reply(_c: Any, info: Any, eol: int, _u: Any) -> None:
            if eol or not info:
                done.append(True)
                return
            got.append(item(info.contents))

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
