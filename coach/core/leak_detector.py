"""The leak detector's arithmetic: its sliding window of hops, correlation and coupling.

`LeakGate` (coach.core.echo) measures, per hop of far-end activity, sums of
the mic's and the lagged loopback's levels at every lag, and a histogram of
mic minus loopback level. Here those go into a window of the last hops
(`HopWindow`, exact integer totals), become a correlation per lag (`correlation`)
and a coupling (`leak_coupling`: the median of the histogram's densest few dB).
Pure integer and float arithmetic on arrays; no audio, no state of the gate.

**Detection**, every `hop_ms`, over the last `window_s` of far-end
activity: for every lag d in 0..`max_delay_ms`, the correlation between
the mic's level (clamped to its floor + `mic_clamp_db`: a headset mic,
silent while the customer talks, is a constant) and the loopback's level
d earlier, over the subframes where the loopback was active.  Both level
series are running medians of 5 subframes first, so key clicks (outliers
of one or two subframes) do not drown the evidence.  A leak gives a sharp
peak at its delay (0.83 on a synthetic laptop call; 0.85 within 0.7 s of
the customer's first words); headset calls stay below 0.55 with a lower
confidence bound below 0.15.  It engages when the correlation's lower
confidence bound (Fisher z, `frames_per_dof` subframes per independent
sample) reaches `engage_corr` and the peak stands `min_sharpness` above
the median over all lags (turn-taking correlates broadly, a leak at one
delay); it releases when the upper bound falls below `release_corr`.

**Coupling**: mic level minus delayed loopback level (the medians),
over the window's subframes where the loopback is active and the mic is
`audible_db` above its floor: in 1 dB bins, the median of the densest
5 dB.  The leak alone is one tight cluster; the rep talking over the
customer, and the leak's quietest syllables in the room noise, spread
wide (a plain median went wrong by 15 dB where few leaked syllables rise
above 12 dB SNR noise).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

HIST_LO, HIST_HI = -80, 40  # coupling histogram range, dB, 1 dB bins
NBINS = HIST_HI - HIST_LO
_MODE_DB = 5  # the coupling is the densest this many dB of the histogram


class HopWindow:
    """The last ``hops`` counting hops' correlation sums and coupling histograms, totalled."""

    def __init__(self, hops: int, lags: int) -> None:
        self._win = hops
        self._ring = np.zeros((hops, 6, lags), np.int64)
        self._hring = np.zeros((hops, NBINS), np.int64)
        self._pos = 0  # next slot in both rings
        self._total = np.zeros((6, lags), np.int64)
        self._htotal = np.zeros(NBINS, np.int64)

    def clear(self) -> None:
        """Forget every hop (the sides were realigned)."""
        self._ring[:] = 0
        self._hring[:] = 0
        self._total = np.zeros_like(self._total)
        self._htotal = np.zeros_like(self._htotal)
        self._pos = 0

    def sums(self, s: np.ndarray) -> np.ndarray:
        """Totals of the last `_win` counting hops after each of these (exact).

        Call `histograms` with the same hops next: it moves the window on.
        """
        dropped = self._cycle(self._ring, self._pos, s)
        totals: np.ndarray = self._total + np.cumsum(s - dropped, axis=0)
        self._total = totals[-1]
        return totals

    def histograms(self, h: np.ndarray, per_hop: bool) -> np.ndarray:
        """The same for the coupling histograms; per hop only when asked."""
        dropped = self._cycle(self._hring, self._pos, h)
        self._pos = (self._pos + len(h)) % self._win
        if not per_hop:
            self._htotal = self._htotal + h.sum(axis=0) - dropped.sum(axis=0)
            return self._htotal
        totals: np.ndarray = self._htotal + np.cumsum(h - dropped, axis=0)
        self._htotal = totals[-1]
        return totals

    def _cycle(self, ring: np.ndarray, pos: int, new: np.ndarray) -> np.ndarray:
        """Put `new` into the ring buffer at pos; return what each one replaced."""
        w, c = self._win, len(new)
        dropped = np.empty_like(new)
        done = 0
        while done < c:  # at most ceil(c / w) + 1 pieces
            i = (pos + done) % w
            m = min(w - i, c - done)
            dropped[done : done + m] = ring[i : i + m]
            ring[i : i + m] = new[done : done + m]
            done += m
        return dropped


def leak_coupling(htot: np.ndarray, default: int) -> np.ndarray:
    """Per hop, the leak's coupling (0.01 dB) from the window's histogram of mic minus
    loop levels; ``default`` where nothing was heard."""
    cum = np.cumsum(htot, axis=1)
    heard = cum[:, -1] > 0
    # the median of the densest `_MODE_DB`: the leak alone is one tight
    # cluster; the rep talking over it, and the noise, spread wide
    padded = np.concatenate((np.zeros((len(cum), 1), np.int64), cum), axis=1)
    dense = padded[:, _MODE_DB:] - padded[:, :-_MODE_DB]
    lo = dense.argmax(axis=1)
    half = padded[np.arange(len(cum)), lo] + (dense[np.arange(len(cum)), lo] + 1) // 2
    centre = ((cum < half[:, None]).sum(axis=1) + HIST_LO) * 100 + 50
    return np.where(heard, centre, default)


