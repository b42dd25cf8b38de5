"""The transcription stage: what to transcribe and when, and what its text changes live.

:class:`TranscriptionStage` is what ``pipeline.CallAnalyzer`` drives: it keeps
the per-side audio rings, cuts pieces (``utterance_audio``), decides what needs
transcribing and when (see its docstring), packs pieces into windows
(``packing``; whisper's encoder sees at least 15 s, ``fitted_whisper``) that are
decoded in batches (``transcribers``), collects
transcripts, and applies them: rep summaries restart the ``summarise`` count,
``deepen`` nudges quote a key phrase of the customer's story, and
:meth:`TranscriptionStage.word_stats` is what the words tell the statistics
(``utterance_text``). Transcripts never change the timeline. They stay in memory;
:meth:`TranscriptionStage.write_transcript` writes one only when the user names a
file (``--save-transcript``). Audio is never written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from coach.core.stats import WordStats
from coach.core.timeline import Timeline
from coach.core.types import NudgeKind, Side
from coach.transcription import lexicon, packing, utterance_text
from coach.transcription.transcribers import BATCH_WINDOWS, PieceResult, Transcriber
from coach.transcription.utterance_audio import (
    PAD_AFTER_MS,
    PRE_ROLL_MS,
    ClosedUtterance,
    Piece,
    UtteranceCutter,
)
from coach.transcription.utterance_text import UtteranceText

STORY_HOLD_S = 56.0
"""A customer story is held back (in memory) for at most its last 56 s of audio: a deepen
nudge comes 30 s into a story by default, and a longer story is quoted from its latest part."""
STORY_SETTLE_MS = 2_000
"""After a held piece's deepen pause, this much longer before it is let go: the floor walk
decides a little after the audio."""
SHED_LEVELS = ("all", "no-pace", "stories")
"""What the live coach transcribes, most first: everything it needs; without the customer
sample (pace, fillers, backchannel words); only customer stories (deepen quotes) and rep
utterances while the summarise count is about to run out (a recap restarts it)."""
SHED_NOTICES = {
    1: "transcription is behind: customer pace and filler words are no longer transcribed",
    2: "transcription is behind: only deepen quotes and recaps are transcribed now",
}
BEHIND_WINDOWS = 4
"""Live: more windows than this waiting (or any dropped) means transcription cannot keep up;
a flush may hand over 2-3 windows at once, which is not falling behind."""
RECAP_LEAD_MS = 5_000
"""Live: waiting rep pieces go at once when the summarise nudge is this close, so a recap
among them restarts its count before it fires (a pass takes about a second)."""
SHED_EVERY_MS = 30_000
"""Live: at most one step down per this much audio, so one slow pass does not shed twice."""
CUSTOMER_SAMPLE = 0.1
"""Share of the customer's speech transcribed for pace and fillers, stories and backchannels
included: a tenth of an hour's customer speech is still minutes of it, at far fewer passes
than all of it."""


class TranscriptionStage:
    """Cuts, schedules and applies transcripts for one call (driven by ``CallAnalyzer``).

    What gets transcribed, and when, follows what needs it:

    * rep pieces (questions, summaries, the deepen heed): all of them, packed
      several to a window; they wait until a window is full (offline: until a
      batch of windows is; live: or the oldest has waited
      ``transcribe.max_wait_s``) -- at once when the summarise count is
      ``RECAP_LEAD_MS`` from running out, since a summary restarts it;
    * a customer story (the customer holds the floor): held back in memory until
      a deepen nudge asks for its quote (live: the story so far gets one pass
      once it is long enough to earn one, ``nudges.deepen_after_story_s``, and
      its last customer segment goes on or ended that far in; the nudge waits for
      the customer's pause, which gives the pass its time);
      a story that earns none joins the sample;
    * other customer speech (pace, fillers): a sample that tops what is transcribed
      of the customer anyway (stories, backchannels) up to ``customer_sample`` of
      their speech time; short pieces (backchannels, whose words confirm them)
      always, since they ride in a pass's spare room almost for free.

    Skipped pieces are not dropped work: statistics say what they were drawn from.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        language: str = "en",
        log: Callable[[str], None] | None = None,
        customer_sample: float = CUSTOMER_SAMPLE,
        window_s: float = packing.WINDOW_S,
        shed: str = "all",
        max_wait_s: float = 30.0,
    ) -> None:
        self.transcriber = transcriber
        self.language = language
        self.log = log
        self.customer_sample = customer_sample
        self.window_s = window_s
        """Audio packed into one window (0: one piece per window)."""
        self.max_wait_ms = round(max_wait_s * 1000)
        """Pieces that can wait are packed until a window fills or the oldest waited this long."""
        self.shed = SHED_LEVELS.index(shed)
        """What is no longer transcribed (an index of ``SHED_LEVELS``); live only grows it."""
        self.notice: str | None = None
        """Said once on the panel when the live coach sheds work because it is behind."""
        self._shed_at: int | None = None
        self._dropped_seen = 0
        # whole utterances: work is packed and waits anyway, and fewer pieces pack tighter
        # no piece longer than a packing window: whisper's encoder memory grows with its input
        piece_ms = round(packing.WINDOW_S * 1000) - PRE_ROLL_MS - PAD_AFTER_MS
        self.cutters = {
            side: UtteranceCutter(side, "utterance", max_piece_ms=piece_ms) for side in Side
        }
        self.results: dict[tuple[Side, int], list[PieceResult]] = {}
        self.closing: list[ClosedUtterance] = []
        self.utterances: dict[tuple[Side, int], UtteranceText] = {}
        self.pieces_cut = 0
        self.pieces_done: list[PieceResult] = []
        self._seq = 0
        self._error_reported = False
        self._pool: list[Piece] = []  # can wait: packed when a window fills or at the latest
        self._ready: list[list[Piece]] = []  # offline: full windows, until a batch of them
        self._held: list[Piece] = []  # customer story pieces, until a deepen asks or it ends
        self._urgent: list[Piece] = []  # live: needed now
        self._skipped: list[PieceResult] = []
        self._story_sent: int | None = None  # live: the story whose pass was made
        self._customer_ms = 0  # customer speech heard
        self._sampled_ms = 0  # ... and transcribed (stories, backchannels, the sample)

    # -- driving -------------------------------------------------------------
    def audio(self, block: np.ndarray) -> None:
        """The raw block fed to the pipeline (row 0 rep, row 1 customer)."""
        for side in Side:
            self.cutters[side].append(block[int(side)])

    @property
    def now_ms(self) -> int:
        return self.cutters[Side.REP].audio_ms

    def step(self, timeline: Timeline) -> None:
        """After the VAD updated the timeline's tracks: cut, schedule, collect, apply."""
        for side in Side:
            for piece in self.cutters[side].cut(timeline.tracks[side]):
                self.pieces_cut += 1
                self._seq += 1
                self._route(_with_seq(piece, self._seq), timeline)
        self._release_stories(timeline)
        self._schedule(timeline)
        self._collect(timeline)

    def finish(self, timeline: Timeline) -> None:
        """The call is over (its timeline finished): cut the rest, wait, apply everything."""
        self.step(timeline)
        held, self._held = self._held, []
        for piece in held:
            self._sample(piece)
        self._submit(self._urgent + self._pool)
        self._urgent, self._pool = [], []
        self.transcriber.drain()
        self._collect(timeline)

    def close(self) -> None:
        self.transcriber.close()

    # -- what is needed, and when -------------------------------------------------
    def _story_start(self, timeline: Timeline) -> int | None:
        """When the customer's current hold of the floor began (None: not holding it)."""
        return timeline.floor_start_ms if timeline.holder is Side.CUSTOMER else None

    def _story_may_deepen(self, timeline: Timeline) -> bool:
        # not earlier: a story that ends just short of it would have cost a pass for nothing;
        # and a deepen nudge needs a customer segment that ends that far into the story
        start = self._story_start(timeline)
        if start is None:
            return False
        after = start + timeline.timing.deepen_after_story_ms
        ends = timeline.tracks[Side.CUSTOMER].ends
        # its last segment: still going (end None), or it ended that far in
        return self.now_ms >= after and bool(ends) and (ends[-1] is None or ends[-1] >= after)

    def _route(self, piece: Piece, timeline: Timeline) -> None:
        if piece.side is Side.REP:
            soon = timeline.summarise_due_ms - self.now_ms <= self.max_wait_ms
            if self.shed >= 2 and not soon:
                self._skipped.append(PieceResult.of(piece, skipped=True))
            else:
                self._pool.append(piece)
            return
        if self.customer_sample >= 1.0:
            self._pool.append(piece)
            return
        self._customer_ms += piece.speech_ms
        start = self._story_start(timeline)
        if start is not None and piece.start_ms >= start:
            self._held.append(piece)
            self._trim_held()
            return
        if self.shed == 0 and piece.end_ms - piece.start_ms <= timeline.timing.backchannel_max_ms:
            self._transcribe_customer([piece])  # a backchannel's words confirm it
            return
        self._sample(piece)

    def _trim_held(self) -> None:
        """Hold at most the story's last ``STORY_HOLD_S`` of audio (bounded memory)."""
        while (
            len(self._held) > 1
            and packing.packed_seconds([packing.seconds(p.audio) for p in self._held])
            > STORY_HOLD_S
        ):
            self._sample(self._held.pop(0))

    def _release_stories(self, timeline: Timeline) -> None:
        """Held pieces of a story that can no longer earn a deepen nudge go to the sample."""
        start = self._story_start(timeline)
        if (
            self.transcriber.live
            and start is not None
            and start != self._story_sent
            and self._story_may_deepen(timeline)
        ):
            # one pass for the story so far, done by the end of the pause a deepen nudge waits for
            self._story_sent = start
            story = [p for p in self._held if p.start_ms >= start]
            self._held = [p for p in self._held if p.start_ms < start]
            self._sampled_ms += sum(p.speech_ms for p in story)
            self._urgent.extend(story)
        settle = timeline.timing.deepen_pause_ms + STORY_SETTLE_MS
        keep: list[Piece] = []
        for piece in self._held:
            ongoing = start is not None and piece.start_ms >= start
            if ongoing or self.now_ms < piece.end_ms + settle:
                keep.append(piece)
            else:
                self._sample(piece)
        self._held = keep

    def _sample(self, piece: Piece) -> None:
        """Customer speech for pace and fillers: a share ``customer_sample`` of it."""
        if self.shed == 0 and self._sampled_ms < self.customer_sample * self._customer_ms:
            self._transcribe_customer([piece])
        else:
            self._skipped.append(PieceResult.of(piece, skipped=True))

    def _transcribe_customer(self, pieces: list[Piece]) -> None:
        """Customer pieces to transcribe when a pass has room: they count toward the sample."""
        self._sampled_ms += sum(p.speech_ms for p in pieces)
        self._pool.extend(pieces)

    def _keep_up(self) -> None:
        """Live: when transcription cannot keep up, stop what is least needed first."""
        if not self.transcriber.live or self.shed >= len(SHED_LEVELS) - 1:
            return
        dropped = self.transcriber.dropped
        behind = dropped > self._dropped_seen or getattr(self.transcriber, "pending", 0) > (
            BEHIND_WINDOWS
        )
        self._dropped_seen = dropped
        now = self.now_ms
        if behind and (self._shed_at is None or now - self._shed_at >= SHED_EVERY_MS):
            self.shed += 1
            self._shed_at = now
            self.notice = SHED_NOTICES[self.shed]
            if self.log is not None:
                self.log(self.notice)

    def _schedule(self, timeline: Timeline) -> None:
        now, live = self.now_ms, self.transcriber.live
        if self._urgent:
            pack, self._urgent = self._urgent, []
            self._submit(self._ride_along(pack))
        if not self._pool:
            return
        # a rep summary restarts the summarise count: have it before the count runs out
        soon = timeline.summarise_due_ms - now <= (RECAP_LEAD_MS if live else 0)
        # offline nothing waits for text, and a full window bounds the pool anyway
        waited = live and self._pool[0].end_ms + self.max_wait_ms <= now
        if soon or waited:
            pool, self._pool = self._pool, []
            self._submit(pool)
            return
        lengths = [packing.seconds(p.audio) for p in self._pool]
        full = packing.groups(lengths, self.window_s)[:-1]  # the last group may still fill up
        n = sum(len(g) for g in full)
        self._ready += [[self._pool[i] for i in g] for g in full]
        self._pool = self._pool[n:]
        # offline, full windows wait for a batch of them: decoded together they cost less
        if self._ready and (live or len(self._ready) >= BATCH_WINDOWS):
            self._submit([])

    def _ride_along(self, pack: list[Piece]) -> list[Piece]:
        """A pass is made for ``pack``: pooled pieces fill its last window's spare room."""
        groups = packing.groups([packing.seconds(p.audio) for p in pack], self.window_s)
        last = [packing.seconds(pack[i].audio) for i in groups[-1]] if groups else []
        rest: list[Piece] = []
        for piece in self._pool:
            more = [*last, packing.seconds(piece.audio)]
            if last and packing.packed_seconds(more) <= self.window_s:
                pack.append(piece)
                last = more
            else:
                rest.append(piece)
        self._pool = rest
        return pack

    def _submit(self, pieces: list[Piece]) -> None:
        """A pass for ``pieces``, packed into windows; full windows waiting go with it."""
        groups = packing.groups([packing.seconds(p.audio) for p in pieces], self.window_s)
        windows, self._ready = self._ready + [[pieces[i] for i in g] for g in groups], []
        if windows:
            self.transcriber.submit_packs(windows)

    def _collect(self, timeline: Timeline) -> None:
        skipped, self._skipped = self._skipped, []
        self._take(skipped + self.transcriber.poll())
        self._keep_up()
        error = self.transcriber.error
        if error and not self._error_reported and self.log is not None:
            self._error_reported = True
            self.log(f"transcription stopped ({error}); coaching on VAD alone")
        for side in Side:
            self.closing.extend(self.cutters[side].closed_utterances(timeline.tracks[side]))
        waiting: list[ClosedUtterance] = []
        for cu in self.closing:
            if len(self.results.get((cu.side, cu.start_ms), [])) >= cu.pieces:
                self._finalize(cu, timeline)
            else:
                waiting.append(cu)
        self.closing = waiting

    def _take(self, results: list[PieceResult]) -> None:
        for r in results:
            self.results.setdefault((r.side, r.utt_start_ms), []).append(r)
            self.pieces_done.append(r)

    def _finalize(self, cu: ClosedUtterance, timeline: Timeline) -> None:
        rs = sorted(self.results.pop((cu.side, cu.start_ms)), key=lambda r: r.start_ms)
        text = " ".join(r.text for r in rs if r.text).strip()
        # pace and fillers come from what was transcribed: skipped speech is left out
        lang = self.language
        u = UtteranceText(
            side=cu.side,
            start_ms=cu.start_ms,
            end_ms=cu.end_ms,
            text=text,
            words=lexicon.word_count(text),
            speech_ms=sum(r.speech_ms for r in rs if r.transcribed),
            pieces=len(rs),
            dropped=sum(r.dropped for r in rs),
            skipped=sum(r.skipped for r in rs),
            question=lexicon.is_question(text, lang),
            summary=lexicon.is_summary(text, lang),
            acks=lexicon.ack_words(text, lang),
            fillers=lexicon.filler_words(text, lang),
        )
        self.utterances[(cu.side, cu.start_ms)] = u
        if u.side is Side.REP and u.summary:
            timeline.resummarised(u.end_ms)

    # -- nudges ----------------------------------------------------------------
    def story_text(self, timeline: Timeline, t_ms: int) -> str:
        """What the customer said in the story that holds (or held) the floor at ``t_ms``."""
        start = None
        for change in reversed(timeline.record.floor_changes):
            if change.t_ms < t_ms and change.side is Side.CUSTOMER:
                start = change.t_ms
                break
        if start is None:
            return ""
        texts = sorted(
            (r.start_ms, r.text)
            for r in self.pieces_done
            if r.side is Side.CUSTOMER and r.text and start <= r.start_ms and r.end_ms <= t_ms
        )
        return " ".join(text for _, text in texts)

    def quote(self, kind: NudgeKind, t_ms: int, timeline: Timeline) -> str | None:
        """What a nudge firing at ``t_ms`` quotes: a ``deepen`` one, the story's key phrase.

        ``coach analyze`` transcribes the held story now; live, the story had its pass
        when it grew long enough for a deepen nudge, and the quote uses what is done.
        """
        if kind is not NudgeKind.DEEPEN:
            return None
        # live, the quote cannot wait for a pass: held pieces stay held (then sampled)
        story = [p for p in self._held + self._pool if p.side is Side.CUSTOMER]
        if (story or self._ready) and not self.transcriber.live:
            ids = {p.seq for p in story}
            self._sampled_ms += sum(p.speech_ms for p in self._held if p.side is Side.CUSTOMER)
            self._held = [p for p in self._held if p.seq not in ids]
            self._pool = [p for p in self._pool if p.seq not in ids]
            self._submit(self._ride_along(story))
            self._take(self.transcriber.poll())
        return lexicon.key_phrase(self.story_text(timeline, t_ms), self.language)

    # -- statistics and the transcript ---------------------------------------------
    def word_stats(self, timeline: Timeline) -> WordStats:
        """What the call's transcripts tell, for the statistics."""
        return utterance_text.word_stats(
            timeline,
            self.utterances,
            self.pieces_done,
            self.pieces_cut,
            self.transcriber,
            self.language,
        )

    def transcript(self) -> list[dict[str, Any]]:
        """The call's utterances with side, times (s) and text, in time order."""
        return utterance_text.transcript(self.utterances.values())

    def write_transcript(self, path: Path) -> None:
        """Write the transcript the user asked for: JSON for ``*.json``, else plain text."""
        utterance_text.write_transcript(self.transcript(), path)


def _with_seq(piece: Piece, seq: int) -> Piece:
    return replace(piece, seq=seq)
