"""Per-side speech segments, merged and known incrementally, in integer milliseconds.

The VAD (or a timeline file) reports raw speech intervals as they become final,
plus how far its output is settled. This stage applies the contract's merge rule
(speech separated by less than ``vad.merge_gap_s`` is one segment, the gap counts
as talk) and tracks how far the side's speaking status is *known*: a segment that
just ended may still be extended by speech resuming within the merge gap, so its
end is only final once the gap has passed in silence.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

NEVER = 1 << 62  # "known forever": set when the stream is finished


class SideTrack:
    """One side's merged speech segments ``[start_ms, end_ms)``.

    ``starts``/``ends`` hold every segment seen so far, in order. All but possibly
    the last are final. The last one is *tentative* while ``last_final`` is False:
    its end is ``None`` while raw speech is ongoing, or the last raw speech end
    while a gap shorter than the merge gap could still bridge to more speech.
    """

    def __init__(self, merge_gap_ms: int, utterance_gap_ms: int) -> None:
        self.merge_gap_ms = merge_gap_ms
        self.utterance_gap_ms = utterance_gap_ms
        self.starts: list[int] = []
        self.ends: list[int | None] = []
        # utterance start for each segment (an utterance joins gaps < utterance gap)
        self.utt_starts: list[int] = []
        self.last_final = True
        self.settled_ms = 0
        self.finished = False
        self._open_raw_start: int | None = None

    # -- input ---------------------------------------------------------------
    def add_speech(self, start_ms: int, end_ms: int) -> None:
        """A raw speech interval that is final (from the VAD's ``closed`` list)."""
        if end_ms <= start_ms:
            return
        if self._open_raw_start is not None and start_ms == self._open_raw_start:
            # the open interval we already know about has closed
            self._open_raw_start = None
            self.ends[-1] = max(end_ms, self._last_end_or(start_ms))
            return
        self._open_raw_start = None
        self._begin(start_ms)
        self.ends[-1] = max(end_ms, self._last_end_or(end_ms))

    def set_open(self, start_ms: int | None) -> None:
        """Raw speech in progress since ``start_ms`` (None: none in progress)."""
        if start_ms is None or start_ms == self._open_raw_start:
            return
        self._open_raw_start = start_ms
        self._begin(start_ms)
        self.ends[-1] = None

    def settle(self, settled_ms: int) -> None:
        """Everything before ``settled_ms`` has been reported."""
        self.settled_ms = max(self.settled_ms, settled_ms)
        if self.starts and not self.last_final:
            end = self.ends[-1]
            if end is not None and self.settled_ms >= end + self.merge_gap_ms:
                self.last_final = True

    def finish(self, end_ms: int) -> None:
        """The stream is over at ``end_ms``: speech in progress stops there."""
        if self.starts and self.ends[-1] is None:
            self.ends[-1] = max(end_ms, self.starts[-1])
            if self.ends[-1] == self.starts[-1]:  # a zero-length tail is no speech
                self._drop_last()
        self._open_raw_start = None
        self.last_final = True
        self.finished = True
        self.settled_ms = max(self.settled_ms, end_ms)

    def _last_end_or(self, default: int) -> int:
        end = self.ends[-1] if self.ends else None
        return default if end is None else end

    def _begin(self, start_ms: int) -> None:
        """Start raw speech at ``start_ms``: extend the last segment or open a new one."""
        if self.starts and not self.last_final:
            end = self.ends[-1]
            if end is None or start_ms - end < self.merge_gap_ms:
                return  # bridges the gap: same segment
            self.last_final = True
        if self.starts:
            prev_end = self.ends[-1]
            assert prev_end is not None
            if start_ms < prev_end:  # overlapping input: merge (the contract merges anyway)
                self.last_final = False
                return
            new_utt = start_ms - prev_end >= self.utterance_gap_ms
            self.utt_starts.append(start_ms if new_utt else self.utt_starts[-1])
        else:
            self.utt_starts.append(start_ms)
        self.starts.append(start_ms)
        self.ends.append(start_ms)
        self.last_final = False

    def _drop_last(self) -> None:
        self.starts.pop()
        self.ends.pop()
        self.utt_starts.pop()

    # -- knowledge -----------------------------------------------------------
    @property
    def known_ms(self) -> int:
        """The side's speaking status is known for every instant before this."""
        if self.finished:
            return NEVER
        if self.starts and not self.last_final:
            end = self.ends[-1]
            if end is not None:
                return end  # inside a gap that may still be bridged
        return self.settled_ms

    def final_count(self) -> int:
        return len(self.starts) if self.last_final else len(self.starts) - 1

    # -- queries (valid for instants before known_ms) --------------------------
    def speaking_at(self, t: int) -> bool:
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return False
        end = self.ends[i]
        return end is None or t < end

    def last_end_before(self, t: int) -> int | None:
        """End of the last segment that started before ``t`` (None: none, or still going)."""
        i = bisect_left(self.starts, t) - 1
        if i < 0:
            return None
        return self.ends[i]

    def silent_for(self, t: int, span_ms: int) -> bool:
        """No speech in ``[t - span_ms, t)`` and none in progress at ``t``'s left."""
        i = bisect_left(self.starts, t) - 1
        if i < 0:
            return True
        end = self.ends[i]
        return end is not None and end <= t - span_ms

    def segment_index_before(self, t: int) -> int:
        """Index of the last segment starting before ``t`` (-1 if none)."""
        return bisect_left(self.starts, t) - 1

    def utterance_end(self, i: int) -> tuple[int | None, bool]:
        """(end, closed) of the utterance holding segment ``i``.

        ``end`` is the latest known speech of it (None while speech is in progress:
        then it runs at least to ``known_ms``); ``closed`` says no more can join.
        """
        n = len(self.starts)
        j = i
        while j + 1 < n and self.utt_starts[j + 1] == self.utt_starts[i]:
            j += 1
        end = self.ends[j]
        if j + 1 < n:
            return end, True
        if end is None:
            return None, False
        final = self.last_final or j < n - 1
        closed = final and self.known_ms >= end + self.utterance_gap_ms
        return end, closed

    def extent_ms(self, end: int | None) -> int:
        """How far speech is known to reach, given ``utterance_end``'s ``end``."""
        return self.settled_ms if end is None else end  # speech in progress: up to now

    def talk_in(self, a: int, b: int) -> int:
        """Milliseconds of speech inside ``[a, b)`` (requires ``b <= known_ms``)."""
        total = 0
        i = max(0, bisect_right(self.starts, a) - 1)
        n = len(self.starts)
        while i < n and self.starts[i] < b:
            end = self.ends[i]
            e = b if end is None else min(end, b)
            s = max(self.starts[i], a)
            if e > s:
                total += e - s
            i += 1
        return total

    def segments(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for s, e in zip(self.starts, self.ends, strict=True):
            out.append((s, self.settled_ms if e is None else e))
        return out
