"""Which input devices the live coach listens to, and clear words when there are none.

Two sides: the rep's **mic** and the customer's **loopback** (the call's audio
output). Each is chosen from a spec, from ``--mic``/``--loopback`` or the config
keys ``audio.mic``/``audio.loopback``:

- ``""``: the mic is the system's default input; the loopback is, on Linux with
  PulseAudio or PipeWire, the default sink's monitor (``pactl get-default-sink``
  + ``.monitor``). Elsewhere there is no default loopback: name one (BlackHole
  on macOS, a virtual cable on Windows).
- digits: a PortAudio device index, as ``coach devices`` lists them.
- anything else: part of a PortAudio input device's name, else part of a
  PulseAudio source's name (``pactl list short sources``).
- ``app:NAME`` / ``auto-app`` (the loopback, Linux only): an application's own
  playback streams, not the whole sink (coach/audio/app_streams.py).

PortAudio sees only ALSA's ``pulse`` and ``default`` devices of a PulseAudio
server, so a PulseAudio source is opened as the ``pulse`` device with
``PULSE_SOURCE`` set for the moment of opening (see ``portaudio_input.open_input``).
Everything that can go wrong becomes a :class:`CoachError` naming the devices
that were found and how to pick one.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from coach.audio.app_streams import AppTarget, parse_loopback
from coach.errors import CoachError

PACTL_TIMEOUT_S = 3.0

HOW_TO_PICK = (
    "pick devices with --mic / --loopback (a name part or an index from `coach devices`, "
    "or audio.mic / audio.loopback in the config); `coach demo` shows the coach without "
    "a call"
)


@dataclass(frozen=True)
class InputDevice:
    """A PortAudio device that can record."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_rate_hz: float


@dataclass(frozen=True)
class DeviceChoice:
    """What to open for one side."""

    role: str
    """"mic" or "loopback"."""
    label: str
    """What to call it on screen: a device or PulseAudio source name."""
    device: int | None
    """PortAudio device index; None: PortAudio's default input."""
    pulse_source: str | None = None
    """PulseAudio source to select with ``PULSE_SOURCE`` while opening ``device``."""
    why: str = ""
    """How it was chosen: "--mic", "audio.loopback", "default input", ..."""
    follows: str = ""
    """"sink": the default sink's monitor, "source": the default source, each
    followed when the user changes it (native API only); "": named, never moved."""
    app: AppTarget | None = None
    """The loopback as an app's own playback streams (``app:NAME``, ``auto-app``;
    native API only, coach/audio/app_capture.py)."""


def load_sounddevice() -> ModuleType:
    """``import sounddevice``, or a clear error when PortAudio is missing."""
    try:
        import sounddevice
    except OSError as e:  # "PortAudio library not found"
        raise CoachError(
            f"cannot use audio devices: {e}. Install PortAudio "
            "(Debian/Ubuntu: apt-get install libportaudio2; macOS: brew install portaudio); "
            "`coach demo` and `coach analyze` work without it"
        ) from None
    return sounddevice


def input_devices(sd: ModuleType) -> list[InputDevice]:
    """PortAudio's input devices, in index order."""
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError:
        return []
    found = []
    for dev in devices:
        if int(dev["max_input_channels"]) > 0:
            found.append(
                InputDevice(
                    index=int(dev["index"]),
                    name=str(dev["name"]),
                    hostapi=str(hostapis[int(dev["hostapi"])]["name"]),
                    channels=int(dev["max_input_channels"]),
                    default_rate_hz=float(dev["default_samplerate"]),
                )
            )
    return found


def default_input_index(sd: ModuleType) -> int | None:
    try:
        index = int(sd.default.device[0])
        if index < 0:
            return None
        info: Any = sd.query_devices(index)
    except (sd.PortAudioError, ValueError, TypeError):
        return None
    return index if int(info["max_input_channels"]) > 0 else None


# -- PulseAudio / PipeWire (through pactl) ---------------------------------------


def _pactl(*args: str) -> str | None:
    """pactl's output, or None when pactl is missing or no server answers."""
    exe = shutil.which("pactl")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            timeout=PACTL_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def pulse_sources() -> list[str] | None:
    """The sound server's source names, or None when there is no PulseAudio/PipeWire."""
    out = _pactl("list", "short", "sources")
    if out is None:
        return None
    return [cols[1] for line in out.splitlines() if len(cols := line.split("\t")) > 1]


