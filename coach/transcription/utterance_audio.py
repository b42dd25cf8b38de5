"""Cut the audio of VAD-gated utterances out of the stream, per side, in memory.

Each side keeps a bounded ring of its most recent 16 kHz audio
(:class:`AudioRing`). An :class:`UtteranceCutter` watches that side's merged
speech segments (``segments.SideTrack``) and cuts *pieces* for transcription:

* ``"utterance"`` mode (``coach analyze``): a piece is a whole utterance, cut
  once it is closed (no more speech can join it);
* ``"segment"`` mode (the live daemon): a piece is cut as soon as a segment is
  final (``vad.merge_gap_s`` of silence after it), so its transcript arrives
  about ``turns.utterance_gap_s - vad.merge_gap_s`` earlier; the utterance's
  text is the concatenation of its pieces.

In both modes a long utterance is cut at segment boundaries into pieces of at
most ``max_piece_ms`` (the stage's: one packing window, pads included), and a single segment
longer than that (continuous speech, music) is cut hard. So the audio waiting
to be cut never exceeds about ``max_piece_ms`` plus the time a segment takes to
become final, and the ring (``ring_s``) bounds memory whatever the call length.
Audio never leaves memory: pieces are float32 arrays handed to the transcriber.

Each utterance's first piece starts ``PRE_ROLL_MS`` before the VAD's start,
read back from the ring (never into the previous piece): a VAD decides on
speech a frame or more after its soft onset ("wh…", "h…"), and whisper given a
clipped first word drops or mishears it -- and with it what makes a question a
question.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import numpy as np

from coach.core.segments import SideTrack
from coach.core.types import SAMPLE_RATE_HZ, Side

_PER_MS = SAMPLE_RATE_HZ // 1000
PRE_ROLL_MS = 250
"""Audio kept before the VAD's start of an utterance: cut at the onset, whisper loses the
first sound and with it a question's shape, and more silence than this gains nothing."""
PAD_AFTER_MS = 200
"""Audio kept after the VAD's end of a piece: its last sound trails off below the VAD."""


