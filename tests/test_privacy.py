"""Privacy, proven: `coach analyze` writes no audio, opens no socket, keeps only its history.

What may be written (shared/notes/clarifications.md, "Privacy"): the history
database and its journal, the config file when asked, files the user names, a
corrupt database moved aside. Never audio. Sockets: only the sound server's and
the session bus (live sessions); `coach analyze` needs none at all.

Each command runs in a fresh process with a temporary HOME, data dir
(``COACH_DATA_DIR``), TMPDIR and working directory, watched three ways:

1. a Python audit hook (``sys.addaudithook``, installed before ``coach`` is
   imported): ``open`` with write flags, ``os.*``/``shutil``/``tempfile`` writes,
   ``sqlite3.connect``, every ``socket.*`` event, and process spawns;
2. ``strace -f`` on the whole process tree: ``%file`` and ``%network`` syscalls,
   so C libraries and child processes can't slip past the hook;
3. the temporary folders themselves, compared before and after.

The helpers take any ``coach`` argv and a socket allow-list, so the live
session's variant (on the virtual sound devices) reuses them with the sound
server's socket allowed.

What is written is read too: at the defaults (transcription on, the real
model), a cut of a real-voice call from ``../shared/eval/real`` must leave no
word of its transcript (taken by ``--save-transcript`` in a run of its own) in
any file written, in any process's argv or on stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner

from coach.cli.app import app
from tests.support.synth import make_call, write_call

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "history.sqlite3"
AUDIO_SUFFIXES = {
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".aac",
    ".aiff",
    ".aif",
    ".au",
    ".raw",
    ".pcm",
    ".webm",
    ".caf",
    ".w64",
    ".rf64",
}

# --------------------------------------------------------------------------- what we watch


@dataclass(frozen=True)
class SocketUse:
    """One socket operation: what (``socket``, ``connect``, ``bind``, …), family, address."""

    op: str
    family: str
    address: str


@dataclass
class Trace:
    """What one process tree did to the file system and the network."""

    written: set[Path] = field(default_factory=set)  # opened for writing, created, renamed to
    removed: set[Path] = field(default_factory=set)  # unlinked, renamed from
    dirs_made: set[Path] = field(default_factory=set)
    sockets: list[SocketUse] = field(default_factory=list)
    spawned: list[str] = field(default_factory=list)
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


_S = TypeVar("_S", bound="Sandbox")  # make() returns a subclass as itself


@dataclass(frozen=True)
class Sandbox:
    """Fresh folders for one run; everything the process could write by default is in here."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    @property
    def history_db(self) -> Path:
        return self.data / DB_NAME

    def make(self: _S) -> _S:
        for d in (self.home, self.tmp, self.cwd):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "COACH_"))}
        return keep | {
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "COACH_DATA_DIR": str(self.data),
            "PYTHONDONTWRITEBYTECODE": "1",  # no .pyc writes muddying the picture
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
        }

    def files(self) -> set[Path]:
        return {p for p in self.root.rglob("*") if p.is_file()}


AUDIT_RUNNER = textwrap.dedent(
    r"""
    import json, os, sys

    log = open(sys.argv.pop(1), "w")  # opened before the hook: not an event
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    WRITES = {"os.truncate", "os.link", "os.symlink", "shutil.copyfile", "shutil.copytree",
              "shutil.move", "shutil.make_archive", "tempfile.mkstemp"}
    REMOVES = {"os.remove", "os.rmdir", "shutil.rmtree"}
    SPAWNS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
              "os.fork", "os.forkpty", "pty.spawn")
    events = []

    def path(p):
        return os.fsdecode(p) if isinstance(p, (str, bytes, os.PathLike)) else repr(p)

    def hook(event, args):
        if event == "open":
            file, mode, flags = args
            writing = (isinstance(flags, int) and flags & WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writing:
                events.append(["write", path(file)])
        elif event == "sqlite3.connect":
            events.append(["write", path(args[0])])
        elif event == "os.rename":
            events.append(["remove", path(args[0])])
            events.append(["write", path(args[1])])
        elif event in WRITES:
            events.append(["write", path(args[-1] if event.startswith("shutil") else args[0])])
        elif event in REMOVES:
            events.append(["remove", path(args[0])])
        elif event in ("os.mkdir", "tempfile.mkdtemp"):
            events.append(["mkdir", path(args[0])])
        elif event.startswith("socket."):
            sock = args[0] if args else None
            family = getattr(getattr(sock, "family", None), "name", "?")
            events.append(["socket", event, family, repr(args[1:])[:200]])
        elif event.startswith(SPAWNS):
            events.append(["spawn", event, repr(args)])

    sys.addaudithook(hook)
    try:
        from coach.cli import main

        main()
    finally:
        json.dump(events, log)
        log.close()
    """
)


