"""The `coach` command line: a thin edge over the pipeline.

Every user error is a ``CoachError``: one line on stderr, exit status 2, no
traceback. Machine-readable output (``--json``) goes to stdout alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from coach import __version__
from coach.audio.prefetch import heard_ahead
from coach.cli.common import user_errors
from coach.cli.config_cmd import config_app
from coach.cli.crash import run_reporting_bugs
from coach.cli.history_cmd import history_app
from coach.cli.models_cmd import models_command
from coach.cli.timeline_file import read_timeline
from coach.config import LoadedConfig, load_config, override
from coach.core.privacy import fixed_nudge_texts
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError
from coach.history.coaching import compare, plan_call
from coach.history.store import History, try_save_call
from coach.ui.progress import audio_progress
from coach.ui.report import ReportTargets, render_report

app = typer.Typer(
    help="coach: keeps you listening on sales calls — live nudges and post-call stats, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_app, name="config")
app.add_typer(history_app, name="history")
app.command("models")(models_command)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (TOML). Default: see `coach config path`."),
]
NoHistoryOpt = Annotated[
    bool, typer.Option("--no-history", help="Don't keep this call's statistics in `coach history`.")
]
NoTranscribeOpt = Annotated[
    bool, typer.Option("--no-transcribe", help="Don't transcribe (VAD-only statistics).")
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset", help="Call type defaults under your config: discovery, demo, cold-call."
    ),
]


def _load(config: Path | None, preset: str | None, no_transcribe: bool = False) -> LoadedConfig:
    loaded = load_config(config, preset)
    if no_transcribe:
        loaded = override(loaded, {"transcribe.enabled": False}, source="--no-transcribe")
    return loaded


def _channels(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        rep, customer = (int(p) for p in parts)
    except ValueError:
        raise CoachError(
            f"--channels takes REP,CUSTOMER channel numbers (0-based), e.g. 0,1; got {value!r}"
        ) from None
    return rep, customer


def print_report(
    stats: dict[str, Any], loaded: LoadedConfig, console: Console | None = None
) -> None:
    cfg = loaded.config
    targets = ReportTargets(
        talk_ratio_max=cfg.nudges.talk_ratio_max,
        rep_monologue_max_s=cfg.nudges.rep_monologue_max_s,
        heed_window_s=cfg.nudges.heed_window_s,
    )
    (console or Console()).print(render_report(stats, targets))


CallArg = Annotated[
    Path | None,
    typer.Argument(help="Stereo recording: channel 0 the rep (mic), channel 1 the customer."),
]
RepOpt = Annotated[Path | None, typer.Option("--rep", help="The rep's mono file.")]
CustomerOpt = Annotated[Path | None, typer.Option("--customer", help="The customer's mono file.")]
ChannelsOpt = Annotated[
    str | None,
    typer.Option("--channels", help="REP,CUSTOMER channel numbers of a multi-channel file."),
]
TimelineOpt = Annotated[
    Path | None,
    typer.Option(
        "--timeline", help="Analyse speaker timing instead of audio: segments JSON or RTTM."
    ),
]
RepSpeakerOpt = Annotated[
    str | None, typer.Option("--rep-speaker", help="RTTM: the rep's speaker name.")
]
TimelineDurationOpt = Annotated[
    float | None,
    typer.Option("--duration", help="Timeline: call length in seconds (default: last end)."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the coach.stats/1 JSON object on stdout.")
]
SaveTranscriptOpt = Annotated[
    Path | None,
    typer.Option(
        "--save-transcript",
        help="Write the transcript (side, times, text) to PATH: JSON for *.json, else text.",
    ),
]


@app.command()
def analyze(
    call: CallArg = None,
    rep: RepOpt = None,
    customer: CustomerOpt = None,
    channels: ChannelsOpt = None,
    timeline: TimelineOpt = None,
    rep_speaker: RepSpeakerOpt = None,
    duration: TimelineDurationOpt = None,
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    as_json: JsonOpt = False,
    no_transcribe: NoTranscribeOpt = False,
    save_transcript: SaveTranscriptOpt = None,
    no_history: NoHistoryOpt = False,
) -> None:
    """Analyse a recorded call (or a speaker timeline): post-call stats and the nudges."""
    with user_errors():
        loaded = _load(config, preset, no_transcribe)
        if timeline is not None:
            if save_transcript is not None:
                raise CoachError("--save-transcript needs audio: a timeline has no words")
            stats = _analyze_timeline(timeline, call, rep, customer, rep_speaker, duration, loaded)
        else:
            if rep_speaker is not None or duration is not None:
                raise CoachError("--rep-speaker and --duration apply to --timeline only")
            stats = _analyze_audio(
                call, rep, customer, _channels(channels), loaded, save_transcript
            )
        stats["call_type"] = loaded.config.coach.preset or "general"
        if as_json:
            sys.stdout.write(json.dumps(stats) + "\n")
        else:
            print_report(stats, loaded)
        if not no_history and loaded.config.history.enabled:
            try_save_call(stats, _history_source(call, rep, customer, timeline))


def _history_source(
    call: Path | None, rep: Path | None, customer: Path | None, timeline: Path | None
) -> str:
    if timeline is not None:
        return f"analyze --timeline {timeline.name}"
    if call is not None:
        return f"analyze {call.name}"
    return f"analyze {rep.name if rep else '?'} + {customer.name if customer else '?'}"


def _analyze_audio(
    call: Path | None,
    rep: Path | None,
    customer: Path | None,
    channels: tuple[int, int] | None,
    loaded: LoadedConfig,
    save_transcript: Path | None = None,
) -> dict[str, Any]:
    # numpy, libsndfile, the resampler and the VAD load only for commands that analyse
    # audio: `coach config` and `coach history` start without them
    from coach.audio.audio_io import open_call
    from coach.core.pipeline import CallAnalyzer
    from coach.transcription.transcribers import open_transcriber

    info, blocks = open_call(call, rep=rep, customer=customer, channels=channels, block_s=5.0)
    # transcription is on whenever a model is installed; offline it never drops work
    notices: list[str] = []  # shown once the call is analysed (an error stays one line)
    transcriber = open_transcriber(loaded.config, live=False, notice=notices.append)
    if save_transcript is not None and transcriber is None:
        raise CoachError(
            "--save-transcript needs transcription: install a model (`make models`) "
            "and drop --no-transcribe / transcribe.enabled = false"
        )
    analyzer = CallAnalyzer(loaded.config, transcriber=transcriber)
    if save_transcript is not None and analyzer.transcription is not None:
        analyzer.transcription.customer_sample = 1.0  # a transcript needs every word
    try:
        with audio_progress(info.duration_s) as progress:
            for heard in heard_ahead(analyzer, blocks):
                analyzer.take(heard)
                progress.advance(heard.block.shape[1] / SAMPLE_RATE_HZ)
            analyzer.finish()
        stats = analyzer.stats()
        if save_transcript is not None and analyzer.transcription is not None:
            analyzer.transcription.write_transcript(save_transcript)
    finally:
        analyzer.close()
    for line in notices:
        typer.echo(f"coach: {line}", err=True)
    return stats


def _analyze_timeline(
    path: Path,
    call: Path | None,
    rep: Path | None,
    customer: Path | None,
    rep_speaker: str | None,
    duration: float | None,
    loaded: LoadedConfig,
) -> dict[str, Any]:
    from coach.core.pipeline import analyze_segments  # numpy and the VAD: see _analyze_audio

    if call is not None or rep is not None or customer is not None:
        raise CoachError(
            "--timeline analyses a timeline file instead of audio: drop the audio files"
        )
    if duration is not None and not duration > 0:
        raise CoachError(f"--duration must be a positive number of seconds, got {duration}")
    tl = read_timeline(path, rep_speaker=rep_speaker, duration_s=duration)
    for note in tl.notes:
        typer.echo(f"coach: note: {note}", err=True)
    return analyze_segments(tl.duration_s, tl.speech, loaded.config)


EventsOpt = Annotated[
    str | None,
    typer.Option(
        "--events",
        help="'-': newline-delimited JSON events on stdout (listening, nudge, device, stats); "
        "a deepen nudge's text quotes the customer unless live.event_quotes = false.",
    ),
]
NoPanelOpt = Annotated[bool, typer.Option("--no-panel", help="Don't draw the live panel.")]
StatsJsonOpt = Annotated[
    str | None,
    typer.Option(
        "--stats-json",
        help="Write the coach.stats/1 object to PATH ('-': stdout) at the end (its deepen "
        "nudge texts quote the customer).",
    ),
]
DurationOpt = Annotated[
    float | None,
    typer.Option("--duration", help="Stop after this many seconds of call audio."),
]
MicOpt = Annotated[
    str | None,
    typer.Option(
        "--mic", help="The rep's microphone: part of its name, or its index (`coach devices`)."
    ),
]
LoopbackOpt = Annotated[
    str | None,
    typer.Option(
        "--loopback",
        help="The call's audio (customer): part of a name, or an index; Linux: app:NAME "
        "(only that app's playback) or auto-app.",
    ),
]


@app.command()
def start(
    mic: MicOpt = None,
    loopback: LoopbackOpt = None,
    duration: DurationOpt = None,
    events: EventsOpt = None,
    no_panel: NoPanelOpt = False,
    stats_json: StatsJsonOpt = None,
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    no_transcribe: NoTranscribeOpt = False,
    no_history: NoHistoryOpt = False,
) -> None:
    """Coach a live call: listen to your microphone and the call's audio, nudge in real time.

    Stop with Ctrl-C (or SIGTERM, or --duration): the post-call report follows.
    """
    with user_errors():
        # the live loop loads numpy, the VAD and the audio libraries: only when it runs
        from coach.live.devices import start_capture
        from coach.live.wiring import check_duration

        loaded = _load(config, preset, no_transcribe)
        check_duration(duration)
        source = start_capture(loaded.config, mic, loopback)
        history = None if no_history or not loaded.config.history.enabled else "live"
        _live_call(source, loaded, duration, events, no_panel, stats_json, history)


@app.command()
def demo(
    speed: Annotated[
        float, typer.Option("--speed", help="Replay N times faster than real time.")
    ] = 1.0,
    duration: DurationOpt = None,
    events: EventsOpt = None,
    no_panel: NoPanelOpt = False,
    stats_json: StatsJsonOpt = None,
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    no_transcribe: NoTranscribeOpt = False,
) -> None:
    """Watch the coach on a short sample call replayed in real time: no call or mic needed."""
    with user_errors():
        from coach.live.sources import DEMO_CALL, ReplaySource  # see start
        from coach.live.wiring import check_duration

        loaded = _load(config, preset, no_transcribe)
        check_duration(duration)
        source = ReplaySource(DEMO_CALL, speed)
        _live_call(source, loaded, duration, events, no_panel, stats_json)


def _live_call(
    source: Any,
    loaded: LoadedConfig,
    duration: float | None,
    events: str | None,
    no_panel: bool,
    stats_json: str | None,
    history_source: str | None = None,
) -> None:
    """Run a live call; the report (and the history entry) come even after a signal."""
    from coach.live.session import LiveOptions, run_live  # see start
    from coach.live.wiring import open_events, panel_console, write_stats_json

    out = open_events(events)
    to_stdout = out is not None or stats_json == "-"
    plan, past = _coaching_plan(loaded) if history_source is not None else (None, [])
    options = LiveOptions(
        duration_s=duration,
        events=out,
        panel=panel_console(no_panel, to_stdout),
        log=sys.stderr,
        budget=None if plan is None else plan.budget,
    )
    result = run_live(source, loaded.config, options)
    result.stats["call_type"] = loaded.config.coach.preset or "general"
    if plan is not None:  # a live call with history: coached, or a silent control call
        result.stats["coached"] = plan.coached
        n = loaded.config.history.baseline_calls
        against = compare([*past, result.stats], len(past), n)
        if against["baseline_calls"]:
            result.stats["baseline"] = against  # for the report: numbers and fixed labels
    write_stats_json(result.stats, stats_json)
    report = result.stats
    if to_stdout and not sys.stderr.isatty():  # stderr is a log then, not the rep's screen
        report = fixed_nudge_texts(report, loaded.config.coach.language)
    print_report(report, loaded, Console(stderr=True) if to_stdout else None)
    if history_source is not None:
        kept = {k: v for k, v in result.stats.items() if k != "baseline"}  # rebuilt from rows
        try_save_call(kept, history_source)


def _coaching_plan(loaded: LoadedConfig) -> tuple[Any, list[dict[str, Any]]]:
    """The next live call's budget from the rep's history, and that history (a bad
    history costs the history-based parts only, never the call)."""
    try:
        with History() as h:
            calls = [stats for _, stats in h.all_stats()]
    except CoachError:
        calls = []
    plan = plan_call(loaded.config, calls)
    if not plan.coached:
        sys.stderr.write("coach: a silent control call (coach.control_every): no nudges shown\n")
    return plan, calls


@app.command()
def devices(
    meter: Annotated[
        bool, typer.Option("--meter", help="Show live levels of both chosen inputs (Ctrl-C stops).")
    ] = False,
    duration: Annotated[
        float | None, typer.Option("--duration", help="--meter: stop after this many seconds.")
    ] = None,
    mic: MicOpt = None,
    loopback: LoopbackOpt = None,
    config: ConfigOpt = None,
    preset: PresetOpt = None,
) -> None:
    """List the input devices and which ones `coach start` would use for you and the customer."""
    with user_errors():
        from coach.live.devices import list_devices  # see start
        from coach.live.meter import run_meter
        from coach.live.wiring import check_duration

        loaded = _load(config, preset)
        check_duration(duration)
        console = Console()
        list_devices(loaded.config, mic, loopback, console)
        if meter:
            run_meter(loaded.config, mic, loopback, console, duration)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"coach {__version__}")


def main() -> None:
    run_reporting_bugs(app)


if __name__ == "__main__":
    main()
