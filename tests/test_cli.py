"""`coach analyze` as a user meets it: outputs, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support.cli import assert_user_error, coach
from tests.support.synth import make_call, near, write_call

STORY = make_call(45, rep=[(1, 5), (37, 41)], customer=[(6, 36)])


@pytest.fixture(scope="module")
def story_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_call(tmp_path_factory.mktemp("calls") / "story.wav", STORY)


def test_json_is_the_stats_object_and_nothing_else(story_wav: Path) -> None:
    code, out, _ = coach("analyze", str(story_wav), "--json", "--no-transcribe")
    assert code == 0
    stats = json.loads(out)
    assert stats["schema"] == "coach.stats/1"
    assert near(stats["customer"]["monologues"], [[6.0, 36.0]])
    assert [n["kind"] for n in stats["nudges"]] == ["acknowledge", "deepen"]
    assert all({"t", "kind", "text", "heeded"} <= set(n) for n in stats["nudges"])


def test_the_report_is_for_people(story_wav: Path) -> None:
    code, out, _ = coach("analyze", str(story_wav), "--no-transcribe")
    assert code == 0
    assert "Call report" in out and "Who spoke when" in out and "deepen" in out


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_other_sample_rates_are_resampled(tmp_path: Path, rate: int) -> None:
    path = write_call(tmp_path / f"call_{rate}.flac", STORY, rate=rate)
    code, out, _ = coach("analyze", str(path), "--json")
    assert code == 0
    assert near(json.loads(out)["customer"]["monologues"], [[6.0, 36.0]])


def test_two_mono_files_of_different_lengths(tmp_path: Path) -> None:
    sf.write(tmp_path / "rep.wav", STORY[0, : 40 * 16000], 16000)
    sf.write(tmp_path / "cust.wav", STORY[1], 16000)
    code, out, _ = coach(
        "analyze",
        "--rep",
        str(tmp_path / "rep.wav"),
        "--customer",
        str(tmp_path / "cust.wav"),
        "--json",
    )
    assert code == 0
    assert json.loads(out)["duration_s"] == 45.0


def test_a_preset_changes_the_threshold(story_wav: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[nudges]\nacknowledge_after_s = 100\n")
    code, out, _ = coach("analyze", str(story_wav), "--json", "--config", str(cfg))
    assert code == 0
    assert [n["kind"] for n in json.loads(out)["nudges"]] == ["deepen"]


def test_bad_inputs_get_one_clear_line(tmp_path: Path) -> None:
    assert_user_error(["analyze", str(tmp_path / "nope.wav")], "no such file")
    assert_user_error(["analyze", str(tmp_path)], "directory")
    text = tmp_path / "notes.wav"
    text.write_text("hello, this is not audio\n")
    assert_user_error(["analyze", str(text)], "notes.wav")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), 16000)
    assert_user_error(["analyze", str(empty)], "empty.wav")
    mono = tmp_path / "mono.wav"
    sf.write(mono, STORY[0], 16000)
    assert_user_error(["analyze", str(mono)], "--rep")
    four = tmp_path / "four.wav"
    sf.write(four, np.zeros((1600, 4), np.float32), 16000)
    assert_user_error(["analyze", str(four)], "--channels")
    nan = tmp_path / "nan.wav"
    bad = STORY.T.copy()
    bad[100, 0] = np.nan
    sf.write(nan, bad, 16000, subtype="FLOAT")
    assert_user_error(["analyze", str(nan)], "NaN")
    whole = write_call(tmp_path / "whole.wav", STORY)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:40000])
    assert_user_error(["analyze", str(cut)], "cut.wav")


def test_four_channels_with_an_explicit_choice(tmp_path: Path) -> None:
    four = np.zeros((STORY.shape[1], 4), np.float32)
    four[:, 2], four[:, 3] = STORY[0], STORY[1]
    path = tmp_path / "four.wav"
    sf.write(path, four, 16000)
    code, out, _ = coach("analyze", str(path), "--channels", "2,3", "--json")
    assert code == 0
    assert near(json.loads(out)["customer"]["monologues"], [[6.0, 36.0]])


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[nudges\n", ["not valid TOML"]),
        ('[nudges]\npause_s = "fast"\n', ["nudges.pause_s"]),
        ("[nudges]\ntalk_ratio_max = -0.5\n", ["nudges.talk_ratio_max", "-0.5"]),
        ("[nudges]\npause = 0.3\n", ["did you mean", "nudges.pause_s"]),
    ],
)
def test_bad_configs_get_one_clear_line(
    story_wav: Path, tmp_path: Path, toml: str, words: list[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    assert_user_error(["analyze", str(story_wav), "--config", str(cfg)], *words)


def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    """The installed entry point, not just the Typer app: exit 2 and one line."""
    proc = subprocess.run(
        [sys.executable, "-m", "coach.cli", "analyze", str(tmp_path / "missing.flac")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_webrtc_backend_is_still_there(story_wav: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "webrtc.toml"
    cfg.write_text('[vad]\nbackend = "webrtc"\n')
    code, out, _ = coach(
        "analyze", str(story_wav), "--json", "--no-transcribe", "--config", str(cfg)
    )
    assert code == 0
    assert near(json.loads(out)["customer"]["monologues"], [[6.0, 36.0]], tol_s=0.01)
