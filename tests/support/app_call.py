"""A call app and a music player on the same virtual speakers, for per-app capture.

- :func:`scene_files` cuts the demo call into the rep's and the customer's WAVs
  (after a lead-in of silence), and a "music" track of other speech (a podcast
  in a browser tab: what the sink monitor would count as the customer);
- :func:`app_player` plays a WAV under an application name (``paplay
  --client-name``), :func:`app_recorder` records the mic under one (a call app
  both plays and records);
- :func:`sink_input_of` finds an app's playback stream with ``pactl``, to move it;
- :func:`speech_mask` and :func:`f1` compare speech segments frame by frame.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.support.live_call import DEMO_CALL

STEP_S = 0.01
"""Resolution of the speech comparison."""


@dataclass(frozen=True)
class SceneFiles:
    call: Path
    """Stereo: the lead-in and the call, as ``coach analyze`` sees it (the truth)."""
    rep: Path
    customer: Path
    music: Path
    rate: int
    customer_audio: np.ndarray

    def customer_from(self, start_s: float) -> Path:
        """The customer's WAV from ``start_s`` on (a call app that reconnected)."""
        out = self.customer.with_name(f"customer-from-{round(start_s * 1000)}.wav")
        sf.write(str(out), self.customer_audio[round(start_s * self.rate) :], self.rate,
                 subtype="PCM_16")  # fmt: skip
        return out


def scene_files(out: Path, call_s: float, lead_s: float, music_s: float) -> SceneFiles:
    """The first ``call_s`` of the demo call after ``lead_s`` of silence; music of
    ``music_s``: the demo's customer story from later on, looped, quieter."""
    x, rate = sf.read(str(DEMO_CALL), dtype="float32", always_2d=True)
    lead = np.zeros((round(lead_s * rate), 2), np.float32)
    call = np.concatenate([lead, x[: round(call_s * rate)]])
    story = x[round(40 * rate) : round(90 * rate), 1] * 0.7
    music = np.tile(story, int(np.ceil(music_s * rate / len(story))))[: round(music_s * rate)]
    paths = {k: out / f"{k}.wav" for k in ("call", "rep", "customer", "music")}
    sf.write(str(paths["call"]), call, rate, subtype="PCM_16")
    sf.write(str(paths["rep"]), call[:, 0], rate, subtype="PCM_16")
    sf.write(str(paths["customer"]), call[:, 1], rate, subtype="PCM_16")
    sf.write(str(paths["music"]), music, rate, subtype="PCM_16")
    return SceneFiles(paths["call"], paths["rep"], paths["customer"], paths["music"], rate,
                      call[:, 1].copy())  # fmt: skip


def app_player(
    env: dict[str, str], app: str, wav: Path, device: str = "coach_spk"
) -> subprocess.Popen[bytes]:
    """``wav`` played into ``device`` by an application called ``app``."""
    return subprocess.Popen(
        ["paplay", f"--client-name={app}", f"--device={device}", str(wav)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def app_recorder(
    env: dict[str, str], app: str, source: str = "coach_mic"
) -> subprocess.Popen[bytes]:
    """An application called ``app`` recording ``source`` (what a call app does with the mic)."""
    return subprocess.Popen(
        ["parec", f"--client-name={app}", f"--device={source}"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def pactl(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL, check=True)  # fmt: skip
    return done.stdout


def sink_input_of(env: dict[str, str], app: str) -> int:
    """The index of ``app``'s playback stream (the only one it has)."""
    found = [int(s["index"]) for s in json.loads(pactl(env, "-f", "json", "list", "sink-inputs"))
             if s.get("properties", {}).get("application.name") == app]  # fmt: skip
    if len(found) != 1:
        raise RuntimeError(f"{app} has {len(found)} playback streams, not one")
    return found[0]


def speech_mask(segments: list[list[float]], duration_s: float, shift_s: float = 0.0) -> np.ndarray:
    """Frames of STEP_S in [0, duration_s) covered by ``segments`` moved by ``-shift_s``."""
    mask = np.zeros(round(duration_s / STEP_S), bool)
    for a, b in segments:
        i, j = round((a - shift_s) / STEP_S), round((b - shift_s) / STEP_S)
        mask[max(0, i) : max(0, min(len(mask), j))] = True
    return mask


def f1(live: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    """Frame F1 of ``live`` speech against ``truth``, on the frames ``where`` is True."""
    tp = float(np.sum(live & truth & where))
    fp = float(np.sum(live & ~truth & where))
    fn = float(np.sum(~live & truth & where))
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
