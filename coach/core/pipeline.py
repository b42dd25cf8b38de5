"""The one pipeline: audio blocks → per-side VAD → timeline → nudges → stats.

``coach analyze``, ``coach demo`` and ``coach start`` all drive this class; a
whole file is just many blocks. The mic side passes the leak gate first
(coach/core/echo.py: the customer heard from laptop speakers, judged against the
loopback; `audio.echo_cancellation`), which may hold the mic back briefly at
the start of a call; `warnings` says when the setup hurts accuracy. Timeline
files (speech segments, no audio) enter one stage later through
:func:`analyze_segments`, into the same timeline code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from coach.config import Config, speech_language
from coach.core.budget import BudgetParams, Cue, NudgeBudget, decide_all
from coach.core.echo import HEADSET_WARNING, EchoParams, LeakGate
from coach.core.silero_vad import SileroParams, SileroVad
from coach.core.stats import Stats, build_stats
from coach.core.timeline import Nudge, Timeline
from coach.core.timing import Timing, ms
from coach.core.types import SAMPLE_RATE_HZ, NudgeKind, Side
from coach.core.vad import SideVad
from coach.core.vad_params import VadParams, VadUpdate, end_latency_ms, latency_bound_ms

LAZY_MAX_MS = 240
"""Longest a live loop holds audio back from the analyzer when nothing is due."""

if TYPE_CHECKING:
    from coach.transcription.stage import TranscriptionStage
    from coach.transcription.transcribers import Transcriber


Detector = SideVad | SileroVad
"""One side's speech detector: the same stream contract whatever the backend."""


@dataclass(frozen=True)
class VadSetup:
    """The configured backend: how to make a side's detector, and its timing."""

    backend: str
    webrtc: VadParams
    silero: SileroParams

    @property
    def frame_ms(self) -> int:
        """The detector's frame: where it reports anything."""
        return self.silero.frame_ms if self.backend == "silero" else self.webrtc.frame_ms

    @property
    def preemphasis(self) -> float:
        return self.silero.preemphasis if self.backend == "silero" else self.webrtc.preemphasis

    def latency_bound_ms(self) -> int:
        if self.backend == "silero":
            return self.silero.latency_bound_ms()
        return latency_bound_ms(self.webrtc)

    def end_latency_ms(self) -> int:
        if self.backend == "silero":
            return self.silero.end_latency_ms()
        return end_latency_ms(self.webrtc)

    def detector(self) -> Detector:
        if self.backend == "silero":
            return SileroVad(self.silero)
        return SideVad(self.webrtc)


def vad_setup(config: Config) -> VadSetup:
    """The speech detector ``vad.*`` asks for."""
    webrtc = VadParams(mode=config.vad.mode, frame_ms=config.vad.frame_ms)
    silero = SileroParams(
        on_threshold=config.vad.threshold,
        off_threshold=min(config.vad.hold_threshold, config.vad.threshold),
    )
    return VadSetup(config.vad.backend, webrtc, silero)


@dataclass(frozen=True)
class Heard:
    """What the two sides' detectors made of one block (:meth:`CallAnalyzer.hear`)."""

    block: np.ndarray
    """The block, ``(2, n)``, as fed."""
    rep: VadUpdate
    customer: VadUpdate


