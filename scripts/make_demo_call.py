#!/usr/bin/env python3
"""Build the sample call that ships with coach (``coach demo``, the live e2e test).

    make_demo_call.py [OUT_STEM]        (default: coach/data/demo_call)

Writes OUT_STEM.flac (stereo 16 kHz PCM_16: rep left, customer right) and
OUT_STEM.json (truth: per-side speech intervals, in the timeline file format).

A ~90 s discovery call about CRM/onboarding pain, spoken by two espeak-ng
voices, scripted so that the default config shows these nudges:

* a ~40 s customer story with no rep backchannel: ``acknowledge`` at the first
  pause after 20 s, ``deepen`` 1 s after the story ends (it ran past 30 s);
* a later customer stretch with rep backchannels in the pauses ("Mhm.",
  "Aha.", "Right."), so no reminder is needed there;
* the rep cutting into a customer sentence (the customer goes on for ~1.2 s,
  then stops): ``let_finish`` 1 s after the rep starts;
* otherwise clean turn-taking: every other turn starts after the previous one
  ended (0.6-1.4 s pauses), never over it.

Deterministic: espeak-ng output is fixed for a given version and voice, and the
pause jitter and room noise come from a seeded generator.  Needs espeak-ng on
PATH, numpy, soundfile and soxr (all project dependencies but espeak-ng).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

SR = 16000
REP_VOICE = ("en-us", 170)  # (espeak-ng voice, words per minute)
CUSTOMER_VOICE = ("en-gb+f3", 160)
PEAK = 0.25  # every utterance is normalised to this peak (-12 dBFS; speech RMS ~ -26 dBFS)
TRUTH_BELOW_PEAK_DB = 34.0  # a 10 ms frame louder than peak - this is speech in the truth
TRUTH_MERGE_S = 0.3  # truth gaps shorter than this are merged (vad.merge_gap_s)
MIC_SNR_DB = 35.0  # room noise on the rep's microphone, relative to speech RMS
LOOPBACK_SNR_DB = 55.0  # the far side's codec/room hiss is fainter
SEED = 20240607
REP, CUSTOMER = 0, 1

Clip = tuple[np.ndarray, list[tuple[float, float]]]


def synthesize(text: str, voice: tuple[str, int]) -> Clip:
    """One utterance at 16 kHz, trimmed to its speech, and its speech intervals (s)."""
    name, wpm = voice
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "u.wav")
        subprocess.run(["espeak-ng", "-v", name, "-s", str(wpm), "-w", wav, text], check=True)
        x, sr = sf.read(wav, dtype="float32")
    x = soxr.resample(x, sr, SR).astype(np.float32)
    x *= PEAK / (float(np.max(np.abs(x))) + 1e-9)
    parts = speech_parts(x)
    a0, b0 = parts[0][0], parts[-1][1]
    sig = x[int(round(a0 * SR)) : int(round(b0 * SR))]
    return sig, [(a - a0, b - a0) for a, b in parts]


def speech_parts(x: np.ndarray) -> list[tuple[float, float]]:
    """10 ms frames above the truth level, gaps shorter than TRUTH_MERGE_S merged.

    The level is relative to the peak (-40 dBFS for a 0.5 peak)."""
    f = SR // 100
    n = len(x) // f
    rms = np.sqrt(np.mean(x[: n * f].reshape(n, f) ** 2, axis=1) + 1e-12)
    on = 20 * np.log10(rms) > 20 * np.log10(PEAK) - TRUTH_BELOW_PEAK_DB
    parts: list[list[float]] = []
    start = None
    for i, v in enumerate(np.append(on, False)):
        if v and start is None:
            start = i
        elif not v and start is not None:
            a, b = start / 100, i / 100
            if parts and a - parts[-1][1] < TRUTH_MERGE_S:
                parts[-1][1] = b
            else:
                parts.append([a, b])
            start = None
    return [(a, b) for a, b in parts]


@dataclass
class DemoCall:
    """Lays utterances on a two-channel track and records where the speech is."""

    seconds: float
    rng: np.random.Generator
    x: np.ndarray = field(init=False)
    truth: dict[str, list[list[float]]] = field(init=False)
    script: dict[str, Any] = field(init=False)  # what was staged where (s), for readers
    t: float = 0.0  # the cursor: where the next turn starts

    def __post_init__(self) -> None:
        self.x = np.zeros((2, int(self.seconds * SR)), np.float32)
        self.truth = {"rep": [], "customer": []}
        self.script = {"intended_nudges": ["acknowledge", "deepen", "let_finish"]}

    def put(self, ch: int, t: float, clip: Clip, cut_s: float | None = None) -> float:
        """Place clip on channel ch at t (optionally cut after cut_s); return its end."""
        sig, parts = clip
        if cut_s is not None:  # the speaker stops mid-sentence: 30 ms fade, no click
            sig = sig[: int(cut_s * SR)].copy()
            fade = min(len(sig), int(0.03 * SR))
            sig[len(sig) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
            parts = [(a, min(b, cut_s)) for a, b in parts if a < cut_s]
        i = int(round(t * SR))
        if i + len(sig) > self.x.shape[1]:
            raise ValueError(f"the script runs past {self.seconds} s")
        self.x[ch, i : i + len(sig)] += sig
        side = "rep" if ch == REP else "customer"
        self.truth[side] += [[round(t + a, 3), round(t + b, 3)] for a, b in parts]
        return t + len(sig) / SR

    def turn(self, ch: int, clips: list[Clip], inner: float, after: float) -> float:
        """One side's turn: clips back to back, `inner` s apart; the cursor moves
        to the end plus `after` s.  Pauses jitter by +-50 ms (seeded)."""
        for k, clip in enumerate(clips):
            end = self.put(ch, self.t, clip)
            last = k == len(clips) - 1
            self.t = end + (after if last else inner) + float(self.rng.uniform(-0.05, 0.05))
        return end


def room_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink-ish noise: integrated white noise with the rumble taken out."""
    w = rng.standard_normal(n)
    brown = np.cumsum(w)
    brown -= np.convolve(brown, np.ones(400) / 400, "same")
    return (brown / (np.std(brown) + 1e-12)).astype(np.float32)


