"""Fuzz `coach analyze`: whatever the file or the config, a result or one clear line.

The contract for every input below, run through the real CLI (`coach.cli.app`):

- exit 0 and stdout is one strict-JSON ``coach.stats/1`` object with sane figures, or
- exit 2 and stderr is exactly one line starting ``coach: ``;
- never a traceback, never another exit status.

Inputs are small (at most a few seconds of audio) so the whole file runs in
seconds. Named cases from the issue (truncated, wrong header, NaN/inf, silence,
clipping, 7999/22050/96000 Hz, 64 channels with and without ``--channels``) are
pinned with ``@example`` so they run every time, not only when drawn.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import (
    HealthCheck,
    assume,
    currently_in_test_context,
    event,
    example,
    given,
    settings,
)
from hypothesis import strategies as st
from typer.testing import CliRunner

from coach.cli.app import app
from coach.config import KEYS, PRESETS, TABLES, KeySpec, toml_value
from tests.support.synth import RATE, make_call

runner = CliRunner()


def fuzz(examples: int) -> settings:
    """Hypothesis settings; ``COACH_FUZZ_SCALE=20`` multiplies the examples for a deep run."""
    return settings(
        max_examples=examples * int(os.environ.get("COACH_FUZZ_SCALE", "1")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module", autouse=True)
def private_dirs() -> Iterator[Path]:
    """Scratch files and the history database (once analyze saves one) stay in a temp dir."""
    with (
        tempfile.TemporaryDirectory(prefix="coach-fuzz-") as tmp,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("COACH_DATA_DIR", str(Path(tmp) / "data"))
        mp.setenv("COACH_CONFIG", str(Path(tmp) / "no-such-config.toml"))
        yield Path(tmp)


def _no_constants(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def assert_result_or_one_clear_line(args: list[str]) -> dict[str, Any] | None:
    """Run ``coach ARGS``; check the contract; return the stats on success."""
    result = runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"coach {' '.join(args)} raised") from result.exception
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if currently_in_test_context():
        event(f"exit {result.exit_code}")  # see pytest --hypothesis-show-statistics
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("coach: "), result.stderr
        assert result.stdout == ""
        return None
    stats = json.loads(result.stdout, parse_constant=_no_constants)
    assert_sane_stats(stats)
    return stats


def assert_sane_stats(stats: dict[str, Any]) -> None:
    assert stats["schema"] == "coach.stats/1"
    duration = stats["duration_s"]
    assert isinstance(duration, (int, float)) and duration >= 0
    ratio = stats["talk_ratio"]
    assert ratio is None or 0 <= ratio <= 1
    for side in ("rep", "customer"):
        assert 0 <= stats[side]["talk_s"] <= duration + 0.01
        assert 0 <= stats[side]["longest_monologue_s"] <= duration + 0.01
    for nudge in stats["nudges"]:
        assert {"t", "kind", "text", "heeded"} <= set(nudge)
        assert 0 <= nudge["t"] <= duration + 0.01


# ----------------------------------------------------------------------------- audio files


@dataclass(frozen=True)
class AudioCase:
    """One file to feed `coach analyze`: what it holds, how it is encoded and damaged."""

    rate: int
    channels: int
    seconds: float
    content: str  # see CONTENTS
    container: str  # "WAV", "FLAC", "OGG"
    subtype: str
    truncate_at: float | None = None  # keep this fraction of the bytes
    scribble: tuple[tuple[int, int], ...] = ()  # (offset, byte) overwrites
    channels_arg: str | None = None  # --channels value

    def data(self) -> np.ndarray:
        n = int(self.seconds * self.rate)
        rng = np.random.default_rng(n + self.channels)
        out = np.zeros((n, self.channels))
        speech = _speech(self.seconds, self.rate, n) if self.content == "speech" else None
        for c in range(self.channels):
            if speech is not None:
                out[:, c] = speech[c % 2]
            elif self.content == "noise":
                out[:, c] = rng.standard_normal(n) * 0.1
            elif self.content == "clipping":
                out[:, c] = np.clip(rng.standard_normal(n) * 5, -1, 1)
            elif self.content == "over-full-scale":  # float files may exceed ±1
                out[:, c] = rng.standard_normal(n) * 40
            elif self.content == "dc":
                out[:, c] = 0.9
            elif self.content in ("nan", "inf"):
                out[:, c] = rng.standard_normal(n) * 0.1
                if n:
                    bad = np.nan if self.content == "nan" else np.inf
                    out[rng.integers(0, n, size=max(1, n // 1000)), c] = bad
            # "silence": zeros
        return out

    def encode(self) -> bytes:
        data = self.data()
        if self.subtype not in FLOAT_SUBTYPES:
            # integer formats hold neither NaN nor more than full scale (and libsndfile
            # 1.2's A-law/µ-law encoders crash on the latter): those are float-file cases
            data = np.clip(np.nan_to_num(data), -1.0, 1.0)
        buf = io.BytesIO()
        sf.write(buf, data, self.rate, format=self.container, subtype=self.subtype)
        blob = bytearray(buf.getvalue())
        for offset, byte in self.scribble:
            if blob:
                blob[offset % len(blob)] = byte
        if self.truncate_at is not None:
            blob = blob[: int(len(blob) * self.truncate_at)]
        return bytes(blob)

    def args(self, path: Path) -> list[str]:
        extra = ["--channels", self.channels_arg] if self.channels_arg is not None else []
        return ["analyze", str(path), "--json", "--no-transcribe", *extra]


def _speech(seconds: float, rate: int, n: int) -> np.ndarray:
    """``(2, n)``: the rep talks in the first half, the customer in the second."""
    half = seconds / 2
    call = make_call(seconds, rep=[(0.1, half)], customer=[(half + 0.1, seconds)])
    if rate != RATE and n:
        call = soxr.resample(call.T, RATE, rate).T
    out = np.zeros((2, n))
    out[:, : min(n, call.shape[1])] = call[:, :n]
    return out


CONTENTS = ["speech", "noise", "silence", "clipping", "over-full-scale", "dc", "nan", "inf"]
FLOAT_SUBTYPES = ["FLOAT", "DOUBLE"]
WAV_SUBTYPES = ["PCM_16", "PCM_24", "PCM_32", "PCM_U8", "ULAW", "ALAW", *FLOAT_SUBTYPES]
ODD_RATES = [1, 100, 4000, 7999, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000]


@st.composite
def audio_cases(draw: st.DrawFn) -> AudioCase:
    container = draw(st.sampled_from(["WAV", "WAV", "WAV", "FLAC", "OGG"]))
    if container == "WAV":
        subtype = draw(st.sampled_from(WAV_SUBTYPES))
        channels = draw(st.sampled_from([1, 2, 2, 2, 2, 3, 8, 64]))
        rate = draw(st.sampled_from(ODD_RATES) | st.integers(1, 200_000))
    elif container == "FLAC":  # libsndfile's FLAC: up to 8 channels, 1 Hz - 655 kHz
        subtype = draw(st.sampled_from(["PCM_16", "PCM_24"]))
        channels = draw(st.sampled_from([1, 2, 2, 2, 3, 8]))
        rate = draw(st.sampled_from(ODD_RATES[1:]))
    else:
        subtype, channels = "VORBIS", draw(st.sampled_from([1, 2]))
        rate = draw(st.sampled_from([8000, 22050, 44100, 48000]))
    content = draw(st.sampled_from(["speech", "speech", "noise", *CONTENTS]))
    if content in ("nan", "inf") and subtype not in FLOAT_SUBTYPES:
        subtype = draw(st.sampled_from(FLOAT_SUBTYPES)) if container == "WAV" else subtype
    # bounded size: at most ~1.5 M samples however many channels
    seconds = draw(st.floats(0, min(3.0, 1_500_000 / (rate * channels))))
    damage = draw(st.sampled_from(["none"] * 7 + ["truncate", "scribble", "header"]))
    truncate_at = draw(st.floats(0, 1)) if damage == "truncate" else None
    scribble: tuple[tuple[int, int], ...] = ()
    if damage in ("scribble", "header"):
        top = 64 if damage == "header" else 1 << 20
        scribble = tuple(
            draw(
                st.lists(
                    st.tuples(st.integers(0, top), st.integers(0, 255)), min_size=1, max_size=8
                )
            )
        )
    channels_arg = draw(channel_args(channels))
    return AudioCase(
        rate, channels, seconds, content, container, subtype, truncate_at, scribble, channels_arg
    )


def channel_args(channels: int) -> st.SearchStrategy[str | None]:
    """Mostly what a user would pass for this many channels; now and then anything."""
    pair = st.integers(0, max(0, channels - 1))
    valid = st.tuples(pair, pair).map(lambda p: f"{p[0]},{p[1]}")
    wild = st.builds(
        lambda a, b: f"{a},{b}", st.integers(-2, 70), st.integers(-2, 70)
    ) | st.sampled_from(["", "0", "a,b", "0,1,2", " 1 , 0 ", "63,0"])
    if channels == 2:
        return st.one_of(st.none(), st.none(), st.none(), valid, wild)
    if channels > 2:
        return st.one_of(valid, valid, valid, st.none(), wild)
    return st.one_of(st.none(), st.none(), wild)


def _case(**kw: Any) -> AudioCase:
    base: dict[str, Any] = dict(
        rate=16000, channels=2, seconds=2.0, content="speech", container="WAV", subtype="PCM_16"
    )
    return AudioCase(**(base | kw))


@fuzz(100)
@example(_case())
@example(_case(truncate_at=0.5))
@example(_case(truncate_at=0.01))
@example(_case(scribble=((0, 0), (1, 0), (2, 0), (3, 0))))  # "RIFF" gone
@example(_case(scribble=((22, 0xFF), (23, 0xFF))))  # absurd channel count in the header
@example(_case(scribble=((24, 0), (25, 0), (26, 0), (27, 0))))  # sample rate 0
@example(_case(content="nan", subtype="FLOAT"))
@example(_case(content="inf", subtype="DOUBLE"))
@example(_case(content="over-full-scale", subtype="FLOAT"))
@example(_case(content="silence"))
@example(_case(content="clipping"))
@example(_case(rate=7999))
@example(_case(rate=22050, container="FLAC"))
@example(_case(rate=96000, seconds=1.0))
@example(_case(channels=64, seconds=0.5))
@example(_case(channels=64, seconds=0.5, channels_arg="0,63"))
@example(_case(channels=64, seconds=0.5, channels_arg="0,64"))
@example(_case(channels=1))
@example(_case(seconds=0.0))
@given(case=audio_cases())
def test_any_audio_file_gives_stats_or_one_clear_line(private_dirs: Path, case: AudioCase) -> None:
    try:
        blob = case.encode()
    except (sf.LibsndfileError, RuntimeError, ValueError):
        assume(False)  # a combination libsndfile can't write: nothing to test
        return
    path = private_dirs / "call.wav"
    path.write_bytes(blob)
    stats = assert_result_or_one_clear_line(case.args(path))
    if stats is not None and case.content in ("silence", "dc"):
        assert stats["talk_ratio"] is None and stats["nudges"] == []


@fuzz(40)
@given(blob=st.binary(max_size=2048), name=st.sampled_from(["call.wav", "call.flac", "call"]))
def test_random_bytes_are_never_a_crash(private_dirs: Path, blob: bytes, name: str) -> None:
    path = private_dirs / name
    path.write_bytes(blob)
    assert_result_or_one_clear_line(["analyze", str(path), "--json", "--no-transcribe"])


# ----------------------------------------------------------------------------- configs


def _toml(value: Any) -> str:
    """Any TOML value as source text (arrays and inline tables included)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return toml_value(value)