def _pulse_default(what: str) -> str | None:
    """``pactl get-default-sink`` (or -source), with a fallback for older pactl."""
    out = _pactl(f"get-default-{what}")
    if out is not None and out.strip():
        return out.strip()
    info = _pactl("info")
    if info is None:
        return None
    key = f"Default {what.capitalize()}:"
    for line in info.splitlines():
        if line.startswith(key):
            return line[len(key) :].strip() or None
    return None


def default_sink_monitor() -> str | None:
    """The default sink's monitor source: what the speakers play, i.e. the call."""
    sink = _pulse_default("sink")
    return None if sink is None else f"{sink}.monitor"


def default_source() -> str | None:
    return _pulse_default("source")


# -- choosing --------------------------------------------------------------------


def _pulse_device(devices: list[InputDevice]) -> InputDevice | None:
    return next((d for d in devices if d.name == "pulse"), None)


def _sources_named(sources: list[str], want: str) -> list[str]:
    """The sources named ``want`` (casefolded), else those whose name contains it."""
    return [s for s in sources if s.casefold() == want] or [
        s for s in sources if want in s.casefold()
    ]


def _listing(devices: list[InputDevice], sources: list[str] | None) -> str:
    found = ", ".join(f"{d.index} {d.name!r}" for d in devices) or "none"
    text = f"PortAudio inputs: {found}"
    if sources is not None:
        text += "; PulseAudio sources: " + (", ".join(sources) or "none")
    return text


def choose(
    role: str,
    spec: str,
    why: str,
    devices: list[InputDevice],
    sd: ModuleType,
    sources: list[str] | None = None,
) -> DeviceChoice:
    """Resolve one side's spec (see the module doc) to something to open."""
    spec = spec.strip()
    if parse_loopback(spec, why) is not None:
        raise CoachError(
            f"{spec!r} ({why}) is per-app capture: it works through PulseAudio's native API "
            "(Linux, PulseAudio or PipeWire) only; elsewhere name a loopback device"
        )
    if spec.isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                return DeviceChoice(role, d.name, d.index, None, why)
        raise CoachError(
            f"no input device with index {index} for the {role} ({why}); "
            f"{_listing(devices, sources)}; {HOW_TO_PICK}"
        )
    if spec:
        return _choose_named(role, spec, why, devices, sources)
    if role == "mic":
        return _default_mic(devices, sd, sources)
    return _default_loopback(role, devices, sources)


def _choose_named(
    role: str, spec: str, why: str, devices: list[InputDevice], sources: list[str] | None
) -> DeviceChoice:
    """A PortAudio input whose name contains ``spec``, else a PulseAudio source's."""
    want = spec.casefold()
    named = [d for d in devices if d.name.casefold() == want] or [
        d for d in devices if want in d.name.casefold()
    ]
    if named:
        d = named[0]
        return DeviceChoice(role, d.name, d.index, None, why)
    if sources is None:
        sources = pulse_sources()
    if sources:
        matched = _sources_named(sources, want)
        pulse = _pulse_device(devices)
        if matched and pulse is not None:
            return DeviceChoice(role, matched[0], pulse.index, matched[0], why)
        if matched:
            raise CoachError(
                f"PulseAudio source {matched[0]!r} found for the {role}, but PortAudio has "
                "no 'pulse' device to open it with: install libasound2-plugins "
                "(ALSA's PulseAudio plugin)"
            )
    raise CoachError(
        f"no input device matching {spec!r} for the {role} ({why}); "
        f"{_listing(devices, sources)}; {HOW_TO_PICK}"
    )


def _default_mic(
    devices: list[InputDevice], sd: ModuleType, sources: list[str] | None
) -> DeviceChoice:
    default = default_input_index(sd)
    if default is not None:
        name = next((d.name for d in devices if d.index == default), str(default))
        source = default_source() if name in ("default", "pulse") else None
        label = f"{name} ({source})" if source else name
        return DeviceChoice("mic", label, default, None, "default input")
    pulse = _pulse_device(devices)
    if pulse is not None:
        return DeviceChoice("mic", "pulse", pulse.index, None, "default input")
    raise no_device_error("mic", devices, sources)


