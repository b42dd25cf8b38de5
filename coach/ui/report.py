"""The post-call report: what a rep reads after a call.

Rendered with Rich from a ``coach.stats/1`` object (the plain dict that
``json.loads`` gives, see ``shared/METRICS.md``) and the thresholds it is
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

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.constrain import Constrain
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from coach.core.types import NudgeKind
from coach.ui.style import BAD, CUSTOMER_STYLE, GOOD, REP_STYLE, WARN

__all__ = ["ReportTargets", "render_report", "speaker_strip", "takeaways"]


@dataclass(frozen=True)
class ReportTargets:
    """The thresholds the report compares against, in seconds / fractions."""

    talk_ratio_max: float = 0.65  # nudges.talk_ratio_max
    talk_ratio_ideal: float = 0.43  # Gong Labs: best-converting calls 43:57
    rep_monologue_max_s: float = 60.0  # nudges.rep_monologue_max_s
    story_benchmark_s: float = 50.0  # Gong: longest story <= 50 s goes with lower close rates
    patience_good_s: float = 1.0  # ~1-1.5 s pauses of top performers (Gong, secondary sources)
    heed_window_s: float = 15.0  # nudges.heed_window_s


_LABELS = ("You", "Customer")
LABEL_W = max(len(s) for s in _LABELS) + 1  # row-label column of the strip



def _kind_name(kind: str) -> str:
    known = NudgeKind.named(kind)
    return kind if known is None else known.label


def _kind_hint(kind: str) -> str:
    """Shown when a nudge carries no text (older or abridged stats objects)."""
    known = NudgeKind.named(kind)
    return "" if known is None else known.hint


# --------------------------------------------------------------------------- helpers


def _num(x: Any) -> float | None:
    """A finite number, or None for null / missing / anything else."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _side(stats: dict[str, Any], side: str) -> dict[str, Any]:
    d = stats.get(side)
    return d if isinstance(d, dict) else {}


def _spans(x: Any) -> list[tuple[float, float]]:
    """``[[start, end], ...]`` as float pairs; malformed entries are skipped."""
    out: list[tuple[float, float]] = []
    if not isinstance(x, list):
        return out
    for item in x:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            a, b = _num(item[0]), _num(item[1])
            if a is not None and b is not None and b > a:
                out.append((a, b))
    return out


def _times(x: Any) -> list[float]:
    if not isinstance(x, list):
        return []
    return [v for v in (_num(i) for i in x) if v is not None]


def fmt_time(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour), rounded to the nearest second."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_pct(fraction: float) -> str:
    return f"{round(fraction * 100)} %"


def _say_dur(seconds: float) -> str:
    """A duration for a sentence: "38 s", "2 min 10 s"."""
    s = max(0, int(round(seconds)))
    if s < 90:
        return f"{s} s"
    m, sec = divmod(s, 60)
    return f"{m} min {sec} s" if sec else f"{m} min"


def _times_list(times: Sequence[float], limit: int = 6) -> str:
    shown = ", ".join(fmt_time(t) for t in times[:limit])
    if len(times) > limit:
        shown += f" … +{len(times) - limit} more"
    return shown


