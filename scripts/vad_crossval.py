#!/usr/bin/env python3
"""Cross-validate the neural speech detector's tuning on labelled real speech.

    .venv/bin/python scripts/vad_crossval.py EVAL_DIR [--quick]

EVAL_DIR holds ``vad/`` (mono clips NAME.wav with their truth NAME.json) and
``real/`` (stereo calls NAME.flac, rep on channel 0, customer on 1, with their
truth NAME.json).  Clips and calls are split into two halves (alternately, in
name order).  For each half, a grid of the detector's tuning is scored on that
half alone; the best setting is then scored on the other half, which it has
not seen.  Printed: every setting's in-sample score, the setting each half
chooses, its in-sample and held-out figures, and the shipped defaults' figures
on each half.

Score of a set: the mean of the clips' pooled F1 (10 ms grid, gaps under 0.3 s
merged, no collar) and the calls' mean per-side F1 (0.25 s collar around true
boundaries, as the call scorer).  The mic side of each call goes through the
leak gate first, as in the pipeline.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from coach.core.echo import EchoParams, LeakGate  # noqa: E402
from coach.core.silero_vad import SileroParams, SileroVad  # noqa: E402

GRID_S = 0.01
MERGE_S = 0.3
COLLAR_S = 0.25
Segs = list[list[float]]


def merge(segs: Segs) -> Segs:
    out: Segs = []
    for s, e in sorted(segs):
        if out and round(s - out[-1][1], 3) < MERGE_S:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def counts(truth: Segs, hyp: Segs, dur_s: float, collar_s: float) -> np.ndarray:
    n = int(dur_s / GRID_S) + 1

    def grid(segs: Segs) -> np.ndarray:
        v = np.zeros(n, bool)
        for s, e in merge(segs):
            v[max(0, round(s / GRID_S)) : min(n, round(e / GRID_S))] = True
        return v

    t, h = grid(truth), grid(hyp)
    keep = np.ones(n, bool)
    c = round(collar_s / GRID_S)
    for s, e in truth if c else []:
        for x in (s, e):
            i = round(x / GRID_S)
            keep[max(0, i - c) : min(n, i + c)] = False
    return np.array([(t & h & keep).sum(), (~t & h & keep).sum(), (t & ~h & keep).sum()])


def f1(c: np.ndarray) -> float:
    tp, fp, fn = (int(v) for v in c)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclasses.dataclass
class Item:
    """A clip (mono) or a call side, with the leak powers its mic side carries."""

    name: str
    kind: str  # "clip" or "call"
    audio: np.ndarray
    leak: np.ndarray | None
    truth: Segs


def load(eval_dir: Path) -> list[Item]:
    items = []
    for wav in sorted((eval_dir / "vad").glob("*.wav")):
        x, rate = sf.read(wav, dtype="float32")
        assert rate == 16000, wav
        truth = json.loads(wav.with_suffix(".json").read_text())
        items.append(Item(wav.stem, "clip", x, None, truth))
    for flac in sorted((eval_dir / "real").glob("*.flac")):
        x, rate = sf.read(flac, dtype="float32")
        assert rate == 16000 and x.ndim == 2, flac
        truth = json.loads(flac.with_suffix(".json").read_text())["speech"]
        mic, leak = gated_mic(np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1]))
        items.append(Item(flac.stem + ":rep", "call", mic, leak, truth["rep"]))
        items.append(Item(flac.stem + ":customer", "call", x[:, 1].copy(), None, truth["customer"]))
    return items


def gated_mic(mic: np.ndarray, loop: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The mic through the leak gate (auto), as the pipeline feeds it: samples and leak powers."""
    gate = LeakGate("auto", EchoParams())
    outs, leaks = [], []
    for i in range(0, len(mic), 16000):
        m, lk = gate.feed(mic[i : i + 16000], loop[i : i + 16000])
        outs.append(m)
        leaks.append(np.zeros(len(m) // 160) if lk is None else lk)
    m, lk = gate.flush()
    outs.append(m)
    leaks.append(np.zeros(len(m) // 160) if lk is None else lk)
    out = np.concatenate(outs)
    leak = np.zeros(len(out) // 160)
    got = np.concatenate(leaks)[: len(leak)]
    leak[: len(got)] = got
    return out, (leak if leak.any() else None)


def detect(item: Item, params: SileroParams) -> Segs:
    vad = SileroVad(params)
    up = vad.feed(item.audio, item.leak)
    closed = up.closed + vad.finish().closed
    return [[s / 1000, e / 1000] for s, e in closed]


def score(items: list[Item], hyps: dict[str, Segs]) -> tuple[float, float, float]:
    """(combined score, clips' pooled F1, calls' mean per-side F1)."""
    pooled = np.zeros(3, int)
    sides = []
    for it in items:
        dur = len(it.audio) / 16000
        if it.kind == "clip":
            pooled += counts(it.truth, hyps[it.name], dur, 0.0)
        else:
            sides.append(f1(counts(it.truth, hyps[it.name], dur, COLLAR_S)))
    clips = f1(pooled) if pooled.any() else float("nan")
    calls = float(np.mean(sides)) if sides else float("nan")
    return float(np.nanmean([clips, calls])), clips, calls


def halves(items: list[Item]) -> tuple[list[Item], list[Item]]:
    clips = [it for it in items if it.kind == "clip"]
    calls = sorted({it.name.split(":")[0] for it in items if it.kind == "call"})
    a_calls = set(calls[0::2])
    a = clips[0::2] + [it for it in items if it.kind == "call" and it.name.split(":")[0] in a_calls]
    b = clips[1::2] + [
        it for it in items if it.kind == "call" and it.name.split(":")[0] not in a_calls
    ]
    return a, b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("eval_dir", type=Path)
    ap.add_argument("--quick", action="store_true", help="a smaller grid")
    args = ap.parse_args()
    items = load(args.eval_dir)
    if not items:
        print(f"no clips or calls under {args.eval_dir}")
        return 2
    grid = {
        "on_threshold": [0.4, 0.5, 0.6],
        "off_threshold": [0.15, 0.2, 0.3],
        "hangover_windows": [1, 3, 6],
    }
    if args.quick:
        grid = {"on_threshold": [0.4, 0.5], "off_threshold": [0.2, 0.3], "hangover_windows": [3]}
    settings = [dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())]
    default = SileroParams()
    default_key = {k: getattr(default, k) for k in grid}
    if default_key not in settings:
        settings.append(default_key)
    a, b = halves(items)
    results = []
    for s in settings:
        params = dataclasses.replace(default, **s)
        hyps = {it.name: detect(it, params) for it in items}
        results.append((s, score(a, hyps), score(b, hyps), score(items, hyps)))
        ra, rb = results[-1][1], results[-1][2]
        print(f"{s}  half A {ra[0]:.4f}  half B {rb[0]:.4f}", flush=True)
    print()
    for name, tune, held in (("A", 1, 2), ("B", 2, 1)):
        best = max(results, key=lambda r: r[tune][0])
        t, h = best[tune], best[held]
        print(
            f"tuned on half {name}: {best[0]}\n"
            f"  in-sample  score {t[0]:.4f} (clips F1 {t[1]:.3f}, calls F1 {t[2]:.3f})\n"
            f"  held-out   score {h[0]:.4f} (clips F1 {h[1]:.3f}, calls F1 {h[2]:.3f})"
        )
    d = next(r for r in results if r[0] == default_key)
    print(
        f"defaults {default_key}\n"
        f"  half A {d[1][0]:.4f} (clips {d[1][1]:.3f}, calls {d[1][2]:.3f})  "
        f"half B {d[2][0]:.4f} (clips {d[2][1]:.3f}, calls {d[2][2]:.3f})  "
        f"all {d[3][0]:.4f} (clips {d[3][1]:.3f}, calls {d[3][2]:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