def _default_loopback(
    role: str, devices: list[InputDevice], sources: list[str] | None
) -> DeviceChoice:
    monitor = default_sink_monitor()
    if monitor is None:
        raise CoachError(
            "no loopback device for the customer's side: on Linux it is the default "
            "sink's monitor, but no PulseAudio/PipeWire server answers (pactl); on macOS "
            "install BlackHole, on Windows a virtual cable (VB-CABLE), route the call's "
            f"output to it and name it with --loopback or audio.loopback; "
            f"{_listing(devices, sources)}; {HOW_TO_PICK}"
        )
    pulse = _pulse_device(devices)
    if pulse is None:
        raise CoachError(
            f"the loopback would be {monitor!r}, but PortAudio has no 'pulse' device to open "
            "it with: install libasound2-plugins (ALSA's PulseAudio plugin), or name a "
            f"loopback device with --loopback; {_listing(devices, sources)}"
        )
    return DeviceChoice(role, monitor, pulse.index, monitor, "default sink's monitor")


def choose_pulse(role: str, spec: str, why: str, sources: list[str]) -> DeviceChoice | None:
    """One side as a PulseAudio source for the native API (coach/audio/pulse.py), or None.

    ``""`` is the server's default source for the mic (followed if the user
    changes it) and the default sink's monitor for the loopback; a name part
    matches a source's name. None when the spec is a PortAudio index, names no
    source, or the default sink cannot be found: the caller uses PortAudio then.
    """
    spec = spec.strip()
    if spec.isdigit():
        return None
    app = parse_loopback(spec, why)
    if app is not None:
        if role != "loopback":
            raise CoachError(f"{spec!r} ({why}): an app's playback is the customer's side; "
                             "use it with --loopback / audio.loopback")  # fmt: skip
        return DeviceChoice(role, app.spec, None, None, why, app=app)
    if not spec:
        if role == "mic":
            source = default_source()
            label = source or "default source"
            return DeviceChoice(role, label, None, None, "default input", follows="source")
        monitor = default_sink_monitor()
        if monitor is None:
            return None
        return DeviceChoice(role, monitor, None, monitor, "default sink's monitor", follows="sink")
    want = spec.casefold()
    matched = _sources_named(sources, want)
    if not matched:
        return None
    return DeviceChoice(role, matched[0], None, matched[0], why)


def choose_devices(
    sd: ModuleType,
    mic: str,
    loopback: str,
    mic_why: str = "audio.mic",
    loopback_why: str = "audio.loopback",
) -> tuple[DeviceChoice, DeviceChoice]:
    """Both sides' devices; a :class:`CoachError` naming what was found if one is missing."""
    devices = input_devices(sd)
    if not devices:
        raise no_device_error("mic", devices, pulse_sources())
    return (
        choose("mic", mic, mic_why if mic else "default input", devices, sd),
        choose("loopback", loopback, loopback_why if loopback else "default", devices, sd),
    )


def no_device_error(role: str, devices: list[InputDevice], sources: list[str] | None) -> CoachError:
    return CoachError(
        f"no input device found for the {role} ({_listing(devices, sources)}): is a sound "
        f"server running and a microphone connected? {HOW_TO_PICK}"
    )


def open_error(e: BaseException, choice: DeviceChoice, sd: ModuleType) -> CoachError:
    """Turn what PortAudio raised when opening ``choice`` into words (virtual-audio.md)."""
    msg = str(e)
    devices = input_devices(sd)
    listing = _listing(devices, pulse_sources())
    what = f"the {choice.role} ({choice.label}, {choice.why})"
    if "Error querying device -1" in msg:
        return no_device_error(choice.role, devices, None)
    if "Error querying device" in msg or "No input device matching" in msg:
        return CoachError(f"{what} does not exist (any more); {listing}; {HOW_TO_PICK}")
    if "-9993" in msg or "Illegal combination of I/O devices" in msg:
        return CoachError(
            f"cannot open {what}: the sound server went away after the device list was "
            f"read; is PulseAudio/PipeWire running? {HOW_TO_PICK}"
        )
    if choice.pulse_source and ("-9999" in msg or "Unanticipated host error" in msg):
        return CoachError(
            f"cannot open {what}: the sound server has no source {choice.pulse_source!r}; "
            f"{listing}; {HOW_TO_PICK}"
        )
    return CoachError(f"cannot open {what}: {msg}; {listing}; {HOW_TO_PICK}")
