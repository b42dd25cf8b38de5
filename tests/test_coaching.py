"""Coaching against the rep's own history: baselines, fading, control calls, the effect."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest

from coach.config import Config
from coach.core.budget import BudgetParams
from coach.core.pipeline import analyze_segments
from coach.history import coaching
from coach.history import store as history
from coach.history.store import History
from tests.support.cli import coach


def stats(
    talk_ratio: float,
    *,
    call_type: str = "discovery",
    coached: bool | None = True,
    monologue: float = 60.0,
    story: float = 40.0,
    questions: int | None = None,
    patience: float | None = 0.8,
    interruptions: int = 0,
    nudges: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A stored call's figures, by hand."""
    out: dict[str, Any] = {
        "schema": "coach.stats/1",
        "duration_s": 600.0,
        "talk_ratio": talk_ratio,
        "patience_s": patience,
        "interruptions": [10.0 * i for i in range(interruptions)],
        "rep": {"longest_monologue_s": monologue},
        "customer": {"longest_monologue_s": story},
        "questions": questions,
        "nudges": nudges or [],
        "call_type": call_type,
    }
    if coached is not None:
        out["coached"] = coached
    return out


# -- baselines, by hand ----------------------------------------------------------------------


def test_a_call_is_compared_with_the_median_of_its_own_call_type() -> None:
    calls = [
        stats(0.50, monologue=90, story=30, interruptions=3),
        stats(0.90, call_type="demo", monologue=300),  # another type: left out
        stats(0.40, monologue=70, story=50, interruptions=1),
        stats(0.60, monologue=80, story=20, interruptions=2),
        stats(0.45, monologue=60, story=60, interruptions=0),  # this call
    ]
    got = coaching.compare(calls, 4, n=10)
    assert got["call_type"] == "discovery" and got["baseline_calls"] == 3
    rows = {r["key"]: r for r in got["figures"]}
    assert rows["talk_ratio"]["baseline"] == 0.50  # median of 0.50, 0.40, 0.60
    assert rows["talk_ratio"]["verdict"] == "better"  # 0.45 is nearer the ideal 0.43
    assert (
        rows["longest_monologue_s"]["baseline"] == 80
        and rows["longest_monologue_s"]["verdict"] == "better"
    )
    assert rows["longest_story_s"]["baseline"] == 30
    assert rows["interruptions"]["baseline"] == 2
    assert rows["questions"]["baseline"] is None and rows["questions"]["verdict"] is None
    # only the last n of the type count
    assert coaching.compare(calls, 4, n=1)["figures"][0]["baseline"] == 0.60


def test_best_call_and_most_improved() -> None:
    calls = [
        stats(0.70, monologue=120, story=20),
        stats(0.65, monologue=110, story=25),
        stats(0.50, monologue=70, story=45),
        stats(0.45, monologue=60, story=70),
    ]
    assert coaching.best_call(calls) == 3
    improved = coaching.most_improved(calls)
    assert improved is not None
    assert improved["key"] in {"talk_ratio", "longest_monologue_s", "longest_story_s"}
    assert improved["earlier"] != improved["recent"]


# -- fading and the dead-band ----------------------------------------------------------------

HEEDED_ACK = [
    {"t": 10.0 * i, "kind": "acknowledge", "heeded": True, "shown": True} for i in range(3)
]


def test_a_kind_heeded_reliably_in_recent_calls_fades_as_the_config_says() -> None:
    recent = [stats(0.4, nudges=HEEDED_ACK), stats(0.4, nudges=HEEDED_ACK)]  # 6 of 6
    assert coaching.fade_every(recent, recent=5, heed_rate=0.8, every=2) == {"acknowledge": 2}
    ignored = [{**n, "heeded": False} for n in HEEDED_ACK]
    mixed = [*recent, stats(0.4, nudges=ignored), stats(0.4, nudges=ignored)]  # 6 of 12
    assert coaching.fade_every(mixed, recent=5, heed_rate=0.8, every=2) == {}
    assert coaching.fade_every(recent, recent=5, heed_rate=0.8, every=1) == {}

    # on a call: four stories without acknowledgement, one reminder each is due
    customer = [(float(a), a + 25.0) for a in (0, 30, 60, 90)]
    rep = [(a + 26.0, a + 29.0) for a in (0, 30, 60, 90)]
    cfg = Config()
    cfg = dataclasses.replace(
        cfg, nudges=dataclasses.replace(cfg.nudges, cooldown_s=0.0, unheeded_quiet_s=0.0)
    )
    speech: dict[str, list[tuple[float, float]]] = {"rep": rep, "customer": customer}
    plain = analyze_segments(200, speech, cfg)
    faded = analyze_segments(
        200, speech, cfg, BudgetParams.from_config(cfg, fade_every={"acknowledge": 2})
    )
    assert [n["shown"] for n in plain["nudges"]] == [True] * 4
    assert [n["shown"] for n in faded["nudges"]] == [True, False, True, False]
    assert {n.get("hidden") for n in faded["nudges"]} == {None, "faded"}


