"""Live capture: the two sides' input streams, aligned by sample count into ``(2, n)`` blocks.

The rep's mic and the customer's loopback are two independent streams at
16 kHz mono from an *input*: PortAudio's (coach/audio/portaudio_input.py) or
PulseAudio's native one (coach/audio/pulse_capture.py). :class:`LiveCapture`
takes what both delivered and an :class:`~coach.audio.aligner.Aligner` lays each
side's samples end to end on the call's time axis (coach/audio/aligner.py).

A side that is lost (its device gone, the sound server dead) is filled with
silence so the other side keeps going; it is reopened every
:data:`REOPEN_EVERY_S`. Both sides gone for :data:`BOTH_LOST_END_S` ends the
call. A side on a default device moves when the user picks another default
(an input that can tell, ``moved``: the native PulseAudio one). Each move, and
each side back after a gap, is said once (``notices``). Nothing is ever written
to disk and every buffer is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from coach.audio.aligner import Aligner
from coach.audio.devices import DeviceChoice
from coach.audio.portaudio_input import GATHER_S, PortAudioInput
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

STALL_REOPEN_S = 5.0
"""A stream that is open but delivered nothing for this long is reopened."""
REOPEN_EVERY_S = 3.0
WATCH_EVERY_S = 0.1
"""How often the streams' health is checked: each check asks both streams their
state, a cost worth paying ten times a second, not with every block."""
BOTH_LOST_END_S = 30.0

NO_AUDIO_WARN_S = 3.0
NOTICE_HOLD_S = 8.0
"""How long a change of device ("customer audio now from ...") stays on the panel."""
BACK_NOTICE_MIN_S = 0.5
"""A side back after a gap at least this long says so ("mic back after 3.3 s")."""


@dataclass(frozen=True)
class SourceState:
    """What a live source says about itself, for the panel and the report."""

    status: tuple[str, ...] = ()
    """Plain facts: which devices, the replay speed."""
    warnings: tuple[str, ...] = ()
    """Problems now: "mic lost — reopening", "12 blocks dropped"."""
    counters: dict[str, Any] = field(default_factory=dict)
    """Per side: drops, overflows, reopens, silence filled (extra stats keys)."""
    report_warnings: tuple[str, ...] = ()
    """What the post-call report should say about the capture."""
    notices: tuple[tuple[float, str], ...] = ()
    """Every change of the devices so far, once each: (call time in s, what happened)."""
    waiting_for: str = ""
    """The app the customer's side waits for (it has no playback stream now), or ""."""


@dataclass
class SideHealth:
    """What the panel and the report say about one side's stream."""

    label: str
    delivered: bool = False
    lost: bool = False
    dropped_blocks: int = 0
    overflows: int = 0
    reopens: int = 0
    switches: int = 0
    """Moves to a new default device (not failures)."""


