"""The post-call report (coach/ui/report.py): figures, nudges, strip, takeaways, widths."""

from __future__ import annotations

import copy
import io
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from coach.ui.report import (
    LABEL_W,
    ReportTargets,
    fmt_time,
    render_report,
    speaker_strip,
    takeaways,
)

TARGETS = ReportTargets()

# Shaped like METRICS.md's coach.stats/1 example, with every required key.
BASE: dict[str, Any] = {
    "schema": "coach.stats/1",
    "duration_s": 300.0,
    "talk_ratio": 0.32,
    "patience_s": 0.84,
    "interactivity_per_min": 2.1,
    "interruptions": [111.9],
    "rep": {
        "talk_s": 68.5,
        "longest_monologue_s": 12.3,
        "monologues": [[1.0, 13.3]],
        "backchannels": [23.2, 40.0, 61.5],
    },
    "customer": {
        "talk_s": 148.1,
        "longest_monologue_s": 56.4,
        "monologues": [[14.2, 70.6]],
        "backchannels": [],
    },
    "questions": None,
    "summaries": None,
    "nudges": [
        {
            "t": 105.6,
            "kind": "acknowledge",
            "text": 'Show you\'re listening: "Aha"',
            "heeded": True,
        },
        {"t": 200.2, "kind": "deepen", "text": "Ask them to tell you more", "heeded": False},
        {"t": 250.0, "kind": "let_finish", "text": "Let them finish", "heeded": True},
    ],
    "speech": {
        "rep": [[1.0, 13.3], [23.2, 23.6], [40.0, 40.4], [61.5, 61.9], [71.0, 120.0]],
        "customer": [[14.2, 70.6], [121.0, 200.0], [210.0, 222.0]],
    },
}


