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

import numpy as np

from coach.core.levels import preemphasise, rising_floor, subframe_energies
from coach.core.vad_params import SUBFRAME_MS, VadParams, VadUpdate
from coach.core.vad_webrtc import SAMPLES_PER_MS, WebrtcFrames, sustained
from coach.errors import CoachError

_SUB = SUBFRAME_MS * SAMPLES_PER_MS
_SILENCE_DB = -120.0  # energy given to digital silence (log of 0)
_POWER_EPS = 10.0 ** (_SILENCE_DB / 10.0)
_CHUNK_FRAMES = 256  # frames processed at once (~8 s): big enough, cache-sized
_INITIAL_FLOOR_DBFS = -60.0  # assumed room noise (pre-emphasised) until the room is heard
_DIGITAL_SILENCE = round(_SILENCE_DB * 100) + 100  # 0.01 dB: digital zero (log of 0 is -120)
_NO_FLOOR = np.iinfo(np.int64).max // 4  # no floor yet: nothing is loud


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
        self._webrtc = WebrtcFrames(params)
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
        speech = self._webrtc.speech(x, n, e, loud)
        speech &= loud
        # loud frames webrtcvad missed (a final plosive, a fricative) may
        # extend a run's end within its hangover, never start or prolong it
        tail = audible & ~speech & (e > floor + self._tail)
        idx = np.flatnonzero(speech)
        ok = sustained(self.params, y, n, idx, lk)
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