def build() -> DemoCall:
    def rep(*texts: str) -> list[Clip]:
        return [synthesize(s, REP_VOICE) for s in texts]

    def cust(*texts: str) -> list[Clip]:
        return [synthesize(s, CUSTOMER_VOICE) for s in texts]

    c = DemoCall(seconds=120.0, rng=np.random.default_rng(SEED))
    c.t = 0.8
    # Opening: normal turn-taking.
    c.turn(REP, rep("Hi Dana, thanks for making the time today."), inner=0.5, after=0.8)
    c.turn(CUSTOMER, cust("Sure, happy to chat."), inner=0.5, after=0.8)
    c.turn(
        REP,
        rep("I'd love to hear what happens after a new customer signs with you."),
        inner=0.5,
        after=0.9,
    )
    # The customer story: ~40 s, no backchannel from the rep.  Pauses between
    # sentences are 0.55-0.65 s: long enough for the acknowledge pause (0.3 s),
    # short of the deepen pause (1.0 s) and the floor lapse (2.0 s).
    story_start = c.t
    story_end = c.turn(
        CUSTOMER,
        cust(
            "Honestly, it's a bit of a mess right now.",
            "When a deal closes, the account executive exports the contract from the CRM "
            "into a spreadsheet.",
            "Then someone in operations copies the same data into our billing system by hand.",
            "Support gets an email, so they create the customer account a third time, "
            "in their own tool.",
            "Every copy is a chance for mistakes, and we usually find them weeks later.",
            "Last quarter we lost two renewals because nobody noticed the contract end dates.",
            "New customers wait about ten days before anyone even calls them.",
            "And my manager keeps asking why onboarding takes longer than the sale itself.",
        ),
        inner=0.6,
        after=1.4,
    )
    c.script["customer_story_s"] = [round(story_start, 3), round(story_end, 3)]
    c.turn(REP, rep("That sounds painful. Which part hurts the most?"), inner=0.5, after=0.8)
    # A customer stretch with the rep backchanneling in the pauses.
    bcs = iter(rep("Mhm.", "Aha.", "Right."))
    lines = cust(
        "The handover between sales and support.",
        "Sales promises a start date, but support hears about it days later.",
        "So our first call with a new customer is often an apology.",
        "We need one place where everyone sees the same account.",
    )
    for k, line in enumerate(lines):
        end = c.put(CUSTOMER, c.t, line)
        if k < len(lines) - 1:
            bc = next(bcs)
            # ~1.1 s pause, the backchannel in its middle: no overlap either way
            gap = 1.1 + float(c.rng.uniform(-0.05, 0.05))
            bc_start = end + (gap - len(bc[0]) / SR) / 2
            c.put(REP, bc_start, bc)
            c.script.setdefault("rep_backchannels_s", []).append(round(bc_start, 3))
            c.t = end + gap
        else:
            c.t = end + 0.8
    c.turn(REP, rep("Got it. And how do you track renewals today?"), inner=0.5, after=0.8)
    # The interruption: the rep cuts in 2.5 s into a long customer sentence; the
    # customer goes on for 1.2 s over the rep, then stops.
    cut_in = 2.5
    long_line = cust(
        "Well, renewals live in another spreadsheet that finance owns, and to be "
        "honest, nobody really trusts the numbers in it, because half of them"
    )[0]
    start = c.t
    c.put(CUSTOMER, start, long_line, cut_s=cut_in + 1.2)
    c.t = start + cut_in
    c.script["interruption_s"] = round(c.t, 3)
    c.turn(
        REP,
        rep("Sorry to jump in, but our platform sends renewal alerts automatically."),
        inner=0.5,
        after=0.8,
    )
    c.turn(
        CUSTOMER,
        cust("Okay, that could help. But how does the migration work?"),
        inner=0.5,
        after=0.8,
    )
    end = c.turn(
        REP, rep("Let's book a session next week and I'll show you."), inner=0.5, after=0.0
    )
    c.x = c.x[:, : int(round((end + 1.2) * SR))]
    c.seconds = c.x.shape[1] / SR
    return c