def sliding(a: np.ndarray, w: int) -> np.ndarray:
    """Read-only view: row i is a[i : i + w] (numpy's sliding_window_view, cheaper)."""
    st = a.strides[0]
    view: np.ndarray = as_strided(a, (len(a) - w + 1, w), (st, st), writeable=False)
    return view


def correlation(t: np.ndarray) -> np.ndarray:
    """Pearson correlation per row and lag from (n, sa, sb, saa, sbb, sab) sums."""
    n, sa, sb, saa, sbb, sab = (t[:, i].astype(np.float64) for i in range(6))
    cov = n * sab - sa * sb
    va = n * saa - sa * sa
    vb = n * sbb - sb * sb
    den = np.sqrt(np.maximum(va, 0.0) * np.maximum(vb, 0.0))
    r: np.ndarray = np.divide(cov, den, out=np.zeros_like(cov), where=den > 0)
    return r


def lag_sums(
    mic: np.ndarray, loop: np.ndarray, loop_active: np.ndarray, hop: int, d: int
) -> tuple[np.ndarray, np.ndarray]:
    """The hops with far-end activity at some lag, and per such hop and lag the sums
    (n, sum a, sum b, sum aa, sum bb, sum ab) over its active subframes.

    ``mic``: the hops' mic levels (whole hops); ``loop`` and ``loop_active``: the
    loop's levels and activity from ``d`` subframes before them.
    """
    k = len(mic)
    hops = k // hop
    # lagged loop: bl[t, j] = loop level at subframe t - j (t in these hops)
    bl = sliding(loop, d + 1)[:, ::-1]
    al = sliding(loop_active, d + 1)[:, ::-1]
    # hops with far-end activity at some lag count; the others change nothing
    first_active = np.concatenate(([0], np.cumsum(loop_active)))
    ends = np.arange(1, hops + 1) * hop + d  # window of hop j: act[j*hop : ends[j]]
    counting = np.flatnonzero(first_active[ends] > first_active[ends - hop - d])
    if not len(counting):
        return counting, np.zeros((0, 6, d + 1), np.int64)
    c = len(counting)
    w = al.reshape(hops, hop, d + 1)[counting]
    av = mic.reshape(hops, hop, 1)[counting]
    bv = np.where(w, bl.reshape(hops, hop, d + 1)[counting], 0)
    aw = np.where(w, av, 0)
    sums = (w, aw, bv, aw * av, bv * bv, aw * bv)
    stats = np.stack([x.sum(1) for x in sums], axis=1).reshape(c, 6, d + 1)
    return counting, stats


def coupling_histograms(
    counting: np.ndarray,
    best: np.ndarray,
    hop: int,
    d: int,
    mic: tuple[np.ndarray, np.ndarray],
    loop: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Per counting hop, a histogram (1 dB bins) of mic - loop on leak-like subframes.

    ``mic``: the mic's median levels and audibility from the hops' start; ``loop``:
    the loop's median levels and activity from ``d`` subframes before.
    """
    mic_median, mic_audible = mic
    loop_median, loop_active = loop
    t = (counting[:, None] * hop + np.arange(hop)[None, :]).ravel()  # subframe in buffer
    lag = np.repeat(best, hop)
    i0 = d + t - lag  # index in loop_median of the loop at the best lag
    i1 = np.where(lag > 0, i0 + 1, i0)  # one lag earlier: a delay between two subframes
    level = np.maximum(loop_median[i0], loop_median[i1])
    ok = loop_active[i0] & mic_audible[t]
    res = np.clip((mic_median[t] - level) // 100 - HIST_LO, 0, NBINS - 1)
    rows = np.repeat(np.arange(len(counting)), hop)
    flat = np.bincount((rows * NBINS + res)[ok], minlength=len(counting) * NBINS)
    return flat.reshape(len(counting), NBINS)


def best_lag(
    totals: np.ndarray, confidence_z: float, frames_per_dof: int
) -> tuple[np.ndarray, ...]:
    """Per row of window totals: the correlation at every lag, the best lag, its
    correlation and evidence (subframes), and that correlation's confidence bounds
    (Fisher z, ``frames_per_dof`` subframes per independent sample)."""
    r = correlation(totals)
    rows = np.arange(len(r))
    best = r.argmax(axis=1)
    rb = r[rows, best]
    n = totals[rows, 0, best]
    z = np.arctanh(np.clip(rb, -0.999999, 0.999999))
    width = confidence_z / np.sqrt(np.maximum(n / frames_per_dof - 3.0, 1.0))
    low, high = np.tanh(z - width), np.tanh(z + width)
    return r, best, rb, n, low, high
