"""Privacy, proven for a live session: `coach start` on the virtual sound devices.

The same watchers as tests/test_privacy.py (a Python audit hook; ``strace -f``;
the sandbox folders before and after), around a real ``coach start`` on the
end-to-end test's headless PulseAudio (scripts/pulse-virtual.sh), with a short
sound played into the virtual mic and speakers while it listens. History is on
(into the sandbox's ``COACH_DATA_DIR``); bell and desktop notifications are off.

Asserted: no audio and no transcript written anywhere; the only files written
are the history database (and its journal); the only sockets are AF_UNIX ones
connected to the sound server's socket (under the rig's ``XDG_RUNTIME_DIR``);
the only processes started are ``pactl`` (how coach asks the sound server for
its default devices).

Skips only where PulseAudio can't run here; with CI=true it fails instead.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import soundfile as sf

from tests.support.live_call import DEMO_CALL
from tests.support.live_call import quiet_config as write_quiet_config
from tests.support.pulse import VirtualPulse
from tests.test_privacy import (
    Sandbox,
    SocketUse,
    Trace,
    assert_only_history_left,
    assert_private,
    require_strace,
    run_audited,
    run_straced,
)

DURATION_S = 6
CLIP_FROM_S, PLAY_S = 2.0, 3.0  # the rep talks, then the customer
# What the rig's server adds to a client's environment (box.env() drops XDG_*).
# subprocess's DEVNULL for pactl's stdin: a sink that keeps nothing.
DEV_NULL = Path("/dev/null")
PULSE_VARS = ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "PULSE_STATE_PATH")


@dataclasses.dataclass(frozen=True)
class LiveSandbox(Sandbox):
    """The privacy sandbox, plus the variables that point clients at the rig's server."""

    pulse_env: dict[str, str] = dataclasses.field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return super().env() | self.pulse_env


@pytest.fixture
def box(tmp_path: Path, pulse: VirtualPulse) -> LiveSandbox:
    env = {k: pulse.env[k] for k in PULSE_VARS if k in pulse.env}
    return LiveSandbox(tmp_path / "box", env).make()


@pytest.fixture
def sounds(tmp_path: Path) -> tuple[Path, Path]:
    """3 s of the demo call (rep, then customer): rep into the mic, customer into the speakers.

    Written outside the sandbox, so they can't be mistaken for what coach wrote."""
    x, rate = sf.read(str(DEMO_CALL), dtype="int16", always_2d=True)
    clip = x[int(rate * CLIP_FROM_S) : int(rate * (CLIP_FROM_S + PLAY_S))]
    rep, customer = tmp_path / "rep.wav", tmp_path / "customer.wav"
    sf.write(str(rep), clip[:, 0], rate, subtype="PCM_16")
    sf.write(str(customer), clip[:, 1], rate, subtype="PCM_16")
    return rep, customer


def pulse_socket(pulse: VirtualPulse) -> Path:
    return (Path(pulse.env["XDG_RUNTIME_DIR"]) / "pulse" / "native").resolve()


def only_the_sound_server(pulse: VirtualPulse) -> Callable[[SocketUse], bool]:
    """AF_UNIX sockets only, and a connect only to the sound server's socket."""
    native = str(pulse_socket(pulse))

    def ok(s: SocketUse) -> bool:
        if s.op == "connect":
            # strace also shows PortAudio's JACK probe: a connect that failed (ENOENT)
            failed = " = -1 E" in s.address
            return s.family == "AF_UNIX" and (native in s.address or failed)
        if s.op in ("socket", "socketpair"):
            return s.family == "AF_UNIX"
        return s.family in ("AF_UNIX", "?")  # sendmsg/sendto on a connected unix socket

    return ok


# Read-only helpers coach may start: pactl asks the sound server for its default devices;
# ``ldconfig -p`` is ctypes.util.find_library locating PortAudio (sounddevice's import).
# Spawns look like ``subprocess.Popen ('/usr/bin/pactl', [...`` (audit hook) or
# ``"/usr/bin/pactl", ["/usr/bin/pactl", ...`` (strace's execve).
_EXE = re.compile(r"""^(?:subprocess\.Popen \()?['"]([^'"]+)['"]""")


def is_helper(spawn: str) -> bool:
    m = _EXE.match(spawn)
    name = Path(m.group(1)).name if m else ""
    return name == "pactl" or (name == "ldconfig" and "-p" in spawn)


