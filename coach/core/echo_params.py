"""The tuning of the echo stage: the leak detector's and the gate's parameters, checked.

Plain numbers in the units a person thinks in (ms, s, dB); `LeakGate` turns them
into its own units (subframes, hops, 0.01 dB). What each one does is said at
the field; how they work together is in the `coach.core.echo` module docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.errors import CoachError


@dataclass(frozen=True)
class EchoParams:
    """Tuning of the leak detector and gate.  Levels are pre-emphasised, dB."""

    max_delay_ms: int = 300
    """Longest delay of the leak behind the loopback searched (ms, multiple
    of 10).  The playback plus capture latency of a laptop is 10-200 ms."""

    hop_ms: int = 250
    """The detector decides every hop (ms, multiple of 10).  Until it has
    decided, the mic goes on to the VAD at hop boundaries."""

    window_s: float = 20.0
    """The detector and the coupling look at the last this many seconds of
    hops with far-end activity; hops without it are skipped, so the
    evidence survives a long rep monologue."""

    engage_corr: float = 0.35
    """Engage when the correlation's lower confidence bound reaches this."""

    release_corr: float = 0.2
    """Release when the correlation's upper confidence bound falls below this."""

    min_sharpness: float = 0.25
    """The peak must stand this far above the median correlation over all lags."""

    confidence_z: float = 2.0
    """Width of the confidence bounds, in standard errors (Fisher z)."""

    frames_per_dof: int = 6
    """Subframes per independent sample in the confidence bound (speech
    envelopes are correlated over ~40 ms)."""

    min_evidence_s: float = 0.5
    """Far-end activity at the best lag needed before any decision (s)."""

    mic_clamp_db: float = 3.0
    """The detector sees the mic's level clamped to its floor + this."""

    active_db: float = 10.0
    """The loopback is active where it is this far above its floor ..."""

    min_active_dbfs: float = -75.0
    """... and above this absolute level (dither, a muted far end)."""

    audible_db: float = 6.0
    """Coupling: only mic subframes this far above the mic's floor count
    (where the leak rises above the room noise)."""

    margin_db: float = 6.0
    """The gate: the leak may reach coupling + this above the loopback's
    delayed level."""

    tail_db_per_10ms: float = 1.0
    """Decay of the held loopback level: the room's reverberation (1 dB per
    10 ms is a reverberation time of 0.6 s)."""

    hold_ms: int = 1500
    """Mode "auto", until the detector has decided (it engages, or has heard
    `clear_evidence_s` of far end without finding it in the mic): mic audio
    from the moment the far end becomes active is held back up to this long
    (ms, multiple of 10), so that once the detector engages, the leak of the
    customer's first words is gated too.  It delays the rep's VAD by up to
    this much in the first seconds the customer speaks, never after."""

    clear_evidence_s: float = 2.0
    """See `hold_ms` (s of far-end activity)."""

    default_coupling_db: float = -6.0
    """Mode "on", before the coupling is measured."""

    floor_rise_db_per_s: float = 1.0
    """How fast the tracked noise floors may rise."""

    preemphasis: float = 0.97
    """As the VAD's (coach/core/vad.py), so the gate is in the VAD's units."""

    def __post_init__(self) -> None:
        problems = []
        if self.max_delay_ms < 10 or self.max_delay_ms % 10:
            problems.append("max_delay_ms must be a positive multiple of 10")
        if self.hop_ms < 10 or self.hop_ms % 10:
            problems.append("hop_ms must be a positive multiple of 10")
        if not 0.0 < self.release_corr <= self.engage_corr < 1.0:
            problems.append("want 0 < release_corr <= engage_corr < 1")
        if self.hold_ms < 0 or self.hold_ms % 10:
            problems.append("hold_ms must be a multiple of 10, >= 0")
        if self.window_s * 1000 < self.hop_ms:
            problems.append("window_s must hold at least one hop")
        if self.frames_per_dof < 1:
            problems.append("frames_per_dof must be >= 1")
        if not 0.0 <= self.preemphasis < 1.0:
            problems.append("preemphasis must be in [0, 1)")
        if problems:
            raise CoachError("bad echo parameters: " + "; ".join(problems))
