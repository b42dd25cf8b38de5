"""The live panel (coach/ui/panel.py): content, formats, and that it fits small terminals."""

from __future__ import annotations

import dataclasses
import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from coach.core.nudge_text import KINDS, TEXTS
from coach.core.types import NudgeKind
from coach.ui.glance import fmt_clock, monologue_style, story_style, wrap_cells
from coach.ui.panel import LiveSnapshot, NudgeView, kind_colours, render_panel

ACK = NudgeView("acknowledge", TEXTS["en"]["acknowledge"], 31.04)

BASE = LiveSnapshot(
    call_s=35.2,
    rep_speaking=False,
    customer_speaking=True,
    holder="customer",
    talk_ratio=0.28,
    window_ratio=0.31,
    talk_ratio_max=0.65,
    story_s=24.6,
    monologue_s=None,
    monologue_max_s=60.0,
    story_deepen_s=30.0,
    nudge=ACK,
    nudges_shown=1,
    backchannels=0,
    interruptions=0,
    status=("listening",),
)

EMPTY = LiveSnapshot(
    call_s=0.0,
    rep_speaking=False,
    customer_speaking=False,
    holder=None,
    talk_ratio=None,
    window_ratio=None,
    talk_ratio_max=0.65,
    story_s=None,
    monologue_s=None,
    monologue_max_s=60.0,
    story_deepen_s=30.0,
    nudge=None,
    nudges_shown=0,
    backchannels=0,
    interruptions=0,
)


def render(s: LiveSnapshot, width: int = 60, height: int = 15, *, sized: bool = True) -> list[str]:
    console = Console(
        record=True, width=width, height=height, color_system=None, file=io.StringIO()
    )
    if sized:
        console.print(render_panel(s, width=width, height=height))
    else:
        console.print(render_panel(s))
    return console.export_text().rstrip("\n").split("\n")


def assert_fits(lines: list[str], width: int, height: int) -> None:
    assert len(lines) <= height, "\n".join(lines)
    for line in lines:
        assert cell_len(line) <= width, line


def test_fits_60x15_and_shows_everything() -> None:
    lines = render(BASE)
    assert_fits(lines, 60, 15)
    text = "\n".join(lines)
    assert 'Show you\'re listening: "Aha"' in text
    assert "coach 0:35" in text  # call time in the title
    assert "● customer" in text and "○ rep" in text
    assert "28%" in text and "31%" in text and "65%" in text
    assert "0:24" in text  # the story timer
    assert "Nudges 1" in text and "Backchannels 0" in text and "Interruptions 0" in text
    assert "listening" in text


def test_looks_good_at_80x24() -> None:
    lines = render(BASE, 80, 24)
    assert_fits(lines, 80, 24)
    assert len(lines) >= 15  # uses the room: padded nudge bar, spacers
    assert all(cell_len(line) == 80 for line in lines)  # a closed box


def test_no_nudge_is_a_calm_listening_line() -> None:
    text = "\n".join(render(dataclasses.replace(BASE, nudge=None)))
    assert "listening…" in text
    assert "acknowledge" not in text


def test_timers_are_m_ss() -> None:
    s = dataclasses.replace(BASE, call_s=754.9, story_s=42.7, monologue_s=61.2)
    text = "\n".join(render(s))
    assert "coach 12:34" in text
    assert "0:42" in text
    assert "1:01" in text
    assert fmt_clock(0) == "0:00"
    assert fmt_clock(59.99) == "0:59"  # a stopwatch: floored
    assert fmt_clock(3725) == "62:05"
    assert fmt_clock(-3) == "0:00"
    assert fmt_clock(None) == "—"
    assert fmt_clock(float("nan")) == "—"


def test_none_values_render_as_dash() -> None:
    lines = render(EMPTY)
    assert_fits(lines, 60, 15)
    text = "\n".join(lines)
    story = next(line for line in lines if "Customer story" in line)
    mono = next(line for line in lines if "Rep monologue" in line)
    assert "—" in story and "—" in mono
    talk = [line for line in lines if "call" in line or "recent" in line]
    assert len(talk) == 2 and all("—" in line for line in talk)
    assert "floor —" in text
    assert "%" not in text.replace("65%", "")


