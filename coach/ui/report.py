"""The post-call report: what a rep reads after a call.

Rendered with Rich from a ``coach.stats/1`` object (the plain dict that
``json.loads`` gives, see ``docs/metrics.md``) and the thresholds it is
judged against. Pure presentation: nothing here changes a figure, and unknown
keys are ignored, so the report reads the JSON of any ``coach.stats/1``
producer.

Layout, top to bottom: setup warnings (if any), a header with the call length
and the talk ratio as a bar against the ideal and the maximum, 1-3 plain
takeaways, the conversation figures against their benchmarks, a who-spoke-when
strip, and every nudge with whether it was heeded. Every part sizes itself to
the width Rich gives it; nothing assumes a terminal width.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.constrain import Constrain
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from coach.ui.figures import (
    Figures,
    ReportTargets,
    fmt_pct,
    fmt_time,
    number,
    ratio_style,
    say_duration,
    times_list,
)
from coach.ui.nudge_table import nudge_table
from coach.ui.strip import LABEL_W, Strip, speaker_strip
from coach.ui.style import BAD, CUSTOMER_STYLE, GOOD, WARN
from coach.ui.takeaways import takeaways

__all__ = ["LABEL_W", "ReportTargets", "fmt_time", "render_report", "speaker_strip", "takeaways"]


# --------------------------------------------------------------------------- header


class _TalkBar:
    """Rep vs customer share of talk as one bar, with the ideal and the maximum marked."""

    def __init__(self, f: Figures, t: ReportTargets) -> None:
        self.f, self.t = f, t

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        f, t = self.f, self.t
        w = max(1, options.max_width)
        ratio = f.talk_ratio if f.talk_ratio is not None else 0.0
        style = ratio_style(ratio, t)
        left = Text.assemble(
            ("You ", "bold"), (fmt_pct(ratio), f"bold {style}"), f" ({fmt_time(f.rep_talk_s)})"
        )
        right = Text.assemble(
            ("Customer ", "bold"),
            (fmt_pct(1 - ratio), f"bold {CUSTOMER_STYLE}"),
            f" ({fmt_time(f.customer_talk_s)})",
        )
        if left.cell_len + right.cell_len + 1 <= w:
            yield Text.assemble(left, " " * (w - left.cell_len - right.cell_len), right)
        else:
            yield left
            yield right

        n_rep = min(w, max(0, int(round(ratio * w))))
        if ratio > 0 and n_rep == 0:
            n_rep = 1
        yield Text.assemble(("█" * n_rep, style), ("░" * (w - n_rep), CUSTOMER_STYLE))
        yield self._markers(w)

    def _markers(self, w: int) -> Text:
        t = self.t
        marks = sorted(
            [
                (
                    min(w - 1, max(0, int(round(t.talk_ratio_ideal * w)))),
                    f"ideal {fmt_pct(t.talk_ratio_ideal)}",
                ),
                (
                    min(w - 1, max(0, int(round(t.talk_ratio_max * w)))),
                    f"max {fmt_pct(t.talk_ratio_max)}",
                ),
            ]
        )
        row = [" "] * w
        used = [False] * w

        def put(start: int, s: str) -> bool:
            if start < 0 or start + len(s) > w or any(used[start : start + len(s)]):
                return False
            row[start : start + len(s)] = list(s)
            used[start : start + len(s)] = [True] * len(s)
            return True

        ok = True
        if marks[0][0] == marks[1][0]:
            col, _ = marks[0]
            label = f"{marks[0][1]}, {marks[1][1]}"
            ok = put(col, "▲") and (put(col + 2, label) or put(col - 1 - len(label), label))
        else:
            ok = put(marks[0][0], "▲") and put(marks[1][0], "▲")
            for k, (col, label) in enumerate(marks):
                first = (
                    (col - 1 - len(label), col + 2) if k == 0 else (col + 2, col - 1 - len(label))
                )
                if not ok:
                    break
                ok = put(first[0], label) or put(first[1], label)
        if ok:
            return Text("".join(row), "dim")
        legend = "  ".join(f"▲ {label}" for _, label in marks)
        return Text(legend, "dim", no_wrap=False)


def _header(f: Figures, t: ReportTargets) -> Panel:
    title = Text.assemble(("Call report", "bold"), " · ", fmt_time(f.duration_s))
    body: RenderableType
    if f.silent:
        body = Text("No speech detected in this call.", style=f"bold {WARN}")
    else:
        body = _TalkBar(f, t)
    return Panel(body, title=title, title_align="left", padding=(0, 1))


# --------------------------------------------------------------------------- figures


class _FigureRows:
    """Figure / value / note rows; the note moves under its figure when space is short."""

    WIDE = 56  # below this, a third column would squeeze the notes into slivers

    def __init__(self) -> None:
        self.rows: list[tuple[str, Text | str, str]] = []

    def add_row(self, label: str, value: Text | str, note: str) -> None:
        self.rows.append((label, value, note))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= self.WIDE:
            tab = Table.grid(padding=(0, 2))
            tab.add_column("figure", style="bold", no_wrap=True)
            tab.add_column("value", justify="right", no_wrap=True)
            tab.add_column("note", style="dim")
            for row in self.rows:
                tab.add_row(*row)
        else:
            tab = Table.grid(padding=(0, 1))
            tab.add_column("figure", style="bold")
            tab.add_column("value", justify="right", no_wrap=True)
            for label, value, note in self.rows:
                tab.add_row(label, value)
                if note:
                    tab.add_row(Padding(Text(note, "dim"), (0, 0, 0, 2)), "")
        yield tab


def _figures_table(stats: dict[str, Any], f: Figures, t: ReportTargets) -> _FigureRows:
    tab = _FigureRows()
    _turn_rows(tab, f, t)
    _listening_rows(tab, f)
    _word_rows(tab, stats)
    return tab


def _turn_rows(tab: _FigureRows, f: Figures, t: ReportTargets) -> None:
    """Monologue, story, patience, interactivity, interruptions: the timing of the turns."""
    ok, bad = "✓", "✗"
    mono_style = BAD if f.rep_longest_s > t.rep_monologue_max_s else GOOD
    tab.add_row(
        "Your longest monologue",
        Text(fmt_time(f.rep_longest_s), mono_style),
        f"limit {fmt_time(t.rep_monologue_max_s)} "
        + (bad if f.rep_longest_s > t.rep_monologue_max_s else ok),
    )
    if f.customer_talk_s > 0:
        good_story = f.story_s >= t.story_benchmark_s
        tab.add_row(
            "Longest customer story",
            Text(fmt_time(f.story_s), GOOD if good_story else WARN),
            f"{say_duration(t.story_benchmark_s)}+ goes with wins " + (ok if good_story else bad),
        )
    else:
        tab.add_row("Longest customer story", "—", "the customer did not speak")
    if f.patience_s is None:
        tab.add_row("Patience (your pause)", "—", "no customer→rep turn changes to measure")
    else:
        tab.add_row(
            "Patience (your pause)",
            Text(f"{f.patience_s:.1f} s", GOOD if f.patience_s >= t.patience_good_s else WARN),
            f"top reps: {t.patience_good_s:g} s or more",
        )
    tab.add_row(
        "Interactivity",
        "—" if f.interactivity is None else f"{f.interactivity:.1f}/min",
        "turn changes per minute",
    )
    if f.interruptions:
        minutes = f.duration_s / 60  # a duration of a few denormal seconds is 0 minutes
        rate = len(f.interruptions) / minutes if minutes > 0 else 0.0
        tab.add_row(
            "Interruptions",
            Text(f"{len(f.interruptions)} ({rate:.1f}/min)", BAD),
            "you started while they were mid-phrase, at " + times_list(f.interruptions),
        )
    else:
        tab.add_row("Interruptions", Text("none", GOOD), "you let them finish")


def _listening_rows(tab: _FigureRows, f: Figures) -> None:
    """Acknowledgements, then questions and summaries (these need transcription)."""
    per_min = f.bc_per_customer_min
    bc_style = WARN if f.rep_backchannels == 0 and f.customer_talk_s >= 60 else ""
    tab.add_row(
        "Your acknowledgements",
        Text(str(f.rep_backchannels), bc_style),
        '"aha", "right"' if per_min is None else f"{per_min:.1f} per min they talked",
    )
    if f.questions is None and f.summaries is None:
        tab.add_row("Questions, summaries", "—", "transcription off")
    else:
        tab.add_row(
            "Questions",
            "—" if f.questions is None else str(f.questions),
            "transcription off" if f.questions is None else "11–14 work best in discovery",
        )
        tab.add_row(
            "Summaries",
            "—" if f.summaries is None else str(f.summaries),
            "transcription off" if f.summaries is None else '"so what I\'m hearing…"',
        )


def _word_rows(tab: _FigureRows, stats: dict[str, Any]) -> None:
    """Pace and filler words, when the transcript gave them."""
    pace = stats.get("pace_wpm")
    if isinstance(pace, dict):
        pace = pace.get("rep")
    pace_v = number(pace)
    if pace_v is not None:
        tab.add_row(
            "Pace",
            Text(f"{round(pace_v)} wpm", GOOD if 100 <= pace_v <= 165 else WARN),
            "100–165 wpm is easy to follow",
        )
    fillers = stats.get("filler_words")
    if isinstance(fillers, dict) and isinstance(fillers.get("rep"), (dict, int, list)):
        fillers = fillers["rep"]
    if isinstance(fillers, dict):
        counts = {str(k): int(v) for k, v in fillers.items() if number(v) is not None}
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        tab.add_row(
            "Filler words",
            str(sum(counts.values())),
            ", ".join(f"{k} ×{v}" for k, v in top),
        )
    elif number(fillers) is not None:
        tab.add_row("Filler words", str(int(number(fillers) or 0)), "")
    elif isinstance(fillers, list):
        tab.add_row("Filler words", str(len(fillers)), "")


# --------------------------------------------------------------------------- report


def _warnings(stats: dict[str, Any]) -> Panel | None:
    raw = stats.get("warnings")
    items = [str(w) for w in raw if str(w).strip()] if isinstance(raw, list) else []
    if not items:
        return None
    body = Text()
    for i, w in enumerate(items):
        if i:
            body.append("\n")
        body.append("! ", f"bold {WARN}")
        body.append(w)
    return Panel(
        body,
        title=Text("Check your setup", style=f"bold {WARN}"),
        title_align="left",
        border_style=WARN,
        padding=(0, 1),
    )


_BASELINE_LABELS = {
    "talk_ratio": "Talk ratio",
    "longest_monologue_s": "Longest monologue",
    "longest_story_s": "Longest customer story",
    "questions": "Questions",
    "patience_s": "Patience",
    "interruptions": "Interruptions",
}


def _baseline_value(key: str, v: Any) -> str:
    x = number(v)
    if x is None:
        return "—"
    if key == "talk_ratio":
        return fmt_pct(x)
    if key == "patience_s":
        return f"{x:.1f} s"
    if key.endswith("_s"):
        return fmt_time(x)
    return f"{x:g}"


def _baseline(stats: dict[str, Any]) -> Panel | None:
    """This call against the rep's own median of recent calls of its type (live, with history)."""
    base = stats.get("baseline")
    rows = base.get("figures") if isinstance(base, dict) else None
    if not isinstance(base, dict) or not isinstance(rows, list):
        return None
    tab = Table.grid(padding=(0, 2))
    tab.add_column("figure", style="bold", no_wrap=True)
    tab.add_column("this", justify="right", no_wrap=True)
    tab.add_column("yours", justify="right", no_wrap=True)
    tab.add_column("verdict", no_wrap=True)
    tab.add_row("", Text("this call", "dim"), Text("your median", "dim"), "")
    for row in rows:
        key = row.get("key") if isinstance(row, dict) else None
        if key not in _BASELINE_LABELS:
            continue
        verdict = str(row.get("verdict") or "")
        style = {"better": GOOD, "worse": BAD}.get(verdict, "dim")
        tab.add_row(
            _BASELINE_LABELS[str(key)],
            _baseline_value(str(key), row.get("value")),
            _baseline_value(str(key), row.get("baseline")),
            Text(verdict, style),
        )
    n = int(number(base.get("baseline_calls")) or 0)
    title = f"Against your last {n} {base.get('call_type', '')} call{'s' if n != 1 else ''}"
    return Panel(tab, title=title, title_align="left", padding=(0, 1))


