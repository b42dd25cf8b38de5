"""Read who-spoke-when timelines: coach segments JSON and RTTM.

Both become the same thing: per-side speech intervals in seconds and a call
duration, which enter the pipeline at the timeline stage (no audio, no VAD).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.errors import CoachError

SIDES = ("rep", "customer")


@dataclass
class SpeechTimeline:
    """Speech segments per side read from a timeline file, with what was fixed up."""

    duration_s: float
    speech: dict[str, list[tuple[float, float]]]
    notes: list[str] = field(default_factory=list)  # what was fixed up, for stderr


def read_timeline(
    path: Path,
    *,
    rep_speaker: str | None = None,
    duration_s: float | None = None,
) -> SpeechTimeline:
    """Parse a timeline file (format by content: RTTM lines or a JSON object)."""
    text = _read_text(path)
    if not text.strip():
        raise CoachError(f"{path} is empty: give a coach segments JSON file or an RTTM file")
    if text.lstrip().startswith(("{", "[")):
        if rep_speaker is not None:
            raise CoachError("--rep-speaker applies to RTTM files; a segments JSON names its sides")
        timeline = _from_json(path, text, duration_s)
    else:
        timeline = _from_rttm(path, text, rep_speaker, duration_s)
    return _checked(path, timeline)


def _read_text(path: Path) -> str:
    if not path.exists():
        raise CoachError(f"{path} does not exist: check the timeline file's path")
    if path.is_dir():
        raise CoachError(f"{path} is a directory: give a timeline file (segments JSON or RTTM)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CoachError(
            f"{path} is not a text file: give a segments JSON or an RTTM file"
        ) from None
    except OSError as e:
        raise CoachError(f"cannot read {path}: {e.strerror}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CoachError(f"{where} is {value!r}, not a number of seconds")
    return float(value)


def _from_json(path: Path, text: str, duration_s: float | None) -> SpeechTimeline:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CoachError(
            f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    shape = '{"duration_s": …, "speech": {"rep": [[start, end], …], "customer": [...]}}'
    if not isinstance(data, dict) or not isinstance(data.get("speech"), dict):
        raise CoachError(f'{path} has no "speech" object: expected {shape}')
    speech: dict[str, list[tuple[float, float]]] = {}
    for side in SIDES:
        items = data["speech"].get(side, [])
        if not isinstance(items, list):
            raise CoachError(f"{path}: speech.{side} must be a list of [start, end] pairs")
        out = []
        for k, item in enumerate(items):
            where = f"{path}: speech.{side}[{k}]"
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise CoachError(f"{where} is {item!r}, not a [start, end] pair")
            out.append((_number(item[0], where + " start"), _number(item[1], where + " end")))
        speech[side] = out
    unknown = sorted(set(data["speech"]) - set(SIDES))
    if unknown:
        raise CoachError(
            f"{path}: unknown side(s) {', '.join(map(repr, unknown))} in speech: "
            'use "rep" and "customer"'
        )
    if duration_s is None:
        if "duration_s" in data:
            duration_s = _number(data["duration_s"], f"{path}: duration_s")
        else:
            duration_s = max((e for segs in speech.values() for _, e in segs), default=0.0)
    return SpeechTimeline(duration_s, speech)


def _from_rttm(
    path: Path, text: str, rep_speaker: str | None, duration_s: float | None
) -> SpeechTimeline:
    turns: list[tuple[str, float, float]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] != "SPEAKER":
            if fields and not fields[0].startswith("#") and fields[0] not in _RTTM_OTHER_TYPES:
                raise CoachError(
                    f"{path} line {n} is neither RTTM nor JSON: expected "
                    "'SPEAKER <file> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>'"
                )
            continue
        if len(fields) < 8:
            raise CoachError(
                f"{path} line {n}: an RTTM SPEAKER line needs at least 8 fields, "
                f"found {len(fields)}"
            )
        try:
            start, dur = float(fields[3]), float(fields[4])
        except ValueError:
            raise CoachError(
                f"{path} line {n}: start {fields[3]!r} and duration {fields[4]!r} must be numbers"
            ) from None
        if not (math.isfinite(start) and math.isfinite(dur)):
            raise CoachError(f"{path} line {n}: start and duration must be finite numbers")
        if start < 0 or dur < 0:
            raise CoachError(
                f"{path} line {n}: negative start or duration ({start}, {dur}): fix the file"
            )
        turns.append((fields[7], start, start + dur))
    if not turns:
        raise CoachError(f"{path} has no SPEAKER lines: nothing to analyse")
    speakers = sorted({s for s, _, _ in turns})
    if rep_speaker is None:
        raise CoachError(
            f"say which speaker is the rep: --rep-speaker NAME (speakers in {path}: "
            + ", ".join(speakers)
            + ")"
        )
    if rep_speaker not in speakers:
        raise CoachError(
            f"speaker {rep_speaker!r} is not in {path}: the speakers are " + ", ".join(speakers)
        )
    speech: dict[str, list[tuple[float, float]]] = {"rep": [], "customer": []}
    for speaker, start, end in turns:
        speech["rep" if speaker == rep_speaker else "customer"].append((start, end))
    if duration_s is None:
        duration_s = max(e for _, _, e in turns)
    return SpeechTimeline(duration_s, speech)


_RTTM_OTHER_TYPES = {
    "SPKR-INFO",
    "SEGMENT",
    "NOSCORE",
    "NO_RT_METADATA",
    "LEXEME",
    "NON-LEX",
    "NON-SPEECH",
    "FILLER",
    "IP",
    "EDIT",
    "SU",
    "CB",
    "A/P",
}


def _checked(path: Path, timeline: SpeechTimeline) -> SpeechTimeline:
    if not math.isfinite(timeline.duration_s) or timeline.duration_s <= 0:
        raise CoachError(f"{path}: the call duration must be positive, got {timeline.duration_s}")
    for side, segs in timeline.speech.items():
        for start, end in segs:
            if start < 0:
                raise CoachError(f"{path}: {side} segment [{start}, {end}] starts before 0")
            if end < start:
                raise CoachError(
                    f"{path}: {side} segment [{start}, {end}] is reversed (end before start)"
                )
            if end > timeline.duration_s + 1e-9:
                raise CoachError(
                    f"{path}: {side} segment [{start}, {end}] ends after the call "
                    f"({timeline.duration_s} s): fix duration_s or pass --duration"
                )
        merged: list[tuple[float, float]] = []
        overlaps = 0
        for start, end in sorted(segs):
            if merged and start < merged[-1][1]:
                overlaps += 1
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        if overlaps:
            timeline.notes.append(f"{overlaps} overlapping {side} segment(s) in {path} were merged")
        timeline.speech[side] = merged
    if not any(timeline.speech.values()):
        timeline.notes.append(f"{path} has no speech at all")
    return timeline
