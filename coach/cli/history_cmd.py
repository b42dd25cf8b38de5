"""`coach history`: recent calls and trends, one call's report, export and delete.

- ``coach history [--limit N] [--json]``: the recent calls in a table, then a
  trend per figure (talk ratio, longest customer story, patience, nudges
  heeded) with a sparkline, oldest to newest, and earlier vs recent calls.
  Then the newest call against the rep's baseline (the median of the last
  ``history.baseline_calls`` calls of its call type) with a trend line per
  figure, the best call and the most improved figure.
- ``coach history effect [--json]``: coached against silent control calls
  (``coach.control_every``), with counts and 95 % intervals.
- ``coach history show ID [--json]``: the post-call report of one call.
- ``coach history export --csv PATH``: every call's figures as CSV.
- ``coach history delete ID`` / ``--all``: asks first unless ``--yes``; with no
  input to ask on (no stdin) it needs ``--yes``.
- ``coach history path``: where the database is.

Errors (unknown id, unwritable path, bad option value) are one line on stderr
and exit status 2, like every other ``coach`` command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.text import Text

from coach.cli.common import user_errors
from coach.cli.history_views import (
    FIGURES,
    baseline_view,
    calls_table,
    effect_view,
    history_json,
    trends_table,
    when,
)
from coach.config import load_config
from coach.errors import CoachError
from coach.history import coaching
from coach.history.store import CallRow, History, history_path
from coach.ui.report import ReportTargets, fmt_time, render_report

history_app = typer.Typer(
    help="Your past calls (statistics only): recent calls and trends, show, export, delete.",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _parse_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise CoachError(
            f"a call ID is a positive whole number (see `coach history`), got {text!r}"
        )
    return value


# --------------------------------------------------------------------------- commands


@history_app.callback(invoke_without_command=True)
def recent(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="How many recent calls to show and trend.")
    ] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the calls and trends as one JSON object.")
    ] = False,
) -> None:
    """Recent calls and how your figures trend (statistics only; audio is never kept)."""
    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        if limit < 1:
            raise CoachError(f"--limit must be at least 1, got {limit}")
        with History() as h:
            rows, total, path = h.list_calls(limit), h.count(), h.path
            stored = h.all_stats()
        calls, ids = [stats for _, stats in stored], [i for i, _ in stored]
        n = load_config().config.history.baseline_calls
        extra: list[Group | Text] = []
        base: dict[str, Any] | None = None
        if calls:
            view, base = baseline_view(calls, ids, n)
            extra = [Text(""), view]
        if as_json:
            out = history_json(rows, total, path)
            out["baseline"] = base
            sys.stdout.write(json.dumps(out) + "\n")
            return
        if not rows:
            Console().print(
                "No calls in your history yet: `coach analyze CALL` and `coach start` "
                "save each call's statistics here."
            )
            return
        Console().print(_recent_view(rows, total, path, extra))


def _recent_view(rows: list[CallRow], total: int, path: Path, extra: list[Group | Text]) -> Group:
    """The recent calls, their legend and trends, then ``extra`` (the baseline view)."""
    shown = f"the last {len(rows)} of {total}" if total > len(rows) else f"all {total}"
    return Group(
        Text.assemble(("Call history", "bold"), f" · {shown} calls · ", (str(path), "dim")),
        calls_table(rows),
        Text(
            "Talk: your share of the talking · Story: the customer's longest "
            "monologue · Patience: your mean pause before answering · Heeded: "
            "nudges you followed",
            "dim",
        ),
        Text(""),
        trends_table(rows),
        Text("Better: " + ", ".join(f.note for f in FIGURES) + ".", "dim"),
        *extra,
        Text("`coach history show ID` prints a call's report.", "dim"),
    )


@history_app.command()
def effect(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as one JSON object.")
    ] = False,
) -> None:
    """Coached against silent control calls (coach.control_every): does the coach help?"""
    with user_errors():
        with History() as h:
            calls = [stats for _, stats in h.all_stats()]
        result = coaching.effect(calls, load_config().config.history.min_effect_calls)
        if as_json:
            sys.stdout.write(json.dumps(result) + "\n")
            return
        Console().print(effect_view(result))


@history_app.command()
def show(
    call_id: Annotated[str, typer.Argument(metavar="ID", help="The call's # in `coach history`.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored coach.stats/1 object instead.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file whose targets the report uses."),
    ] = None,
) -> None:
    """The post-call report of one call from the history (nudge texts rebuilt from their kind)."""
    with user_errors():
        cfg = load_config(config, None).config
        with History() as h:
            stats = h.get_call(_parse_id(call_id), cfg.coach.language)
        if as_json:
            sys.stdout.write(json.dumps(stats) + "\n")
            return
        targets = ReportTargets(
            talk_ratio_max=cfg.nudges.talk_ratio_max,
            rep_monologue_max_s=cfg.nudges.rep_monologue_max_s,
            heed_window_s=cfg.nudges.heed_window_s,
        )
        Console().print(render_report(stats, targets))


@history_app.command()
def export(
    csv_path: Annotated[
        Path | None, typer.Option("--csv", metavar="PATH", help="Write the calls as CSV here.")
    ] = None,
) -> None:
    """Export every call's figures (oldest first), e.g. for a spreadsheet."""
    with user_errors():
        if csv_path is None:
            raise CoachError("say where to write: coach history export --csv PATH")
        with History() as h:
            n = h.export_csv(csv_path)
        typer.echo(f"Wrote {n} call{'s' if n != 1 else ''} to {csv_path}", err=True)


def _confirm(question: str) -> bool:
    """Ask on stdin (default no); with nothing to ask on, refuse: the caller must pass --yes."""
    refusal = CoachError("deleting needs confirmation and there is no input to ask on: pass --yes")
    if sys.stdin is None or sys.stdin.closed:
        raise refusal
    typer.echo(f"{question} [y/N]: ", nl=False)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    if not answer:  # end of input: no one to ask
        typer.echo("")
        raise refusal
    return answer.strip().lower() in ("y", "yes")


@history_app.command()
def delete(
    call_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="The call's # in `coach history`.")
    ] = None,
    all_calls: Annotated[bool, typer.Option("--all", help="Delete every call.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask for confirmation.")] = False,
) -> None:
    """Delete one call, or every call with --all (asks first unless --yes)."""
    with user_errors():
        if (call_id is None) == (not all_calls):
            raise CoachError("say what to delete: coach history delete ID, or --all")
        with History() as h:
            if all_calls:
                n = h.count()
                if n == 0:
                    typer.echo("The history is already empty.")
                    return
                question = f"Delete all {n} call{'s' if n != 1 else ''} from the history?"
                if not yes and not _confirm(question):
                    typer.echo("Nothing deleted.")
                    return
                n = h.delete_all()
                typer.echo(f"Deleted {n} call{'s' if n != 1 else ''}.")
            else:
                assert call_id is not None
                row = h.get_row(_parse_id(call_id))
                question = (
                    f"Delete call {row.id} ({when(row.saved_at)}, {row.source}, "
                    f"{fmt_time(row.duration_s)})?"
                )
                if not yes and not _confirm(question):
                    typer.echo("Nothing deleted.")
                    return
                h.delete_call(row.id)
                typer.echo(f"Deleted call {row.id}.")


@history_app.command("path")
def path_cmd() -> None:
    """Print where the history database is (set COACH_DATA_DIR to move it)."""
    typer.echo(str(history_path()))
