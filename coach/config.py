"""Configuration: every tunable number of the coach, its reason, and the TOML loader.

One table, `KEYS`, holds each key's default, type, allowed range or choices and
the reason for its default (with its source, from `shared/notes/defaults.md` and
`shared/notes/measurements.md`). The dataclasses below take their defaults from
it, the loader validates against it, and `render_config_toml` writes its reasons
as comments. Times are float seconds; the pipeline converts to what it needs.

Layering, lowest first: built-in defaults < call-type preset < the user's file
(< explicit overrides such as `--no-transcribe`, via `override`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import math
import os
import re
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from platformdirs import user_config_dir

from coach.errors import CoachError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

Value: TypeAlias = bool | int | float | str

ENV_VAR = "COACH_CONFIG"
DEFAULT_MODEL_EN = "tiny.en"
"""transcribe.model = "" for English speech."""
DEFAULT_MODEL_MULTILINGUAL = "base"
"""transcribe.model = "" for any other language (German)."""
"""Environment variable naming the config file to use instead of the default location."""

# Upper bound for timers, so a huge value effectively switches a nudge off.
_DAY_S = 86400.0


@dataclass(frozen=True)
class KeySpec:
    """One config key: where it lives, its default, what is allowed, and why."""

    section: str
    key: str
    default: Value
    kind: type  # bool, int, float or str
    why: str
    min: float | None = None
    max: float | None = None
    min_open: bool = False  # True: the value must be strictly greater than `min`
    choices: tuple[Value, ...] = ()
    unit: str = ""
    pattern: str | None = None  # str keys: re.fullmatch this
    pattern_help: str = ""

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


# Table name -> comment for the rendered file. Order is the order of the file.
TABLES: dict[str, str] = {
    "vad": "Voice activity detection: which audio counts as speech.",
    "turns": "Turn-taking: utterances, backchannels and who holds the floor.",
    "nudges": "Live nudges: when the coach prompts the rep, and when a nudge counts as heeded.",
    "report": "Post-call report.",
    "coach": "General.",
    "audio": "Audio devices for `coach start` (see `coach devices`).",
    "live": "The live panel and how nudges reach the rep.",
    "transcribe": "Offline transcription with faster-whisper (`make models` installs tiny.en).",
    "history": "Local call history (statistics only; never audio).",
}

_S = "seconds"

_SPECS: tuple[KeySpec, ...] = (
    # --- vad
    KeySpec(
        "vad", "merge_gap_s", 0.3, float, min=0.0, max=5.0, unit=_S,
        why="Speech separated by less than this is one segment, the gap counted as talk "
        "(metrics contract v1); it also absorbs webrtcvad's false tails: 15.6 of 17.7 "
        "false seconds fell within 300 ms after real speech (measured for this project).",
    ),
    KeySpec(
        "vad", "backend", "silero", str, choices=("silero", "webrtc"),
        why="silero: a neural speech probability held through the turn; on labelled real "
        "speech in room noise of 5-20 dB SNR, typing and at -40 dBFS it scores F1 0.97 where "
        "webrtcvad scores 0.93 (0.96 against 0.86 at 5 dB SNR). webrtc: webrtcvad gated by "
        "the noise floor, the cheapest (measured for this project).",
    ),
    KeySpec(
        "vad", "threshold", 0.4, float, min=0.05, max=0.95,
        why="silero: the speech probability that starts a turn. Tuned on either half of "
        "labelled real speech (clips and calls), 0.4 was chosen both times and scored speech "
        "F1 0.98-0.99 on the other half (measured for this project).",
    ),
    KeySpec(
        "vad", "hold_threshold", 0.2, float, min=0.05, max=0.95,
        why="silero: the probability that keeps a turn going once started (at most "
        "vad.threshold): soft word ends and short words sit at 0.2-0.5 and still hold the "
        "floor (measured for this project).",
    ),
    KeySpec(
        "vad", "mode", 3, int, min=0, max=3,
        why="webrtcvad aggressiveness: in 10 dB noise mode 0 bridged turns into 186-319 s "
        "fake monologues, modes 2-3 stayed within 0.006 of the true talk ratio "
        "(measured for this project).",
    ),
    KeySpec(
        "vad", "frame_ms", 30, int, choices=(10, 20, 30), unit="milliseconds",
        why="webrtcvad takes 10, 20 or 30 ms frames; 30 ms costs about half of 10 ms "
        "(0.5 vs 0.9 CPU s per audio hour, measured for this project).",
    ),
    # --- turns
    KeySpec(
        "turns", "utterance_gap_s", 0.7, float, min=0.0, max=10.0, min_open=True, unit=_S,
        why="Gaps shorter than this stay inside one utterance: turn gaps are ~200 ms "
        "(Stivers et al. 2009) and stretch to ~500 ms on video calls (Boland et al. 2022), "
        "so 0.7 s keeps a speaker's sentence whole.",
    ),
    KeySpec(
        "turns", "backchannel_max_s", 1.0, float, min=0.0, max=10.0, min_open=True, unit=_S,
        why="An utterance no longer than this, started while the other side holds the floor, "
        'is a backchannel ("aha", "mhm", "genau"); CANDOR (1,656 video calls): listeners '
        "backchannel ~1,000 times per hour of speech.",
    ),
    KeySpec(
        "turns", "floor_gap_s", 2.0, float, min=0.0, max=60.0, min_open=True, unit=_S,
        why='Silence that ends a hold of the floor: a ~1 s delay already makes listeners '
        'expect a "no" (Bögels et al. 2015), so 2 s is a clear lapse.',
    ),
    # --- nudges
    KeySpec(
        "nudges", "acknowledge_after_s", 20.0, float, min=0.0, max=_DAY_S, min_open=True,
        unit=_S,
        why="Remind the rep to acknowledge after this long without a backchannel: listeners "
        "backchannel ~1,000 times per hour of speech (CANDOR, 1,656 video calls), so 20 s "
        "with none is far outside normal listening.",
    ),
    KeySpec(
        "nudges", "pause_s", 0.3, float, min=0.0, max=10.0, unit=_S,
        why='Wait for a customer pause this long to cue "Aha": the typical gap between turns '
        "is ~200 ms across ten languages (Stivers et al. 2009).",
    ),
    KeySpec(
        "nudges", "max_wait_s", 3.0, float, min=0.0, max=60.0, unit=_S,
        why="If no such pause comes, the acknowledge nudge fires this long after it is due, "
        "so the cue stays close to the moment; one reminder per lapse, since dense cues hurt "
        "(Chollet et al. 2022).",
    ),
    KeySpec(
        "nudges", "deepen_pause_s", 1.0, float, min=0.0, max=10.0, unit=_S,
        why="Customer silence that invites a deepening question: on video calls answers "
        "come after gaps of ~1 s (Boland et al. 2022).",
    ),
    KeySpec(
        "nudges", "deepen_after_story_s", 30.0, float, min=0.0, max=_DAY_S, unit=_S,
        why="Gong: a longest customer story of 50 s or less goes with below-average close "
        "rates, ~4-minute stories with wins; so encourage stories from 30 s on.",
    ),
    KeySpec(
        "nudges", "summarise_every_s", 540.0, float, min=0.0, max=_DAY_S, min_open=True,
        unit=_S,
        why="Suggest a recap (\"so what I'm hearing...\") every 9 minutes, about three in a "
        "30-minute call (project choice); a detected summary restarts the count.",
    ),
    KeySpec(
        "nudges", "summarise_silence_s", 0.5, float, min=0.0, max=10.0, unit=_S,
        why="Suggest the recap only once nobody has spoken this long: ~500 ms is a free "
        "conversation gap on video calls (Boland et al. 2022).",
    ),
    KeySpec(
        "nudges", "rep_monologue_max_s", 60.0, float, min=0.0, max=_DAY_S, min_open=True,
        unit=_S,
        why="Gong: win rates fall when a company overview runs past 2 minutes, successful "
        "demos switched speaker about every 76 s; Truly counts 2 min uninterrupted as a "
        "monologue.",
    ),
    KeySpec(
        "nudges", "talk_ratio_window_s", 180.0, float, min=1.0, max=_DAY_S, unit=_S,
        why="Rolling window of the talk-less check: 3 minutes, long enough that one long "
        "answer does not trip it (project choice).",
    ),
    KeySpec(
        "nudges", "talk_ratio_max", 0.65, float, min=0.0, max=1.0, min_open=True,
        unit="rep share of talk",
        why="Gong Labs (25,537 calls): best conversion at a 43:57 rep:customer talk split, "
        "and conversion falls once reps talk more than 65 %; average reps talk 65-75 %.",
    ),
    KeySpec(
        "nudges", "heed_window_s", 15.0, float, min=0.0, max=3600.0, min_open=True, unit=_S,
        why="A nudge counts as heeded when the behaviour it asks for follows within this "
        "long (metrics contract v1).",
    ),
    # --- nudges: the budget (coach/budget.py) decides which due nudges are shown
    KeySpec(
        "nudges", "max_shown_per_10min", 4, int, min=0, max=600,
        unit="nudges per 10 minutes",
        why="At most this many nudges reach the rep in any 10 minutes (the rest are kept "
        "in the statistics as due, not shown; 0 = no limit): acceptance of an alert fell "
        "about 30 % with each extra reminder in the same encounter (Ancker et al. 2017), and "
        "sparse cues beat a dense display (Tanveer et al. 2015, Chollet et al. 2022). "
        "Uncapped, generated one-hour calls with long customer stories had 10-11 due per "
        "10 minutes (measured for this project).",
    ),
    KeySpec(
        "nudges", "cooldown_s", 120.0, float, min=0.0, max=_DAY_S, unit=_S,
        why="A nudge of a kind shown (or held) less than this long ago hides the next of the "
        "same kind: a repeated reminder is the one users switch off (Ancker et al. 2017); "
        "2 minutes lets one kind fill at most half of the 10-minute budget (project choice).",
    ),
    KeySpec(
        "nudges", "unheeded_quiet_s", 300.0, float, min=0.0, max=_DAY_S, unit=_S,
        why="After a shown nudge the rep has not acted on yet, the same kind stays hidden "
        "until the rep does what it asked, for at most this long (0 = off): each repeat of "
        "an ignored alert lowers acceptance further (Ancker et al. 2017); 5 minutes is half "
        "a recap interval (project choice).",
    ),
    KeySpec(
        "nudges", "hold_pause_s", 0.3, float, min=0.0, max=10.0, unit=_S,
        why="A nudge due while the rep speaks is held until the rep has paused this long: "
        "speakers plan their next words while talking, and speaking takes more attention "
        "than listening; ~200 ms is the usual gap between turns (Stivers et al. 2009), so "
        "300 ms is a real pause, the same as vad.merge_gap_s.",
    ),
    KeySpec(
        "nudges", "talk_ratio_band", 0.05, float, min=0.0, max=1.0, unit="rep share of talk",
        why="A dead-band over the rep's own baseline (the median talk ratio of their recent "
        "calls of this type, `coach start` with history): a talk-less nudge while the rep's "
        "share is within it is not shown. Feedback given only outside a tolerance band "
        "teaches better than feedback on every trial (bandwidth feedback: Sherwood 1988, "
        "Lee & Carnahan 1990).",
    ),
    KeySpec(
        "nudges", "fade_every", 2, int, min=1, max=100,
        why="A kind the rep heeds reliably in recent calls shows only one due nudge in this "
        "many (1 = no fading): giving feedback on 50 % of trials instead of every one "
        "improved retention (Winstein & Schmidt 1990), and constant feedback builds "
        "dependence on it (the guidance hypothesis, Salmoni et al. 1984).",
    ),
    KeySpec(
        "nudges", "fade_heed_rate", 0.8, float, min=0.0, max=1.0, min_open=True,
        unit="fraction heeded",
        why="Heeded reliably: at least this share of a kind's shown nudges, over at least 5 "
        "of them in the last nudges.fade_calls calls (project choice).",
    ),
    KeySpec(
        "nudges", "fade_calls", 5, int, min=0, max=1000,
        why="How many recent calls fading looks at (0 = no fading): about a week of calls, "
        "so a habit that slips brings its nudges back soon (project choice).",
    ),
    KeySpec(
        "nudges", "hold_max_s", 5.0, float, min=0.0, max=60.0, unit=_S,
        why="A held nudge is dropped (due, not shown) once it has waited this long for the "
        "rep's pause: like nudges.max_wait_s (3 s) it keeps the cue near its moment, and it "
        "leaves two thirds of the 15 s heed window (project choice).",
    ),
    # --- report
    KeySpec(
        "report", "min_monologue_s", 10.0, float, min=0.0, max=_DAY_S, unit=_S,
        why="Holds of the floor shorter than this are ordinary turns, not listed as "
        "monologues (metrics contract v1).",
    ),
    KeySpec(
        "report", "patience_max_s", 5.0, float, min=0.0, max=60.0, min_open=True, unit=_S,
        why="Longer gaps are lapses, not patience; Gong: top performers pause ~5x longer "
        "after objections (~1.5 s vs ~0.3 s in secondary sources).",
    ),
    # --- coach
    KeySpec(
        "coach", "language", "en", str, choices=("en", "de"),
        why="Language of the nudge texts and of the question/summary word lists.",
    ),
    KeySpec(
        "coach", "preset", "", str, choices=("", "discovery", "demo", "cold-call"),
        why='Call-type preset under this file: discovery (talk_ratio_max 0.55), demo (0.70), '
        'cold-call (0.65), per Gong; "" = none. `--preset` overrides it.',
    ),
    KeySpec(
        "coach", "control_every", 0, int, min=0, max=100,
        why="Opt-in: make one `coach start` call in this many a silent control call "
        "(statistics only, no nudge shown; 0 = never), so `coach history effect` can compare "
        "coached and silent calls. Live feedback can make talk less spontaneous while its "
        "benefit shows in later sessions (Samrose et al. 2020): only such a comparison "
        "tells whether the coach helps you.",
    ),
    # --- audio
    KeySpec(
        "audio", "mic", "", str,
        why='The rep\'s microphone: part of a device name, or its index from `coach devices`; '
        '"" = the system default input.',
    ),
    KeySpec(
        "audio", "loopback", "", str,
        why='The customer side, the call\'s audio output: "" = the default sink\'s monitor on '
        "PulseAudio/PipeWire; on macOS/Windows name a loopback device (BlackHole, a virtual "
        'cable). Linux only: "app:NAME" records only that app\'s playback (e.g. app:zoom), '
        '"auto-app" the app that is playing and recording, so music and notification sounds '
        "never count as the customer.",
    ),
    KeySpec(
        "audio", "echo_cancellation", "auto", str, choices=("auto", "on", "off"),
        why="Laptop speakers leak the customer into the mic. On a real-voice laptop call "
        "(leak at -20 dB, typing, 15 dB SNR room noise) a leak gate judged against the "
        "loopback took the mic side from speech F1 0.90, a false interruption and a talk-ratio "
        "error of 0.047 to F1 0.99, none and 0.002; auto engages it only when the mic carries "
        "the loopback, so headset calls are analysed unchanged (measured for this project).",
    ),
    KeySpec(
        "audio", "api", "auto", str, choices=("auto", "pulseaudio", "portaudio"),
        why="How `coach start` records. auto: PulseAudio's native API when both sides are "
        "sources of a PulseAudio/PipeWire server (measured: ~1-2 % of a core for both "
        "streams, against 4.4 % through PortAudio's ALSA plugin), PortAudio (sounddevice) "
        "otherwise and on macOS/Windows.",
    ),
    # --- live
    KeySpec(
        "live", "bell", True, bool,
        why="Ring the terminal bell with each nudge: the rep is looking at the video call, "
        "not the terminal.",
    ),
    KeySpec(
        "live", "desktop_notifications", True, bool,
        why="Also show each nudge as a desktop notification (freedesktop notifications), "
        "for the same reason.",
    ),
    KeySpec(
        "live", "notification_quotes", False, bool,
        why="Opt-in: put the deepen nudge's quote of the customer into desktop "
        "notifications. Off, they carry the nudge's fixed text: a notification's text is on "
        "notify-send's command line, which any local user can read, and notification "
        "daemons keep a history of their own. The panel shows the quote either way.",
    ),
    KeySpec(
        "live", "event_quotes", True, bool,
        why="`--events` is your own output: its nudge texts (and the final stats) carry the "
        "deepen nudge's quote of the customer, as the panel shows it; false leaves the "
        "quote out (fixed nudge texts only).",
    ),
    KeySpec(
        "live", "refresh_hz", 4, int, min=1, max=30, unit="per second",
        why="Panel redraws per second: a few are enough for a glance, and a fast timer alone "
        "costs more CPU than the VAD (measured for this project).",
    ),
    # --- transcribe
    KeySpec(
        "transcribe", "enabled", True, bool,
        why="Transcribe utterances offline whenever a model is installed (questions, "
        "summaries, deepen quotes); false = VAD only. Nothing leaves the machine.",
    ),
    KeySpec(
        "transcribe", "model", "", str, pattern=r"(?s)(|.*\S.*)",
        pattern_help='a model name under models/ (e.g. "tiny.en", "base") or a path',
        why='"" = the default for the speech language: tiny.en for English (int8: loads in '
        "~0.4 s, ~176 MiB; as accurate as base on espeak questions at half its CPU, "
        "measured for this project), base (multilingual) otherwise; names ending in .en "
        "are English-only.",
    ),
    KeySpec(
        "transcribe", "language", "", str, pattern=r"([a-z]{2,3})?",
        pattern_help='a lowercase language code such as "en" or "de", or "" (= coach.language)',
        why='Language of the speech; "" = coach.language, so coach.language = "de" alone '
        "gives German transcripts; English-only (.en) models accept only en.",
    ),
    KeySpec(
        "transcribe", "max_wait_s", 30.0, float, min=0.0, max=600.0, unit=_S,
        why="How long an utterance's text may wait to share a whisper pass (whisper encodes "
        "30 s whatever it gets): demo call, live, 30 s took 4 passes and 7 % of a core, 0 "
        "(text within ~1 s) 12 passes and 10 %; no transcription 1.6 % (measured for this "
        "project). Recaps go at once when the summarise count is near.",
    ),
    KeySpec(
        "transcribe", "live_work", "all", str, choices=("all", "no-pace", "stories"),
        why='What the live coach transcribes: "all" it needs (sheds the rest below when it '
        'falls behind, and says so); "no-pace" skips the customer sample for pace and fillers; '
        '"stories" only deepen quotes and recaps. Demo call, live: all 7.1 % of a core '
        '(4 passes), "stories" 3.8 % (1 pass), none 1.9 % (measured for this project).',
    ),
    KeySpec(
        "transcribe", "threads", 2, int, min=1, max=16,
        why="CPU threads for whisper: 2 cut a 10.7 s clip from 0.74 s to 0.51 s on a "
        "2-core machine (measured for this project).",
    ),
    KeySpec(
        "transcribe", "beam_size", 1, int, min=1, max=10,
        why="Beam search width: beam 5 is 1.4-1.8x slower than beam 1 (measured for this project).",
    ),
    # --- history
    KeySpec(
        "history", "enabled", True, bool,
        why="Keep each call's statistics (never audio or transcripts) in a local SQLite "
        "database; `--no-history` skips one call.",
    ),
    KeySpec(
        "history", "baseline_calls", 10, int, min=1, max=1000,
        why="Your baseline: the median of this many recent calls of the same call type "
        "(preset); a median so one odd call does not move it, 10 calls so it follows you "
        "within a few weeks (project choice).",
    ),
    KeySpec(
        "history", "min_effect_calls", 5, int, min=2, max=1000,
        why="`coach history effect` reports a difference only with at least this many "
        "coached and silent calls each; below that a 95 % interval is too wide to say "
        "anything (project choice).",
    ),
)

KEYS: dict[str, KeySpec] = {spec.name: spec for spec in _SPECS}
"""Every config key, "section.key" -> its spec, in file order."""


@dataclass(frozen=True)
class Preset:
    name: str
    values: Mapping[str, Value]
    why: str


PRESETS: dict[str, Preset] = {
    "discovery": Preset(
        "discovery", {"nudges.talk_ratio_max": 0.55},
        "let the customer talk: Gong's best-converting calls had reps at 43 % of the talk",
    ),
    "demo": Preset(
        "demo", {"nudges.talk_ratio_max": 0.70},
        "a demo is the rep's show, but conversion still falls as reps pass ~70 %",
    ),
    "cold-call": Preset(
        "cold-call", {"nudges.talk_ratio_max": 0.65},
        "Gong: successful cold calls had reps at 55 % of the talk; alert at 65 %",
    ),
}
"""Call-type presets, layered over the defaults and under the user's file."""


