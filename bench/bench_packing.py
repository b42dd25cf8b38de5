"""`make bench`, what transcription costs: CPU and memory live, speed offline, words.

    python -m bench.bench_packing [CALL.flac ...]

- the live pipeline with its transcription worker (what ``coach start`` runs,
  minus capture and panel), 20 ms blocks arriving at 4x real time, looked at
  when the audio the loop wants next is in (at most a capture tick apart) and fed
  then, as the daemon's capture and loop do, in a child
  process, on the demo call and a generated 10-minute espeak call: CPU as % of
  one core over the call's length (goal <= 4 %) and peak RSS (goal <= 250 MB),
  beside the same without transcription; and how long rep text waits after its
  utterance ends (by design: until a window fills or 30 s pass);
- ``coach analyze``'s pipeline on a generated one-hour espeak call with
  transcription on: x real time (goal >= 60x), nothing dropped;
- for each CALL given (the public calls): every piece transcribed one per pass
  and packed, and the word error rate between the two (goal <= 5 %).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from coach.transcription.transcribers import PieceResult
    from coach.transcription.utterance_audio import Piece

GOAL_WER = 0.05
GOAL_LIVE_CPU_PCT = 4.0
GOAL_LIVE_RSS_MB = 250.0
GOAL_ANALYZE_X = 60.0
LIVE_SPEED = 4.0


def word_errors(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance in words."""
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (ref[i - 1] != hyp[j - 1]))
            prev, row[j] = row[j], cur
    return row[len(hyp)]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


class _Collect:
    """A transcriber that only keeps the pieces it is given."""

    live = False
    name = "collect"
    dropped = 0
    passes = 0
    error: str | None = None

    def __init__(self) -> None:
        self.pieces: list[Piece] = []

    def submit(self, piece: Piece) -> None:
        self.submit_packs([[piece]])

    def submit_packs(self, windows: list[list[Piece]]) -> None:
        self.pieces.extend(p for w in windows for p in w)

    def poll(self) -> list[PieceResult]:
        return []

    def drain(self, timeout_s: float | None = None) -> None:
        return None

    def close(self) -> None:
        return None


def pieces_of(path: Path) -> list[np.ndarray]:
    """The audio of every piece ``coach analyze`` would cut (everything: no sampling)."""
    from coach.audio.audio_io import open_call
    from coach.config import Config
    from coach.core.pipeline import CallAnalyzer
    from coach.transcription.stage import TranscriptionStage

    _, blocks = open_call(path, block_s=5.0)
    collect = _Collect()
    analyzer = CallAnalyzer(Config(), transcriber=collect)
    assert analyzer.transcription is not None
    stage: TranscriptionStage = analyzer.transcription
    stage.customer_sample = 1.0  # every piece, so the two ways see the same audio
    for block in blocks:
        analyzer.feed(block)
    analyzer.finish()
    return [p.audio for p in sorted(collect.pieces, key=lambda p: p.seq)]


def run(paths: list[Path]) -> list[str]:
    from coach.config import Config, model_name, speech_language
    from coach.transcription import packing
    from coach.transcription.engine import WhisperEngine
    from coach.transcription.fitted_whisper import FULL_WINDOW_FRAMES
    from coach.transcription.model_store import resolve_model
    from coach.transcription.transcribers import BATCH_WINDOWS

    cfg = Config()
    model = resolve_model(model_name(cfg))
    if model is None:
        return [f"packing: skipped: {model_name(cfg)} is not installed (run `make models`)"]
    engine = WhisperEngine(model, speech_language(cfg), cfg.transcribe.threads, 1)
    full = WhisperEngine(model, speech_language(cfg), cfg.transcribe.threads, 1)
    full.model.min_frames = FULL_WINDOW_FRAMES
    out = [
        f"packing ({model.name}): packed windows (decoded in batches, as `coach analyze` does) "
        "against one piece per pass; one piece per "
        "pass with the encoder fitted to the audio (the default) against the full 30 s window"
    ]
    errors = total = fit_errors = 0
    for path in paths:
        audios = pieces_of(path)
        t = time.process_time()
        whole = [full.transcribe(a) for a in audios]
        cpu_full = time.process_time() - t
        t = time.process_time()
        one = [engine.transcribe(a) for a in audios]
        cpu_one = time.process_time() - t
        t = time.process_time()
        packed: list[str] = []
        groups = packing.groups([packing.seconds(a) for a in audios])
        windows = [[audios[i] for i in g] for g in groups]
        for i in range(0, len(windows), BATCH_WINDOWS):  # as `coach analyze` batches them
            packed += [
                text
                for w in engine.transcribe_windows(windows[i : i + BATCH_WINDOWS])
                for text in w
            ]
        cpu_packed = time.process_time() - t
        ref, hyp = _words(" ".join(one)), _words(" ".join(packed))
        e = word_errors(ref, hyp)
        fe = word_errors(_words(" ".join(whole)), ref)
        errors, total, fit_errors = errors + e, total + len(ref), fit_errors + fe
        out.append(
            f"  {path.name}: {len(audios)} pieces; one at a time {cpu_one:.1f} CPU-s (full "
            f"window {cpu_full:.1f}, WER between them {fe / max(1, len(ref)):.3f}); packed "
            f"{len(groups)} passes {cpu_packed:.1f} CPU-s, WER against one at a time "
            f"{e / max(1, len(ref)):.3f} ({e}/{len(ref)} words)"
        )
    wer = errors / max(1, total)
    verdict = "ok" if wer <= GOAL_WER else "OVER GOAL"
    out.append(
        f"  all: packed WER {wer:.3f} (goal <= {GOAL_WER:.2f}) {verdict}; fitted against full "
        f"window WER {fit_errors / max(1, total):.3f}"
    )
    return out