class CallAnalyzer:
    """Feed ``(2, n)`` float32 blocks at 16 kHz (row 0 rep, row 1 customer)."""

    def __init__(
        self,
        config: Config,
        on_nudge: Callable[[Nudge], None] | None = None,
        transcriber: Transcriber | None = None,
        log: Callable[[str], None] | None = None,
        budget: BudgetParams | None = None,
    ) -> None:
        self.config = config
        self.transcription: TranscriptionStage | None = None
        """Transcripts (coach/transcription/stage.py): None without a transcriber."""
        if transcriber is not None:
            # optional: its worker thread and model store load only when words are wanted
            from coach.transcription.stage import TranscriptionStage

            self.transcription = TranscriptionStage(
                transcriber,
                speech_language(config),
                log,
                shed=config.transcribe.live_work if transcriber.live else "all",
                max_wait_s=config.transcribe.max_wait_s,
            )
        timing = Timing.from_config(config)
        quote = None if self.transcription is None else self._quote  # a deepen nudge's quote
        self.timeline = Timeline(timing, on_nudge=on_nudge, on_error=log, quote=quote)
        self.budget = NudgeBudget(budget or BudgetParams.from_config(config))
        """Which due nudges reach the rep, and when (coach/core/budget.py)."""
        self._cues: list[Cue] = []
        setup = vad_setup(config)
        self.vads: dict[Side, Detector] = {side: setup.detector() for side in Side}
        mode = config.audio.echo_cancellation
        echo = EchoParams(preemphasis=setup.preemphasis)  # the VAD's units
        self.echo: LeakGate | None = None if mode == "off" else LeakGate(mode, echo)
        """The mic side's leak gate (coach/core/echo.py); None when echo_cancellation is off."""
        self.samples = 0
        self._realign: list[int] = []
        self.frame_samples = setup.frame_ms * SAMPLE_RATE_HZ // 1000
        self._lazy_samples = _lazy_step_ms(timing, setup) * SAMPLE_RATE_HZ // 1000

    @property
    def now_ms(self) -> int:
        """Audio time fed so far."""
        return self.samples * 1000 // SAMPLE_RATE_HZ

    def realign(self, at_samples: int) -> None:
        """The live capture realigned the two sides from this sample of the call on
        (a device reopened or moved): the estimates that relate one side to the
        other (the leak gate's delay and correlation) start again from there."""
        self._realign.append(at_samples)

    def feed(self, block: np.ndarray) -> list[Nudge]:
        """Process one block; return the nudges that became due."""
        nudges: list[Nudge] = []
        while self._realign:  # cut the block where the sides were realigned
            cut = self._realign[0] - self.samples
            if cut >= block.shape[1]:
                break
            if cut > 0:
                nudges += self._feed(block[:, :cut])
                block = block[:, cut:]
            self._realign.pop(0)
            if self.echo is not None:
                self.echo.forget()
        if block.shape[1] or not nudges:
            nudges += self._feed(block)
        return nudges

    def _feed(self, block: np.ndarray) -> list[Nudge]:
        return self.take(self.hear(block))

    def hear(self, block: np.ndarray) -> Heard:
        """The detectors' part of :meth:`feed`: what speech ``block`` holds.

        It reads audio only, never the timeline, so a file's blocks can be heard
        ahead of :meth:`take` (on another core), in order, with the same result.
        """
        rep, customer = block[int(Side.REP)], block[int(Side.CUSTOMER)]
        leak = None
        if self.echo is not None:  # the mic, judged against the loopback (coach/core/echo.py)
            rep, leak = self.echo.feed(rep, customer)
        return Heard(
            block, self.vads[Side.REP].feed(rep, leak), self.vads[Side.CUSTOMER].feed(customer)
        )

    def take(self, heard: Heard) -> list[Nudge]:
        """The rest of :meth:`feed`: the heard block into the timeline, words and nudges."""
        block = heard.block
        self.samples += block.shape[1]
        if self.transcription is not None:
            self.transcription.audio(block)
        for side, up in ((Side.REP, heard.rep), (Side.CUSTOMER, heard.customer)):
            self.timeline.update(side, up.closed, up.settled_ms, up.open_start_ms)
        if self.transcription is not None:  # never waits in live mode
            self.transcription.step(self.timeline)
        due = self.timeline.advance()
        self.budget.add(due)
        self._cues += self.budget.step(self.timeline)
        return due

    def take_cues(self) -> list[Cue]:
        """What the budget decided since the last call: held, shown or hidden nudges."""
        cues, self._cues = self._cues, []
        return cues

    def next_feed_samples(self) -> int:
        """When a live loop should feed next: the sample count to gather up to.

        The next VAD frame while something is due (the timeline's next instant
        has been heard or is within a frame); otherwise just past that instant,
        and at most :func:`_lazy_step_ms` ahead, so that nothing unheard yet can
        come due in between. A nudge is found at the same audio time as with
        feeding every frame, for a fraction of the calls (each has a fixed cost).
        Targets lie on the VAD's frame grid, which is where it reports anything.
        """
        frame, now = self.frame_samples, self.samples
        after_now = (now // frame + 1) * frame
        target = (now + self._lazy_samples) // frame * frame
        # the mic's leak gate may pass audio on only at its hop boundaries
        release = None if self.echo is None else self.echo.next_release_samples()
        if release is not None:
            target = min(target, -(-release // frame) * frame)
        t = _earliest(self.timeline.next_instant_ms(), self.budget.next_instant_ms(self.timeline))
        if t is not None:
            due = -(-((t + 1) * SAMPLE_RATE_HZ // 1000) // frame) * frame  # the frame just past t
            if due <= after_now and release is not None and self._rep_holds_back(t):
                return max(after_now, target)  # the rep's audio comes with the release
            target = min(target, due)
        return max(after_now, target)

    def _rep_holds_back(self, t_ms: int) -> bool:
        """Whether only the rep's side is not known as far as ``t_ms`` yet."""
        tracks = self.timeline.tracks
        return tracks[Side.REP].known_ms <= t_ms < tracks[Side.CUSTOMER].known_ms

    def _quote(self, kind: NudgeKind, t_ms: int) -> str | None:
        assert self.transcription is not None
        return self.transcription.quote(kind, t_ms, self.timeline)

    @property
    def warnings(self) -> list[str]:
        """What about the setup hurts accuracy, for the panel and the report."""
        out = [HEADSET_WARNING] if self.echo is not None and self.echo.detected else []
        if self.transcription is not None and self.transcription.notice:
            out.append(self.transcription.notice)
        return out

    def finish(self) -> list[Nudge]:
        """End of the call: flush the VADs and decide what is left."""
        if self.echo is not None:
            rep, leak = self.echo.flush()
            up = self.vads[Side.REP].feed(rep, leak)
            self.timeline.update(Side.REP, up.closed, up.settled_ms, up.open_start_ms)
        for side in Side:
            up = self.vads[side].finish()
            self.timeline.update(side, up.closed, up.settled_ms, up.open_start_ms)
        if self.transcription is not None:
            self.transcription.step(self.timeline)
        before = len(self.timeline.record.nudges)
        self.timeline.finish(self.now_ms)
        if self.transcription is not None:  # the call is over: the rest of the transcripts
            self.transcription.finish(self.timeline)
        due = self.timeline.record.nudges[before:]
        self.budget.add(due)
        self._cues += self.budget.finish(self.timeline)
        return due

    def close(self) -> None:
        """Stop the transcription worker, if any."""
        if self.transcription is not None:
            self.transcription.close()

    def call_stats(self) -> Stats:
        """The finished call's statistics: the budget's verdicts, and the words' if any."""
        words = None if self.transcription is None else self.transcription.word_stats(self.timeline)
        return build_stats(
            self.timeline,
            self.budget.nudges,
            language=self.config.coach.language,
            words=words,
            warnings=self.warnings,
        )

    def stats(self) -> dict[str, Any]:
        """The finished call's ``coach.stats/1`` object."""
        return self.call_stats().to_json()


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _lazy_step_ms(timing: Timing, vad: VadSetup) -> int:
    """How far ahead a live loop may gather audio while nothing is due (ms).

    An instant that speech not heard yet makes due lies at least the shortest
    delay any rule puts after that speech's end (a gap becoming final, a pause,
    a silence...) or its start (the backchannel limit, the acknowledge timer...).
    The VAD reports an end within ``end_latency_ms`` of it and a start within
    ``latency_bound_ms``, on its frame grid; feeding at least once per step
    after the report, and on the grid before the instant, needs step <= delay -
    latency + one frame. 0 when the configured delays are too short for it.
    (Timers on the clock alone, talk_less and summarise_every, are queued
    instants: ``Timeline.next_instant_ms`` has them.)
    """
    after_end = (
        min(
            timing.merge_gap_ms,
            timing.utterance_gap_ms,
            timing.pause_ms,
            timing.floor_gap_ms,
            timing.backchannel_max_ms,  # a handover: does the other side go on?
            timing.deepen_pause_ms,
            timing.summarise_silence_ms,
        )
        - vad.end_latency_ms()
    )
    after_start = (
        min(
            timing.backchannel_max_ms,
            timing.acknowledge_after_ms,
            timing.rep_monologue_max_ms,
        )
        - vad.latency_bound_ms()
    )
    slack = min(after_end, after_start) + vad.frame_ms
    return max(0, min(LAZY_MAX_MS, slack // vad.frame_ms * vad.frame_ms))


def analyze_segments(
    duration_s: float,
    speech: Mapping[str, Sequence[Sequence[float]]],
    config: Config,
    budget_params: BudgetParams | None = None,
) -> dict[str, Any]:
    """The timeline, statistics, nudge and budget stages on ideal speech segments."""
    timeline = Timeline(Timing.from_config(config))
    for side in Side:
        for start, end in sorted((s, e) for s, e in speech.get(side.label, [])):
            timeline.tracks[side].add_speech(ms(start), ms(end))
    timeline.finish(ms(duration_s))
    nudges = decide_all(timeline, budget_params)
    return build_stats(timeline, nudges, language=config.coach.language).to_json()
