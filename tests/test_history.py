"""The call history (coach/history/, coach/cli/history_cmd.py): what is kept, and how
it is shown.

Every test keeps its database in its own folder through ``COACH_DATA_DIR``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from platformdirs import user_data_dir

import coach.history.store as history
from coach.cli.history_views import FIGURES, sparkline, trend
from coach.config import Config
from coach.core.nudge_text import nudge_text
from coach.core.pipeline import analyze_segments
from coach.errors import CoachError
from coach.history.store import (
    CURRENT_VERSION,
    DB_NAME,
    MIGRATIONS,
    History,
    delete_all,
    delete_call,
    export_csv,
    get_call,
    history_path,
    list_calls,
    save_call,
)
from tests.support.cli import assert_user_error, coach

ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- fixtures


def a_call(rep: list[tuple[float, float]], customer: list[tuple[float, float]], duration: float):
    """A real coach.stats/1 object, from the timeline stage (no audio needed)."""
    return analyze_segments(duration, {"rep": rep, "customer": customer}, Config())


# A 60 s call: the rep opens, the customer tells a 30 s story, the rep answers.
STORY = a_call(rep=[(0, 5), (37, 45)], customer=[(6, 36), (46, 58)], duration=60)
# The rep talks most of a 120 s call.
PITCH = a_call(rep=[(0, 80), (90, 118)], customer=[(81, 89)], duration=120)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(history.ENV_VAR, str(folder))
    return folder


@pytest.fixture
def db(data_dir: Path) -> Path:
    return data_dir / DB_NAME


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def rows_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])


# ----------------------------------------------------------------------------- storing


def test_a_saved_call_comes_back_whole() -> None:
    call_id = save_call(STORY, "analyze story.flac")
    assert get_call(call_id) == STORY


def test_the_trend_figures_are_kept_as_columns() -> None:
    save_call(STORY, "analyze story.flac")
    (row,) = list_calls(10)
    heeded = [n["heeded"] for n in STORY["nudges"]]
    assert row.source == "analyze story.flac"
    assert row.duration_s == 60.0
    assert row.talk_ratio == STORY["talk_ratio"]
    assert row.longest_story_s == STORY["customer"]["longest_monologue_s"] == 30.0
    assert row.longest_monologue_s == STORY["rep"]["longest_monologue_s"]
    assert row.patience_s == STORY["patience_s"]
    assert row.interactivity_per_min == STORY["interactivity_per_min"]
    assert row.nudges == len(heeded) > 0
    assert row.heed_rate == pytest.approx(sum(heeded) / len(heeded))
    assert row.interruptions == len(STORY["interruptions"])
    assert row.backchannels == len(STORY["rep"]["backchannels"])


def test_times_are_local_iso_and_start_defaults_to_the_end_minus_the_duration() -> None:
    from datetime import datetime

    save_call(STORY, "live")
    (row,) = list_calls(1)
    started, saved = datetime.fromisoformat(row.started_at), datetime.fromisoformat(row.saved_at)
    assert saved.utcoffset() == datetime.now().astimezone().utcoffset()
    assert (saved - started).total_seconds() == pytest.approx(60, abs=1)


def test_recent_calls_come_newest_first_and_limit_counts_from_the_newest() -> None:
    ids = [save_call(s, f"analyze {i}.flac") for i, s in enumerate([STORY, PITCH, STORY])]
    assert [r.id for r in list_calls(10)] == ids[::-1]
    assert [r.id for r in list_calls(2)] == ids[:0:-1]


def test_a_call_without_nudges_or_speech_has_null_rates() -> None:
    silent = a_call(rep=[], customer=[], duration=30)
    save_call(silent, "analyze silence.flac")
    (row,) = list_calls(1)
    assert row.talk_ratio is None and row.patience_s is None
    assert row.nudges == 0 and row.heed_rate is None


def test_non_finite_numbers_are_stored_as_null() -> None:
    odd = {**STORY, "patience_s": float("nan"), "extra": [float("inf")]}
    call_id = save_call(odd, "live")
    stored = get_call(call_id)
    assert stored["patience_s"] is None and stored["extra"] == [None]
    assert list_calls(1)[0].patience_s is None


def test_only_stats_objects_are_saved() -> None:
    with pytest.raises(CoachError, match="not a coach.stats object"):
        save_call({"talk_ratio": 0.5}, "live")
    assert list_calls(10) == []


def test_unknown_ids_are_clear_errors() -> None:
    for action in (lambda: get_call(42), lambda: delete_call(42)):
        with pytest.raises(CoachError, match="no call with id 42"):
            action()


def test_delete_one_and_delete_all() -> None:
    first, second, third = (save_call(STORY, "live") for _ in range(3))
    delete_call(second)
    assert [r.id for r in list_calls(10)] == [third, first]
    assert delete_all() == 2
    assert list_calls(10) == []
    assert save_call(STORY, "live") > third  # ids are never reused


def test_deleted_calls_are_overwritten_not_just_unlinked(db: Path) -> None:
    save_call(STORY, "analyze MARKER-acme-renewal.flac")
    delete_all()
    assert b"MARKER-acme-renewal" not in db.read_bytes()


def test_export_csv_has_one_row_per_call_oldest_first(tmp_path: Path) -> None:
    save_call(STORY, "analyze story.flac")
    save_call(PITCH, "analyze pitch.flac")
    out = tmp_path / "calls.csv"
    assert export_csv(out) == 2
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["source"] for r in rows] == ["analyze story.flac", "analyze pitch.flac"]
    assert float(rows[1]["talk_ratio"]) == PITCH["talk_ratio"]
    assert set(rows[0]) == set(history.COLUMNS)


@pytest.mark.parametrize("where", ["missing-dir/calls.csv", "."])
def test_export_to_an_unwritable_path_is_a_clear_error(tmp_path: Path, where: str) -> None:
    save_call(STORY, "live")
    with pytest.raises(CoachError, match="can't write"):
        export_csv(tmp_path / where)


def test_the_database_is_in_the_platform_data_dir_unless_coach_data_dir_says(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    assert history_path() == data_dir / "history.sqlite3"
    monkeypatch.delenv(history.ENV_VAR)
    assert history_path() == Path(user_data_dir("coach", appauthor=False)) / "history.sqlite3"


# ----------------------------------------------------------------------------- privacy


def test_the_database_is_readable_by_its_owner_only(db: Path, data_dir: Path) -> None:
    save_call(STORY, "live")
    assert mode(db) == 0o600
    assert mode(data_dir) == 0o700


def test_a_looser_existing_file_is_tightened(db: Path) -> None:
    save_call(STORY, "live")
    db.chmod(0o644)
    list_calls(1)
    assert mode(db) == 0o600


def test_the_journal_is_as_private_as_the_database(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = db.with_name(DB_NAME + "-journal")
    seen: list[int] = []
    monkeypatch.setattr(history, "_before_commit", lambda: seen.append(mode(journal)))
    save_call(STORY, "live")
    save_call(STORY, "live")
    assert seen and all(m == 0o600 for m in seen)
    assert not journal.exists()  # deleted after each commit


def test_an_unwritable_data_dir_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(history.ENV_VAR, str(blocker / "data"))
    with pytest.raises(CoachError, match="can't create the history database"):
        save_call(STORY, "live")


# ----------------------------------------------------------------------------- atomic writes

KILLED_WRITER = textwrap.dedent(
    """
    import json, sys, time
    import coach.history.store as history

    def stall():
        print("inside the transaction", flush=True)
        time.sleep(120)

    stats = json.loads(sys.stdin.read())
    with history.History() as h:
        h.conn.execute("PRAGMA cache_size = 5")  # spill pages to the file mid-transaction
        history._before_commit = stall
        h.save_call(stats, "live")
    """
)


def test_a_writer_killed_mid_write_leaves_no_half_written_row(db: Path) -> None:
    kept = save_call(STORY, "analyze story.flac")
    size_before = db.stat().st_size
    # ~2 MB of segments: far more pages than the 5-page cache, so the database file
    # itself is already half-rewritten when the process dies.
    huge = {**STORY, "speech": {"rep": [[i, i + 0.5] for i in range(60_000)], "customer": []}}
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.write(json.dumps(huge))
    writer.stdin.close()
    try:
        assert writer.stdout.readline().strip() == "inside the transaction"
        assert db.with_name(DB_NAME + "-journal").exists()
        assert db.stat().st_size > size_before  # the file really is half-written
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    with History() as h:
        assert [r.id for r in h.list_calls()] == [kept]
        assert h.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert h.get_call(kept) == STORY
        assert h.save_call(PITCH, "live") == kept + 1
    assert not list(db.parent.glob("*.corrupt-*"))


def test_an_error_inside_the_transaction_rolls_the_row_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_call(STORY, "live")

    def fail() -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(history, "_before_commit", fail)
    with pytest.raises(RuntimeError):
        save_call(PITCH, "live")
    monkeypatch.setattr(history, "_before_commit", None)
    assert len(list_calls(10)) == 1


SAVER = textwrap.dedent(
    """
    import json, sys
    import coach.history.store as history
    stats = json.loads(sys.stdin.read())
    for _ in range(15):
        history.save_call(stats, "live")
    """
)


def test_two_processes_saving_at_once_both_get_their_rows(db: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", SAVER], stdin=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(json.dumps(STORY))
        p.stdin.close()
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert sorted(r.id for r in list_calls(None)) == list(range(1, 31))


# ----------------------------------------------------------------------------- versions


def database_at_version(path: Path, version: int) -> None:
    """A database as an older coach left it: migrations up to ``version``, one call in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for migrate in MIGRATIONS[:version]:
        migrate(conn)
    conn.execute(f"PRAGMA user_version = {version}")
    if version >= 1:  # the v1 columns
        conn.execute(
            "INSERT INTO calls (started_at, saved_at, source, duration_s, talk_ratio, "
            "longest_story_s, longest_monologue_s, patience_s, interactivity_per_min, nudges, "
            "heed_rate, stats_json) VALUES ('2024-03-04T10:00:00+01:00', "
            "'2024-03-04T10:02:00+01:00', 'analyze old.flac', 120, 0.3, 30, 5, 1.0, 2.0, 2, "
            "0.5, ?)",
            (json.dumps(PITCH),),
        )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", range(CURRENT_VERSION))
