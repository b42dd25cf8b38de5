"""The live loop: one loop for ``coach start`` and ``coach demo``.

A *source* hands out aligned ``(2, n)`` blocks at 16 kHz (row 0 rep, row 1
customer): :class:`~coach.audio.capture.LiveCapture` from the two devices, or
:class:`~coach.live.sources.ReplaySource`, a recording replayed in real time
(``--speed N``), paced by the wall clock. The loop feeds every block to the one
:class:`~coach.core.pipeline.CallAnalyzer`, so time inside is audio time and the
nudges are exactly those of ``coach analyze`` on the same audio. Around it:

- the panel (:func:`coach.ui.panel.build_panel`) looked at ``live.refresh_hz``
  times a second by this loop and redrawn when what it shows has changed
  (Rich ``auto_refresh=False``), and at once when a nudge comes;
- nudge delivery, for the nudges the budget shows (coach/core/budget.py): the
  newest on the panel (``acknowledge`` until the rep backchannels or the story
  ends, others for :data:`~coach.live.delivery.NUDGE_HOLD_S`), the terminal bell and a desktop
  notification (``notify-send``, fire and forget), each switchable in the
  config; a cue held for the rep's pause is a quiet marker on the panel only;
- ``--events``: newline-delimited JSON, flushed at once: ``listening``, each
  ``nudge`` as it falls due, a ``cue`` when the budget holds, shows or hides
  it, ``device`` when the capture moves to another device or a lost one comes
  back, ``stats`` at the end;
- the customer's words (the ``deepen`` quote) go where :func:`~coach.live.delivery.nudge_texts`
  says: on the panel, in ``--events`` unless ``live.event_quotes = false``, in a
  desktop notification only with ``live.notification_quotes = true``, and
  never in the log lines on stderr;
- stopping: Ctrl-C, SIGTERM, ``--duration`` (audio seconds), the end of a
  replayed recording, or the source giving up (both devices gone).

The clock is passed in, so the tests drive the whole loop with a fake one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from rich.console import Console
from rich.live import Live

from coach.audio.capture import SourceState
from coach.config import Config
from coach.core.budget import BudgetParams, Cue
from coach.core.pipeline import CallAnalyzer
from coach.core.privacy import fixed_nudge_texts
from coach.core.timeline import Nudge
from coach.core.types import SAMPLE_RATE_HZ, Side
from coach.live.delivery import EventWriter, NudgeBoard, NudgeDelivery, nudge_texts
from coach.live.signals import StopRequest
from coach.live.sources import Source
from coach.ui.panel import LiveSnapshot, NudgeView, build_panel, panel_key

IDLE_WAIT_S = 0.25
"""Longest wait for audio between checks when there is no panel to redraw."""
WARN_CHECK_S = 0.5
"""Without a panel, how often the source's warnings are checked for news."""


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
        from coach.transcription.transcribers import open_transcriber

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
