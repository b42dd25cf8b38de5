"""The nudge rules: small units that read the timeline's floor state and fire nudges.

Each rule is a function of the timeline (who holds the floor since when, both
sides' speech) and the instant it is asked about; what a rule must remember
between instants (anchors, candidates, cooldowns) is in `RuleState`. The
timeline decides *when* a rule is asked, in the order docs/metrics.md gives;
the rules decide *whether* it fires. Floor rules depend on who holds the floor
and wait with the floor walk; free rules depend only on who is speaking.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coach.core.timing import Timing
from coach.core.types import NudgeKind, Side

if TYPE_CHECKING:
    from coach.core.timeline import Timeline


@dataclass
class RuleState:
    """What the rules remember between instants (cooldowns are timestamps, not timers)."""

    summarise_due: int
    talk_less_next: int
    ack_anchor: int | None = None
    story_id: int = 0
    story_deepened: int = -1
    deepen_candidates: deque[tuple[int, int]] = field(default_factory=deque)  # (end, story)
    let_finish_due: deque[int] = field(default_factory=deque)

    @classmethod
    def start(cls, timing: Timing) -> RuleState:
        """The state at the call's start: the first summarise and talk_less checks queued."""
        return cls(timing.summarise_every_ms, ceil_second(timing.talk_ratio_window_ms))


def acknowledge(tl: Timeline, t: int) -> None:
    """After a stretch without backchannel, at a natural pause."""
    tm = tl.timing
    if tl.holder is Side.CUSTOMER and tl.rules.ack_anchor is not None:
        due = tl.rules.ack_anchor + tm.acknowledge_after_ms
        cust = tl.tracks[Side.CUSTOMER]
        paused = cust.silent_for(t, tm.pause_ms) or t >= due + tm.max_wait_ms
        if t >= due and paused and not tl.tracks[Side.REP].speaking_at(t):
            tl.fire(t, NudgeKind.ACKNOWLEDGE)
            tl.rules.ack_anchor = None


def deepen_candidate(tl: Timeline, t: int) -> None:
    """Deepen, part 1: a segment of a story of deepen_after_story_s or more ends."""
    tm = tl.timing
    cust = tl.tracks[Side.CUSTOMER]
    i = cust.segment_index_before(t)
    if (
        tl.holder is Side.CUSTOMER
        and i >= 0
        and cust.ends[i] == t
        and t - tl.floor_start_ms >= tm.deepen_after_story_ms
    ):
        tl.rules.deepen_candidates.append((t, tl.rules.story_id))
        tl.free_walk.push(t + tm.deepen_pause_ms)


def pause(tl: Timeline, t: int) -> None:
    """A rep monologue reaching its limit."""
    if tl.holder is Side.REP and t == tl.floor_start_ms + tl.timing.rep_monologue_max_ms:
        tl.fire(t, NudgeKind.PAUSE)


def let_finish(tl: Timeline, t: int) -> None:
    """An interruption, once it is known not to be a backchannel."""
    while tl.rules.let_finish_due and tl.rules.let_finish_due[0] <= t:
        tl.rules.let_finish_due.popleft()
        tl.fire(t, NudgeKind.LET_FINISH)


def deepen(tl: Timeline, t: int) -> None:
    """Deepen, part 2: the first pause of deepen_pause_s after such a segment
    (it fires even if the rep takes the floor during that pause)."""
    tm = tl.timing
    cust = tl.tracks[Side.CUSTOMER]
    while tl.rules.deepen_candidates and tl.rules.deepen_candidates[0][0] + tm.deepen_pause_ms <= t:
        _, story = tl.rules.deepen_candidates.popleft()
        if story != tl.rules.story_deepened and cust.silent_for(t, tm.deepen_pause_ms):
            tl.rules.story_deepened = story
            tl.fire(t, NudgeKind.DEEPEN)


def summarise(tl: Timeline, t: int) -> None:
    """Every so often, in a shared silence."""
    tm = tl.timing
    rep, cust = tl.tracks[Side.REP], tl.tracks[Side.CUSTOMER]
    if (
        t >= tl.rules.summarise_due
        and rep.silent_for(t, tm.summarise_silence_ms)
        and cust.silent_for(t, tm.summarise_silence_ms)
    ):
        tl.fire(t, NudgeKind.SUMMARISE)
        tl.rules.summarise_due = t + tm.summarise_every_ms
        tl.free_walk.push(tl.rules.summarise_due)


def talk_less(tl: Timeline, t: int) -> None:
    """The rep's share over the rolling window, at whole seconds."""
    tm = tl.timing
    if t != tl.rules.talk_less_next:
        return
    # the next check is queued first: a failure here must not end the checks
    tl.rules.talk_less_next = t + 1000
    a = max(0, t - tm.talk_ratio_window_ms)
    r = tl.tracks[Side.REP].talk_in(a, t)
    c = tl.tracks[Side.CUSTOMER].talk_in(a, t)
    fire = r + c > 0 and r / (r + c) > tm.talk_ratio_max
    if fire:
        tl.rules.talk_less_next = ceil_second(t + tm.talk_ratio_window_ms)
    tl.free_walk.push(tl.rules.talk_less_next)
    if fire:
        tl.fire(t, NudgeKind.TALK_LESS)


def ceil_second(t_ms: int) -> int:
    """The first whole second at or after ``t_ms``."""
    return -(-t_ms // 1000) * 1000