def _resolve(p: str, cwd: Path) -> Path:
    q = Path(p)
    return (q if q.is_absolute() else cwd / q).resolve()


def run_audited(argv: list[str], box: Sandbox, timeout: float = 120) -> Trace:
    """``coach ARGV`` in a subprocess under the audit hook."""
    log = box.root / "audit.json"
    run = subprocess.run(
        [sys.executable, "-c", AUDIT_RUNNER, str(log), *argv],
        cwd=box.cwd,
        env=box.env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    trace = Trace(returncode=run.returncode, stdout=run.stdout, stderr=run.stderr)
    assert log.exists(), f"the audited process died early: {run.stderr}"
    for kind, *rest in json.loads(log.read_text()):
        if kind == "write":
            trace.written.add(_resolve(rest[0], box.cwd))
        elif kind == "remove":
            trace.removed.add(_resolve(rest[0], box.cwd))
        elif kind == "mkdir":
            trace.dirs_made.add(_resolve(rest[0], box.cwd))
        elif kind == "socket":
            trace.sockets.append(SocketUse(rest[0].removeprefix("socket."), rest[1], rest[2]))
        elif kind == "spawn":
            trace.spawned.append(" ".join(rest))
    log.unlink()
    return trace


# strace: `PID  name(args) = result`, possibly split into "<unfinished ...>" / "resumed" halves
# (the arguments we parse are always in the first half).
_SYSCALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)$")
_STR = r'"((?:[^"\\]|\\.)*)"'
_OPEN = re.compile(rf"^(?:AT_FDCWD|\d+(?:<[^>]*>)?), {_STR}, ([A-Z_|0-9]+)")
_OPEN_PLAIN = re.compile(rf"^{_STR}, ([A-Z_|0-9]+)")
_WRITE_FLAG = re.compile(r"\bO_(?:WRONLY|RDWR|CREAT|TRUNC|APPEND)\b")
_PATHS = re.compile(_STR)
_FAMILY = re.compile(r"\b(?:sa_family=)?(AF_[A-Z0-9]+)")


def _unescape(s: str) -> str:
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape")


def strace_unusable() -> str | None:
    """Why strace can't be used here, or None. CI must never skip (see test below)."""
    if shutil.which("strace") is None:
        return "strace is not installed (apt-get install -y strace)"
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True)
    if probe.returncode != 0:
        return f"strace can't trace here: {probe.stderr.decode(errors='replace').strip()}"
    return None


STRACE = [
    "strace",
    "-f",
    "-qq",
    "-s",
    "4096",
    "-e",
    "signal=none",
    "-e",
    "trace=%file,%network,%process",
]


