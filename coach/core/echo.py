"""The far end leaking into the microphone: detect it, and gate it out of the mic's VAD.

On a laptop without a headset the microphone hears the customer from the
speakers: delayed (the playback and capture paths, 10-300 ms), attenuated
(the "coupling", typically -30 to -10 dB) and coloured by the room.  A plain
VAD then credits the rep with the customer's words (a synthetic laptop call: rep
speech F1 0.69, 23 false interruptions).  The customer's signal is known --
it is the loopback -- so the mic side is judged against it.

`LeakGate` works on 10 ms subframe energies only (no adaptive filter, no
FFT): it costs about what the VAD's own energy measurement costs.

1. **Levels.**  Both channels' pre-emphasised subframe energies (as the VAD
   measures them) in integer 0.01 dB, each with a tracked noise floor
   (drops at once, rises slowly).
2. **Detector**, every `hop_ms`: the correlation of the mic's level with the
   loopback's at every lag, and the leak's coupling (coach/core/leak_detector.py).
3. **Coupling**: the densest few dB of mic minus delayed loopback level.
4. **Gate**, while engaged: in subframe k the leak may reach
   ``env[k] + coupling + margin_db``, where env is the loopback's level at
   lags d-1..d, held with a decay of `tail_db_per_10ms` (the room's
   reverberation keeps the leak audible after the far end stops).  These
   powers go to ``SideVad.feed(mic, leak=...)``: a mic frame is speech only
   if it rises above them, so the rep talking over the customer still
   counts (a rep as loud as the customer clears a -18 dB leak by 12 dB).
5. **Hold**: the detector needs about 0.6-0.9 s of the customer's speech
   to engage, and the leak of those first words would reach the VAD
   ungated (a false rep utterance, maybe an interruption).  So until it has
   decided -- engaged, or heard `clear_evidence_s` of far end without
   finding it -- mic audio from where the far end turns active is held
   back, up to `hold_ms`, and gated when released if the detector engaged
   meanwhile.

Modes (`audio.echo_cancellation`): "auto" gates only while the detector is
engaged -- on a headset call nothing is gated and the VAD's output is
exactly what it is without this stage; "on" gates from the start (every lag
and `default_coupling_db` until measured; on a headset it costs the rep's
quiet backchannels); "off" does not run this stage.

Causal and block-size independent: everything is integer arithmetic on a
fixed grid in audio time; the detector's state changes only at hop
boundaries, from the audio before them; the gate of subframe k uses the
state of the last boundary at or before k; released audio is the input, in
order.  Latency added to the mic side: none once decided and not gating;
while gating, none either (each block is gated as it comes); before the
detector has decided (the call's first seconds of customer speech), up to
`hop_ms` at its hop boundaries plus up to `hold_ms` held while the far end
is active.  Cost (2 vCPU, measured): a headset call ~5000x real time on top
of the VAD, 20 ms live blocks ~30 us each (0.15 % of a core), engaged ~60 us
(0.3 %).  Not thread-safe; one per call.
"""

from __future__ import annotations

import numpy as np

from coach.core.echo_gate import GateState, leak_powers
from coach.core.echo_levels import SILENCE, ChannelLevels
from coach.core.echo_params import EchoParams
from coach.core.leak_detector import (
    HopWindow,
    best_lag,
    coupling_histograms,
    lag_sums,
    leak_coupling,
)
from coach.core.levels import SUBFRAME_SAMPLES
from coach.errors import CoachError

SUB = SUBFRAME_SAMPLES
"""Samples per 10 ms subframe: the grid of the levels and of the gate."""
HEADSET_WARNING = "your microphone picks up the other side — use a headset for best results"
_EMPTY: tuple[np.ndarray, None] = (np.zeros(0, np.float32), None)