def test_an_older_database_is_migrated_to_the_current_schema(db: Path, version: int) -> None:
    database_at_version(db, version)
    with History() as h:
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION
        rows = h.list_calls()
        new = h.save_call(STORY, "live")
    assert rows == [] if version == 0 else len(rows) == 1
    if version >= 1:  # the old call survives; columns added later are filled from its JSON
        old = rows[0]
        assert old.source == "analyze old.flac" and get_call(old.id) == PITCH
        assert old.interruptions == len(PITCH["interruptions"])
        assert old.backchannels == len(PITCH["rep"]["backchannels"])
    assert get_call(new) == STORY


def test_upgrading_v1_backfills_the_counts_added_in_v2(db: Path) -> None:
    pitch = {**PITCH, "interruptions": [12.0, 40.0], "rep": {**PITCH["rep"], "backchannels": [3.0]}}
    database_at_version(db, 1)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE calls SET stats_json = ?", (json.dumps(pitch),))
    (row,) = list_calls(1)
    assert (row.interruptions, row.backchannels) == (2, 1)


def test_a_database_from_a_newer_coach_is_refused_and_left_alone(db: Path) -> None:
    database_at_version(db, CURRENT_VERSION)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    before = db.read_bytes()
    with pytest.raises(CoachError, match="newer coach"):
        save_call(STORY, "live")
    assert db.read_bytes() == before
    assert not list(db.parent.glob("*.corrupt-*"))