def stats(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def render(d: dict[str, Any], width: int = 80, targets: ReportTargets = TARGETS) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    console.print(render_report(d, targets))
    return console.export_text()


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, f"lines wider than {width}: {too_wide!r}"


# --------------------------------------------------------------------------- figures


def test_key_figures_appear_formatted() -> None:
    out = render(stats())
    assert "5:00" in out  # duration
    assert "32 %" in out and "68 %" in out  # talk ratio, both sides
    assert "ideal 43 %" in out and "max 65 %" in out  # the bar's markers
    assert "0:12" in out  # longest rep monologue, m:ss
    assert "0:56" in out  # longest customer story, m:ss
    assert "0.8 s" in out  # patience
    assert "2.1/min" in out  # interactivity
    assert "1:52" in out  # the interruption at 111.9 s
    assert "transcription off" in out
    assert "Who spoke when" in out and "Customer" in out


def test_fmt_time() -> None:
    assert fmt_time(0) == "0:00"
    assert fmt_time(56.4) == "0:56"
    assert fmt_time(59.6) == "1:00"
    assert fmt_time(754) == "12:34"
    assert fmt_time(3725) == "1:02:05"


def test_every_nudge_row_with_heeded_mark() -> None:
    out = render(stats())
    lines = out.splitlines()
    for t, words, mark in (
        ("1:46", "listening", "✓"),
        ("3:20", "tell you more", "✗"),
        ("4:10", "Let them finish", "✓"),
    ):
        row = [line for line in lines if t in line and words in line]
        assert row, f"no nudge row for {t}"
        assert mark in row[0]
    assert "Nudges (3)" in out
    # Per-kind heed summary computed from the list.
    assert "acknowledge 100 % (1)" in out
    assert "deepen 0 % (1)" in out


def test_heed_rate_from_stats_is_used() -> None:
    out = render(stats(heed_rate={"acknowledge": 0.25, "deepen": None, "let_finish": 1.0}))
    assert "acknowledge 25 % (1)" in out
    assert "deepen — (1)" in out


def test_no_nudges_says_so() -> None:
    out = render(stats(nudges=[]))
    assert "No nudges during this call" in out


def test_patience_null_shows_reason() -> None:
    out = render(stats(patience_s=None))
    line = next(line for line in out.splitlines() if "Patience" in line)
    assert "—" in line
    assert "no customer→rep turn changes" in out


def test_questions_and_summaries_when_transcribed() -> None:
    out = render(stats(questions=12, summaries=2))
    q = next(line for line in out.splitlines() if "Questions" in line)
    s = next(line for line in out.splitlines() if "Summaries" in line)
    assert "12" in q and "2" in s
    assert "transcription off" not in out


def test_warnings_and_optional_extras_render() -> None:
    warning = "your microphone picks up the other side — use a headset for best results"
    out = render(
        stats(
            warnings=[warning],
            pace_wpm=142.4,
            filler_words={"um": 4, "like": 2},
            some_future_key={"ignored": True},
        )
    )
    assert "Check your setup" in out
    assert "headset" in out
    assert out.index("Check your setup") < out.index("Call report")  # prominent: first
    assert "142 wpm" in out
    assert "um ×4" in out


def silent_call(duration_s: float = 300.0) -> dict[str, Any]:
    quiet = {"talk_s": 0.0, "longest_monologue_s": 0.0, "monologues": [], "backchannels": []}
    return stats(
        duration_s=duration_s,
        talk_ratio=None,
        patience_s=None,
        interactivity_per_min=0.0,
        interruptions=[],
        rep=dict(quiet),
        customer=dict(quiet),
        nudges=[],
        speech={"rep": [], "customer": []},
    )


def test_silent_call_renders_and_says_no_speech() -> None:
    silent = silent_call()
    for width in (80, 60):
        out = render(silent, width)
        assert "no speech" in out.lower()
        assert_fits(out, width)
    tips = takeaways(silent, TARGETS)
    assert len(tips) == 1 and "no speech" in tips[0].lower()


def test_zero_duration_and_missing_speech_render_with_an_empty_strip() -> None:
    d = stats(duration_s=0.0)
    del d["speech"]
    out = render(d)
    assert_fits(out, 80)
    assert "Call report · 0:00" in out
    strip = out[out.index("Who spoke when") :].splitlines()
    rows = [line for line in strip if "You" in line or "Customer" in line]
    assert len(rows) == 2
    assert not any(mark in row for row in rows for mark in "█▓▒")  # no speech to place


def test_width_60_fits() -> None:
    d = stats(
        talk_ratio=0.91,
        interruptions=[12.0, 70.5, 111.9, 150.0, 190.0, 230.0, 260.0, 280.0],
        questions=22,
        summaries=0,
        warnings=["your microphone picks up the other side — use a headset for best results"],
    )
    d["nudges"].append(
        {
            "t": 299.0,
            "kind": "talk_less",
            "text": "You have been doing most of the talking for a while now",
            "heeded": False,
        }
    )
    for width in (40, 60, 80, 100):
        out = render(d, width)
        assert_fits(out, width)
        assert "91 %" in out


def test_width_argument_caps_the_report() -> None:
    console = Console(record=True, width=120, color_system=None, file=io.StringIO())
    console.print(render_report(stats(), width=60))
    assert_fits(console.export_text(), 60)


def test_talk_bar_follows_the_ratio() -> None:
    out = render(stats(talk_ratio=0.5), width=80)
    bar = next(line for line in out.splitlines() if "█" in line and "░" in line)
    inner = bar.strip("│ ")
    assert abs(inner.count("█") - inner.count("░")) <= 1


# --------------------------------------------------------------------------- strip


def test_speaker_strip_buckets() -> None:
    # 60 s in 12 buckets of 5 s.
    speech = {
        "rep": [[0.0, 10.0], [31.0, 32.5], [50.0, 52.0]],  # full, full, 30 %, 40 %
        "customer": [[10.0, 30.0]],
    }
    strip = speaker_strip(speech, 60.0, 12)
    lines = strip.plain.split("\n")
    pad = " " * LABEL_W
    assert lines == [
        "You".ljust(LABEL_W) + "██    ▒   ▓ ",
        "Customer".ljust(LABEL_W) + "  ████      ",
        pad + "0:00    1:00",
    ]


def test_speaker_strip_partial_buckets_and_clipping() -> None:
    # 20 s in 4 buckets of 5 s: 4 s (80 %) → █, 2 s (40 %) → ▓, 1 s (20 %) → ▒.
    speech = {"rep": [[1.0, 5.0], [6.0, 8.0], [12.0, 13.0], [19.0, 25.0]], "customer": []}
    row = speaker_strip(speech, 20.0, 4).plain.split("\n")[0]
    assert row[LABEL_W:] == "█▓▒▒"


def test_speaker_strip_marks_monologues() -> None:
    speech = {"rep": [[0.0, 10.0]], "customer": [[10.0, 30.0]]}
    mono = {"rep": [[0.0, 10.0]], "customer": [[10.0, 30.0]]}
    lines = speaker_strip(speech, 60.0, 12, monologues=mono).plain.split("\n")
    pad = " " * LABEL_W
    assert lines[0] == pad + "┌┐          "
    assert lines[3] == pad + "  └──┘      "
    # Long enough: the bracket carries the length.
    wide = speaker_strip(speech, 60.0, 60, monologues=mono).plain.split("\n")
    assert "0:20" in wide[3] and "└" in wide[3]


def test_speaker_strip_ticks_end_at_call_end() -> None:
    lines = speaker_strip({"rep": [], "customer": []}, 1200.0, 70).plain.split("\n")
    ticks = lines[-1]
    assert ticks.rstrip().endswith("20:00")
    assert ticks[LABEL_W:].startswith("0:00")
    assert all(len(line) == LABEL_W + 70 for line in lines)


# --------------------------------------------------------------------------- takeaways


def test_talkative_rep_gets_talk_ratio_first() -> None:
    d = stats(talk_ratio=0.71, interruptions=[10.0, 20.0, 30.0, 40.0])
    d["rep"]["longest_monologue_s"] = 150.0
    tips = takeaways(d, TARGETS)
    assert 1 <= len(tips) <= 3
    assert "71 %" in tips[0] and "65 %" in tips[0] and "43 %" in tips[0]


def test_short_story_and_interruptions_are_called_out() -> None:
    d = stats(interruptions=[10.0, 20.0, 30.0])
    d["customer"]["longest_monologue_s"] = 38.0
    tips = " ".join(takeaways(d, TARGETS))
    assert "interrupted 3 times" in tips
    assert "38 s" in tips and "50 s" in tips


def test_good_call_gets_a_positive_takeaway() -> None:
    d = stats(interruptions=[], patience_s=1.3)
    tips = takeaways(d, TARGETS)
    assert 1 <= len(tips) <= 3
    assert any("acknowledged the customer 3 times" in t or "story ran" in t for t in tips)
    assert not any("aim for" in t or "interrupted" in t for t in tips)


def test_targets_change_the_judgement() -> None:
    d = stats(talk_ratio=0.6)
    strict = ReportTargets(talk_ratio_max=0.55)
    assert "aim for under 55 %" in takeaways(d, strict)[0]
    assert not any("aim for" in t for t in takeaways(d, TARGETS))


# --------------------------------------------------------------------------- properties

_KINDS = ["acknowledge", "deepen", "summarise", "pause", "talk_less", "let_finish"]


@st.composite
def _segments(draw: st.DrawFn, duration: float) -> list[list[float]]:
    cuts = sorted(draw(st.lists(st.floats(0, duration), max_size=16)))
    return [
        [round(a, 2), round(b, 2)] for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a
    ]


@st.composite
def valid_stats(draw: st.DrawFn) -> dict[str, Any]:
    duration = draw(st.floats(0, 7200))
    times = st.lists(st.floats(0, max(duration, 0.0)), max_size=12)
    speech = {"rep": draw(_segments(duration)), "customer": draw(_segments(duration))}

    def side(segs: list[list[float]]) -> dict[str, Any]:
        talk = sum(b - a for a, b in segs)
        longest = draw(st.floats(0, max(talk, 0.0)))
        return {
            "talk_s": talk,
            "longest_monologue_s": longest,
            "monologues": [s for s in segs if s[1] - s[0] >= 10],
            "backchannels": draw(times),
        }

    rep, cust = side(speech["rep"]), side(speech["customer"])
    total = rep["talk_s"] + cust["talk_s"]
    nudges = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "t": st.floats(0, max(duration, 0.0)),
                    "kind": st.sampled_from(_KINDS),
                    "text": st.text(max_size=60),
                    "heeded": st.booleans(),
                }
            ),
            max_size=8,
        )
    )
    d: dict[str, Any] = {
        "schema": "coach.stats/1",
        "duration_s": duration,
        "talk_ratio": rep["talk_s"] / total if total > 0 else None,
        "patience_s": draw(st.none() | st.floats(0, 5)),
        "interactivity_per_min": draw(st.floats(0, 60)),
        "interruptions": draw(times),
        "rep": rep,
        "customer": cust,
        "questions": draw(st.none() | st.integers(0, 40)),
        "summaries": draw(st.none() | st.integers(0, 10)),
        "nudges": nudges,
        "speech": speech,
    }
    if draw(st.booleans()):
        d["heed_rate"] = {k: draw(st.none() | st.floats(0, 1)) for k in _KINDS}
    if draw(st.booleans()):
        d["warnings"] = draw(st.lists(st.text(min_size=1, max_size=80), max_size=2))
    return d


_targets = st.builds(
    ReportTargets,
    talk_ratio_max=st.floats(0.3, 0.9),
    talk_ratio_ideal=st.floats(0.2, 0.6),
    rep_monologue_max_s=st.floats(10, 300),
    story_benchmark_s=st.floats(10, 300),
    patience_good_s=st.floats(0.1, 3),
    heed_window_s=st.floats(1, 60),
)


@settings(max_examples=200, deadline=None)
@given(valid_stats(), _targets)
def test_takeaways_always_one_to_three(d: dict[str, Any], targets: ReportTargets) -> None:
    tips = takeaways(d, targets)
    assert 1 <= len(tips) <= 3
    assert all(isinstance(t, str) and t.strip() for t in tips)


@settings(max_examples=60, deadline=None)
@given(valid_stats(), _targets, st.integers(60, 140))
# a call shorter than the strip has buckets: the bucket width underflowed to 0
@example(silent_call(5e-324), TARGETS, 60)
# an interruption in a call of denormal length: its minutes underflowed to 0
@example({**silent_call(1e-320), "interruptions": [0.0]}, TARGETS, 60)
def test_report_renders_within_width(d: dict[str, Any], targets: ReportTargets, width: int) -> None:
    assert_fits(render(d, width, targets), width)
