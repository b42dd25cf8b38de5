"""Specification of coach.audio.audio_io: a call file becomes a stream of 16 kHz (2, n) blocks.

All audio is synthetic (tones and seeded noise) written to tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coach.audio import audio_io
from coach.audio.audio_io import SAMPLE_RATE_HZ, CallInfo, open_call
from coach.errors import CoachError
from tests.support.synth import tone

REP_BURST = (0.5, 1.5, 500.0)  # start s, end s, Hz
CUST_BURST = (2.0, 3.0, 1000.0)
AMP = 0.5


def write_call(path: Path, rate: int, seconds: float = 4.0, subtype: str = "PCM_16") -> Path:
    rep, customer = tone(rate, seconds, REP_BURST, 1, AMP), tone(rate, seconds, CUST_BURST, 2, AMP)
    data = np.stack([rep, customer], axis=1)
    sf.write(path, data, rate, subtype=subtype)
    return path


def read_all(blocks) -> np.ndarray:
    return np.concatenate(list(blocks), axis=1)


def burst_span(x: np.ndarray) -> tuple[float, float]:
    """First and last time (s) the signal is above half the burst amplitude."""
    loud = np.flatnonzero(np.abs(x) > AMP / 2)
    assert loud.size, "no burst found"
    return loud[0] / SAMPLE_RATE_HZ, loud[-1] / SAMPLE_RATE_HZ


def peak_hz(x: np.ndarray, start: float, end: float) -> float:
    seg = x[round(start * SAMPLE_RATE_HZ) : round(end * SAMPLE_RATE_HZ)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    return float(np.fft.rfftfreq(seg.size, 1 / SAMPLE_RATE_HZ)[np.argmax(spec)])


def message(excinfo: pytest.ExceptionInfo[CoachError]) -> str:
    text = str(excinfo.value)
    assert text and "\n" not in text, f"a CoachError is one line: {text!r}"
    return text


# --- good input ------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["wav", "flac"])
@pytest.mark.parametrize("rate", [16000, 8000, 44100, 48000])
def test_stereo_round_trip_keeps_timing_and_frequency(tmp_path: Path, rate: int, ext: str) -> None:
    path = write_call(tmp_path / f"call.{ext}", rate)
    info, blocks = open_call(path)

    source_frames = round(4.0 * rate)
    assert info == CallInfo(
        path_label=str(path),
        source_rate_hz=rate,
        duration_s=info.frames_16k / SAMPLE_RATE_HZ,
        frames_16k=round(source_frames * SAMPLE_RATE_HZ / rate),
    )
    assert info.duration_s == pytest.approx(4.0)

    parts = list(blocks)
    for b in parts:
        assert b.dtype == np.float32 and b.ndim == 2 and b.shape[0] == 2
        assert b.flags.c_contiguous
    assert [b.shape[1] for b in parts] == [16000] * 4
    x = np.concatenate(parts, axis=1)
    assert x.shape == (2, info.frames_16k)

    rep, cust = x
    for row, (start, end, hz) in ((rep, REP_BURST), (cust, CUST_BURST)):
        t0, t1 = burst_span(row)
        assert t0 == pytest.approx(start, abs=0.010)
        assert t1 == pytest.approx(end, abs=0.010)
        assert peak_hz(row, start + 0.1, end - 0.1) == pytest.approx(hz, abs=5)
    # each row is its own side: the other burst is not there
    assert np.abs(rep[round(2.1 * 16000) : round(2.9 * 16000)]).max() < 0.01
    assert np.abs(cust[round(0.6 * 16000) : round(1.4 * 16000)]).max() < 0.01


@pytest.mark.parametrize(
    "name, subtype", [("call.wav", "FLOAT"), ("call.wav", "PCM_16"), ("call.flac", "PCM_24")]
)
def test_16k_input_passes_through_unchanged(tmp_path: Path, name: str, subtype: str) -> None:
    path = write_call(tmp_path / name, 16000, subtype=subtype)
    _, blocks = open_call(path)
    expected = sf.read(path, dtype="float32", always_2d=True)[0].T
    np.testing.assert_array_equal(read_all(blocks), expected)


def test_ogg_is_read(tmp_path: Path) -> None:
    path = write_call(tmp_path / "call.ogg", 48000, subtype="VORBIS")
    info, blocks = open_call(path)
    x = read_all(blocks)
    assert x.shape == (2, info.frames_16k)
    assert burst_span(x[1])[0] == pytest.approx(2.0, abs=0.010)


def test_two_mono_files_of_different_rates_and_lengths_are_padded(tmp_path: Path) -> None:
    rep = tmp_path / "rep.wav"
    cust = tmp_path / "customer.flac"
    sf.write(rep, tone(48000, 1.8, REP_BURST, 1), 48000)  # shorter
    sf.write(cust, tone(8000, 4.0, CUST_BURST, 2), 8000)

    info, blocks = open_call(rep=rep, customer=cust)
    assert info.frames_16k == 64000  # the longer file
    assert info.duration_s == pytest.approx(4.0)
    assert info.source_rate_hz == 48000
    assert str(rep) in info.path_label and str(cust) in info.path_label

    x = read_all(blocks)
    assert x.shape == (2, 64000)
    assert burst_span(x[0]) == pytest.approx((0.5, 1.5), abs=0.010)
    assert burst_span(x[1]) == pytest.approx((2.0, 3.0), abs=0.010)
    assert not x[0, round(1.8 * 16000) :].any(), "the shorter side is padded with silence"


def test_channels_picks_rep_and_customer_from_a_multichannel_file(tmp_path: Path) -> None:
    rate = 16000
    data = np.stack(
        [np.zeros(4 * rate), tone(rate, 4.0, CUST_BURST, 2), tone(rate, 4.0, REP_BURST, 1)], axis=1
    ).astype(np.float32)
    path = tmp_path / "three.wav"
    sf.write(path, data, rate, subtype="FLOAT")

    _, blocks = open_call(path, channels=(2, 1))
    x = read_all(blocks)
    np.testing.assert_array_equal(x[0], data[:, 2])
    np.testing.assert_array_equal(x[1], data[:, 1])


def test_channels_can_swap_a_stereo_file(tmp_path: Path) -> None:
    path = write_call(tmp_path / "call.wav", 16000, subtype="FLOAT")
    _, blocks = open_call(path, channels=(1, 0))
    x = read_all(blocks)
    assert burst_span(x[0]) == pytest.approx((2.0, 3.0), abs=0.010)


@pytest.mark.parametrize("rate", [8000, 44100, 48000, 22050])
def test_output_does_not_depend_on_block_size(tmp_path: Path, rate: int) -> None:
    path = write_call(tmp_path / "call.flac", rate)
    ref = read_all(open_call(path, block_s=1.0)[1])
    for block_s in (0.1, 0.37, 2.5):
        info, blocks = open_call(path, block_s=block_s)
        parts = list(blocks)
        n = round(block_s * SAMPLE_RATE_HZ)
        assert all(p.shape[1] == n for p in parts[:-1]) and 0 < parts[-1].shape[1] <= n
        x = np.concatenate(parts, axis=1)
        assert x.shape == ref.shape == (2, info.frames_16k)
        np.testing.assert_allclose(x, ref, atol=1e-6, rtol=0)


def test_two_file_output_does_not_depend_on_block_size(tmp_path: Path) -> None:
    rep, cust = tmp_path / "rep.wav", tmp_path / "cust.wav"
    sf.write(rep, tone(44100, 3.3, REP_BURST, 1), 44100)
    sf.write(cust, tone(48000, 2.2, (1.0, 2.0, 1000.0), 2), 48000)
    ref = read_all(open_call(rep=rep, customer=cust, block_s=1.0)[1])
    x = read_all(open_call(rep=rep, customer=cust, block_s=0.1)[1])
    np.testing.assert_allclose(x, ref, atol=1e-6, rtol=0)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frames=st.integers(min_value=3, max_value=30000),
    rate=st.sampled_from([8000, 11025, 16000, 44100, 48000, 96000]),
    block_s=st.floats(min_value=0.01, max_value=2.0),
)
def test_length_is_exact_for_any_frame_count_rate_and_block(
    tmp_path: Path, frames: int, rate: int, block_s: float
) -> None:
    # a file shorter than one 16 kHz sample is "no samples": a CoachError, tested elsewhere
    assume(round(frames * SAMPLE_RATE_HZ / rate) > 0)
    path = tmp_path / f"len_{frames}_{rate}.wav"
    rng = np.random.default_rng(frames)
    sf.write(path, (rng.standard_normal((frames, 2)) * 0.1).astype(np.float32), rate)
    info, blocks = open_call(path, block_s=block_s)
    assert info.frames_16k == round(frames * SAMPLE_RATE_HZ / rate)
    assert sum(b.shape[1] for b in blocks) == info.frames_16k


def test_samples_are_clipped_to_unit_range(tmp_path: Path) -> None:
    data = np.full((16000, 2), 1.5, dtype=np.float32)
    data[::2] = -3.0
    path = tmp_path / "loud.wav"
    sf.write(path, data, 48000, subtype="FLOAT")
    x = read_all(open_call(path)[1])
    assert x.max() <= 1.0 and x.min() >= -1.0


def test_reads_in_blocks_not_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_call(tmp_path / "long.flac", 48000, seconds=30.0)
    sizes: list[int] = []
    real_read = sf.SoundFile.read

    def spy(self: sf.SoundFile, frames: int = -1, *args: object, **kwargs: object) -> np.ndarray:
        sizes.append(frames)
        return real_read(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    _, blocks = open_call(path, block_s=1.0)
    first = next(blocks)
    assert first.shape == (2, 16000)
    assert sizes and max(sizes) <= 48000 and len(sizes) <= 5
    for _ in blocks:
        pass
    assert max(sizes) <= 48000 and -1 not in sizes


# --- bad input: one clear line, raised before anything is yielded ----------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CoachError) as e:
        open_call(tmp_path / "nope.wav")
    assert "no such file" in message(e) and "nope.wav" in message(e)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(CoachError) as e:
        open_call(tmp_path)
    assert "is a directory" in message(e) and "WAV" in message(e)


def test_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are meeting notes, not audio\n" * 20)
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "not a readable audio file" in message(e)
    assert "WAV, FLAC or OGG" in message(e)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "zero_bytes.flac"
    path.write_bytes(b"")
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "not a readable audio file" in message(e)


def test_wav_with_zero_frames(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 2), dtype=np.float32), 16000)
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "no audio" in message(e) and "0 samples" in message(e)


def test_truncated_wav(tmp_path: Path) -> None:
    path = write_call(tmp_path / "call.wav", 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "truncated" in message(e) and "export" in message(e)


def test_truncated_flac(tmp_path: Path) -> None:
    path = write_call(tmp_path / "call.flac", 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "truncated or corrupt" in message(e)


def test_corrupt_flac_fails_while_streaming_with_the_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    path = tmp_path / "call.flac"
    sf.write(path, (rng.standard_normal((16000 * 10, 2)) * 0.1).astype(np.float32), 16000)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    info, blocks = open_call(path)  # its end still decodes: found only while streaming
    with pytest.raises(CoachError) as e:
        for _ in blocks:
            pass
    assert "corrupt" in message(e) and " s" in message(e)


def test_mono_without_rep_customer(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    sf.write(path, tone(16000, 2.0, REP_BURST, 1), 16000)
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "mono" in message(e) and "--rep" in message(e) and "--customer" in message(e)
    assert "stereo" in message(e)


def test_three_channels_without_channels(tmp_path: Path) -> None:
    path = tmp_path / "three.wav"
    sf.write(path, np.zeros((16000, 3), dtype=np.float32), 16000)
    with pytest.raises(CoachError) as e:
        open_call(path)
    assert "3 channels" in message(e) and "--channels" in message(e)


@pytest.mark.parametrize("channels", [(0, 3), (5, 1), (-1, 0)])
def test_channel_index_out_of_range(tmp_path: Path, channels: tuple[int, int]) -> None:
    path = tmp_path / "three.wav"
    sf.write(path, np.zeros((16000, 3), dtype=np.float32), 16000)
    with pytest.raises(CoachError) as e:
        open_call(path, channels=channels)
    assert "out of range" in message(e) and "3 channels" in message(e)


def test_same_channel_for_both_sides(tmp_path: Path) -> None:
    path = write_call(tmp_path / "call.wav", 16000)
    with pytest.raises(CoachError) as e:
        open_call(path, channels=(1, 1))
    assert "different channels" in message(e)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples_fail_with_their_time(tmp_path: Path, bad: float) -> None:
    data = np.zeros((48000 * 3, 2), dtype=np.float32)
    data[round(48000 * 2.3), 1] = bad
    path = tmp_path / "float.wav"
    sf.write(path, data, 48000, subtype="FLOAT")
    info, blocks = open_call(path)
    with pytest.raises(CoachError) as e:
        for _ in blocks:
            pass
    assert "NaN/inf" in message(e) and "2.3 s" in message(e) and "16-bit PCM" in message(e)


def test_stereo_file_given_as_rep(tmp_path: Path) -> None:
    stereo = write_call(tmp_path / "call.wav", 16000)
    mono = tmp_path / "cust.wav"
    sf.write(mono, tone(16000, 4.0, CUST_BURST, 2), 16000)
    with pytest.raises(CoachError) as e:
        open_call(rep=stereo, customer=mono)
    assert "--rep" in message(e) and "mono" in message(e)


def test_missing_customer_file(tmp_path: Path) -> None:
    rep = tmp_path / "rep.wav"
    sf.write(rep, tone(16000, 2.0, REP_BURST, 1), 16000)
    with pytest.raises(CoachError) as e:
        open_call(rep=rep, customer=tmp_path / "gone.wav")
    assert "gone.wav" in message(e) and "no such file" in message(e)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({}, "no call given"),
        ({"rep": Path("r.wav")}, "--customer"),
        ({"customer": Path("c.wav")}, "--rep"),
        ({"path": Path("a.wav"), "rep": Path("r.wav"), "customer": Path("c.wav")}, "not both"),
        ({"rep": Path("r.wav"), "customer": Path("c.wav"), "channels": (0, 1)}, "--channels"),
    ],
)
def test_argument_combinations(kwargs: dict, words: str) -> None:
    with pytest.raises(CoachError) as e:
        open_call(**kwargs)
    assert words in message(e)


def test_nonpositive_block_is_a_programming_error(tmp_path: Path) -> None:
    path = write_call(tmp_path / "call.wav", 16000)
    with pytest.raises(ValueError):
        open_call(path, block_s=0)


def test_module_exports() -> None:
    assert audio_io.SAMPLE_RATE_HZ == 16000
    assert set(audio_io.__all__) == {"SAMPLE_RATE_HZ", "CallInfo", "open_call"}