def _times_said(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _ratio_style(ratio: float, t: ReportTargets) -> str:
    if ratio > t.talk_ratio_max + 0.10:
        return f"bold {BAD}"
    if ratio > t.talk_ratio_max:
        return BAD
    if ratio > t.talk_ratio_ideal + 0.05:
        return WARN
    return GOOD


@dataclass(frozen=True)
class _Figures:
    """The figures the report uses, read defensively from a stats dict."""

    duration_s: float
    talk_ratio: float | None
    rep_talk_s: float
    customer_talk_s: float
    rep_longest_s: float
    story_s: float
    patience_s: float | None
    interactivity: float | None
    interruptions: list[float]
    rep_backchannels: int
    questions: int | None
    summaries: int | None

    @classmethod
    def of(cls, stats: dict[str, Any]) -> _Figures:
        rep, cust = _side(stats, "rep"), _side(stats, "customer")
        q, s = _num(stats.get("questions")), _num(stats.get("summaries"))
        bcs = rep.get("backchannels")
        return cls(
            duration_s=max(0.0, _num(stats.get("duration_s")) or 0.0),
            talk_ratio=_num(stats.get("talk_ratio")),
            rep_talk_s=max(0.0, _num(rep.get("talk_s")) or 0.0),
            customer_talk_s=max(0.0, _num(cust.get("talk_s")) or 0.0),
            rep_longest_s=max(0.0, _num(rep.get("longest_monologue_s")) or 0.0),
            story_s=max(0.0, _num(cust.get("longest_monologue_s")) or 0.0),
            patience_s=_num(stats.get("patience_s")),
            interactivity=_num(stats.get("interactivity_per_min")),
            interruptions=sorted(_times(stats.get("interruptions"))),
            rep_backchannels=len(bcs) if isinstance(bcs, list) else 0,
            questions=None if q is None else int(q),
            summaries=None if s is None else int(s),
        )

    @property
    def silent(self) -> bool:
        return self.talk_ratio is None or (self.rep_talk_s == 0 and self.customer_talk_s == 0)

    @property
    def bc_per_customer_min(self) -> float | None:
        if self.customer_talk_s <= 0:
            return None
        return self.rep_backchannels / (self.customer_talk_s / 60.0)


# --------------------------------------------------------------------------- takeaways


def takeaways(stats: dict[str, Any], targets: ReportTargets) -> list[str]:
    """1-3 plain-language sentences, most important first.

    Problems come first, ranked by how much they matter; a call with fewer
    than three problems also gets what went well, so the list is never empty.
    """
    f = _Figures.of(stats)
    t = targets
    if f.silent:
        return [
            "There was no speech in this call — check that both sides were recorded "
            "(your microphone and the call's audio)."
        ]

    issues: list[tuple[float, str]] = []
    good: list[tuple[float, str]] = []
    ratio = f.talk_ratio if f.talk_ratio is not None else 0.0

    if f.rep_talk_s == 0:
        issues.append(
            (1000.0, "We heard nothing from you — check that your microphone was recorded.")
        )
    if f.customer_talk_s == 0:
        issues.append(
            (
                1000.0,
                "We heard nothing from the customer — check that the call's audio "
                "(system loopback) was recorded.",
            )
        )

    # Talk ratio: the one figure that predicts conversion best.
    if ratio > t.talk_ratio_max:
        issues.append(
            (
                100.0 + (ratio - t.talk_ratio_max) * 100,
                f"You talked {fmt_pct(ratio)} of the time — aim for under "
                f"{fmt_pct(t.talk_ratio_max)} (top reps: about {fmt_pct(t.talk_ratio_ideal)}).",
            )
        )
    elif ratio > t.talk_ratio_ideal + 0.10 and f.customer_talk_s > 0:
        issues.append(
            (
                15.0,
                f"You talked {fmt_pct(ratio)} of the time — within the limit, but top reps "
                f"talk about {fmt_pct(t.talk_ratio_ideal)}: ask, then listen.",
            )
        )
    elif f.rep_talk_s > 0 and f.customer_talk_s > 0 and ratio < 0.5:
        good.append(
            (
                7.0,
                f"You talked {fmt_pct(ratio)} of the time — the customer did most of "
                "the talking. Keep it up.",
            )
        )

    if f.rep_longest_s > t.rep_monologue_max_s:
        over = (f.rep_longest_s - t.rep_monologue_max_s) / max(t.rep_monologue_max_s, 1.0)
        issues.append(
            (
                80.0 + min(over, 1.0) * 10,
                f"Your longest monologue ran {_say_dur(f.rep_longest_s)} — stop within "
                f"{_say_dur(t.rep_monologue_max_s)} and ask a question.",
            )
        )

    n_int = len(f.interruptions)
    if n_int:
        issues.append(
            (
                85.0 if n_int >= 3 else 60.0 + 5 * n_int,
                f"You interrupted {_times_said(n_int)} (at {_times_list(f.interruptions, 3)})"
                " — let them finish.",
            )
        )
    elif f.customer_talk_s > 0 and f.rep_talk_s > 0:
        good.append((3.0, "You never talked over the customer — good."))

    if f.customer_talk_s > 0:
        if f.story_s < t.story_benchmark_s:
            short = (t.story_benchmark_s - f.story_s) / max(t.story_benchmark_s, 1.0)
            issues.append(
                (
                    50.0 + short * 20,
                    f"Your customer's longest story was {_say_dur(f.story_s)} — stories over "
                    f"{_say_dur(t.story_benchmark_s)} go with won deals: ask open questions "
                    "and let them run.",
                )
            )
        else:
            good.append(
                (
                    8.0,
                    f"Your customer's longest story ran {_say_dur(f.story_s)} — long "
                    "stories go with won deals.",
                )
            )

    if f.rep_backchannels == 0 and f.customer_talk_s >= 60:
        issues.append(
            (
                45.0,
                'You never said "aha" or "right" while the customer talked — a quick '
                "acknowledgement keeps them going.",
            )
        )
    elif f.rep_backchannels > 0:
        good.append(
            (
                6.0,
                f"You acknowledged the customer {_times_said(f.rep_backchannels)} — "
                "good listening.",
            )
        )

    if f.patience_s is not None:
        if f.patience_s < t.patience_good_s:
            issues.append(
                (
                    30.0,
                    f"On average you answered {f.patience_s:.1f} s after the customer stopped — "
                    f"wait a beat longer (top reps pause about {t.patience_good_s:.1f} s or more).",
                )
            )
        else:
            good.append(
                (
                    5.0,
                    f"You paused {f.patience_s:.1f} s on average before answering — room "
                    "for the customer to add more.",
                )
            )

    if f.questions is not None:
        if f.questions > 18:
            issues.append(
                (
                    20.0,
                    f"You asked {f.questions} questions — 11 to 14 work best in discovery; "
                    "fewer, more open ones let the customer talk.",
                )
            )
        elif f.questions < 6 and f.duration_s >= 300:
            issues.append(
                (
                    20.0,
                    f"You asked {f.questions} question{'s' if f.questions != 1 else ''} — "
                    "good discovery calls ask 11 to 14.",
                )
            )

    issues.sort(key=lambda x: -x[0])
    good.sort(key=lambda x: -x[0])
    out = [s for _, s in issues[:3]]
    if len(out) < 3 and good:
        out += [s for _, s in good[: (2 if not out else 1)]][: 3 - len(out)]
    if not out:
        out = [f"Call of {fmt_time(f.duration_s)} analysed — nothing stood out."]
    return out


# --------------------------------------------------------------------------- strip


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
    rep_sp = _spans(speech.get("rep") if isinstance(speech, dict) else None)
    cust_sp = _spans(speech.get("customer") if isinstance(speech, dict) else None)
    duration = _num(duration_s) or 0.0
    if duration <= 0:
        ends = [b for _, b in rep_sp + cust_sp]
        duration = max(ends) if ends else 1.0
    # a bucket narrower than the timeline's millisecond would underflow to zero width
    duration = max(duration, STRIP_MIN_S)

    pad = " " * LABEL_W
    text = Text(no_wrap=True, overflow="crop")
    lines: list[Text] = []
    mono = monologues or {}
    rep_mono = _spans(mono.get("rep"))
    cust_mono = _spans(mono.get("customer"))
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


class _Strip:
    """The strip sized to whatever width Rich offers."""

    def __init__(self, stats: dict[str, Any]) -> None:
        self.stats = stats

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        speech = self.stats.get("speech")
        mono = {
            side: _side(self.stats, side).get("monologues") or [] for side in ("rep", "customer")
        }
        width = max(1, options.max_width - LABEL_W)
        yield speaker_strip(
            speech if isinstance(speech, dict) else {},
            _num(self.stats.get("duration_s")) or 0.0,
            width,
            monologues=mono,
        )


# --------------------------------------------------------------------------- header


class _TalkBar:
    """Rep vs customer share of talk as one bar, with the ideal and the maximum marked."""

    def __init__(self, f: _Figures, t: ReportTargets) -> None:
        self.f, self.t = f, t

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        f, t = self.f, self.t
        w = max(1, options.max_width)
        ratio = f.talk_ratio if f.talk_ratio is not None else 0.0
        style = _ratio_style(ratio, t)
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


def _header(f: _Figures, t: ReportTargets) -> Panel:
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


def _figures_table(stats: dict[str, Any], f: _Figures, t: ReportTargets) -> _FigureRows:
    tab = _FigureRows()

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
            f"{_say_dur(t.story_benchmark_s)}+ goes with wins " + (ok if good_story else bad),
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
            "you started while they were mid-phrase, at " + _times_list(f.interruptions),
        )
    else:
        tab.add_row("Interruptions", Text("none", GOOD), "you let them finish")
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

    pace = stats.get("pace_wpm")
    if isinstance(pace, dict):
        pace = pace.get("rep")
    pace_v = _num(pace)
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
        counts = {str(k): int(v) for k, v in fillers.items() if _num(v) is not None}
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        tab.add_row(
            "Filler words",
            str(sum(counts.values())),
            ", ".join(f"{k} ×{v}" for k, v in top),
        )
    elif _num(fillers) is not None:
        tab.add_row("Filler words", str(int(_num(fillers) or 0)), "")
    elif isinstance(fillers, list):
        tab.add_row("Filler words", str(len(fillers)), "")
    return tab


