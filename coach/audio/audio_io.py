"""Read a recorded call as a stream of 16 kHz two-row blocks, never the whole file.

This is the edge between files on disk and the analysis pipeline. The pipeline
consumes a call as blocks: float32 arrays of shape ``(2, n)`` at 16 kHz, row 0
the rep (microphone), row 1 the customer (loopback). :func:`open_call` checks
the input up front and returns a :class:`CallInfo` plus an iterator of blocks.

- Memory stays flat: files are read ``block_s`` seconds at a time and each
  channel goes through a streaming resampler (``soxr.ResampleStream``), whose
  output does not depend on how the input is chunked.
- Length is exact: the blocks add up to ``round(source_frames * 16000 /
  source_rate)`` frames (the resampler tail is padded or trimmed). With
  ``--rep/--customer`` the shorter file is padded with silence.
- Every block has exactly ``round(block_s * 16000)`` frames except the last,
  which may be shorter. Samples are float32 in [-1, 1].
- Anything wrong with the input raises :class:`~coach.errors.CoachError` with
  one line saying what is wrong and what to do. Problems that can only be seen
  while decoding (a corrupt stretch, NaN/inf samples) are raised from the
  iterator, also as ``CoachError``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from coach.core.types import SAMPLE_RATE_HZ
from coach.errors import CoachError

"""The rate of every block :func:`open_call` yields."""

_RESAMPLE_QUALITY = "HQ"
_FORMAT_HINT = "pass a WAV, FLAC or OGG recording"
_REEXPORT_HINT = "re-export it as 16-bit PCM WAV/FLAC"
_INT16_SCALE = np.float32(1.0 / 32768.0)
# Declared WAV data sizes that streaming writers leave as placeholders; not truncation.
_PLACEHOLDER_DATA_SIZE = 0x7FFF0000
_DATA_SHOULD_BE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


@dataclass(frozen=True)
class CallInfo:
    """What :func:`open_call` found out about a call before streaming it."""

    path_label: str
    """What to show the user: the file name, or both names for --rep/--customer."""
    source_rate_hz: int
    """Sample rate of the source file (of the rep file, for --rep/--customer)."""
    duration_s: float
    """Duration of the 16 kHz stream: ``frames_16k / 16000``."""
    frames_16k: int
    """Exact number of frames the block iterator yields, summed over all blocks."""


@dataclass(frozen=True)
class _Source:
    """One file to read, and which of its channels become output rows."""

    path: Path
    role: str  # how to name it in messages: "call", "--rep file", "--customer file"
    rate: int
    frames: int
    columns: tuple[int, ...]

    @property
    def frames_16k(self) -> int:
        return _frames_16k(self.frames, self.rate)


def _frames_16k(source_frames: int, source_rate: int) -> int:
    return round(source_frames * SAMPLE_RATE_HZ / source_rate)


def open_call(
    path: Path | None = None,
    *,
    rep: Path | None = None,
    customer: Path | None = None,
    channels: tuple[int, int] | None = None,
    block_s: float = 1.0,
) -> tuple[CallInfo, Iterator[np.ndarray]]:
    """Check a call's audio and return its info and an iterator of 16 kHz blocks.

    Args:
        path: a stereo file, channel 0 the rep and channel 1 the customer.
        rep: the rep's mono file (with ``customer``, instead of ``path``).
        customer: the customer's mono file (with ``rep``).
        channels: ``(rep_index, customer_index)``, 0-based, to pick two channels
            of ``path``; needed when it has more than two channels.
        block_s: length of each yielded block in seconds (the last may be shorter).

    Returns:
        ``(info, blocks)``: each block a C-contiguous float32 array of shape
        ``(2, n)``, row 0 rep, row 1 customer, at :data:`SAMPLE_RATE_HZ`; the
        ``n`` add up to ``info.frames_16k``. The files are opened only while the
        iterator runs.

    Raises:
        CoachError: missing file, a directory, not audio, an unsupported format,
            a truncated file, no samples, a mono file without rep/customer, more
            than two channels without ``channels``, a channel index out of
            range. The iterator raises it too for decode errors and NaN/inf
            samples found while streaming.
        ValueError: ``block_s`` is not positive (a programming error).
    """
    if not block_s > 0:
        raise ValueError(f"block_s must be positive, got {block_s!r}")
    block_n = max(1, round(block_s * SAMPLE_RATE_HZ))

    if path is not None and (rep is not None or customer is not None):
        raise CoachError(
            "pass either a stereo CALL file or --rep REP --customer CUSTOMER, not both"
        )
    if path is None and rep is None and customer is None:
        raise CoachError("no call given: pass a stereo CALL file or --rep REP --customer CUSTOMER")
    if path is None:
        return _open_two(rep, customer, channels, block_s, block_n)
    src = _probe_call(Path(path), channels)
    info = CallInfo(
        path_label=str(path),
        source_rate_hz=src.rate,
        duration_s=src.frames_16k / SAMPLE_RATE_HZ,
        frames_16k=src.frames_16k,
    )
    return info, _one_file_blocks(src, block_s, block_n)


def _open_two(
    rep: Path | None,
    customer: Path | None,
    channels: tuple[int, int] | None,
    block_s: float,
    block_n: int,
) -> tuple[CallInfo, Iterator[np.ndarray]]:
    """:func:`open_call` for a call in two mono files, the rep's and the customer's."""
    if rep is None or customer is None:
        given, missing = ("--rep", "--customer") if customer is None else ("--customer", "--rep")
        raise CoachError(
            f"{given} needs {missing} too: pass two mono files, "
            "--rep REP --customer CUSTOMER, or one stereo CALL file"
        )
    if channels is not None:
        raise CoachError(
            "--channels picks channels of one CALL file; it does not apply to --rep/--customer"
        )
    rep_src = _probe_mono(Path(rep), "--rep file")
    cust_src = _probe_mono(Path(customer), "--customer file")
    total = max(rep_src.frames_16k, cust_src.frames_16k)
    info = CallInfo(
        path_label=f"rep {rep} + customer {customer}",
        source_rate_hz=rep_src.rate,
        duration_s=total / SAMPLE_RATE_HZ,
        frames_16k=total,
    )
    return info, _two_file_blocks(rep_src, cust_src, total, block_s, block_n)


# --- probing (everything that can be checked before streaming) ---------------------


def _probe_call(path: Path, channels: tuple[int, int] | None) -> _Source:
    rate, frames, nch = _probe_file(path, "call")
    if channels is None:
        if nch == 1:
            raise CoachError(
                f"{path} is mono (1 channel): pass a stereo file (channel 0 rep, "
                "channel 1 customer) or two mono files with --rep REP --customer CUSTOMER"
            )
        if nch > 2:
            raise CoachError(
                f"{path} has {nch} channels: pass --channels REP,CUSTOMER (0-based, "
                f"0-{nch - 1}) to say which channel is the rep and which the customer"
            )
        columns: tuple[int, ...] = (0, 1)
    else:
        if len(channels) != 2:
            raise CoachError(f"--channels takes two indices, REP,CUSTOMER; got {len(channels)}")
        rep_i, cust_i = (int(c) for c in channels)
        for name, i in (("rep", rep_i), ("customer", cust_i)):
            if not 0 <= i < nch:
                raise CoachError(
                    f"--channels {rep_i},{cust_i}: {name} channel {i} is out of range; "
                    f"{path} has {nch} channel{'s' if nch != 1 else ''} (0-{nch - 1})"
                )
        if rep_i == cust_i:
            raise CoachError(
                f"--channels {rep_i},{cust_i}: the rep and the customer need different channels"
            )
        columns = (rep_i, cust_i)
    return _Source(path, "call", rate, frames, columns)


def _probe_mono(path: Path, role: str) -> _Source:
    rate, frames, nch = _probe_file(path, role)
    if nch != 1:
        flag = role.split()[0]
        raise CoachError(
            f"{flag} {path} has {nch} channels but {flag} takes a mono file; "
            "pass a stereo call as CALL instead, or export this side as mono"
        )
    return _Source(path, role, rate, frames, (0,))


def _probe_file(path: Path, role: str) -> tuple[int, int, int]:
    """Open, check and close one file; return (rate, frames, channels)."""
    if not path.exists():
        raise CoachError(f"{path}: no such file; check the path of the {role}")
    if path.is_dir():
        raise CoachError(f"{path} is a directory, not an audio file; {_FORMAT_HINT}")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise CoachError(f"cannot open {path}: {e.strerror or e}; check its permissions") from None
    try:
        f = sf.SoundFile(path)
    except (RuntimeError, TypeError, ValueError, OSError) as e:
        raise CoachError(
            f"{path} is not a readable audio file ({_reason(e)}); {_FORMAT_HINT}"
        ) from None
    with f:
        rate, frames, nch = int(f.samplerate), int(f.frames), int(f.channels)
        _check_not_truncated(f, path, rate, frames)
    if frames <= 0 or _frames_16k(frames, rate) == 0:
        raise CoachError(
            f"{path} contains no audio ({frames} samples); check the recording or export it again"
        )
    if nch < 1:
        raise CoachError(f"{path} has no channels; {_FORMAT_HINT}")
    return rate, frames, nch


def _check_not_truncated(f: sf.SoundFile, path: Path, rate: int, frames: int) -> None:
    """Catch truncated files cheaply: WAV's size log, then decode the last frame."""
    try:
        log = f.extra_info
    except (RuntimeError, AttributeError):  # pragma: no cover - very old soundfile
        log = ""
    for m in _DATA_SHOULD_BE.finditer(log):
        declared, actual = int(m.group(1)), int(m.group(2))
        if actual < declared < _PLACEHOLDER_DATA_SIZE:
            raise CoachError(
                f"{path} is truncated: its header promises {declared} bytes of audio but only "
                f"{actual} are there; copy or export the recording again"
            )
    if frames <= 0 or not f.seekable():
        return
    try:
        f.seek(frames - 1)
        got = f.read(1, dtype="float32", always_2d=True).shape[0]
    except (RuntimeError, ValueError) as e:
        raise _corrupt(path, f"cannot decode its end: {_reason(e)}") from None
    if got != 1:
        raise _corrupt(path, f"it ends before the {frames / rate:.1f} s its header promises")


