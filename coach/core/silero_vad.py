"""Speech detection by a neural speech probability, held through a turn, in audio time.

The ``"silero"`` backend of ``vad.backend``: the same stream contract as
`coach.core.vad.SideVad` (float32 blocks at 16 kHz of any size in, speech intervals
that have become final out, in integer ms of audio time, whatever the block
sizes), built on three pieces of evidence per 32 ms window:

1. **Silero VAD's speech probability** (the ONNX model that ships inside
   faster-whisper), run on 512-sample windows with its recurrent state and
   64-sample context carried from window to window.  It hears speech in
   steady noise and at any level where an energy gate cannot.
2. **Holding the floor**: a turn starts where the probability reaches
   `on_threshold` and goes on while it stays above the lower `off_threshold`
   (hysteresis), or while the window is loud over the room (`continue_db`
   over the noise floor, for at most `continue_max_ms` after the last window
   the model was sure of): a laugh, an "mm", a breath inside a turn belong to
   the turn.  A turn ends after `hangover_windows` windows with neither.
3. **The far end leaking into the mic** (laptop speakers): with leak powers
   from coach/core/echo.py a window counts only if at least `own_quarters` of its
   four 8 ms quarters rise above the leak and `own_db` over the noise floor:
   the model hears the customer in the mic as speech too, so only energy of
   the rep's own can tell the two apart.

The noise floor is a minimum statistic: the lowest 32 ms power of the last
`floor_blocks` blocks of 512 ms.  Continuous speech has quiet moments within
any few seconds, so the floor cannot climb onto it, and it follows a room that
gets louder within those seconds.

Cost: the model is run only where speech may be: where webrtcvad (mode 3,
4 us a call) or the energy (`pregate_db` over the floor) heard something in
the last `keep_windows` windows (3 s).  After a stretch without, its state is reset
and it is warmed up on the `preroll_windows` windows before.  The model's
output for a run of windows does not depend on how they are batched, so the
output does not depend on the block sizes.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import webrtcvad

from coach.core.types import SAMPLE_RATE_HZ
from coach.core.vad_params import VadUpdate
from coach.errors import CoachError

WINDOW = 512
"""Samples per model window (32 ms at 16 kHz): the detector's frame."""
WINDOW_MS = WINDOW * 1000 // SAMPLE_RATE_HZ
_CONTEXT = 64  # samples of the previous window the model sees with each window
_QUARTER = WINDOW // 4
_PREGATE_FRAME = 480  # webrtcvad's 30 ms frame: the head of each window
_SILENT_POWER = 1e-10  # below -100 dBFS: digital silence, says nothing about the room
_FLOOR_BLOCK = 16  # windows per block of the minimum statistic (512 ms)
_PREEMPHASIS = np.float32(0.97)


