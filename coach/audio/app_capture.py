"""Per-app capture on PulseAudio/PipeWire: the customer's side from the call app's own
playback streams, followed as they move, end and come back (coach/audio/app_streams.py
says which streams and how they are mixed).

Each playback stream (sink input) of the app gets a record stream of its own,
attached to it alone (``pa_stream_set_monitor_stream``) on its sink's monitor,
so nothing else the computer plays is heard. The connection counts the server's
events about streams; on each new count the app's streams are listed again
(one round trip) and:

- a new stream of the app gets a record stream;
- a stream moved to another sink (headphones plugged in) gets a new one there:
  PulseAudio ends a monitor stream when its playback stream moves;
- when the app has no stream (between calls, a reconnect) the side is silent
  and says "waiting for NAME": something else is never recorded instead.

``auto-app`` without a call app (none playing and recording) records the default
sink's monitor, says so on the panel and in the report, and moves to the call
app as soon as there is one.

The side keeps delivering (silence while it waits) so the call's time goes on
and the mic side is never held back; the sample counts are laid out as for any
side (coach/audio/aligner.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from coach.audio.app_streams import (
    AppTarget,
    StreamMixer,
    app_of,
    is_client_stream,
    pick_call_app,
    streams_of,
)
from coach.audio.native_side import NativeSide
from coach.audio.pulse import (
    MASK_SINK_INPUT,
    MASK_SOURCE_OUTPUT,
    PulseConnection,
    PulseError,
    SinkProps,
    StreamProps,
)
from coach.audio.pulse_stream import RecordStream
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

if TYPE_CHECKING:
    from coach.audio.devices import DeviceChoice
    from coach.audio.native_side import Owner

WANT_SPEC = ("float32le", SAMPLE_RATE_HZ, 1)
"""What every record stream is asked for; the server resamples and mixes down."""
RETRY_S = 1.0
"""A playback stream whose record stream would not open is tried again after this."""
REPORT_MIN_S = 1.0
"""A wait or a fallback at least this long is named in the report."""
MONITOR = "the default sink's monitor"


class AppStreams:
    """One app's playback streams, each recorded alone and mixed: read like a RecordStream."""

    def __init__(
        self,
        conn: PulseConnection,
        target: AppTarget,
        clock: Callable[[], float],
        own_pid: int | None = None,
    ) -> None:
        self.conn = conn
        self.target = target
        self.clock = clock
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self.mixer = StreamMixer(SAMPLE_RATE_HZ, t0=clock())
        self.streams: dict[int, RecordStream] = {}
        """By sink input index."""
        self.keys: dict[int, int] = {}
        """Each record stream's key in the mixer: a new stream is placed anew."""
        self.sink_of: dict[int, int] = {}
        """Where each of the app's sink inputs played when last seen."""
        self.sinks: dict[int, SinkProps] = {}
        self.monitor: RecordStream | None = None
        """auto-app with no call app: the default sink's monitor."""
        self.news: list[str] = []
        """What changed, once each, for the panel and the events."""
        self.refused: list[str] = []
        self._opened = 0
        self._seen = -1
        self._rescan = True
        self._retry_at: float | None = None
        """A stream that would not open is tried again then (not only on the next event)."""
        self.waiting_from: int | None = None
        """Mixed frame since which the app has no stream (None: it has one)."""
        self.waited_frames = 0
        self.monitor_from: int | None = None
        self.monitor_frames = 0
        conn.watch_streams(MASK_SINK_INPUT | (MASK_SOURCE_OUTPUT if target.auto else 0))
        if target.auto:
            conn.watch_defaults()
        self._scan()

    # -- the RecordStream face ---------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.conn.ready

    @property
    def failed(self) -> bool:
        return self.conn.failed

    @property
    def device(self) -> str | None:
        return self.target.spec

    def read(self) -> bytes:
        """Everything the app's streams received since, mixed (float32 mono, 16 kHz);
        silence by the wall clock while none plays."""
        now = self.clock()
        for idx, st in list(self.streams.items()):
            data = st.read()
            if data:
                self.mixer.push(self.keys[idx], np.frombuffer(data, np.float32), now)
            if st.failed:  # moved (the server ends it) or gone
                self._close(idx)
                self._rescan = True
        if self.monitor is not None:
            data = self.monitor.read()
            if data:
                self.mixer.push("monitor", np.frombuffer(data, np.float32), now)
            if self.monitor.failed or self.monitor.source != self._default_monitor():
                self._close_monitor()
                self._rescan = True
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at, self._rescan = None, True
        if self._rescan or self.conn.stream_events != self._seen:
            self._scan()
        out = self.mixer.pop(now)
        return b"" if out is None else out.tobytes()

    def close(self) -> None:
        for idx in list(self.streams):
            self._close(idx)
        self._close_monitor()

    # -- following the app ---------------------------------------------------------------
    def _scan(self) -> None:
        self._rescan = False
        self._seen = self.conn.stream_events
        if not self.conn.ready:
            return
        playback = self.conn.playback_streams()
        if self.target.auto and not self.target.name:
            app = pick_call_app(playback, self.conn.recording_streams(), self.own_pid)
            if app is None:
                self._fall_back()
                return
            self.target = replace(self.target, name=app)
            self._close_monitor()
            self.news.append(f"customer audio now from {app} (playing and recording)")
        self.sinks = {s.index: s for s in self.conn.sinks()}
        want = {s.index: s for s in streams_of(self.target, playback, self.own_pid)}
        for idx in [i for i in self.streams if i not in want]:
            self._close(idx)
        for idx, s in want.items():
            moved = self.sink_of.get(idx, s.device) != s.device
            self.sink_of[idx] = s.device
            # PulseAudio ends a moved stream's monitor (read() closed it): open one on the
            # new sink; PipeWire's follows the stream and is kept
            if idx not in self.streams and not self._open(s):
                continue
            if moved:
                self.news.append(f"customer audio: {app_of(s)} moved to "
                                 f"{self._sink_words(s.device)}")  # fmt: skip
        self._note_waiting()

    def _open(self, s: StreamProps) -> bool:
        try:
            st = self.conn.open(None, f"coach customer ({app_of(s)})", pinned=True,
                                monitor_of=s.index)  # fmt: skip
        except PulseError:  # gone meanwhile (its removal is the next event), or a hiccup
            self._retry_at = self.clock() + RETRY_S
            return False
        spec = st.sample_spec
        if spec != WANT_SPEC:  # never read audio in a layout it is not in
            st.close()
            text = f"customer audio: stream #{s.index} of {app_of(s)} delivers {spec}, not " \
                   "float32 mono 16 kHz: not recorded"  # fmt: skip
            if text not in self.refused:
                self.refused.append(text)
            return False
        self._opened += 1
        self.streams[s.index], self.keys[s.index] = st, self._opened
        return True

    def _close(self, idx: int) -> None:
        st = self.streams.pop(idx, None)
        if st is not None:
            st.close()
            self.mixer.drop(self.keys.pop(idx))

    def _note_waiting(self) -> None:
        at = self.mixer.released
        if self.streams or self.monitor is not None:
            if self.waiting_from is not None:
                gap_s = (at - self.waiting_from) / SAMPLE_RATE_HZ
                self.waited_frames += at - self.waiting_from
                self.waiting_from = None
                self.news.append(f"customer audio from {self.target.name} again after "
                                 f"{gap_s:.1f} s")  # fmt: skip
        elif self.waiting_from is None:
            self.waiting_from = at
            self.news.append(f"customer audio: {self.target.name} has no playback stream; "
                             "waiting for it")  # fmt: skip

    # -- auto-app without a call app ------------------------------------------------------
    def _default_monitor(self) -> str | None:
        sink = self.conn.defaults[0]
        return None if sink is None else f"{sink}.monitor"

    def _fall_back(self) -> None:
        """No call app playing and recording: everything the computer plays, said so."""
        if self.monitor is not None:
            return
        source = self._default_monitor()
        if source is None:
            return
        try:
            self.monitor = self.conn.open(source, "coach customer (sink monitor)", pinned=True)
        except PulseError:
            return
        self._opened += 1
        if self.monitor_from is None:
            self.monitor_from = self.mixer.released
            self.news.append(f"customer audio: no call app playing and recording; "
                             f"recording {MONITOR} ({source}) until one does")  # fmt: skip

    def _close_monitor(self) -> None:
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            monitor.close()
            self.mixer.drop("monitor")
        if self.monitor_from is not None and self.target.name:
            self.monitor_frames += self.mixer.released - self.monitor_from
            self.monitor_from = None

    def call_started(self) -> None:
        """The call starts now: a wait or fallback before it is not part of it."""
        at = self.mixer.released
        self.waited_frames = self.monitor_frames = 0
        if self.waiting_from is not None:
            self.waiting_from = at
        if self.monitor_from is not None:
            self.monitor_from = at

    # -- words ----------------------------------------------------------------------------
    @property
    def waiting(self) -> bool:
        """The app has no playback stream now (and no fallback is recorded instead)."""
        return self.waiting_from is not None

    def words(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """(status, warnings now, what the report says) about this side."""
        name = self.target.name
        at = self.mixer.released
        if self.monitor is not None or (self.target.auto and not name):
            status = f"loopback: auto-app, no call app yet: {MONITOR}"
            warnings: list[str] = [f"customer audio is {MONITOR}: no call app is playing "
                                   "and recording"]  # fmt: skip
        elif self.streams:
            where = sorted({self._sink_words(self.sink_of[i]) for i in self.streams})
            n = len(self.streams)
            status = f"loopback: {name}, {n} stream{'s' if n > 1 else ''} on {', '.join(where)}"
            warnings = []
        else:
            status = f"loopback: {self.target.spec}"
            warnings = [f"customer audio: waiting for {name}"]
        warnings += self.refused
        report = []
        waited = self.waited_frames + (0 if self.waiting_from is None else at - self.waiting_from)
        if waited >= REPORT_MIN_S * SAMPLE_RATE_HZ:
            report.append(f"{name} had no playback stream for {waited / SAMPLE_RATE_HZ:.1f} s "
                          "of the call: the customer's side was silent meanwhile")  # fmt: skip
        fell = self.monitor_frames + (0 if self.monitor_from is None else at - self.monitor_from)
        if fell >= REPORT_MIN_S * SAMPLE_RATE_HZ:
            report.append(f"auto-app found no call app (playing and recording) for "
                          f"{fell / SAMPLE_RATE_HZ:.1f} s of the call: the customer's side was "
                          f"{MONITOR} then, everything the computer played")  # fmt: skip
        return status, tuple(warnings), tuple(report)

    def counters(self) -> dict[str, object]:
        """For the statistics: the app recorded, and the seconds of the call it had no
        stream (``app_absent_s``) or auto-app recorded the sink monitor instead."""
        at = self.mixer.released
        waited = self.waited_frames + (0 if self.waiting_from is None else at - self.waiting_from)
        fell = self.monitor_frames + (0 if self.monitor_from is None else at - self.monitor_from)
        return {"app": self.target.name or None, "app_absent_s": round(waited / SAMPLE_RATE_HZ, 3),
                "sink_monitor_s": round(fell / SAMPLE_RATE_HZ, 3)}  # fmt: skip

    def _sink_words(self, index: int) -> str:
        sink = self.sinks.get(index)
        return (sink.description or sink.name) if sink else f"sink #{index}"


class AppSide(NativeSide[AppStreams]):
    """The customer's side from an app's streams; the same face as ``PulseSide``."""

    def __init__(self, side: int, choice: DeviceChoice, owner: Owner) -> None:
        assert choice.app is not None
        super().__init__(side, choice, owner)
        self.target: AppTarget = choice.app
        self._news: list[str] = []
        self._words: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None
        self._counters: dict[str, object] = {"app": self.target.name or None}

    def _start(self, conn: PulseConnection) -> AppStreams:
        try:
            return AppStreams(conn, self.target, self.owner.clock)
        except PulseError as e:
            raise CoachError(
                f"cannot record {self.target.spec} for the customer's side: {e}"
            ) from None

    def close(self) -> None:
        if self.stream is not None:
            self._keep(self.stream)
        super().close()

    def _keep(self, stream: AppStreams) -> None:
        """What a stream set learnt outlives it (a reconnect): the pick, the news."""
        self.target = stream.target
        self._news += stream.news
        stream.news.clear()
        self._words = stream.words()
        self._counters = stream.counters()

    def news(self) -> list[str]:
        if self.stream is not None:
            self._keep(self.stream)
        out, self._news = self._news, []
        return out

    def call_started(self) -> None:
        if self.stream is not None:
            self.stream.call_started()

    def counters(self) -> dict[str, object]:
        if self.stream is not None:
            self._counters = self.stream.counters()
        return self._counters

    @property
    def waiting_for(self) -> str:
        """The app this side waits for (no playback stream now), or ""."""
        stream = self.stream
        return stream.target.name if stream is not None and stream.waiting else ""

    def words(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        if self.stream is not None:
            self._words = self.stream.words()
        return self._words or (f"loopback: {self.target.spec}", (), ())


def check_app_capture(api: str, why: str) -> None:
    """Per-app capture needs PulseAudio's native API: a clear line when it is not there."""
    from coach.audio.pulse_lib import PulseUnavailable, load

    how = "name a loopback device instead (BlackHole on macOS, a virtual cable on Windows)"
    if api == "portaudio":
        raise CoachError(f'{why}: per-app capture needs PulseAudio\'s native API, but '
                         f'audio.api = "portaudio"; set audio.api = "auto" or {how}')  # fmt: skip
    try:
        load()
    except PulseUnavailable:
        raise CoachError(f"{why}: per-app capture works on Linux with PulseAudio or PipeWire "
                         f"(libpulse) only; {how}") from None  # fmt: skip
    from coach.audio.devices import pulse_sources

    if pulse_sources() is None:
        raise CoachError(f"{why}: per-app capture needs the PulseAudio/PipeWire server, and "
                         "none answers (pactl); is it running?")  # fmt: skip


def playback_table(conn: PulseConnection) -> list[tuple[StreamProps, str]]:
    """The clients' playback streams, each with its sink's name (``coach devices``)."""
    sinks = {s.index: s.name for s in conn.sinks()}
    own = os.getpid()
    return [(s, sinks.get(s.device, f"#{s.device}")) for s in conn.playback_streams()
            if is_client_stream(s, own)]  # fmt: skip


def would_record(conn: PulseConnection, target: AppTarget) -> tuple[str, list[StreamProps]]:
    """What ``coach start`` would record for ``target`` now: (in words, the streams)."""
    own = os.getpid()
    playback = conn.playback_streams()
    if target.auto:
        app = pick_call_app(playback, conn.recording_streams(), own)
        if app is None:
            return (f"auto-app: no app is playing and recording now: {MONITOR} until one "
                    "does", [])  # fmt: skip
        target = replace(target, name=app)
    streams = streams_of(target, playback, own)
    if not streams:
        return f"{target.spec}: no playback stream now; coach start waits for one", []
    ids = ", ".join(f"#{s.index}" for s in streams)
    apps = ", ".join(dict.fromkeys(app_of(s) for s in streams))
    pick = " (playing and recording)" if target.auto else ""
    plural = "s" if len(streams) > 1 else ""
    return f"{apps}{pick}: playback stream{plural} {ids}", streams
