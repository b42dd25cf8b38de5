"""Opening the two live inputs (``coach start``) and listing them (``coach devices``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from coach.config import Config
from coach.core.pipeline import vad_setup
from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError
from coach.live.sources import Source


def start_capture(config: Config, mic: str | None, loopback: str | None) -> Source:
    """The devices chosen from flags (or the config), opened lazily by ``start``.

    ``audio.api``: PulseAudio's native API when both sides are sources of a
    running server (coach/audio/pulse_capture.py: no threads, a fraction of the CPU),
    else PortAudio through sounddevice.
    """
    from coach.audio.capture import LiveCapture

    mic_spec = config.audio.mic if mic is None else mic
    lb_spec = config.audio.loopback if loopback is None else loopback
    mic_why = "--mic" if mic is not None else "audio.mic"
    lb_why = "--loopback" if loopback is not None else "audio.loopback"
    api = config.audio.api
    grid = vad_setup(config).frame_ms * SAMPLE_RATE_HZ // 1000  # blocks of whole VAD frames
    from coach.audio.app_streams import parse_loopback

    if parse_loopback(mic_spec, mic_why) is not None:
        raise CoachError(f"{mic_why} {mic_spec!r}: an app's playback is the customer's side; "
                         "use it with --loopback / audio.loopback")  # fmt: skip
    if parse_loopback(lb_spec, lb_why) is not None:  # an app's own streams: native API only
        from coach.audio.app_capture import check_app_capture

        check_app_capture(api, f"{lb_why} {lb_spec!r}")
        native = _pulse_capture(mic_spec, lb_spec, mic_why, lb_why, True, grid)
        assert native is not None
        return native
    if api != "portaudio":
        native = _pulse_capture(mic_spec, lb_spec, mic_why, lb_why, api == "pulseaudio", grid)
        if native is not None:
            return native

    from coach.audio.devices import choose_devices, load_sounddevice

    sd = load_sounddevice()

    def resolve() -> tuple[Any, Any]:
        return choose_devices(sd, mic_spec, lb_spec, mic_why, lb_why)

    chosen = resolve()
    return LiveCapture(
        chosen[0], chosen[1], sd, resolve=lambda side: resolve()[side], grid_frames=grid
    )


def _pulse_capture(
    mic_spec: str, lb_spec: str, mic_why: str, lb_why: str, required: bool, grid: int
) -> Source | None:
    """Both sides through PulseAudio's native API, or None to use PortAudio."""
    from coach.audio.capture import LiveCapture
    from coach.audio.devices import HOW_TO_PICK, pulse_sources
    from coach.audio.pulse_lib import PulseUnavailable, load

    try:
        load()
    except PulseUnavailable as e:
        if required:
            raise CoachError(
                f'audio.api = "pulseaudio" but libpulse cannot be loaded ({e}); '
                'install libpulse0 or set audio.api = "auto"'
            ) from None
        return None
    sources = pulse_sources()
    if sources is None:
        if required:
            raise CoachError(
                'audio.api = "pulseaudio" but no PulseAudio/PipeWire server answers (pactl); '
                f"is it running? {HOW_TO_PICK}"
            )
        return None

    specs = (("mic", mic_spec, mic_why), ("loopback", lb_spec, lb_why))

    def resolve(side: int, found: list[str] | None = None) -> Any:
        """One side's source; on a reopen from the server's list as it is then."""
        found = (pulse_sources() or []) if found is None else found
        choice = _pulse_choices(specs[side : side + 1], found)
        if choice is None:
            role, spec, why = specs[side]
            raise CoachError(
                f"no PulseAudio source for the {role} matching {spec!r} ({why}); "
                f"PulseAudio sources: {', '.join(found) or 'none'}; {HOW_TO_PICK}"
            )
        return choice[0]

    try:
        chosen = resolve(0, sources), resolve(1, sources)
    except CoachError:
        if required:
            raise
        return None  # a PortAudio device name or index: PortAudio opens both
    from coach.audio.pulse_capture import PulseInput

    return LiveCapture(
        chosen[0], chosen[1], source_input=PulseInput(), resolve=resolve, grid_frames=grid
    )


def _pulse_choices(specs: tuple[tuple[str, str, str], ...], sources: list[str]) -> list[Any] | None:
    """Each (role, spec, why) as a PulseAudio source, or None if one is not one
    (then PortAudio records both): ``start_capture``'s choice and ``coach devices``'."""
    from coach.audio.devices import choose_pulse

    choices = [
        choose_pulse(role, spec, why if spec else "default", sources) for role, spec, why in specs
    ]
    return None if any(c is None for c in choices) else choices


