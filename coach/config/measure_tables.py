"""The tables of how a call is measured: ``[vad]`` (speech), ``[turns]`` and ``[report]``.

Each field is one key of the file (see :func:`coach.config.keys.key`); the tables
are gathered into the whole config in :mod:`coach.config.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.config.keys import DAY_S, SECONDS, Source, key


@dataclass(frozen=True)
class VadConfig:
    """The ``[vad]`` table: how speech is told from silence and noise."""

    merge_gap_s: float = key(
        0.3,
        min=0.0,
        max=5.0,
        unit=SECONDS,
        source=(Source.CONTRACT, Source.MEASURED),
        why="Speech separated by less than this is one segment, the gap counted as talk "
        "(metrics contract v1); it also absorbs webrtcvad's false tails: 15.6 of 17.7 "
        "false seconds fell within 300 ms after real speech (measured for this project).",
    )
    backend: str = key(
        "silero",
        choices=("silero", "webrtc"),
        source=Source.MEASURED,
        why="silero: a neural speech probability held through the turn; on labelled real "
        "speech in room noise of 5-20 dB SNR, typing and at -40 dBFS it scores F1 0.97 where "
        "webrtcvad scores 0.93 (0.96 against 0.86 at 5 dB SNR). webrtc: webrtcvad gated by "
        "the noise floor, the cheapest (measured for this project).",
    )
    threshold: float = key(
        0.4,
        min=0.05,
        max=0.95,
        source=Source.MEASURED,
        why="silero: the speech probability that starts a turn. Tuned on either half of "
        "labelled real speech (clips and calls), 0.4 was chosen both times and scored speech "
        "F1 0.98-0.99 on the other half (measured for this project).",
    )
    hold_threshold: float = key(
        0.2,
        min=0.05,
        max=0.95,
        source=Source.MEASURED,
        why="silero: the probability that keeps a turn going once started (at most "
        "vad.threshold): soft word ends and short words sit at 0.2-0.5 and still hold the "
        "floor (measured for this project).",
    )
    mode: int = key(
        3,
        min=0,
        max=3,
        source=Source.MEASURED,
        why="webrtcvad aggressiveness: in 10 dB noise mode 0 bridged turns into 186-319 s "
        "fake monologues, modes 2-3 stayed within 0.006 of the true talk ratio "
        "(measured for this project).",
    )
    frame_ms: int = key(
        30,
        choices=(10, 20, 30),
        unit="milliseconds",
        source=Source.MEASURED,
        why="webrtcvad takes 10, 20 or 30 ms frames; 30 ms costs about half of 10 ms "
        "(0.5 vs 0.9 CPU s per audio hour, measured for this project).",
    )


@dataclass(frozen=True)
class TurnsConfig:
    """The ``[turns]`` table: how speech becomes utterances, backchannels and floor holds."""

    utterance_gap_s: float = key(
        0.7,
        min=0.0,
        max=10.0,
        min_open=True,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Gaps shorter than this stay inside one utterance: turn gaps are ~200 ms "
        "(Stivers et al. 2009) and stretch to ~500 ms on video calls (Boland et al. 2022), "
        "so 0.7 s keeps a speaker's sentence whole.",
    )
    backchannel_max_s: float = key(
        1.0,
        min=0.0,
        max=10.0,
        min_open=True,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="An utterance no longer than this, started while the other side holds the floor, "
        'is a backchannel ("aha", "mhm", "genau"); CANDOR (1,656 video calls): listeners '
        "backchannel ~1,000 times per hour of speech.",
    )
    floor_gap_s: float = key(
        2.0,
        min=0.0,
        max=60.0,
        min_open=True,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Silence that ends a hold of the floor: a ~1 s delay already makes listeners "
        'expect a "no" (Bögels et al. 2015), so 2 s is a clear lapse.',
    )


@dataclass(frozen=True)
class ReportConfig:
    """The ``[report]`` table: thresholds of the post-call report."""

    min_monologue_s: float = key(
        10.0,
        min=0.0,
        max=DAY_S,
        unit=SECONDS,
        source=Source.CONTRACT,
        why="Holds of the floor shorter than this are ordinary turns, not listed as "
        "monologues (metrics contract v1).",
    )
    patience_max_s: float = key(
        5.0,
        min=0.0,
        max=60.0,
        min_open=True,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Longer gaps are lapses, not patience; Gong: top performers pause ~5x longer "
        "after objections (~1.5 s vs ~0.3 s in secondary sources).",
    )
