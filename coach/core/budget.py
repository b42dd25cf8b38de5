"""The nudge budget: which due nudges reach the rep, and when.

The contract's rules (coach/core/timeline.py) decide when a nudge is *due*; this
stage decides whether it is *shown*. Every due nudge stays in the statistics,
marked ``shown`` or ``hidden`` with the reason, so the report and the
conformance cases still see every due nudge. Pure and on audio time: it reads
the timeline's record and the rep's speech, never the clock.

A due nudge at ``t``, in order of ``t``:

1. on a control call (``coach.control_every``) it is hidden: ``control``;
2. a kind the rep heeds reliably in recent calls shows only one due nudge in
   ``fade_every``: ``faded``; a talk_less nudge while the rep's share is within
   the dead-band over their own baseline: ``baseline``;
3. the same kind passed less than ``nudges.cooldown_s`` ago: ``cooldown``;
4. the same kind was shown less than ``nudges.unheeded_quiet_s`` ago and the
   rep has not done what it asked since: ``unheeded``;
5. ``nudges.max_shown_per_10min`` nudges were shown (or are held) in the last
   10 minutes: ``budget``;
6. the rep is speaking: the cue is *held* for the rep's next pause of
   ``nudges.hold_pause_s``, and shown then, or dropped (``stale``) once it has
   waited ``nudges.hold_max_s`` (``ended``: the call ended first);
7. otherwise it is shown at ``t``.

A nudge is decided only once every nudge before it has been emitted
(``Timeline.final_ms``), so a live call and ``coach analyze`` decide the same.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from coach.config import Config
from coach.core.heed import behaved
from coach.core.nudge_text import KINDS
from coach.core.segments import SideTrack
from coach.core.timeline import Nudge, Timeline
from coach.core.timing import Timing
from coach.core.types import NudgeKind, Side

WINDOW_MS = 600_000
"""The budget counts shown nudges over 10 minutes of call."""


@dataclass(frozen=True)
class BudgetParams:
    """The nudge budget's settings, in audio milliseconds: cooldown, cap and holds."""

    cooldown_ms: int
    max_shown: int  # per WINDOW_MS; 0 = no limit
    unheeded_quiet_ms: int
    hold_pause_ms: int
    hold_max_ms: int
    silent: bool = False  # a control call: statistics only, nothing shown
    fade_every: Mapping[str, int] = field(default_factory=dict)  # kind -> show 1 in N
    # the rep's own talk-ratio baseline plus its dead-band: a talk_less nudge whose
    # window ratio is not above it is hidden (None: no baseline yet)
    talk_ratio_floor: float | None = None
    talk_ratio_window_ms: int = 180_000

    @classmethod
    def from_timing(
        cls,
        timing: Timing,
        *,
        silent: bool = False,
        fade_every: Mapping[str, int] | None = None,
        talk_ratio_floor: float | None = None,
    ) -> BudgetParams:
        return cls(
            cooldown_ms=timing.cooldown_ms,
            max_shown=timing.max_shown_per_10min,
            unheeded_quiet_ms=timing.unheeded_quiet_ms,
            hold_pause_ms=timing.hold_pause_ms,
            hold_max_ms=timing.hold_max_ms,
            silent=silent,
            fade_every=dict(fade_every or {}),
            talk_ratio_floor=talk_ratio_floor,
            talk_ratio_window_ms=timing.talk_ratio_window_ms,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        silent: bool = False,
        fade_every: Mapping[str, int] | None = None,
        talk_ratio_floor: float | None = None,
    ) -> BudgetParams:
        return cls.from_timing(
            Timing.from_config(config),
            silent=silent,
            fade_every=fade_every,
            talk_ratio_floor=talk_ratio_floor,
        )


@dataclass(frozen=True)
class Cue:
    """What the rep's screen should do now: ``held`` (a quiet marker), ``shown``
    (the nudge, the bell, the notification) or ``hidden`` (nothing)."""

    nudge: Nudge
    action: str
    at_ms: int


def _order(n: Nudge) -> tuple[int, int]:
    return (n.t_ms, KINDS.index(n.kind) if n.kind in KINDS else len(KINDS))