# ---------------------------------------------------------------- dataclasses
# Defaults come from KEYS through these typed accessors, so the two cannot drift.


def _default(name: str, kind: type) -> Any:
    value = KEYS[name].default
    if type(value) is not kind:
        raise TypeError(f"default of {name} is not a {kind.__name__}")
    return value


def _f(name: str) -> float:
    return float(_default(name, float))


def _i(name: str) -> int:
    return int(_default(name, int))


def _s(name: str) -> str:
    return str(_default(name, str))


def _b(name: str) -> bool:
    return bool(_default(name, bool))


@dataclass(frozen=True)
class VadConfig:
    merge_gap_s: float = _f("vad.merge_gap_s")
    backend: str = _s("vad.backend")
    threshold: float = _f("vad.threshold")
    hold_threshold: float = _f("vad.hold_threshold")
    mode: int = _i("vad.mode")
    frame_ms: int = _i("vad.frame_ms")


@dataclass(frozen=True)
class TurnsConfig:
    utterance_gap_s: float = _f("turns.utterance_gap_s")
    backchannel_max_s: float = _f("turns.backchannel_max_s")
    floor_gap_s: float = _f("turns.floor_gap_s")


@dataclass(frozen=True)
class NudgesConfig:
    acknowledge_after_s: float = _f("nudges.acknowledge_after_s")
    pause_s: float = _f("nudges.pause_s")
    max_wait_s: float = _f("nudges.max_wait_s")
    deepen_pause_s: float = _f("nudges.deepen_pause_s")
    deepen_after_story_s: float = _f("nudges.deepen_after_story_s")
    summarise_every_s: float = _f("nudges.summarise_every_s")
    summarise_silence_s: float = _f("nudges.summarise_silence_s")
    rep_monologue_max_s: float = _f("nudges.rep_monologue_max_s")
    talk_ratio_window_s: float = _f("nudges.talk_ratio_window_s")
    talk_ratio_max: float = _f("nudges.talk_ratio_max")
    heed_window_s: float = _f("nudges.heed_window_s")
    max_shown_per_10min: int = _i("nudges.max_shown_per_10min")
    cooldown_s: float = _f("nudges.cooldown_s")
    unheeded_quiet_s: float = _f("nudges.unheeded_quiet_s")
    hold_pause_s: float = _f("nudges.hold_pause_s")
    talk_ratio_band: float = _f("nudges.talk_ratio_band")
    fade_every: int = _i("nudges.fade_every")
    fade_heed_rate: float = _f("nudges.fade_heed_rate")
    fade_calls: int = _i("nudges.fade_calls")
    hold_max_s: float = _f("nudges.hold_max_s")


