"""`coach models`: which transcription models are installed, and where.

Register on the main app with ``app.command("models")(models_command)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from coach.cli.common import user_errors
from coach.config import Config, load_config, model_name, speech_language

if TYPE_CHECKING:
    from coach.transcription.model_store import ModelInfo

DEFAULTS_WHY = (
    'Defaults (transcribe.model = ""): tiny.en for English -- on espeak test calls as '
    "few word errors as base (9.8 % vs 10.2 %) and the same questions, at half the CPU; "
    "base for German and other languages (tiny.en knows only English)."
)


def _size(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def models_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (TOML); see `coach config path`."),
    ] = None,
) -> None:
    """List the installed transcription models, the folders searched, and the one in use.

    `make models` installs faster-whisper tiny.en, the default for English;
    `make models MODEL=base` the multilingual base, the default for German
    (coach.language = "de").
    """
    # numpy and the model store load only when this command runs, not on every `coach` start
    from coach.transcription.model_store import installed_models, model_dirs, resolve_model

    with user_errors():
        cfg = load_config(config, None).config
        console = Console()
        _print_installed(console, installed_models())
        console.print(DEFAULTS_WHY, highlight=False)
        console.print("Folders searched for model names, in order:")
        for where, folder in model_dirs():
            state = "" if folder.is_dir() else " (does not exist)"
            console.print(f"  {where}: {folder}{state}", highlight=False)
        _print_in_use(console, cfg, resolve_model(model_name(cfg)))


def _print_installed(console: Console, models: list[ModelInfo]) -> None:
    if not models:
        console.print(
            "No transcription model installed: run `make models` (tiny.en, English) or "
            "`make models MODEL=base` (multilingual, German)."
        )
        return
    table = Table(title="Transcription models", title_justify="left")
    for col in ("name", "where", "path", "size", "checksum"):
        table.add_column(col, overflow="fold")
    for m in models:
        checked = {"verified": "sha256 verified", "known": "checked when loaded", "": "—"}
        table.add_row(m.name, m.where, str(m.path), _size(m.size_bytes), checked[m.checked])
    console.print(table)


def _print_in_use(console: Console, cfg: Config, used: Path | None) -> None:
    """Which model transcribes, with its language and budget, or why none does."""
    tc, name = cfg.transcribe, model_name(cfg)
    if not tc.enabled:
        console.print("Transcription is off (transcribe.enabled = false).")
    elif used is None:
        console.print(
            f"transcribe.model = {name!r} is not installed: the coach runs on VAD alone.",
            highlight=False,
        )
    else:
        console.print(
            f"In use: transcribe.model = {name!r} → {used} "
            f"(language {speech_language(cfg)!r}, threads {tc.threads}, beam {tc.beam_size})",
            highlight=False,
        )