@dataclass(frozen=True)
class SileroParams:
    """Tuning of the neural detector.  Every figure is measured on real speech."""

    on_threshold: float = 0.4
    """Speech probability that starts a turn.  Tuned on either half of the
    labelled real speech, 0.4 was chosen both times (0.5, Silero's own default,
    scores 0.002 lower held out)."""

    off_threshold: float = 0.2
    """Probability that keeps a turn going once started: soft word ends and
    short conversational words sit at 0.2-0.5 and still hold the floor."""

    hangover_windows: int = 3
    """Windows (32 ms) with no evidence before a turn ends: 96 ms, well under
    the 300 ms over which the timeline merges speech anyway."""

    min_windows: int = 2
    """Windows the model must be sure of before a turn counts (64 ms): a key
    click or a blip of leaked sound fills one, the shortest "mhm" eight."""

    continue_db: float = 15.0
    """A window this far over the noise floor continues a turn whatever the
    model says (laughter, an "mm"); clean read speech loses < 0.1 F1 points."""

    sustain_db: float = 12.0
    """Loudness continues a turn only if each 8 ms quarter of the window is within
    this of the loudest: voice and laughter hold their level across 32 ms, a
    keystroke decays within a few ms (typing after a sentence held turns open)."""

    continue_within_db: float = 10.0
    """...and at most this far under the turn's own level (the mean of the
    windows the model was sure of): a laugh or an "mm" comes at the speaker's
    level, a room that gets louder does not."""

    continue_max_ms: int = 2000
    """Longest a turn is carried on loudness alone past the last window the
    model was sure of, so music or a noise burst cannot hold a turn open."""

    own_db: float = 6.0
    """With a leaking far end: a quarter counts as the rep's own if it is above
    the leak and this far over the noise floor."""

    own_quarters: int = 3
    """Quarters of a window that must be the rep's own while the far end leaks:
    a voice over the leak fills the window, a keystroke over it one quarter or
    two (on a real-voice laptop call with typing, 2 let keystrokes through as
    false backchannels in a customer story; rep speech F1 0.99 either way)."""

    pregate_db: float = 6.0
    """The model runs where a window is this far over the floor, or where
    webrtcvad hears speech (which catches louder speech in noise under this)."""

    keep_windows: int = 94
    """The model keeps running this many windows (3 s) past the last one the
    pre-gate passed: a model restarted between the words of a turn has lost its
    context.  Speech 20 dB under a normal level at 5 dB SNR: F1 0.94 with 3 s,
    0.78 with 0.5 s; a whole hour-long call costs 10 % more CPU."""

    preroll_windows: int = 4
    """Windows the model is warmed up on when it starts again after a pause."""

    floor_blocks: int = 6
    """Blocks of 512 ms the noise floor's minimum looks back over (3 s)."""

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 < self.off_threshold <= self.on_threshold < 1.0:
            problems.append("want 0 < off_threshold <= on_threshold < 1")
        if self.min_windows < 1:
            problems.append("min_windows must be >= 1")
        if self.hangover_windows < 0 or self.hangover_windows * WINDOW_MS >= 300:
            problems.append("hangover_windows must be >= 0 and under 300 ms")
        if not 1 <= self.own_quarters <= 4:
            problems.append("own_quarters must be 1..4")
        if self.keep_windows < 0 or self.preroll_windows < 0 or self.floor_blocks < 1:
            problems.append("keep_windows, preroll_windows >= 0 and floor_blocks >= 1")
        if self.continue_max_ms < 0:
            problems.append("continue_max_ms must be >= 0")
        if problems:
            raise CoachError("bad VAD parameters: " + "; ".join(problems))

    @property
    def frame_ms(self) -> int:
        """The detector's frame: one model window."""
        return WINDOW_MS

    @property
    def preemphasis(self) -> float:
        """The pre-emphasis of the energies (the leak gate measures alike)."""
        return float(_PREEMPHASIS)

    def latency_bound_ms(self) -> int:
        """Most that `settled_ms` trails the audio fed: a partial window, and a
        turn pending its `min_windows` or ending in its hangover."""
        pending = (self.min_windows - 1) * (self.hangover_windows + 1)
        return (max(pending, self.hangover_windows + 1) + 1) * WINDOW_MS

    def end_latency_ms(self) -> int:
        """Most that the report of a speech end trails it (whole windows fed)."""
        return (self.hangover_windows + 1) * WINDOW_MS


def model_path() -> Path:
    """Silero VAD's ONNX file inside the installed faster-whisper (not imported)."""
    spec = importlib.util.find_spec("faster_whisper")
    folders = [] if spec is None else list(spec.submodule_search_locations or [])
    for folder in folders:
        found = sorted((Path(folder) / "assets").glob("silero_vad*.onnx"))
        if found:
            return found[-1]
    raise CoachError(
        'vad.backend = "silero" needs faster-whisper\'s Silero model; '
        'reinstall coach (pip install -e .) or set vad.backend = "webrtc"'
    )


@cache
def _session() -> Any:
    """One ONNX session per process, at one thread: the default thread pool
    spins a whole core in a live loop."""
    # onnxruntime's telemetry writes a device id and a session file under
    # ~/.cache and $TMPDIR (and may phone home): nothing may leave the process
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime as ort  # the one heavy import, only for this backend

    ort.disable_telemetry_events()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 4
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
    )


