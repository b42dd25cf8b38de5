"""Words, optional and in memory only: the speech the core found becomes text.

What enters is each side's merged speech segments with the audio they cover;
what leaves is one transcript per utterance, which never changes the timeline but
adds question and summary counts, confirms backchannel words and supplies the
``deepen`` quote. ``utterance_audio`` cuts the pieces out of a bounded ring,
``packing`` lays several short pieces into one whisper window, ``transcribe``
holds the model store, the engine, its worker and the pipeline stage, and
``lexicon`` reads the text (questions, summaries, acknowledgement and filler
words, English and German).
"""