def run_straced(argv: list[str], box: Sandbox, timeout: float = 120) -> Trace:
    """``coach ARGV`` in a subprocess under ``strace -f`` (file, network, process syscalls)."""
    log = box.root / "strace.log"
    run = subprocess.run(
        [
            *STRACE,
            "-o",
            str(log),
            sys.executable,
            "-c",
            "from coach.cli import main; main()",
            *argv,
        ],
        cwd=box.cwd,
        env=box.env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    trace = parse_strace_log(log, box.cwd)
    trace.returncode, trace.stdout, trace.stderr = run.returncode, run.stdout, run.stderr
    log.unlink()
    return trace


_PAYLOAD_CALL = re.compile(r"\b(?:send|recv)(?:msg|to|from|mmsg)\(")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def parse_strace_log(log: Path, cwd: Path) -> Trace:
    trace = Trace()
    execs = 0
    for line in log.read_text(errors="replace").splitlines():
        if _PAYLOAD_CALL.search(line):
            # socket payloads (PulseAudio's sendmsg/recvmsg data) are data, not paths
            line = _QUOTED.sub('""', line)
        m = _SYSCALL.match(line)
        if not m:
            continue
        name, rest = m.group(2), m.group(3)
        paths = [_resolve(_unescape(p), cwd) for p in _PATHS.findall(rest)]
        if name in ("open", "openat", "openat2", "creat"):
            o = _OPEN.match(rest) or _OPEN_PLAIN.match(rest)
            if o and (name == "creat" or _WRITE_FLAG.search(o.group(2))):
                trace.written.add(_resolve(_unescape(o.group(1)), cwd))
        elif (
            name in ("rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat")
            and paths
        ):
            trace.written.add(paths[-1])
            if name.startswith("rename"):
                trace.removed.add(paths[0])
        elif name in ("truncate", "mknod", "mknodat") and paths:
            trace.written.add(paths[0])
        elif name in ("unlink", "unlinkat", "rmdir") and paths:
            trace.removed.add(paths[0])
        elif name in ("mkdir", "mkdirat") and paths:
            trace.dirs_made.add(paths[0])
        elif name in (
            "socket",
            "socketpair",
            "connect",
            "bind",
            "sendto",
            "sendmsg",
            "listen",
            "accept",
            "accept4",
        ):
            fam = _FAMILY.search(rest)
            trace.sockets.append(SocketUse(name, fam.group(1) if fam else "?", rest[:200]))
        elif name in ("execve", "execveat"):
            execs += 1
            if execs > 1:  # the first is strace starting python itself
                trace.spawned.append(rest)  # the whole argv: it is checked for words
    return trace


def require_strace() -> None:
    """Skip with the reason when strace can't run here, except in CI, where that fails."""
    reason = strace_unusable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the strace privacy check: {reason}")
    pytest.skip(reason)


# --------------------------------------------------------------------------- the assertions


def is_semaphore(path: Path) -> bool:
    """A POSIX semaphore (``sem_open``): multiprocessing locks, e.g. tqdm's, imported with
    faster-whisper. A kernel object on tmpfs, mode 0600, unlinked at once; it holds no data."""
    return path.parent == Path("/dev/shm") and path.name.startswith("sem.")


def no_sockets(_: SocketUse) -> bool:
    return False


def assert_private(
    trace: Trace,
    box: Sandbox,
    *,
    may_write: Iterable[Path] = (),
    socket_ok: Callable[[SocketUse], bool] = no_sockets,
) -> None:
    """No audio written; nothing written but ``may_write`` (+ the history); only allowed sockets."""
    history = {box.history_db, box.history_db.with_name(DB_NAME + "-journal")}
    allowed = {p.resolve() for p in may_write} | history
    written = {p for p in trace.written if not is_semaphore(p)}
    removed = {p for p in trace.removed if not is_semaphore(p)}
    assert not [p for p in written if p.suffix.lower() in AUDIO_SUFFIXES], written
    assert written <= allowed, f"unexpected writes: {sorted(written - allowed)}"
    assert removed <= allowed, f"unexpected removals: {sorted(removed - allowed)}"
    assert trace.dirs_made <= {box.data}, f"unexpected folders: {sorted(trace.dirs_made)}"
    bad = [s for s in trace.sockets if not socket_ok(s)]
    assert not bad, f"sockets used: {bad}"
    assert not trace.spawned, f"processes started: {trace.spawned}"


def assert_only_history_left(box: Sandbox, before: set[Path]) -> None:
    """The folders hold what they held before, plus at most the history database."""
    new = box.files() - before
    assert new <= {box.history_db}, f"files left behind: {sorted(new)}"
    assert not any(box.tmp.iterdir()), list(box.tmp.iterdir())
    if box.history_db.exists():
        assert stat.S_IMODE(box.history_db.stat().st_mode) == 0o600


def history_is_wired() -> bool:
    """Whether `coach analyze` saves to the history yet (it then offers --no-history)."""
    return "--no-history" in CliRunner().invoke(app, ["analyze", "--help"]).stdout


def assert_history_saved_once(box: Sandbox, wanted: bool) -> None:
    """With history saving wired: exactly one call, statistics only (far smaller than audio)."""
    if not (wanted and history_is_wired()):
        assert not box.history_db.exists()
        return
    import sqlite3

    with sqlite3.connect(box.history_db) as conn:
        assert conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 1
    assert box.history_db.stat().st_size < 256 * 1024


# --------------------------------------------------------------------------- the tests

# Short, so the runs with transcription stay quick: privacy, not accuracy, is checked here.
CALL = make_call(15, rep=[(1, 4), (12, 14)], customer=[(5, 11)])


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path).make()


