"""The report's nudge table: every due nudge, what it said, whether the rep heeded it."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from coach.core.types import NudgeKind
from coach.ui.figures import (
    ReportTargets,
    fmt_pct,
    fmt_time,
    number,
)
from coach.ui.style import BAD, GOOD, WARN


def _kind_name(kind: str) -> str:
    known = NudgeKind.named(kind)
    return kind if known is None else known.label


def _kind_hint(kind: str) -> str:
    """Shown when a nudge carries no text (older or abridged stats objects)."""
    known = NudgeKind.named(kind)
    return "" if known is None else known.hint


def nudge_table(stats: dict[str, Any], t: ReportTargets) -> RenderableType:
    raw = stats.get("nudges")
    nudges = [n for n in raw if isinstance(n, dict)] if isinstance(raw, list) else []
    if not nudges:
        return Panel(
            Text("No nudges during this call.", style=GOOD),
            title="Nudges",
            title_align="left",
            padding=(0, 1),
        )
    tab, kinds, heeded = _rows(nudges)
    summary = _heed_summary(stats, nudges, kinds, heeded)
    note = Text(f"✓ heeded: you did what it asked within {t.heed_window_s:g} s.", style="dim")
    parts: list[RenderableType] = [tab, Text(""), summary, note]
    cues = _cue_line(stats.get("cues"))
    if cues is not None:
        parts.append(cues)
    return Panel(
        Group(*parts),
        title=f"Nudges ({len(nudges)})",
        title_align="left",
        padding=(0, 1),
    )


def _rows(nudges: list[dict[str, Any]]) -> tuple[Table, list[str], dict[str, list[int]]]:
    """The table, in time order; the kinds as met, and per kind [heeded, judged]."""
    tab = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False, expand=False)
    tab.add_column("Time", justify="right", no_wrap=True, style="dim")
    tab.add_column("Nudge", no_wrap=True)
    tab.add_column("Text", ratio=1)
    tab.add_column("Heeded", justify="center", no_wrap=True)
    kinds: list[str] = []
    heeded: dict[str, list[int]] = {}  # kind -> [heeded, judged]
    for n in sorted(nudges, key=lambda n: number(n.get("t")) or 0.0):
        kind = str(n.get("kind", "?"))
        if kind not in kinds:
            kinds.append(kind)
        h = n.get("heeded")
        counts = heeded.setdefault(kind, [0, 0])
        if isinstance(h, bool):
            counts[0] += int(h)
            counts[1] += 1
            mark = Text("✓", GOOD) if h else Text("✗", BAD)
        else:
            mark = Text("—", "dim")
        text = n.get("text")
        said = Text(str(text) if isinstance(text, str) and text else _kind_hint(kind))
        held = number(n.get("held_s"))
        if n.get("shown") is False:  # due, kept in the figures, but not shown
            said.stylize("dim")
            said.append(f"  (not shown: {_HIDDEN_WHY.get(str(n.get('hidden')), 'budget')})", "dim")
        elif held is not None:
            said.append(f"  (held {held:.1f} s for your pause)", "dim")
        tab.add_row(fmt_time(number(n.get("t")) or 0.0), _kind_name(kind), said, mark)
    return tab, kinds, heeded


def _heed_summary(
    stats: dict[str, Any],
    nudges: list[dict[str, Any]],
    kinds: list[str],
    heeded: dict[str, list[int]],
) -> Text:
    """Each kind's heed rate: the stats' own when given, else counted from the table."""
    rates: dict[str, float | None] = {}
    given = stats.get("heed_rate")
    if isinstance(given, dict):
        for k, v in given.items():
            rates[str(k)] = number(v)
            if str(k) not in kinds:
                kinds.append(str(k))
    for k in kinds:
        if k not in rates:
            h_, n_ = heeded.get(k, [0, 0])
            rates[k] = h_ / n_ if n_ else None

    n_of = {k: sum(1 for n in nudges if str(n.get("kind", "?")) == k) for k in kinds}
    summary = Text("Heed rate: ", style="bold")
    for i, k in enumerate(k for k in kinds if n_of[k]):
        if i:
            summary.append(" · ")
        r = rates.get(k)
        summary.append(_kind_name(k) + " ")
        if r is None:
            summary.append("—", "dim")
        else:
            summary.append(fmt_pct(r), GOOD if r >= 0.5 else WARN)
        summary.append(f" ({n_of[k]})", "dim")
    return summary


_HIDDEN_WHY = {
    "control": "a silent call",
    "faded": "you heed it reliably",
    "baseline": "within your usual range",
    "cooldown": "same cue shortly before",
    "unheeded": "last one not acted on yet",
    "budget": "nudge budget",
    "stale": "you did not pause",
    "ended": "the call ended",
}


_HIDDEN_SHORT = {
    "control": "silent call",
    "faded": "faded",
    "baseline": "your usual range",
    "cooldown": "cooldown",
    "unheeded": "unheeded",
    "budget": "over budget",
    "stale": "no pause came",
    "ended": "call ended",
}


def _cue_line(cues: Any) -> Text | None:
    """How many due nudges reached the rep, how many were held for a pause, and why
    the rest did not (the nudge budget)."""
    if not isinstance(cues, dict):
        return None
    due, shown = number(cues.get("due")), number(cues.get("shown"))
    if not due or shown is None:
        return None
    line = Text(f"Shown {int(shown)} of {int(due)} due", style="dim")
    held = int(number(cues.get("held")) or 0)
    if held:
        total = number(cues.get("held_s_total")) or 0.0
        longest = number(cues.get("held_s_max")) or 0.0
        line.append(
            f" · {held} held for your pause ({total / held:.1f} s on average, "
            f"longest {longest:.1f} s)"
        )
    hidden = cues.get("hidden")
    if isinstance(hidden, dict) and hidden:
        why = ", ".join(
            f"{_HIDDEN_SHORT.get(str(k), str(k))} {int(number(v) or 0)}" for k, v in hidden.items()
        )
        line.append(f" · not shown: {why}")
    return line
