"""`make bench`, transcription: speed, latency and memory of faster-whisper here.

    python -m bench.bench_transcribe [--speed 1.0]

Builds a short sales call in memory with espeak-ng (rep questions, a recap, a
customer story), then, with the configured model (tiny.en by default: `make
models`), measures in one process:

- model load time and RSS with the model loaded; peak RSS after everything
  (goal <= 400 MB);
- ``coach analyze`` mode (synchronous, never drops): the real-time factor of
  the whole analysis and of transcription alone;
- live mode: a capture thread delivers 20 ms blocks in real time into a
  bounded queue (as the sound card's callback does) while the main loop runs
  the pipeline (VAD, timeline, nudges) with the transcription worker: the
  latency from the end of each utterance to its transcript (goal <= 1.5 s for
  utterances up to 15 s), pieces dropped by the worker, and capture blocks
  dropped because the pipeline fell behind (goal: none).

:func:`run` returns the report lines (``bench.bench`` prints them).
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from coach.core.types import SAMPLE_RATE_HZ

if TYPE_CHECKING:
    from coach.transcription.engine import Engine

RATE = SAMPLE_RATE_HZ
GOAL_LATENCY_S = 1.5
GOAL_RSS_MB = 400.0
BLOCK = RATE // 50  # 20 ms, the live daemon's block

REP_VOICE, CUSTOMER_VOICE = "en-us", "en-gb+f3"
SCRIPT: list[tuple[str, float, str]] = [
    # (who, seconds after the previous line ends (negative: overlapping it), text)
    (
        "rep",
        0.5,
        "Hi, thanks for taking the time today. What are your main goals for this quarter?",
    ),
    ("customer", 1.0, "We want to move our customer records into one place before the summer."),
    ("rep", 1.0, "How many people are on your team?"),
    (
        "customer",
        1.0,
        "Well, it has been a difficult year for us. We are moving every customer "
        "record out of our old system, and the migration timeline is extremely tight.",
    ),
    (
        "customer",
        0.5,
        "Our board expects the whole project finished before the summer. "
        "Honestly, the migration timeline worries me more than the budget.",
    ),
    ("backchannel", -3.0, "Right."),
    (
        "customer",
        0.5,
        "Our engineers are already stretched, and the vendors keep changing "
        "their plans. If the migration timeline slips again, we lose the contract with our "
        "biggest partner.",
    ),
    ("customer", 0.5, "We also have to retrain every sales manager before the busy season."),
    ("rep", 2.5, "So what I'm hearing is that the migration timeline is your biggest risk."),
    ("rep", 1.2, "Can you tell me more about that?"),
    ("customer", 1.0, "Sure, the partner needs the new system live by June."),
    ("rep", 1.0, "We build software that helps teams move their data safely."),
]


def say(text: str, voice: str, wpm: int = 160) -> np.ndarray:
    """``text`` spoken by espeak-ng, float32 mono at 16 kHz."""
    import soundfile as sf
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "line.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        x, sr = sf.read(wav, dtype="float32")
    return (soxr.resample(x, sr, RATE) * 0.8).astype(np.float32)


def espeak_call(lines: list[tuple[str, float, str]] = SCRIPT, seed: int = 3) -> np.ndarray:
    """A stereo call in memory: rep lines on row 0, customer lines on row 1, room noise."""
    placed: list[tuple[int, float, np.ndarray]] = []
    t = 0.0
    for who, gap, text in lines:
        row = 1 if who == "customer" else 0
        audio = say(text, CUSTOMER_VOICE if row else REP_VOICE)
        start = t + gap
        placed.append((row, start, audio))
        if who != "backchannel":  # a backchannel overlaps; the next line follows the last
            t = start + len(audio) / RATE
    n = int((t + 2.0) * RATE)
    rng = np.random.default_rng(seed)
    call = (rng.standard_normal((2, n)) * 10 ** (-65 / 20)).astype(np.float32)
    for row, start, audio in placed:
        i = int(start * RATE)
        call[row, i : i + len(audio)] += audio
    return call


def _rss_mb(key: str = "VmRSS") -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _live(call: np.ndarray, engine: Engine, speed: float, nice: int) -> dict[str, Any]:
    """Real-time feed with a capture thread, the pipeline and the transcription worker."""
    from coach.config import Config
    from coach.core.pipeline import CallAnalyzer
    from coach.transcription.transcribers import PieceResult, WorkerTranscriber

    worker = WorkerTranscriber(lambda: engine, nice=nice)
    worker.ready.wait(30)
    # text as soon as it can be had (transcribe.max_wait_s = 0): the latency of a pass
    from dataclasses import replace

    prompt = replace(Config(), transcribe=replace(Config().transcribe, max_wait_s=0.0))
    analyzer = CallAnalyzer(prompt, transcriber=worker)
    blocks = [call[:, i : i + BLOCK] for i in range(0, call.shape[1], BLOCK)]
    captured: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=25)  # 0.5 s of capture
    dropped_blocks = 0
    max_backlog = 0
    period = BLOCK / RATE / speed
    t0 = time.monotonic() + 0.2

    def capture() -> None:
        nonlocal dropped_blocks
        for i, b in enumerate(blocks):
            delay = t0 + (i + 1) * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                captured.put_nowait(b)
            except queue.Full:
                dropped_blocks += 1
        captured.put(None)

    thread = threading.Thread(target=capture, daemon=True)
    thread.start()
    worst_feed = 0.0
    while True:
        max_backlog = max(max_backlog, captured.qsize())
        b = captured.get()
        if b is None:
            break
        t = time.perf_counter()
        analyzer.feed(b)
        worst_feed = max(worst_feed, time.perf_counter() - t)
    thread.join()
    analyzer.finish()
    stats = analyzer.stats()
    stage = analyzer.transcription
    assert stage is not None
    last: dict[tuple[object, int], PieceResult] = {}  # each utterance's last piece
    for r in stage.pieces_done:
        key = (r.side, r.utt_start_ms)
        if r.transcribed and (key not in last or r.done_at > last[key].done_at):
            last[key] = r
    latencies, cut, wait, compute = [], [], [], []
    for u in stage.utterances.values():
        found = last.get((u.side, u.start_ms))
        if found is None or u.end_ms - u.start_ms > 15_000 or not u.complete:
            continue
        if int(u.side) != 0:  # the rep's text is what is wanted at once; the customer's waits
            continue
        r = found
        end_wall = t0 + u.end_ms / 1000 / speed
        latencies.append(r.done_at - end_wall)
        cut.append(r.submitted_at - end_wall)
        wait.append(r.done_at - r.compute_s - r.submitted_at)
        compute.append(r.compute_s)
    analyzer.close()
    return {
        "utterances": len(latencies),
        "p50": _pct(latencies, 50),
        "cut": _pct(cut, 50),
        "wait": _pct(wait, 50),
        "compute": _pct(compute, 50),
        "p95": _pct(latencies, 95),
        "max": max(latencies) if latencies else float("nan"),
        "pieces": stats["transcription"]["pieces"],
        "dropped": stats["transcription"]["dropped"],
        "blocks": len(blocks),
        "dropped_blocks": dropped_blocks,
        "max_backlog_ms": max_backlog * BLOCK * 1000 / RATE,
        "worst_feed_ms": worst_feed * 1000,
        "questions": stats["questions"],
        "deepen": next((n["text"] for n in stats["nudges"] if n["kind"] == "deepen"), ""),
    }


def run(speed: float = 1.0, nice: int = 5) -> list[str]:
    """Measure; return the report lines."""
    from coach.config import Config, model_name, speech_language
    from coach.core.pipeline import CallAnalyzer
    from coach.transcription.engine import WhisperEngine
    from coach.transcription.model_store import resolve_model, verify_model
    from coach.transcription.transcribers import SyncTranscriber

    cfg = Config().transcribe
    model = model_name(Config())
    out = [f"transcription ({model}, int8, threads {cfg.threads}, beam {cfg.beam_size}):"]
    path = resolve_model(model)
    if path is None:
        return out + [f"  skipped: {model} is not installed (run `make models`)"]
    if shutil.which("espeak-ng") is None:
        return out + ["  skipped: espeak-ng is not installed (make sysdeps)"]
    verify_model(path)
    call = espeak_call()
    duration = call.shape[1] / RATE
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    rss0 = _rss_mb()
    t = time.perf_counter()
    engine = WhisperEngine(path, speech_language(Config()), cfg.threads, cfg.beam_size)
    load_s = time.perf_counter() - t
    rss_loaded = _rss_mb()
    out.append(
        f"  model load {load_s:.2f} s; RSS {rss_loaded:.0f} MB with the model loaded "
        f"(+{rss_loaded - rss0:.0f} MB)"
    )

    # coach analyze: synchronous, never drops
    analyzer = CallAnalyzer(Config(), transcriber=SyncTranscriber(engine, cfg.model))
    t = time.perf_counter()
    for i in range(0, call.shape[1], 5 * RATE):
        analyzer.feed(call[:, i : i + 5 * RATE])
    analyzer.finish()
    stats = analyzer.stats()
    wall = time.perf_counter() - t
    tr = stats["transcription"]
    out.append(
        f"  coach analyze: {wall:.1f} s for a {duration:.0f} s espeak-ng call "
        f"(real-time factor {wall / duration:.2f}; transcription alone "
        f"{tr['real_time_factor']:.2f} per second of speech); {tr['pieces']} utterances, "
        f"{stats['questions']} questions, {stats['summaries']} summary, none dropped"
    )

    # live: real-time capture, VAD and nudges, the worker behind its bounded queue
    live = _live(call, engine, speed, nice)
    ok_lat = live["max"] <= GOAL_LATENCY_S
    out.append(
        f"  live ({speed:g}x real time, 20 ms blocks, VAD running, worker nice {nice}, "
        "transcribe.max_wait_s = 0): end of utterance → "
        f"transcript p50 {live['p50']:.2f} s, p95 {live['p95']:.2f} s, max {live['max']:.2f} s "
        f"over {live['utterances']:.0f} rep utterances ≤ 15 s (goal ≤ {GOAL_LATENCY_S} s: "
        f"{'met' if ok_lat else 'NOT met'})"
    )
    out.append(
        f"  live: {live['dropped']:.0f} of {live['pieces']:.0f} pieces dropped by the worker; "
        f"capture blocks dropped {live['dropped_blocks']:.0f} of {live['blocks']:.0f} "
        f"(capture queue peak {live['max_backlog_ms']:.0f} ms, slowest feed "
        f"{live['worst_feed_ms']:.1f} ms) — "
        f"{'no VAD frame dropped' if live['dropped_blocks'] == 0 else 'VAD FRAMES DROPPED'}"
    )
    out.append(
        f"  live latency, medians: cut {live['cut']:.2f} s after the end (utterance closed: "
        f"turns.utterance_gap_s + VAD lag) + queue {live['wait']:.2f} s + whisper "
        f"{live['compute']:.2f} s"
    )
    out.append(f"  live deepen nudge: {live['deepen'] or 'none'}")
    peak = _rss_mb("VmHWM")
    out.append(
        f"  peak RSS {peak:.0f} MB (goal ≤ {GOAL_RSS_MB:.0f} MB: "
        f"{'met' if peak <= GOAL_RSS_MB else 'NOT met'}); load average {load_avg:.1f} "
        f"on {os.cpu_count()} CPUs during the run"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed", type=float, default=1.0, help="live feed, x real time")
    parser.add_argument("--nice", type=int, default=5, help="the live worker's nice increment")
    args = parser.parse_args(argv)
    for line in run(args.speed, args.nice):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
