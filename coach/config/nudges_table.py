"""The ``[nudges]`` table: when each live nudge is due, shown, held, faded and heeded.

Each field is one key of the file (see :func:`coach.config.keys.key`); the table
is part of the whole config in :mod:`coach.config.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.config.keys import DAY_S, SECONDS, Source, key


@dataclass(frozen=True)
class NudgesConfig:
    """The ``[nudges]`` table: when each nudge is due, shown and heeded."""

    acknowledge_after_s: float = key(
        20.0,
        min=0.0,
        max=DAY_S,
        min_open=True,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Remind the rep to acknowledge after this long without a backchannel: listeners "
        "backchannel ~1,000 times per hour of speech (CANDOR, 1,656 video calls), so 20 s "
        "with none is far outside normal listening.",
    )
    pause_s: float = key(
        0.3,
        min=0.0,
        max=10.0,
        unit=SECONDS,
        source=Source.RESEARCH,
        why='Wait for a customer pause this long to cue "Aha": the typical gap between turns '
        "is ~200 ms across ten languages (Stivers et al. 2009).",
    )
    max_wait_s: float = key(
        3.0,
        min=0.0,
        max=60.0,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="If no such pause comes, the acknowledge nudge fires this long after it is due, "
        "so the cue stays close to the moment; one reminder per lapse, since dense cues hurt "
        "(Chollet et al. 2022).",
    )
    deepen_pause_s: float = key(
        1.0,
        min=0.0,
        max=10.0,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Customer silence that invites a deepening question: on video calls answers "
        "come after gaps of ~1 s (Boland et al. 2022).",
    )
    deepen_after_story_s: float = key(
        30.0,
        min=0.0,
        max=DAY_S,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Gong: a longest customer story of 50 s or less goes with below-average close "
        "rates, ~4-minute stories with wins; so encourage stories from 30 s on.",
    )
    summarise_every_s: float = key(
        540.0,
        min=0.0,
        max=DAY_S,
        min_open=True,
        unit=SECONDS,
        source=Source.CHOICE,
        why='Suggest a recap ("so what I\'m hearing...") every 9 minutes, about three in a '
        "30-minute call (project choice); a detected summary restarts the count.",
    )
    summarise_silence_s: float = key(
        0.5,
        min=0.0,
        max=10.0,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Suggest the recap only once nobody has spoken this long: ~500 ms is a free "
        "conversation gap on video calls (Boland et al. 2022).",
    )
    rep_monologue_max_s: float = key(
        60.0,
        min=0.0,
        max=DAY_S,
        min_open=True,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="Gong: win rates fall when a company overview runs past 2 minutes, successful "
        "demos switched speaker about every 76 s; Truly counts 2 min uninterrupted as a "
        "monologue.",
    )
    talk_ratio_window_s: float = key(
        180.0,
        min=1.0,
        max=DAY_S,
        unit=SECONDS,
        source=Source.CHOICE,
        why="Rolling window of the talk-less check: 3 minutes, long enough that one long "
        "answer does not trip it (project choice).",
    )
    talk_ratio_max: float = key(
        0.65,
        min=0.0,
        max=1.0,
        min_open=True,
        unit="rep share of talk",
        source=Source.RESEARCH,
        why="Gong Labs (25,537 calls): best conversion at a 43:57 rep:customer talk split, "
        "and conversion falls once reps talk more than 65 %; average reps talk 65-75 %.",
    )
    heed_window_s: float = key(
        15.0,
        min=0.0,
        max=3600.0,
        min_open=True,
        unit=SECONDS,
        source=Source.CONTRACT,
        why="A nudge counts as heeded when the behaviour it asks for follows within this "
        "long (metrics contract v1).",
    )
    # the budget (coach/core/budget.py) decides which due nudges are shown
    max_shown_per_10min: int = key(
        4,
        min=0,
        max=600,
        unit="nudges per 10 minutes",
        source=(Source.RESEARCH, Source.MEASURED),
        why="At most this many nudges reach the rep in any 10 minutes (the rest are kept "
        "in the statistics as due, not shown; 0 = no limit): acceptance of an alert fell "
        "about 30 % with each extra reminder in the same encounter (Ancker et al. 2017), and "
        "sparse cues beat a dense display (Tanveer et al. 2015, Chollet et al. 2022). "
        "Uncapped, generated one-hour calls with long customer stories had 10-11 due per "
        "10 minutes (measured for this project).",
    )
    cooldown_s: float = key(
        120.0,
        min=0.0,
        max=DAY_S,
        unit=SECONDS,
        source=(Source.RESEARCH, Source.CHOICE),
        why="A nudge of a kind shown (or held) less than this long ago hides the next of the "
        "same kind: a repeated reminder is the one users switch off (Ancker et al. 2017); "
        "2 minutes lets one kind fill at most half of the 10-minute budget (project choice).",
    )
    unheeded_quiet_s: float = key(
        300.0,
        min=0.0,
        max=DAY_S,
        unit=SECONDS,
        source=(Source.RESEARCH, Source.CHOICE),
        why="After a shown nudge the rep has not acted on yet, the same kind stays hidden "
        "until the rep does what it asked, for at most this long (0 = off): each repeat of "
        "an ignored alert lowers acceptance further (Ancker et al. 2017); 5 minutes is half "
        "a recap interval (project choice).",
    )
    hold_pause_s: float = key(
        0.3,
        min=0.0,
        max=10.0,
        unit=SECONDS,
        source=Source.RESEARCH,
        why="A nudge due while the rep speaks is held until the rep has paused this long: "
        "speakers plan their next words while talking, and speaking takes more attention "
        "than listening; ~200 ms is the usual gap between turns (Stivers et al. 2009), so "
        "300 ms is a real pause, the same as vad.merge_gap_s.",
    )
    talk_ratio_band: float = key(
        0.05,
        min=0.0,
        max=1.0,
        unit="rep share of talk",
        source=Source.RESEARCH,
        why="A dead-band over the rep's own baseline (the median talk ratio of their recent "
        "calls of this type, `coach start` with history): a talk-less nudge while the rep's "
        "share is within it is not shown. Feedback given only outside a tolerance band "
        "teaches better than feedback on every trial (bandwidth feedback: Sherwood 1988, "
        "Lee & Carnahan 1990).",
    )
    fade_every: int = key(
        2,
        min=1,
        max=100,
        source=Source.RESEARCH,
        why="A kind the rep heeds reliably in recent calls shows only one due nudge in this "
        "many (1 = no fading): giving feedback on 50 % of trials instead of every one "
        "improved retention (Winstein & Schmidt 1990), and constant feedback builds "
        "dependence on it (the guidance hypothesis, Salmoni et al. 1984).",
    )
    fade_heed_rate: float = key(
        0.8,
        min=0.0,
        max=1.0,
        min_open=True,
        unit="fraction heeded",
        source=Source.CHOICE,
        why="Heeded reliably: at least this share of a kind's shown nudges, over at least 5 "
        "of them in the last nudges.fade_calls calls (project choice).",
    )
    fade_calls: int = key(
        5,
        min=0,
        max=1000,
        source=Source.CHOICE,
        why="How many recent calls fading looks at (0 = no fading): about a week of calls, "
        "so a habit that slips brings its nudges back soon (project choice).",
    )
    hold_max_s: float = key(
        5.0,
        min=0.0,
        max=60.0,
        unit=SECONDS,
        source=Source.CHOICE,
        why="A held nudge is dropped (due, not shown) once it has waited this long for the "
        "rep's pause: like nudges.max_wait_s (3 s) it keeps the cue near its moment, and it "
        "leaves two thirds of the 15 s heed window (project choice).",
    )
