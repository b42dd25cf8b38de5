"""What the rep sees of a nudge: its texts, the panel's board, the bell, desktop notifications
and the ``--events`` stream."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from coach.config import LiveConfig
from coach.core.nudge_text import nudge_text
from coach.core.timeline import Nudge, Timeline
from coach.core.types import Side

NUDGE_HOLD_S = 8.0
"""How long a nudge other than ``acknowledge`` stays on the panel (audio seconds)."""
MAX_NOTIFIERS = 4
"""Desktop notifications in flight at once; more are skipped, never queued."""


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
        # the budget's decision is a new copy of the held nudge: the same time and kind
        held = self.held
        if held is not None and (held.t_ms, held.kind) == (nudge.t_ms, nudge.kind):
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