@dataclass(frozen=True)
class ReportConfig:
    min_monologue_s: float = _f("report.min_monologue_s")
    patience_max_s: float = _f("report.patience_max_s")


@dataclass(frozen=True)
class CoachConfig:
    language: str = _s("coach.language")
    preset: str = _s("coach.preset")
    control_every: int = _i("coach.control_every")


@dataclass(frozen=True)
class AudioConfig:
    mic: str = _s("audio.mic")
    loopback: str = _s("audio.loopback")
    echo_cancellation: str = _s("audio.echo_cancellation")
    api: str = _s("audio.api")


@dataclass(frozen=True)
class LiveConfig:
    bell: bool = _b("live.bell")
    desktop_notifications: bool = _b("live.desktop_notifications")
    notification_quotes: bool = _b("live.notification_quotes")
    event_quotes: bool = _b("live.event_quotes")
    refresh_hz: int = _i("live.refresh_hz")


@dataclass(frozen=True)
class TranscribeConfig:
    enabled: bool = _b("transcribe.enabled")
    model: str = _s("transcribe.model")
    language: str = _s("transcribe.language")
    max_wait_s: float = _f("transcribe.max_wait_s")
    live_work: str = _s("transcribe.live_work")
    threads: int = _i("transcribe.threads")
    beam_size: int = _i("transcribe.beam_size")


