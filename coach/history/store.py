"""The local call history: one SQLite row per call, statistics only (never audio, never words).

After each call (``coach analyze`` or a live session) its ``coach.stats/1``
object is stored in ``history.sqlite3`` in the user's data directory
(platformdirs ``user_data_dir("coach")``; the environment variable
``COACH_DATA_DIR`` names another folder). Each row keeps the stats JSON in
the form :func:`coach.core.privacy.for_history` gives -- numbers and fixed labels,
no nudge text, no quote, no word list -- plus the figures ``coach history``
draws trends from as columns. Nudge texts are rebuilt from their kind when a
call is read back (:meth:`History.get_call`).

Guarantees:

- **Private.** The folder is created ``0700`` and the database file ``0600``
  (created with ``os.open(..., 0o600)`` and tightened with ``chmod`` if it was
  looser); SQLite gives its rollback journal the database's mode.
  ``secure_delete`` is on, so deleted calls are overwritten, not just unlinked.
- **Atomic.** One transaction per call (``BEGIN IMMEDIATE`` … ``COMMIT``) in
  rollback-journal mode: a process killed mid-write leaves a hot journal that
  SQLite rolls back on the next open, never a half-written row.
- **Versioned.** ``PRAGMA user_version`` is the schema version; ``MIGRATIONS``
  are applied in order, each in its own transaction together with the version
  bump. A database from a newer coach is refused, never touched. Version 3
  scrubs what older versions kept of a call's words from every stored row.
- **Self-healing.** A file that is not SQLite, or fails ``PRAGMA quick_check``,
  is moved aside as ``history.sqlite3.corrupt-YYYYmmdd-HHMMSS`` (one line on
  stderr) and a new database is started; nothing else is lost.

Every failure a user can cause or fix (an unwritable folder, a locked or
too-new database, an unknown call id, an unwritable export path) is a
:class:`~coach.errors.CoachError`.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from platformdirs import user_data_dir

from coach.core.privacy import fixed_nudge_texts, for_history
from coach.errors import CoachError
from coach.history.migrations import CURRENT_VERSION, MIGRATIONS
from coach.history.records import (
    COLUMNS,
    CallRow,
    dumps_stats,
    figures,
    iso,
    loads_stats,
    now,
    values,
)

__all__ = [
    "COLUMNS",
    "CURRENT_VERSION",
    "DB_NAME",
    "ENV_VAR",
    "MIGRATIONS",
    "CallRow",
    "History",
    "delete_all",
    "delete_call",
    "export_csv",
    "get_call",
    "history_path",
    "list_calls",
    "save_call",
    "try_save_call",
    "values",
]

ENV_VAR = "COACH_DATA_DIR"
"""Environment variable naming the folder of the history database (tests, portable use)."""

DB_NAME = "history.sqlite3"
STATS_SCHEMA_PREFIX = "coach.stats/"

_BUSY_TIMEOUT_S = 10.0
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_before_commit: Callable[[], None] | None = None
"""Test hook: called inside :meth:`History.save_call`'s transaction, after the
row is inserted and before it is committed (to kill a process mid-write)."""


def history_path() -> Path:
    """Where the history database lives: ``$COACH_DATA_DIR`` or the platform's data dir."""
    folder = os.environ.get(ENV_VAR) or user_data_dir("coach", appauthor=False)
    return Path(folder).expanduser() / DB_NAME


# --------------------------------------------------------------------------- database


def _is_corrupt(e: sqlite3.DatabaseError) -> bool:
    """True for "not a database" / "malformed", False for locked, read-only, I/O, ..."""
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    msg = str(e).lower()  # Python 3.10: no error codes on the exception
    return "not a database" in msg or "malformed" in msg


def _stderr_line(message: str) -> None:
    print(f"coach: {message}", file=sys.stderr, flush=True)


