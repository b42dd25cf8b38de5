"""Per-app capture of the customer's side: which playback streams are the call's, and how
several are mixed into one side. Pure: no server here (coach/audio/app_capture.py talks to it).

``--loopback app:NAME`` (``audio.loopback = "app:NAME"``) records only the playback
streams whose application name, binary or id contains NAME (case ignored), each
on its own record stream attached to that stream alone (PulseAudio's monitor
stream), summed into one side. ``auto-app`` picks the call app itself: the
application that is playing and recording at the same time, known call apps first.

Notification sounds (``media.role = event``) are never the call, whatever app plays them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from coach.audio.pulse import StreamProps
from coach.errors import CoachError

APP_PREFIX = "app:"
AUTO_APP = "auto-app"

KNOWN_CALL_APPS = (
    "zoom", "teams", "skype", "webex", "slack", "discord", "jitsi", "signal", "telegram",
    "whatsapp", "element", "mumble", "linphone", "chrome", "chromium", "firefox", "edge",
    "brave", "vivaldi", "opera",
)  # fmt: skip
"""Call apps first, then browsers (Meet, Teams and others in a tab): auto-app's ranking."""

IGNORED_APPS = ("coach",)
"""The coach's own streams (and another coach's) are never a call."""


@dataclass(frozen=True)
class AppTarget:
    """Whose playback streams are the customer's side."""

    name: str
    """What a stream's application name, binary or id contains; "" for auto-app
    until it has picked an app."""
    auto: bool = False

    @property
    def spec(self) -> str:
        return AUTO_APP if self.auto else f"{APP_PREFIX}{self.name}"


def parse_loopback(spec: str, why: str = "audio.loopback") -> AppTarget | None:
    """``app:NAME`` or ``auto-app`` as an :class:`AppTarget`; None for a device spec."""
    text = spec.strip()
    if text.casefold() == AUTO_APP:
        return AppTarget("", auto=True)
    if not text.casefold().startswith(APP_PREFIX):
        return None
    name = text[len(APP_PREFIX) :].strip()
    if not name:
        raise CoachError(
            f"{why} {spec!r} names no application: use app:NAME with part of the call "
            "app's name or binary (app:zoom, app:firefox; `coach devices` lists the "
            "playback streams), or auto-app"
        )
    return AppTarget(name)


def app_of(stream: StreamProps) -> str:
    """The application a stream belongs to, as shown and as auto-app remembers it."""
    return stream.app_name or stream.binary or stream.app_id or f"stream #{stream.index}"


def is_client_stream(stream: StreamProps, own_pid: int | None) -> bool:
    """A client's stream that could be a call: not a module's (loopbacks, filters), not
    the coach's own, not a notification sound."""
    if not stream.owned or (own_pid is not None and stream.process_id == own_pid):
        return False
    if stream.media_role == "event":
        return False
    return not any(app_of(stream).casefold() == name for name in IGNORED_APPS)


def matches(name: str, stream: StreamProps) -> bool:
    want = name.casefold()
    return any(want in field.casefold() for field in (stream.app_name, stream.binary,
                                                      stream.app_id) if field)  # fmt: skip


def streams_of(
    target: AppTarget, playback: Iterable[StreamProps], own_pid: int | None
) -> list[StreamProps]:
    """The playback streams to record for ``target`` (none while auto-app has no pick)."""
    if not target.name:
        return []
    return [s for s in playback if is_client_stream(s, own_pid) and matches(target.name, s)]


def _rank(app: str) -> int:
    low = app.casefold()
    return next((i for i, k in enumerate(KNOWN_CALL_APPS) if k in low), len(KNOWN_CALL_APPS))


def pick_call_app(
    playback: Sequence[StreamProps], recording: Sequence[StreamProps], own_pid: int | None
) -> str | None:
    """auto-app: the application both playing and recording now, known call apps first
    (then the newest playback stream); None when there is none."""
    recorders = {app_of(s).casefold() for s in recording if is_client_stream(s, own_pid)}
    both = [s for s in playback if is_client_stream(s, own_pid)
            and app_of(s).casefold() in recorders]  # fmt: skip
    if not both:
        return None
    best = min(both, key=lambda s: (_rank(app_of(s)), -s.index))
    return app_of(best)


