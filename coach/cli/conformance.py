"""Check the timeline stage against the contract's conformance cases.

    python -m coach.cli.conformance [--cli] CASES.json

Feeds each case's ideal speech segments straight into the timeline stage with
the default config and compares every statistic and every nudge (kind, and time
within 0.05 s) with the case's ``expected``. With ``--cli``, each case goes
through the real command instead: its ``duration_s`` and ``speech`` are written
to a file and read back by ``coach analyze --timeline FILE --json``. Exit
status 0 when all match.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from coach.config import Config
from coach.core.pipeline import analyze_segments

NUDGE_TOLERANCE_S = 0.05  # docs/metrics.md: nudge times within 0.05 s
FIGURE_TOLERANCE = 0.0015  # figures are given to 3-4 decimals
SCALARS = ("duration_s", "talk_ratio", "patience_s", "interactivity_per_min")
SIDE_SCALARS = ("talk_s", "longest_monologue_s")


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= FIGURE_TOLERANCE


def _close_list(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, list):
            if not _close_list(x, y):
                return False
        elif not _close(x, y):
            return False
    return True


def compare(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Every difference between an expected and an actual stats object."""
    diffs: list[str] = []
    for k in SCALARS:
        if not _close(expected[k], got[k]):
            diffs.append(f"{k}: expected {expected[k]}, got {got[k]}")
    if not _close_list(expected["interruptions"], got["interruptions"]):
        diffs.append(
            f"interruptions: expected {expected['interruptions']}, got {got['interruptions']}"
        )
    for side in ("rep", "customer"):
        for k in SIDE_SCALARS:
            if not _close(expected[side][k], got[side][k]):
                diffs.append(f"{side}.{k}: expected {expected[side][k]}, got {got[side][k]}")
        for k in ("monologues", "backchannels"):
            if not _close_list(expected[side][k], got[side][k]):
                diffs.append(f"{side}.{k}: expected {expected[side][k]}, got {got[side][k]}")
        if not _close_list(expected["speech"][side], got["speech"][side]):
            diffs.append(f"speech.{side} differs")
    for k in ("questions", "summaries"):
        if expected.get(k) != got.get(k):
            diffs.append(f"{k}: expected {expected.get(k)}, got {got.get(k)}")
    want = sorted((n["kind"], n["t"]) for n in expected["nudges"])
    have = sorted((n["kind"], n["t"]) for n in got["nudges"])
    ok = len(want) == len(have) and all(
        wk == hk and abs(wt - ht) <= NUDGE_TOLERANCE_S
        for (wk, wt), (hk, ht) in zip(want, have, strict=True)
    )
    if not ok:
        diffs.append(
            "nudges: expected "
            + str([(n["t"], n["kind"]) for n in expected["nudges"]])
            + ", got "
            + str([(n["t"], n["kind"]) for n in got["nudges"]])
        )
    return diffs


def _through_cli(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = folder / f"{case['name']}.json"
    path.write_text(json.dumps({"duration_s": case["duration_s"], "speech": case["speech"]}))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "coach.cli",
            "analyze",
            "--timeline",
            str(path),
            "--json",
            "--no-history",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"coach analyze --timeline failed: {proc.stderr.strip()}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run(path: Path, verbose: bool = True, cli: bool = False) -> int:
    cases = json.loads(path.read_text())["cases"]
    failed = 0
    folder = Path(tempfile.mkdtemp(prefix="coach-conformance-"))
    for case in cases:
        if cli:
            got = _through_cli(case, folder)
        else:
            got = analyze_segments(case["duration_s"], case["speech"], Config())
        diffs = compare(case["expected"], got)
        if diffs:
            failed += 1
            print(f"FAIL {case['name']}: {case['why']}")
            for d in diffs:
                print(f"     {d}")
        elif verbose:
            print(f"ok   {case['name']}")
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    how = "coach analyze --timeline" if cli else "timeline stage"
    print(f"conformance ({how}): {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cli = "--cli" in args
    args = [a for a in args if a != "--cli"]
    if len(args) != 1:
        print("usage: python -m coach.cli.conformance [--cli] TIMELINES.json", file=sys.stderr)
        return 2
    return run(Path(args[0]), cli=cli)


if __name__ == "__main__":
    sys.exit(main())