class History:
    """The history database at ``path`` (default: :func:`history_path`), opened and checked.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, path: Path | None = None, *, warn: Callable[[str], None] = _stderr_line
    ) -> None:
        self.path = Path(path) if path is not None else history_path()
        self.warn = warn
        self.conn = self._open()

    # -- opening

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect_checked()
        except _Corrupt as bad:
            aside = self._move_aside()
            self.warn(
                f"the history database {self.path} was damaged ({bad}); moved it to "
                f"{aside.name} and started a new one"
            )
            conn = self._connect_checked()
        try:
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_checked(self) -> sqlite3.Connection:
        self._create_private()
        try:
            conn = sqlite3.connect(str(self.path), timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise CoachError(f"can't open the history database {self.path}: {e}") from None
        try:
            check = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            if check != ["ok"]:
                raise _Corrupt(f"integrity check: {'; '.join(map(str, check[:3]))}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            conn.close()
            if _is_corrupt(e):
                raise _Corrupt(str(e)) from None
            raise CoachError(f"can't read the history database {self.path}: {e}") from None
        except BaseException:
            conn.close()
            raise
        if version > CURRENT_VERSION:
            conn.close()
            raise CoachError(
                f"the history database {self.path} is from a newer coach (schema {version}, "
                f"this one knows {CURRENT_VERSION}): upgrade coach, or pass --no-history"
            )
        return conn

    def _create_private(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
        except OSError as e:
            reason = e.strerror or str(e)
            raise CoachError(
                f"can't create the history database {self.path}: {reason} "
                f"(set {ENV_VAR} to another folder, or pass --no-history)"
            ) from None

    def _move_aside(self) -> Path:
        stamp = now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.path, aside)
            # A journal left beside it belongs to the damaged file: applying it to
            # the new database would corrupt that one too.
            for suffix in ("-journal", "-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, aside.with_name(aside.name + suffix))
        except OSError as e:
            raise CoachError(
                f"the history database {self.path} is damaged and can't be moved aside: "
                f"{e.strerror or e}"
            ) from None
        return aside

    def _migrate(self, conn: sqlite3.Connection) -> None:
        while True:
            with self._transaction(conn):
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version >= CURRENT_VERSION:
                    return
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1:d}")

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection | None = None) -> Iterator[None]:
        """One write transaction; any error rolls it back, SQLite errors become CoachError."""
        c = conn if conn is not None else self.conn
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise CoachError(f"history database {self.path}: {e}") from None
        try:
            yield
            c.execute("COMMIT")
        except BaseException as e:
            if c.in_transaction:
                c.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise CoachError(f"history database {self.path}: {e}") from None
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the API

    def save_call(
        self, stats: dict[str, Any], source: str, *, started_at: datetime | None = None
    ) -> int:
        """Store one call's stats; return its id. ``started_at`` defaults to now − duration."""
        if not isinstance(stats, dict) or not str(stats.get("schema", "")).startswith(
            STATS_SCHEMA_PREFIX
        ):
            raise CoachError("not a coach.stats object; nothing saved to the history")
        fig = figures(stats)
        saved = now()
        started = started_at or saved - timedelta(seconds=fig["duration_s"])
        text = dumps_stats(for_history(stats))
        with self._transaction():
            cur = self.conn.execute(
                """
                INSERT INTO calls (started_at, saved_at, source, duration_s, talk_ratio,
                    longest_story_s, longest_monologue_s, patience_s, interactivity_per_min,
                    nudges, heed_rate, interruptions, backchannels, stats_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    iso(started),
                    iso(saved),
                    str(source),
                    fig["duration_s"],
                    fig["talk_ratio"],
                    fig["longest_story_s"],
                    fig["longest_monologue_s"],
                    fig["patience_s"],
                    fig["interactivity_per_min"],
                    fig["nudges"],
                    fig["heed_rate"],
                    fig["interruptions"],
                    fig["backchannels"],
                    text,
                ),
            )
            if _before_commit is not None:
                _before_commit()
        row_id = cur.lastrowid
        assert row_id is not None
        return row_id

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM calls").fetchone()[0])

    def list_calls(self, limit: int | None = None) -> list[CallRow]:
        """The most recent calls, newest first (all of them when ``limit`` is None)."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM calls ORDER BY id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, int(limit)),)
        try:
            return [CallRow(*r) for r in self.conn.execute(sql, params).fetchall()]
        except sqlite3.Error as e:
            raise CoachError(f"history database {self.path}: {e}") from None

    def get_call(self, call_id: int, language: str = "en") -> dict[str, Any]:
        """The stored ``coach.stats/1`` object of one call, its nudge texts rebuilt from
        their kind in ``language``."""
        row = self.conn.execute(
            "SELECT stats_json FROM calls WHERE id = ?", (int(call_id),)
        ).fetchone()
        if row is None:
            raise _unknown(call_id)
        return fixed_nudge_texts(loads_stats(row[0]), language)

    def all_stats(self) -> list[tuple[int, dict[str, Any]]]:
        """Every call's stored stats (numbers and fixed labels), oldest first."""
        try:
            rows = self.conn.execute("SELECT id, stats_json FROM calls ORDER BY id").fetchall()
        except sqlite3.Error as e:
            raise CoachError(f"history database {self.path}: {e}") from None
        return [(int(i), loads_stats(text)) for i, text in rows]

    def get_row(self, call_id: int) -> CallRow:
        row = self.conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM calls WHERE id = ?", (int(call_id),)
        ).fetchone()
        if row is None:
            raise _unknown(call_id)
        return CallRow(*row)

    def delete_call(self, call_id: int) -> None:
        with self._transaction():
            cur = self.conn.execute("DELETE FROM calls WHERE id = ?", (int(call_id),))
            if cur.rowcount == 0:
                raise _unknown(call_id)

    def delete_all(self) -> int:
        """Delete every call; return how many there were."""
        with self._transaction():
            return int(self.conn.execute("DELETE FROM calls").rowcount)

    def export_csv(self, path: Path | str) -> int:
        """Write every call's figures (oldest first) as CSV; return the number of rows."""
        rows = list(reversed(self.list_calls()))
        target = Path(path).expanduser()
        if target.is_dir():
            raise CoachError(f"can't write {target}: it is a directory; give a file name")
        try:
            with open(target, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(COLUMNS)
                for r in rows:
                    cells = (getattr(r, c) for c in COLUMNS)
                    writer.writerow(["" if v is None else v for v in cells])
        except OSError as e:
            raise CoachError(f"can't write {target}: {e.strerror or e}") from None
        return len(rows)


class _Corrupt(Exception):
    """The database file is not SQLite or fails its integrity check."""


def _unknown(call_id: int) -> CoachError:
    return CoachError(f"no call with id {call_id} in the history (see `coach history`)")


# --------------------------------------------------------------------------- one-shot API


def save_call(
    stats: dict[str, Any],
    source: str,
    *,
    started_at: datetime | None = None,
    path: Path | None = None,
) -> int:
    """Store one call's ``coach.stats/1`` object in the history; return its id."""
    with History(path) as h:
        return h.save_call(stats, source, started_at=started_at)


def try_save_call(
    stats: dict[str, Any],
    source: str,
    *,
    started_at: datetime | None = None,
    path: Path | None = None,
    err: TextIO | None = None,
) -> int | None:
    """:func:`save_call` for the end of a call: a failure is one warning line, not an error.

    The call's output has already been printed; losing its history row must
    not turn a good analysis into a failed command.
    """
    try:
        return save_call(stats, source, started_at=started_at, path=path)
    except CoachError as e:
        print(f"coach: warning: call not saved to the history: {e}", file=err or sys.stderr)
        return None


def list_calls(limit: int | None = 20, *, path: Path | None = None) -> list[CallRow]:
    with History(path) as h:
        return h.list_calls(limit)


def get_call(call_id: int, *, path: Path | None = None, language: str = "en") -> dict[str, Any]:
    with History(path) as h:
        return h.get_call(call_id, language)


def delete_call(call_id: int, *, path: Path | None = None) -> None:
    with History(path) as h:
        h.delete_call(call_id)


def delete_all(*, path: Path | None = None) -> int:
    with History(path) as h:
        return h.delete_all()


def export_csv(target: Path | str, *, path: Path | None = None) -> int:
    with History(path) as h:
        return h.export_csv(target)