@pytest.fixture
def call(box: Sandbox) -> Path:
    return write_call(box.root / "call.flac", CALL)


def test_the_audit_hook_sees_writes_and_sockets(box: Sandbox) -> None:
    """The watcher itself works: a process that writes and connects is caught."""
    script = (
        "import socket, pathlib; pathlib.Path('leak.wav').write_bytes(b'RIFF');"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('127.0.0.1', 9))"
    )
    runner = AUDIT_RUNNER.replace("from coach.cli import main", f"main = lambda: exec({script!r})")
    log = box.root / "audit.json"
    subprocess.run([sys.executable, "-c", runner, str(log)], cwd=box.cwd, env=box.env(), check=True)
    events = json.loads(log.read_text())
    assert ["write", "leak.wav"] in events
    assert any(e[:3] == ["socket", "socket.connect", "AF_INET"] for e in events)


def transcription_missing() -> str | None:
    """Why `coach analyze` would not transcribe here, or None."""
    from coach.transcription.model_store import DEFAULT_MODEL, resolve_model

    if resolve_model(DEFAULT_MODEL) is None:
        return f"no {DEFAULT_MODEL} model installed (make models): transcription not exercised"
    return None


def transcribed(*args: str) -> object:
    """Arguments for a run with transcription on, skipped (with the reason) without a model."""
    reason = transcription_missing()
    marks = [pytest.mark.model, pytest.mark.skipif(reason is not None, reason=reason or "")]
    name = "-".join(["transcribed", *(a.lstrip("-") for a in args)])
    return pytest.param(list(args), id=name, marks=marks)


VAD_ONLY = pytest.param(["--no-transcribe"], id="vad-only")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--no-transcribe", "--json"], id="vad-only-json"),
        pytest.param(["--no-transcribe"], id="vad-only-report"),
        transcribed("--json"),
    ],
)
def test_analyze_writes_no_audio_no_transcript_no_socket_only_the_history(
    box: Sandbox, call: Path, args: list[str]
) -> None:
    before = box.files()
    trace = run_audited(["analyze", str(call), *args], box)
    assert trace.returncode == 0, trace.stderr
    assert "Traceback" not in trace.stderr
    assert_private(trace, box)
    assert_only_history_left(box, before)
    assert_history_saved_once(box, wanted=True)


@pytest.mark.model
@pytest.mark.skipif(transcription_missing() is not None, reason=transcription_missing() or "")
def test_a_transcript_is_written_only_where_the_user_asks(box: Sandbox, call: Path) -> None:
    target = box.cwd / "notes" / "call-transcript.json"
    target.parent.mkdir()
    before = box.files()
    trace = run_audited(["analyze", str(call), "--json", "--save-transcript", str(target)], box)
    assert trace.returncode == 0, trace.stderr
    assert target in trace.written and target.is_file()
    assert_private(trace, box, may_write=[target])
    assert_only_history_left(box, before | {target})