def _reason(e: BaseException) -> str:
    text = str(getattr(e, "error_string", None) or str(e) or type(e).__name__)
    text = re.sub(r"^\s*error\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    return " ".join(text.split()).rstrip(".")


def _corrupt(path: Path, detail: str) -> CoachError:
    return CoachError(
        f"{path} is truncated or corrupt ({detail}); copy or export the recording again"
    )


# --- streaming -----------------------------------------------------------------------


def _one_file_blocks(src: _Source, block_s: float, block_n: int) -> Iterator[np.ndarray]:
    for block in _rechunk(_source_pieces(src, block_s), len(src.columns), src.frames_16k, block_n):
        yield _finish(block)


def _two_file_blocks(
    rep: _Source, customer: _Source, total: int, block_s: float, block_n: int
) -> Iterator[np.ndarray]:
    rep_blocks = _rechunk(_source_pieces(rep, block_s), 1, total, block_n)
    cust_blocks = _rechunk(_source_pieces(customer, block_s), 1, total, block_n)
    for a, b in zip(rep_blocks, cust_blocks, strict=True):
        yield _finish(np.concatenate((a, b), axis=0))


def _finish(block: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(block, dtype=np.float32)
    np.clip(out, -1.0, 1.0, out=out)
    return out


def _source_pieces(src: _Source, block_s: float) -> Iterator[np.ndarray]:
    """Yield (rows, m) float32 pieces at 16 kHz, exactly ``src.frames_16k`` frames in all."""
    rows = len(src.columns)
    target = src.frames_16k
    chunk = max(1, round(block_s * src.rate))
    resampler = (
        None
        if src.rate == SAMPLE_RATE_HZ
        else soxr.ResampleStream(
            src.rate, SAMPLE_RATE_HZ, rows, dtype="float32", quality=_RESAMPLE_QUALITY
        )
    )
    produced = 0

    def emit(y: np.ndarray) -> Iterator[np.ndarray]:
        """Pass on a (rows, m) piece, trimmed so the total never exceeds ``target``."""
        nonlocal produced
        take = min(y.shape[1], target - produced)
        if take > 0:
            produced += take
            yield y if take == y.shape[1] else y[:, :take]

    with _reopen(src.path) as f:
        # 16-bit sources are read as int16 and scaled here: the same values libsndfile's
        # float conversion gives (x / 32768), at a fraction of the cost.
        as_int16 = f.subtype == "PCM_16"
        cols: list[int] | None = (
            None if src.columns == tuple(range(f.channels)) else list(src.columns)
        )
        pos = 0
        while pos < src.frames:
            want = min(chunk, src.frames - pos)
            try:
                x = f.read(want, dtype="int16" if as_int16 else "float32", always_2d=True)
            except (RuntimeError, ValueError) as e:
                raise _corrupt(
                    src.path, f"decoding failed at {pos / src.rate:.1f} s: {_reason(e)}"
                ) from None
            if x.shape[0] < want:
                raise _corrupt(
                    src.path,
                    f"it ends at {(pos + x.shape[0]) / src.rate:.1f} s of the "
                    f"{src.frames / src.rate:.1f} s its header promises",
                )
            if cols is not None:
                x = x[:, cols]
            if not as_int16:
                _check_finite(x, src, pos)
            pos += want
            yield from emit(_at_16k(x, as_int16, resampler, last=pos >= src.frames))
    if produced < target:
        yield np.zeros((rows, target - produced), dtype=np.float32)


def _reopen(path: Path) -> sf.SoundFile:
    """The file probed before, opened again to stream it."""
    try:
        return sf.SoundFile(path)
    except (RuntimeError, TypeError, ValueError, OSError) as e:
        raise CoachError(
            f"{path} could not be opened again ({_reason(e)}); was it moved or changed?"
        ) from None


def _at_16k(
    x: np.ndarray, as_int16: bool, resampler: soxr.ResampleStream | None, last: bool
) -> np.ndarray:
    """One (frames, rows) chunk read from the file as a (rows, m) float32 piece at 16 kHz."""
    if resampler is None:
        y = np.empty((x.shape[1], x.shape[0]), dtype=np.float32)
        if as_int16:
            np.multiply(x.T, _INT16_SCALE, out=y)
        else:
            y[...] = x.T
        return y
    z = np.multiply(x, _INT16_SCALE) if as_int16 else np.ascontiguousarray(x, dtype=np.float32)
    return np.ascontiguousarray(resampler.resample_chunk(z, last=last).T)


def _check_finite(x: np.ndarray, src: _Source, pos: int) -> None:
    if not np.isfinite(x).all():
        bad = int(np.argmax(~np.isfinite(x).all(axis=1)))
        raise CoachError(
            f"{src.path} contains NaN/inf samples at {(pos + bad) / src.rate:.1f} s; "
            f"{_REEXPORT_HINT}"
        )


def _rechunk(
    pieces: Iterable[np.ndarray], rows: int, total: int, block_n: int
) -> Iterator[np.ndarray]:
    """Regroup (rows, m) pieces into blocks of ``block_n`` frames, ``total`` in all.

    Missing frames at the end (a shorter file) are silence; extra ones are dropped.
    """
    pending: deque[np.ndarray] = deque()
    have = 0
    emitted = 0

    def take(n: int) -> np.ndarray:
        nonlocal have
        parts: list[np.ndarray] = []
        need = n
        while need > 0 and pending:
            head = pending[0]
            if head.shape[1] <= need:
                parts.append(pending.popleft())
                need -= head.shape[1]
            else:
                parts.append(head[:, :need])
                pending[0] = head[:, need:]
                need = 0
        got = n - need
        have -= got
        if need > 0:
            parts.append(np.zeros((rows, need), dtype=np.float32))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    for piece in pieces:
        if piece.shape[1] == 0:
            continue
        pending.append(piece)
        have += piece.shape[1]
        while have >= block_n and emitted + block_n <= total:
            yield take(block_n)
            emitted += block_n
    while emitted < total:
        n = min(block_n, total - emitted)
        yield take(n)
        emitted += n


__all__ = ["SAMPLE_RATE_HZ", "CallInfo", "open_call"]
