"""Compare `coach analyze --json` bytes between two commits, input by input.

    .venv/bin/python scripts/compare_analyze.py OLD NEW FILE... [--jobs N] [--transcribe]

Each commit is checked out into its own temporary git worktree and run from
there with this checkout's .venv python (PYTHONPATH pointing at that worktree;
the compiled stream drain is only used live, so analyze needs no build). The
inputs are given as arguments, by type:

- a stereo audio file: ``coach analyze FILE``;
- a mono audio file: ``coach analyze --rep FILE --customer SILENCE`` (SILENCE of
  the same length, written to the temporary folder);
- a JSON object with ``speech``, or an ``.rttm`` file: ``coach analyze --timeline FILE``;
- a JSON object with ``cases`` (conformance cases): every case's ``duration_s``
  and ``speech`` become one timeline file, run as above;
- anything else is listed as skipped.

Every run adds ``--json --no-history`` (and ``--no-transcribe`` unless
``--transcribe``; ``--config FILE`` for both sides), with a fresh empty config
and data folder. Standard output must
match byte for byte and both runs must succeed. Exit status 0 when every input does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AUDIO_SUFFIXES = (".flac", ".wav", ".ogg", ".mp3")
# What the console script `coach` does (pyproject: coach = "coach.cli:main"), so the
# entry point is exercised whatever module layout the commit has.
ENTRY = "import sys; from coach.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Job:
    """One input to analyze on both commits."""

    name: str  # what the report calls it
    args: tuple[str, ...]  # coach analyze's arguments, before --json


@dataclass(frozen=True)
class Outcome:
    """What one commit's coach analyze printed for a job."""

    returncode: int
    stdout: bytes
    stderr: bytes


def git(*args: str) -> str:
    """Run git in this checkout; its standard output."""
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _silence_like(path: Path, folder: Path) -> Path:
    import soundfile  # only needed for mono inputs

    info = soundfile.info(str(path))
    out = folder / f"silence-{info.samplerate}-{info.frames}.wav"
    if not out.exists():
        import numpy as np

        soundfile.write(str(out), np.zeros(info.frames, dtype=np.int16), info.samplerate)
    return out


def _channels(path: Path) -> int:
    import soundfile

    return int(soundfile.info(str(path)).channels)


def jobs_for(path: Path, folder: Path) -> tuple[list[Job], str | None]:
    """The runs one input makes, or a reason to skip it."""
    if path.suffix.lower() in AUDIO_SUFFIXES:
        if _channels(path) == 1:
            silence = _silence_like(path, folder)
            return [Job(str(path), ("--rep", str(path), "--customer", str(silence)))], None
        return [Job(str(path), (str(path),))], None
    if path.suffix.lower() == ".rttm":
        return [Job(str(path), ("--timeline", str(path)))], None
    if path.suffix.lower() != ".json":
        return [], "not audio, JSON or RTTM"
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return [], f"unreadable: {e}"
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        jobs = []
        cases_dir = folder / f"cases-{len(list(folder.iterdir()))}"
        cases_dir.mkdir()
        for case in data["cases"]:
            timeline = cases_dir / f"{case['name']}.json"
            timeline.write_text(
                json.dumps({"duration_s": case["duration_s"], "speech": case["speech"]})
            )
            jobs.append(Job(f"{path}#{case['name']}", ("--timeline", str(timeline))))
        return jobs, None
    if isinstance(data, dict) and "speech" in data:
        return [Job(str(path), ("--timeline", str(path)))], None
    return [], "JSON without speech or cases"


def checkout(commit: str, folder: Path, label: str) -> Path:
    """Check ``commit`` out into a new detached worktree under ``folder``."""
    tree = folder / f"{label}-{commit[:12]}"
    git("worktree", "add", "--detach", "--quiet", str(tree), commit)
    return tree


