"""The config schema: every key of the TOML file is a field of the dataclasses below.

A key's type is its field's annotation and its default the field's default; what
it allows (range, choices, pattern, unit), the reason for its default and the
kind of source behind that reason sit in the field's metadata (:func:`key`).
Everything else (``KEYS``, the loader, validation, the renderer) is derived from
these fields, so a key is spelled once. Times are float seconds; the pipeline
converts to what it needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coach.config.keys import KeySpec, Source, Value, key, keys_of, table, tables_of

# Upper bound for timers, so a huge value effectively switches a nudge off.
_DAY_S = 86400.0
_S = "seconds"


@dataclass(frozen=True)
class VadConfig:
    """The ``[vad]`` table: how speech is told from silence and noise."""

    merge_gap_s: float = key(
        0.3,
        min=0.0,
        max=5.0,
        unit=_S,
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
        unit=_S,
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
        unit=_S,
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
        unit=_S,
        source=Source.RESEARCH,
        why="Silence that ends a hold of the floor: a ~1 s delay already makes listeners "
        'expect a "no" (Bögels et al. 2015), so 2 s is a clear lapse.',
    )


@dataclass(frozen=True)
class NudgesConfig:
    """The ``[nudges]`` table: when each nudge is due, shown and heeded."""

    acknowledge_after_s: float = key(
        20.0,
        min=0.0,
        max=_DAY_S,
        min_open=True,
        unit=_S,
        source=Source.RESEARCH,
        why="Remind the rep to acknowledge after this long without a backchannel: listeners "
        "backchannel ~1,000 times per hour of speech (CANDOR, 1,656 video calls), so 20 s "
        "with none is far outside normal listening.",
    )
    pause_s: float = key(
        0.3,
        min=0.0,
        max=10.0,
        unit=_S,
        source=Source.RESEARCH,
        why='Wait for a customer pause this long to cue "Aha": the typical gap between turns '
        "is ~200 ms across ten languages (Stivers et al. 2009).",
    )
    max_wait_s: float = key(
        3.0,
        min=0.0,
        max=60.0,
        unit=_S,
        source=Source.RESEARCH,
        why="If no such pause comes, the acknowledge nudge fires this long after it is due, "
        "so the cue stays close to the moment; one reminder per lapse, since dense cues hurt "
        "(Chollet et al. 2022).",
    )
    deepen_pause_s: float = key(
        1.0,
        min=0.0,
        max=10.0,
        unit=_S,
        source=Source.RESEARCH,
        why="Customer silence that invites a deepening question: on video calls answers "
        "come after gaps of ~1 s (Boland et al. 2022).",
    )
    deepen_after_story_s: float = key(
        30.0,
        min=0.0,
        max=_DAY_S,
        unit=_S,
        source=Source.RESEARCH,
        why="Gong: a longest customer story of 50 s or less goes with below-average close "
        "rates, ~4-minute stories with wins; so encourage stories from 30 s on.",
    )
    summarise_every_s: float = key(
        540.0,
        min=0.0,
        max=_DAY_S,
        min_open=True,
        unit=_S,
        source=Source.CHOICE,
        why='Suggest a recap ("so what I\'m hearing...") every 9 minutes, about three in a '
        "30-minute call (project choice); a detected summary restarts the count.",
    )
    summarise_silence_s: float = key(
        0.5,
        min=0.0,
        max=10.0,
        unit=_S,
        source=Source.RESEARCH,
        why="Suggest the recap only once nobody has spoken this long: ~500 ms is a free "
        "conversation gap on video calls (Boland et al. 2022).",
    )
    rep_monologue_max_s: float = key(
        60.0,
        min=0.0,
        max=_DAY_S,
        min_open=True,
        unit=_S,
        source=Source.RESEARCH,
        why="Gong: win rates fall when a company overview runs past 2 minutes, successful "
        "demos switched speaker about every 76 s; Truly counts 2 min uninterrupted as a "
        "monologue.",
    )
    talk_ratio_window_s: float = key(
        180.0,
        min=1.0,
        max=_DAY_S,
        unit=_S,
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
        unit=_S,
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
        max=_DAY_S,
        unit=_S,
        source=(Source.RESEARCH, Source.CHOICE),
        why="A nudge of a kind shown (or held) less than this long ago hides the next of the "
        "same kind: a repeated reminder is the one users switch off (Ancker et al. 2017); "
        "2 minutes lets one kind fill at most half of the 10-minute budget (project choice).",
    )
    unheeded_quiet_s: float = key(
        300.0,
        min=0.0,
        max=_DAY_S,
        unit=_S,
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
        unit=_S,
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
        unit=_S,
        source=Source.CHOICE,
        why="A held nudge is dropped (due, not shown) once it has waited this long for the "
        "rep's pause: like nudges.max_wait_s (3 s) it keeps the cue near its moment, and it "
        "leaves two thirds of the 15 s heed window (project choice).",
    )


@dataclass(frozen=True)
class ReportConfig:
    """The ``[report]`` table: thresholds of the post-call report."""

    min_monologue_s: float = key(
        10.0,
        min=0.0,
        max=_DAY_S,
        unit=_S,
        source=Source.CONTRACT,
        why="Holds of the floor shorter than this are ordinary turns, not listed as "
        "monologues (metrics contract v1).",
    )
    patience_max_s: float = key(
        5.0,
        min=0.0,
        max=60.0,
        min_open=True,
        unit=_S,
        source=Source.RESEARCH,
        why="Longer gaps are lapses, not patience; Gong: top performers pause ~5x longer "
        "after objections (~1.5 s vs ~0.3 s in secondary sources).",
    )


@dataclass(frozen=True)
class CoachConfig:
    """The ``[coach]`` table: language, call-type preset and control calls."""

    language: str = key(
        "en",
        choices=("en", "de"),
        source=Source.DESIGN,
        why="Language of the nudge texts and of the question/summary word lists.",
    )
    preset: str = key(
        "",
        choices=("", "discovery", "demo", "cold-call"),
        source=Source.RESEARCH,
        why="Call-type preset under this file: discovery (talk_ratio_max 0.55), demo (0.70), "
        'cold-call (0.65), per Gong; "" = none. `--preset` overrides it.',
    )
    control_every: int = key(
        0,
        min=0,
        max=100,
        source=Source.RESEARCH,
        why="Opt-in: make one `coach start` call in this many a silent control call "
        "(statistics only, no nudge shown; 0 = never), so `coach history effect` can compare "
        "coached and silent calls. Live feedback can make talk less spontaneous while its "
        "benefit shows in later sessions (Samrose et al. 2020): only such a comparison "
        "tells whether the coach helps you.",
    )


@dataclass(frozen=True)
class AudioConfig:
    """The ``[audio]`` table: which devices `coach start` records."""

    mic: str = key(
        "",
        source=Source.DESIGN,
        why="The rep's microphone: part of a device name, or its index from `coach devices`; "
        '"" = the system default input.',
    )
    loopback: str = key(
        "",
        source=Source.DESIGN,
        why="The customer side, the call's audio output: \"\" = the default sink's monitor on "
        "PulseAudio/PipeWire; on macOS/Windows name a loopback device (BlackHole, a virtual "
        'cable). Linux only: "app:NAME" records only that app\'s playback (e.g. app:zoom), '
        '"auto-app" the app that is playing and recording, so music and notification sounds '
        "never count as the customer.",
    )
    echo_cancellation: str = key(
        "auto",
        choices=("auto", "on", "off"),
        source=Source.MEASURED,
        why="Laptop speakers leak the customer into the mic. On a real-voice laptop call "
        "(leak at -20 dB, typing, 15 dB SNR room noise) a leak gate judged against the "
        "loopback took the mic side from speech F1 0.90, a false interruption and a talk-ratio "
        "error of 0.047 to F1 0.99, none and 0.002; auto engages it only when the mic carries "
        "the loopback, so headset calls are analysed unchanged (measured for this project).",
    )
    api: str = key(
        "auto",
        choices=("auto", "pulseaudio", "portaudio"),
        source=Source.MEASURED,
        why="How `coach start` records. auto: PulseAudio's native API when both sides are "
        "sources of a PulseAudio/PipeWire server (measured: ~1-2 % of a core for both "
        "streams, against 4.4 % through PortAudio's ALSA plugin), PortAudio (sounddevice) "
        "otherwise and on macOS/Windows.",
    )


@dataclass(frozen=True)
class LiveConfig:
    """The ``[live]`` table: the panel and how nudges reach the rep."""

    bell: bool = key(
        True,
        source=Source.DESIGN,
        why="Ring the terminal bell with each nudge: the rep is looking at the video call, "
        "not the terminal.",
    )
    desktop_notifications: bool = key(
        True,
        source=Source.DESIGN,
        why="Also show each nudge as a desktop notification (freedesktop notifications), "
        "for the same reason.",
    )
    notification_quotes: bool = key(
        False,
        source=Source.DESIGN,
        why="Opt-in: put the deepen nudge's quote of the customer into desktop "
        "notifications. Off, they carry the nudge's fixed text: a notification's text is on "
        "notify-send's command line, which any local user can read, and notification "
        "daemons keep a history of their own. The panel shows the quote either way.",
    )
    event_quotes: bool = key(
        True,
        source=Source.DESIGN,
        why="`--events` is your own output: its nudge texts (and the final stats) carry the "
        "deepen nudge's quote of the customer, as the panel shows it; false leaves the "
        "quote out (fixed nudge texts only).",
    )
    refresh_hz: int = key(
        4,
        min=1,
        max=30,
        unit="per second",
        source=Source.MEASURED,
        why="Panel redraws per second: a few are enough for a glance, and a fast timer alone "
        "costs more CPU than the VAD (measured for this project).",
    )


@dataclass(frozen=True)
class TranscribeConfig:
    """The ``[transcribe]`` table: the offline speech-to-text model and its budget."""

    enabled: bool = key(
        True,
        source=Source.DESIGN,
        why="Transcribe utterances offline whenever a model is installed (questions, "
        "summaries, deepen quotes); false = VAD only. Nothing leaves the machine.",
    )
    model: str = key(
        "",
        pattern=r"(?s)(|.*\S.*)",
        source=Source.MEASURED,
        pattern_help='a model name under models/ (e.g. "tiny.en", "base") or a path',
        why='"" = the default for the speech language: tiny.en for English (int8: loads in '
        "~0.4 s, peak ~131 MiB; as accurate as base on espeak questions at half its CPU, "
        "measured for this project), base (multilingual) otherwise; names ending in .en "
        "are English-only.",
    )
    language: str = key(
        "",
        pattern=r"([a-z]{2,3})?",
        source=Source.DESIGN,
        pattern_help='a lowercase language code such as "en" or "de", or "" (= coach.language)',
        why='Language of the speech; "" = coach.language, so coach.language = "de" alone '
        "gives German transcripts; English-only (.en) models accept only en.",
    )
    max_wait_s: float = key(
        30.0,
        min=0.0,
        max=600.0,
        unit=_S,
        source=Source.MEASURED,
        why="How long an utterance's text may wait to share a whisper pass: the demo call "
        "replayed, CPU of the whole process over the call, 30 s 9.6 % of a core, 0 (text "
        "within ~1 s) 11.9 %, no transcription 5.5 % (measured for this project). Recaps go "
        "at once when the summarise count is near.",
    )
    live_work: str = key(
        "all",
        choices=("all", "no-pace", "stories"),
        source=Source.MEASURED,
        why='What the live coach transcribes: "all" it needs (sheds the rest below when it '
        'falls behind, and says so); "no-pace" skips the customer sample for pace and fillers; '
        '"stories" only deepen quotes and recaps. The demo call replayed, whole process: all '
        '9.6 % of a core, "stories" 6.3 %, no transcription 5.5 % (measured for this project).',
    )
    threads: int = key(
        2,
        min=1,
        max=16,
        source=Source.MEASURED,
        why="CPU threads for whisper: 2 cut a 10.7 s clip from 0.74 s to 0.51 s on a "
        "2-core machine (measured for this project).",
    )
    beam_size: int = key(
        1,
        min=1,
        max=10,
        source=Source.MEASURED,
        why="Beam search width: beam 5 is 1.4-1.8x slower than beam 1 (measured for this project).",
    )


@dataclass(frozen=True)
class HistoryConfig:
    """The ``[history]`` table: the local statistics database."""

    enabled: bool = key(
        True,
        source=Source.DESIGN,
        why="Keep each call's statistics (never audio or transcripts) in a local SQLite "
        "database; `--no-history` skips one call.",
    )
    baseline_calls: int = key(
        10,
        min=1,
        max=1000,
        source=Source.CHOICE,
        why="Your baseline: the median of this many recent calls of the same call type "
        "(preset); a median so one odd call does not move it, 10 calls so it follows you "
        "within a few weeks (project choice).",
    )
    min_effect_calls: int = key(
        5,
        min=2,
        max=1000,
        source=Source.CHOICE,
        why="`coach history effect` reports a difference only with at least this many "
        "coached and silent calls each; below that a 95 % interval is too wide to say "
        "anything (project choice).",
    )


@dataclass(frozen=True)
class Config:
    """The effective configuration; one attribute per TOML table, in the file's order."""

    vad: VadConfig = table(VadConfig, "Voice activity detection: which audio counts as speech.")
    turns: TurnsConfig = table(
        TurnsConfig, "Turn-taking: utterances, backchannels and who holds the floor."
    )
    nudges: NudgesConfig = table(
        NudgesConfig,
        "Live nudges: when the coach prompts the rep, and when a nudge counts as heeded.",
    )
    report: ReportConfig = table(ReportConfig, "Post-call report.")
    coach: CoachConfig = table(CoachConfig, "General.")
    audio: AudioConfig = table(
        AudioConfig, "Audio devices for `coach start` (see `coach devices`)."
    )
    live: LiveConfig = table(LiveConfig, "The live panel and how nudges reach the rep.")
    transcribe: TranscribeConfig = table(
        TranscribeConfig,
        "Offline transcription with faster-whisper (`make models` installs tiny.en).",
    )
    history: HistoryConfig = table(
        HistoryConfig, "Local call history (statistics only; never audio)."
    )


TABLES: dict[str, str] = tables_of(Config)
"""Table name -> its comment in the rendered file, in file order."""
SECTION_CLASSES: dict[str, type] = {name: type(part) for name, part in vars(Config()).items()}
"""Table name -> its dataclass, in file order."""
KEYS: dict[str, KeySpec] = keys_of(SECTION_CLASSES)
"""Every config key, "section.key" -> its spec, in file order."""
DEFAULTS = Config()


def config_values(config: Config) -> dict[str, Value]:
    """Flatten a Config to {"section.key": value} in file order."""
    nested = dataclasses.asdict(config)
    return {name: nested[spec.section][spec.key] for name, spec in KEYS.items()}


def build_config(values: Mapping[str, Value]) -> Config:
    """The Config of flat {"section.key": value} pairs (every key present, already valid)."""
    parts: dict[str, Any] = {}
    for section, cls in SECTION_CLASSES.items():
        kwargs = {spec.key: values[name] for name, spec in KEYS.items() if spec.section == section}
        parts[section] = cls(**kwargs)
    return Config(**parts)
