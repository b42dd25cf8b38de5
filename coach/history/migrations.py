"""The history database's schema, as the migrations that build it (``PRAGMA user_version``).

Migration ``i`` takes a version-``i`` database to version ``i + 1``; they are
applied in order, each in its own transaction together with the version bump.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from coach.core.privacy import for_history
from coach.history.records import dumps_stats, figures, loads_stats


def _migrate_1(conn: sqlite3.Connection) -> None:
    """v1: one row per call; the trend figures as columns and the full stats JSON."""
    conn.execute(
        """
        CREATE TABLE calls (
            id                    INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at            TEXT NOT NULL,  -- ISO 8601, local time with offset
            saved_at              TEXT NOT NULL,
            source                TEXT NOT NULL,  -- "analyze FILE", "live", ...
            duration_s            REAL NOT NULL,
            talk_ratio            REAL,           -- null: nobody spoke
            longest_story_s       REAL NOT NULL,  -- customer.longest_monologue_s
            longest_monologue_s   REAL NOT NULL,  -- rep.longest_monologue_s
            patience_s            REAL,
            interactivity_per_min REAL,
            nudges                INTEGER NOT NULL,
            heed_rate             REAL,           -- heeded / nudges; null without nudges
            stats_json            TEXT NOT NULL
        )
        """
    )


def _migrate_2(conn: sqlite3.Connection) -> None:
    """v2: interruption and rep-backchannel counts as columns, backfilled from the JSON.

    The pattern for every figure added later: a new column, filled for old
    calls from the stats JSON each row keeps.
    """
    conn.execute("ALTER TABLE calls ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE calls ADD COLUMN backchannels INTEGER NOT NULL DEFAULT 0")
    conn.execute("CREATE INDEX calls_started_at ON calls (started_at)")
    for row_id, text in conn.execute("SELECT id, stats_json FROM calls").fetchall():
        f = figures(loads_stats(text))
        conn.execute(
            "UPDATE calls SET interruptions = ?, backchannels = ? WHERE id = ?",
            (f["interruptions"], f["backchannels"], row_id),
        )


def _migrate_3(conn: sqlite3.Connection) -> None:
    """v3: the words older versions kept (nudge texts quoting the customer, acknowledgement
    and filler word lists) are scrubbed from every row; ``secure_delete`` zeroes the old bytes.
    """
    for row_id, text in conn.execute("SELECT id, stats_json FROM calls").fetchall():
        clean = for_history(loads_stats(text))
        conn.execute("UPDATE calls SET stats_json = ? WHERE id = ?", (dumps_stats(clean), row_id))


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_1,
    _migrate_2,
    _migrate_3,
)
"""Migration ``i`` takes a version-``i`` database to version ``i + 1``; append only."""

CURRENT_VERSION = len(MIGRATIONS)