def test_every_kind_has_a_colour_and_its_text_shows() -> None:
    backgrounds = {kind_colours(kind)[0] for kind in KINDS}
    assert len(backgrounds) == len(NudgeKind)
    assert kind_colours("no_such_kind")[0] not in backgrounds
    for kind in KINDS:
        s = dataclasses.replace(BASE, nudge=NudgeView(kind, TEXTS["en"][kind], 30.0))
        lines = render(s)
        assert_fits(lines, 60, 15)
        assert TEXTS["en"][kind] in "\n".join(lines)


def test_long_nudge_text_is_cut_with_an_ellipsis() -> None:
    quote = "we lost two renewals because nobody noticed the contract end dates " * 3
    nudge = NudgeView("deepen", TEXTS["en"]["deepen_quote"].format(quote=quote), 50.0)
    lines = render(dataclasses.replace(BASE, nudge=nudge))
    assert_fits(lines, 60, 15)
    assert any(line.rstrip(" │").endswith("…") for line in lines)


def test_warnings_and_status_show() -> None:
    s = dataclasses.replace(
        BASE,
        status=("mic lost — retrying", "3 blocks dropped"),
        warnings=("your microphone picks up the other side — use a headset",),
    )
    lines = render(s)
    assert_fits(lines, 60, 15)
    text = "\n".join(lines)
    assert "mic lost — retrying" in text
    assert "! your microphone picks up the other side" in text
    assert "headset" in text  # wrapped onto a second line, not cut, at 60x15


def test_warning_colours() -> None:
    assert "yellow" in monologue_style(45.0, 60.0)
    assert "red" in monologue_style(60.0, 60.0)
    assert "yellow" not in monologue_style(44.9, 60.0)
    assert "green" in story_style(30.0, 30.0)
    assert "green" not in story_style(29.9, 30.0)


def test_size_from_the_console() -> None:
    lines = render(BASE, 60, 15, sized=False)
    assert_fits(lines, 60, 15)
    assert 'Show you\'re listening: "Aha"' in "\n".join(lines)


def test_wrap_cells() -> None:
    assert wrap_cells("a b c", 3, 5) == ["a b", "c"]
    assert wrap_cells("abcdefgh", 3, 5) == ["abc", "def", "gh"]
    assert wrap_cells("one two three four", 9, 1) == ["one two…"]
    assert wrap_cells("", 10, 2) == [""]


# --------------------------------------------------------------------------- property

_times = st.one_of(
    st.none(), st.floats(min_value=0, max_value=20_000, allow_nan=False, allow_infinity=False)
)
_ratio = st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False))
_words = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")), max_size=200
)

snapshots = st.builds(
    LiveSnapshot,
    call_s=st.floats(min_value=0, max_value=20_000, allow_nan=False),
    rep_speaking=st.booleans(),
    customer_speaking=st.booleans(),
    holder=st.sampled_from([None, "rep", "customer"]),
    talk_ratio=_ratio,
    window_ratio=_ratio,
    talk_ratio_max=st.floats(min_value=0.05, max_value=1, allow_nan=False),
    story_s=_times,
    monologue_s=_times,
    monologue_max_s=st.floats(min_value=1, max_value=600, allow_nan=False),
    story_deepen_s=st.floats(min_value=1, max_value=600, allow_nan=False),
    nudge=st.one_of(
        st.none(),
        st.builds(
            NudgeView,
            kind=st.sampled_from([*KINDS, "something_new"]),
            text=_words,
            t_s=st.floats(min_value=0, max_value=20_000, allow_nan=False),
        ),
    ),
    nudges_shown=st.integers(0, 10**6),
    backchannels=st.integers(0, 10**6),
    interruptions=st.integers(0, 10**6),
    status=st.lists(_words, max_size=4).map(tuple),
    warnings=st.lists(_words, max_size=4).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(snapshots)
def test_any_snapshot_renders_within_60x15(s: LiveSnapshot) -> None:
    assert_fits(render(s), 60, 15)


@settings(max_examples=50, deadline=None)
@given(snapshots, st.integers(20, 120), st.integers(5, 40))
def test_any_snapshot_fits_any_size(s: LiveSnapshot, width: int, height: int) -> None:
    assert_fits(render(s, width, height), width, height)
