"""What the call's transcripts add: per-utterance text, the statistics, the transcript.

:class:`UtteranceText` is one utterance's transcript as the stage finalises it;
:func:`word_stats` is what the words tell the statistics (``questions``,
``summaries``, ``pace_wpm``, ``filler_words``, backchannel words and the deepen
verdicts); :func:`transcript` and :func:`write_transcript` give the words back
only when the user asks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.core.stats import WordStats
from coach.core.timeline import Timeline
from coach.core.types import Side
from coach.errors import CoachError
from coach.transcription.transcribers import PieceResult, Transcriber


@dataclass
class UtteranceText:
    """The text of one utterance, on the call's time axis."""

    side: Side
    start_ms: int
    end_ms: int
    text: str
    words: int
    speech_ms: int
    pieces: int
    dropped: int
    skipped: int
    question: bool
    summary: bool
    acks: list[str] = field(default_factory=list)
    fillers: Counter[str] = field(default_factory=Counter)

    @property
    def complete(self) -> bool:
        return self.dropped == 0


def word_stats(
    timeline: Timeline,
    utterances: Mapping[tuple[Side, int], UtteranceText],
    pieces: list[PieceResult],
    pieces_cut: int,
    transcriber: Transcriber,
    language: str,
) -> WordStats:
    """What the call's transcripts tell, for the statistics (``coach.core.stats``)."""
    utts = sorted(utterances.values(), key=lambda u: (u.start_ms, int(u.side)))
    rep = [u for u in utts if u.side is Side.REP]
    pace: dict[str, float | None] = {}
    fillers: dict[str, dict[str, int]] = {}
    confirmed: dict[str, int] = {}
    ack_counts: dict[str, dict[str, int]] = {}
    for side in Side:
        mine = [u for u in utts if u.side is side]
        n_words = sum(u.words for u in mine)
        minutes = sum(u.speech_ms for u in mine) / 60000
        pace[side.label] = round(n_words / minutes, 1) if n_words and minutes else None
        total: Counter[str] = Counter()
        for u in mine:
            total.update(u.fillers)
        fillers[side.label] = dict(total.most_common())
        acks: Counter[str] = Counter()
        confirmed[side.label] = 0
        for t in timeline.record.backchannels[side]:
            b = utterances.get((side, t))
            if b is not None and b.acks:
                confirmed[side.label] += 1
                acks.update(b.acks)
        ack_counts[side.label] = dict(acks.most_common())
    return WordStats(
        questions=sum(u.question for u in rep),
        summaries=sum(u.summary for u in rep),
        pace_wpm=pace,
        filler_words=fillers,
        backchannel_words=confirmed,
        backchannel_word_counts=ack_counts,
        deepen_heeded=deepen_verdicts(timeline, utterances),
        transcription=_what_was_transcribed(
            pieces, pieces_cut, len(utterances), transcriber, language
        ),
    )


def _what_was_transcribed(
    pieces: list[PieceResult],
    pieces_cut: int,
    utterances: int,
    transcriber: Transcriber,
    language: str,
) -> dict[str, Any]:
    """The stats' ``transcription`` object: the model, and how much of the call it read."""
    done = [r for r in pieces if r.transcribed]
    compute = sum(r.compute_s for r in done)
    audio_s = sum(r.end_ms - r.start_ms for r in done) / 1000
    customer = [r for r in pieces if r.side is Side.CUSTOMER]
    customer_ms = sum(r.speech_ms for r in customer)
    return {
        "model": transcriber.name,
        "language": language,
        "mode": "live" if transcriber.live else "analyze",
        "utterances": utterances,
        "pieces": pieces_cut,
        "dropped": sum(r.dropped for r in pieces),
        "skipped": sum(r.skipped for r in pieces),
        "passes": transcriber.passes,
        "customer_speech_transcribed": round(
            sum(r.speech_ms for r in customer if r.transcribed) / customer_ms, 3
        )
        if customer_ms
        else None,
        "real_time_factor": round(compute / audio_s, 3) if audio_s else None,
    }


def deepen_verdicts(
    timeline: Timeline, utterances: Mapping[tuple[Side, int], UtteranceText]
) -> dict[int, bool]:
    """Each deepen nudge's time (ms) -> heeded: the rep took the floor *with a question*."""
    window = timeline.timing.heed_window_ms
    changes = timeline.record.floor_changes
    rep = timeline.tracks[Side.REP]
    verdicts: dict[int, bool] = {}
    for n in timeline.record.nudges:
        if n.kind != "deepen":
            continue
        a, b = n.t_ms, n.t_ms + window
        takes = [c.t_ms for c in changes if a < c.t_ms <= b and c.side is Side.REP]
        before = [c for c in changes if c.t_ms <= a]
        if before and before[-1].side is Side.REP:
            takes.insert(0, before[-1].t_ms)
        heeded = False
        for tf in takes:
            i = rep.segment_index_before(tf + 1)
            u = utterances.get((Side.REP, rep.utt_starts[i])) if i >= 0 else None
            # not transcribed (dropped): taking the floor is all we can tell
            if u is None or not u.complete or u.question:
                heeded = True
                break
        verdicts[n.t_ms] = heeded
    return verdicts


def transcript(utterances: Iterable[UtteranceText]) -> list[dict[str, Any]]:
    """The call's utterances with side, times (s) and text, in time order."""
    utts = sorted(
        (u for u in utterances if u.skipped < u.pieces),  # not all skipped
        key=lambda u: (u.start_ms, int(u.side)),
    )
    return [
        {
            "side": u.side.label,
            "start": round(u.start_ms / 1000, 3),
            "end": round(u.end_ms / 1000, 3),
            "text": u.text,
            **({"incomplete": True} if not u.complete else {}),
        }
        for u in utts
    ]


def write_transcript(lines: list[dict[str, Any]], path: Path) -> None:
    """Write the transcript the user asked for: JSON for ``*.json``, else plain text."""
    try:
        if path.suffix.lower() == ".json":
            body = (
                json.dumps(
                    {"schema": "coach.transcript/1", "utterances": lines},
                    ensure_ascii=False,
                    indent=1,
                )
                + "\n"
            )
        else:
            body = "".join(
                f"[{_clock(u['start'])} – {_clock(u['end'])}] {u['side']}: {u['text']}\n"
                for u in lines
            )
        path.write_text(body, encoding="utf-8")
    except OSError as e:
        raise CoachError(f"cannot write the transcript to {path}: {e.strerror or e}") from None


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:05.2f}"