def live_child(path: Path, transcribe: bool, speed: float, report: Path | None) -> None:
    """In a child process: feed ``path`` as the live loop does; write rep text waits (s)
    and the passes to ``report`` (JSON)."""
    import json
    from dataclasses import replace

    import soundfile as sf

    from coach.audio.pulse_capture import TICK_S
    from coach.config import Config, TranscribeConfig
    from coach.core.pipeline import CallAnalyzer
    from coach.core.types import Side
    from coach.transcription.transcribers import open_transcriber

    cfg = Config() if transcribe else replace(Config(), transcribe=TranscribeConfig(enabled=False))
    transcriber = open_transcriber(cfg, live=True)
    analyzer = CallAnalyzer(cfg, transcriber=transcriber)
    ready = getattr(transcriber, "ready", None)
    if ready is not None:
        ready.wait(60)  # the model loaded, as before the daemon listens
    startup_cpu_s = time.process_time()
    t0 = time.monotonic()
    block, heard, looked = 320, 0, 0
    tick = round(TICK_S * 16000)
    want = analyzer.next_feed_samples()
    gathered: list[np.ndarray] = []
    # read a second at a time: the daemon holds no more than its rings, nor should this
    for chunk in sf.blocks(str(path), blocksize=16000, dtype="float32", always_2d=True):
        x = np.ascontiguousarray(chunk.T)
        for i in range(0, x.shape[1], block):
            # 20 ms blocks arrive; the capture looks when the audio the loop wants is in
            # (at most a tick apart) and the loop feeds it, as the daemon does
            gathered.append(x[:, i : i + block])
            heard += gathered[-1].shape[1]
            if heard < min(want, looked + tick):
                continue
            looked = heard
            delay = t0 + heard / 16000 / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if heard >= want:
                analyzer.feed(np.concatenate(gathered, axis=1))
                gathered = []
                want = analyzer.next_feed_samples()
    if gathered:
        analyzer.feed(np.concatenate(gathered, axis=1))
    analyzer.finish()
    stats = analyzer.stats()
    waits: list[float] = []
    stage = analyzer.transcription
    if stage is not None:
        for r in stage.pieces_done:
            if r.side is Side.REP and r.transcribed:
                waits.append((r.done_at - t0) * speed - r.end_ms / 1000)  # in audio seconds
    analyzer.close()
    tr = stats.get("transcription") or {}
    if report is not None:
        report.write_text(
            json.dumps(
                {
                    "waits": waits,
                    "passes": tr.get("passes"),
                    "dropped": tr.get("dropped"),
                    "startup_cpu_s": startup_cpu_s,
                }
            )
        )


def live_cost(path: Path, label: str) -> list[str]:
    """CPU % of a core and peak RSS of the live pipeline on ``path``, with and without."""
    import json
    import tempfile

    import soundfile as sf

    from bench.bench import measure_child

    seconds = sf.info(str(path)).duration
    out = []
    for transcribe in (True, False):
        report = Path(tempfile.mkdtemp(prefix="coach-bench-")) / "live.json"
        cmd = [
            sys.executable,
            "-m",
            "bench.bench_packing",
            "--live-child",
            str(path),
            "--speed",
            str(LIVE_SPEED),
            "--report",
            str(report),
        ]
        cmd += [] if transcribe else ["--no-transcribe"]
        wall, cpu, rss, code = measure_child(cmd)
        if code != 0:
            out.append(f"  {label}: the live child failed ({code})")
            continue
        pct = 100 * cpu / seconds
        name = "default (transcription on)" if transcribe else "--no-transcribe"
        info = json.loads(report.read_text()) if report.exists() else {"waits": []}
        listening = 100 * (cpu - info.get("startup_cpu_s", 0.0)) / seconds
        line = (
            f"  {label}, {name}: {pct:.1f} % of a core over the call, start-up included "
            f"({listening:.1f} % after it), peak RSS {rss:.0f} MB"
        )
        report.unlink(missing_ok=True)
        report.parent.rmdir()
        if transcribe:
            waits = info["waits"]
            if waits:
                line += (
                    f"; {info['passes']} passes, rep text after its end p50 "
                    f"{np.percentile(waits, 50):.1f} s, p95 {np.percentile(waits, 95):.1f} s"
                )
            ok = pct <= GOAL_LIVE_CPU_PCT and rss <= GOAL_LIVE_RSS_MB
            line += f" (goal <= {GOAL_LIVE_CPU_PCT:.0f} %, <= {GOAL_LIVE_RSS_MB:.0f} MB: "
            line += "met)" if ok else "NOT met)"
        out.append(line)
    return out


