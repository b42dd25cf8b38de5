"""Words, optional and in memory only: the speech the core found becomes text.

What enters is each side's merged speech segments with the audio they cover;
what leaves is one transcript per utterance, which never changes the timeline but
adds question and summary counts, confirms backchannel words and supplies the
``deepen`` quote. ``utterance_audio`` cuts the pieces out of a bounded ring,
``packing`` lays several short pieces into one whisper window, ``model_store``
finds and checks the models, ``engine`` runs faster-whisper (its encoder fitted to
the audio by ``fitted_whisper``), ``transcribers`` run
its passes in the caller's thread or a worker, ``stage`` decides what is
transcribed when, ``utterance_text`` turns the texts into statistics and the
transcript, and ``lexicon`` reads the text (questions, summaries,
acknowledgement and filler words, key phrases) with the English and German
lists of ``word_lists``.
"""