def list_devices(config: Config, mic: str | None, loopback: str | None, console: Console) -> None:
    """The input devices, the sound server's sources, and what ``coach start`` would use."""
    from rich.table import Table

    from coach.audio.devices import (
        choose,
        default_sink_monitor,
        input_devices,
        load_sounddevice,
        pulse_sources,
    )

    sd = load_sounddevice()
    devices = input_devices(sd)
    sources = pulse_sources()
    table = Table(title="Input devices (PortAudio)", title_justify="left", box=None)
    for col in ("index", "name", "host API", "channels", "rate"):
        table.add_column(col)
    for d in devices:
        table.add_row(str(d.index), d.name, d.hostapi, str(d.channels), f"{d.default_rate_hz:g}")
    if devices:
        console.print(table)
    else:
        console.print("No input devices found (is a sound server running?).")
    if sources is not None:
        console.print("PulseAudio/PipeWire sources: " + (", ".join(sources) or "none"))
        monitor = default_sink_monitor()
        if monitor:
            console.print(f"Default sink's monitor (the call's audio): {monitor}")
        lb_spec = config.audio.loopback if loopback is None else loopback
        _playback_table(console, lb_spec)
    console.print()
    console.print("coach start would use:")
    specs = (
        ("mic", config.audio.mic if mic is None else mic, "--mic" if mic else "audio.mic"),
        (
            "loopback",
            config.audio.loopback if loopback is None else loopback,
            "--loopback" if loopback else "audio.loopback",
        ),
    )
    for role, spec, why in specs:
        if role == "loopback" and _app_lines(spec, why, console):
            continue
        try:
            c = choose(role, spec, why if spec else "default", devices, sd, sources)
        except CoachError as e:
            console.print(f"  {role:<9} none: {e}", markup=False, highlight=False)
            continue
        console.print(f"  {role:<9} {c.label}  ({c.why})", markup=False, highlight=False)
    console.print(f"  recorded through {_api_words(config, specs, sources)}", highlight=False)


def _pulse_or_none() -> Any:
    """A short-lived connection to the sound server for a listing, or None."""
    from coach.audio.pulse import PulseConnection, PulseError
    from coach.audio.pulse_lib import PulseUnavailable

    try:
        return PulseConnection("coach devices")
    except (PulseUnavailable, PulseError):
        return None


def _playback_table(console: Console, loopback: str) -> None:
    """The applications' playback streams: what ``--loopback app:NAME`` can record,
    and which of them it would."""
    from rich.table import Table

    from coach.audio.app_capture import playback_table, would_record
    from coach.audio.app_streams import parse_loopback

    conn = _pulse_or_none()
    if conn is None:
        return
    try:
        rows = playback_table(conn)
        try:
            target = parse_loopback(loopback)
        except CoachError:
            target = None
        chosen = {s.index for s in would_record(conn, target)[1]} if target else set()
    finally:
        conn.close()
    if not rows:
        console.print("Playback streams (for --loopback app:NAME): none playing now")
        return
    table = Table(title="Playback streams (for --loopback app:NAME or auto-app)",
                  title_justify="left", box=None)  # fmt: skip
    for col in ("index", "application", "binary", "sink", "state", "format", "coach start"):
        table.add_column(col)
    for st, sink in rows:
        table.add_row(f"#{st.index}", st.app_name or "-", st.binary or "-", sink,
                      "paused" if st.corked else "playing",
                      f"{st.sample_format} {st.channels} ch {st.rate_hz} Hz",
                      "records it" if st.index in chosen else "")  # fmt: skip
    console.print(table)


def _app_lines(spec: str, why: str, console: Console) -> bool:
    """``coach devices`` for an ``app:NAME`` / ``auto-app`` loopback; False for a device."""
    from coach.audio.app_capture import would_record
    from coach.audio.app_streams import parse_loopback

    target = parse_loopback(spec, why)
    if target is None:
        return False
    conn = _pulse_or_none()
    if conn is None:
        console.print(f"  loopback  none: {target.spec} ({why}) needs a PulseAudio/PipeWire "
                      "server, and none answers", markup=False, highlight=False)  # fmt: skip
        return True
    try:
        words, _ = would_record(conn, target)
    finally:
        conn.close()
    console.print(f"  loopback  {words}  ({why})", markup=False, highlight=False)
    return True


def _api_words(
    config: Config, specs: tuple[tuple[str, str, str], ...], sources: list[str] | None
) -> str:
    """Which API ``coach start`` would record with (see ``start_capture``)."""
    from coach.audio.pulse_lib import PulseUnavailable, load

    if config.audio.api == "portaudio":
        return 'PortAudio (audio.api = "portaudio")'
    try:
        load()
    except PulseUnavailable:
        return "PortAudio (libpulse is not available)"
    try:
        if sources is not None and _pulse_choices(specs, sources) is not None:
            return "PulseAudio's native API"
    except CoachError as e:  # an app: spec on the mic
        return f"nothing: {e}"
    return "PortAudio"
