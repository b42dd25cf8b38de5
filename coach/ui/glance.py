"""How the panel writes a figure so it reads at a glance: clock, ratio, bars, colours, wrapping.

Pure functions of one value (and a width): the panel's layout calls them for
every line; single-cell characters only, so columns stay aligned everywhere.
"""

from __future__ import annotations

import math

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from coach.ui.style import BAD, CUSTOMER_STYLE, GOOD, REP_STYLE, WARN

NONE = "—"
"""What a value that is not known (yet) looks like."""

MONOLOGUE_WARN_S = 45.0
"""A rep monologue turns yellow from here (red from `nudges.rep_monologue_max_s`)."""

DIM = "grey50"


def fmt_clock(seconds: float | None) -> str:
    """A running timer: ``m:ss`` (whole seconds, floored like a stopwatch).

    Minutes go past 59 rather than adding an hour field: the timers are short
    and the call clock stays one width.  None or not a number: "—".
    """
    if seconds is None or not math.isfinite(seconds):
        return NONE
    total = int(max(0.0, seconds))
    m, sec = divmod(total, 60)
    return f"{m}:{sec:02d}"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None or not math.isfinite(ratio):
        return NONE
    return f"{round(min(max(ratio, 0.0), 1.0) * 100)}%"


def fit(text: Text, width: int) -> Text:
    """One line, never wrapped: cut with an ellipsis if it is too wide."""
    text.no_wrap = True
    text.overflow = "ellipsis"
    if text.cell_len > width:
        text.truncate(max(width, 0), overflow="ellipsis")
    return text


def wrap_cells(text: str, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap by terminal cells; at most max_lines, "…" if cut."""
    width = max(width, 1)
    lines: list[str] = []
    line = ""
    for word in text.split():
        while cell_len(word) > width:  # a word longer than the line: hard cut
            if line:
                lines.append(line)
                line = ""
            lines.append(set_cell_size(word, width))
            word = word[len(lines[-1]) :]
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        keep = lines[:max_lines]
        last = keep[-1]
        if cell_len(last) + 1 > width:
            last = set_cell_size(last, width - 1)
        keep[-1] = last.rstrip() + "…"
        lines = keep
    return lines or [""]


def ratio_bar(ratio: float | None, target: float, width: int) -> Text:
    """``██████░░░░│░░░``: the rep's share filled, the target marked with ``│``."""
    width = max(width, 3)
    mark = min(width - 1, max(0, round(target * width))) if math.isfinite(target) else None
    if ratio is None or not math.isfinite(ratio):
        filled, style = 0, DIM
    else:
        r = min(max(ratio, 0.0), 1.0)
        filled = round(r * width)
        style = BAD if r > target else GOOD
    bar = Text(no_wrap=True)
    for i in range(width):
        if i == mark:
            bar.append("│", "bold")
        elif i < filled:
            bar.append("█", style)
        else:
            bar.append("░", DIM)
    return bar


def story_style(story_s: float | None, ripe_s: float) -> str:
    if story_s is None:
        return DIM
    return f"bold {GOOD}" if story_s >= ripe_s else CUSTOMER_STYLE


def monologue_style(monologue_s: float | None, max_s: float) -> str:
    if monologue_s is None:
        return DIM
    if monologue_s >= max_s:
        return f"bold {BAD}"
    if monologue_s >= min(MONOLOGUE_WARN_S, max_s):
        return f"bold {WARN}"
    return REP_STYLE
