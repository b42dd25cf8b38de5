"""The leak detector's arithmetic: its sliding window of hops, correlation and coupling.

`LeakGate` (coach.core.echo) measures, per hop of far-end activity, sums of
the mic's and the lagged loopback's levels at every lag, and a histogram of
mic minus loopback level. Here those go into a window of the last hops
(`HopWindow`, exact integer totals), become a correlation per lag (`correlation`)
and a coupling (`leak_coupling`: the median of the histogram's densest few dB).
Pure integer and float arithmetic on arrays; no audio, no state of the gate.
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