def fresh_env(tree: Path, home: Path) -> dict[str, str]:
    """An environment importing coach from ``tree``, with empty config and data in ``home``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["PYTHONHASHSEED"] = "0"
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(home / var.lower())
    env["COACH_CONFIG"] = str(home / "absent-config.toml")
    env["COACH_DATA_DIR"] = str(home / "data")
    env.pop("COACH_DEBUG", None)
    return env


def imports_from(python: str, tree: Path, env: dict[str, str]) -> None:
    """Refuse to compare unless `coach` really comes from the checked-out tree."""
    where = subprocess.run(
        [python, "-c", "import coach; print(coach.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"coach is imported from {where}, not from {tree}")


def _run(python: str, tree: Path, env: dict[str, str], job: Job, extra: list[str]) -> Outcome:
    proc = subprocess.run(
        [python, "-c", ENTRY, "analyze", *job.args, "--json", "--no-history", *extra],
        cwd=tree,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def _first_difference(a: bytes, b: bytes) -> str:
    try:
        old, new = json.loads(a), json.loads(b)
    except ValueError:
        pairs = enumerate(zip(a, b, strict=False))
        at = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
        return f"bytes differ from offset {at}"
    path = _json_difference(old, new, "")
    return f"first at {path or '(top)'}" if path is not None else "same JSON, other bytes"


def _json_difference(a: Any, b: Any, where: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{where} keys {list(a)} vs {list(b)}"
        for k in a:
            d = _json_difference(a[k], b[k], f"{where}.{k}")
            if d is not None:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where} length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _json_difference(x, y, f"{where}[{i}]")
            if d is not None:
                return d
        return None
    return None if a == b and type(a) is type(b) else f"{where}: {a!r} vs {b!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", help="the commit to compare against")
    parser.add_argument("new", help="the commit under test (e.g. HEAD)")
    parser.add_argument("files", nargs="+", type=Path, help="audio, timeline or cases files")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--transcribe", action="store_true", help="leave transcription on")
    parser.add_argument(
        "--config", type=Path, help="a config file both sides run with (e.g. another VAD backend)"
    )
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"))
    args = parser.parse_args(argv)

    commits = [git("rev-parse", "--verify", f"{c}^{{commit}}") for c in (args.old, args.new)]
    extra = [] if args.transcribe else ["--no-transcribe"]
    if args.config is not None:
        extra += ["--config", str(args.config.resolve())]
    folder = Path(tempfile.mkdtemp(prefix="coach-compare-"))
    trees: list[Path] = []
    try:
        jobs: list[Job] = []
        for path in args.files:
            # each commit runs from its own tree: relative paths would point elsewhere
            found, skipped = jobs_for(path.resolve(), folder)
            if skipped:
                print(f"skip  {path}: {skipped}")
            jobs.extend(found)
        envs = []
        for label, commit in zip(("old", "new"), commits, strict=True):
            tree = checkout(commit, folder, label)
            trees.append(tree)
            env = fresh_env(tree, folder / f"home-{label}")
            imports_from(args.python, tree, env)
            envs.append(env)
        print(f"comparing {len(jobs)} runs: {commits[0][:12]} vs {commits[1][:12]}", flush=True)

        def both(job: Job) -> tuple[Outcome, Outcome]:
            old = _run(args.python, trees[0], envs[0], job, extra)
            new = _run(args.python, trees[1], envs[1], job, extra)
            return old, new

        differ = 0
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for job, (old, new) in zip(jobs, pool.map(both, jobs), strict=True):
                if old.returncode == new.returncode == 0 and old.stdout == new.stdout:
                    print(f"same  {job.name}  {len(old.stdout)} bytes", flush=True)
                    continue
                differ += 1  # a run that fails on both sides shows nothing: it counts against
                if old.returncode == new.returncode != 0 and old.stdout == new.stdout:
                    err = new.stderr.decode(errors="replace").strip()[-300:]
                    print(f"FAIL  {job.name}  both exit {new.returncode}: {err}", flush=True)
                    continue
                if old.returncode != new.returncode:
                    why = f"exit {old.returncode} vs {new.returncode}: "
                    why += (new.stderr or old.stderr).decode(errors="replace").strip()[-300:]
                else:
                    why = _first_difference(old.stdout, new.stdout)
                print(f"DIFF  {job.name}  {why}", flush=True)
        print(f"{len(jobs) - differ} same, {differ} different or failed")
        return 1 if differ or not jobs else 0
    finally:
        for tree in trees:
            git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
