"""What the timeline records: floor changes, nudges, and the record the statistics read.

Plain data in audio time (milliseconds of the call); the timeline appends to it
as it decides, and the statistics read it once the call is over. A nudge is
never changed: the budget's decision and the statistics' verdict each make a
new one (``dataclasses.replace``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.core.types import NudgeKind, Side


@dataclass(frozen=True)
class FloorChange:
    """Who took the floor when: a start, a handover, or a lapse into silence."""

    t_ms: int
    side: Side | None  # None: a lapse
    how: str  # "start" | "handover" | "lapse"


@dataclass(frozen=True)
class Nudge:
    """A nudge the timeline fired: when, which kind, and what became of it."""

    t_ms: int
    kind: NudgeKind
    quote: str | None = None  # a deepen nudge's key phrase of the story, when transcribed
    # what the nudge budget (coach/core/budget.py) made of it; None until it decides
    shown: bool | None = None
    shown_ms: int | None = None  # when it reached the rep (t_ms, or later when held)
    held_ms: int | None = None  # how long it waited for the rep's pause, if it did
    hidden: str | None = None  # why it was not shown: one of privacy.HIDDEN_REASONS
    # the statistics' verdict (coach/core/stats.py); None until the call is over
    text: str = ""
    heeded: bool | None = None


@dataclass
class TimelineRecord:
    """Everything the statistics are computed from (plain data, audio time)."""

    monologues: dict[Side, list[tuple[int, int]]] = field(
        default_factory=lambda: {Side.REP: [], Side.CUSTOMER: []}
    )
    backchannels: dict[Side, list[int]] = field(
        default_factory=lambda: {Side.REP: [], Side.CUSTOMER: []}
    )
    interruptions: list[int] = field(default_factory=list)
    patience_gaps_ms: list[int] = field(default_factory=list)
    floor_changes: list[FloorChange] = field(default_factory=list)
    side_changes: int = 0  # floor changes from one side to the other
    nudges: list[Nudge] = field(default_factory=list)
