"""Per-side voice activity detection, incremental, in audio time.

One `SideVad` per side (rep microphone, customer loopback).  Feed it float32
mono blocks at 16 kHz of any size; it answers with the speech intervals that
have become final, in integer milliseconds of audio time (sample counts, never
the wall clock).  The output does not depend on how the stream was cut into
blocks: a whole file and the live daemon's 20 ms blocks give the same
intervals.

How a frame becomes speech (one `frame_ms` frame at a time):

1. webrtcvad (`mode`) must call it speech, and
2. its energy after a first-order pre-emphasis (which removes the rumble that
   dominates room noise) must exceed the tracked noise floor by `gate_db`,
   and the absolute `min_level_dbfs`.

The gate is what trims webrtcvad's own hangover: after a word ends webrtcvad
keeps saying "speech" for ~90 ms (its internal overhang), but those frames
carry only room noise.  The same gate rejects its false positives on noise.
The noise floor follows the quietest frames: it drops at once to a quieter
frame and rises slowly (`floor_rise_db_per_s`), so it stays at the room's
level through speech, whatever the input gain: a quiet rep is judged against
their own quiet room, not an absolute level.  webrtcvad itself is
level-dependent, so a slow AGC (`agc_target_dbfs`) boosts what it sees when
the speech is quiet.

Speech frames are grouped into runs: a run bridges up to `hangover_frames`
non-speech frames, and counts as speech once it holds `onset_frames` speech
frames (a lone frame -- a click, a bump -- is dropped).  A finished run is
reported from its first to its last speech frame, refined to 10 ms by energy:
edge subframes below floor + `edge_db` are cut off, a soft onset may reach
back `lookback_ms` into the frame before, and a loud frame webrtcvad missed
within the hangover (a final "t") extends the end (`tail_db`).  So the end is
where the speech stopped, not where a hangover ran out.

Gaps up to `hangover_frames * frame_ms` (90 ms by default) are bridged here;
the timeline stage merges every gap under `vad.merge_gap_s` (300 ms) anyway,
so this is invisible downstream.  Two words 150 ms apart come out as two
intervals.

Latency: `settled_ms` trails the audio fed by at most `latency_bound_ms(params)`
(180 ms with the defaults: a partial frame, the look-back, and a run pending
its onset or ending in its hangover); while someone speaks steadily, by under
60 ms.

On the mic side, the customer leaking from laptop speakers is judged by
coach/core/echo.py against the loopback; its per-10 ms "leak powers" come in
through `feed(samples, leak=...)` as one more vectorised per-frame
condition next to `gate_db`: a frame must rise above the leak to count
(the run logic and the stream contract are untouched; without leak powers
the output is exactly as before).  Key clicks: a frame whose energy is not
sustained across it (`transient_db`) can at most end a run, never start or
prolong one.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np
import webrtcvad

from coach.core.levels import preemphasise, rising_floor, subframe_energies
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

SAMPLES_PER_MS = SAMPLE_RATE_HZ // 1000
SUBFRAME_MS = 10
"""Resolution of the boundary refinement (ms): the truth grid of the eval."""
_SUB = SUBFRAME_MS * SAMPLES_PER_MS
_SILENCE_DB = -120.0  # energy given to digital silence (log of 0)
_POWER_EPS = 10.0 ** (_SILENCE_DB / 10.0)
_CHUNK_FRAMES = 256  # frames processed at once (~8 s): big enough, cache-sized
_INITIAL_FLOOR_DBFS = -60.0  # assumed room noise (pre-emphasised) until the room is heard
_DIGITAL_SILENCE = round(_SILENCE_DB * 100) + 100  # 0.01 dB: digital zero (log of 0 is -120)
_NO_FLOOR = np.iinfo(np.int64).max // 4  # no floor yet: nothing is loud
_AGC_STEP_DB = 6.0  # the gain before webrtcvad moves in steps of this
_AGC_FRAMES = 32  # the AGC's level is the mean of this many loud frames (~1 s of speech)
_BIN_MS = 5  # resolution of the transient test (ms)
_BIN = _BIN_MS * SAMPLES_PER_MS


@dataclass(frozen=True)
class VadParams:
    """Tuning of the ``webrtc`` backend.  The defaults are the tuned values.

    Tuned on synthetic (espeak) calls in room noise at 25-35 dB SNR.  On
    labelled real speech it scores F1 0.73: it holds on clean, quiet and
    typed-over speech (0.95-0.98) and loses most speech in steady room noise
    (0.20 at 10 dB SNR); the ``silero`` backend is the default for that reason.
    """

    mode: int = 3
    """webrtcvad aggressiveness 0..3.  3 is the least likely to call noise
    speech; modes 0-1 bridge turns in noise (measured: 186 s false
    "monologues" at 10 dB SNR in mode 0)."""

    frame_ms: int = 30
    """webrtcvad frame length in ms: 10, 20 or 30.  30 ms is the cheapest
    (one C call per 30 ms) and as accurate here; boundaries are refined to
    10 ms by energy anyway."""

    onset_frames: int = 2
    """Speech frames a run needs before it counts (60 ms with 30 ms frames).
    Drops lone-frame clicks and bumps; the shortest backchannel ("mhm",
    ~250 ms) is far longer."""

    hangover_frames: int = 3
    """Non-speech frames bridged inside a run (90 ms).  Keeps a run of
    fragmented speech whole so `onset_frames` can count it, and must stay
    below `vad.merge_gap_s` so the bridging is invisible downstream.  Adds
    directly to the latency of `settled_ms` after speech stops."""

    gate_db: float = 9.0
    """A frame is speech only if its pre-emphasised energy exceeds the noise
    floor by this many dB.  Cuts webrtcvad's ~90 ms overhang tails (noise-only
    frames) and its false positives on room noise."""

    edge_db: float = 3.0
    """Boundary refinement: leading/trailing 10 ms subframes of a run whose
    pre-emphasised energy is below floor + `edge_db` are trimmed.  At most
    `gate_db`, so a gated frame always keeps at least one subframe."""

    tail_db: float = 10.0
    """A frame webrtcvad calls non-speech but whose pre-emphasised energy is
    this far above the floor extends a run's end when it falls within the
    hangover (webrtcvad drops weak word-final plosives and fricatives).  It
    never starts a run or keeps one alive.  At least `edge_db`."""

    lookback_ms: int = 30
    """How far a run's start may reach back into the frame before its first
    speech frame (ms, multiple of 10; at most one frame is used): webrtcvad is
    often a frame late on soft onsets.  Adds to the latency of `settled_ms`."""

    transient_db: float = 12.0
    """Key clicks: a frame is speech only if its energy is sustained -- its
    10 ms windows at 5 ms steps (5 in a 30 ms frame) all within this many
    dB of the loudest.  A keystroke rises at once and decays within a few
    ms; voiced speech, whose pitch pulses come at least every 10 ms, holds
    its level across the frame.  A frame that fails counts as a tail (it
    may end a run within the hangover, never start or prolong one), so a
    word's edges and creaky voice at the end of a phrase are not lost.
    Measured on generated typing bursts over a headset rep (4-8 keys/s with
    release clicks, 0.3 peak, 1-8 ms decays; tests/test_real_rooms.py):
    speech F1 0.64-0.87 and 6-9 false interruptions per 90 s without it,
    0.95-1.0 and none with it (8 keys/s of 8 ms decays: 0.947, 2); the eval
    calls' F1 moves by < 0.005.  Needs 20 or 30 ms frames; 0 disables."""

    min_level_dbfs: float = -85.0
    """Absolute gate (dBFS, pre-emphasised frame energy): nothing quieter is
    speech, whatever the floor -- digital silence, dither (1 LSB of 16-bit
    audio is about -100 dBFS), a muted mic.  Low enough for a mic 30 dB
    too quiet."""

    agc_target_dbfs: float = -45.0
    """webrtcvad is level-dependent: it loses speech when the input is quiet
    (measured: a rep channel 30 dB under a normal headset level drops to
    speech F1 0.82-0.97, 35 dB below to nothing).  The AGC boosts the samples
    given to webrtcvad, in 6 dB steps, when the mean pre-emphasised energy
    of the last ~1 s of loud frames (those past the energy gate; -36 to -47
    dBFS for speech at a normal level) is 9 dB or more below this target,
    and steps back once it is within 3 dB.  So speech at a normal level is
    never touched.  It never attenuates; energies and gates use the
    unboosted signal."""

    agc_max_db: float = 36.0
    """Most boost the AGC may apply (dB); 0 disables it."""

    floor_rise_db_per_s: float = 1.0
    """How fast the noise floor may rise (dB per second of audio).  It drops
    at once to any quieter frame.  Slow enough that a minute of speech with
    only short pauses does not lift it into the speech; fast enough to follow
    a fan switched on within ~20 s."""

    preemphasis: float = 0.97
    """First-order pre-emphasis y[n] = x[n] - a*x[n-1] before measuring
    energy: room noise is mostly below 200 Hz; after it the energy gate sees
    the speech band.  0 disables it."""

    @property
    def lookback_used_ms(self) -> int:
        """The look-back actually applied: `lookback_ms`, at most one frame."""
        return min(self.lookback_ms, self.frame_ms)

    def __post_init__(self) -> None:
        problems = []
        if self.mode not in (0, 1, 2, 3):
            problems.append(f"mode must be 0..3, not {self.mode!r}")
        if self.frame_ms not in (10, 20, 30):
            problems.append(f"frame_ms must be 10, 20 or 30, not {self.frame_ms!r}")
        if self.onset_frames < 1:
            problems.append(f"onset_frames must be >= 1, not {self.onset_frames!r}")
        if self.hangover_frames < 0:
            problems.append(f"hangover_frames must be >= 0, not {self.hangover_frames!r}")
        if self.frame_ms in (10, 20, 30) and self.hangover_frames * self.frame_ms >= 300:
            problems.append("hangover_frames * frame_ms must stay below 300 ms (vad.merge_gap_s)")
        if not 0.0 <= self.edge_db <= self.gate_db:
            problems.append(f"edge_db must be in 0..gate_db, not {self.edge_db!r}")
        if self.tail_db < self.edge_db:
            problems.append("tail_db must be >= edge_db")
        if self.lookback_ms < 0 or self.lookback_ms % SUBFRAME_MS:
            problems.append(f"lookback_ms must be a multiple of 10, >= 0, not {self.lookback_ms!r}")
        if self.transient_db < 0:
            problems.append("transient_db must be >= 0")
        if self.floor_rise_db_per_s < 0:
            problems.append("floor_rise_db_per_s must be >= 0")
        if not 0.0 <= self.preemphasis < 1.0:
            problems.append(f"preemphasis must be in [0, 1), not {self.preemphasis!r}")
        if problems:
            raise CoachError("bad VAD parameters: " + "; ".join(problems))


