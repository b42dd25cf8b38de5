"""The package's boundary: coach/core is pure and runs on audio time.

Everything in ``coach.core`` computes on samples and milliseconds of audio; the
edges (``audio``, ``live``, ``ui``, ``cli``, ``history``, ``transcription``) open
devices, start threads, draw on the terminal and touch files. Read from the
source, so an import inside a function counts as much as one at the top; an
import under ``if TYPE_CHECKING:`` (annotations only) does not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import coach.core

CORE = Path(coach.core.__file__).parent

FORBIDDEN = {
    # threads and processes: the core is driven, it never runs on its own
    "threading": "threads",
    "_thread": "threads",
    "multiprocessing": "processes",
    "concurrent": "threads",
    "queue": "threads",
    "asyncio": "an event loop",
    "subprocess": "processes",
    "signal": "signals",
    # the wall clock: the core's time is audio time
    "time": "the wall clock",
    "datetime": "the wall clock",
    # devices and the sound server
    "sounddevice": "audio devices",
    "coach.audio": "audio devices and files",
    # the terminal and the command line
    "rich": "the terminal",
    "typer": "the command line",
    "click": "the command line",
    "coach.ui": "the terminal",
    "coach.cli": "the command line",
    "coach.live": "the live loop",
    # files
    "io": "files",
    "os": "files and the environment",
    "pathlib": "files",
    "shutil": "files",
    "tempfile": "files",
    "glob": "files",
    "sqlite3": "files",
    "soundfile": "files",
    "platformdirs": "files",
    "coach.history": "the history database",
    # the transcript stage's worker thread and model store
    "coach.transcription": "threads and model files",
}

# The debts left, each named: whoever pays one removes its line.
ALLOWED = {
    # finds and loads the Silero ONNX model once per process (and switches off
    # onnxruntime's telemetry files through the environment)
    ("silero_vad.py", "os"),
    ("silero_vad.py", "pathlib"),
    # builds the optional transcript stage when the caller passes a transcriber
    ("pipeline.py", "coach.transcription"),
}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str) -> list[tuple[int, str]]:
    """Every module a source imports at run time (line, dotted name); also ``open()`` calls."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for stmt in node.orelse:
                visit(stmt)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from coach import audio` names the subpackage in the alias
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "open"
        ):
            found.append((node.lineno, "io"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def violations(name: str, source: str) -> list[str]:
    out: dict[tuple[int, str], str] = {}  # one line per import statement and boundary
    for line, module in imports_of(source):
        for banned, what in FORBIDDEN.items():
            hit = module == banned or module.startswith(banned + ".")
            if hit and (name, banned) not in ALLOWED:
                message = f"coach/core/{name}:{line} imports {module} ({what})"
                out.setdefault((line, banned), message)
    return list(out.values())


def test_the_core_touches_no_threads_clock_devices_terminal_or_files() -> None:
    paths = sorted(CORE.glob("*.py"))
    found = [v for path in paths for v in violations(path.name, path.read_text())]
    assert not found, "\n".join(found)


def test_every_allowed_exception_is_still_needed() -> None:
    """An exception nobody uses any more goes from the list."""
    unused = []
    for name, banned in sorted(ALLOWED):
        modules = [m for _, m in imports_of((CORE / name).read_text())]
        if not any(m == banned or m.startswith(banned + ".") for m in modules):
            unused.append(f"{name}: {banned}")
    assert not unused, f"no longer imported, remove from ALLOWED: {unused}"


def test_the_check_sees_imports_anywhere_in_a_module() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from rich.text import Text\n"  # annotations only: fine
        "def f():\n"
        "    import threading\n"
        "    from coach.audio.capture import LiveCapture\n"
        "    return open('x')\n"
    )
    assert violations("example.py", source) == [
        "coach/core/example.py:5 imports threading (threads)",
        "coach/core/example.py:6 imports coach.audio.capture (audio devices and files)",
        "coach/core/example.py:7 imports io (files)",
    ]
