"""Recording through PulseAudio's native API (coach/audio/pulse.py) on the project's virtual server.

What a record stream gives is checked against what was played into the
virtual devices; the errors against the facts of ../shared/notes/virtual-audio.md.
Skips only where PulseAudio is not installed; with CI=true it fails instead.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from coach.audio.devices import DeviceChoice
from coach.audio.pulse import PulseConnection, PulseError
from coach.audio.pulse_stream import RecordStream
from coach.errors import CoachError
from tests.support.ci import IN_CI
from tests.support.pulse import VirtualPulse

SR = 16000


@pytest.fixture
def server_env(pulse: VirtualPulse, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_server(pulse, monkeypatch)


def use_server(pulse: VirtualPulse, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's clients talk to ``pulse`` (for the test's duration)."""
    for key in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in pulse.env.items():
        if key.startswith(("XDG_", "PULSE_")):
            monkeypatch.setenv(key, value)
    return pulse.env


def record(conn: PulseConnection, streams: list[RecordStream], seconds: float) -> list[np.ndarray]:
    got: list[list[bytes]] = [[] for _ in streams]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
        conn.pump()
        for i, s in enumerate(streams):
            got[i].append(s.read())
    return [np.frombuffer(b"".join(g), np.float32) for g in got]


@pytest.mark.parametrize("drain", ["in C", "in Python"])
def test_both_sources_are_recorded_at_16_khz_with_what_was_played(
    server_env: dict[str, str], tmp_path: Path, drain: str
) -> None:
    from coach.audio import pulse_stream as pulse_module

    if drain == "in C" and pulse_module._drain is None:
        if IN_CI:
            pytest.fail("coach/audio/_pulse_drain.c was not built (gcc and python3-dev installed?)")
        pytest.skip("coach/audio/_pulse_drain.c was not built: pip install -e . with a C compiler")
    tone = tmp_path / "tone.wav"
    t = np.arange(SR // 2) / SR
    sf.write(str(tone), (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR)
    conn = PulseConnection()
    try:
        streams = [conn.open("coach_mic", "mic"), conn.open("coach_spk.monitor", "loopback")]
        for s in streams:
            s.native = drain == "in C"
        record(conn, streams, 0.3)  # settle
        player = subprocess.Popen(["paplay", "--device=coach_spk", str(tone)], env=server_env)
        started = time.monotonic()
        mic, loopback = record(conn, streams, 1.5)
        wall = time.monotonic() - started
        player.wait(10)
    finally:
        conn.close()
    # sample counts follow the wall clock: no audio lost, none invented
    for x in (mic, loopback):
        assert len(x) / SR == pytest.approx(wall, abs=0.1)
    # the tone reached the loopback only, at its pitch
    loud = loopback[np.abs(loopback) > 0.1]
    assert 0.4 * SR < len(loud) <= 0.55 * SR
    spectrum = np.abs(np.fft.rfft(loopback))
    assert abs(np.argmax(spectrum) * SR / len(loopback) - 440) < 5
    assert np.max(np.abs(mic)) < 0.01


def test_a_missing_source_is_a_clear_error_naming_the_sources(server_env: dict[str, str]) -> None:
    from coach.audio.pulse_capture import PulseInput

    src = PulseInput()
    side = src.side(0, DeviceChoice("mic", "Yeti", None, "Yeti", "--mic"))
    with pytest.raises(CoachError) as e:
        side.open()
    src.close()
    msg = str(e.value)
    assert "no source 'Yeti'" in msg and "coach_mic" in msg and "coach devices" in msg


def test_a_new_default_sink_is_known_within_a_second_with_its_description(
    server_env: dict[str, str],
) -> None:
    def pactl(*args: str) -> str:
        return subprocess.run(["pactl", *args], env=server_env, check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip

    module = pactl("load-module", "module-null-sink", "sink_name=coach_test_hp",
                   "sink_properties=device.description=Headphones")  # fmt: skip
    conn = PulseConnection()
    try:
        conn.watch_defaults()
        assert conn.defaults == ("coach_spk", "coach_mic")
        pactl("set-default-sink", "coach_test_hp")
        changed = time.monotonic()
        while conn.defaults[0] != "coach_test_hp" and time.monotonic() - changed < 2.0:
            time.sleep(0.05)
            conn.pump()
        assert conn.defaults == ("coach_test_hp", "coach_mic")
        assert time.monotonic() - changed < 1.0
        assert conn.describe("sink", "coach_test_hp") == "Headphones"
        assert conn.describe("source", "coach_mic") == "coach_microphone"
        assert conn.describe("sink", "no_such_sink") is None
    finally:
        conn.close()
        pactl("set-default-sink", "coach_spk")
        pactl("unload-module", module)


def test_a_server_that_dies_fails_the_connection_and_its_streams(
    own_pulse: VirtualPulse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a server of its own: it stops the server."""
    use_server(own_pulse, monkeypatch)
    conn = PulseConnection()
    try:
        stream = conn.open(None, "mic")  # the default source
        record(conn, [stream], 0.2)
        assert stream.ready
        own_pulse.stop()
        record(conn, [stream], 0.3)
        assert conn.failed and stream.failed and not stream.ready
    finally:
        conn.close()
    with pytest.raises(PulseError, match="no PulseAudio/PipeWire server answers"):
        PulseConnection(timeout_s=1.0)
