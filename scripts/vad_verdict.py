#!/usr/bin/env python3
"""Judge vad_score.py's output for the coach against plain webrtcvad's.

    vad_verdict.py COACH.txt WEBRTCVAD.txt

Prints one line; exit status 1 unless the pooled F1 is at least 0.95, no clip
scores under 0.80, and every noise condition (``snr*``) scores at least
webrtcvad's F1 there.
"""

from __future__ import annotations

import re
import sys

POOLED_MIN = 0.95
CLIP_MIN = 0.80


def parse(path: str) -> tuple[float, dict[str, float], dict[str, float]]:
    """(pooled F1, F1 per clip, F1 per condition) from vad_score.py's output."""
    total, clips, conds = -1.0, {}, {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        if m := re.match(r"TOTAL \(\d+ clips\)\s+F1 ([\d.]+)", line):
            total = float(m.group(1))
        elif m := re.match(r"condition (\S+)\s+F1 ([\d.]+)", line):
            conds[m.group(1)] = float(m.group(2))
        elif m := re.match(r"(\S+)\s+[\d.]+ s\s+F1 ([\d.]+)", line):
            clips[m.group(1)] = float(m.group(2))
    return total, clips, conds


def main() -> int:
    total, clips, conds = parse(sys.argv[1])
    _, _, anchor = parse(sys.argv[2])
    problems = []
    if total < POOLED_MIN:
        problems.append(f"pooled F1 {total:.3f} < {POOLED_MIN}")
    low = {k: v for k, v in clips.items() if v < CLIP_MIN}
    if low or not clips:
        problems.append(f"clips under {CLIP_MIN}: {low or 'none scored'}")
    for cond, f1 in sorted(conds.items()):
        if cond.startswith("snr") and f1 < anchor.get(cond, 0.0):
            problems.append(f"{cond} F1 {f1:.3f} < webrtcvad's {anchor[cond]:.3f}")
    groups = " ".join(f"{c} {f:.3f}/{anchor.get(c, 0):.3f}" for c, f in sorted(conds.items()))
    lowest = min(clips.values(), default=0.0)
    summary = f"F1 {total:.3f}, lowest clip {lowest:.3f}; coach/webrtcvad: {groups}"
    print(("; ".join(problems) + " -- " if problems else "") + summary)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