# ----------------------------------------------------------------------------- corruption


def damage_a_page(db: Path) -> None:
    """Keep the SQLite header, scribble over the table's pages."""
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page : page + 4 * page] = b"\xa5" * (4 * page)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda db: db.write_bytes(b"this is not a database at all" * 100), id="not-sqlite"
        ),
        pytest.param(damage_a_page, id="bad-page"),
    ],
)
def test_a_corrupt_database_is_moved_aside_and_a_new_one_started(
    db: Path, damage: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(20):
        save_call(PITCH, "live")
    damage(db)
    damaged = db.read_bytes()

    call_id = save_call(STORY, "live")

    (aside,) = db.parent.glob(f"{DB_NAME}.corrupt-*")
    assert aside.name.removeprefix(f"{DB_NAME}.corrupt-").replace("-", "").isdigit()
    assert aside.read_bytes() == damaged  # nothing else is lost: the old file is kept
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("coach: ")
    assert "damaged" in err and aside.name in err
    assert [r.id for r in list_calls(10)] == [call_id]
    assert mode(db) == 0o600


def test_a_locked_database_is_busy_not_corrupt(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_call(STORY, "live")
    monkeypatch.setattr(history, "_BUSY_TIMEOUT_S", 0.1)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CoachError, match="locked"):
            save_call(STORY, "live")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not list(db.parent.glob("*.corrupt-*"))
    assert rows_in(db) == 1


def test_try_save_call_turns_a_failure_into_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(history.ENV_VAR, str(blocker / "data"))
    assert history.try_save_call(STORY, "live") is None
    err = capsys.readouterr().err
    assert err.startswith("coach: warning: call not saved") and err.count("\n") == 1


# ----------------------------------------------------------------------------- sparklines


def test_sparklines_scale_from_low_to_high() -> None:
    assert sparkline([0.0, 1.0]) == "▁█"
    assert sparkline([0.0, 0.5, 1.0], lo=0.0, hi=1.0) == "▁▅█"
    assert sparkline([0.25, 0.25], lo=0.0, hi=1.0) == "▃▃"


def test_sparklines_mark_missing_values_and_stay_one_char_per_call() -> None:
    assert sparkline([None, 1.0, None, 3.0]) == "·▁·█"
    assert sparkline([None, None]) == "··"
    assert sparkline([2.0, 2.0]) == "▄▄"  # flat, no scale: the middle
    assert sparkline([]) == ""


def test_trends_compare_earlier_with_recent_calls_and_judge_them() -> None:
    talk, story, patience, heeded = FIGURES
    assert trend(talk, [0.7, 0.68, 0.5, 0.45]) | {"values": None} == {
        "values": None,
        "last": 0.45,
        "mean": pytest.approx(0.5825),
        "earlier": pytest.approx(0.69),
        "recent": pytest.approx(0.475),
        "direction": "down",
        "verdict": "better",
    }
    assert trend(talk, [0.2, 0.4])["verdict"] == "better"  # toward 43 %, even going up
    assert trend(story, [20.0, 60.0])["verdict"] == "better"
    assert trend(patience, [1.2, 0.4])["verdict"] == "worse"
    assert trend(heeded, [0.5, None, 0.52])["direction"] == "steady"
    assert trend(heeded, [0.5])["direction"] is None


# ----------------------------------------------------------------------------- the command


def test_an_empty_history_says_so_in_one_friendly_line() -> None:
    code, out, err = coach("history")
    assert code == 0 and err == ""
    assert out.startswith("No calls in your history yet")
    assert out.count("\n") <= 2


def test_history_lists_recent_calls_and_trends_with_sparklines() -> None:
    for s in (PITCH, PITCH, STORY, STORY):
        save_call(s, "analyze call.flac")
    code, out, _ = coach("history")
    assert code == 0
    assert "Recent calls" in out and "Trends" in out
    for label in ("You talked", "Longest customer story", "Patience", "Nudges heeded"):
        assert label in out
    talk_line = next(line for line in out.splitlines() if line.startswith("You talked"))
    assert sparkline([PITCH["talk_ratio"]] * 2 + [STORY["talk_ratio"]] * 2, 0, 1) in talk_line
    assert "better" in talk_line


def test_limit_bounds_the_calls_shown_and_trended() -> None:
    for _ in range(5):
        save_call(STORY, "live")
    code, out, _ = coach("history", "--limit", "3")
    assert code == 0 and "the last 3 of 5 calls" in out
    assert_user_error(["history", "--limit", "0"], "--limit")


def test_history_json_has_the_calls_newest_first_and_trends_oldest_first() -> None:
    first = save_call(PITCH, "analyze pitch.flac")
    second = save_call(STORY, "analyze story.flac")
    code, out, _ = coach("history", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "coach.history/1" and data["total"] == 2
    assert [c["id"] for c in data["calls"]] == [second, first]
    assert data["trends"]["talk_ratio"]["values"] == [PITCH["talk_ratio"], STORY["talk_ratio"]]
    assert set(data["trends"]) == {f.column for f in FIGURES}


def test_show_prints_the_report_of_one_call() -> None:
    call_id = save_call(STORY, "live")
    code, out, _ = coach("history", "show", str(call_id))
    assert code == 0 and "Call report" in out and "Who spoke when" in out
    code, out, _ = coach("history", "show", str(call_id), "--json")
    assert code == 0 and json.loads(out) == STORY


def test_show_an_unknown_or_malformed_id_is_one_line() -> None:
    assert_user_error(["history", "show", "7"], "no call with id 7")
    assert_user_error(["history", "show", "seven"], "positive whole number")


def test_export_writes_csv_and_says_where(tmp_path: Path) -> None:
    save_call(STORY, "live")
    code, _, err = coach("history", "export", "--csv", str(tmp_path / "out.csv"))
    assert code == 0 and "Wrote 1 call to" in err
    assert (tmp_path / "out.csv").read_text().startswith("id,started_at,saved_at,source")
    no_dir = str(tmp_path / "no/such/dir.csv")
    assert_user_error(["history", "export", "--csv", no_dir], "can't write")
    assert_user_error(["history", "export"], "--csv PATH")


def test_delete_asks_first_and_keeps_the_call_on_no() -> None:
    call_id = save_call(STORY, "live")
    code, out, _ = coach("history", "delete", str(call_id), input="n\n")
    assert code == 0 and "Delete call" in out and "Nothing deleted" in out
    assert len(list_calls(10)) == 1
    code, out, _ = coach("history", "delete", str(call_id), input="y\n")
    assert code == 0 and f"Deleted call {call_id}." in out
    assert list_calls(10) == []


def test_delete_with_no_input_to_ask_on_needs_yes() -> None:
    call_id = save_call(STORY, "live")
    assert_user_error(["history", "delete", str(call_id)], "--yes", input="")
    assert_user_error(["history", "delete", "--all"], "--yes", input="")
    assert len(list_calls(10)) == 1
    assert coach("history", "delete", str(call_id), "--yes")[0] == 0
    assert list_calls(10) == []


def test_delete_all_with_yes_empties_the_history() -> None:
    for _ in range(3):
        save_call(STORY, "live")
    code, out, _ = coach("history", "delete", "--all", "--yes")
    assert code == 0 and "Deleted 3 calls." in out
    assert coach("history")[1].startswith("No calls")


def test_delete_needs_exactly_one_of_an_id_and_all() -> None:
    assert_user_error(["history", "delete"], "delete ID, or --all")
    assert_user_error(["history", "delete", "1", "--all", "--yes"], "delete ID, or --all")
    assert_user_error(["history", "delete", "3", "--yes"], "no call with id 3")


def test_delete_in_a_process_without_stdin_refuses(data_dir: Path) -> None:
    save_call(STORY, "live")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from coach.cli.history_cmd import history_app; history_app()",
            "delete",
            "1",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, history.ENV_VAR: str(data_dir)},
    )
    assert run.returncode == 2, run
    assert run.stderr.count("\n") == 1 and "--yes" in run.stderr
    assert len(list_calls(10)) == 1


