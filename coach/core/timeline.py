"""The timeline stage: utterances, floor, monologues, backchannels, interruptions.

An incremental state machine over both sides' merged speech segments
(``segments.SideTrack``), in integer milliseconds of audio time. It walks forward
through the *instants* at which anything can happen (segment starts and ends,
the ends plus each rule's pause, timers) and handles each one in a fixed order:

  0. a floor lapse, 1. a handover, 2. a rep utterance start, 3. a customer
  utterance start, 4. the nudge rules (a floor change at a firing instant counts
  as having happened before it).

It only handles an instant once everything that decides it is known: both
sides' speech up to that instant, whether an utterance that starts there is a
backchannel (settled at most ``backchannel_max + utterance_gap`` after its
start), and for a handover, whether the other side goes on for more than
``backchannel_max``. So the same code gives the same answer whether it is fed a
whole file, blocks of any size, or a live stream: it simply waits where the
contract says the answer is not known yet. See docs/metrics.md for every rule.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from coach.core import rules
from coach.core.record import FloorChange, Nudge, TimelineRecord
from coach.core.rules import RuleState
from coach.core.segments import SideTrack
from coach.core.timing import Timing
from coach.core.types import NudgeKind, Side


class _Blocked(Exception):
    """The instant cannot be decided yet: wait for more audio.

    ``until_ms``: audio up to this instant cannot settle it unless a speech
    boundary not heard yet does (an utterance in progress outlasts the
    backchannel limit only after it); None when any new audio might.
    """

    def __init__(self, until_ms: int | None = None) -> None:
        super().__init__()
        self.until_ms = until_ms


class _Instants:
    """A queue of future instants (ms), each handled once, in order."""

    def __init__(self) -> None:
        self.heap: list[int] = []
        self.queued: set[int] = set()
        self.done_ms = -1  # every instant up to here has been handled

    def push(self, t: int) -> None:
        if t > self.done_ms and t not in self.queued:
            self.queued.add(t)
            heapq.heappush(self.heap, t)

    def peek(self) -> int | None:
        return self.heap[0] if self.heap else None

    def pop(self) -> None:
        t = heapq.heappop(self.heap)
        self.queued.discard(t)
        self.done_ms = t


class Timeline:
    """Feed per-side speech, call :meth:`advance`, read nudges and the record.

    Two walks share the instants: the *floor walk* (floor, monologues,
    backchannels, and the rules that depend on who holds the floor) waits
    wherever a backchannel or handover is not settled yet; the *free walk*
    (deepen, summarise, talk_less: rules that depend only on who is speaking)
    runs on up to what has been heard, so those nudges come without that wait.
    """

    def __init__(
        self,
        timing: Timing,
        on_nudge: Callable[[Nudge], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        quote: Callable[[NudgeKind, int], str | None] | None = None,
    ) -> None:
        self.timing = timing
        self.quote = quote  # asked as a nudge fires: what it quotes of the call, if anything
        self.on_error = on_error  # told (without any content) when a nudge rule fails
        self.rule_errors = 0
        self._failed_rules: set[str] = set()
        self.tracks = {
            side: SideTrack(timing.merge_gap_ms, timing.utterance_gap_ms) for side in Side
        }
        self.record = TimelineRecord()
        self.on_nudge = on_nudge
        self.duration_ms: int | None = None
        self.floor_walk = _Instants()
        self.free_walk = _Instants()
        self._pushed_starts = {side: 0 for side in Side}
        self._pushed_ends = {side: 0 for side in Side}
        self._phase = 0
        # where the floor walk waits on a backchannel or handover: (instant, until_ms)
        self._blocked: tuple[int, int | None] | None = None
        self._known = 0  # known_ms (duration_ms + 1 once finished) while advance runs
        # floor state
        self.holder: Side | None = None
        self.floor_start_ms = 0
        self.last_holder: Side | None = None
        # nudge rule state
        self.rules = RuleState.start(timing)
        self.free_walk.push(self.rules.summarise_due)
        self.free_walk.push(self.rules.talk_less_next)

    # -- input ---------------------------------------------------------------
    def update(
        self,
        side: Side,
        closed: list[tuple[int, int]],
        settled_ms: int,
        open_start_ms: int | None,
    ) -> None:
        """New VAD output for one side (see ``vad.VadUpdate``)."""
        track = self.tracks[side]
        for s, e in closed:
            track.add_speech(s, e)
        track.set_open(open_start_ms)
        track.settle(settled_ms)

    def finish(self, duration_ms: int) -> None:
        """The call ended at ``duration_ms``: close everything and decide the rest."""
        self.duration_ms = duration_ms
        for track in self.tracks.values():
            track.finish(duration_ms)
        self.advance()
        if self.holder is not None:
            self._end_monologue(self.holder, duration_ms)
            self.holder = None

    # -- the walks -------------------------------------------------------------
    @property
    def known_ms(self) -> int:
        return min(t.known_ms for t in self.tracks.values())

    @property
    def done_ms(self) -> int:
        """Everything up to this instant has been decided."""
        return min(self.floor_walk.done_ms, self.free_walk.done_ms)

    @property
    def final_ms(self) -> int:
        """Every nudge at or before this instant has been emitted: both walks
        have handled every instant up to here and nothing queued later can
        fire earlier (a new instant is never before what is known)."""
        heads = [self.known_ms - 1]
        for walk in (self.floor_walk, self.free_walk):
            head = walk.peek()
            if head is not None:
                heads.append(head - 1)
        if self.duration_ms is not None:
            heads.append(self.duration_ms)
        return min(heads)

    def advance(self) -> list[Nudge]:
        """Handle every instant that can be decided now; return new nudges."""
        first_new = len(self.record.nudges)
        # the tracks do not change while the walks run: work out once how far
        # they are known (the walks ask for every instant, 50 times a second live)
        self._known = self.duration_ms + 1 if self.duration_ms is not None else self.known_ms
        self._sync_instants()
        while self._walk_floor() | self._walk_free():
            pass
        return self.record.nudges[first_new:]

    def next_instant_ms(self) -> int | None:
        """The earliest instant that audio alone (no speech boundary not heard
        yet) may let something be decided at: a live loop that feeds audio past
        it as soon as it arrives loses nothing by feeding less often before it
        (``CallAnalyzer.next_feed_samples``).

        The heads of both walks; for a floor walk waiting on a backchannel or
        handover, when that can be settled (``_Blocked.until_ms``), and the
        free walk waits for it too; and for a side in a gap that more speech
        could still bridge, the moment that gap becomes final.
        """
        heads = []
        floor = self.floor_walk.peek()
        if floor is not None and self._blocked is not None and self._blocked[0] == floor:
            floor = self._blocked[1] if self._blocked[1] is not None else floor
        if floor is not None:
            heads.append(floor)
        free = self.free_walk.peek()
        if free is not None:
            # one already heard waits for the floor walk (see _walk_free)
            heads.append(max(free, floor) if floor is not None and free < self._known else free)
        for track in self.tracks.values():
            end = track.ends[-1] if track.starts and not track.last_final else None
            if end is not None:
                heads.append(end + track.merge_gap_ms)
        return min(heads) if heads else None

    def _ready(self, t: int | None) -> bool:
        """Whether the instant t can be handled: everything before it is known
        (after `finish`: it is within the call)."""
        return t is not None and t < self._known

    def _walk_floor(self) -> bool:
        walk, moved = self.floor_walk, False
        self._blocked = None
        while self._ready(t := walk.peek()):
            assert t is not None
            try:
                self._handle(t)
            except _Blocked as blocked:
                self._blocked = (t, blocked.until_ms)
                break
            walk.pop()
            self._phase = 0
            moved = True
            self._sync_instants()
        return moved

    def _walk_free(self) -> bool:
        # deepen candidates are found by the floor walk at segment ends: stay
        # far enough behind it that every one due now has been found
        walk, moved = self.free_walk, False
        if self._ready(self.floor_walk.peek()):  # the floor walk waits there
            caught_up = self.floor_walk.done_ms
        elif self.duration_ms is not None:
            caught_up = self.duration_ms
        else:
            caught_up = self._known - 1
        limit = caught_up + self.timing.deepen_pause_ms
        while self._ready(t := walk.peek()) and t is not None and t <= limit:
            self._free_rules(t)
            walk.pop()
            moved = True
        return moved

    def _sync_instants(self) -> None:
        tm = self.timing
        floor, free = self.floor_walk, self.free_walk
        for side, track in self.tracks.items():
            if self._pushed_starts[side] == len(track.starts) == self._pushed_ends[side]:
                continue  # nothing new (all pushed, none tentative): most calls, live
            for i in range(self._pushed_starts[side], len(track.starts)):
                floor.push(track.starts[i])
            self._pushed_starts[side] = len(track.starts)
            final = track.final_count()
            for i in range(self._pushed_ends[side], final):
                end = track.ends[i]
                assert end is not None
                floor.push(end)
                floor.push(end + tm.pause_ms)
                floor.push(end + tm.floor_gap_ms)
                free.push(end + tm.summarise_silence_ms)
            self._pushed_ends[side] = max(self._pushed_ends[side], final)

    def _handle(self, t: int) -> None:
        steps = (
            self._lapse,
            self._handover,
            lambda t: self._utterance_start(Side.REP, t),
            lambda t: self._utterance_start(Side.CUSTOMER, t),
            self._floor_rules,
        )
        while self._phase < len(steps):
            steps[self._phase](t)  # may raise _Blocked: resume at this phase
            self._phase += 1

    # -- floor ---------------------------------------------------------------
    def _lapse(self, t: int) -> None:
        holder = self.holder
        if holder is None:
            return
        track = self.tracks[holder]
        last = track.last_end_before(t)
        if last is not None and last + self.timing.floor_gap_ms <= t:
            # ends at that last speech, even if the holder starts again right now
            self.record.monologues[holder].append(
                (self.floor_start_ms, max(last, self.floor_start_ms))
            )
            self.holder = None
            self.record.floor_changes.append(FloorChange(t, None, "lapse"))
            self._floor_lost(holder)

    def _handover(self, t: int) -> None:
        holder = self.holder
        if holder is None:
            return
        track = self.tracks[holder]
        i = track.segment_index_before(t)
        if i < 0 or track.ends[i] != t:
            return
        other = holder.other
        otrack = self.tracks[other]
        j = otrack.segment_index_before(t)
        # Only an utterance that began no later than the holder took the floor
        # can outlast it: a later one was a backchannel or took the floor itself.
        if j < 0 or otrack.utt_starts[j] > self.floor_start_ms:
            return
        oend, oclosed = otrack.utterance_end(j)
        limit = t + self.timing.backchannel_max_ms
        outlasts = otrack.extent_ms(oend) > limit
        if oclosed and not outlasts:
            return
        end, closed = track.utterance_end(i)
        if end is None or end > t:
            return  # the holder's utterance goes on
        if not closed:
            raise _Blocked  # is this the end of the holder's utterance?
        if outlasts:
            self._take_floor(other, t, "handover")
        else:  # does the other side go on long enough? (in progress: not before limit)
            raise _Blocked(limit if oend is None else None)

    def _utterance_start(self, side: Side, t: int) -> None:
        track = self.tracks[side]
        i = track.segment_index_before(t + 1)
        if i < 0 or track.starts[i] != t or track.utt_starts[i] != t:
            return
        if self.holder is None:
            self._take_floor(side, t, "start")
            return
        if self.holder is side:
            return
        end, closed = track.utterance_end(i)
        extent = track.extent_ms(end)
        if extent - t > self.timing.backchannel_max_ms:
            interrupts = side is Side.REP and self.tracks[Side.CUSTOMER].speaking_at(t)
            self._take_floor(side, t, "start")
            if interrupts:
                self.record.interruptions.append(t)
                due = t + self.timing.backchannel_max_ms
                self.rules.let_finish_due.append(due)
                self.floor_walk.push(due)
        elif closed:
            self.record.backchannels[side].append(t)
            if side is Side.REP and self.holder is Side.CUSTOMER:
                self._arm_acknowledge(t)
        else:  # backchannel or not: known once it ends or outlasts the limit
            raise _Blocked(t + self.timing.backchannel_max_ms if end is None else None)

    def _take_floor(self, side: Side, t: int, how: str) -> None:
        prev = self.holder
        if prev is side:
            return
        if prev is not None:
            self._end_monologue(prev, t)
            self._floor_lost(prev)
        rec = self.record
        cust = self.tracks[Side.CUSTOMER]
        if (
            side is Side.REP
            and how == "start"
            and self.last_holder is Side.CUSTOMER
            and not cust.speaking_at(t)
        ):
            last = cust.last_end_before(t)
            if last is not None and t - last <= self.timing.patience_max_ms:
                rec.patience_gaps_ms.append(t - last)
        if self.last_holder is not None and self.last_holder is not side:
            rec.side_changes += 1
        rec.floor_changes.append(FloorChange(t, side, how))
        self.holder = side
        self.floor_start_ms = t
        self.last_holder = side
        self._floor_taken(side, t)

    def _end_monologue(self, side: Side, t: int) -> None:
        """``side`` loses the floor at ``t``: its monologue runs to its last speech."""
        track = self.tracks[side]
        if track.speaking_at(t):
            end = t
        else:
            last = track.last_end_before(t)
            end = t if last is None else min(last, t)
        end = max(end, self.floor_start_ms)
        self.record.monologues[side].append((self.floor_start_ms, end))

    # -- nudge rules -----------------------------------------------------------
    def _floor_taken(self, side: Side, t: int) -> None:
        if side is Side.CUSTOMER:
            self.rules.story_id += 1
            self._arm_acknowledge(t)
        else:
            self.floor_walk.push(t + self.timing.rep_monologue_max_ms)

    def _floor_lost(self, side: Side) -> None:
        if side is Side.CUSTOMER:
            self.rules.ack_anchor = None

    def _arm_acknowledge(self, anchor: int) -> None:
        self.rules.ack_anchor = anchor
        due = anchor + self.timing.acknowledge_after_ms
        self.floor_walk.push(due)
        self.floor_walk.push(due + self.timing.max_wait_ms)

    def _floor_rules(self, t: int) -> None:
        """The rules that depend on who holds the floor."""
        for rule in (rules.acknowledge, rules.deepen_candidate, rules.pause, rules.let_finish):
            self._guarded(rule, t)

    def _free_rules(self, t: int) -> None:
        """The rules that depend only on who is speaking."""
        for rule in (rules.deepen, rules.summarise, rules.talk_less):
            self._guarded(rule, t)

    def _guarded(self, rule: Callable[[Timeline, int], None], t: int) -> None:
        """A bug in one rule costs that rule's nudge, never the call or the other rules."""
        try:
            rule(self, t)
        except Exception as e:  # noqa: BLE001 - reported, and the pipeline goes on
            self.rule_errors += 1
            name = rule.__name__.lstrip("_")
            if self.on_error is not None and name not in self._failed_rules:
                self._failed_rules.add(name)  # once per rule: no log flood
                self.on_error(f"nudge rule {name} failed at {t / 1000:.2f} s: {type(e).__name__}")

    @property
    def summarise_due_ms(self) -> int:
        """When the summarise count runs out (unless a summary restarts it first)."""
        return self.rules.summarise_due

    def resummarised(self, t_ms: int) -> None:
        """A detected rep summary (transcription) restarts the summarise count."""
        self.rules.summarise_due = max(
            self.rules.summarise_due, t_ms + self.timing.summarise_every_ms
        )
        self.free_walk.push(self.rules.summarise_due)

    def fire(self, t: int, kind: NudgeKind) -> None:
        """Record a nudge at ``t``, with its quote if one is asked for, and tell the listener."""
        nudge = Nudge(t, kind, quote=None if self.quote is None else self.quote(kind, t))
        self.record.nudges.append(nudge)
        if self.on_nudge is not None:
            self.on_nudge(nudge)
