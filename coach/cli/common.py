"""What every command shares: how a user error ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from coach.errors import CoachError


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a CoachError into one line on stderr and exit status 2."""
    try:
        yield
    except CoachError as e:
        typer.echo(f"coach: {e}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("coach: interrupted", err=True)
        raise typer.Exit(130) from None
