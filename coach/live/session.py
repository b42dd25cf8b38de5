"""The live loop: one loop for ``coach start`` and ``coach demo``.

A *source* hands out aligned ``(2, n)`` blocks at 16 kHz (row 0 rep, row 1
customer): :class:`~coach.audio.capture.LiveCapture` from the two devices, or
:class:`ReplaySource`, a recording replayed in real time (``--speed N``), paced
by the wall clock. The loop feeds every block to the one
:class:`~coach.core.pipeline.CallAnalyzer`, so time inside is audio time and the
nudges are exactly those of ``coach analyze`` on the same audio. Around it:

- the panel (:func:`coach.ui.panel.build_panel`) looked at ``live.refresh_hz``
  times a second by this loop and redrawn when what it shows has changed
  (Rich ``auto_refresh=False``), and at once when a nudge comes;
- nudge delivery, for the nudges the budget shows (coach/core/budget.py): the
  newest on the panel (``acknowledge`` until the rep backchannels or the story
  ends, others for :data:`NUDGE_HOLD_S`), the terminal bell and a desktop
  notification (``notify-send``, fire and forget), each switchable in the
  config; a cue held for the rep's pause is a quiet marker on the panel only;
- ``--events``: newline-delimited JSON, flushed at once: ``listening``, each
  ``nudge`` as it falls due, a ``cue`` when the budget holds, shows or hides
  it, ``device`` when the capture moves to another device or a lost one comes
  back, ``stats`` at the end;
- the customer's words (the ``deepen`` quote) go where :func:`nudge_texts`
  says: on the panel, in ``--events`` unless ``live.event_quotes = false``, in a
  desktop notification only with ``live.notification_quotes = true``, and
  never in the log lines on stderr;
- stopping: Ctrl-C, SIGTERM, ``--duration`` (audio seconds), the end of a
  replayed recording, or the source giving up (both devices gone).

The clock is passed in, so the tests drive the whole loop with a fake one.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, Protocol

import numpy as np
from rich.console import Console
from rich.live import Live

from coach.audio.audio_io import open_call
from coach.audio.capture import BLOCK_FRAMES, SourceState
from coach.config import Config, LiveConfig
from coach.core.budget import BudgetParams, Cue
from coach.core.nudge_text import nudge_text
from coach.core.pipeline import CallAnalyzer, vad_setup
from coach.core.privacy import fixed_nudge_texts
from coach.core.timeline import Nudge, Timeline
from coach.core.types import SAMPLE_RATE_HZ, Side
from coach.errors import CoachError
from coach.ui.panel import LiveSnapshot, NudgeView, build_panel, panel_key

NUDGE_HOLD_S = 8.0
"""How long a nudge other than ``acknowledge`` stays on the panel (audio seconds)."""
IDLE_WAIT_S = 0.25
"""Longest wait for audio between checks when there is no panel to redraw."""
WARN_CHECK_S = 0.5
"""Without a panel, how often the source's warnings are checked for news."""
MAX_NOTIFIERS = 4
"""Desktop notifications in flight at once; more are skipped, never queued."""
DEMO_CALL = Path(__file__).parent.parent / "data" / "demo_call.flac"


class Source(Protocol):
    """Where the live loop's audio comes from."""

    @property
    def listening(self) -> bool:
        """Both sides deliver audio (call time 0 is when this became true)."""
        ...

    @property
    def ended(self) -> str | None:
        """Why the source has nothing more to give, or None while it goes on."""
        ...

    def start(self) -> None: ...

    def read(self, max_wait_s: float) -> list[np.ndarray]:
        """The aligned blocks available now, waiting up to ``max_wait_s`` for some."""
        ...

    def state(self) -> SourceState: ...

    def close(self) -> None: ...

    @property
    def notices(self) -> Sequence[tuple[float, str]]:
        """Each device change so far, once: (call seconds, the line that says it)."""
        ...

    @property
    def realigned(self) -> Sequence[int]:
        """Each time the sides were realigned so far: the sample the realignment is at."""
        ...

    def want(self, frames: int) -> None:
        """The loop will feed when ``frames`` samples are in: a hint for batching reads."""
        ...