# --------------------------------------------------------------------------- nudges


def _nudges(stats: dict[str, Any], t: ReportTargets) -> RenderableType:
    raw = stats.get("nudges")
    nudges = [n for n in raw if isinstance(n, dict)] if isinstance(raw, list) else []
    if not nudges:
        return Panel(
            Text("No nudges during this call.", style=GOOD),
            title="Nudges",
            title_align="left",
            padding=(0, 1),
        )

    tab = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False, expand=False)
    tab.add_column("Time", justify="right", no_wrap=True, style="dim")
    tab.add_column("Nudge", no_wrap=True)
    tab.add_column("Text", ratio=1)
    tab.add_column("Heeded", justify="center", no_wrap=True)
    kinds: list[str] = []
    heeded: dict[str, list[int]] = {}  # kind -> [heeded, judged]
    for n in sorted(nudges, key=lambda n: _num(n.get("t")) or 0.0):
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
        held = _num(n.get("held_s"))
        if n.get("shown") is False:  # due, kept in the figures, but not shown
            said.stylize("dim")
            said.append(f"  (not shown: {_HIDDEN_WHY.get(str(n.get('hidden')), 'budget')})", "dim")
        elif held is not None:
            said.append(f"  (held {held:.1f} s for your pause)", "dim")
        tab.add_row(fmt_time(_num(n.get("t")) or 0.0), _kind_name(kind), said, mark)

    rates: dict[str, float | None] = {}
    given = stats.get("heed_rate")
    if isinstance(given, dict):
        for k, v in given.items():
            rates[str(k)] = _num(v)
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
    due, shown = _num(cues.get("due")), _num(cues.get("shown"))
    if not due or shown is None:
        return None
    line = Text(f"Shown {int(shown)} of {int(due)} due", style="dim")
    held = int(_num(cues.get("held")) or 0)
    if held:
        total = _num(cues.get("held_s_total")) or 0.0
        longest = _num(cues.get("held_s_max")) or 0.0
        line.append(
            f" · {held} held for your pause ({total / held:.1f} s on average, "
            f"longest {longest:.1f} s)"
        )
    hidden = cues.get("hidden")
    if isinstance(hidden, dict) and hidden:
        why = ", ".join(
            f"{_HIDDEN_SHORT.get(str(k), str(k))} {int(_num(v) or 0)}" for k, v in hidden.items()
        )
        line.append(f" · not shown: {why}")
    return line


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
    x = _num(v)
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
    n = int(_num(base.get("baseline_calls")) or 0)
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
    f = _Figures.of(stats)
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
    parts.append(Panel(_Strip(stats), title="Who spoke when", title_align="left", padding=(0, 1)))
    against = _baseline(stats)
    if against is not None:
        parts.append(against)
    parts.append(_nudges(stats, targets))
    group = Group(*parts)
    return Constrain(group, width) if width is not None else group