def test_a_talk_less_nudge_within_the_reps_own_dead_band_is_not_shown() -> None:
    rep = [(0.0, 150.0)]
    customer = [(151.0, 170.0), (171.0, 200.0)]
    speech = {"rep": rep, "customer": customer}
    due = analyze_segments(200, speech, Config())
    assert [n["kind"] for n in due["nudges"] if n["shown"]].count("talk_less") == 1
    # the rep usually talks this much: a baseline of 0.82 + 0.05 covers the window's 0.83
    calm = analyze_segments(
        200, speech, Config(), BudgetParams.from_config(Config(), talk_ratio_floor=0.87)
    )
    talk_less = [n for n in calm["nudges"] if n["kind"] == "talk_less"]
    assert talk_less and all(n.get("hidden") == "baseline" for n in talk_less)


def test_one_call_in_k_is_a_silent_control_call() -> None:
    assert [coaching.control_call(n, 3) for n in range(6)] == [False, False, True] * 2
    assert not any(coaching.control_call(n, 0) for n in range(6))
    cfg = dataclasses.replace(Config(), coach=dataclasses.replace(Config().coach, control_every=3))
    plan = coaching.plan_call(cfg, [stats(0.5), stats(0.5)])
    assert plan.budget.silent and not plan.coached
    assert coaching.plan_call(cfg, [stats(0.5)]).coached
    # offline analyses are not live calls: they do not count towards K
    assert coaching.plan_call(cfg, [stats(0.5), stats(0.5, coached=None)]).coached


# -- the coach's effect, by hand -------------------------------------------------------------


def test_the_effect_is_a_difference_of_means_with_welchs_interval() -> None:
    calls = [stats(r, coached=True) for r in (0.40, 0.42, 0.44, 0.46, 0.48)] + [
        stats(r, coached=False) for r in (0.50, 0.52, 0.54, 0.56, 0.58)
    ]
    got = coaching.effect(calls, min_each=5)
    assert (got["coached"], got["silent"], got["enough"]) == (5, 5, True)
    row = got["figures"][0]
    assert row["key"] == "talk_ratio"
    # means 0.44 and 0.54, variances 0.001 each: se 0.02, df 8, t(0.975, 8) = 2.306
    assert row["difference"] == pytest.approx(-0.10)
    assert row["ci95"] == pytest.approx([-0.10 - 2.306 * 0.02, -0.10 + 2.306 * 0.02], abs=2e-4)
    assert not coaching.effect(calls[:4] + calls[5:9], min_each=5)["enough"]


# -- `coach history` on 30 generated calls -----------------------------------------------------


def generated_call(i: int, call_type: str, rng: random.Random) -> dict[str, Any]:
    """A 10-minute call in which the rep's turns shrink as ``i`` grows (an improving rep)."""
    rep_turn = 60.0 - 0.8 * i
    rep, customer, t = [], [], 1.0
    while t < 590:
        rep.append((t, t + rep_turn * rng.uniform(0.8, 1.2)))
        t = rep[-1][1] + rng.uniform(0.4, 1.5)
        customer.append((t, t + rng.uniform(20, 60) + 0.5 * i))
        t = customer[-1][1] + rng.uniform(0.4, 1.5)
    return analyze_segments(600, {"rep": rep, "customer": customer}, Config())


