"""Audio in: call files and live devices become 16 kHz blocks for the core.

What enters is a recording on disk (any format libsndfile and the resampler read)
or the two live inputs (the microphone and what the speakers play, through
PortAudio or PulseAudio's native API); what leaves is a stream of ``(2, n)``
float32 blocks at 16 kHz, rep on row 0 and customer on row 1, ready for
:class:`coach.core.pipeline.CallAnalyzer`. ``audio_io`` reads files (``prefetch``
decodes ahead on a second core), ``devices`` lists and chooses the inputs,
``capture`` records them, and ``pulse``/``pulse_capture`` talk to PulseAudio (with
the optional compiled drain in ``_pulse_drain.c``).
"""
