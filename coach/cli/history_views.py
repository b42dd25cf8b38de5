"""What `coach history` shows: the calls table, trends with sparklines, baseline and effect.

Pure rendering of stored rows and coaching results into rich tables and JSON;
the commands that read the database and print these are in ``history_cmd``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from coach.history import coaching
from coach.history.records import CallRow, values
from coach.ui.report import fmt_time

HISTORY_SCHEMA = "coach.history/1"
SPARKS = "▁▂▃▄▅▆▇█"
MISSING = "·"
TALK_RATIO_IDEAL = 0.43  # Gong Labs: best-converting calls 43:57 (as in coach.ui.report)


# --------------------------------------------------------------------------- formatting


def sparkline(
    series: Sequence[float | None], lo: float | None = None, hi: float | None = None
) -> str:
    """One character per value, ▁ (``lo``) to █ (``hi``); ``·`` where a value is missing.

    ``lo``/``hi`` default to the series' own minimum and maximum; a flat series
    sits in the middle (▄) unless a fixed scale places it.
    """
    nums = [v for v in series if v is not None and math.isfinite(v)]
    if not nums:
        return MISSING * len(series)
    low = min(nums) if lo is None else lo
    high = max(nums) if hi is None else hi
    out = []
    for v in series:
        if v is None or not math.isfinite(v):
            out.append(MISSING)
        elif high <= low:
            out.append(SPARKS[3])
        else:
            frac = min(1.0, max(0.0, (v - low) / (high - low)))
            out.append(SPARKS[round(frac * (len(SPARKS) - 1))])
    return "".join(out)


def _pct(v: float) -> str:
    return f"{round(v * 100)} %"


def _secs(v: float) -> str:
    return f"{v:.1f} s"


def _dur(v: float) -> str:
    return fmt_time(v) if v >= 60 else f"{round(v)} s"


@dataclass(frozen=True)
class Figure:
    """A figure ``coach history`` follows over calls, and which way is better."""

    column: str
    label: str
    fmt: Callable[[float], str]
    goodness: Callable[[float], float]  # higher is better
    steady: float  # a change smaller than this is "steady"
    lo: float | None = 0.0  # sparkline scale (None: the series' own)
    hi: float | None = None
    note: str = ""


FIGURES: tuple[Figure, ...] = (
    Figure(
        column="talk_ratio",
        label="You talked",
        fmt=_pct,
        goodness=lambda v: -abs(v - TALK_RATIO_IDEAL),
        steady=0.03,
        hi=1.0,
        note=f"talking closer to {_pct(TALK_RATIO_IDEAL)}",
    ),
    Figure(
        column="longest_story_s",
        label="Longest customer story",
        fmt=_dur,
        goodness=lambda v: v,
        steady=5.0,
        note="longer customer stories",
    ),
    Figure(
        column="patience_s",
        label="Patience",
        fmt=_secs,
        goodness=lambda v: min(v, 1.5),  # top reps pause ~1-1.5 s; longer is no better
        steady=0.1,
        note="pausing up to 1.5 s",
    ),
    Figure(
        column="heed_rate",
        label="Nudges heeded",
        fmt=_pct,
        goodness=lambda v: v,
        steady=0.05,
        hi=1.0,
        note="heeding more nudges",
    ),
)
"""The figures `coach history` trends, in the order shown."""


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def trend(fig: Figure, series: Sequence[float | None]) -> dict[str, Any]:
    """Earlier vs recent calls for one figure (``series`` oldest first).

    The calls with a value are split in halves (the middle one left out when
    odd); ``direction`` is up/down/steady by ``fig.steady``, and ``verdict``
    better/worse/steady by the figure's notion of good. Null without 2 values.
    """
    nums = [v for v in series if v is not None]
    out: dict[str, Any] = {
        "values": list(series),
        "last": nums[-1] if nums else None,
        "mean": _mean(nums) if nums else None,
        "earlier": None,
        "recent": None,
        "direction": None,
        "verdict": None,
    }
    if len(nums) < 2:
        return out
    half = len(nums) // 2
    earlier, recent = _mean(nums[:half]), _mean(nums[-half:])
    out["earlier"], out["recent"] = earlier, recent
    if abs(recent - earlier) < fig.steady:
        out["direction"] = out["verdict"] = "steady"
    else:
        out["direction"] = "up" if recent > earlier else "down"
        g0, g1 = fig.goodness(earlier), fig.goodness(recent)
        out["verdict"] = "steady" if g0 == g1 else ("better" if g1 > g0 else "worse")
    return out


def _trend_line(fig: Figure, t: dict[str, Any]) -> Text:
    if t["last"] is None:
        return Text("no data yet", "dim")
    if t["direction"] is None:
        return Text("one call so far", "dim")
    earlier, recent = fig.fmt(t["earlier"]), fig.fmt(t["recent"])
    if t["direction"] == "steady":
        return Text(f"→ steady at {recent}", "dim")
    arrow = "↑" if t["direction"] == "up" else "↓"
    style = {"better": "green", "worse": "red"}.get(t["verdict"], "")
    return Text.assemble(f"{arrow} {earlier} → {recent}  ", (str(t["verdict"]), style))


def when(iso: str, now: datetime | None = None) -> str:
    """``Mar 04 14:05`` this year, ``2024-03-04 14:05`` before."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    this_year = (now or datetime.now()).year
    return t.strftime("%b %d %H:%M" if t.year == this_year else "%Y-%m-%d %H:%M")