def release_ms(track: SideTrack, t_ms: int, pause_ms: int, deadline_ms: int) -> int | None:
    """The first instant at or after ``t_ms`` when the side is not speaking and
    has been silent for ``pause_ms``; -1 if that is after ``deadline_ms``; None
    if it is not known yet."""
    r = t_ms
    while True:
        if r > deadline_ms:  # dropped, said once the deadline itself has been heard
            return -1 if track.known_ms > deadline_ms else None
        if r >= track.known_ms:
            return None
        i = bisect_right(track.starts, r) - 1  # the last segment starting at or before r
        if i < 0:
            return r
        end = track.ends[i]
        if end is None:  # speaking on, at least up to what is known
            return -1 if track.known_ms > deadline_ms else None
        if end <= r - pause_ms:
            return r
        r = end + pause_ms


class NudgeBudget:
    """Feed due nudges (:meth:`add`), call :meth:`step` after each timeline advance."""

    def __init__(self, params: BudgetParams) -> None:
        self.params = params
        # every nudge added, as added; a decision replaces it by its decided copy
        self._nudges: list[Nudge] = []
        # indices into _nudges: still to decide (in order of t), decided (in that
        # order), and held for the rep's pause
        self._pending: list[int] = []
        self._decided: list[int] = []
        self._held: list[int] = []
        self._due_of_kind: dict[str, int] = {}

    def add(self, nudges: Iterable[Nudge]) -> None:
        first = len(self._nudges)
        self._nudges.extend(nudges)
        self._pending.extend(range(first, len(self._nudges)))
        # the timeline's two walks emit out of order
        self._pending.sort(key=lambda i: _order(self._nudges[i]))

    @property
    def nudges(self) -> list[Nudge]:
        """Every nudge added, in the order added, each as decided so far."""
        return list(self._nudges)

    @property
    def held(self) -> list[Nudge]:
        """Cues waiting for the rep's pause now."""
        return [self._nudges[i] for i in self._held]

    def step(self, timeline: Timeline) -> list[Cue]:
        """Decide every nudge that can be decided now; return what changed."""
        out: list[Cue] = []
        final = timeline.final_ms
        self._resolve_held(timeline, out)
        while self._pending and self._nudges[self._pending[0]].t_ms <= final:
            self._decide(self._pending.pop(0), timeline, out)
            self._resolve_held(timeline, out)
        return out

    def next_instant_ms(self, timeline: Timeline) -> int | None:
        """When a held cue may be released next (for a live loop's feeding)."""
        rep = timeline.tracks[Side.REP]
        times = []
        for n in self.held:
            i = rep.segment_index_before(rep.known_ms)
            end = rep.ends[i] if i >= 0 else None
            deadline = n.t_ms + self.params.hold_max_ms
            pause_over = None if end is None else end + self.params.hold_pause_ms
            times.append(deadline if pause_over is None else min(deadline, pause_over))
        return min(times) if times else None

    # -- decisions -------------------------------------------------------------
    def _decide(self, i: int, timeline: Timeline, out: list[Cue]) -> None:
        n = self._nudges[i]
        p, t = self.params, n.t_ms
        self._decided.append(i)
        seen = self._due_of_kind[n.kind] = self._due_of_kind.get(n.kind, 0) + 1
        fade = p.fade_every.get(n.kind, 1)
        # passed the budget: shown, held, or held and then dropped
        passed = [
            e
            for e in (self._nudges[j] for j in self._decided[:-1])
            if e.kind == n.kind and e.hidden in (None, "stale", "ended")
        ]
        last_passed = passed[-1] if passed else None
        shown = [e for e in passed if e.shown and e.shown_ms is not None and e.shown_ms <= t]
        last_shown = shown[-1] if shown else None
        reason = None
        if p.silent:
            reason = "control"
        elif fade > 1 and (seen - 1) % fade != 0:
            reason = "faded"
        elif n.kind is NudgeKind.TALK_LESS and self._within_baseline(t, timeline):
            reason = "baseline"
        elif last_passed is not None and t - last_passed.t_ms < max(p.cooldown_ms, p.hold_max_ms):
            reason = "cooldown"
        elif (
            last_shown is not None
            and last_shown.shown_ms is not None
            and t - last_shown.shown_ms < p.unheeded_quiet_ms
            and not behaved(n.kind, last_shown.shown_ms, t, timeline)
        ):
            reason = "unheeded"
        elif p.max_shown and self._in_window(t) >= p.max_shown:
            reason = "budget"
        if reason is not None:
            self._settle(i, "hidden", t, out, shown=False, hidden=reason)
        elif timeline.tracks[Side.REP].speaking_at(t):
            self._held.append(i)
            out.append(Cue(n, "held", t))
        else:
            self._settle(i, "shown", t, out, shown=True, shown_ms=t)

    def _settle(
        self,
        i: int,
        action: str,
        at_ms: int,
        out: list[Cue],
        *,
        shown: bool,
        shown_ms: int | None = None,
        held_ms: int | None = None,
        hidden: str | None = None,
    ) -> None:
        """The nudge's decision made: its decided copy replaces it, and the cue says so."""
        n = replace(self._nudges[i], shown=shown, shown_ms=shown_ms, held_ms=held_ms, hidden=hidden)
        self._nudges[i] = n
        out.append(Cue(n, action, at_ms))

    def _within_baseline(self, t: int, timeline: Timeline) -> bool:
        """The rep's share over the talk-less window is within their own dead-band."""
        floor = self.params.talk_ratio_floor
        if floor is None:
            return False
        a = max(0, t - self.params.talk_ratio_window_ms)
        r = timeline.tracks[Side.REP].talk_in(a, t)
        c = timeline.tracks[Side.CUSTOMER].talk_in(a, t)
        return r + c > 0 and r / (r + c) <= floor

    def _in_window(self, t: int) -> int:
        """Nudges shown in (t - 10 min, t], and those held at t (each takes its place)."""
        count = 0
        for j in self._decided[:-1]:
            e = self._nudges[j]
            shown_in = e.shown and e.shown_ms is not None and t - WINDOW_MS < e.shown_ms <= t
            waiting = j in self._held
            held_at_t = waiting or (e.held_ms is not None and e.t_ms + e.held_ms > t)
            count += shown_in or held_at_t
        return count

    def _resolve_held(self, timeline: Timeline, out: list[Cue]) -> None:
        p = self.params
        rep = timeline.tracks[Side.REP]
        end = timeline.duration_ms
        for i in list(self._held):
            n = self._nudges[i]
            deadline = n.t_ms + p.hold_max_ms
            last = deadline if end is None else min(deadline, end)
            r = release_ms(rep, n.t_ms, p.hold_pause_ms, last)
            if r is None:
                continue
            self._held.remove(i)
            if r >= 0:
                self._settle(i, "shown", r, out, shown=True, shown_ms=r, held_ms=r - n.t_ms)
            else:
                stop = deadline if end is None or deadline <= end else end
                why = "stale" if stop == deadline else "ended"
                self._settle(i, "hidden", stop, out, shown=False, held_ms=stop - n.t_ms, hidden=why)

    def finish(self, timeline: Timeline) -> list[Cue]:
        """After ``Timeline.finish``: decide the rest (a cue still held is dropped)."""
        out = self.step(timeline)
        for i in list(self._held):  # only when the track could not tell (cannot happen)
            self._held.remove(i)
            at_ms = timeline.duration_ms or self._nudges[i].t_ms
            self._settle(i, "hidden", at_ms, out, shown=False, hidden="ended")
        return out


def decide_all(timeline: Timeline, params: BudgetParams | None = None) -> list[Nudge]:
    """A finished timeline's nudges, decided at once (what a live call decides bit by bit)."""
    budget = NudgeBudget(params or BudgetParams.from_timing(timeline.timing))
    budget.add(timeline.record.nudges)
    budget.finish(timeline)
    return budget.nudges


def cue_summary(nudges: list[Nudge]) -> dict[str, object]:
    """How many due nudges were shown, held and hidden (and why), for the stats."""
    held = [n.held_ms for n in nudges if n.held_ms is not None]
    hidden: dict[str, int] = {}
    for n in nudges:
        if n.hidden is not None:
            hidden[n.hidden] = hidden.get(n.hidden, 0) + 1
    return {
        "due": len(nudges),
        "shown": sum(1 for n in nudges if n.shown),
        "held": len(held),
        "held_s_total": round(sum(held) / 1000, 3),
        "held_s_max": round(max(held) / 1000, 3) if held else 0.0,
        "hidden": hidden,
    }
