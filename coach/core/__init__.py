"""The analysis core: pure, on audio time (sample counts, never the wall clock).

What enters is two 16 kHz float32 sample streams, one per side (rep, customer), in
blocks of any size, or a speaker timeline when the audio was already segmented;
what leaves is each side's speech segments, the floor's turns, the due nudges with
the budget's verdict on each, and the ``coach.stats/1`` statistics. The stages run
in data-flow order: voice activity (``vad`` with ``vad_params`` and the webrtc
frame evidence ``vad_webrtc``; ``silero_vad``) with the mic's speaker leak gated
out (``echo``: ``echo_levels``, ``leak_detector``, ``echo_gate``, ``echo_params``),
merged segments (``segments``), the floor state machine (``timeline``, writing a
``record``) and its nudge rules (``rules``, thresholds in ``timing``), the nudge budget
(``budget``), then the statistics (``stats``, each nudge judged by ``heed``) and
what of them may leave the process (``privacy``); ``pipeline`` strings them
together for ``analyze``, ``demo`` and ``start`` alike. Nothing here opens a
device, a thread, a terminal or a file: the other subpackages are the edges that do.
"""