def _call_label(source: str) -> str:
    """The source without the command: ``analyze acme.flac`` → ``acme.flac``."""
    return source.removeprefix("analyze ") or source


def _opt(v: float | None, fmt: Callable[[float], str]) -> str:
    return "—" if v is None else fmt(v)


def _heeded(r: CallRow) -> str:
    if not r.nudges or r.heed_rate is None:
        return "—"
    return f"{round(r.heed_rate * r.nudges)} of {r.nudges}"


def calls_table(rows: Sequence[CallRow]) -> Table:
    table = Table(
        title="Recent calls",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    # Only the call's name gives way (with an ellipsis) when the terminal is narrow.
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("When", no_wrap=True, min_width=12)
    table.add_column("Call", overflow="ellipsis", min_width=8, ratio=1)
    for name, width in (("Length", 6), ("Talk", 5), ("Story", 5), ("Patience", 8)):
        table.add_column(name, justify="right", no_wrap=True, min_width=width)
    table.add_column("Heeded", justify="right", no_wrap=True, min_width=6)
    for r in rows:
        table.add_row(
            str(r.id),
            when(r.saved_at),  # when it ended or was analysed: in id order
            _call_label(r.source),
            fmt_time(r.duration_s),
            _opt(r.talk_ratio, _pct),
            _dur(r.longest_story_s),
            _opt(r.patience_s, _secs),
            _heeded(r),
        )
    return table


def trends_table(rows: Sequence[CallRow]) -> Table:
    table = Table(
        title=f"Trends, oldest → newest ({len(rows)} call{'s' if len(rows) != 1 else ''})",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    table.add_column("Figure", no_wrap=True)
    table.add_column("Calls", no_wrap=True, style="cyan")
    table.add_column("Last", justify="right", no_wrap=True)
    table.add_column("Average", justify="right", no_wrap=True)
    table.add_column("Earlier → recent calls", no_wrap=True)
    for fig in FIGURES:
        series = values(rows, fig.column)
        t = trend(fig, series)
        table.add_row(
            fig.label,
            sparkline(series, fig.lo, fig.hi),
            _opt(t["last"], fig.fmt),
            _opt(t["mean"], fig.fmt),
            _trend_line(fig, t),
        )
    return table


def history_json(rows: Sequence[CallRow], total: int, path: Path) -> dict[str, Any]:
    return {
        "schema": HISTORY_SCHEMA,
        "path": str(path),
        "total": total,
        "calls": [r.as_dict() for r in rows],
        "trends": {fig.column: trend(fig, values(rows, fig.column)) for fig in FIGURES},
    }


_UNIT_FMT: dict[str, Callable[[float], str]] = {
    "%": _pct,
    "s": lambda v: _dur(v) if v >= 10 else _secs(v),
    "": lambda v: f"{v:g}",
}


def _fmt_metric(m: coaching.Metric, v: float | None) -> str:
    return "—" if v is None else _UNIT_FMT[m.unit](v)


def baseline_view(
    calls: Sequence[dict[str, Any]], ids: Sequence[int], n: int
) -> tuple[Group, dict[str, Any]]:
    """The newest call against the rep's baseline for its call type, the best call and
    the most improved figure (``calls`` oldest first, ``ids`` their call numbers)."""
    last = len(calls) - 1
    cmp = coaching.compare(calls, last, n)
    same = [c for c in calls if coaching.call_type(c) == cmp["call_type"]][-(n + 1) :]
    title = Text.assemble(
        ("Your last call against your baseline", "bold"),
        f" · {cmp['call_type']} calls: the median of the {cmp['baseline_calls']} before it",
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("Figure", no_wrap=True)
    table.add_column("This call", justify="right", no_wrap=True)
    table.add_column("Baseline", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("Trend", no_wrap=True, style="cyan")
    for m, row in zip(coaching.METRICS, cmp["figures"], strict=True):
        verdict = row["verdict"]
        style = {"better": "green", "worse": "red"}.get(verdict or "", "dim")
        table.add_row(
            m.label,
            _fmt_metric(m, row["value"]),
            _fmt_metric(m, row["baseline"]),
            Text(verdict or "", style),
            sparkline(coaching.series(same, m.key)),
        )
    lines: list[Any] = [title, table]
    best = coaching.best_call(calls)
    improved = coaching.most_improved(calls)
    data: dict[str, Any] = {"compare": cmp, "best_call": None, "most_improved": improved}
    if best is not None:
        data["best_call"] = ids[best]
        lines.append(Text(f"Best call: #{ids[best]} (the best on average over these figures)."))
    if improved is not None:
        m = next(x for x in coaching.METRICS if x.key == improved["key"])
        lines.append(
            Text(
                f"Most improved: {m.label.lower()}, {_fmt_metric(m, improved['earlier'])} → "
                f"{_fmt_metric(m, improved['recent'])} (median of your earlier vs recent calls)."
            )
        )
    return Group(*lines), data


def effect_view(result: dict[str, Any]) -> Group:
    head = Text.assemble(
        ("The coach's effect", "bold"),
        f" · {result['coached']} coached, {result['silent']} silent calls",
    )
    if not result["enough"]:
        return Group(
            head,
            Text(
                f"Not enough calls yet: at least {result['min_each']} coached and "
                f"{result['min_each']} silent calls are needed (set coach.control_every to make "
                "one call in K a silent one)."
            ),
        )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("Figure", "Coached", "Silent", "Difference", "95 % interval"):
        table.add_column(name, justify="left" if name == "Figure" else "right", no_wrap=True)
    for row in result["figures"]:
        m = next(x for x in coaching.METRICS if x.key == row["key"])
        if "difference" not in row:
            table.add_row(m.label, str(row["coached_n"]), str(row["silent_n"]), "—", "too few")
            continue
        fmt = (lambda v: f"{v * 100:+.1f} pts") if m.unit == "%" else (lambda v: f"{v:+.2f} s")
        lo, hi = row["ci95"]
        table.add_row(
            m.label,
            f"{_fmt_metric(m, row['coached_mean'])} (n={row['coached_n']})",
            f"{_fmt_metric(m, row['silent_mean'])} (n={row['silent_n']})",
            fmt(row["difference"]),
            f"{fmt(lo)} to {fmt(hi)}",
        )
    return Group(
        head,
        table,
        Text(
            "Difference: coached minus silent calls; an interval that spans 0 shows no clear "
            "effect (Welch's t, 95 %).",
            "dim",
        ),
    )
