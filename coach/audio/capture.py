"""Live capture: two PortAudio input streams, aligned by sample count into ``(2, n)`` blocks.

The rep's mic and the customer's loopback are two independent streams at
16 kHz mono with a fixed 20 ms block. Their callbacks only copy the block into
one bounded queue (a full queue drops the block and counts it; PortAudio's
input-overflow flags are counted too). The consumer, :class:`LiveCapture`,
drains the queue and an :class:`Aligner` lays each side's samples end to end
on the call's time axis, so audio time comes from sample counts, never from
PortAudio's ADC timestamps (unusable through PulseAudio: jumps of 120-490 ms).
The wall clock only anchors the call's start and detects audio that was lost
(a stalled or reopened stream): then the gap is filled with silence. The first
audio of a reopened stream is always placed by the wall clock, so after any
reopen or move both sides stay aligned.

A side that is lost (its device gone, the sound server dead) is filled with
silence so the other side keeps going; it is reopened every
:data:`REOPEN_EVERY_S`. Both sides gone for :data:`BOTH_LOST_END_S` ends the
call. A side on a default device moves when the user picks another default
(an input that can tell, ``moved``: the native PulseAudio one). Each move, and
each side back after a gap, is said once (``notices``). Nothing is ever written
to disk and every buffer is bounded.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from coach.audio.devices import DeviceChoice, open_error
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

BLOCK_FRAMES = 320
"""20 ms: PortAudio honours a fixed blocksize exactly (p95 callback gap 21 ms)."""
QUEUE_BLOCKS = 1000
"""Both sides' blocks in flight: ~10 s each, 1.3 MB; a full queue drops and counts."""
STALE_S = 0.5
"""A side that delivered nothing for this long no longer holds the other back:
its part of the call is filled with silence (and late samples are dropped)."""
RESYNC_S = 1.0
"""A side whose sample count lags the wall clock by more than this lost audio
(a stall, a reopen): its next samples are placed by the wall clock."""
MAX_PENDING_S = 5.0
"""Most audio one side may have waiting for the other (bounded memory)."""
STALL_REOPEN_S = 5.0
"""A stream that is open but delivered nothing for this long is reopened."""
GATHER_S = 0.04
"""The consumer takes what has arrived at most this often. Each wakeup and each
analyzer call has a fixed cost: 40 ms instead of 20 saved ~3 % of a core here,
for ~10 ms more latency on average (measured with `make bench`)."""
INPUT_LATENCY_S = 0.06
"""PortAudio's input buffer. Callbacks still come every block; with ALSA's
'low' default (40 ms) its thread sometimes spun at 15-20 % CPU here, and at
100 ms the monitor source delivered ~40 ms later (measured through PulseAudio)."""
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

_ENV_LOCK = threading.Lock()
"""``PULSE_SOURCE`` is process-wide: one stream opens at a time."""


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


