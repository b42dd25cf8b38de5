"""Privacy, proven for a live session: `coach start` on the virtual sound devices.

The same watchers as tests/test_privacy.py (a Python audit hook; ``strace -f``;
the sandbox folders before and after), around a real ``coach start`` on the
end-to-end test's headless PulseAudio (scripts/pulse-virtual.sh), with sound
played into the virtual mic and speakers while it listens. History is on
(into the sandbox's ``COACH_DATA_DIR``).

- At the defaults (transcription on, the real model, desktop notifications on,
  a stand-in ``notify-send`` on PATH recording its arguments), a cut of a
  real-voice call: no word of the call's transcript is in any file written or
  in the argv of any process started, nor on stderr.
- Short sessions with bell and notifications off, with transcription and
  without (VAD only): only the history database (and its journal) is written.

Also asserted: no audio written anywhere; the only sockets are AF_UNIX ones
connected to the sound server's socket (under the rig's ``XDG_RUNTIME_DIR``);
the only processes started are ``pactl`` (how coach asks the sound server for
its default devices) and, where notifications are on, ``notify-send``.

Skips only where PulseAudio, strace, the model or the real-voice calls are
missing; with CI=true it fails instead.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
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
    STRACE,
    RealSpeech,
    Sandbox,
    SocketUse,
    Trace,
    assert_no_word_of_the_call,
    assert_only_history_left,
    assert_private,
    files_written,
    parse_strace_log,
    real_speech,
    require_strace,
    run_audited,
    run_straced,
    stored_stats,
    transcribed,
    words_in,
)

__all__ = ["real_speech"]  # a fixture, used here by name

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


def argv(config: Path, *mode: str) -> list[str]:
    return ["start", "--no-panel", "--duration", str(DURATION_S), *mode, "--config", str(config)]


VAD_ONLY = pytest.param(["--no-transcribe"], id="vad-only")


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


@pytest.mark.parametrize("mode", [transcribed(), VAD_ONLY])
def test_a_live_session_under_the_audit_hook(
    box: LiveSandbox,
    pulse: VirtualPulse,
    quiet_config: Path,
    playing: None,
    mode: list[str],
) -> None:
    before = box.files()
    started = time.monotonic()
    trace = run_audited(argv(quiet_config, *mode), box)
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
    trace = without_portaudio_probes(run_straced(argv(quiet_config, "--no-transcribe"), box))
    trace.dirs_made.discard(runtime)
    assert trace.returncode == 0, trace.stderr
    assert_private(
        without_helpers(trace), box, may_write=[DEV_NULL], socket_ok=only_the_sound_server(pulse)
    )
    assert_only_history_left(box, before)
    assert_the_call_was_heard_and_kept(box)


# --------------------------------------------------------------------------- real speech

NOTIFY_SEND = """#!/bin/sh
# coach's desktop notifications land here: one line of arguments per notification
printf '%s\\n' "$*" >> '{log}'
"""


def run_straced_while_playing(
    args: list[str], box: LiveSandbox, pulse: VirtualPulse, call: Path, timeout_s: float
) -> Trace:
    """``coach ARGV`` under ``strace -f``; once it says it is listening, ``call`` is played
    (rep into the virtual mic, customer into the speakers)."""
    from tests.support.live_call import play, split_call

    rep_wav, customer_wav, _ = split_call(call, box.root.parent)
    log = box.root / "strace.log"
    proc = subprocess.Popen(
        [*STRACE, "-o", str(log), sys.executable, "-c", "from coach.cli import main; main()",
         *args],
        cwd=box.cwd, env=box.env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    err: list[str] = []
    heard = threading.Event()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err.append(line)
            if line.strip() == "coach: listening":
                heard.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert heard.wait(60), "".join(err)
        play(rep_wav, customer_wav, pulse.env).wait(timeout_s)
        out, _ = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    reader.join(10)
    trace = parse_strace_log(log, box.cwd)
    trace.returncode, trace.stdout, trace.stderr = proc.returncode, out, "".join(err)
    log.unlink()
    return trace


def test_a_live_call_of_real_speech_keeps_no_word_of_the_call(
    tmp_path: Path, pulse: VirtualPulse, real_speech: RealSpeech
) -> None:
    """The defaults: transcription on, desktop notifications on (to a stand-in that
    records them), bell on, history on; the statistics go to a file the user names."""
    from coach.core.nudge_text import TEXTS

    require_strace()
    bin_dir, notified = tmp_path / "bin", tmp_path / "notify-send.log"
    bin_dir.mkdir()
    notify_send = bin_dir / "notify-send"
    notify_send.write_text(NOTIFY_SEND.format(log=notified), encoding="utf-8")
    notify_send.chmod(0o755)
    env = {k: pulse.env[k] for k in PULSE_VARS if k in pulse.env}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    box = LiveSandbox(tmp_path / "box", env).make()
    stats_json = tmp_path / "stats.json"  # the user's own output: may hold the quote
    args = ["start", "--no-panel", "--duration", f"{real_speech.duration_s + 3:.1f}",
            "--stats-json", str(stats_json)]  # fmt: skip
    before = box.files()
    trace = without_portaudio_probes(
        run_straced_while_playing(args, box, pulse, real_speech.call, real_speech.duration_s + 60)
    )
    assert trace.returncode == 0, trace.stderr
    assert "Traceback" not in trace.stderr

    # what was written, and where
    spawned = [s for s in trace.spawned if str(notify_send) not in s]
    helpers_ok = without_helpers(dataclasses.replace(trace, spawned=spawned))
    helpers_ok.dirs_made.discard(pulse_socket(pulse).parent)
    assert_private(
        helpers_ok,
        box,
        may_write=[DEV_NULL, stats_json, notified],
        socket_ok=only_the_sound_server(pulse),
    )
    assert_only_history_left(box, before)
    kept = stored_stats(box)
    assert kept["end_reason"] == "duration"
    transcription = kept["transcription"]
    assert isinstance(transcription, dict) and transcription["utterances"] > 0

    # the nudges reached the rep: at least one desktop notification during the call
    assert notified.read_text(encoding="utf-8").strip(), "no desktop notification was sent"

    # and no word of the call anywhere but the user's own output
    places = files_written(trace, box, besides=[stats_json])
    places |= {f"argv {i}": argv for i, argv in enumerate(trace.spawned)}
    places["notify-send's arguments"] = notified.read_text(encoding="utf-8")
    assert_no_word_of_the_call(real_speech, places)
    # stderr holds the log lines: fixed nudge texts, which may share a word with the call
    fixed = {w for texts in TEXTS.values() for text in texts.values() for w in words_in(text)}
    stderr_words = words_in(trace.stderr) - fixed
    assert not stderr_words & real_speech.words, sorted(stderr_words & real_speech.words)
