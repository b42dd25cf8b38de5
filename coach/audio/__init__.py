"""Audio in: call files and live devices become 16 kHz blocks for the core.

What enters is a recording on disk (any format libsndfile and the resampler read)
or the two live inputs (the microphone and what the speakers play, through
PortAudio or PulseAudio's native API); what leaves is a stream of ``(2, n)``
float32 blocks at 16 kHz, rep on row 0 and customer on row 1, ready for
:class:`coach.core.pipeline.CallAnalyzer`. ``audio_io`` reads files (``prefetch``
decodes ahead on a second core), ``devices`` lists and chooses the inputs,
``capture`` records them and ``aligner`` lays both sides on one time axis. The
streams come from ``portaudio_input`` (PortAudio, any platform) or, on
PulseAudio/PipeWire, from ``pulse_capture`` (``app_capture`` for a call app's own
streams) through the native API: ``pulse`` (the connection), ``pulse_stream`` (a
record stream, drained by the optional compiled ``_pulse_drain.c``) and
``pulse_lib`` (the ctypes bindings).
"""
