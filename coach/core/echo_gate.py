"""The echo stage's gate: from the loopback's levels to the leak powers the mic's VAD compares.

While the leak detector is engaged, in subframe k the leak may reach the
loopback's level at the leak's delay (or at every lag until it is measured),
held with a decay for the room's reverberation, plus the coupling and a margin.
`GateState` is what the gate uses from one detector decision to the next.
Integer arithmetic in 0.01 dB: exact whatever the block size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from coach.core.echo_levels import SILENCE
from coach.core.leak_detector import sliding


class GateState(NamedTuple):
    """What the gate uses from one hop boundary to the next."""

    at: int  # first subframe it applies to
    decided: bool  # auto: the detector has engaged or found no leak (never holds again)
    gating: bool
    delay: int | None  # subframes; None: every lag (mode "on" before it is measured)
    coupling: int  # 0.01 dB (0 when not gating)


def leak_powers(
    hist: np.ndarray, d: int, s: GateState, held_before: int, tail: int, margin: int
) -> tuple[np.ndarray, int]:
    """Leak powers of len(hist) - d subframes; hist holds d loop levels before them.

    ``held_before``: the held loop level before them; returned with the one after.
    ``tail`` is the hold's decay per subframe, ``margin`` the gate's, both 0.01 dB.
    """
    m = len(hist) - d
    if s.delay is None:
        lo, hi = 0, d
    else:
        lo, hi = max(0, s.delay - 1), s.delay
    # raw[k] = max of the loop level at lags lo..hi
    if hi - lo == 1:
        raw = np.maximum(hist[d - hi : d - hi + m], hist[d - lo : d - lo + m])
    else:
        raw = sliding(hist[d - hi : d - lo + m], hi - lo + 1).max(axis=1)
    # held[k] = max(raw[k], held[k-1] - tail): integers, so exact either way
    if m <= 4:  # a live block: cheaper in Python
        h, vals = held_before, []
        for r in raw.tolist():
            h = max(r, h - tail)
            vals.append(h)
        held = np.array(vals, np.int64)
    else:  # as a cumulative max
        ramp = np.arange(1, m + 1, dtype=np.int64) * tail
        held = np.maximum(np.maximum.accumulate(raw + ramp), held_before) - ramp
    thr = (held + (s.coupling + margin)) * 0.001
    out: np.ndarray = np.power(10.0, thr)
    out[held <= SILENCE + 2000] = 0.0  # no far end (below -100 dB): no leak
    return out, int(held[-1])