@pytest.fixture
def thirty_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "data"))
    monkeypatch.setenv("COACH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "200")  # one line per sentence
    rng = random.Random(20)
    calls = []
    with History() as h:
        for i in range(30):
            s = generated_call(i, "demo" if i % 2 else "discovery", rng)
            s["call_type"] = "demo" if i % 2 else "discovery"
            s["coached"] = not coaching.control_call(i, 3)  # calls 3, 6, ... 30: silent
            h.save_call(s, "live")
            calls.append(s)
    return calls


def history_cli(*args: str) -> str:
    code, out, err = coach("history", *args)
    assert code == 0, err
    return out


def test_history_compares_the_last_call_with_its_types_baseline(
    thirty_calls: list[dict[str, Any]],
) -> None:
    text = history_cli("--limit", "30")
    title = "Your last call against your baseline · demo calls: the median of the 10 before it"
    assert title in text
    for label in (
        "Talk ratio",
        "Longest monologue",
        "Longest customer story",
        "Questions",
        "Patience",
        "Interruptions",
    ):
        assert label in text
    assert "Best call: #" in text and "Most improved:" in text
    data = json.loads(history_cli("--json"))["baseline"]
    demo = [c for c in thirty_calls if c["call_type"] == "demo"]
    ratios = sorted(c["talk_ratio"] for c in demo[-11:-1])
    talk = data["compare"]["figures"][0]
    assert talk["baseline"] == pytest.approx((ratios[4] + ratios[5]) / 2)
    assert talk["value"] == demo[-1]["talk_ratio"]
    nearer = abs(talk["value"] - 0.43) < abs(talk["baseline"] - 0.43)
    assert talk["verdict"] == ("better" if nearer else "worse")
    monologue = data["compare"]["figures"][1]
    assert monologue["key"] == "longest_monologue_s"
    assert monologue["value"] < monologue["baseline"] and monologue["verdict"] == "better"
    assert data["best_call"] > 20  # one of the late calls


def test_history_effect_compares_coached_and_silent_calls(
    thirty_calls: list[dict[str, Any]],
) -> None:
    result = json.loads(history_cli("effect", "--json"))
    assert (result["coached"], result["silent"], result["enough"]) == (20, 10, True)
    coached = [c["talk_ratio"] for c in thirty_calls if c["coached"]]
    silent = [c["talk_ratio"] for c in thirty_calls if not c["coached"]]
    talk = result["figures"][0]
    assert talk["difference"] == pytest.approx(sum(coached) / 20 - sum(silent) / 10)
    lo, hi = talk["ci95"]
    assert lo < talk["difference"] < hi
    text = history_cli("effect")
    assert "20 coached, 10 silent calls" in text and "95 % interval" in text


def test_history_effect_says_when_there_are_not_enough_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "data"))
    monkeypatch.setenv("COACH_CONFIG", str(tmp_path / "none.toml"))
    with History() as h:
        for i in range(4):
            h.save_call(stats(0.5, coached=i != 3), "live")
    assert "Not enough calls yet" in history_cli("effect")


# -- a live call with history ----------------------------------------------------------------


def test_a_live_call_with_history_is_planned_from_it_and_labelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """coach.control_every = 2: the second live call is silent, its nudges all kept."""
    from coach.cli.app import _live_call, _load
    from coach.live.sources import DEMO_CALL, ReplaySource

    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "data"))
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[coach]\ncontrol_every = 2\n[live]\nbell = false\ndesktop_notifications = false\n"
    )
    loaded = _load(cfg, "discovery", no_transcribe=True)
    for _ in range(2):
        _live_call(ReplaySource(DEMO_CALL, 50.0), loaded, None, None, True, None, "live")
    printed = capsys.readouterr()
    assert "a silent control call" in printed.err
    assert "Against your last 1 discovery call" in printed.out  # the second call's report
    with History() as h:
        first, second = (s for _, s in h.all_stats())
    assert (first["call_type"], first["coached"]) == ("discovery", True)
    assert (second["call_type"], second["coached"]) == ("discovery", False)
    assert [n["t"] for n in second["nudges"]] == [n["t"] for n in first["nudges"]]
    assert second["nudges"] and {n["hidden"] for n in second["nudges"]} == {"control"}
    assert any(n["shown"] for n in first["nudges"])
    assert "baseline" not in second  # the comparison is rebuilt from the rows