def latency_bound_ms(params: VadParams) -> int:
    """Most that `settled_ms` can trail the audio fed (ms).

    A partial frame, the look-back, and the longest a run can stay pending
    (each speech frame within `hangover_frames` of the last, until
    `onset_frames`) or stay open after its last speech frame (the hangover).
    """
    pending = max((params.onset_frames - 1) * (params.hangover_frames + 1), 0)
    frames = max(pending, params.hangover_frames + 1)
    return params.frame_ms + params.lookback_used_ms + frames * params.frame_ms


def end_latency_ms(params: VadParams) -> int:
    """Most that the report of a speech end trails it (ms of audio fed, whole frames).

    An interval ``[s, e)`` is closed by the frame ``hangover_frames + 1`` after
    its last speech frame (or a speech frame there extends it), and ``e`` lies
    at least one subframe into that speech frame (a loud tail frame only moves
    it later): the frames fed up to ``e`` plus this always report it. Less than
    ``latency_bound_ms``, which also covers a start pending its onset.
    """
    return (params.hangover_frames + 2) * params.frame_ms - SUBFRAME_MS


@dataclass(frozen=True)
class VadUpdate:
    """What one `feed` (or `finish`) call has settled.  Times in ms of audio."""

    closed: list[tuple[int, int]] = field(default_factory=list)
    """Speech intervals [start_ms, end_ms) that are now final, in order."""
    settled_ms: int = 0
    """Everything before this audio time is final: no later output starts
    before it (except the closing of the open interval reported below)."""
    open_start_ms: int | None = None
    """If speech is in progress: its start.  It runs from there to at least
    `settled_ms`."""