def speech_rms(x: np.ndarray, parts: list[list[float]]) -> float:
    sel = np.concatenate([x[int(a * SR) : int(b * SR)] for a, b in parts])
    return float(np.sqrt(np.mean(sel**2)))


def write(c: DemoCall, stem: Path) -> None:
    x = c.x.copy()
    for ch, side, snr in ((REP, "rep", MIC_SNR_DB), (CUSTOMER, "customer", LOOPBACK_SNR_DB)):
        level = speech_rms(c.x[ch], c.truth[side]) * 10 ** (-snr / 20)
        x[ch] += room_noise(x.shape[1], c.rng) * level
    pcm = np.clip(np.rint(x.T * 32767), -32768, 32767).astype(np.int16)
    stem.parent.mkdir(parents=True, exist_ok=True)
    sf.write(
        stem.with_suffix(".flac"), pcm, SR, subtype="PCM_16", format="FLAC", compression_level=1.0
    )
    truth = {
        "duration_s": round(c.seconds, 3),
        "speech": {k: sorted(v) for k, v in c.truth.items()},
        "script": c.script,
        "conditions": {
            "mic_snr_db": MIC_SNR_DB,
            "loopback_snr_db": LOOPBACK_SNR_DB,
            "rep_voice": REP_VOICE[0],
            "customer_voice": CUSTOMER_VOICE[0],
            "seed": SEED,
        },
    }
    stem.with_suffix(".json").write_text(json.dumps(truth, indent=1) + "\n")


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    stem = Path(argv[1]) if len(argv) > 1 else root / "coach" / "data" / "demo_call"
    call = build()
    write(call, stem)
    size = stem.with_suffix(".flac").stat().st_size
    print(f"{stem.with_suffix('.flac')}: {call.seconds:.1f} s, {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
