"""The product speaks for itself: no evaluation call, issue or outside folder is named in it.

Code, bench, scripts and docs are read by users and new maintainers who have
neither the evaluation folder nor the issue tracker: a reference to either tells
them nothing. The metric definitions are docs/metrics.md, inside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("coach", "bench", "scripts", "docs", "README.md")
TEXT_SUFFIXES = {".py", ".sh", ".md", ".toml", ".txt", ".c", ".json"}

OUTSIDE_WORDS = {
    "a folder outside the repository": re.compile(r"\.\./shared|\bshared/(eval|notes)\b"),
    "the metric contract outside the repository": re.compile(r"METRICS\.md"),
    "an evaluation call": re.compile(r"\b[pr][1-6]_[a-z]+|\b[pr][1-6]\b(?! ?[=<>])"),
    "an issue": re.compile(r"\b[Ii]ssue #?\d+|real-rooms issue"),
}


def product_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in sorted(path.rglob("*")) if p.suffix in TEXT_SUFFIXES]
    return files


def test_the_scan_reads_the_product() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in product_files()}
    assert {"README.md", "docs/metrics.md", "coach/config/schema.py"} <= names


@pytest.mark.parametrize("what", sorted(OUTSIDE_WORDS))
def test_no_product_file_names(what: str) -> None:
    pattern = OUTSIDE_WORDS[what]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in product_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, f"{what} named in the product:\n" + "\n".join(found)


def test_the_patterns_catch_what_they_are_for() -> None:
    assert OUTSIDE_WORDS["a folder outside the repository"].search("see ../shared/notes/x.md")
    assert OUTSIDE_WORDS["the metric contract outside the repository"].search("METRICS.md")
    assert OUTSIDE_WORDS["an evaluation call"].search("leaking as in p3_speakers")
    assert OUTSIDE_WORDS["an evaluation call"].search("40 ms late, as p3).")
    assert OUTSIDE_WORDS["an issue"].search('bench.py speaks of "issue 2"')
    assert not OUTSIDE_WORDS["an evaluation call"].search("the p95 latency, r2 = 0.9")