class LiveCapture:
    """The live source: both devices, aligned, with loss handling and reopening.

    ``read`` returns the aligned ``(2, n)`` blocks available (waiting up to
    ``max_wait_s`` for the first). Nothing is returned before both streams have
    delivered a block (``listening``); call time 0 is that moment.

    The streams come from an *input*: :class:`PortAudioInput` (sounddevice, any
    platform) or :class:`coach.audio.pulse_capture.PulseInput` (PulseAudio's native API).
    """

    def __init__(
        self,
        mic: DeviceChoice,
        loopback: DeviceChoice,
        sd: ModuleType | None = None,
        *,
        source_input: Any = None,
        resolve: Callable[[int], DeviceChoice] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        gather_s: float = GATHER_S,
        grid_frames: int = 1,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.resolve = resolve
        self.grid_frames = grid_frames
        """Blocks end on multiples of this (the VAD's frame, see Aligner.pop)."""
        if source_input is None:
            if sd is None:
                raise ValueError("LiveCapture needs sounddevice or another input")
            source_input = PortAudioInput(sd, clock, gather_s)
        self.input = source_input
        self.sides = [self.input.side(i, c) for i, c in enumerate((mic, loopback))]
        self.health = [SideHealth(mic.label), SideHealth(loopback.label)]
        self.aligner: Aligner | None = None
        self.ended: str | None = None
        self._lost_since: list[float | None] = [None, None]
        self._next_reopen = [0.0, 0.0]
        self._both_lost_since: float | None = None
        self._started_at = 0.0
        self._next_watch = 0.0
        self._want = 0
        self._placed = [0, 0]
        """Per side, the stream generation the aligner has had blocks from."""
        self._back = [False, False]
        """Per side: a reopened stream whose return is not announced yet."""
        self.notices: list[tuple[float, str]] = []
        self.realigned: list[int] = []
        """Call frames from which a reopened stream's audio is placed."""
        self._notice_until = 0.0

    # -- Source protocol -----------------------------------------------------------
    @property
    def listening(self) -> bool:
        return self.aligner is not None

    def start(self) -> None:
        self._started_at = self.clock()
        opened: list[Any] = []
        try:
            for s in self.sides:
                s.open()
                opened.append(s)
        except CoachError:
            for s in opened:
                s.close()
            self.input.close()
            raise

    def read(self, max_wait_s: float) -> list[np.ndarray]:
        for item in self.input.collect(max_wait_s, self.sleep):
            self._take(*item)
        now = self.clock()
        if now >= self._next_watch:
            self._next_watch = now + WATCH_EVERY_S
            self._watch(now)
        if self.aligner is None:
            return []
        block = self.aligner.pop(now)
        # when the audio wanted next should be here: an input that is polled
        # (PulseInput) looks again just then rather than on a fixed tick
        self.input.due(self.aligner.short_frames(now, self._want) / SAMPLE_RATE_HZ)
        return [] if block is None else [block]

    def want(self, frames: int) -> None:
        """The loop needs nothing before the call reaches ``frames``: a polled
        input may sleep until then (blocks still come as they are ready)."""
        self._want = frames
        if self.aligner is not None:  # read() planned its next look for the old want
            missing = self.aligner.short_frames(self.clock(), frames)
            self.input.due(missing / SAMPLE_RATE_HZ)

    def close(self) -> None:
        for s in self.sides:
            s.close()
        self.input.close()

    def state(self) -> SourceState:
        now = self.clock()
        status: list[str] = []
        warnings: list[str] = []
        report: list[str] = []
        counters: dict[str, Any] = {}
        for i, s in enumerate(self.sides):
            said, now_warn, after = self._side_words(i, now)
            status.append(said)
            warnings.extend(now_warn)
            report.extend(after)
            counters[s.choice.role] = self._side_counters(i)
        if self.notices and now < self._notice_until:
            status.insert(0, self.notices[-1][1])
        return SourceState(
            status=tuple(status),
            warnings=tuple(warnings),
            counters=counters,
            report_warnings=tuple(report),
            notices=tuple(self.notices),
            waiting_for=next((w for s in self.sides if (w := getattr(s, "waiting_for", ""))), ""),
        )

    def _side_words(self, i: int, now: float) -> tuple[str, list[str], list[str]]:
        """(status, warnings now, what the report says) about one side."""
        h, s = self.health[i], self.sides[i]
        role = s.choice.role
        words = getattr(s, "words", None)  # a side that follows an app says more
        said, warned, after = (
            words() if words is not None else (f"{role}: {s.choice.label}", (), ())
        )
        warnings, report = list(warned), list(after)
        h.dropped_blocks, h.overflows = s.dropped, s.overflows
        if h.lost:
            warnings.append(f"{role} lost — reopening every {REOPEN_EVERY_S:.0f} s")
        elif not h.delivered and now - self._started_at > NO_AUDIO_WARN_S:
            warnings.append(f"no audio from the {role} yet")
        if h.dropped_blocks:
            warnings.append(f"{role}: {h.dropped_blocks} blocks dropped")
        if h.overflows:
            warnings.append(f"{role}: {h.overflows} input overflows")
        filled_s = 0.0 if self.aligner is None else self.aligner.filled[i] / SAMPLE_RATE_HZ
        if filled_s >= 1.0:
            report.append(
                f"the {role} ({s.choice.label}) delivered no audio for {filled_s:.1f} s "
                "of the call: those seconds count as silence on that side"
            )
        if h.dropped_blocks:
            report.append(
                f"{h.dropped_blocks} blocks of the {role} were dropped: the computer "
                "was too busy to keep up"
            )
        return said, warnings, report

    def _side_counters(self, i: int) -> dict[str, Any]:
        """One side's statistics: its device, what it lost and what was done about it."""
        h, s = self.health[i], self.sides[i]
        filled_s = late_s = 0.0
        if self.aligner is not None:
            filled_s = self.aligner.filled[i] / SAMPLE_RATE_HZ
            late_s = self.aligner.late_dropped[i] / SAMPLE_RATE_HZ
        counters = {
            "device": s.choice.label,
            "api": self.input.name,
            "dropped_blocks": h.dropped_blocks,
            "overflows": h.overflows,
            "reopens": h.reopens,
            "switches": h.switches,
            "silence_filled_s": round(filled_s, 3),
            "late_dropped_s": round(late_s, 3),
        }
        counters.update(getattr(s, "counters", dict)())  # an app side's own
        return counters

    # -- internals ------------------------------------------------------------------
    def _take(self, side: int, generation: int, t: float, data: bytes) -> None:
        stream = self.sides[side]
        if generation != stream.generation:
            return  # from a stream closed since
        stream.last_block_t = t
        health = self.health[side]
        if not health.delivered:
            health.delivered = True
        if health.lost:  # a reopened side is back with its first block
            self._set_lost(side, False, t)
        if self.aligner is None:
            if all(h.delivered for h in self.health):
                # both deliver: the call starts now; earlier audio is discarded
                self.aligner = Aligner(t, grid_frames=self.grid_frames)
                self._placed = [s.generation for s in self.sides]
                for s in self.sides:  # what a side counts about the call starts now too
                    getattr(s, "call_started", lambda: None)()
            return
        fresh = generation != self._placed[side]
        self._placed[side] = generation
        was = max(self.aligner.pos[side], self.aligner.emitted)
        lost = self.aligner.push(side, np.frombuffer(data, np.float32), t, fresh=fresh)
        if fresh:  # the sides relate anew from here (CallAnalyzer.realign)
            self.realigned.append(max(was, self.aligner.pos[side] - len(data) // 4))
        if fresh and self._back[side]:
            self._back[side] = False
            if lost >= BACK_NOTICE_MIN_S * SAMPLE_RATE_HZ:
                self._notice(f"{_side_words(stream.choice.role)} back after "
                             f"{lost / SAMPLE_RATE_HZ:.1f} s", t)  # fmt: skip

    def _notice(self, text: str, now: float) -> None:
        at_s = 0.0 if self.aligner is None else self.aligner.emitted / SAMPLE_RATE_HZ
        self.notices.append((round(at_s, 3), text))
        self._notice_until = now + NOTICE_HOLD_S

    def _follow(self, now: float) -> None:
        """Move the sides that follow a default device to the one the user chose now."""
        news = getattr(self.input, "news", None)  # an app's streams came, moved or went
        for text in news() if news is not None else ():
            self._notice(text, now)
        moved = getattr(self.input, "moved", None)
        if moved is None:
            return
        for side, choice, name, reopen in moved():
            s = self.sides[side]
            before, s.choice = s.choice.label, choice
            if reopen:
                try:
                    s.open()
                except CoachError:
                    s.close()  # lost: reopened from the defaults as they are then
                    continue
            if choice.label != before:  # not when only put back where it was
                self.health[side].switches += 1
                self._notice(f"{_side_words(choice.role)} now from {name}", now)

    def _watch(self, now: float) -> None:
        """Notice lost sides, reopen them now and then, end when both are gone too long."""
        self._follow(now)
        for i, s in enumerate(self.sides):
            heard = s.opened_at if s.last_block_t is None else s.last_block_t
            stalled = s.stream is not None and now - heard > STALL_REOPEN_S
            if s.alive and not stalled:
                if self.health[i].lost and s.last_block_t is not None:
                    self._set_lost(i, False, now)
                continue
            if not self.health[i].lost:
                self._set_lost(i, True, now)
                s.close()
            if now >= self._next_reopen[i]:
                self._next_reopen[i] = now + REOPEN_EVERY_S
                self._reopen(i)
        if all(h.lost for h in self.health):
            if self._both_lost_since is None:
                self._both_lost_since = now
            elif now - self._both_lost_since >= BOTH_LOST_END_S:
                self.ended = f"both sides lost for {BOTH_LOST_END_S:.0f} s"
        else:
            self._both_lost_since = None

    def _set_lost(self, side: int, lost: bool, now: float) -> None:
        self.health[side].lost = lost
        self._lost_since[side] = now if lost else None
        if lost:
            self._next_reopen[side] = now + REOPEN_EVERY_S
        if self.aligner is not None:
            self.aligner.set_lost(side, lost)

    def _reopen(self, side: int) -> None:
        s = self.sides[side]
        if all(other.stream is None for other in self.sides) and not self.input.reset():
            return  # nothing open, and the sound server is not back yet
        if self.resolve is not None:
            try:
                s.choice = self.resolve(side)
            except CoachError:
                return
        try:
            s.open()
        except CoachError:
            s.close()
            return
        self.health[side].reopens += 1
        self._back[side] = True


def _side_words(role: str) -> str:
    """How the rep knows each side: their "mic", and the call's "customer audio"."""
    return "mic" if role == "mic" else "customer audio"