class SileroVad:
    """One side's detector on the neural speech probability; see the module doc."""

    def __init__(self, params: SileroParams = SileroParams()) -> None:  # noqa: B008 - frozen
        self.params = params
        self._session = _session()
        self._webrtc = webrtcvad.Vad(3)
        self._pending = np.zeros(0, np.float32)  # samples not yet in a whole window
        self._prev = np.float32(0.0)  # the sample before them (pre-emphasis)
        self._samples = 0
        self._windows = 0  # windows processed
        self._leak: np.ndarray | None = None  # leak powers of subframes not yet used
        self._leak_from = 0  # stream subframe index of self._leak[0]
        self._history = np.zeros((0, WINDOW), np.float32)  # the last preroll windows
        # the minimum statistic: minima of the last blocks, and of the current one
        self._blocks: list[float] = []
        self._block_min = np.inf
        self._last_quarters = np.zeros(3)  # the powers before this window's quarters
        # the model: running or not, its state
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._running = False
        self._heard = -(10**9)  # the last window the pre-gate passed
        # the turn
        self._start: int | None = None  # its first window
        self._last = -1  # its last window (evidence of any kind)
        self._sure = -1  # its last window above off_threshold
        self._count = 0  # windows of it above off_threshold
        self._level_sum = 0.0  # the sum of their levels (dB)
        self._finished = False

    # -- public ---------------------------------------------------------------
    @property
    def frame_samples(self) -> int:
        return WINDOW

    def feed(self, samples: np.ndarray, leak: np.ndarray | None = None) -> VadUpdate:
        """Take the next block (float in [-1, 1], 16 kHz mono, any length).

        `leak`: as for `SideVad.feed`, one far-end leak power per 10 ms
        subframe that this block completes (None: no leak there).
        """
        if self._finished:
            raise CoachError("VAD stream already finished: start a new detector")
        x = np.asarray(samples)
        if x.size and x.dtype.kind != "f":
            raise CoachError(f"VAD takes float samples in [-1, 1], got {x.dtype}")
        if x.ndim != 1:
            raise CoachError(f"VAD takes mono blocks (1-D), got shape {x.shape}")
        x = np.clip(x.astype(np.float32, copy=False), -1.0, 1.0)
        subs = (self._samples + len(x)) // 160 - self._samples // 160
        self._samples += len(x)
        if leak is not None or self._leak is not None:
            self._queue_leak(leak, subs)
        buf = np.concatenate((self._pending, x)) if len(self._pending) else x
        n = len(buf) // WINDOW
        self._pending = buf[n * WINDOW :].copy()
        closed: list[tuple[int, int]] = []
        if n:
            self._process(buf[: n * WINDOW].reshape(n, WINDOW), closed)
        return self._update(closed)

    def finish(self) -> VadUpdate:
        """End of stream: close any open turn; a partial window is not analysed."""
        if self._finished:
            raise CoachError("VAD stream already finished")
        self._finished = True
        closed: list[tuple[int, int]] = []
        self._close(closed)
        return VadUpdate(closed, self._samples * 1000 // SAMPLE_RATE_HZ, None)

    # -- internals ------------------------------------------------------------
    def _queue_leak(self, leak: np.ndarray | None, subs: int) -> None:
        add = np.zeros(subs) if leak is None else np.asarray(leak, dtype=np.float64)
        if add.shape != (subs,):
            raise CoachError(f"leak: want {subs} subframe powers, not {add.shape}")
        if self._leak is None:
            self._leak_from = self._samples // 160 - subs
            self._leak = add
        else:
            self._leak = np.concatenate((self._leak, add))

    def _leak_quarters(self, n: int) -> np.ndarray | None:
        """Leak power of each quarter of the next n windows: the subframe at its
        middle, or the window's last complete one."""
        if self._leak is None:
            return None
        first = self._windows * WINDOW
        mids = (first + np.arange(n * 4) * _QUARTER + _QUARTER // 2) // 160
        # only subframes complete within the quarter's window are known, whatever the blocks
        ends = (first + (np.arange(n * 4) // 4 + 1) * WINDOW) // 160 - 1
        mids = np.minimum(mids, ends) - self._leak_from
        lk = np.zeros(n * 4)
        ok = (mids >= 0) & (mids < len(self._leak))
        lk[ok] = self._leak[mids[ok]]
        # keep the subframes the next window may still need
        keep = ((first + n * WINDOW) // 160) - self._leak_from
        self._leak = self._leak[keep:] if keep > 0 else self._leak
        self._leak_from += max(keep, 0)
        if not self._leak.any() and not lk.any():
            self._leak = None
            return None
        return lk.reshape(n, 4)

    def _quarter_powers(self, w: np.ndarray) -> np.ndarray:
        """Pre-emphasised mean power of each 8 ms quarter, (n, 4), float64."""
        flat = w.ravel()
        y = np.empty_like(flat)
        np.multiply(flat[:-1], _PREEMPHASIS, out=y[1:])
        y[0] = self._prev * _PREEMPHASIS
        np.subtract(flat, y, out=y)
        self._prev = flat[-1]
        q = y.reshape(-1, _QUARTER).astype(np.float64)
        return np.einsum("ij,ij->i", q, q).reshape(-1, 4) / _QUARTER

    def _process(self, w: np.ndarray, closed: list[tuple[int, int]]) -> None:
        n = len(w)
        p = self.params
        quarters = self._quarter_powers(w)
        leak = self._leak_quarters(n)
        # the floor: the lowest 32 ms power (4 quarters) of the last blocks
        qs = np.concatenate((self._last_quarters, quarters.ravel()))
        smooth = (qs[:-3] + qs[1:-2] + qs[2:-1] + qs[3:]) / 4.0  # ends at each quarter
        self._last_quarters = qs[-3:]
        power = smooth[3::4]  # each window's own mean power
        floors = np.empty(n)
        quarter_floor = np.empty((n, 4))
        mins = np.where(smooth < _SILENT_POWER, np.inf, smooth).reshape(n, 4)
        for k in range(n):
            i = self._windows + k
            past = min(self._blocks) if self._blocks else np.inf
            run = np.minimum.accumulate(np.minimum(mins[k], self._block_min))
            quarter_floor[k] = np.minimum(run, past)
            self._block_min = float(run[-1])
            floors[k] = quarter_floor[k, -1]
            if (i + 1) % _FLOOR_BLOCK == 0:
                self._blocks.append(self._block_min)
                del self._blocks[: -p.floor_blocks]
                self._block_min = np.inf
        # the pre-gate, and which windows the model runs on
        pcm = (w[:, :_PREGATE_FRAME] * 32767.0).astype(np.int16)
        loud_pregate = power > floors * 10.0 ** (p.pregate_db / 10.0)
        run_model = np.zeros(n, bool)
        for k in range(n):
            if loud_pregate[k] or self._webrtc.is_speech(pcm[k].tobytes(), SAMPLE_RATE_HZ):
                self._heard = self._windows + k
            run_model[k] = self._windows + k - self._heard <= p.keep_windows
        prob = self._probabilities(w, run_model)
        # the rep's own energy where the far end leaks
        if leak is not None:
            own_q = (quarters > leak) & (quarters > quarter_floor * 10.0 ** (p.own_db / 10.0))
            own = (own_q.sum(axis=1) >= p.own_quarters) | ~(leak > 0).any(axis=1)
        else:
            own = np.ones(n, bool)
        sustained = quarters.min(axis=1) >= quarters.max(axis=1) * 10.0 ** (-p.sustain_db / 10.0)
        loud = (power > floors * 10.0 ** (p.continue_db / 10.0)) & sustained
        level_db = 10.0 * np.log10(power + _SILENT_POWER)
        self._turns(prob, own, loud, level_db, closed)
        self._windows += n

    def _probabilities(self, w: np.ndarray, run_model: np.ndarray) -> np.ndarray:
        """The model's speech probability per window (0 where it does not run)."""
        n, p = len(w), self.params
        prob = np.zeros(n, np.float32)
        history = np.concatenate((self._history, w))  # windows before these, then these
        before = len(self._history)
        k = 0
        while k < n:
            if not run_model[k]:
                self._running = False
                k += 1
                continue
            j = k
            while j < n and run_model[j]:
                j += 1
            a = k
            if not self._running:  # start afresh, warmed up on the windows before
                self._h[:] = 0.0
                self._c[:] = 0.0
                a = max(k - min(p.preroll_windows, self._windows + k), -before)
            seq = history[before + a : before + j]
            ctx = np.empty((len(seq), _CONTEXT), np.float32)
            ctx[1:] = seq[:-1, -_CONTEXT:]
            if self._running:
                ctx[0] = history[before + a - 1, -_CONTEXT:]
            else:
                ctx[0] = 0.0
            out, self._h, self._c = self._session.run(
                None, {"input": np.concatenate((ctx, seq), axis=1), "h": self._h, "c": self._c}
            )
            prob[k:j] = out.ravel()[k - a :]
            self._running = True
            k = j
        self._history = history[-max(p.preroll_windows, 1) :].copy()
        return prob

    def _turns(
        self,
        prob: np.ndarray,
        own: np.ndarray,
        loud: np.ndarray,
        level_db: np.ndarray,
        closed: list[tuple[int, int]],
    ) -> None:
        """Hysteresis over the windows: start, hold, end turns."""
        p = self.params
        cont = p.continue_max_ms // WINDOW_MS
        for k in range(len(prob)):
            i = self._windows + k
            if self._start is None:
                if prob[k] >= p.on_threshold and own[k]:
                    self._start = self._last = self._sure = i
                    self._count = 1
                    self._level_sum = float(level_db[k])
                continue
            if prob[k] >= p.off_threshold and own[k]:
                self._last = self._sure = i
                self._count += 1
                self._level_sum += float(level_db[k])
            elif (
                loud[k]
                and own[k]
                and i - self._sure <= cont
                and level_db[k] >= self._level_sum / self._count - p.continue_within_db
            ):
                self._last = i
            elif i - self._last > p.hangover_windows:
                self._close(closed)

    def _close(self, closed: list[tuple[int, int]]) -> None:
        if self._start is not None and self._count >= self.params.min_windows:
            closed.append((self._start * WINDOW_MS, (self._last + 1) * WINDOW_MS))
        self._start = None

    def _update(self, closed: list[tuple[int, int]]) -> VadUpdate:
        if self._start is None:
            return VadUpdate(closed, self._windows * WINDOW_MS, None)
        if (
            self._count < self.params.min_windows
        ):  # not a turn yet: nothing after its start is final
            return VadUpdate(closed, self._start * WINDOW_MS, None)
        return VadUpdate(closed, (self._last + 1) * WINDOW_MS, self._start * WINDOW_MS)
