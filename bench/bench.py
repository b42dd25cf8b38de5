"""`make bench`: speed and memory, measured side by side in one run.

    python -m bench.bench [--minutes 60] [--skip-live]

Generates a two-channel call (the demo call's voices taking turns in room
noise), writes it to a temporary FLAC (deleted afterwards; a benchmark fixture,
not anything the coach writes), then measures in the same run:

- the floor: raw webrtcvad on both channels of the same audio, one frame per
  call as the pipeline does;
- ``coach analyze --json --no-transcribe`` as a subprocess: x real time (wall
  and CPU) and its peak RSS;
- every speech detector side by side: F1 on labelled real speech clips
  (``--speech-clips``), analysis speed, live cost per 20 ms block; plain
  webrtcvad and plain Silero as anchors.

Goals: analysis >= 300x real time (stretch: 1000x) and <= 120 MB RSS. Then the live
daemon's figures (bench.bench_live: nudge latency, CPU, RSS through a virtual
PulseAudio) and transcription's (bench.bench_transcribe).
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from coach.core.types import SAMPLE_RATE_HZ
from coach.live.sources import DEMO_CALL

RATE = SAMPLE_RATE_HZ
GOAL_SPEED_X = 300.0
GOAL_RSS_MB = 120.0


@functools.cache
def _speech_bank(side: int) -> np.ndarray:
    """One side's speech from the shipped demo call, its silences left out."""
    x, _ = sf.read(str(DEMO_CALL), dtype="float32", always_2d=True)
    ch = x[:, side]
    frames = ch[: len(ch) // 480 * 480].reshape(-1, 480)
    loud = 10 * np.log10((frames.astype(np.float64) ** 2).mean(axis=1) + 1e-12) > -50
    return np.ascontiguousarray(frames[loud].ravel())


def _voice(seconds: float, side: int, rng: np.random.Generator) -> np.ndarray:
    """``seconds`` of one side's real (espeak) speech, from a random place in its bank."""
    bank = _speech_bank(side)
    n = int(seconds * RATE)
    start = int(rng.integers(0, len(bank)))
    reps = -(-(start + n) // len(bank))
    return np.tile(bank, reps)[start : start + n]


def generate_call(path: Path, minutes: float, seed: int = 1) -> float:
    """Write a stereo 16 kHz call of turn-taking speech (format by suffix); return its length."""
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * RATE)
    chunk_s = 60
    with sf.SoundFile(path, "w", RATE, 2, subtype="PCM_16") as out:
        t = 1.0
        side = 0
        pending: list[tuple[int, float, float]] = []  # (side, start, seconds)
        for c0 in range(0, total, chunk_s * RATE):
            n = min(chunk_s * RATE, total - c0)
            a_s, b_s = c0 / RATE, (c0 + n) / RATE
            while t < b_s:
                length = float(rng.uniform(4, 40))
                pending.append((side, t, length))
                if side == 1 and length > 12 and rng.random() < 0.5:
                    pending.append((0, t + length / 2, 0.5))  # a backchannel
                t += length + float(rng.uniform(0.3, 1.5))
                side = 1 - side
            x = (rng.standard_normal((n, 2)) * 10 ** (-60 / 20)).astype(np.float32)
            keep = []
            for s, start, length in pending:
                end = start + length
                if end > a_s and start < b_s:
                    v = _voice(length, s, rng)
                    i0 = int((start - a_s) * RATE)
                    lo, hi = max(0, i0), min(n, i0 + len(v))
                    if hi > lo:
                        x[lo:hi, s] += v[lo - i0 : hi - i0]
                if end > b_s:
                    keep.append((s, start, length))
            pending = keep
            out.write(x)
    return total / RATE


def raw_vad_cpu_s(path: Path, frame_ms: int = 30, mode: int = 3) -> float:
    """CPU seconds for plain webrtcvad over both channels, one frame per call."""
    import webrtcvad

    vads = [webrtcvad.Vad(mode), webrtcvad.Vad(mode)]
    frame = RATE * frame_ms // 1000
    used = 0.0
    for block in sf.blocks(str(path), blocksize=RATE * 10, dtype="int16", always_2d=True):
        t0 = time.process_time()
        for ch in (0, 1):
            data = np.ascontiguousarray(block[:, ch]).tobytes()
            vad = vads[ch]
            step = frame * 2
            for i in range(0, len(data) - step + 1, step):
                vad.is_speech(data[i : i + step], RATE)
        used += time.process_time() - t0
    return used


# Measured from a tiny wrapper process: a child forked from this (large)
# process would count the pages it shares with us until its exec, so its
# ru_maxrss would be ours, not its own.
_WRAPPER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
cpu = ru.ru_utime + ru.ru_stime
print(time.perf_counter() - t0, cpu, ru.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure_child(cmd: list[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit status) of one command."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, check=True
    ).stdout.split()
    wall, cpu, rss_kb, code = float(out[0]), float(out[1]), int(out[2]), int(out[3])
    return wall, cpu, rss_kb / 1024, code


def echo_rows(tmp: Path, coach_bin: str, minutes: float = 10.0) -> str:
    """Analysis speed with the leak gate engaged and not, side by side.

    The same call twice: as recorded on a headset, and with the customer
    leaking into the mic from laptop speakers (-18 dB, 40 ms late).
    """
    headset = tmp / "headset.wav"
    seconds = generate_call(headset, minutes, seed=2)
    x, _ = sf.read(headset, dtype="float32")
    delay = int(0.040 * RATE)
    x[delay:, 0] += x[:-delay, 1] * 10 ** (-18 / 20)
    speakers = tmp / "speakers.wav"
    sf.write(speakers, np.clip(x, -1, 1), RATE, subtype="PCM_16")
    off = tmp / "off.toml"
    off.write_text('[audio]\necho_cancellation = "off"\n')
    lines = [f"{'leak gate, ' + format(minutes, '.0f') + '-minute call':46s}{'x real time':>12s}"]
    for name, path, extra in (
        ("headset, echo_cancellation off", headset, ["--config", str(off)]),
        ("headset, auto (not engaged)", headset, []),
        ("laptop speakers, auto (engaged)", speakers, []),
    ):
        wall, _, _, code = measure_child(
            [coach_bin, "analyze", str(path), "--json", "--no-transcribe", "--no-history", *extra]
        )
        lines.append(f"{name:46s}{seconds / wall:11.0f}x" if code == 0 else f"{name}: failed")
    # the live cost of the same pipeline: 20 ms blocks, as `coach start` feeds it
    lines.append(f"{'live pipeline cost, 20 ms blocks':46s}{'% of a core':>12s}")
    for name, path in (("headset (gate not engaged)", headset), ("laptop speakers", speakers)):
        lines.append(f"{name:46s}{live_cpu_percent(path):11.2f}%")
    return "\n".join(lines)


def live_cpu_percent(path: Path, block: int = 320, backend: str | None = None) -> float:
    """CPU share of one core that CallAnalyzer needs to keep up, fed 20 ms blocks."""
    from dataclasses import replace

    from coach.config import Config, TranscribeConfig
    from coach.core.pipeline import CallAnalyzer

    x, _ = sf.read(path, dtype="float32")
    call = np.ascontiguousarray(x.T)
    config = replace(Config(), transcribe=TranscribeConfig(enabled=False))
    if backend is not None:
        config = replace(config, vad=replace(config.vad, backend=backend))
    analyzer = CallAnalyzer(config)
    t0 = time.process_time()
    for i in range(0, call.shape[1], block):
        analyzer.feed(call[:, i : i + block])
    analyzer.finish()
    used = time.process_time() - t0
    return 100.0 * used / (call.shape[1] / RATE)


def _speech_clips_f1(cmd: list[str], vad_dir: Path) -> str:
    """Pooled F1 on labelled real speech clips (the scorer beside them), or why not."""
    scorer = vad_dir.parent / "vad_score.py"
    if not scorer.exists():
        return "n/a"
    out = subprocess.run(
        [sys.executable, str(scorer), str(vad_dir), *cmd], capture_output=True, text=True
    ).stdout
    total = [line for line in out.splitlines() if line.startswith("TOTAL")]
    return total[0].split("F1")[1].split()[0] if total else "failed"


def _plain_silero_cpu_s(path: Path) -> float:
    """CPU seconds for plain Silero (every window, both channels): the neural anchor."""
    from coach.core.silero_vad import _session

    session = _session()
    used = 0.0
    for block in sf.blocks(str(path), blocksize=512 * 1000, dtype="float32", always_2d=True):
        t0 = time.process_time()
        for ch in (0, 1):
            x = block[: len(block) // 512 * 512, ch].reshape(-1, 512)
            ctx = np.zeros((len(x), 64), np.float32)
            ctx[1:] = x[:-1, -64:]
            h = np.zeros((1, 1, 128), np.float32)
            session.run(None, {"input": np.concatenate((ctx, x), axis=1), "h": h, "c": h})
        used += time.process_time() - t0
    return used


def backend_rows(wav: Path, seconds: float, coach_bin: str, vad_dir: Path | None) -> str:
    """Every speech detector side by side: accuracy on real speech, analysis
    speed, live cost per 20 ms block (without transcription)."""
    tmp = wav.parent
    lines = [
        f"{'speech detector (no transcription)':38s}{'F1 real speech':>15s}"
        f"{'analysis':>11s}{'live, 20 ms':>13s}"
    ]
    clips = vad_dir if vad_dir is not None and vad_dir.is_dir() else None
    for backend in ("silero", "webrtc"):
        cfg = tmp / f"{backend}.toml"
        cfg.write_text(f'[vad]\nbackend = "{backend}"\n')
        wall, _, _, code = measure_child(
            [
                coach_bin,
                "analyze",
                str(wav),
                "--json",
                "--no-transcribe",
                "--no-history",
                "--config",
                str(cfg),
            ]
        )
        f1 = "n/a"
        if clips is not None:
            f1 = _speech_clips_f1(
                [
                    "--cmd",
                    f"{coach_bin} analyze --rep {{wav}} --customer {{silence}} --json "
                    f"--no-transcribe --no-history --config {cfg}",
                ],
                clips,
            )
        live = live_cpu_percent(wav, backend=backend)
        speed = f"{seconds / wall:10.0f}x" if code == 0 else "    failed"
        name = f"coach, vad.backend = {backend}" + (" (default)" if backend == "silero" else "")
        lines.append(f"{name:38s}{f1:>15s} {speed}{live:12.2f}%")
    f1 = "n/a" if clips is None else _speech_clips_f1(["--webrtcvad", sys.executable], clips)
    cpu = raw_vad_cpu_s(wav)
    lines.append(
        f"{'plain webrtcvad (mode 3, 30 ms)':38s}{f1:>15s} {seconds / cpu:10.0f}x"
        f"{100 * cpu / seconds:12.2f}%  (CPU)"
    )
    cpu = _plain_silero_cpu_s(wav)
    lines.append(
        f"{'plain Silero (every window)':38s}{'(its labels)':>15s} {seconds / cpu:10.0f}x"
        f"{100 * cpu / seconds:12.2f}%  (CPU)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the generated call")
    ap.add_argument("--skip-live", action="store_true", help="skip the live-daemon figures")
    ap.add_argument("--skip-transcribe", action="store_true", help="skip the transcription figures")
    ap.add_argument(
        "--speech-clips",
        type=Path,
        default=None,
        help="a folder of labelled real speech clips (NAME.wav + NAME.json, with vad_score.py "
        "beside it) for the detectors' F1",
    )
    args = ap.parse_args(argv)
    coach_bin = str(Path(sys.executable).with_name("coach"))
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        wav, flac = Path(tmp) / "call.wav", Path(tmp) / "call.flac"
        t0 = time.perf_counter()
        seconds = generate_call(wav, args.minutes)
        with sf.SoundFile(flac, "w", RATE, 2, subtype="PCM_16") as out:
            for block in sf.blocks(str(wav), blocksize=RATE * 60, dtype="int16"):
                out.write(block)
        print(
            f"generated a {seconds / 60:.0f}-minute two-channel call (WAV and FLAC) in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        vad_cpu = raw_vad_cpu_s(wav)
        rows: list[tuple[str, float, float | None, str]] = [
            ("raw webrtcvad, 2 channels (the floor)", seconds / vad_cpu, None, "CPU")
        ]
        goals = []
        for path in (wav, flac):
            wall, cpu, rss, code = measure_child(
                [coach_bin, "analyze", str(path), "--json", "--no-transcribe", "--no-history"]
            )
            if code != 0:
                print(f"coach analyze {path.suffix} failed with exit status {code}")
                return 1
            name = f"coach analyze --json --no-transcribe, {path.suffix[1:].upper()}"
            rows.append((name, seconds / wall, rss, "wall"))
            rows.append(("  the same, by CPU time", seconds / cpu, None, "CPU"))
            goals.append((path.suffix[1:].upper(), seconds / wall, rss))
        print()
        title = f"analysis of a {seconds / 60:.0f}-minute call"
        print(f"{title:46s}{'x real time':>12s}{'peak RSS':>11s}")
        for name, speed, mem, basis in rows:
            mem_s = f"{mem:.0f} MB" if mem is not None else ""
            print(f"{name:46s}{speed:11.0f}x{mem_s:>11s}  ({basis})")
        print()
        print(backend_rows(wav, seconds, coach_bin, args.speech_clips))
        print()
        print(echo_rows(Path(tmp), coach_bin))
        for fmt, speed, rss in goals:
            print(
                f"{fmt}: goal >= {GOAL_SPEED_X:.0f}x real time "
                f"{'met' if speed >= GOAL_SPEED_X else 'NOT met'}; "
                f"goal <= {GOAL_RSS_MB:.0f} MB {'met' if rss <= GOAL_RSS_MB else 'NOT met'}"
            )
    if not args.skip_live:
        try:
            from bench import bench_live
        except ImportError:
            print("\nlive daemon: not built yet")
        else:
            print()
            for line in bench_live.run():
                print(line)
    if not args.skip_transcribe:
        from bench import bench_transcribe

        print()
        for line in bench_transcribe.run():
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