def without_helpers(trace: Trace) -> Trace:
    """The trace with those helpers (asserted to be all it started) taken out."""
    others = [s for s in trace.spawned if not is_helper(s)]
    assert not others, f"processes started besides pactl and ldconfig -p: {others}"
    return dataclasses.replace(trace, spawned=[])


@pytest.fixture
def quiet_config(box: LiveSandbox) -> Path:
    return write_quiet_config(box.root)


def argv(config: Path) -> list[str]:
    return [
        "start",
        "--no-panel",
        "--duration",
        str(DURATION_S),
        "--no-transcribe",
        "--config",
        str(config),
    ]


@pytest.fixture
def playing(pulse: VirtualPulse, sounds: tuple[Path, Path]) -> Iterator[None]:
    """Play the tones into the virtual mic and speakers a little after coach starts."""
    stop = threading.Event()

    def run() -> None:
        if stop.wait(2.5):
            return
        procs = [
            subprocess.Popen(
                ["paplay", f"--device={device}", str(wav)],
                env=pulse.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for device, wav in (("coach_micfeed", sounds[0]), ("coach_spk", sounds[1]))
        ]
        for p in procs:
            p.wait(30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(35)


def assert_the_call_was_heard_and_kept(box: LiveSandbox) -> None:
    """The session really captured the sound (both sides spoke) and kept only statistics."""
    with sqlite3.connect(box.history_db) as conn:
        rows = conn.execute("SELECT source, duration_s, talk_ratio FROM calls").fetchall()
    assert len(rows) == 1, rows
    source, duration_s, talk_ratio = rows[0]
    assert source == "live" and duration_s == pytest.approx(DURATION_S, abs=0.5), rows
    assert talk_ratio is not None and 0.0 < talk_ratio < 1.0, rows
    assert box.history_db.stat().st_size < 256 * 1024




def is_portaudio_probe(path: Path) -> bool:
    """What PortAudio's start-up (sounddevice's import) touches in C, seen only by strace:
    OSS ``/dev/dsp*`` opened write-only to probe for devices (none exist here: the opens
    fail), and libjack's metadata database in ``/dev/shm/jack_db-UID`` (JACK's client
    bookkeeping on tmpfs: no audio, nothing of the call)."""
    if path.parent == Path("/dev") and re.fullmatch(r"(?:dsp|audio|mixer)\d*", path.name):
        return not path.exists()
    return path.is_relative_to("/dev/shm") and any(
        part.startswith("jack_db") for part in path.parts
    )


def without_portaudio_probes(trace: Trace) -> Trace:
    return dataclasses.replace(
        trace,
        written={p for p in trace.written if not is_portaudio_probe(p)},
        removed={p for p in trace.removed if not is_portaudio_probe(p)},
        dirs_made={p for p in trace.dirs_made if not is_portaudio_probe(p)},
    )


def test_a_live_session_under_the_audit_hook(
    box: LiveSandbox,
    pulse: VirtualPulse,
    quiet_config: Path,
    playing: None,
) -> None:
    before = box.files()
    started = time.monotonic()
    trace = run_audited(argv(quiet_config), box)
    assert trace.returncode == 0, trace.stderr
    assert time.monotonic() - started >= DURATION_S
    assert "Traceback" not in trace.stderr
    assert_private(
        without_helpers(trace), box, may_write=[DEV_NULL], socket_ok=only_the_sound_server(pulse)
    )
    assert_only_history_left(box, before)
    assert_the_call_was_heard_and_kept(box)


@pytest.mark.strace
def test_a_live_session_under_strace(
    box: LiveSandbox,
    pulse: VirtualPulse,
    quiet_config: Path,
    playing: None,
) -> None:
    require_strace()
    before = box.files()
    runtime = pulse_socket(pulse).parent
    assert runtime.is_dir()  # the server's; libpulse's mkdir of it (EEXIST) creates nothing
    trace = without_portaudio_probes(run_straced(argv(quiet_config), box))
    trace.dirs_made.discard(runtime)
    assert trace.returncode == 0, trace.stderr
    assert_private(
        without_helpers(trace), box, may_write=[DEV_NULL], socket_ok=only_the_sound_server(pulse)
    )
    assert_only_history_left(box, before)
    assert_the_call_was_heard_and_kept(box)