def _key(name: str) -> str:
    return (
        name
        if name.replace("_", "").replace("-", "").isalnum() and name.isascii()
        else json.dumps(name)
    )


any_scalar = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.floats(-10, 1000),
    st.text(max_size=12),
    st.sampled_from(["webrtc", "silero", "en", "de", "auto", "off", "on", "tiny.en", ""]),
    st.dates(),
)
any_value = st.one_of(
    any_scalar,
    st.lists(any_scalar, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), any_scalar, max_size=2),
)


def in_range(spec: KeySpec) -> st.SearchStrategy[Any]:
    """Any value the key allows, its bounds included: valid, but maybe extreme."""
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind is bool:
        return st.booleans()
    if spec.kind is str:
        return st.from_regex(spec.pattern, fullmatch=True) if spec.pattern else st.text(max_size=20)
    assert spec.min is not None and spec.max is not None
    if spec.kind is int:
        return st.integers(int(spec.min), int(spec.max))
    lo, hi = spec.min, spec.max
    bounds = [b for b in (lo, hi, lo + 1e-6, (lo + hi) / 2) if not (spec.min_open and b == lo)]
    return (
        st.floats(lo, hi, exclude_min=spec.min_open)
        | st.floats(lo, min(hi, lo + 2), exclude_min=spec.min_open)
        | st.sampled_from(bounds)
    )


