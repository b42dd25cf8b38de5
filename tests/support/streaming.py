"""Feed ideal speech segments to a Timeline as a live VAD would: bit by bit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coach.config import Config
from coach.core.stats import build_stats
from coach.core.timeline import Timeline
from coach.core.timing import Timing, ms
from coach.core.types import Side


def lay_out(pieces: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
    """(gap, length) pairs in tenths of a second → segments end to end, within 200 s."""
    out, t = [], 0
    for gap, length in pieces:
        start, t = t + gap, t + gap + length
        if t > 2000:
            break
        out.append((start / 10, t / 10))
    return out


def report_up_to(
    timeline: Timeline,
    raw: Mapping[Side, Sequence[tuple[int, int]]],
    reported: dict[Side, int],
    now_ms: int,
) -> None:
    """Tell the timeline what a VAD would know at ``now_ms``: the segments that
    have ended, and the start of one in progress."""
    for side in Side:
        segs, closed = raw[side], []
        while reported[side] < len(segs) and segs[reported[side]][1] <= now_ms:
            closed.append(segs[reported[side]])
            reported[side] += 1
        i = reported[side]
        open_start = segs[i][0] if i < len(segs) and segs[i][0] <= now_ms else None
        timeline.update(side, closed, now_ms, open_start)


def stream_segments(
    duration_s: float,
    speech: Mapping[str, Sequence[Sequence[float]]],
    step_ms: int,
    config: Config | None = None,
) -> tuple[dict, list[tuple[int, int, str]]]:
    """Returns the stats and, per nudge, (t_ms, emitted_at_ms, kind)."""
    config = config or Config()
    timeline = Timeline(Timing.from_config(config))
    raw = {side: sorted((ms(a), ms(b)) for a, b in speech.get(side.label, [])) for side in Side}
    reported = {side: 0 for side in Side}
    emitted: list[tuple[int, int, str]] = []
    duration_ms = ms(duration_s)
    now = 0
    while now < duration_ms:
        now = min(duration_ms, now + step_ms)
        report_up_to(timeline, raw, reported, now)
        for n in timeline.advance():
            emitted.append((n.t_ms, now, n.kind))
    before = len(timeline.record.nudges)
    timeline.finish(duration_ms)
    for n in timeline.record.nudges[before:]:
        emitted.append((n.t_ms, duration_ms, n.kind))
    return build_stats(timeline).to_json(), emitted
