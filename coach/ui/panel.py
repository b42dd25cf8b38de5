"""The live panel: one `LiveSnapshot` in, one Rich renderable out.

Pure: no clock, no I/O, no state.  The live loop builds a snapshot a few times
a second, builds the panel for the terminal's size (``build_panel``) and draws
it when what it shows (``panel_key``) has changed; ``render_panel`` sizes
itself when it is rendered.

It sits in a small terminal beside the video call, so it is built line by
line for a known size: every line is cut to the width (never wrapped by Rich),
and when the height is short the least useful lines (spacers first) are
dropped until the rest fits.  Readable at 60x15, roomier at 80x24.  Only
single-cell characters are used, so columns stay aligned everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.text import Text

from coach.core.types import NudgeKind
from coach.ui.glance import (
    DIM,
    MONOLOGUE_WARN_S,
    NONE,
    fit,
    fmt_clock,
    fmt_ratio,
    monologue_style,
    ratio_bar,
    story_style,
    wrap_cells,
)
from coach.ui.style import BAD, CUSTOMER_STYLE, GOOD, REP_STYLE, WARN

DEFAULT_WIDTH, DEFAULT_HEIGHT = 80, 24

_OTHER_KIND = ("white", "black")


def kind_colours(kind: str) -> tuple[str, str]:
    """The nudge bar's (background, foreground): the kind's own, or neutral for an unknown one."""
    known = NudgeKind.named(kind)
    return _OTHER_KIND if known is None else known.colours


def kind_label(kind: str) -> str:
    known = NudgeKind.named(kind)
    return kind.replace("_", " ") if known is None else known.label


_LABEL = "bold"


@dataclass(frozen=True)
class NudgeView:
    """A nudge as the panel shows it."""

    kind: str
    """One of coach.core.nudge_text.KINDS (anything else gets a neutral colour)."""
    text: str
    """What the rep reads, in the configured language."""
    t_s: float
    """When it fired (audio seconds)."""


@dataclass(frozen=True)
class LiveSnapshot:
    """Everything the panel shows at one instant.  Times in audio seconds."""

    call_s: float
    """Audio time so far."""
    rep_speaking: bool
    customer_speaking: bool
    holder: str | None
    """Who holds the floor: "rep", "customer" or None."""
    talk_ratio: float | None
    """Rep share of talk over the whole call (None: nobody has spoken)."""
    window_ratio: float | None
    """Rep share over the rolling `nudges.talk_ratio_window_s` window."""
    talk_ratio_max: float
    """Target: `nudges.talk_ratio_max`."""
    story_s: float | None
    """Running customer story (the customer holds the floor), or None."""
    monologue_s: float | None
    """Running rep monologue, or None."""
    monologue_max_s: float
    """`nudges.rep_monologue_max_s`: the monologue timer turns red here."""
    story_deepen_s: float
    """`nudges.deepen_after_story_s`: the story is ripe for "tell me more" here."""
    nudge: NudgeView | None
    """The one nudge to show (the newest); None: nothing to do."""
    nudges_shown: int
    backchannels: int
    """Rep backchannels so far."""
    interruptions: int
    status: tuple[str, ...] = ()
    """Transport state, e.g. "listening", "mic lost — retrying", "3 blocks dropped"."""
    warnings: tuple[str, ...] = ()
    """Setup problems the rep should fix, e.g. "use a headset"."""
    held: str | None = None
    """The kind of a cue waiting for the rep's pause (a quiet marker), or None."""
    customer_waiting: str = ""
    """The app the customer's side waits for (per-app capture), or ""."""


def render_panel(
    s: LiveSnapshot, *, width: int | None = None, height: int | None = None
) -> RenderableType:
    """The panel for snapshot ``s``, ``width`` x ``height`` cells.

    A size left out is taken from the console at render time (its width, and
    its height or 24 rows), so ``live.update(render_panel(s))`` follows a
    resized terminal.
    """
    if width is not None and height is not None:
        return build_panel(s, width, height)
    return _Sized(s, width, height)


def panel_key(panel: Panel) -> tuple[object, ...]:
    """What a panel from :func:`build_panel` shows, as a value: a loop redraws
    only when it changes (rendering costs ~10x building, and the clock moves
    once a second)."""
    body = panel.renderable
    texts = body.renderables if isinstance(body, Group) else [body]
    lines = tuple(
        (t.plain, tuple(t.spans), t.style) if isinstance(t, Text) else id(t) for t in texts
    )
    title = panel.title.plain if isinstance(panel.title, Text) else panel.title
    return (lines, title, panel.border_style, panel.width, panel.height)


