"""Contract thresholds in integer milliseconds (the core's unit of audio time).

Durations are compared at 1 ms resolution (docs/metrics.md), so every threshold is
rounded to whole milliseconds once, here, and the core never touches floats.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.config import Config


def ms(seconds: float) -> int:
    return int(round(seconds * 1000))


@dataclass(frozen=True)
class Timing:
    """The segment timings in milliseconds: merge gaps, utterances, backchannels, the floor."""

    merge_gap_ms: int
    utterance_gap_ms: int
    backchannel_max_ms: int
    floor_gap_ms: int
    min_monologue_ms: int
    patience_max_ms: int
    acknowledge_after_ms: int
    pause_ms: int
    max_wait_ms: int
    deepen_pause_ms: int
    deepen_after_story_ms: int
    summarise_every_ms: int
    summarise_silence_ms: int
    rep_monologue_max_ms: int
    talk_ratio_window_ms: int
    talk_ratio_max: float
    heed_window_ms: int
    # the nudge budget (coach/core/budget.py): which due nudges are shown
    cooldown_ms: int = 0
    max_shown_per_10min: int = 0
    unheeded_quiet_ms: int = 0
    hold_pause_ms: int = 0
    hold_max_ms: int = 0

    @classmethod
    def from_config(cls, config: Config) -> Timing:
        t, n, r = config.turns, config.nudges, config.report
        return cls(
            merge_gap_ms=ms(config.vad.merge_gap_s),
            utterance_gap_ms=ms(t.utterance_gap_s),
            backchannel_max_ms=ms(t.backchannel_max_s),
            floor_gap_ms=ms(t.floor_gap_s),
            min_monologue_ms=ms(r.min_monologue_s),
            patience_max_ms=ms(r.patience_max_s),
            acknowledge_after_ms=ms(n.acknowledge_after_s),
            pause_ms=ms(n.pause_s),
            max_wait_ms=ms(n.max_wait_s),
            deepen_pause_ms=ms(n.deepen_pause_s),
            deepen_after_story_ms=ms(n.deepen_after_story_s),
            summarise_every_ms=ms(n.summarise_every_s),
            summarise_silence_ms=ms(n.summarise_silence_s),
            rep_monologue_max_ms=ms(n.rep_monologue_max_s),
            talk_ratio_window_ms=ms(n.talk_ratio_window_s),
            talk_ratio_max=float(n.talk_ratio_max),
            heed_window_ms=ms(n.heed_window_s),
            cooldown_ms=ms(n.cooldown_s),
            max_shown_per_10min=n.max_shown_per_10min,
            unheeded_quiet_ms=ms(n.unheeded_quiet_s),
            hold_pause_ms=ms(n.hold_pause_s),
            hold_max_ms=ms(n.hold_max_s),
        )