def test_a_corrupt_database_costs_one_line_and_the_history_goes_on(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 512)
    code, out, err = coach("history")
    assert code == 0 and out.startswith("No calls")
    assert err.count("\n") == 1 and "moved it to history.sqlite3.corrupt-" in err


def test_path_prints_where_the_database_is(db: Path) -> None:
    code, out, _ = coach("history", "path")
    assert code == 0 and out.strip() == str(db)


# ----------------------------------------------------------------------------- words of the call

QUOTE = "migration timeline"


def with_words(stats: dict[str, Any]) -> dict[str, Any]:
    """``stats`` as transcription leaves them in memory: a deepen nudge quoting the
    customer, and the acknowledgement and filler words each side said."""
    out = json.loads(json.dumps(stats))
    for n in out["nudges"]:
        if n["kind"] == "deepen":
            n["text"] = nudge_text("deepen", "en", QUOTE)
    out["rep"]["backchannel_word_counts"] = {"right": 4, "mhm": 3}
    out["customer"]["backchannel_word_counts"] = {}
    out["filler_words"] = {"rep": {"um": 2, "you know": 1}, "customer": {"uh": 1}}
    out["questions"], out["summaries"] = 3, 1
    return out


def stored_json(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT stats_json FROM calls ORDER BY id")]


def test_the_history_keeps_counts_and_kinds_never_the_customers_words(db: Path) -> None:
    call_id = save_call(with_words(STORY), "analyze call.flac")
    (text,) = stored_json(db)
    kept = json.loads(text)
    assert QUOTE not in text and QUOTE.encode() not in db.read_bytes()
    # the budget's verdict stays: numbers, a bool and a fixed label (the deepen cue
    # fell due while the rep spoke on for 8 s, waited 5 s for a pause, and was dropped)
    assert [set(n) for n in kept["nudges"]] == [
        {"t", "kind", "heeded", "shown"},
        {"t", "kind", "heeded", "shown", "held_s", "hidden"},
    ]
    assert kept["nudges"][1]["hidden"] == "stale"
    assert kept["rep"]["acknowledgement_words"] == 7
    assert kept["customer"]["acknowledgement_words"] == 0
    assert "backchannel_word_counts" not in kept["rep"]
    assert kept["filler_words"] == {"rep": 3, "customer": 1}
    assert (kept["questions"], kept["summaries"]) == (3, 1)
    # read back, each nudge says what its kind says
    shown = get_call(call_id)
    assert [n["text"] for n in shown["nudges"]] == [
        nudge_text("acknowledge", "en"),
        nudge_text("deepen", "en"),
    ]


def test_show_and_export_rebuild_nudge_texts_from_their_kind(tmp_path: Path) -> None:
    call_id = save_call(with_words(STORY), "live")
    config = tmp_path / "de.toml"
    config.write_text('[coach]\nlanguage = "de"\n', encoding="utf-8")
    code, out, _ = coach("history", "show", str(call_id), "--json")
    assert code == 0 and QUOTE not in out
    deepen = [n for n in json.loads(out)["nudges"] if n["kind"] == "deepen"]
    assert [n["text"] for n in deepen] == [nudge_text("deepen", "en")]
    code, out, _ = coach("history", "show", str(call_id), "--json", "--config", str(config))
    deepen = [n for n in json.loads(out)["nudges"] if n["kind"] == "deepen"]
    assert [n["text"] for n in deepen] == [nudge_text("deepen", "de")]
    code, out, _ = coach("history", "show", str(call_id))
    assert code == 0 and "interesting point" in out and QUOTE not in out
    code, _, _ = coach("history", "export", "--csv", str(tmp_path / "calls.csv"))
    assert code == 0 and QUOTE not in (tmp_path / "calls.csv").read_text()


# What coach wrote before it scrubbed words: schema version 2, written out here by hand so
# the test does not lean on the migrations it checks.
V2_SCHEMA = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, saved_at TEXT NOT NULL,
    source TEXT NOT NULL, duration_s REAL NOT NULL, talk_ratio REAL,
    longest_story_s REAL NOT NULL, longest_monologue_s REAL NOT NULL, patience_s REAL,
    interactivity_per_min REAL, nudges INTEGER NOT NULL, heed_rate REAL,
    stats_json TEXT NOT NULL,
    interruptions INTEGER NOT NULL DEFAULT 0, backchannels INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_started_at ON calls (started_at);
PRAGMA user_version = 2;
"""


def test_upgrading_scrubs_the_words_older_versions_kept(db: Path) -> None:
    old = [with_words(STORY), with_words(PITCH)]
    old[1]["nudges"].append(
        {"t": 70.0, "kind": "deepen", "text": nudge_text("deepen", "en", QUOTE), "heeded": False}
    )
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.executescript(V2_SCHEMA)
        for stats in old:
            conn.execute(
                "INSERT INTO calls (started_at, saved_at, source, duration_s, talk_ratio, "
                "longest_story_s, longest_monologue_s, patience_s, interactivity_per_min, "
                "nudges, heed_rate, stats_json, interruptions, backchannels) VALUES "
                "('2024-03-04T10:00:00+01:00', '2024-03-04T10:02:00+01:00', 'live', ?, ?, "
                "30, 5, 1.0, 2.0, ?, 0.5, ?, 0, 0)",
                (stats["duration_s"], stats["talk_ratio"], len(stats["nudges"]), json.dumps(stats)),
            )
    conn.close()
    assert QUOTE.encode() in db.read_bytes()
    figures = "id, duration_s, talk_ratio, nudges, heed_rate"
    with sqlite3.connect(db) as conn:
        before = conn.execute(f"SELECT {figures} FROM calls").fetchall()
    conn.close()

    History().close()  # opening upgrades
    with sqlite3.connect(db) as conn:
        assert conn.execute(f"SELECT {figures} FROM calls").fetchall() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION
    raw = db.read_bytes()
    assert QUOTE.encode() not in raw and b"you know" not in raw and b"You heard" not in raw
    assert not db.with_name(DB_NAME + "-journal").exists()
    for text in stored_json(db):
        kept = json.loads(text)
        assert all("text" not in n for n in kept["nudges"])
        assert kept["rep"]["acknowledgement_words"] == 7
        assert kept["filler_words"] == {"rep": 3, "customer": 1}
    for row in list_calls():
        assert all(QUOTE not in n["text"] for n in get_call(row.id)["nudges"])