class Aligner:
    """Lays two sides' sample blocks on one time axis and hands out ``(2, n)`` blocks.

    Pure bookkeeping with the wall clock passed in (seconds, any origin), so it
    is tested with a fake clock. Frame ``0`` of the call is at wall time ``t0``.
    Each side's samples follow each other by count; a block is placed by the
    wall clock only when the count lags it by more than ``resync_s`` (audio was
    lost). Output runs up to the least advanced *live* side; a side that is
    lost, or stale for ``stale_s``, is filled with silence meanwhile, and when
    both are, the call goes on in silence by the wall clock.
    """

    def __init__(
        self,
        t0: float,
        *,
        rate_hz: int = SAMPLE_RATE_HZ,
        stale_s: float = STALE_S,
        resync_s: float = RESYNC_S,
        max_pending_s: float = MAX_PENDING_S,
        grid_frames: int = 1,
    ) -> None:
        self.t0 = t0
        self.grid = max(1, grid_frames)
        """Blocks end on multiples of this many frames (the VAD's frame): see pop."""
        self.rate_hz = rate_hz
        self.stale_s = stale_s
        self.resync_frames = round(resync_s * rate_hz)
        self.max_pending = round(max_pending_s * rate_hz)
        self.emitted = 0
        """Frames handed out so far: the call's audio time."""
        self.pos = [0, 0]
        """Per side, the call frame where its next sample goes."""
        self.pending: list[deque[np.ndarray]] = [deque(), deque()]
        self.pending_n = [0, 0]
        self.last_push = [t0, t0]
        self.lost = [False, False]
        self.late_dropped = [0, 0]
        """Frames that arrived for time already filled with silence."""
        self.filled = [0, 0]
        """Frames of silence put in for lost audio."""

    def _wall_frames(self, t: float) -> int:
        return round((t - self.t0) * self.rate_hz)

    def push(self, side: int, x: np.ndarray, t: float, fresh: bool = False) -> int:
        """Side ``side``'s next block, delivered at wall time ``t``; returns the frames
        of silence put before it. ``fresh``: the first block of a reopened stream,
        whose audio follows the old stream's by the wall clock, not by count."""
        n = len(x)
        start = self.pos[side]
        wall_start = self._wall_frames(t) - n
        if wall_start - start > (0 if fresh else self.resync_frames):
            start = wall_start  # audio was lost: place this block by the clock
        lost = start - self.pos[side]
        if start < self.emitted:  # that time was already handed out as silence
            cut = min(n, self.emitted - start)
            self.late_dropped[side] += cut
            x = x[cut:]
            start += cut
        gap = start - max(self.pos[side], self.emitted)
        if gap > 0:
            self._append(side, np.zeros(gap, np.float32))
            self.filled[side] += gap
        if len(x):
            self._append(side, x)
        self.pos[side] = start + len(x)
        self.last_push[side] = t
        return lost

    def _append(self, side: int, x: np.ndarray) -> None:
        self.pending[side].append(x)
        self.pending_n[side] += len(x)

    def set_lost(self, side: int, lost: bool) -> None:
        self.lost[side] = lost

    def live(self, side: int, now: float) -> bool:
        """Does this side hold the call back (it delivers audio)?"""
        return not self.lost[side] and now - self.last_push[side] <= self.stale_s

    def pop(self, now: float) -> np.ndarray | None:
        """Every frame both sides are known for; None when there is nothing new."""
        live = [side for side in (0, 1) if self.live(side, now)]
        target = min(self.pos[side] for side in live) if live else self._wall_frames(now)
        # bounded memory: a live side never waits more than max_pending for the other
        target = max(target, max(self.pos) - self.max_pending)
        # whole VAD frames only: a partial frame would wait inside the VAD anyway,
        # and each analyzer call has a fixed cost
        target -= target % self.grid
        n = target - self.emitted
        if n <= 0:
            return None
        out = np.zeros((2, n), np.float32)
        for side in (0, 1):
            # a side short of frames is filled with silence; its pos stays behind, so
            # its late frames for this stretch are dropped when they come (see push)
            self.filled[side] += n - self._take(side, out[side], self.emitted)
        self.emitted = target
        return out

    def short_frames(self, now: float, want: int = 0) -> int:
        """Frames the live sides still lack for the next block ``pop`` would give,
        or for the call to reach ``want`` frames if that is further."""
        live = [self.pos[side] for side in (0, 1) if self.live(side, now)]
        if not live:
            return 0
        return max(0, max(self.emitted + self.grid, want) - min(live))

    def _take(self, side: int, row: np.ndarray, first: int) -> int:
        """Copy this side's pending frames in ``[first, first + len(row))`` into ``row``."""
        pend = self.pending[side]
        at = self.pos[side] - self.pending_n[side]  # call frame of the first pending frame
        filled = max(0, at - first)
        copied = 0
        while pend and filled < len(row):
            head = pend[0]
            k = min(len(head), len(row) - filled)
            row[filled : filled + k] = head[:k]
            filled += k
            copied += k
            self.pending_n[side] -= k
            if k == len(head):
                pend.popleft()
            else:
                pend[0] = head[k:]
        return copied


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
        for i, (h, s) in enumerate(zip(self.health, self.sides, strict=True)):
            role = s.choice.role
            words = getattr(s, "words", None)  # a side that follows an app says more
            if words is not None:
                said, now_warn, after = words()
                status.append(said)
                warnings.extend(now_warn)
                report.extend(after)
            else:
                status.append(f"{role}: {s.choice.label}")
            h.dropped_blocks, h.overflows = s.dropped, s.overflows
            if h.lost:
                warnings.append(f"{role} lost — reopening every {REOPEN_EVERY_S:.0f} s")
            elif not h.delivered and now - self._started_at > NO_AUDIO_WARN_S:
                warnings.append(f"no audio from the {role} yet")
            if h.dropped_blocks:
                warnings.append(f"{role}: {h.dropped_blocks} blocks dropped")
            if h.overflows:
                warnings.append(f"{role}: {h.overflows} input overflows")
            filled_s = late_s = 0.0
            if self.aligner is not None:
                filled_s = self.aligner.filled[i] / SAMPLE_RATE_HZ
                late_s = self.aligner.late_dropped[i] / SAMPLE_RATE_HZ
            counters[role] = {
                "device": s.choice.label,
                "api": self.input.name,
                "dropped_blocks": h.dropped_blocks,
                "overflows": h.overflows,
                "reopens": h.reopens,
                "switches": h.switches,
                "silence_filled_s": round(filled_s, 3),
                "late_dropped_s": round(late_s, 3),
            }
            counters[role].update(getattr(s, "counters", dict)())  # an app side's own
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
