"""The live capture's input on PulseAudio/PipeWire, through the native API (coach/audio/pulse.py).

Plugs into :class:`coach.audio.capture.LiveCapture` beside the PortAudio input: the
same alignment, loss handling and reopening, with two differences that make it
cheap. There are no callbacks and no threads: the capture loop itself runs the
connection when the audio it wants next should have arrived (``due``) and takes
whatever both streams received since.
And one connection serves both sides, so a dead server is noticed on both at
once and one reconnect brings both back.

A side on a default device (``DeviceChoice.follows``: no device named) follows
the default: the connection hears from the server when the user picks another
sink or source, and ``moved`` tells the capture to reopen that side there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from coach.audio.app_capture import AppSide
from coach.audio.devices import HOW_TO_PICK, DeviceChoice, pulse_sources
from coach.audio.native_side import NativeSide
from coach.audio.pulse import ERR_NOENTITY, PulseConnection, PulseError
from coach.audio.pulse_stream import RecordStream
from coach.errors import CoachError

TICK_S = 0.25
"""Longest wait between two looks at the connection. The live loop asks for
audio every 30-180 ms with the defaults, at most every 240 ms
(``CallAnalyzer.next_feed_samples``, ``pipeline.LAZY_MAX_MS``): this is above
that, so a look is made only when the audio wanted should be there (``due``)."""
MARGIN_S = 0.005
"""A look is made this long after the audio wanted should have arrived (fragments
come every 2-8 ms), and again after this long while it has not. On the bench
call: 664 looks for 641 feeds; 10 ms made no difference to the CPU."""


class PulseSide(NativeSide[RecordStream]):
    """One side's record stream; the same face as ``portaudio_input.SideStream``."""

    def _start(self, conn: PulseConnection) -> RecordStream:
        try:
            return conn.open(self.choice.pulse_source, f"coach {self.choice.role}",
                             pinned=not self.choice.follows)  # fmt: skip
        except PulseError as e:
            raise open_error(e, self.choice) from None

    def open(self) -> None:
        super().open()
        if self.choice.follows and self.stream is not None:
            self.stream.conn.watch_defaults()


class PulseInput:
    """Both sides' record streams on one connection, read when audio is due."""

    name = "pulseaudio"

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = TICK_S,
        connect: Callable[[], PulseConnection] = PulseConnection,
    ) -> None:
        self.clock = clock
        self.tick_s = tick_s
        self._connect = connect
        self.conn: PulseConnection | None = None
        self.sides: list[PulseSide | AppSide] = []
        self._next_pump = 0.0

    def side(self, i: int, choice: DeviceChoice) -> PulseSide | AppSide:
        app = choice.app is not None  # the customer's side from an app's own streams
        side: PulseSide | AppSide = AppSide(i, choice, self) if app else PulseSide(i, choice, self)
        self.sides.append(side)
        return side

    def news(self) -> list[str]:
        """What the sides that follow an app have to say, once each."""
        return [text for s in self.sides if isinstance(s, AppSide) for text in s.news()]

    def connection(self, choice: DeviceChoice) -> PulseConnection:
        if self.conn is not None and self.conn.failed:
            self.reset()
        if self.conn is None:
            try:
                self.conn = self._connect()
            except PulseError as e:
                raise open_error(e, choice) from None
        return self.conn

    def due(self, wait_s: float) -> None:
        """The audio still missing for the next whole block should take ``wait_s``."""
        self._next_pump = self.clock() + min(self.tick_s, wait_s + MARGIN_S)

    def collect(
        self, max_wait_s: float, sleep: Callable[[float], None]
    ) -> list[tuple[int, int, float, bytes]]:
        """Wait until audio is due (at most ``max_wait_s``), then take what arrived."""
        now = self.clock()
        if self._next_pump - now > 0:
            sleep(min(self._next_pump - now, max_wait_s))
        now = self.clock()
        if now < self._next_pump:
            return []
        self._next_pump = now + self.tick_s  # until the capture says when (due)
        if self.conn is None:
            return []
        self.conn.pump()
        items = []
        for s in self.sides:
            if s.stream is not None:
                data = s.stream.read()
                if data:
                    items.append((s.side, s.generation, now, data))
        return items

    def moved(self) -> list[tuple[int, DeviceChoice, str, bool]]:
        """Sides that follow a default (``DeviceChoice.follows``) which names another
        device now: (side, the device, its description, whether to reopen there --
        not when the server has moved the stream itself, as PipeWire does)."""
        conn = self.conn
        if conn is None or not conn.ready:
            return []
        sink, source = conn.defaults
        out = []
        for s in self.sides:
            if s.stream is None or s.device is None:
                continue
            if s.choice.follows == "sink" and sink is not None:
                want, kind, device = f"{sink}.monitor", "sink", sink
            elif s.choice.follows == "source" and source is not None:
                want, kind, device = source, "source", source
            else:
                continue
            # where it records now: a server may move a stream itself
            current = s.stream.device or s.device
            if want != s.device or want != current:
                name = conn.describe(kind, device) or device
                choice = replace(s.choice, label=want, pulse_source=want)
                out.append((s.side, choice, name, want != current))
                if want == current:
                    s.device = want
        return out

    def reset(self) -> bool:
        """Nothing is open: drop the connection, the next open makes a new one."""
        for s in self.sides:
            s.close()
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        return True

    def close(self) -> None:
        self.reset()


def open_error(e: PulseError, choice: DeviceChoice) -> CoachError:
    """What went wrong opening ``choice``, in words, with the sources found."""
    what = f"the {choice.role} ({choice.label}, {choice.why})"
    sources = pulse_sources()
    listing = "PulseAudio sources: " + (", ".join(sources or []) or "none")
    if e.errno == ERR_NOENTITY and choice.pulse_source:
        return CoachError(
            f"cannot open {what}: the sound server has no source {choice.pulse_source!r}; "
            f"{listing}; {HOW_TO_PICK}"
        )
    if sources is None:
        return CoachError(
            f"cannot open {what}: no PulseAudio/PipeWire server answers ({e}); is it "
            f"running? {HOW_TO_PICK}"
        )
    return CoachError(f"cannot open {what}: {e}; {listing}; {HOW_TO_PICK}")
