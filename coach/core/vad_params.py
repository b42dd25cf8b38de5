"""The VAD's tuning, its latency bounds, and what one feed settles.

`VadParams` (checked on construction) is what `SideVad` is tuned by; the bounds
say how far its settled output can trail the audio fed, which the pipeline and
the live loop plan with; `VadUpdate` is what each feed answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.errors import CoachError

SUBFRAME_MS = 10
"""Resolution of the boundary refinement (ms): the truth grid of the eval."""


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