def render_report(
    stats: dict[str, Any],
    targets: ReportTargets = ReportTargets(),  # noqa: B008 - frozen, so sharing is safe
    *,
    width: int | None = None,
) -> RenderableType:
    """The post-call report for one ``coach.stats/1`` object, as a Rich renderable.

    It fits whatever width the console gives it; ``width`` caps it further.
    """
    f = Figures.of(stats)
    parts: list[RenderableType] = []
    warn = _warnings(stats)
    if warn is not None:
        parts.append(warn)
    parts.append(_header(f, targets))

    tips = Table.grid(padding=(0, 1))
    tips.add_column(no_wrap=True, style="bold")
    tips.add_column()
    for i, s in enumerate(takeaways(stats, targets), start=1):
        tips.add_row(f"{i}.", s)
    parts.append(Panel(tips, title="Takeaways", title_align="left", padding=(0, 1)))

    parts.append(
        Panel(
            _figures_table(stats, f, targets),
            title="Conversation",
            title_align="left",
            padding=(0, 1),
        )
    )
    parts.append(Panel(Strip(stats), title="Who spoke when", title_align="left", padding=(0, 1)))
    against = _baseline(stats)
    if against is not None:
        parts.append(against)
    parts.append(nudge_table(stats, targets))
    group = Group(*parts)
    return Constrain(group, width) if width is not None else group
