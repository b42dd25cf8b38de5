"""The report's who-spoke-when strip: both sides' speech over the call, bucket by bucket."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from coach.ui.figures import (
    fmt_time,
    number,
    side_stats,
    span_list,
)
from coach.ui.style import CUSTOMER_STYLE, REP_STYLE

_LABELS = ("You", "Customer")
LABEL_W = max(len(s) for s in _LABELS) + 1  # row-label column of the strip

STRIP_MIN_S = 0.001
"""The shortest call the strip divides into buckets: the timeline's resolution."""


def _fill(fraction: float) -> str:
    if fraction <= 1e-9:
        return " "
    if fraction >= 2 / 3 - 1e-9:
        return "█"
    if fraction >= 1 / 3 - 1e-9:
        return "▓"
    return "▒"


def _bucket_fill(
    segments: Iterable[tuple[float, float]], duration: float, width: int
) -> list[float]:
    """Fraction of each of ``width`` equal buckets of [0, duration) covered by speech."""
    cover = [0.0] * width
    bw = duration / width
    if bw <= 0:  # no time to divide: nothing covered
        return cover
    for a, b in segments:
        a, b = max(a, 0.0), min(b, duration)
        if b <= a:
            continue
        i = min(int(a / bw), width - 1)
        while i < width:
            lo, hi = i * bw, (i + 1) * bw
            if lo >= b:
                break
            cover[i] += max(0.0, min(b, hi) - max(a, lo))
            i += 1
    return [min(1.0, c / bw) for c in cover]


def _brackets(spans: Iterable[tuple[float, float]], duration: float, width: int, top: bool) -> str:
    """A row of ┌──1:04──┐ (top) or └──1:04──┘ marks over the given spans."""
    row = [" "] * width
    bw = duration / width
    for a, b in sorted(spans):
        a, b = max(a, 0.0), min(b, duration)
        if b <= a:
            continue
        i = min(int(a / bw), width - 1)
        j = max(i, min(math.ceil(b / bw) - 1, width - 1))
        while i <= j and row[i] != " ":  # a neighbour already marks this bucket
            i += 1
        if i > j:
            continue
        n = j - i + 1
        if n == 1:
            mark = "╷" if top else "╵"
        else:
            left, right = ("┌", "┐") if top else ("└", "┘")
            inner = ["─"] * (n - 2)
            label = fmt_time(b - a)
            if n - 2 >= len(label) + 2:
                k = (n - 2 - len(label)) // 2
                inner[k : k + len(label)] = list(label)
            mark = left + "".join(inner) + right
        row[i : j + 1] = list(mark)
    return "".join(row)


def _ticks(duration: float, width: int) -> str:
    """Time labels under the strip: 0:00 at the left, the call's end at the right."""
    end = fmt_time(duration)
    row = [" "] * width
    if len(end) > width:
        return "".join(row)
    end_start = width - len(end)
    row[end_start:] = list(end)
    label_w = len(end) + 2
    step = None
    for cand in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if cand / duration * width >= label_w:
            step = cand
            break
    t = 0.0
    while step is not None and t < duration:
        col = int(round(t / duration * width))
        label = fmt_time(t)
        if col + len(label) + 1 > end_start:
            break
        row[col : col + len(label)] = list(label)
        t += step
    if step is None and end_start >= 5:
        row[0:4] = list("0:00")
    return "".join(row)


def speaker_strip(
    speech: dict[str, list[list[float]]],
    duration_s: float,
    width: int,
    *,
    monologues: dict[str, list[list[float]]] | None = None,
) -> Text:
    """Who spoke when: one row for the rep ("You") and one for the customer.

    Each of the ``width`` characters after the row label (``LABEL_W`` wide) is a
    time bucket of ``duration_s / width`` seconds: █ when speech covers at
    least 2/3 of it, ▓ at least 1/3, ▒ any, blank none. A tick row with times
    (0:00 … end) follows. With ``monologues`` (the stats' per-side
    ``monologues``), rep monologues are bracketed above the rep row
    (┌─1:04─┐) and customer stories below the customer row (└─1:04─┘).
    """
    width = max(1, int(width))
    rep_sp = span_list(speech.get("rep") if isinstance(speech, dict) else None)
    cust_sp = span_list(speech.get("customer") if isinstance(speech, dict) else None)
    duration = number(duration_s) or 0.0
    if duration <= 0:
        ends = [b for _, b in rep_sp + cust_sp]
        duration = max(ends) if ends else 1.0
    # a bucket narrower than the timeline's millisecond would underflow to zero width
    duration = max(duration, STRIP_MIN_S)

    pad = " " * LABEL_W
    text = Text(no_wrap=True, overflow="crop")
    lines: list[Text] = []
    mono = monologues or {}
    rep_mono = span_list(mono.get("rep"))
    cust_mono = span_list(mono.get("customer"))
    if rep_mono:
        lines.append(Text(pad) + Text(_brackets(rep_mono, duration, width, True), REP_STYLE))
    for label, spans, style in (
        (_LABELS[0], rep_sp, REP_STYLE),
        (_LABELS[1], cust_sp, CUSTOMER_STYLE),
    ):
        row = "".join(_fill(fr) for fr in _bucket_fill(spans, duration, width))
        lines.append(Text(label.ljust(LABEL_W), "bold") + Text(row, style))
    if cust_mono:
        lines.append(Text(pad) + Text(_brackets(cust_mono, duration, width, False), CUSTOMER_STYLE))
    lines.append(Text(pad) + Text(_ticks(duration, width), "dim"))
    for k, line in enumerate(lines):
        if k:
            text.append("\n")
        text.append_text(line)
    return text


class Strip:
    """The strip sized to whatever width Rich offers."""

    def __init__(self, stats: dict[str, Any]) -> None:
        self.stats = stats

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        speech = self.stats.get("speech")
        mono = {
            side: side_stats(self.stats, side).get("monologues") or []
            for side in ("rep", "customer")
        }
        width = max(1, options.max_width - LABEL_W)
        yield speaker_strip(
            speech if isinstance(speech, dict) else {},
            number(self.stats.get("duration_s")) or 0.0,
            width,
            monologues=mono,
        )