def test_analyze_with_history_off_writes_nothing_at_all(box: Sandbox, call: Path) -> None:
    config = box.root / "config.toml"
    config.write_text("[history]\nenabled = false\n")
    before = box.files()
    trace = run_audited(
        ["analyze", str(call), "--json", "--no-transcribe", "--config", str(config)], box
    )
    assert trace.returncode == 0, trace.stderr
    assert trace.written == set() and trace.dirs_made == set()
    assert_private(trace, box)
    assert box.files() == before


def test_a_failed_analyze_writes_nothing(box: Sandbox) -> None:
    broken = box.root / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    before = box.files()
    trace = run_audited(["analyze", str(broken), "--json"], box)
    assert trace.returncode == 2 and trace.stderr.startswith("coach: ")
    assert trace.written == set()
    assert_private(trace, box)
    assert box.files() == before


@pytest.mark.strace
@pytest.mark.parametrize("mode", [VAD_ONLY, transcribed()])
def test_analyze_under_strace_touches_no_network_and_writes_only_the_history(
    box: Sandbox, call: Path, mode: list[str]
) -> None:
    require_strace()
    before = box.files()
    trace = run_straced(["analyze", str(call), "--json", *mode], box)
    assert trace.returncode == 0, trace.stderr
    json.loads(trace.stdout)
    assert_private(trace, box)
    assert_only_history_left(box, before)
    assert_history_saved_once(box, wanted=True)


@pytest.mark.strace
def test_the_strace_parser_sees_writes_and_sockets(box: Sandbox) -> None:
    """The strace watcher itself works, on a process that does what coach must not."""
    require_strace()
    log = box.root / "strace.log"
    code = (
        "import socket, pathlib, os; pathlib.Path('leak.wav').write_bytes(b'RIFF');"
        "os.rename('leak.wav', 'leak2.wav');"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('127.0.0.1', 9))"
    )
    subprocess.run(
        [*STRACE, "-o", str(log), sys.executable, "-c", code],
        cwd=box.cwd,
        env=box.env(),
        check=True,
    )
    trace = parse_strace_log(log, box.cwd)
    assert box.cwd / "leak.wav" in trace.written and box.cwd / "leak2.wav" in trace.written
    assert any(s.op == "connect" and s.family == "AF_INET" for s in trace.sockets)


# --------------------------------------------------------------------------- real speech

# The real-voice calls beside the repository (read only), found at test time.
REAL_CALLS = ROOT.parent / "shared" / "eval" / "real"
# A cut of about 50 s around the call's first deepen nudge (the nudge that quotes the
# customer): privacy, not accuracy, is checked, and CI time is short.
CUT_BEFORE_S, CUT_AFTER_S = 45.0, 8.0
WORD = re.compile(r"[^\W\d_]{4,}")
"""A word of at least 4 letters."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def require_real_speech() -> None:
    """Skip without the real-voice calls or the model, except in CI, where that fails."""
    reasons = [r for r in (transcription_missing(),) if r]
    if not sorted(REAL_CALLS.glob("*.flac")):
        reasons.append(f"no real-voice calls in {REAL_CALLS}")
    if not reasons:
        return
    if in_ci():
        pytest.fail(f"CI must run the privacy tests on real speech: {'; '.join(reasons)}")
    pytest.skip("; ".join(reasons))


def words_in(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def lexicon_words() -> set[str]:
    from coach.transcription.word_lists import vocabulary

    return set(vocabulary()) | {w for v in vocabulary() for w in words_in(v)}


@dataclass(frozen=True)
class RealSpeech:
    """A cut of a real-voice call and what its transcript says."""

    call: Path
    duration_s: float
    words: frozenset[str]
    """The transcript's words of 4+ letters, less the built-in lexicon's."""
    quote: str
    """The deepen nudge's text quoting the customer (what must stay in memory)."""


