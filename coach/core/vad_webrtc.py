"""The webrtc backend's frame evidence: webrtcvad's verdict behind a slow AGC, and clicks.

`WebrtcFrames` turns a block of whole frames (float32 samples, with their
energies and which frames are loud) into webrtcvad's speech verdict per frame,
each frame boosted first by a slow AGC (webrtcvad is level-dependent, so a
quiet speaker is brought up to `agc_target_dbfs`). `sustained` tells the frames
that hold their energy from key clicks. `SideVad` (coach.core.vad) turns this
evidence into speech intervals.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

from coach.core.types import SAMPLE_RATE_HZ
from coach.core.vad_params import SUBFRAME_MS, VadParams

SAMPLES_PER_MS = SAMPLE_RATE_HZ // 1000
_AGC_STEP_DB = 6.0  # the gain before webrtcvad moves in steps of this
_AGC_FRAMES = 32  # the AGC's level is the mean of this many loud frames (~1 s of speech)
_BIN_MS = 5  # resolution of the transient test (ms)
_BIN = _BIN_MS * SAMPLES_PER_MS


class WebrtcFrames:
    """webrtcvad over a stream of frames, with the AGC's state carried between blocks."""

    def __init__(self, params: VadParams) -> None:
        self.params = params
        self._vad = webrtcvad.Vad(params.mode)
        self._flen = params.frame_ms * SAMPLES_PER_MS
        self._agc_hist: list[int] = []  # energies of the last loud frames (AGC)
        self._boost_db = 0.0  # gain applied before webrtcvad (AGC)
        self._scales: dict[float, np.float32] = {}  # `_scale` of each boost used

    @property
    def boost_db(self) -> float:
        """The AGC's gain on webrtcvad's input now (dB)."""
        return self._boost_db

    def speech(self, x: np.ndarray, n: int, e: np.ndarray, loud: np.ndarray) -> np.ndarray:
        """webrtcvad's verdict on each of the n frames of x (on every frame: its
        noise model adapts on the quiet ones); e and loud feed the AGC."""
        start = self._boost_db
        changes = self.agc(e, loud) if self.params.agc_max_db else []
        return np.array(self._webrtc(self._pcm(x, n, start, changes), n), bool)

    def _webrtc(self, pcm: memoryview, n: int) -> list[bool]:
        """webrtcvad's verdict on each of the n frames of pcm."""
        step, vad, sr = 2 * self._flen, self._vad, SAMPLE_RATE_HZ
        return [vad.is_speech(pcm[i : i + step], sr) for i in range(0, n * step, step)]

    def _pcm(
        self, x: np.ndarray, n: int, start: float, changes: list[tuple[int, float]]
    ) -> memoryview:
        """16-bit PCM bytes for webrtcvad, boosted by the AGC frame by frame
        (`start` dB, then the `changes` from `_agc`)."""
        # (the ufuncs' reduce directly: x.max()'s wrapper costs as much again)
        if np.maximum.reduce(x) > 1.0 or np.minimum.reduce(x) < -1.0:
            x = np.clip(x, -1.0, 1.0)
        pcm = np.empty(len(x), np.int16)
        if not changes and not start:
            # one pass, float to int16; |x| <= 1 so 32767 cannot overflow
            np.multiply(x, np.float32(32767.0), out=pcm, casting="unsafe")
        else:
            if changes:
                gain = np.full(n, start)
                for k, b in changes:
                    gain[k:] = b
                scaled = x.reshape(n, -1) * _scale(gain)[:, None]
            else:  # one gain (a live block): the same product, per sample
                scaled = x * self._scale_of(start)
            np.clip(scaled, -32768.0, 32767.0, out=scaled)
            pcm[:] = scaled.ravel()
        return memoryview(pcm.data).cast("B")

    def _scale_of(self, boost: float) -> np.float32:
        """`_scale` of one boost, cached (the AGC moves in a few steps)."""
        scale = self._scales.get(boost)
        if scale is None:
            scale = self._scales[boost] = _scale(np.full(1, boost))[0]
        return scale

    def agc(self, e: np.ndarray, loud: np.ndarray) -> list[tuple[int, float]]:
        """Boost changes in this block: (first frame it applies to, boost dB).

        The level is the mean energy of the last `_AGC_FRAMES` loud frames,
        in exact integers, so it does not depend on the block sizes.
        """
        idx = np.flatnonzero(loud)
        if not len(idx):
            return []
        p = self.params
        hist = np.concatenate((np.array(self._agc_hist, np.int64), e[idx]))
        sums = np.concatenate(([0], np.cumsum(hist)))
        ends = np.arange(len(self._agc_hist) + 1, len(hist) + 1)
        starts = np.maximum(ends - _AGC_FRAMES, 0)
        level = (sums[ends] - sums[starts]) / (ends - starts) / 100.0
        want = np.clip(p.agc_target_dbfs - level, 0.0, p.agc_max_db)
        step = _AGC_STEP_DB
        self._agc_hist = hist[-(_AGC_FRAMES - 1) :].tolist()
        changes: list[tuple[int, float]] = []
        boost, pos = self._boost_db, 0
        while True:
            # a step at a time, with 6 dB of hysteresis: up once the level is
            # 1.5 steps short, down once it is half a step over
            rest = want[pos:]
            off = np.flatnonzero((rest > boost + 1.5 * step) | (rest < boost - 0.5 * step))
            if not len(off):
                break
            j = pos + int(off[0])
            boost += step if want[j] > boost else -step
            changes.append((int(idx[j]) + 1, boost))
            pos = j + 1
        self._boost_db = boost
        return changes


def sustained(
    params: VadParams, y: np.ndarray, n: int, idx: np.ndarray, leak: np.ndarray | None
) -> np.ndarray | None:
    """Which of the speech frames idx hold their energy (None: all).

    The frame's 10 ms windows at 5 ms steps (each spans a pitch period
    of 100 Hz and up) must all be within `transient_db` of the loudest.
    A key click rises at once and decays within a few ms.  With a leak,
    what counts is the energy above it (a click over the customer's
    leaked voice is still a click).
    """
    p = params
    if not p.transient_db or p.frame_ms < 20 or not len(idx):
        return None
    bins = y.reshape(n, -1, _BIN)[idx]
    be = np.einsum("ijk,ijk->ij", bins, bins)
    if leak is not None:
        per_bin = np.repeat(leak[idx], SUBFRAME_MS // _BIN_MS, axis=1) * _BIN
        be = np.maximum(be - per_bin, 0.0)
    win = be[:, :-1] + be[:, 1:]  # 10 ms windows at 5 ms steps
    near = win >= win.max(axis=1, keepdims=True) * np.float32(10.0 ** (-p.transient_db / 10.0))
    ok: np.ndarray = near.all(axis=1)
    return ok


def _scale(gain_db: np.ndarray) -> np.ndarray:
    """float32 factors from [-1, 1] to 16-bit PCM boosted by gain_db."""
    scale: np.ndarray = (32767.0 * 10.0 ** (gain_db / 20.0)).astype(np.float32)
    return scale