class StreamMixer:
    """Sums several record streams of one side into one, laid out by sample count.

    Pure bookkeeping with the wall clock passed in (seconds, any origin), like
    ``aligner.Aligner`` for the two sides. Each stream's samples follow each other
    by count; a stream that is new, or back after delivering nothing for
    ``stale_s`` (its app paused or moved), is placed by the wall clock. Output runs
    up to the least advanced live stream. With no live stream the side is silent
    by the wall clock, ``hold_s`` behind it so a stream that starts is not cut:
    the side never stops, so the call goes on and a stream that comes back
    is heard where it belongs.
    """

    def __init__(
        self,
        rate_hz: int,
        *,
        stale_s: float = 0.3,
        hold_s: float = 0.1,
        resync_s: float = 1.0,
        max_pending_s: float = 2.0,
        t0: float | None = None,
    ) -> None:
        self.rate_hz = rate_hz
        self.stale_s = stale_s
        self.hold = round(hold_s * rate_hz)
        self.resync = round(resync_s * rate_hz)
        self.max_pending = round(max_pending_s * rate_hz)
        self.t0 = t0
        """Wall time of mixed frame 0 (if not given: the first push or pop)."""
        self.released = 0
        """Mixed frames handed out so far."""
        self.buf = np.zeros(0, np.float32)
        """Mixed frames from ``released`` on, as far as any stream has reached."""
        self.pos: dict[object, int] = {}
        """Per stream, the mixed frame where its next sample goes."""
        self.last_push: dict[object, float] = {}
        self.silent = 0
        """Frames given while no stream was live (the app absent or paused)."""
        self.late = 0
        """Frames that came for time already given out, dropped."""

    def _wall(self, t: float) -> int:
        assert self.t0 is not None
        return round((t - self.t0) * self.rate_hz)

    def push(self, key: object, x: np.ndarray, t: float) -> None:
        """Stream ``key``'s next samples, taken at wall time ``t``."""
        n = len(x)
        if self.t0 is None:
            self.t0 = t - n / self.rate_hz
        wall_start = self._wall(t) - n
        start = self.pos.get(key)
        fresh = start is None or t - self.last_push[key] > self.stale_s
        if start is None or fresh or wall_start - start > self.resync:
            start = max(wall_start, 0)
        self.last_push[key] = t
        if start < self.released:
            cut = min(n, self.released - start)
            self.late += cut
            x, start = x[cut:], start + cut
        end = start + len(x)
        self.pos[key] = end
        if not len(x):
            return
        a = start - self.released
        if a == len(self.buf):  # the usual case, one stream: appended, no zeros to add to
            self.buf = np.concatenate([self.buf, x]) if len(self.buf) else x.copy()
            return
        need = end - self.released
        if need > len(self.buf):
            self.buf = np.concatenate([self.buf, np.zeros(need - len(self.buf), np.float32)])
        self.buf[a : a + len(x)] += x

    def drop(self, key: object) -> None:
        """Stream ``key`` is gone: it holds nothing back any more."""
        self.pos.pop(key, None)
        self.last_push.pop(key, None)

    def live(self, now: float) -> list[object]:
        return [k for k, t in self.last_push.items() if now - t <= self.stale_s]

    def pop(self, now: float) -> np.ndarray | None:
        """The mixed frames every live stream has reached; silence by the wall clock when
        none is live; None when there is nothing new."""
        if self.t0 is None:
            self.t0 = now
        live = self.live(now)
        if live:
            target = min(self.pos[k] for k in live)
            target = max(target, max(self.pos.values()) - self.max_pending)
        else:
            reached = max(self.pos.values(), default=0)
            target = max(reached, self._wall(now) - self.hold)
            self.silent += max(0, target - max(reached, self.released))
        n = target - self.released
        if n <= 0:
            return None
        self.released = target
        if n == len(self.buf):  # all there is: handed out as it is
            out, self.buf = self.buf, np.zeros(0, np.float32)
            return out
        out = np.zeros(n, np.float32)
        k = min(n, len(self.buf))
        out[:k] = self.buf[:k]
        self.buf = self.buf[k:]
        return out