def run_all(calls: list[Path]) -> list[str]:
    """Every figure this module measures (``make bench``)."""
    import tempfile
    from importlib.resources import as_file, files

    import soundfile as sf

    out = [f"live transcription cost (pipeline + worker, 20 ms blocks, {LIVE_SPEED:.0f}x):"]
    with as_file(files("coach") / "data" / "demo_call.flac") as demo:
        out += live_cost(demo, "demo call")
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        ten = Path(tmp) / "ten.wav"
        sf.write(ten, spoken_call(10).T, 16000, subtype="PCM_16")
        out += live_cost(ten, "generated 10-minute call")
    out.append("")
    out += analyze_speed(60)
    if calls:
        out.append("")
        out += run(calls)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("calls", nargs="*", type=Path)
    parser.add_argument("--live-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--speed", type=float, default=LIVE_SPEED, help=argparse.SUPPRESS)
    parser.add_argument("--no-transcribe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--words-only", action="store_true", help="only the words of CALLs")
    args = parser.parse_args(argv)
    if args.live_child is not None:
        live_child(args.live_child, not args.no_transcribe, args.speed, args.report)
        return 0
    lines = run(args.calls) if args.words_only else run_all(args.calls)
    for line in lines:
        print(line, flush=True)
    return 0


# ----------------------------------------------------------------------------- a long call

REP_LINES = [
    "What are your main goals for this quarter?",
    "How many people are on your team?",
    "So what I'm hearing is that the migration timeline is your biggest risk.",
    "Can you tell me more about that?",
    "We build software that helps teams move their data safely.",
    "Who else should be involved in this decision?",
    "That makes sense.",
    "When would you like to start?",
]
CUSTOMER_LINES = [
    "We want to move our customer records into one place before the summer.",
    "Well, it has been a difficult year for us, and the migration timeline is tight.",
    "Our board expects the whole project finished before the summer.",
    "Honestly, the migration timeline worries me more than the budget.",
    "Our engineers are already stretched, and the vendors keep changing their plans.",
    "We also have to retrain every sales manager before the busy season.",
    "Sure, the partner needs the new system live by June.",
    "Right now everything lives in spreadsheets.",
]


def spoken_call(minutes: float, seed: int = 5) -> np.ndarray:
    """``(2, n)``: espeak-ng speech on both sides taking turns (rep 1-2 lines, customer
    1-6 lines), built from a few dozen synthesised lines laid out at random."""
    from bench.bench_transcribe import CUSTOMER_VOICE, REP_VOICE, say

    rng = np.random.default_rng(seed)
    rep = [say(t, REP_VOICE) for t in REP_LINES]
    cust = [say(t, CUSTOMER_VOICE) for t in CUSTOMER_LINES]
    n = int(minutes * 60 * 16000)
    call = (rng.standard_normal((2, n)) * 10 ** (-65 / 20)).astype(np.float32)
    t = int(0.5 * 16000)
    side = 0
    while t < n:
        lines = rep if side == 0 else cust
        for _ in range(int(rng.integers(1, 3 if side == 0 else 7))):
            x = lines[int(rng.integers(len(lines)))]
            m = min(len(x), n - t)
            if m <= 0:
                break
            call[side, t : t + m] += x[:m]
            t += m + int(rng.uniform(0.3, 0.6) * 16000)
        t += int(rng.uniform(0.5, 1.5) * 16000)
        side = 1 - side
    return call


def analyze_speed(minutes: float) -> list[str]:
    """``coach analyze``'s pipeline with transcription on a generated spoken call: x real time."""
    from coach.audio.prefetch import heard_ahead
    from coach.config import Config
    from coach.core.pipeline import CallAnalyzer
    from coach.transcription.transcribers import open_transcriber

    call = spoken_call(minutes)
    cfg = Config()
    transcriber = open_transcriber(cfg, live=False)
    if transcriber is None:
        return ["analyze with transcription: skipped (no model: run `make models`)"]
    analyzer = CallAnalyzer(cfg, transcriber=transcriber)
    wall, cpu = time.perf_counter(), time.process_time()
    blocks = (call[:, i : i + 16000 * 5] for i in range(0, call.shape[1], 16000 * 5))
    for heard in heard_ahead(analyzer, blocks):  # as `coach analyze` drives it
        analyzer.take(heard)
    analyzer.finish()
    stats = analyzer.stats()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    seconds = call.shape[1] / 16000
    tr = stats["transcription"]
    return [
        f"coach analyze, {minutes:.0f}-minute spoken call, transcription on: "
        f"{seconds / wall:.0f}x real time (wall), {seconds / cpu:.0f}x (CPU); "
        f"{tr['pieces']} pieces in {tr['passes']} passes, {tr['skipped']} skipped (sample), "
        f"{tr['dropped']} dropped; customer speech transcribed "
        f"{tr['customer_speech_transcribed']}; "
        f"questions {stats['questions']}, summaries {stats['summaries']} (goal >= 60x)"
    ]


if __name__ == "__main__":
    sys.exit(main())
