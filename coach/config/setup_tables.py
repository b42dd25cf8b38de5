"""The tables of the rep's setup: language, devices, delivery, transcription, history.

``[coach]`` (language, preset, control calls), ``[audio]`` (recording devices),
``[live]`` (how nudges reach the rep), ``[transcribe]`` (offline speech-to-text)
and ``[history]`` (the local statistics database). Each field is one key of the
file (see :func:`coach.config.keys.key`); the tables are gathered into the whole
config in :mod:`coach.config.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.config.keys import SECONDS, Source, key


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
        unit=SECONDS,
        source=Source.MEASURED,
        why="How long an utterance's text may wait to share a whisper pass: the demo call "
        "replayed, CPU of the whole process over the call (two runs), 30 s 5.2-5.6 % of a "
        "core, 0 (text within ~1-2 s) 7.3-7.5 %, no transcription 2.1-2.3 % (measured for "
        "this project). Recaps go at once when the summarise nudge is 5 s away.",
    )
    live_work: str = key(
        "all",
        choices=("all", "no-pace", "stories"),
        source=Source.MEASURED,
        why='What the live coach transcribes: "all" it needs (sheds the rest below when it '
        'falls behind, and says so); "no-pace" skips the customer sample for pace and fillers; '
        '"stories" only deepen quotes and recaps. The demo call replayed, whole process (two '
        'runs): all 5.2-5.6 % of a core, "stories" 3.5 %, no transcription 2.1-2.3 % '
        "(measured for this project).",
    )
    threads: int = key(
        1,
        min=1,
        max=16,
        source=Source.MEASURED,
        why="CPU threads for whisper: with the encoder fitted to its audio, decoding is most "
        "of a pass and a second thread mostly waits: nine pieces of a real two-voice call "
        "(tiny.en) took 8.7-9.6 s of CPU and 7.8-8.6 s wall at 1 thread, 13.8-14.1 s and "
        "10.2-10.4 s at 2 (measured for this project).",
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