class _Sized:
    """Defers `build_panel` until the console says how much room there is."""

    def __init__(self, s: LiveSnapshot, width: int | None, height: int | None) -> None:
        self.s, self.width, self.height = s, width, height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width if self.width is not None else options.max_width
        height = self.height
        if height is None:
            height = options.height or options.max_height or console.height or DEFAULT_HEIGHT
        yield build_panel(self.s, min(width, options.max_width), height)


# --------------------------------------------------------------------------- layout

# Drop order when the terminal is short: lower goes first; None never goes.
_SPACER = 0
_NUDGE_PAD = 1
_NUDGE_META = 2
_WARN_MORE = 3  # continuation lines of warnings, and every warning after the first
_COUNTERS = 4
_WINDOW = 5
_STATUS = 6  # "mic lost" matters more than a second bar
_NUDGE_MORE = 7


@dataclass(frozen=True)
class _Para:
    """A wrapped paragraph: re-wrapped with an ellipsis if some of its lines are shed."""

    text: str
    width: int
    style: str
    first: str = ""  # prefix of the first line
    more: str = ""  # prefix of the other lines
    fill: bool = False  # pad each line to the full width (the nudge bar)

    def lines(self, max_lines: int) -> list[Text]:
        out = []
        body_w = self.width - max(cell_len(self.first), cell_len(self.more))
        for i, part in enumerate(wrap_cells(self.text, body_w, max_lines)):
            line = Text((self.first if i == 0 else self.more) + part, self.style)
            if self.fill:
                line.pad_right(self.width - line.cell_len)
            out.append(line)
        return out


@dataclass
class _Line:
    text: Text
    drop: int | None = None
    para: _Para | None = None


def _para_lines(para: _Para, max_lines: int, drop_more: int, drop_first: int | None) -> list[_Line]:
    return [
        _Line(t, drop_first if i == 0 else drop_more, para)
        for i, t in enumerate(para.lines(max_lines))
    ]


def build_panel(s: LiveSnapshot, width: int, height: int) -> Panel:
    """The panel at ``width`` x at most ``height`` cells (tiny sizes are clamped)."""
    width = max(width, 20)
    height = max(height, 5)
    inner_w = width - 4  # borders and one cell of padding each side
    inner_h = height - 2
    roomy = inner_h >= 18

    lines: list[_Line] = []
    lines += _nudge_lines(s, inner_w, roomy)
    lines.append(_Line(Text(""), _SPACER))
    lines.append(_Line(_speaking_line(s)))
    if roomy:
        lines.append(_Line(Text(""), _SPACER))
    lines += _ratio_lines(s, inner_w)
    if roomy:
        lines.append(_Line(Text(""), _SPACER))
    lines += _timer_lines(s)
    lines.append(_Line(_counters_line(s), _COUNTERS))
    tail = _status_lines(s, inner_w)
    if tail:
        lines.append(_Line(Text(""), _SPACER))
        lines += tail

    # Shed lines, least useful first, latest first within a rank, until it fits.
    while len(lines) > inner_h:
        ranks = [(ln.drop, i) for i, ln in enumerate(lines) if ln.drop is not None]
        if not ranks:
            lines = lines[:inner_h]
            break
        lowest = min(r for r, _ in ranks)
        del lines[max(i for r, i in ranks if r == lowest)]
    # A paragraph that lost lines is wrapped again into what is left, ending in "…".
    for para in {id(ln.para): ln.para for ln in lines if ln.para is not None}.values():
        idx = [i for i, ln in enumerate(lines) if ln.para is para]
        for i, text in zip(idx, para.lines(len(idx)), strict=False):
            lines[i].text = text

    body = Group(*(fit(ln.text, inner_w) for ln in lines))
    title = Text.assemble(("coach", "bold"), " ", (fmt_clock(s.call_s), "bold"))
    return Panel(
        body,
        title=title,
        title_align="left",
        border_style=_border_style(s),
        padding=(0, 1),
        width=width,
        height=min(height, len(lines) + 2),
    )


def _border_style(s: LiveSnapshot) -> str:
    if s.warnings:
        return WARN
    if s.nudge is not None:
        return kind_colours(s.nudge.kind)[0]
    return DIM