@dataclass(frozen=True)
class HistoryConfig:
    enabled: bool = _b("history.enabled")
    baseline_calls: int = _i("history.baseline_calls")
    min_effect_calls: int = _i("history.min_effect_calls")


@dataclass(frozen=True)
class Config:
    """The effective configuration; one attribute per TOML table."""

    vad: VadConfig = field(default_factory=VadConfig)
    turns: TurnsConfig = field(default_factory=TurnsConfig)
    nudges: NudgesConfig = field(default_factory=NudgesConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    coach: CoachConfig = field(default_factory=CoachConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    transcribe: TranscribeConfig = field(default_factory=TranscribeConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)


SECTION_CLASSES: dict[str, type] = {
    "vad": VadConfig,
    "turns": TurnsConfig,
    "nudges": NudgesConfig,
    "report": ReportConfig,
    "coach": CoachConfig,
    "audio": AudioConfig,
    "live": LiveConfig,
    "transcribe": TranscribeConfig,
    "history": HistoryConfig,
}

DEFAULTS = Config()


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where each value came from.

    `sources` maps "section.key" to "default", "preset NAME", the file's path, or
    the name of an override (e.g. "--preset", "--no-transcribe").
    """

    config: Config
    sources: dict[str, str]
    path: Path | None = None  # the file that was read, if any
    preset: str | None = None  # the preset applied, if any


def config_values(config: Config) -> dict[str, Value]:
    """Flatten a Config to {"section.key": value} in file order."""
    nested = dataclasses.asdict(config)
    return {name: nested[spec.section][spec.key] for name, spec in KEYS.items()}


def _build(values: Mapping[str, Value]) -> Config:
    parts: dict[str, Any] = {}
    for section, cls in SECTION_CLASSES.items():
        kwargs = {spec.key: values[name] for name, spec in KEYS.items() if spec.section == section}
        parts[section] = cls(**kwargs)
    return Config(**parts)


# ---------------------------------------------------------------- formatting


def toml_value(value: Value) -> str:
    """A scalar as TOML source text (also how values are shown to the user)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return _toml_str(value)


def _toml_str(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
               "\f": "\\f", "\r": "\\r"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: object) -> str:
    """A value as the user wrote it, short and on one line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return ("-" if value < 0 else "") + f"a {value.bit_length()}-bit number"
    if isinstance(value, (bool, int, float, str)):
        return _clip(toml_value(value))
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return _clip("[" + ", ".join(_show(v) for v in value[:5]) + "]")
    if isinstance(value, dict):
        return _clip("{" + ", ".join(f"{_key(str(k))} = {_show(v)}" for k, v in
                                     list(value.items())[:5]) + "}")
    return _clip(repr(value))


def _key(name: str) -> str:
    return _clip(name if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else _toml_str(name), 40)


def _noun(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, _dt.datetime):
        return "a date-time"
    if isinstance(value, _dt.date):
        return "a date"
    if isinstance(value, _dt.time):
        return "a time"
    return type(value).__name__


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def allowed(spec: KeySpec) -> str:
    """What a key accepts, in words: 'a number from 0 to 10 (seconds)'."""
    if spec.choices:
        return "one of " + ", ".join(toml_value(c) for c in spec.choices)
    if spec.kind is bool:
        return "true or false"
    if spec.kind is str:
        return spec.pattern_help or "a string in double quotes"
    noun = "a whole number" if spec.kind is int else "a number"
    if spec.min is not None and spec.max is not None:
        if spec.min_open:
            text = f"{noun} greater than {_num(spec.min)} and at most {_num(spec.max)}"
        else:
            text = f"{noun} from {_num(spec.min)} to {_num(spec.max)}"
    elif spec.min is not None:
        text = f"{noun} {'greater than' if spec.min_open else 'at least'} {_num(spec.min)}"
    elif spec.max is not None:
        text = f"{noun} at most {_num(spec.max)}"
    else:
        text = noun
    return f"{text} ({spec.unit})" if spec.unit else text


def _err(message: str) -> CoachError:
    """A CoachError whose message is guaranteed to be a single printable line."""
    flat = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in message)
    return CoachError(flat)


def _did_you_mean(word: str, options: list[str], cutoff: float = 0.6) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return f" (did you mean '{match[0]}'?)" if match else ""


# ---------------------------------------------------------------- validation


class _Invalid(Exception):
    """A value that does not fit its key; the text completes '<key> = <value> ...'."""


def _coerce(spec: KeySpec, value: object) -> Value:
    """Check one value against its spec and return it normalised (ints to float)."""
    example = f"e.g. {spec.key} = {toml_value(spec.default)}"
    if spec.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(f"is {_noun(value)}, but it must be {allowed(spec)}; "
                           f"{_unquote_hint(spec, value) or example}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Invalid(f"is not a finite number: it must be {allowed(spec)}; {example}")
    elif spec.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"is {_noun(value)}, but it must be {allowed(spec)}; "
                           f"{_unquote_hint(spec, value) or example}")
        number = value
    elif spec.kind is bool:
        if not isinstance(value, bool):
            raise _Invalid(f"is {_noun(value)}, but it must be true or false (no quotes); "
                           f"{example}")
        return value
    else:
        if not isinstance(value, str):
            quoted = f"{spec.key} = {_toml_str(_show(value))}"
            hint = f"put it in double quotes: {quoted}"
            if not isinstance(value, (int, float)):
                hint = f"put it in double quotes, {example}"
            raise _Invalid(f"is {_noun(value)}, but it must be {allowed(spec)}; {hint}")
        if spec.choices and value not in spec.choices:
            options = [str(c) for c in spec.choices if c != ""]
            match = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            hint = f"did you mean {_toml_str(match[0])}?" if match else example
            raise _Invalid(f"is not allowed: it must be {allowed(spec)}; {hint}")
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            raise _Invalid(f"is not allowed: it must be {allowed(spec)}; {example}")
        return value

    if spec.choices and number not in spec.choices:
        raise _Invalid(f"is not allowed: it must be {allowed(spec)}; {example}")
    too_low = spec.min is not None and (
        number <= spec.min if spec.min_open else number < spec.min)
    too_high = spec.max is not None and number > spec.max
    if too_low or too_high:
        raise _Invalid(f"is out of range: it must be {allowed(spec)}; change it, or delete "
                       f"the line to use the default ({toml_value(spec.default)})")
    return float(number) if spec.kind is float else int(number)


def _unquote_hint(spec: KeySpec, value: object) -> str:
    """'write it without quotes' when a string holds a valid value of the right kind."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    try:
        parsed: Value = int(text) if spec.kind is int else float(text)
        _coerce(spec, parsed)
    except (ValueError, _Invalid):
        return ""
    return f"write it without quotes: {spec.key} = {text}"


def _parse_data(data: Mapping[str, object], origin: str) -> dict[str, Value]:
    """Validate parsed TOML: {"table": {"key": value}} -> {"table.key": value}."""
    values: dict[str, Value] = {}
    tables = list(TABLES)
    for table, content in data.items():
        table = str(table)
        if table not in TABLES:
            if not isinstance(content, dict):
                homes = [name for name, spec in KEYS.items() if spec.key == table]
                where = (f"put it under [{KEYS[homes[0]].section}] (as '{homes[0]}')" if homes
                         else f"keys belong in one of the tables {', '.join(tables)}")
                raise _err(f"{origin}: top-level key {_key(table)} = {_show(content)} is not "
                           f"allowed: {where}")
            close = difflib.get_close_matches(table, tables, n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            raise _err(f"{origin}: unknown table [{_key(table)}]{hint}; the tables are "
                       f"{', '.join(tables)}: fix its name or delete it")
        if not isinstance(content, dict):
            raise _err(f"{origin}: {table} = {_show(content)} must be a table: write [{table}] "
                       f"on its own line with its keys below it")
        for key, value in content.items():
            key = str(key)
            name = f"{table}.{key}"
            spec = KEYS.get(name)
            if spec is None:
                raise _err(f"{origin}: unknown key {_key(name)}{_suggest(table, key)}: fix the "
                           "name or delete it (`coach config show` lists every key)")
            try:
                values[name] = _coerce(spec, value)
            except _Invalid as bad:
                raise _err(f"{origin}: {name} = {_show(value)} {bad}") from None
    return values


def _suggest(table: str, key: str) -> str:
    """A 'did you mean' for an unknown key: the same key in another table, or a close name."""
    homes = [name for name, spec in KEYS.items() if spec.key == key]
    if homes:
        return f" (did you mean '{homes[0]}'?)"
    hint = _did_you_mean(f"{table}.{key}", list(KEYS))
    if hint:
        return hint
    match = difflib.get_close_matches(key, [spec.key for spec in _SPECS], n=1, cutoff=0.75)
    if not match:
        return ""
    name = next(n for n, spec in KEYS.items() if spec.key == match[0])
    return f" (did you mean '{name}'?)"


@dataclass(frozen=True)
class _Rule:
    """A real contradiction between two keys: `low` must be below (or at most) `high`."""

    low: str
    high: str
    strict: bool
    why: str


_RULES: tuple[_Rule, ...] = (
    _Rule("turns.utterance_gap_s", "turns.floor_gap_s", False,
          "otherwise a side would lose the floor in the middle of its own utterance"),
    _Rule("turns.backchannel_max_s", "nudges.acknowledge_after_s", True,
          "a backchannel resets the acknowledge count, so it must be shorter than that count"),
    _Rule("nudges.pause_s", "nudges.max_wait_s", False,
          "the acknowledge nudge waits at most max_wait_s for a pause of pause_s"),
)


def _cross_check(values: Mapping[str, Value], sources: Mapping[str, str]) -> None:
    def where(name: str) -> str:
        return f"{name} = {toml_value(values[name])} (from {sources[name]})"

    for rule in _RULES:
        low, high = float(values[rule.low]), float(values[rule.high])
        if low > high or (rule.strict and low == high):
            relation = "less than" if rule.strict else "at most"
            raise _err(f"contradictory settings: {where(rule.low)} must be {relation} "
                       f"{where(rule.high)}, because {rule.why}; change one of them")
    language = _speech_language(values)
    model = _model_name(str(values["transcribe.model"]), language)
    if values["transcribe.enabled"] and Path(model).name.endswith(".en") and language != "en":
        lang_key = "transcribe.language" if values["transcribe.language"] else "coach.language"
        raise _err(f"contradictory settings: {where(lang_key)} needs a "
                   f"multilingual model, but {where('transcribe.model')} is English-only; "
                   'set transcribe.model to e.g. "base" (or "" for the default) or '
                   'transcribe.language = "en"')


def _speech_language(values: Mapping[str, Value]) -> str:
    return str(values["transcribe.language"] or values["coach.language"])


def _model_name(model: str, language: str) -> str:
    if model:
        return model
    return DEFAULT_MODEL_EN if language == "en" else DEFAULT_MODEL_MULTILINGUAL


def speech_language(config: Config) -> str:
    """The language of the speech: ``transcribe.language``, else ``coach.language``."""
    return config.transcribe.language or config.coach.language


def model_name(config: Config) -> str:
    """The model ``transcribe.model`` asks for: "" means the default for the speech language."""
    return _model_name(config.transcribe.model, speech_language(config))


def check_config(config: Config) -> None:
    """Validate a Config built in code (ranges and cross-key rules); CoachError if bad."""
    values: dict[str, Value] = {}
    for name, value in config_values(config).items():
        try:
            values[name] = _coerce(KEYS[name], value)
        except _Invalid as bad:
            raise _err(f"{name} = {_show(value)} {bad}") from None
    _cross_check(values, {name: "code" for name in values})


# ---------------------------------------------------------------- loading


def default_config_path() -> Path:
    """$COACH_CONFIG if set, else the platform's user config dir / config.toml."""
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir("coach", appauthor=False)) / "config.toml"


def _read_toml(path: Path, explicit: bool) -> dict[str, Any] | None:
    """Parse the file; None when the default file does not exist."""
    if path.is_dir():
        raise _err(f"{path} is a directory, not a config file; give the path of a .toml file "
                   "(`coach config init --path FILE` writes one)")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not explicit:
            return None
        raise _err(f"config file {path} not found; check the path, or create it with "
                   f"`coach config init --path {path}`") from None
    except OSError as exc:
        raise _err(f"cannot read config file {path}: {exc.strerror or exc}; check its "
                   "permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _err(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); save it as "
                   "UTF-8 or rewrite it with `coach config init --force`") from None
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise _err(f"{path}: not valid TOML: {exc}; fix that line (strings need double "
                   "quotes, each key = value on its own line)") from None


def config_from_data(
    data: Mapping[str, object] | None,
    origin: str = "<config>",
    preset: str | None = None,
    path: Path | None = None,
) -> LoadedConfig:
    """Layer defaults < preset < `data` (parsed TOML) and validate; CoachError if bad.

    `preset` (from the command line) wins over a `coach.preset` named in `data`.
    """
    file_values = _parse_data(data or {}, origin)
    chosen = preset or str(file_values.get("coach.preset", "")) or None
    if chosen is not None and chosen not in PRESETS:
        names = list(PRESETS)
        raise _err(f"unknown preset {_show(chosen)}{_did_you_mean(chosen, names)}; the presets "
                   f"are {', '.join(names)}")

    values: dict[str, Value] = {name: spec.default for name, spec in KEYS.items()}
    sources = {name: "default" for name in KEYS}
    if chosen is not None:
        for name, value in PRESETS[chosen].values.items():
            values[name] = value
            sources[name] = f"preset {chosen}"
    for name, value in file_values.items():
        values[name] = value
        sources[name] = origin
    if preset:
        values["coach.preset"] = preset
        sources["coach.preset"] = "--preset"

    try:
        _cross_check(values, {k: "this file" if v == origin else v for k, v in sources.items()})
    except CoachError as exc:
        raise (_err(f"{origin}: {exc}") if data else exc) from None
    return LoadedConfig(_build(values), sources, path, chosen)


def load_config(path: Path | str | None = None, preset: str | None = None) -> LoadedConfig:
    """Load the user's config over the defaults and an optional preset.

    `path=None` reads `default_config_path()`, which may be missing (defaults
    apply); an explicitly given path must exist. Every problem is a one-line
    CoachError naming the file, the key, the value and what is allowed.
    """
    explicit = path is not None
    file = Path(path) if path is not None else default_config_path()
    data = _read_toml(file, explicit)
    if data is None:
        return config_from_data(None, "default", preset, None)
    return config_from_data(data, str(file), preset, file)


def override(loaded: LoadedConfig, values: Mapping[str, object], source: str) -> LoadedConfig:
    """Apply command-line overrides, e.g. {"transcribe.enabled": False} from --no-transcribe."""
    current = config_values(loaded.config)
    sources = dict(loaded.sources)
    for name, value in values.items():
        spec = KEYS.get(name)
        if spec is None:
            raise _err(f"{source}: unknown key {_key(name)}{_did_you_mean(name, list(KEYS))}")
        try:
            current[name] = _coerce(spec, value)
        except _Invalid as bad:
            raise _err(f"{source}: {name} = {_show(value)} {bad}") from None
        sources[name] = source
    _cross_check(current, sources)
    return dataclasses.replace(loaded, config=_build(current), sources=sources)


# ---------------------------------------------------------------- rendering

_HEADER = """\
# coach configuration (TOML)
#
# Written by `coach config init`. Every key is optional: a key that is missing
# or commented out takes the default shown on its line. To change a value,
# remove the leading "# " from its line and edit it. `coach config show` prints
# the effective values and where each came from.
#
# Presets for call types (`--preset discovery|demo|cold-call`, or coach.preset
# below) sit between the defaults and this file: a value set here wins.
#
# The comment above each key gives the reason for its default and its source:
# Gong Labs' call studies, the CANDOR corpus of video calls, turn-taking
# research (Stivers et al. 2009, Boland et al. 2022, Bögels et al. 2015), and
# measurements made on a 2-core machine for this project.
"""


def render_config_toml(config: Config | None = None, *, all_active: bool = False) -> str:
    """A fully commented TOML file for `config`; loads back to exactly `config`.

    Keys equal to the built-in default are written commented out (so presets
    still apply beneath the file); other keys, or all with `all_active`, are live.
    """
    values = config_values(config or DEFAULTS)
    # What the file would give for a key left commented out: the default, or the
    # value of the preset that the file itself names.
    baseline = {name: spec.default for name, spec in KEYS.items()}
    baseline.update(PRESETS[p].values if (p := str(values["coach.preset"])) in PRESETS else {})
    lines = [_HEADER]
    for table, about in TABLES.items():
        lines.append(f"[{table}]")
        lines.append(f"# {about}")
        for name, spec in KEYS.items():
            if spec.section != table:
                continue
            lines.append("")
            lines.extend(textwrap.wrap(spec.why, width=86, initial_indent="# ",
                                       subsequent_indent="# ", break_on_hyphens=False))
            lines.append(f"# Allowed: {allowed(spec)}. Default: {toml_value(spec.default)}.")
            value = values[name]
            live = all_active or value != baseline[name]
            lines.append(f"{'' if live else '# '}{spec.key} = {toml_value(value)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