class LeakGate:
    """Mic + loopback in; per-subframe leak powers for the mic's VAD out."""

    def __init__(self, mode: str = "auto", params: EchoParams = EchoParams()) -> None:  # noqa: B008
        if mode not in ("auto", "on"):
            raise CoachError(f"LeakGate mode must be 'auto' or 'on', not {mode!r}")
        p = params
        self.mode = mode
        self.params = p
        self._in_units(p)
        # samples
        pre, rise = np.float32(p.preemphasis), round(p.floor_rise_db_per_s * 10)
        self._lv = (ChannelLevels(pre, rise, True), ChannelLevels(pre, rise, False))  # mic, loop
        self._fed = 0  # mic samples fed
        self._released = 0  # ... and released
        self.subframes = 0
        """Subframes completed so far (10 ms each)."""
        # per-subframe buffers: loop from D before the current hop, mic from its start
        self._loop_median = np.full(self._d, SILENCE, np.int64)  # loop level, running median
        self._loop_active = np.zeros(self._d, bool)  # that active
        # mic level clamped to floor + clamp, running median
        self._mic_median = np.zeros(0, np.int64)
        self._mic_audible = np.zeros(0, bool)  # that audible above the floor
        # the detector's window: the last `_win` hops with far-end activity
        self._window = HopWindow(self._win, self._d + 1)
        # the gate
        on = mode == "on"
        self._state = GateState(0, on, on, None, round(p.default_coupling_db * 100) if on else 0)
        # the mic's delay line: samples from subframe `_out` on, not yet released
        self._mic = np.zeros(0, np.float32)
        self._out = 0
        self._gate_loop = np.full(self._d, SILENCE, np.int64)  # loop level from _out - D
        self._at_risk = np.zeros(0, bool)  # at risk, from _out (while undecided)
        self._ahead = np.zeros(0, np.int64)  # loop levels the gate measured before the detector
        self._last_active = -(10**9)  # last subframe the loop was active
        self._held = SILENCE  # the gate's held loop level after the last gated subframe
        self.engaged = False
        """The detector finds the loopback in the mic (now)."""
        self.detected = False
        """It has found it at some point of the call."""
        self.delay_ms: int | None = None
        """The leak's measured delay behind the loopback (ms)."""
        self.coupling_db: float | None = None
        """Measured mic level minus loopback level of the leak (dB)."""
        self.correlation = 0.0
        """The detector's last correlation at the best lag."""
        self.trace: list[tuple[float, float, float, float, int, float, bool, int]] | None = None
        """Set to a list to record, per decision: (time s, correlation, its
        lower bound, sharpness, best lag ms, coupling dB, engaged, evidence
        in subframes) -- for measurements and tests."""

    def _in_units(self, p: EchoParams) -> None:
        """The parameters in the units the code compares: subframes, hops, 0.01 dB."""
        self._d = p.max_delay_ms // 10  # largest lag, subframes
        self._hop = p.hop_ms // 10
        self._win = max(1, round(p.window_s * 1000 / p.hop_ms))
        self._min_n = max(1, round(p.min_evidence_s * 100))
        self._tail = round(p.tail_db_per_10ms * 100)
        self._clamp = round(p.mic_clamp_db * 100)
        self._active = round(p.active_db * 100)
        self._min_active = round(p.min_active_dbfs * 100)
        self._audible = round(p.audible_db * 100)
        self._margin = round(p.margin_db * 100)
        self._hold_n = p.hold_ms // 10
        self._clear_n = round(p.clear_evidence_s * 100)
        self._default_coupling = round(p.default_coupling_db * 100)

    @property
    def gating(self) -> bool:
        """Whether the subframes being fed now are gated."""
        return self._state.gating

    def next_release_samples(self) -> int | None:
        """Where mic audio next goes on to the VAD (a sample count of the call),
        while it only does when a hop completes (the detector undecided, or
        audio still held); None while it goes straight through."""
        if self._state.decided and self._fed == self._released:
            return None
        return (self.subframes - len(self._mic_median) + self._hop) * SUB

    def forget(self) -> None:
        """The two sides were realigned (a device reopened or moved): from here the
        gate is as at a call's start. What relates the mic to the loopback (the
        detector's window and decision, the leak's delay and coupling) may no
        longer hold, and what describes a device (its noise floor, the levels'
        medians, the loop's recent activity) may describe one that is gone. Only
        ``detected`` stays (a fact of the call) and the mic audio in flight."""
        p = self.params
        self._window.clear()
        for lv in self._lv:
            lv.forget()
        self._loop_median[:] = SILENCE  # no loop evidence from before the realignment
        self._loop_active[:] = False
        self._last_active = -(10**9)
        # undecided again: every subframe not yet released has its at-risk flag
        missing = self.subframes - self._out - len(self._at_risk)
        if missing > 0:
            self._at_risk = np.concatenate((self._at_risk, np.zeros(missing, bool)))
        on = self.mode == "on"
        coupling = round(p.default_coupling_db * 100) if on else 0
        self._state = GateState(self.subframes, on, on, None, coupling)
        self.engaged = False
        self.delay_ms = None
        self.coupling_db = None
        self.correlation = 0.0

    # -- public ---------------------------------------------------------------
    def feed(self, mic: np.ndarray, loop: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Take the next samples of both sides (1-D, same length, float, 16 kHz).

        Returns the mic samples released to the VAD and their leak powers
        (one per 10 ms subframe, for ``SideVad.feed(mic, leak=...)``; None
        when none is gated).  Released samples are the input, in order, up
        to `hold_ms` late while the detector is still undecided and the
        far end has just been active.
        """
        if mic.shape != loop.shape or mic.ndim != 1:
            shapes = f"{mic.shape} and {loop.shape}"
            raise CoachError(f"LeakGate: want 1-D blocks of one length, not {shapes}")
        m32 = mic.astype(np.float32, copy=False)
        l32 = loop.astype(np.float32, copy=False)
        held = self._fed - self._released  # samples not yet released: the delay line
        self._fed += len(m32)
        if self._fed < (self.subframes - len(self._mic_median) + self._hop) * SUB:
            # no hop completes: the detector measures when one does (a live
            # loop's 20 ms blocks cost little in between)
            return self._between_hops(m32, l32, held)
        self._mic = np.concatenate((self._mic, m32)) if held else m32
        lm = self._lv[0].levels(m32)
        ahead = self._ahead  # loop levels the gate measured already
        ll = (
            np.concatenate((ahead, self._lv[1].levels(l32)))
            if len(ahead)
            else self._lv[1].levels(l32)
        )
        self._ahead = np.zeros(0, np.int64)
        if len(lm) == 0:  # no new subframe: a partial one goes on if nothing is held
            return (self._take(self._fed), None) if self._out >= self.subframes else _EMPTY
        self._measure(lm, ll, len(ahead))
        # hop boundaries in this block: decide first (the decisions use no gate)
        states = [self._state]
        hops = len(self._mic_median) // self._hop
        if hops:
            states += self._hops(hops)
        self._state = states[-1]
        return self._release_states(states)

    def _between_hops(
        self, m32: np.ndarray, l32: np.ndarray, held: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """A block that completes no hop: kept for the next, or straight through when decided."""
        state = self._state
        self._lv[0].pend.append(m32.copy())
        if held == 0 and state.decided:  # nothing held back: straight through
            self._released = self._fed
            if not state.gating:
                self._lv[1].pend.append(l32.copy())
                return m32, None
            ahead = self._lv[1].levels(l32)  # the gate needs the loop's levels now
            if not len(ahead):
                return m32, None
            self._ahead = np.concatenate((self._ahead, ahead))
            self._gate_loop = np.concatenate((self._gate_loop, ahead))
            self._out += len(ahead)
            leak = self._gate(self._gate_loop[-(len(ahead) + self._d) :], state)
            self._gate_loop = self._gate_loop[len(ahead) :]
            return m32, leak
        self._lv[1].pend.append(l32.copy())
        self._mic = np.concatenate((self._mic, m32))
        return _EMPTY

    def _measure(self, lm: np.ndarray, ll: np.ndarray, n_ahead: int) -> None:
        """The new subframes' levels into the floors, the detector's medians and the gate's
        loop levels (``n_ahead`` of the loop's the gate has already)."""
        n = len(lm)
        mfloor = self._lv[0].track_floor(lm)
        lfloor = self._lv[1].track_floor(ll)
        first = self.subframes
        self.subframes += n
        active = (ll > lfloor + self._active) & (ll > self._min_active)
        # the detector's view: running medians over 5 subframes (key clicks
        # are outliers of one or two), the mic clamped to its floor
        lmed = self._lv[1].median(ll)
        lact = (lmed > lfloor + self._active) & (lmed > self._min_active)
        mmed = self._lv[0].median(np.maximum(lm, mfloor + self._clamp))
        self._loop_median = np.concatenate((self._loop_median, lmed))
        self._loop_active = np.concatenate((self._loop_active, lact))
        self._mic_median = np.concatenate((self._mic_median, mmed))
        self._mic_audible = np.concatenate((self._mic_audible, mmed > mfloor + self._audible))
        self._gate_loop = np.concatenate((self._gate_loop, ll[n_ahead:]))
        if not self._state.decided:
            # at risk of carrying the leak: the far end active within the longest delay
            k = np.arange(first, self.subframes)
            last = np.maximum.accumulate(np.where(active, k, self._last_active))
            self._last_active = int(last[-1])
            self._at_risk = np.concatenate((self._at_risk, k - last <= self._d))

    def _release_states(self, states: list[GateState]) -> tuple[np.ndarray, np.ndarray | None]:
        """Release the mic samples up to where each state allows, each stretch gated by the
        state in effect there."""
        if not any(st.gating for st in states) and all(st.decided for st in states):
            self._release_plain(self.subframes)
            self._held = SILENCE
            return self._take(self._fed), None
        before = self._released
        mics: list[np.ndarray] = []
        gated: list[tuple[int, np.ndarray]] = []
        for i, st in enumerate(states):
            end = states[i + 1].at if i + 1 < len(states) else self.subframes
            to = end if st.decided else self._hold_edge(end)
            if to > self._out:
                a = self._out
                gate = self._release(to, st)
                if gate is not None:
                    gated.append((a, gate))
                mics.append(self._take(to * SUB if to < self.subframes else self._fed))
        if self._out >= self.subframes and self._released < self._fed:
            mics.append(self._take(self._fed))  # a partial subframe, nothing held before it
        return self._join(before, mics, gated)

    def flush(self) -> tuple[np.ndarray, np.ndarray | None]:
        """End of the call: release everything held."""
        before, a = self._released, self._out
        leak = self._release(self.subframes, self._state)
        return self._join(before, [self._take(self._fed)], [] if leak is None else [(a, leak)])

    def _join(
        self, before: int, mics: list[np.ndarray], gated: list[tuple[int, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The released samples, and the leak powers of the subframes they
        complete (those from sample `before` on); None if none is gated."""
        mic = np.concatenate(mics) if len(mics) > 1 else mics[0] if mics else _EMPTY[0]
        if not gated:
            return mic, None
        first = before // SUB
        out = np.zeros(self._released // SUB - first)
        for a, leak in gated:
            out[a - first : a - first + len(leak)] = leak
        return mic, out

    # -- internals ------------------------------------------------------------
    def _hold_edge(self, p: int) -> int:
        """Undecided: hold from the first subframe at risk within `hold` before p."""
        lo = max(self._out, p - self._hold_n)
        risky = np.flatnonzero(self._at_risk[lo - self._out : p - self._out])
        return lo + int(risky[0]) if len(risky) else p

    def _release(self, to: int, st: GateState) -> np.ndarray | None:
        """Release the held subframes up to `to`: their leak powers with state st."""
        m = to - self._out
        if m <= 0:  # released already (the gate measures the loop ahead of the mic)
            return None
        leak = None
        if st.gating:
            leak = self._gate(self._gate_loop[: m + self._d], st)
        else:
            self._held = SILENCE
        self._release_plain(to)
        return leak

    def _release_plain(self, to: int) -> None:
        m = to - self._out
        self._out = to
        self._gate_loop = self._gate_loop[m:]
        self._at_risk = self._at_risk[m:]

    def _take(self, upto: int) -> np.ndarray:
        """Mic samples from the last released one up to sample `upto`."""
        k = upto - self._released
        if k <= 0:  # already passed through
            return _EMPTY[0]
        out, rest = self._mic[:k], self._mic[k:]
        self._mic = rest.copy() if len(rest) else np.zeros(0, np.float32)
        self._released = upto
        return out

    def _gate(self, hist: np.ndarray, s: GateState) -> np.ndarray:
        """Leak powers of len(hist) - D subframes; hist holds D loop levels before them."""
        out, self._held = leak_powers(hist, self._d, s, self._held, self._tail, self._margin)
        return out

    def _hops(self, hops: int) -> list[GateState]:
        """The detector over `hops` complete hops; the states they lead to."""
        hop, d = self._hop, self._d
        k = hops * hop
        hop_start = self.subframes - len(self._mic_median)
        mic, loop, active = self._mic_median[:k], self._loop_median[: d + k], self._loop_active
        counting, stats = lag_sums(mic, loop, active[: d + k], hop, d)
        out: list[GateState] = []
        if len(counting):
            out = self._decide(hop_start + (counting + 1) * hop, counting, stats)
        # keep D loop levels before the next hop, and the mic of the partial hop
        self._loop_median, self._loop_active = self._loop_median[k:], self._loop_active[k:]
        self._mic_median, self._mic_audible = self._mic_median[k:], self._mic_audible[k:]
        return out

    def _decide(self, at: np.ndarray, counting: np.ndarray, stats: np.ndarray) -> list[GateState]:
        """Update the window with the counting hops' statistics; decide after each.

        The state after a hop is a function of the window's totals then (and
        of the engagement before), whichever way it is computed here.
        """
        p, hop, d = self.params, self._hop, self._d
        totals = self._window.sums(stats)  # (c, 6, D+1) after each counting hop
        r, best, rb, n, low, high = best_lag(totals, p.confidence_z, p.frames_per_dof)
        measured = n >= self._min_n
        can_engage = measured & (low >= p.engage_corr)
        sharp = np.zeros(len(r))
        if can_engage.any() or self.trace is not None:
            sel = can_engage if self.trace is None else np.ones(len(r), bool)
            sharp[sel] = rb[sel] - np.median(r[sel], axis=1)
            can_engage &= sharp >= p.min_sharpness
        must_release = measured & (high < p.release_corr)
        mic, loop = (self._mic_median, self._mic_audible), (self._loop_median, self._loop_active)
        hist = coupling_histograms(counting, best, hop, d, mic, loop)
        if measured.any():
            self.correlation = float(rb[measured][-1])
        on = self.mode == "on"
        if not (on or self.engaged or can_engage.any() or self.trace is not None):
            return self._ungated_hops(at, n, hist)
        coupling = leak_coupling(
            self._window.histograms(hist, per_hop=True), self._default_coupling
        )
        out: list[GateState] = []
        state = self._state
        decided = state.decided
        for i in range(len(r)):
            if can_engage[i] and not self.engaged:
                self.engaged = self.detected = decided = True
            elif must_release[i] and self.engaged:
                self.engaged = False
            if n[i] >= self._clear_n:
                decided = True
            gating = self.engaged or on
            if self.trace is not None and measured[i]:
                self.trace.append(
                    (int(at[i]) / 100, float(rb[i]), float(low[i]), float(sharp[i]),
                     int(best[i]) * 10, int(coupling[i]) / 100, self.engaged, int(n[i]))
                )  # fmt: skip
            if gating:
                delay = int(best[i]) if measured[i] else None
                nxt = GateState(int(at[i]), decided, True, delay, int(coupling[i]))
            else:
                nxt = GateState(int(at[i]), decided, False, None, 0)
            if nxt[1:] != state[1:]:
                out.append(nxt)
                state = nxt
        if state.gating and state.delay is not None:
            self.delay_ms, self.coupling_db = state.delay * 10, state.coupling / 100
        return out

    def _ungated_hops(self, at: np.ndarray, n: np.ndarray, hist: np.ndarray) -> list[GateState]:
        """Hops in which nothing is gated: only `decided` may change (enough evidence)."""
        self._window.histograms(hist, per_hop=False)
        if self._state.decided or not (n >= self._clear_n).any():
            return []
        j = int(np.argmax(n >= self._clear_n))
        return [GateState(int(at[j]), True, False, None, 0)]
