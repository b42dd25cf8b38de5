"""Did the rep do what a nudge asked: the heed rules of docs/metrics.md, in one place.

:func:`behaved` asks it over any window (the budget: has the rep done it since a
cue was shown?); :func:`heeded` is each nudge's verdict in the statistics, over
``nudges.heed_window_s`` from the nudge, with the deepen verdicts the call's
words tell when it was transcribed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping

from coach.core.record import Nudge
from coach.core.timeline import Timeline
from coach.core.types import NudgeKind, Side


def behaved(kind: str, a_ms: int, b_ms: int, timeline: Timeline) -> bool:
    """Whether the rep did what a ``kind`` nudge asks at some instant in [a, b]."""
    rec = timeline.record
    if kind == "acknowledge":
        bcs = rec.backchannels[Side.REP]
        i = bisect_left(bcs, a_ms)
        return i < len(bcs) and bcs[i] <= b_ms
    if kind in ("deepen", "pause", "talk_less"):
        want_rep = kind == "deepen"  # deepen: the rep takes the floor; else: yields it
        changes = rec.floor_changes
        i = bisect_right(changes, a_ms, key=lambda c: c.t_ms) - 1
        holder = changes[i].side if i >= 0 else None
        if (holder is Side.REP) == want_rep:
            return True
        for c in changes[i + 1 :]:
            if c.t_ms > b_ms:
                break
            if (c.side is Side.REP) == want_rep:
                return True
        return False
    if kind == "let_finish":  # the rep stops
        rep = timeline.tracks[Side.REP]
        if not rep.speaking_at(a_ms):
            return True
        end = rep.ends[rep.segment_index_before(a_ms + 1)]
        return end is not None and end <= b_ms
    return True  # summarise: its heed is not judged without transcription


def heeded(
    nudge: Nudge, timeline: Timeline, deepen_words: Mapping[int, bool] | None = None
) -> bool:
    """The nudge's verdict: the behaviour it asks for followed within the heed window.

    ``deepen_words`` (a deepen nudge's time in ms -> verdict) is what the words
    tell: the rep took the floor *with a question*; without it, taking the floor is
    all that can be told.
    """
    if nudge.kind is NudgeKind.DEEPEN and deepen_words is not None and nudge.t_ms in deepen_words:
        return deepen_words[nudge.t_ms]
    tm = timeline.timing
    a, b = nudge.t_ms, nudge.t_ms + tm.heed_window_ms
    if nudge.kind is NudgeKind.LET_FINISH:  # the utterance that interrupted ends
        rep = timeline.tracks[Side.REP]
        i = rep.segment_index_before(a - tm.backchannel_max_ms + 1)
        if i < 0:
            return True
        end, _ = rep.utterance_end(i)
        return end is not None and end <= b
    if nudge.kind is NudgeKind.SUMMARISE:
        return False  # needs transcription to tell
    return behaved(nudge.kind, a, b, timeline)