class SideVad:
    """The VAD of one side: a state machine over frames, driven by samples.

    Per block, everything but the webrtcvad call is vectorised (energies, the
    noise floor, the gates, the grouping of speech frames into runs); Python
    touches a frame only to call webrtcvad, and a run once.  A live block of
    one frame takes the same path as a whole file's.  Not thread-safe; one
    instance per stream.
    """

    def __init__(self, params: VadParams = VadParams()) -> None:  # noqa: B008 - frozen
        self.params = params
        self._vad = webrtcvad.Vad(params.mode)
        self._flen = params.frame_ms * SAMPLES_PER_MS
        self._nsub = params.frame_ms // SUBFRAME_MS
        # frame energies are integers in 0.01 dB, so the vectorised noise
        # floor is exact and identical whatever the block sizes
        self._rise = round(params.floor_rise_db_per_s * params.frame_ms / 10.0)
        self._gate = round(params.gate_db * 100)
        self._tail = round(params.tail_db * 100)
        self._min_level = round(params.min_level_dbfs * 100)
        self._pending = np.zeros(0, np.float32)  # samples not yet in a whole frame
        self._prev = np.float32(0.0)  # the sample before them (pre-emphasis)
        self._pre = np.float32(params.preemphasis)
        self._samples = 0  # samples fed
        self._frames = 0  # frames processed
        self._floor: int | None = None  # noise floor, 0.01 dB (pre-emphasised)
        self._frames_seen = 0  # frames through the floor tracker so far
        self._initial_floor = round(_INITIAL_FLOOR_DBFS * 100)
        self._agc_hist: list[int] = []  # energies of the last loud frames (AGC)
        self._boost_db = 0.0  # gain applied before webrtcvad (AGC)
        self._scales: dict[float, np.float32] = {}  # `_scale` of each boost used
        self._prev_row: np.ndarray | None = None  # subframe powers of the last frame
        self._leak: np.ndarray | None = None  # leak powers of subframes not yet in a frame
        self._finished = False
        # the current run of speech frames
        self._run_start: int | None = None  # its start, ms (None: no run)
        self._closed_end = 0  # end of the last closed run: the next may not start before
        self._run_count = 0  # speech frames in it
        self._voiced = -1  # its last speech frame (keeps the run alive)
        self._last = -1  # the frame it ends in (speech, or loud within the hangover)
        self._last_row: np.ndarray = np.zeros(0)  # that frame's subframe powers
        self._last_thr = 0.0  # power of floor + edge_db there

    # -- public ---------------------------------------------------------------
    def feed(self, samples: np.ndarray, leak: np.ndarray | None = None) -> VadUpdate:
        """Take the next block (float32 in [-1, 1], 16 kHz mono, any length).

        `leak` (optional, from the mic side's echo stage, coach/core/echo.py): one
        value per 10 ms subframe that this block completes, counted from the
        stream's first sample (``total_samples // 160`` values over the whole
        stream): the pre-emphasised mean power that the far end leaking into
        the mic may reach there.  A frame whose energy is not above the mean
        leak power of its subframes is not speech, and subframes within the
        leak do not count for its boundaries.  None, or zeros: no leak there;
        a stream without leak powers is analysed exactly as before.
        """
        if self._finished:
            raise CoachError("VAD stream already finished: start a new SideVad")
        x = np.asarray(samples)
        if x.size and x.dtype.kind != "f":  # not np.issubdtype: 1.5 us, a live call's 5 %
            raise CoachError(f"VAD takes float samples in [-1, 1], got {x.dtype}")
        if x.ndim != 1:
            raise CoachError(f"VAD takes mono blocks (1-D), got shape {x.shape}")
        x = x.astype(np.float32, copy=False)
        subs = (self._samples + len(x)) // _SUB - self._samples // _SUB
        self._samples += len(x)
        queue = self._queue_leak(leak, subs) if leak is not None or self._leak is not None else None
        if queue is None and len(self._pending) + len(x) < self._flen:
            # a live block that completes no frame: only keep its samples
            self._pending = np.concatenate((self._pending, x))
            return self._update([])
        buf = np.concatenate((self._pending, x)) if len(self._pending) else x
        n = len(buf) // self._flen
        closed: list[tuple[int, int]] = []
        nsub = self._nsub
        for k in range(0, n, _CHUNK_FRAMES):  # chunks that stay in the CPU cache
            m = min(_CHUNK_FRAMES, n - k)
            part = None if queue is None else queue[k * nsub : (k + m) * nsub]
            if part is not None and not part.any():
                part = None
            self._process(buf[k * self._flen : (k + m) * self._flen], m, closed, part)
        self._pending = buf[n * self._flen :].copy()
        if queue is not None:
            rest = queue[n * nsub :]
            self._leak = rest if rest.any() else None
        return self._update(closed)

    def finish(self) -> VadUpdate:
        """End of stream: close any open speech; everything is settled.

        A trailing partial frame (< frame_ms) is not analysed (treated as
        non-speech); a pending run that never reached `onset_frames` is
        dropped.
        """
        if self._finished:
            raise CoachError("VAD stream already finished")
        self._finished = True
        closed: list[tuple[int, int]] = []
        self._close(closed)
        return VadUpdate(closed, self._samples // SAMPLES_PER_MS, None)

    # -- internals ------------------------------------------------------------
    def _queue_leak(self, leak: np.ndarray | None, subs: int) -> np.ndarray:
        """Leak powers of the subframes not yet in a processed frame, this block's included."""
        if leak is None:
            add = np.zeros(subs)
        else:
            add = np.asarray(leak, dtype=np.float64)
            if add.shape != (subs,):
                raise CoachError(f"leak: want {subs} subframe powers, not {add.shape}")
        if self._leak is not None:
            return np.concatenate((self._leak, add))
        # subframes already complete but not yet in a frame had no leak
        before = self._samples // _SUB - subs
        return np.concatenate((np.zeros(before - self._frames * self._nsub), add))

    def _process(
        self, x: np.ndarray, n: int, closed: list[tuple[int, int]], leak: np.ndarray | None
    ) -> None:
        y, sub, level = self._energies(x, n)
        level *= 1000.0  # 0.01 dB
        e = np.rint(level).astype(np.int64)

        floor = self._noise_floor(e)
        self._frames_seen += n
        audible = e > self._min_level
        loud = audible & (e > floor + self._gate)
        lk = None
        if leak is not None:
            # the far end leaking into the mic: a frame must rise above it,
            # and subframes within it are quiet for the boundaries
            lk = leak.reshape(n, self._nsub)
            above = e > np.rint(1000.0 * np.log10(lk.mean(axis=1) + _POWER_EPS))
            loud &= above
            audible &= above
            sub = np.where(sub > lk, sub, 0.0)

        # webrtcvad, on every frame (its noise model adapts on the quiet ones)
        start = self._boost_db
        changes = self._agc(e, loud) if self.params.agc_max_db else []
        speech = np.array(self._webrtc(self._pcm(x, n, start, changes), n), bool)
        speech &= loud
        # loud frames webrtcvad missed (a final plosive, a fricative) may
        # extend a run's end within its hangover, never start or prolong it
        tail = audible & ~speech & (e > floor + self._tail)
        idx = np.flatnonzero(speech)
        ok = self._sustained(y, n, idx, lk)
        if ok is not None:
            # a click: at most the end of a run, within its hangover
            clicks = idx[~ok]
            speech[clicks] = False
            tail[clicks] = e[clicks] > floor[clicks] + self._tail
        if self._run_start is not None or speech.any():
            groups = _groups(np.flatnonzero(speech), self.params.hangover_frames)
            tails = (np.flatnonzero(tail) + self._frames).tolist()
            self._runs(n, groups, tails, floor, sub, closed)
        self._prev_row = sub[-1]
        self._frames += n

    def _noise_floor(self, e: np.ndarray) -> np.ndarray:
        """Each frame's noise floor (0.01 dB), carried on from the last block.

        floor[k] = min(e[k], floor[k-1] + rise) over the frames that carry any
        sound. Digital silence (a muted mic, a loopback with nothing playing)
        says nothing about the room: the floor holds through it instead of
        sinking to -120 dB, which would make the room noise that follows
        "speech" for as long as the slow rise takes.
        """
        heard = e > _DIGITAL_SILENCE
        rise = self._rise
        if self._floor is None and heard.any():
            k = int(np.argmax(heard))
            first = int(e[k])
            if k > 0 or self._frames_seen > 0:
                # the stream began in digital silence, so its first sound may be
                # speech: assume a quiet room until the room itself is heard
                first = min(first, self._initial_floor)
            self._floor = first - rise
        if self._floor is None:
            return np.full(len(e), _NO_FLOOR, np.int64)
        floor = rising_floor(e, heard, self._floor, rise)
        self._floor = int(floor[-1])
        return floor

    def _energies(self, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pre-emphasised samples, mean power per 10 ms subframe (n, nsub) and
        log10 of each frame's mean power (float32)."""
        y = preemphasise(x, self._prev, self._pre)
        self._prev = x[-1]
        sub = subframe_energies(y).reshape(n, self._nsub)
        sub *= 1.0 / _SUB  # mean power per subframe
        level: np.ndarray = np.log10(sub.sum(axis=1) * (1.0 / self._nsub) + _POWER_EPS)
        return y, sub, level

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

    def _agc(self, e: np.ndarray, loud: np.ndarray) -> list[tuple[int, float]]:
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

    def _sustained(
        self, y: np.ndarray, n: int, idx: np.ndarray, leak: np.ndarray | None
    ) -> np.ndarray | None:
        """Which of the speech frames idx hold their energy (None: all).

        The frame's 10 ms windows at 5 ms steps (each spans a pitch period
        of 100 Hz and up) must all be within `transient_db` of the loudest.
        A key click rises at once and decays within a few ms.  With a leak,
        what counts is the energy above it (a click over the customer's
        leaked voice is still a click).
        """
        p = self.params
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

    def _runs(
        self,
        n: int,
        groups: list[list[int]],
        tails: list[int],
        floor: np.ndarray,
        sub: np.ndarray,
        closed: list[tuple[int, int]],
    ) -> None:
        """The block's runs of speech frames (`_groups`, local indices) and
        loud tail frames (`tails`, global) join or close the run."""
        hang, i0 = self.params.hangover_frames, self._frames
        if self._run_start is not None:
            if groups and i0 + groups[0][0] - self._voiced <= hang + 1:
                _, last, count = groups.pop(0)
                self._extend(i0 + last, count, floor, sub)
            self._tail_end(tails, floor, sub)
            if groups or i0 + n - 1 - self._voiced > hang:
                self._close(closed)
        for first, last, count in groups:
            self._begin(i0 + first, floor, sub)
            self._extend(i0 + last, count, floor, sub)
            self._tail_end(tails, floor, sub)
            if i0 + n - 1 - self._voiced > hang:
                self._close(closed)
        # what stays open waits for the next block (its tails included)

    def _thr(self, floor_cb: int) -> float:
        """Power of floor + edge_db (floor in 0.01 dB)."""
        return float(10.0 ** (floor_cb / 1000.0 + self.params.edge_db / 10.0))

    def _begin(self, i: int, floor: np.ndarray, sub: np.ndarray) -> None:
        """Open a run at speech frame i: start at its first subframe above the edge."""
        k = i - self._frames
        row, thr = sub[k], self._thr(int(floor[k]))
        fms = self.params.frame_ms
        j = 0
        while row[j] < thr:  # the frame passed the gate, so some subframe ends this
            j += 1
        start = i * fms + j * SUBFRAME_MS
        before = sub[k - 1] if k else self._prev_row
        if j == 0 and before is not None:  # a soft onset webrtcvad was late on
            m = len(before) - 1
            stop = len(before) - self.params.lookback_used_ms // SUBFRAME_MS
            while start > 0 and m >= stop and before[m] >= thr:
                start -= SUBFRAME_MS
                m -= 1
        self._run_start = max(start, self._closed_end)
        self._run_count = 0

    def _extend(self, i: int, count: int, floor: np.ndarray, sub: np.ndarray) -> None:
        """Speech frames up to frame i (count of them) join the run."""
        k = i - self._frames
        self._run_count += count
        self._voiced = self._last = i
        self._last_row, self._last_thr = sub[k], self._thr(int(floor[k]))

    def _tail_end(self, tails: list[int], floor: np.ndarray, sub: np.ndarray) -> None:
        """Let the latest loud frame within the hangover end the run."""
        j = bisect_right(tails, self._voiced + self.params.hangover_frames) - 1
        if j >= 0 and tails[j] > self._last:
            k = tails[j] - self._frames
            self._last = tails[j]
            self._last_row, self._last_thr = sub[k], self._thr(int(floor[k]))

    def _close(self, closed: list[tuple[int, int]]) -> None:
        if self._run_start is not None and self._run_count >= self.params.onset_frames:
            end = self._end_ms()
            closed.append((self._run_start, end))
            self._closed_end = end
        self._run_start = None

    def _end_ms(self) -> int:
        """End of the run: its last frame, less trailing subframes below the edge."""
        row, thr = self._last_row, self._last_thr
        j = len(row)
        while j > 1 and row[j - 1] < thr:
            j -= 1
        return self._last * self.params.frame_ms + j * SUBFRAME_MS

    def _update(self, closed: list[tuple[int, int]]) -> VadUpdate:
        if self._run_start is None:
            done_ms = self._frames * self.params.frame_ms - self.params.lookback_used_ms
            return VadUpdate(closed, max(0, done_ms), None)
        if self._run_count < self.params.onset_frames:
            return VadUpdate(closed, self._run_start, None)
        return VadUpdate(closed, self._end_ms(), self._run_start)


def _groups(frames: np.ndarray, hang: int) -> list[list[int]]:
    """Runs of speech frames (indices, in order) whose gaps are within the
    hangover: [first, last, count] each."""
    if not len(frames):
        return []
    cut = np.flatnonzero(np.diff(frames) > hang + 1)
    firsts = np.concatenate((frames[:1], frames[cut + 1])).tolist()
    lasts = np.concatenate((frames[cut], frames[-1:])).tolist()
    counts = np.diff(np.concatenate(([0], cut + 1, [len(frames)]))).tolist()
    return [list(g) for g in zip(firsts, lasts, counts, strict=True)]


def _scale(gain_db: np.ndarray) -> np.ndarray:
    """float32 factors from [-1, 1] to 16-bit PCM boosted by gain_db."""
    scale: np.ndarray = (32767.0 * 10.0 ** (gain_db / 20.0)).astype(np.float32)
    return scale