class ReplaySource:
    """A recording replayed in real time (times ``speed``), 20 ms at a time.

    Paced by the wall clock, analysed in audio time: after ``s`` wall seconds
    the loop has been given ``s * speed`` seconds of the call.
    """

    def __init__(
        self,
        path: Path,
        speed: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise CoachError(f"--speed must be a positive number, got {speed}")
        self.path = path
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self.duration_s = 0.0
        self._blocks: Iterator[np.ndarray] | None = None
        self._t0 = 0.0
        self._given = 0  # frames handed out
        self._ended: str | None = None

    @property
    def listening(self) -> bool:
        return self._blocks is not None

    @property
    def ended(self) -> str | None:
        return self._ended

    def start(self) -> None:
        info, self._blocks = open_call(self.path, block_s=BLOCK_FRAMES / SAMPLE_RATE_HZ)
        self.duration_s = info.duration_s
        self._t0 = self.clock()

    def _due(self) -> int:
        return math.floor((self.clock() - self._t0) * self.speed * SAMPLE_RATE_HZ)

    def read(self, max_wait_s: float) -> list[np.ndarray]:
        if self._blocks is None or self._ended is not None:
            return []
        due = self._due()
        if due < self._given + BLOCK_FRAMES:
            wait = (self._given + BLOCK_FRAMES - due) / (self.speed * SAMPLE_RATE_HZ)
            self.sleep(max(0.0, min(max_wait_s, wait)))
            due = self._due()
        out: list[np.ndarray] = []
        while self._given + BLOCK_FRAMES <= due:
            block = next(self._blocks, None)
            if block is None:
                self._ended = "end of the recording"
                break
            out.append(block)
            self._given += block.shape[1]
        return out

    def state(self) -> SourceState:
        speed = f" at {self.speed:g}x" if self.speed != 1 else ""
        return SourceState(status=(f"replaying {self.path.name}{speed}",))

    def close(self) -> None:
        self._blocks = None

    @property
    def notices(self) -> Sequence[tuple[float, str]]:
        return ()  # a recording has no devices to change

    @property
    def realigned(self) -> Sequence[int]:
        return ()  # a recording's two sides are aligned from the start

    def want(self, frames: int) -> None:
        pass  # a recording is read at its own pace, 20 ms at a time


# -- what the rep sees ------------------------------------------------------------


@dataclass(frozen=True)
class NudgeTexts:
    """What one nudge says in each place it goes."""

    panel: str
    """In front of the rep, in memory: the quote of the customer included."""
    event: str
    """``--events`` (the user's own output): the quote unless ``live.event_quotes`` is off."""
    notification: str
    """notify-send's argv, readable by any local user: the quote only by opt-in."""
    log: str
    """The log lines on stderr: never a word of the call."""


def nudge_texts(nudge: Nudge, language: str, live: LiveConfig) -> NudgeTexts:
    quoted = nudge_text(nudge.kind, language, nudge.quote)
    fixed = nudge_text(nudge.kind, language)
    return NudgeTexts(
        panel=quoted,
        event=quoted if live.event_quotes else fixed,
        notification=quoted if live.notification_quotes else fixed,
        log=fixed,
    )


class NudgeBoard:
    """The one nudge on the panel: the newest, until it has done its job."""

    def __init__(self, hold_ms: int = round(NUDGE_HOLD_S * 1000)) -> None:
        self.hold_ms = hold_ms
        self.current: Nudge | None = None
        self.text = ""
        self.shown = 0
        self.held: Nudge | None = None
        """A cue waiting for the rep's pause: a quiet marker, not the nudge."""
        self._shown_at_ms = 0
        self._floor_start_ms = 0

    def hold(self, nudge: Nudge) -> None:
        self.held = nudge

    def unhold(self, nudge: Nudge) -> None:
        if self.held is nudge:
            self.held = None

    def show(self, nudge: Nudge, text: str, timeline: Timeline, now_ms: int) -> None:
        self.unhold(nudge)
        self.current, self.text = nudge, text
        self.shown += 1
        self._shown_at_ms = now_ms
        self._floor_start_ms = timeline.floor_start_ms

    def visible(self, timeline: Timeline, now_ms: int) -> Nudge | None:
        nudge = self.current
        if nudge is None:
            return None
        if nudge.kind == "acknowledge":
            acknowledged = any(t >= nudge.t_ms for t in timeline.record.backchannels[Side.REP][-3:])
            story_over = (
                timeline.holder is not Side.CUSTOMER
                or timeline.floor_start_ms != self._floor_start_ms
            )
            if acknowledged or story_over:
                self.current = None
        elif now_ms - self._shown_at_ms > self.hold_ms:
            self.current = None
        return self.current


class NudgeDelivery:
    """Beyond the panel: the terminal bell and a desktop notification, each optional.

    ``notify-send`` runs as a detached child that is never waited for (only
    reaped), so a slow or missing notification daemon cannot stall the loop.
    """

    def __init__(
        self,
        *,
        bell: Callable[[], None] | None,
        desktop: bool,
        spawn: Callable[..., Any] = subprocess.Popen,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self.bell = bell
        self.notify_send = which("notify-send") if desktop else None
        self.spawn = spawn
        self.children: list[Any] = []

    def deliver(self, text: str) -> None:
        if self.bell is not None:
            self.bell()
        self.reap()
        if self.notify_send is None or len(self.children) >= MAX_NOTIFIERS:
            return
        try:
            child = self.spawn(
                [self.notify_send, "--app-name=coach", "--expire-time=8000", "coach", text],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            self.notify_send = None  # gone: stop trying
            return
        self.children.append(child)

    def reap(self) -> None:
        self.children = [c for c in self.children if c.poll() is None]


class EventWriter:
    """Newline-delimited JSON events, each flushed at once; a closed pipe ends them."""

    def __init__(self, out: IO[str] | None) -> None:
        self.out = out

    def emit(self, event: str, **fields: Any) -> None:
        if self.out is None:
            return
        try:
            self.out.write(json.dumps({"event": event, **fields}) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):
            self.out = None


class StopRequest:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) ask the loop to stop (it
    then reports and saves); a second Ctrl-C aborts.

    Handlers are only installed from the main thread (Python's rule); a flag,
    not an exception, so a signal never lands in the middle of the analysis.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._saved: dict[int, Any] = {}

    def request(self, reason: str) -> None:
        self.reason = self.reason or reason

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.reason is not None:
            raise KeyboardInterrupt
        reasons = {signal.SIGINT: "interrupted", signal.SIGHUP: "hung up"}
        self.request(reasons.get(signal.Signals(signum), "terminated"))

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()


# -- the snapshot -------------------------------------------------------------------


def _share(rep_ms: int, customer_ms: int) -> float | None:
    total = rep_ms + customer_ms
    return None if total == 0 else rep_ms / total


def snapshot(
    analyzer: CallAnalyzer,
    board: NudgeBoard,
    state: SourceState,
    listening: bool,
) -> LiveSnapshot:
    """The panel's view of the call right now."""
    cfg = analyzer.config
    tl = analyzer.timeline
    now = analyzer.now_ms
    rep, cust = tl.tracks[Side.REP], tl.tracks[Side.CUSTOMER]
    window_ms = round(cfg.nudges.talk_ratio_window_s * 1000)
    a = max(0, now - window_ms)
    holding = (now - tl.floor_start_ms) / 1000
    nudge = board.visible(tl, now)
    return LiveSnapshot(
        call_s=now / 1000,
        rep_speaking=rep.speaking_at(now),
        customer_speaking=cust.speaking_at(now),
        holder=None if tl.holder is None else tl.holder.label,
        talk_ratio=_share(rep.talk_in(0, now), cust.talk_in(0, now)),
        window_ratio=_share(rep.talk_in(a, now), cust.talk_in(a, now)),
        talk_ratio_max=cfg.nudges.talk_ratio_max,
        story_s=holding if tl.holder is Side.CUSTOMER else None,
        monologue_s=holding if tl.holder is Side.REP else None,
        monologue_max_s=cfg.nudges.rep_monologue_max_s,
        story_deepen_s=cfg.nudges.deepen_after_story_s,
        nudge=None if nudge is None else NudgeView(nudge.kind, board.text, nudge.t_ms / 1000),
        nudges_shown=board.shown,
        held=None if board.held is None else board.held.kind,
        backchannels=len(tl.record.backchannels[Side.REP]),
        interruptions=len(tl.record.interruptions),
        status=(("listening",) if listening else ("waiting for audio",)) + state.status,
        warnings=state.warnings + tuple(analyzer.warnings),
        customer_waiting=state.waiting_for,
    )


# -- the loop -----------------------------------------------------------------------


@dataclass
class LiveOptions:
    """How one live call runs: its length, where events go, what is drawn."""

    duration_s: float | None = None
    """Stop after this much audio time (None: until stopped)."""
    events: IO[str] | None = None
    """Where the NDJSON events go (None: nowhere)."""
    panel: Console | None = None
    """The console the panel is drawn on (None: no panel)."""
    log: IO[str] | None = None
    """Without a panel: one plain line per happening (listening, nudges, faults)."""
    clock: Callable[[], float] = time.monotonic
    spawn: Callable[..., Any] = subprocess.Popen
    """How desktop notifications are started (tests pass a fake)."""
    budget: BudgetParams | None = None
    """The nudge budget (None: the config's); a control call or history-based fading."""


@dataclass
class LiveResult:
    """What a live call leaves: its statistics and why it ended."""

    stats: dict[str, Any]
    reason: str
    """Why the call ended: "duration", "interrupted", "end of the recording", ..."""


def _bell_for(options: LiveOptions) -> Callable[[], None] | None:
    if options.panel is not None and options.panel.is_terminal:
        return options.panel.bell
    if sys.stderr.isatty():
        return _stderr_bell
    return None


def _stderr_bell() -> None:
    sys.stderr.write("\a")
    sys.stderr.flush()


def run_live(
    source: Source, config: Config, options: LiveOptions, stop: StopRequest | None = None
) -> LiveResult:
    """Run the call from ``source`` until it stops; return the statistics."""
    return LiveSession(source, config, options).run(stop or StopRequest())


class LiveSession:
    """One live call: the loop's state, and one method for each thing it does."""

    def __init__(self, source: Source, config: Config, options: LiveOptions) -> None:
        from coach.transcription.transcribe import open_transcriber

        self.source = source
        self.config = config
        self.options = options
        self.log = options.log if options.panel is None else None
        # a worker thread behind a bounded queue: the loop never waits for whisper
        transcriber = open_transcriber(config, live=True, notice=self.say)
        self.analyzer = CallAnalyzer(
            config, transcriber=transcriber, log=self.say, budget=options.budget
        )
        self.language = config.coach.language
        self.board = NudgeBoard()
        self.delivery = NudgeDelivery(
            bell=_bell_for(options) if config.live.bell else None,
            desktop=config.live.desktop_notifications,
            spawn=options.spawn,
        )
        self.events = EventWriter(options.events)
        self.period_s = 1.0 / config.live.refresh_hz
        duration_s = options.duration_s
        self.limit = None if duration_s is None else round(duration_s * SAMPLE_RATE_HZ)
        self.draw_now = False  # a nudge came: draw before anything else
        self.panel_errors = 0
        self.shown: list[object] = [None]  # what the panel shows now (panel_key)
        # audio is gathered and fed when something can be due (next_feed_samples):
        # the same nudges at the same audio time as feeding every frame, fewer calls
        self.gathered: list[np.ndarray] = []
        self.feed_at = 0
        self.announced = False
        self.warned: tuple[str, ...] = ()
        self.told = 0
        self.realigns = 0

    def say(self, line: str) -> None:
        if self.log is not None:
            self.log.write(f"coach: {line}\n")
            self.log.flush()

    def due(self, nudge: Nudge) -> None:
        texts = nudge_texts(nudge, self.language, self.config.live)
        t_s = round(nudge.t_ms / 1000, 3)
        self.events.emit("nudge", t=t_s, kind=nudge.kind, text=texts.event)
        self.say(f"{nudge.t_ms / 1000:7.2f} s  {texts.log}")

    def cue(self, c: Cue, during_call: bool = True) -> None:
        """The budget's verdict: only a shown nudge reaches the panel, bell and desktop."""
        nudge = c.nudge
        fields: dict[str, Any] = {"action": c.action, "at": round(c.at_ms / 1000, 3)}
        if nudge.hidden is not None:
            fields["why"] = nudge.hidden
        self.events.emit("cue", t=round(nudge.t_ms / 1000, 3), kind=nudge.kind, **fields)
        if c.action == "held":
            self.board.hold(nudge)
        elif c.action == "hidden":
            self.board.unhold(nudge)
        else:
            texts = nudge_texts(nudge, self.language, self.config.live)
            self.board.show(nudge, texts.panel, self.analyzer.timeline, self.analyzer.now_ms)
            if during_call:
                self.delivery.deliver(texts.notification)
        self.draw_now = True  # on the panel at once, not at the next refresh

    def draw(self, live: Live) -> None:
        """A bug in the panel is reported once; the coach keeps listening."""
        self.draw_now = False
        source = self.source
        try:
            snap = snapshot(self.analyzer, self.board, source.state(), source.listening)
            _draw(live, snap, self.shown)
        except Exception as e:  # noqa: BLE001 - the call matters more than the panel
            self.panel_errors += 1
            if self.panel_errors == 1:
                sys.stderr.write(f"coach: the panel failed ({type(e).__name__}); still listening\n")

    def feed_gathered(self) -> None:
        if not self.gathered:
            return
        gathered = self.gathered
        block = gathered[0] if len(gathered) == 1 else np.concatenate(gathered, axis=1)
        gathered.clear()
        if self.limit is not None:
            block = block[:, : max(0, self.limit - self.analyzer.samples)]
        for nudge in self.analyzer.feed(block):
            self.due(nudge)
        for c in self.analyzer.take_cues():
            self.cue(c)

    def run(self, stop: StopRequest) -> LiveResult:
        """Listen until a stop, then finish the analysis and report."""
        reason = "stopped"
        self.source.start()
        try:
            with stop, _panel(self.options.panel) as live:
                reason = self.listen(stop, live)
                if live is not None:
                    self.draw(live)
        finally:
            self.source.close()
        self.feed_gathered()  # nothing heard is lost
        return self.finish(reason)

    def stop_reason(self, stop: StopRequest) -> str | None:
        if stop.reason is not None:
            return stop.reason
        if self.limit is not None and self.analyzer.samples >= self.limit:
            return "duration"
        return self.source.ended

    def listen(self, stop: StopRequest, live: Live | None) -> str:
        """The loop: read, feed, report news, redraw; the reason it stopped."""
        clock = self.options.clock
        next_draw = next_check = clock()
        while (reason := self.stop_reason(stop)) is None:
            wait = next_draw - clock() if live is not None else IDLE_WAIT_S
            self.take(self.source.read(max(0.0, wait)))
            now = clock()
            if self.log is not None and now >= next_check:
                next_check = now + WARN_CHECK_S
                self.warn()
            if live is not None and (now >= next_draw or self.draw_now):
                self.draw(live)
                next_draw = max(next_draw + self.period_s, now)
            self.delivery.reap()
        return reason

    def take(self, blocks: list[np.ndarray]) -> None:
        """What one read brought: the source's news, then the audio."""
        source, analyzer = self.source, self.analyzer
        if source.listening and not self.announced:
            self.announced = True
            self.events.emit("listening")
            self.say("listening")
        realigned = source.realigned
        while len(realigned) > self.realigns:  # before the blocks that follow it
            analyzer.realign(realigned[self.realigns])
            self.realigns += 1
        notices = source.notices
        while len(notices) > self.told:  # a device changed or came back: once each
            at_s, text = notices[self.told]
            self.told += 1
            self.events.emit("device", t=at_s, text=text)
            self.say(text)
        if not blocks:
            return
        self.gathered.extend(blocks)
        have = analyzer.samples + sum(b.shape[1] for b in self.gathered)
        if have >= self.feed_at or (self.limit is not None and have >= self.limit):
            self.feed_gathered()
            self.feed_at = analyzer.next_feed_samples()
            source.want(self.feed_at)

    def warn(self) -> None:
        """Without a panel, each new warning of the source or analysis is one log line."""
        warnings = self.source.state().warnings + tuple(self.analyzer.warnings)
        for w in warnings:
            if w not in self.warned:
                self.say(w)
        self.warned = warnings

    def finish(self, reason: str) -> LiveResult:
        """The nudges and cues the end brings, then the statistics, streamed and returned."""
        analyzer = self.analyzer
        try:
            for nudge in analyzer.finish():
                self.due(nudge)
            for c in analyzer.take_cues():
                self.cue(c, during_call=False)
            stats = analyzer.stats()
        finally:
            analyzer.close()
        stats["end_reason"] = reason
        extra = self.source.state()
        if extra.counters:
            stats["capture"] = extra.counters
        if extra.report_warnings:
            stats["warnings"] = list(stats.get("warnings") or []) + list(extra.report_warnings)
        live_config = self.config.live
        streamed = stats if live_config.event_quotes else fixed_nudge_texts(stats, self.language)
        self.events.emit("stats", **streamed)
        return LiveResult(stats=stats, reason=reason)


@contextmanager
def _panel(console: Console | None) -> Iterator[Live | None]:
    if console is None:
        yield None
        return
    with Live(
        console=console,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
        transient=False,
    ) as live:
        yield live


def _draw(live: Live, snap: LiveSnapshot, shown: list[object]) -> None:
    """Draw ``snap`` at the terminal's size, unless that is what it shows already."""
    width, height = live.console.size
    panel = build_panel(snap, width, height)
    key = panel_key(panel)
    if key != shown[0]:
        live.update(panel, refresh=True)
        shown[0] = key


# -- wiring for the CLI -------------------------------------------------------------


def panel_console(no_panel: bool, events_to_stdout: bool) -> Console | None:
    """The panel goes to stdout's terminal, else stderr's, else nowhere."""
    if no_panel:
        return None
    if not events_to_stdout and sys.stdout.isatty():
        return Console()
    if sys.stderr.isatty():
        return Console(stderr=True)
    return None


def open_events(target: str | None) -> IO[str] | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    raise CoachError(f"--events takes '-' (standard output), got {target!r}")


def write_stats_json(stats: dict[str, Any], target: str | None) -> None:
    if target is None:
        return
    text = json.dumps(stats) + "\n"
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as e:
        raise CoachError(f"cannot write --stats-json {target}: {e.strerror or e}") from None


def check_duration(duration_s: float | None) -> None:
    if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
        raise CoachError(f"--duration must be a positive number of seconds, got {duration_s}")


def start_capture(config: Config, mic: str | None, loopback: str | None) -> Source:
    """The devices chosen from flags (or the config), opened lazily by ``start``.

    ``audio.api``: PulseAudio's native API when both sides are sources of a
    running server (coach/audio/pulse_capture.py: no threads, a fraction of the CPU),
    else PortAudio through sounddevice.
    """
    from coach.audio.capture import LiveCapture

    mic_spec = config.audio.mic if mic is None else mic
    lb_spec = config.audio.loopback if loopback is None else loopback
    mic_why = "--mic" if mic is not None else "audio.mic"
    lb_why = "--loopback" if loopback is not None else "audio.loopback"
    api = config.audio.api
    grid = vad_setup(config).frame_ms * SAMPLE_RATE_HZ // 1000  # blocks of whole VAD frames
    from coach.audio.app_streams import parse_loopback

    if parse_loopback(mic_spec, mic_why) is not None:
        raise CoachError(f"{mic_why} {mic_spec!r}: an app's playback is the customer's side; "
                         "use it with --loopback / audio.loopback")  # fmt: skip
    if parse_loopback(lb_spec, lb_why) is not None:  # an app's own streams: native API only
        from coach.audio.app_capture import check_app_capture

        check_app_capture(api, f"{lb_why} {lb_spec!r}")
        native = _pulse_capture(mic_spec, lb_spec, mic_why, lb_why, True, grid)
        assert native is not None
        return native
    if api != "portaudio":
        native = _pulse_capture(mic_spec, lb_spec, mic_why, lb_why, api == "pulseaudio", grid)
        if native is not None:
            return native

    from coach.audio.devices import choose_devices, load_sounddevice

    sd = load_sounddevice()

    def resolve() -> tuple[Any, Any]:
        return choose_devices(sd, mic_spec, lb_spec, mic_why, lb_why)

    chosen = resolve()
    return LiveCapture(
        chosen[0], chosen[1], sd, resolve=lambda side: resolve()[side], grid_frames=grid
    )


def _pulse_capture(
    mic_spec: str, lb_spec: str, mic_why: str, lb_why: str, required: bool, grid: int
) -> Source | None:
    """Both sides through PulseAudio's native API, or None to use PortAudio."""
    from coach.audio.capture import LiveCapture
    from coach.audio.devices import HOW_TO_PICK, pulse_sources
    from coach.audio.pulse import PulseUnavailable, load

    try:
        load()
    except PulseUnavailable as e:
        if required:
            raise CoachError(
                f'audio.api = "pulseaudio" but libpulse cannot be loaded ({e}); '
                'install libpulse0 or set audio.api = "auto"'
            ) from None
        return None
    sources = pulse_sources()
    if sources is None:
        if required:
            raise CoachError(
                'audio.api = "pulseaudio" but no PulseAudio/PipeWire server answers (pactl); '
                f"is it running? {HOW_TO_PICK}"
            )
        return None

    specs = (("mic", mic_spec, mic_why), ("loopback", lb_spec, lb_why))

    def resolve(side: int, found: list[str] | None = None) -> Any:
        """One side's source; on a reopen from the server's list as it is then."""
        found = (pulse_sources() or []) if found is None else found
        choice = _pulse_choices(specs[side : side + 1], found)
        if choice is None:
            role, spec, why = specs[side]
            raise CoachError(
                f"no PulseAudio source for the {role} matching {spec!r} ({why}); "
                f"PulseAudio sources: {', '.join(found) or 'none'}; {HOW_TO_PICK}"
            )
        return choice[0]

    try:
        chosen = resolve(0, sources), resolve(1, sources)
    except CoachError:
        if required:
            raise
        return None  # a PortAudio device name or index: PortAudio opens both
    from coach.audio.pulse_capture import PulseInput

    return LiveCapture(
        chosen[0], chosen[1], source_input=PulseInput(), resolve=resolve, grid_frames=grid
    )


def _pulse_choices(specs: tuple[tuple[str, str, str], ...], sources: list[str]) -> list[Any] | None:
    """Each (role, spec, why) as a PulseAudio source, or None if one is not one
    (then PortAudio records both): ``start_capture``'s choice and ``coach devices``'."""
    from coach.audio.devices import choose_pulse

    choices = [
        choose_pulse(role, spec, why if spec else "default", sources) for role, spec, why in specs
    ]
    return None if any(c is None for c in choices) else choices


# -- coach devices ------------------------------------------------------------------


def list_devices(config: Config, mic: str | None, loopback: str | None, console: Console) -> None:
    """The input devices, the sound server's sources, and what ``coach start`` would use."""
    from rich.table import Table

    from coach.audio.devices import (
        choose,
        default_sink_monitor,
        input_devices,
        load_sounddevice,
        pulse_sources,
    )

    sd = load_sounddevice()
    devices = input_devices(sd)
    sources = pulse_sources()
    table = Table(title="Input devices (PortAudio)", title_justify="left", box=None)
    for col in ("index", "name", "host API", "channels", "rate"):
        table.add_column(col)
    for d in devices:
        table.add_row(str(d.index), d.name, d.hostapi, str(d.channels), f"{d.default_rate_hz:g}")
    if devices:
        console.print(table)
    else:
        console.print("No input devices found (is a sound server running?).")
    if sources is not None:
        console.print("PulseAudio/PipeWire sources: " + (", ".join(sources) or "none"))
        monitor = default_sink_monitor()
        if monitor:
            console.print(f"Default sink's monitor (the call's audio): {monitor}")
        lb_spec = config.audio.loopback if loopback is None else loopback
        _playback_table(console, lb_spec)
    console.print()
    console.print("coach start would use:")
    specs = (
        ("mic", config.audio.mic if mic is None else mic, "--mic" if mic else "audio.mic"),
        (
            "loopback",
            config.audio.loopback if loopback is None else loopback,
            "--loopback" if loopback else "audio.loopback",
        ),
    )
    for role, spec, why in specs:
        if role == "loopback" and _app_lines(spec, why, console):
            continue
        try:
            c = choose(role, spec, why if spec else "default", devices, sd, sources)
        except CoachError as e:
            console.print(f"  {role:<9} none: {e}", markup=False, highlight=False)
            continue
        console.print(f"  {role:<9} {c.label}  ({c.why})", markup=False, highlight=False)
    console.print(f"  recorded through {_api_words(config, specs, sources)}", highlight=False)


def _pulse_or_none() -> Any:
    """A short-lived connection to the sound server for a listing, or None."""
    from coach.audio.pulse import PulseConnection, PulseError, PulseUnavailable

    try:
        return PulseConnection("coach devices")
    except (PulseUnavailable, PulseError):
        return None


def _playback_table(console: Console, loopback: str) -> None:
    """The applications' playback streams: what ``--loopback app:NAME`` can record,
    and which of them it would."""
    from rich.table import Table

    from coach.audio.app_capture import playback_table, would_record
    from coach.audio.app_streams import parse_loopback

    conn = _pulse_or_none()
    if conn is None:
        return
    try:
        rows = playback_table(conn)
        try:
            target = parse_loopback(loopback)
        except CoachError:
            target = None
        chosen = {s.index for s in would_record(conn, target)[1]} if target else set()
    finally:
        conn.close()
    if not rows:
        console.print("Playback streams (for --loopback app:NAME): none playing now")
        return
    table = Table(title="Playback streams (for --loopback app:NAME or auto-app)",
                  title_justify="left", box=None)  # fmt: skip
    for col in ("index", "application", "binary", "sink", "state", "format", "coach start"):
        table.add_column(col)
    for st, sink in rows:
        table.add_row(f"#{st.index}", st.app_name or "-", st.binary or "-", sink,
                      "paused" if st.corked else "playing",
                      f"{st.sample_format} {st.channels} ch {st.rate_hz} Hz",
                      "records it" if st.index in chosen else "")  # fmt: skip
    console.print(table)


def _app_lines(spec: str, why: str, console: Console) -> bool:
    """``coach devices`` for an ``app:NAME`` / ``auto-app`` loopback; False for a device."""
    from coach.audio.app_capture import would_record
    from coach.audio.app_streams import parse_loopback

    target = parse_loopback(spec, why)
    if target is None:
        return False
    conn = _pulse_or_none()
    if conn is None:
        console.print(f"  loopback  none: {target.spec} ({why}) needs a PulseAudio/PipeWire "
                      "server, and none answers", markup=False, highlight=False)  # fmt: skip
        return True
    try:
        words, _ = would_record(conn, target)
    finally:
        conn.close()
    console.print(f"  loopback  {words}  ({why})", markup=False, highlight=False)
    return True


def _api_words(
    config: Config, specs: tuple[tuple[str, str, str], ...], sources: list[str] | None
) -> str:
    """Which API ``coach start`` would record with (see ``start_capture``)."""
    from coach.audio.pulse import PulseUnavailable, load

    if config.audio.api == "portaudio":
        return 'PortAudio (audio.api = "portaudio")'
    try:
        load()
    except PulseUnavailable:
        return "PortAudio (libpulse is not available)"
    try:
        if sources is not None and _pulse_choices(specs, sources) is not None:
            return "PulseAudio's native API"
    except CoachError as e:  # an app: spec on the mic
        return f"nothing: {e}"
    return "PortAudio"


METER_FLOOR_DB = -60.0


def dbfs(x: np.ndarray) -> float:
    """RMS level of ``x`` in dB relative to full scale (floor: -120)."""
    if x.size == 0:
        return -120.0
    ms = float(np.mean(np.square(x, dtype=np.float64)))
    return max(-120.0, 10 * math.log10(ms)) if ms > 0 else -120.0


def _bar(db: float, width: int = 30) -> str:
    frac = min(1.0, max(0.0, (db - METER_FLOOR_DB) / -METER_FLOOR_DB))
    n = round(frac * width)
    return "#" * n + "." * (width - n)


def run_meter(
    config: Config,
    mic: str | None,
    loopback: str | None,
    console: Console,
    duration_s: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, float]:
    """Live levels of both chosen inputs until Ctrl-C or ``duration_s``; returns the peaks."""
    from rich.text import Text

    source = start_capture(config, mic, loopback)
    roles = ("mic", "loopback")
    level = [-120.0, -120.0]
    peak = [-120.0, -120.0]
    t_end = None if duration_s is None else clock() + duration_s

    def view() -> Text:
        text = Text()
        for i, role in enumerate(roles):
            text.append(f"{role:<9}", "bold")
            text.append(_bar(level[i]), "green" if level[i] > -50 else "grey50")
            text.append(f" {level[i]:6.1f} dBFS  (peak {peak[i]:6.1f})\n")
        status = "listening" if source.listening else "waiting for audio"
        warnings = source.state().warnings
        text.append(status + ("; " + "; ".join(warnings) if warnings else ""), "grey50")
        return text

    source.start()
    try:
        with (
            StopRequest() as stop,
            Live(
                view(),
                console=console,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            ) as live,
        ):
            next_draw = clock()
            while stop.reason is None and (t_end is None or clock() < t_end):
                for block in source.read(0.1):
                    for i in range(2):
                        level[i] = dbfs(block[i])
                        peak[i] = max(peak[i], level[i])
                if clock() >= next_draw:
                    live.update(view(), refresh=True)
                    next_draw = clock() + 0.1
            live.update(view(), refresh=True)
        if not console.is_terminal:
            console.line()
    finally:
        source.close()
    return dict(zip(roles, peak, strict=True))
