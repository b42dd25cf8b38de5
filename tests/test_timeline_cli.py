"""`coach analyze --timeline`: who-spoke-when files in, the same stats and nudges out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coach.cli.app import app
from coach.cli.conformance import compare
from tests.support.shared import require_cases

runner = CliRunner()


def analyze(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def test_every_conformance_case_through_the_cli(tmp_path: Path) -> None:
    for case in require_cases():
        path = tmp_path / f"{case['name']}.json"
        path.write_text(json.dumps({"duration_s": case["duration_s"], "speech": case["speech"]}))
        code, out, err = analyze("--timeline", str(path), "--json")
        assert code == 0, err
        assert compare(case["expected"], json.loads(out)) == [], case["name"]


RTTM = """\
SPEAKER call1 1 1.00 4.00 <NA> <NA> alice <NA> <NA>
SPEAKER call1 1 6.00 9.00 <NA> <NA> bob <NA> <NA>
SPEAKER call1 1 16.00 4.00 <NA> <NA> alice <NA> <NA>
SPEAKER call1 1 21.00 9.00 <NA> <NA> carol <NA> <NA>
SPEAKER call1 1 31.00 4.00 <NA> <NA> alice <NA> <NA>
"""


def test_rttm_with_the_rep_named(tmp_path: Path) -> None:
    path = tmp_path / "call1.rttm"
    path.write_text(RTTM)
    code, out, _ = analyze(
        "--timeline", str(path), "--rep-speaker", "alice", "--json", "--duration", "60"
    )
    assert code == 0
    stats = json.loads(out)
    # everyone but alice is the customer: the same as the "alternation" case
    assert stats["speech"] == {
        "rep": [[1.0, 5.0], [16.0, 20.0], [31.0, 35.0]],
        "customer": [[6.0, 15.0], [21.0, 30.0]],
    }
    assert stats["talk_ratio"] == 0.4 and stats["patience_s"] == 1.0
    assert stats["interactivity_per_min"] == 4.0


def test_rttm_duration_defaults_to_the_last_end(tmp_path: Path) -> None:
    path = tmp_path / "call1.rttm"
    path.write_text(RTTM)
    code, out, _ = analyze("--timeline", str(path), "--rep-speaker", "alice", "--json")
    assert code == 0
    assert json.loads(out)["duration_s"] == 35.0


def test_overlapping_segments_are_merged_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps({"duration_s": 30, "speech": {"rep": [[1, 5], [4, 8]], "customer": []}})
    )
    code, out, err = analyze("--timeline", str(path), "--json")
    assert code == 0
    assert json.loads(out)["speech"]["rep"] == [[1.0, 8.0]]
    assert "overlapping rep" in err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("name", "text", "extra", "words"),
    [
        ("neg.json", '{"duration_s": 10, "speech": {"rep": [[-1, 2]]}}', [], ["before 0"]),
        ("rev.json", '{"duration_s": 10, "speech": {"rep": [[5, 2]]}}', [], ["reversed"]),
        ("long.json", '{"duration_s": 10, "speech": {"rep": [[5, 12]]}}', [], ["ends after"]),
        ("side.json", '{"duration_s": 10, "speech": {"agent": [[1, 2]]}}', [], ["agent"]),
        ("nan.json", '{"duration_s": 10, "speech": {"rep": [["a", 2]]}}', [], ["not a number"]),
        ("broken.json", '{"duration_s": 10, "speech": ', [], ["not valid JSON"]),
        ("empty.rttm", "", [], ["empty"]),
        ("who.rttm", RTTM, [], ["--rep-speaker", "alice, bob, carol"]),
        ("who.rttm", RTTM, ["--rep-speaker", "dave"], ["dave", "alice, bob, carol"]),
        (
            "bad.rttm",
            "SPEAKER x 1 abc 2 <NA> <NA> a <NA> <NA>\n",
            ["--rep-speaker", "a"],
            ["line 1"],
        ),
        (
            "neg.rttm",
            "SPEAKER x 1 3 -2 <NA> <NA> a <NA> <NA>\n",
            ["--rep-speaker", "a"],
            ["negative"],
        ),
    ],
)
def test_bad_timelines_get_one_clear_line(
    tmp_path: Path, name: str, text: str, extra: list[str], words: list[str]
) -> None:
    code, out, err = analyze("--timeline", write(tmp_path, name, text), *extra, "--json")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("coach: ")
    for w in words:
        assert w in err


def test_missing_timeline_file(tmp_path: Path) -> None:
    code, _, err = analyze("--timeline", str(tmp_path / "none.json"))
    assert code == 2 and "does not exist" in err