def cut_real_call(out: Path) -> float:
    """The first real-voice call with a deepen nudge, cut around it; returns the cut's length."""
    import soundfile as sf

    for path in sorted(REAL_CALLS.glob("*.flac")):
        expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
        deepen = [n["t"] for n in expected["nudges"] if n["kind"] == "deepen"]
        if deepen:
            x, rate = sf.read(str(path), dtype="int16", always_2d=True)
            a = max(0.0, deepen[0] - CUT_BEFORE_S)
            clip = x[round(a * rate) : round((deepen[0] + CUT_AFTER_S) * rate)]
            sf.write(str(out), clip, rate, subtype="PCM_16")
            return len(clip) / rate
    raise AssertionError(f"no call with a deepen nudge in {REAL_CALLS}")


@pytest.fixture(scope="session")
def real_speech(tmp_path_factory: pytest.TempPathFactory) -> RealSpeech:
    """The cut, transcribed by ``--save-transcript`` in a run of its own."""
    from coach.core.nudge_text import nudge_text

    require_real_speech()
    root = tmp_path_factory.mktemp("real-speech")
    call = root / "call.flac"
    duration_s = cut_real_call(call)
    transcript = root / "transcript.json"
    done = subprocess.run(
        [sys.executable, "-c", "from coach.cli import main; main()", "analyze", str(call),
         "--json", "--no-history", "--save-transcript", str(transcript)],
        env={**os.environ, "COACH_DATA_DIR": str(root / "data"), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(u["text"] for u in json.loads(transcript.read_text())["utterances"])
    words = words_in(said) - lexicon_words()
    quoted = [
        n["text"]
        for n in json.loads(done.stdout)["nudges"]
        if n["kind"] == "deepen" and n["text"] != nudge_text("deepen", "en")
    ]
    assert len(words) >= 10 and quoted, (said, quoted)  # words in memory to keep there
    return RealSpeech(call, duration_s, frozenset(words), quoted[0])


def files_written(trace: Trace, box: Sandbox, *, besides: Iterable[Path] = ()) -> dict[str, str]:
    """What each file the run wrote (and each file in the sandbox) holds now, as text."""
    skip = {p.resolve() for p in besides}
    paths = box.files() | {p for p in trace.written if p.is_file() and not p.is_relative_to("/dev")}
    return {
        str(p): p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(paths)
        if p.resolve() not in skip
    }


def assert_no_word_of_the_call(speech: RealSpeech, places: dict[str, str]) -> None:
    """No word of 4+ letters of the transcript (outside the built-in lexicon) is anywhere."""
    leaks = {where: sorted(words_in(text) & speech.words) for where, text in places.items()}
    leaks = {where: found for where, found in leaks.items() if found}
    assert not leaks, f"words of the call found: {leaks}"


def stored_stats(box: Sandbox) -> dict[str, object]:
    import sqlite3

    with sqlite3.connect(box.history_db) as conn:
        (text,) = conn.execute("SELECT stats_json FROM calls").fetchone()
    stats: dict[str, object] = json.loads(text)
    return stats


def test_analyze_of_real_speech_keeps_no_word_of_the_call(
    box: Sandbox, real_speech: RealSpeech
) -> None:
    """At the defaults (transcription on, the real model, history on): the report on
    stdout is the user's; nothing else that was written holds a word of the call."""
    require_strace()
    before = box.files()
    trace = run_straced(["analyze", str(real_speech.call)], box, timeout=600)
    assert trace.returncode == 0, trace.stderr
    assert_private(trace, box)
    assert_only_history_left(box, before)
    assert_history_saved_once(box, wanted=True)
    transcription = stored_stats(box)["transcription"]
    assert isinstance(transcription, dict) and transcription["utterances"] > 0
    places = files_written(trace, box)
    assert str(box.history_db) in places
    places |= {f"argv {i}": argv for i, argv in enumerate(trace.spawned)}
    places["stderr"] = trace.stderr
    assert_no_word_of_the_call(real_speech, places)