def out_of_range(spec: KeySpec) -> st.SearchStrategy[Any]:
    """Just outside what the key allows, or a wrong type."""
    if spec.min is not None and spec.max is not None:
        lo, hi = spec.min, spec.max
        outside = [lo - 1, hi + 1, hi * 10 + 1, -1e308, 1e308, float("nan"), float("inf")]
        if spec.min_open:
            outside.append(lo)
        if spec.kind is int:
            outside = [int(lo) - 1, int(hi) + 1, 2**63 - 1]
        return st.sampled_from(outside) | any_value
    return any_value


def table_of(name: str, value: Any) -> tuple[str, str, Any]:
    table, _, key = name.partition(".")
    return table, key, value


def valid_entries() -> st.SearchStrategy[tuple[str, str, Any]]:
    return st.sampled_from(sorted(KEYS)).flatmap(
        lambda name: in_range(KEYS[name]).map(lambda v: table_of(name, v))
    )


def any_entries() -> st.SearchStrategy[tuple[str, str, Any]]:
    wrong = st.sampled_from(sorted(KEYS)).flatmap(
        lambda name: out_of_range(KEYS[name]).map(lambda v: table_of(name, v))
    )
    invented = st.tuples(
        st.sampled_from([*TABLES, "nope"]),
        st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10),
        any_value,
    )
    return valid_entries() | valid_entries() | wrong | invented


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    """TOML config files: half of them valid (extreme values too), the rest anything."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "any", "any", "junk"]))
    if kind == "junk":
        return draw(st.text(max_size=60))
    entries = valid_entries() if kind == "valid" else any_entries()
    tables: dict[str, dict[str, Any]] = {}
    for table, key, value in draw(st.lists(entries, max_size=6)):
        tables.setdefault(table, {})[key] = value
    lines = []
    if kind == "any" and draw(st.booleans()):  # a key where a table belongs, or an unknown one
        lines.append(f"{draw(st.sampled_from([*TABLES, 'x']))} = {_toml(draw(any_scalar))}")
    for table, items in tables.items():
        lines.append(f"[{_key(table)}]")
        lines += [f"{_key(k)} = {_toml(v)}" for k, v in items.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def speech_call(private_dirs: Path) -> Path:
    path = private_dirs / "speech.wav"
    path.write_bytes(_case(seconds=3.0).encode())
    return path


@pytest.fixture(scope="module")
def long_timeline(private_dirs: Path) -> Path:
    """A 10-minute scripted call (no audio): long enough for every nudge kind to fire."""
    rng = np.random.default_rng(5)
    t = 0.0
    speech: dict[str, list[list[float]]] = {"rep": [], "customer": []}
    while t < 590:
        side = "rep" if rng.random() < 0.5 else "customer"
        length = float(rng.choice([0.4, 0.8, 3.0, 12.0, 45.0, 70.0]))
        speech[side].append([round(t, 2), round(min(t + length, 600), 2)])
        t += length + float(rng.choice([-0.5, 0.2, 0.9, 2.5]))
    path = private_dirs / "long.json"
    path.write_text(json.dumps({"duration_s": 600, "speech": speech}))
    return path


@fuzz(80)
@example(text="[vad]\nframe_ms = 20\nmerge_gap_s = 0.0\n", preset=None)
@example(text="[turns]\nutterance_gap_s = 1e-9\nbackchannel_max_s = 10.0\n", preset="demo")
@example(text="[nudges]\ntalk_ratio_max = nan\n", preset=None)
@example(text="[history]\nenabled = false\n", preset=None)
@example(text="vad = 3\n", preset="bogus")
@example(text="\x00\x01", preset=None)
@given(text=config_texts(), preset=st.none() | st.sampled_from([*PRESETS, "bogus"]))
def test_any_config_with_audio_gives_stats_or_one_clear_line(
    private_dirs: Path, speech_call: Path, text: str, preset: str | None
) -> None:
    cfg = private_dirs / "config.toml"
    cfg.write_text(text, encoding="utf-8", errors="surrogatepass")
    args = ["analyze", str(speech_call), "--json", "--no-transcribe", "--config", str(cfg)]
    assert_result_or_one_clear_line(args + (["--preset", preset] if preset else []))


@fuzz(80)
@example(
    text="[nudges]\nacknowledge_after_s = 1e-6\nmax_wait_s = 0.0\npause_s = 0.0\n"
    "summarise_every_s = 0.001\ntalk_ratio_window_s = 1.0\n"
)
@example(text="[report]\nmin_monologue_s = 0.0\npatience_max_s = 0.0\n")
@given(text=config_texts())
def test_any_config_with_a_long_timeline_gives_stats_or_one_clear_line(
    private_dirs: Path, long_timeline: Path, text: str
) -> None:
    cfg = private_dirs / "timeline-config.toml"
    cfg.write_text(text, encoding="utf-8", errors="surrogatepass")
    stats = assert_result_or_one_clear_line(
        ["analyze", "--timeline", str(long_timeline), "--json", "--config", str(cfg)]
    )
    if stats is not None:
        assert stats["duration_s"] == 600
        assert all(math.isfinite(n["t"]) for n in stats["nudges"])


def test_the_fuzz_inputs_themselves_are_sound(private_dirs: Path) -> None:
    """The base case decodes as the speech call it claims to be: the fuzz tests mean something."""
    path = private_dirs / "sound.wav"
    path.write_bytes(_case().encode())
    stats = assert_result_or_one_clear_line(_case().args(path))
    assert stats is not None and stats["rep"]["talk_s"] > 0.5 and stats["customer"]["talk_s"] > 0.5
    assert os.path.getsize(path) > 1000