class AudioRing:
    """The most recent ``capacity`` samples of one mono stream, by absolute sample index."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._buf = np.zeros(capacity, dtype=np.float32)
        self.total = 0  # samples written since the start of the stream

    def append(self, x: np.ndarray) -> None:
        n = len(x)
        if n > self.capacity:  # only the newest ``capacity`` samples can stay
            self.total += n - self.capacity
            x, n = x[n - self.capacity :], self.capacity
        pos = self.total % self.capacity
        first = min(n, self.capacity - pos)
        self._buf[pos : pos + first] = x[:first]
        if first < n:
            self._buf[: n - first] = x[first:]
        self.total += n

    @property
    def oldest(self) -> int:
        """The oldest sample index still held."""
        return max(0, self.total - self.capacity)

    def read(self, start: int, end: int) -> np.ndarray:
        """A copy of samples ``[start, end)``, clipped to what is still held."""
        start, end = max(start, self.oldest), min(end, self.total)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        a, b = start % self.capacity, end % self.capacity
        if a < b or (b == 0 and end - start == self.capacity - a):
            return self._buf[a : a + (end - start)].copy()
        return np.concatenate([self._buf[a:], self._buf[:b]])


@dataclass(frozen=True)
class Piece:
    """Audio of (part of) one utterance, ready to transcribe."""

    side: Side
    utt_start_ms: int
    start_ms: int
    end_ms: int
    speech_ms: int
    """Speech inside ``[start_ms, end_ms)`` (merged segments): for words per minute."""
    audio: np.ndarray = field(repr=False)
    seq: int = 0
    """Order of cutting, over both sides."""
    clipped: bool = False
    """Part of the audio had already left the ring (should not happen)."""


@dataclass(frozen=True)
class ClosedUtterance:
    """An utterance the VAD has closed: its side, span and how many pieces it gave."""

    side: Side
    start_ms: int
    end_ms: int
    pieces: int
    """How many pieces it was cut into."""


class UtteranceCutter:
    """Cuts one side's pieces as its segments become final; see the module doc."""

    def __init__(
        self,
        side: Side,
        mode: str = "utterance",
        max_piece_ms: int = 25_000,
        pad_before_ms: int = PRE_ROLL_MS,
        pad_after_ms: int = PAD_AFTER_MS,
        ring_s: float = 60.0,
    ) -> None:
        if mode not in ("utterance", "segment"):
            raise ValueError(f"mode must be 'utterance' or 'segment', not {mode!r}")
        self.side = side
        self.mode = mode
        self.max_piece_ms = max_piece_ms
        self.pad_before_ms = pad_before_ms
        self.pad_after_ms = pad_after_ms
        self.ring = AudioRing(int(ring_s * SAMPLE_RATE_HZ))
        self.next_seg = 0  # first segment not wholly cut yet
        self.cut_ms = 0  # audio before this has been cut (or was silence)
        self._pieces_per_utt: dict[int, int] = {}  # utterance start -> pieces cut so far

    def append(self, samples: np.ndarray) -> None:
        self.ring.append(samples)

    @property
    def audio_ms(self) -> int:
        return self.ring.total // _PER_MS

    def _piece(
        self, track: SideTrack, utt: int, start: int, end: int, pad_start: bool, pad_end: bool
    ) -> Piece:
        a = start - (min(self.pad_before_ms, max(0, start - self.cut_ms)) if pad_start else 0)
        b = end + (self.pad_after_ms if pad_end else 0)
        b = min(b, self.audio_ms)
        audio = self.ring.read(a * _PER_MS, b * _PER_MS)
        clipped = len(audio) < (b - a) * _PER_MS
        self.cut_ms = end
        self._pieces_per_utt[utt] = self._pieces_per_utt.get(utt, 0) + 1
        return Piece(self.side, utt, start, end, track.talk_in(start, end), audio, clipped=clipped)

    def cut(self, track: SideTrack) -> list[Piece]:
        """The pieces that can be cut now (call after each update of ``track``)."""
        out: list[Piece] = []
        n, final = len(track.starts), track.final_count()
        limit = self.max_piece_ms
        while self.next_seg < n:
            i = self.next_seg
            utt = track.utt_starts[i]
            start = max(track.starts[i], self.cut_ms)
            pad_start = start == track.starts[i]
            end_i = track.ends[i]
            extent_i = track.extent_ms(end_i) if end_i is None else end_i
            if extent_i - start > limit:  # one segment longer than a piece: cut hard
                out.append(self._piece(track, utt, start, start + limit, pad_start, False))
                continue
            if i >= final:
                break  # the segment may still grow
            # the final segments i..j of this utterance that fit in one piece
            j = i
            while (
                j + 1 < final
                and track.utt_starts[j + 1] == utt
                and _end(track, j + 1) - start <= limit
            ):
                j += 1
            nxt_same = j + 1 < n and track.utt_starts[j + 1] == utt
            if self.mode == "segment":
                ready = True
            elif nxt_same:
                # the utterance goes on: cut now if the next segment cannot fit
                nxt_end = track.ends[j + 1]
                extent = track.extent_ms(nxt_end) if nxt_end is None else nxt_end
                ready = extent - start > limit
            else:
                ready = track.utterance_end(i)[1]
            if not ready:
                break
            end = _end(track, j)
            out.append(self._piece(track, utt, start, end, pad_start, True))
            self.next_seg = j + 1
        return out

    def closed_utterances(self, track: SideTrack) -> list[ClosedUtterance]:
        """Utterances that are closed and wholly cut, each reported once."""
        out: list[ClosedUtterance] = []
        for utt in list(self._pieces_per_utt):
            i = bisect_left(track.starts, utt)
            if i >= len(track.starts) or track.starts[i] != utt:
                continue  # cannot happen: an utterance starts with a segment
            end, closed = track.utterance_end(i)
            if not closed or end is None:
                continue
            last = i
            while last + 1 < len(track.starts) and track.utt_starts[last + 1] == utt:
                last += 1
            if self.next_seg <= last:
                continue  # its last segment is not cut yet
            out.append(ClosedUtterance(self.side, utt, end, self._pieces_per_utt.pop(utt)))
        return out


def _end(track: SideTrack, i: int) -> int:
    end = track.ends[i]
    assert end is not None  # final segments have ends
    return end
