"""The core's shared vocabulary: the two sides of a call, the one sample rate, the nudge kinds."""

from __future__ import annotations

from enum import Enum, IntEnum

SAMPLE_RATE_HZ = 16000
"""Every stream inside the coach: files and devices are resampled to it on the way in."""


class Side(IntEnum):
    """The two sides of a call: the rep's mic and the customer's audio."""

    REP = 0
    CUSTOMER = 1

    @property
    def other(self) -> Side:
        return Side(1 - self)

    @property
    def label(self) -> str:
        return "rep" if self is Side.REP else "customer"


class NudgeKind(str, Enum):
    """What a nudge asks of the rep, with how people see it.

    The value is the contract's name for the kind (``coach.stats/1``, the
    history, the events) and the key of its text in ``nudge_text.TEXTS``; a
    member compares equal to it, so stats read back from JSON match.
    """

    label: str
    """The kind in a table or on the panel's meta line."""
    hint: str
    """The report's wording for a nudge stored without its text."""
    colours: tuple[str, str]
    """The panel's nudge bar: (background, foreground); each kind its own background."""

    def __new__(cls, value: str, label: str, hint: str, colours: tuple[str, str]) -> NudgeKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.hint = hint
        member.colours = colours
        return member

    @classmethod
    def named(cls, name: str) -> NudgeKind | None:
        """The kind of this contract name, or None (stats read back may carry another)."""
        return next((kind for kind in cls if kind.value == name), None)

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    ACKNOWLEDGE = ("acknowledge", "acknowledge", "Show you're listening", ("green", "black"))
    DEEPEN = ("deepen", "deepen", "Ask them to say more", ("cyan", "black"))
    SUMMARISE = ("summarise", "summarise", "Sum up what you heard", ("blue", "white"))
    PAUSE = ("pause", "pause", "Pause: let them talk", ("yellow", "black"))
    TALK_LESS = ("talk_less", "talk less", "Talk less, ask more", ("magenta", "white"))
    LET_FINISH = ("let_finish", "let finish", "Let them finish", ("red", "white"))
