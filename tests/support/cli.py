"""The ``coach`` command run in-process, as a user meets it."""

from __future__ import annotations

from typer.testing import CliRunner

from coach.cli.app import app

runner = CliRunner()


def coach(*args: str, input: str | None = None) -> tuple[int, str, str]:
    """``coach ARGS``: (exit status, stdout, stderr). ``analyze`` runs without
    transcription, which is tested on its own (tests/test_transcribe.py)."""
    argv = [*args, "--no-transcribe"] if args and args[0] == "analyze" else list(args)
    result = runner.invoke(app, argv, input=input)
    return result.exit_code, result.stdout, result.stderr


def assert_user_error(args: list[str], *words: str, input: str | None = None) -> None:
    """Bad input: exit status 2 and one line ``coach: ...`` holding ``words``, no traceback."""
    code, out, err = coach(*args, input=input)
    assert code == 2, (code, out, err)
    # exactly one line, no traceback
    assert err.startswith("coach: ") and err.endswith("\n") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err