def _nudge_lines(s: LiveSnapshot, width: int, roomy: bool) -> list[_Line]:
    n = s.nudge
    if n is None:  # same height as a one-line nudge, so nothing jumps when one comes
        calm = [
            _Line(Text(" listening…", f"italic {GOOD}")),
            _Line(Text("nothing to fix right now", DIM), _NUDGE_META),
        ]
        if s.held is not None:  # quiet: no colour, no bell, until the rep pauses
            calm[1] = _Line(Text("· a cue waits for your pause", DIM), _NUDGE_META)
        if roomy:
            return [_Line(Text(""), _NUDGE_PAD), calm[0], _Line(Text(""), _NUDGE_PAD), calm[1]]
        return calm
    bg, fg = kind_colours(n.kind)
    bar = f"bold {fg} on {bg}"
    para = _Para(n.text.strip() or n.kind, width, bar, first=" ", more=" ", fill=True)
    out = _para_lines(para, 3 if roomy else 2, _NUDGE_MORE, None)
    if roomy:
        pad = _Line(Text(" " * width, bar), _NUDGE_PAD)
        out = [pad, *out, _Line(Text(" " * width, bar), _NUDGE_PAD)]
    meta = Text(f"{kind_label(n.kind)} · at {fmt_clock(n.t_s)}", bg)
    age = s.call_s - n.t_s
    if math.isfinite(age) and age >= 0:
        meta.append(f" · {int(age)} s ago", DIM)
    if s.held is not None:
        meta.append(" · next cue waits for your pause", DIM)
    out.append(_Line(meta, _NUDGE_META))
    return out


def _speaking_line(s: LiveSnapshot) -> Text:
    line = Text("Now    ", _LABEL)
    # ● speaking, ○ silent: readable without colour too
    if s.rep_speaking:
        line.append("● rep", f"bold {REP_STYLE}")
    else:
        line.append("○ rep", DIM)
    line.append("   ")
    if s.customer_waiting:  # nothing of the customer can be heard: said where they would be
        line.append(f"◌ customer: waiting for {s.customer_waiting}", f"bold {WARN}")
        return line
    if s.customer_speaking:
        line.append("● customer", f"bold {CUSTOMER_STYLE}")
    else:
        line.append("○ customer", DIM)
    holder_style = {"rep": REP_STYLE, "customer": CUSTOMER_STYLE}.get(s.holder or "", DIM)
    line.append("   floor ", DIM)
    line.append(s.holder or NONE, holder_style)
    return line


def _ratio_lines(s: LiveSnapshot, width: int) -> list[_Line]:
    label_w = 14
    value_w = 5
    target = f"  ≤{fmt_ratio(s.talk_ratio_max)}"
    bar_w = min(40, max(6, width - label_w - value_w - len(target)))
    out = []
    rows = (("Talk   call", s.talk_ratio, None), ("       recent", s.window_ratio, _WINDOW))
    for label, ratio, drop in rows:
        line = Text(label.ljust(label_w), _LABEL)
        line.append_text(ratio_bar(ratio, s.talk_ratio_max, bar_w))
        over = ratio is not None and math.isfinite(ratio) and ratio > s.talk_ratio_max
        line.append(fmt_ratio(ratio).rjust(value_w), f"bold {BAD}" if over else "bold")
        if drop is None:
            line.append(target, DIM)
        out.append(_Line(line, drop))
    return out


def _timer_lines(s: LiveSnapshot) -> list[_Line]:
    label_w = 16
    story = Text("Customer story".ljust(label_w), _LABEL)
    story.append(fmt_clock(s.story_s).rjust(5), story_style(s.story_s, s.story_deepen_s))
    if s.story_s is not None and s.story_s >= s.story_deepen_s:
        story.append("  ripe: ask for more", GOOD)
    elif s.story_s is not None:
        story.append(f"  ripe at {fmt_clock(s.story_deepen_s)}", DIM)

    mono = Text("Rep monologue".ljust(label_w), _LABEL)
    mono_style = monologue_style(s.monologue_s, s.monologue_max_s)
    mono.append(fmt_clock(s.monologue_s).rjust(5), mono_style)
    if s.monologue_s is not None:
        if s.monologue_s >= s.monologue_max_s:
            mono.append("  pause now", f"bold {BAD}")
        elif s.monologue_s >= min(MONOLOGUE_WARN_S, s.monologue_max_s):
            mono.append("  wrap up", WARN)
        else:
            mono.append(f"  max {fmt_clock(s.monologue_max_s)}", DIM)
    return [_Line(story), _Line(mono)]


def _counters_line(s: LiveSnapshot) -> Text:
    line = Text()
    for i, (label, n) in enumerate(
        (
            ("Nudges", s.nudges_shown),
            ("Backchannels", s.backchannels),
            ("Interruptions", s.interruptions),
        )
    ):
        if i:
            line.append("   ")
        line.append(f"{label} ", DIM)
        line.append(f"{n}", "bold")
    return line


def _status_lines(s: LiveSnapshot, width: int) -> list[_Line]:
    out: list[_Line] = []
    for k, w in enumerate(s.warnings):
        para = _Para(w, width, f"bold {WARN}", first="! ", more="  ")
        out += _para_lines(para, 2, _WARN_MORE, None if k == 0 else _WARN_MORE)
    if s.status:
        out.append(_Line(Text(" · ".join(s.status), DIM), _STATUS))
    return out
