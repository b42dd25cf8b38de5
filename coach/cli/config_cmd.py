"""`coach config init | show | path`: write, inspect and locate the config file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from coach.config import (
    PRESETS,
    config_values,
    default_config_path,
    load_config,
    render_config_toml,
    toml_value,
)
from coach.errors import CoachError

config_app = typer.Typer(
    help="Write, inspect and locate the config file (TOML; every key is optional).",
    no_args_is_help=True,
)


def _fail(error: CoachError | str) -> NoReturn:
    """One line on stderr, exit status 2: how every user error ends."""
    typer.echo(f"coach: {error}", err=True)
    raise typer.Exit(2)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@config_app.command()
def init(
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Write here instead of the default location."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config file: every key at its default, with its reason and source."""
    target = (path or default_config_path()).expanduser()
    if target.is_dir():
        _fail(f"{target} is a directory; give a file path such as {target / 'config.toml'}")
    if target.exists() and not force:
        _fail(f"{target} already exists; add --force to overwrite it, or --path to write elsewhere")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, render_config_toml())
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror or exc}")
    typer.echo(f"Wrote {target}")
    typer.echo(
        "Every key is commented out at its default; uncomment a line to change it, "
        "then check with `coach config show`."
    )


@config_app.command()
def show(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Config file to read (default: `coach config path`)."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", help=f"Call-type preset: {', '.join(PRESETS)}."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {key: {value, source}} as JSON.")
    ] = False,
) -> None:
    """Print the effective value of every key and where it came from."""
    try:
        loaded = load_config(config, preset)
    except CoachError as exc:
        _fail(exc)
    values = config_values(loaded.config)
    if as_json:
        payload = {
            name: {"value": value, "source": loaded.sources[name]} for name, value in values.items()
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return

    console = Console(highlight=False)
    if loaded.path is not None:
        console.print(f"config file: {loaded.path}", markup=False)
    else:
        console.print(
            f"config file: none ({default_config_path()} does not exist; "
            "`coach config init` writes it)",
            markup=False,
        )
    if loaded.preset:
        console.print(f"preset: {loaded.preset} ({PRESETS[loaded.preset].why})", markup=False)
    table = Table("key", "value", "source", box=None, pad_edge=False)
    for name, value in values.items():
        source = loaded.sources[name]
        table.add_row(
            name, toml_value(value), source, style=None if source == "default" else "bold"
        )
    console.print(table)


@config_app.command("path")
def path_cmd() -> None:
    """Print where the config file is read from (and whether it exists)."""
    target = default_config_path()
    typer.echo(str(target))
    if target.is_file():
        typer.echo("(exists)", err=True)
    else:
        typer.echo(
            "(does not exist yet: the defaults apply; `coach config init` writes it)", err=True
        )
