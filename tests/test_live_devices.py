"""`coach start` keeps hearing the call when the user's audio set-up changes mid-call.

On the project's virtual PulseAudio (scripts/pulse-virtual.sh) a second pair of
speakers, "Headphones" (``coach_hp``), is there from the start. The first 40 s
of the demo call is played as in tests/test_live_e2e.py, and mid-call the
default sink changes to the headphones -- what happens when a user plugs a
headset in -- with the rest of the call playing there. What the daemon heard
is compared with ``coach analyze`` of the same audio.

Skips only where PulseAudio is not installed; with CI=true it fails instead.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from coach.bench_live import (
    DEMO_CALL,
    QUIET_CONFIG,
    Daemon,
    VirtualPulse,
    analyze,
    speech_offset_s,
    start_args,
)

CALL_S = 40.0
SWITCH_AT_S = 15.0
CONFIG = QUIET_CONFIG + '\n[audio]\napi = "pulseaudio"\n'


def pactl(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture(scope="module")
def headphones(pulse: VirtualPulse) -> Iterator[str]:
    """A second sink, as a headset the user may plug in; its monitor opened once
    (a first capture after a device appears can stall, see pulse-virtual.sh)."""
    module = pactl(pulse.env, "load-module", "module-null-sink", "sink_name=coach_hp",
                   "rate=48000", "channels=2",
                   "sink_properties=device.description=Headphones")  # fmt: skip
    subprocess.run("timeout 2.5 parec -d coach_hp.monitor | head -c 3200 >/dev/null",
                   shell=True, env=pulse.env, check=False)  # fmt: skip
    yield "coach_hp"
    pactl(pulse.env, "set-default-sink", "coach_spk")
    pactl(pulse.env, "unload-module", module)


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo call's first 40 s: the whole call, its rep channel, and its
    customer channel cut at the switch into what each sink plays."""
    out = tmp_path_factory.mktemp("call")
    x, rate = sf.read(str(DEMO_CALL), dtype="int16", always_2d=True)
    x = x[: round(CALL_S * rate)]
    cut = round(SWITCH_AT_S * rate)
    files = {
        "call": (out / "call.wav", x),
        "rep": (out / "rep.wav", x[:, 0]),
        "before": (out / "before.wav", x[:cut, 1]),
        "after": (out / "after.wav", x[cut:, 1]),
    }
    for path, audio in files.values():
        sf.write(str(path), audio, rate, subtype="PCM_16")
    (out / "coach.toml").write_text(CONFIG, encoding="utf-8")
    return {name: path for name, (path, _) in files.items()} | {"config": out / "coach.toml"}


@pytest.fixture(scope="module")
def reference(pulse: VirtualPulse, call: dict[str, Path]) -> dict[str, Any]:
    return analyze(call["call"], call["config"], pulse.env)


def player(env: dict[str, str], device: str, wav: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["paplay", f"--device={device}", str(wav)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def talk_s(segments: list[list[float]], start_s: float, end_s: float) -> float:
    return sum(max(0.0, min(b, end_s) - max(a, start_s)) for a, b in segments)


@pytest.fixture(scope="module")
def switched(
    pulse: VirtualPulse, headphones: str, call: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:  # fmt: skip
    """The call with the default sink switched to the headphones 15 s in."""
    stats_path = tmp_path_factory.mktemp("switched") / "stats.json"
    daemon = Daemon(start_args(CALL_S + 3.0, stats_path, call["config"]), pulse.env).start()
    try:
        assert daemon.wait_for("listening", 30) is not None, daemon.stderr
        started = time.monotonic()
        players = [player(pulse.env, "coach_micfeed", call["rep"]),
                   player(pulse.env, "coach_spk", call["before"])]  # fmt: skip
        time.sleep(max(0.0, started + SWITCH_AT_S - time.monotonic()))
        pactl(pulse.env, "set-default-sink", headphones)
        switched_at = time.monotonic()
        players.append(player(pulse.env, headphones, call["after"]))
        for p in players:
            assert p.wait(CALL_S + 30) == 0
        assert daemon.wait_for("stats", 30) is not None, daemon.stderr
        assert daemon.wait(30) == 0, daemon.stderr
    finally:
        daemon.kill()
        pactl(pulse.env, "set-default-sink", "coach_spk")
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    return {"stats": stats, "daemon": daemon, "switched_at": switched_at}


def test_after_a_default_sink_switch_the_customer_is_still_heard(
    switched: dict[str, Any], reference: dict[str, Any]
) -> None:
    stats = switched["stats"]
    offset = speech_offset_s(stats["speech"], reference["speech"])
    truth = talk_s(reference["speech"]["customer"], SWITCH_AT_S, CALL_S)
    heard = talk_s(stats["speech"]["customer"], SWITCH_AT_S + offset, CALL_S + offset)
    assert truth > 15.0  # the customer talks for most of the call after the switch
    assert heard >= 0.85 * truth, (heard, truth)


def test_the_switch_is_said_once_within_a_second_and_only_for_the_loopback(
    switched: dict[str, Any],
) -> None:
    daemon: Daemon = switched["daemon"]
    said = [e for e in daemon.events if e.data.get("event") == "device"]
    assert [e.data["text"] for e in said] == ["customer audio now from Headphones"]
    assert said[0].wall - switched["switched_at"] < 1.0
    capture = switched["stats"]["capture"]
    assert capture["loopback"]["device"] == "coach_hp.monitor"
    assert capture["loopback"]["switches"] == 1
    assert capture["mic"]["switches"] == 0
    for side in ("mic", "loopback"):
        assert capture[side]["reopens"] == 0, side
    assert "customer audio now from Headphones" in daemon.stderr  # the log line
