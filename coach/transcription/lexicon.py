"""What a transcript says, in English and German: pure functions over plain text.

Used on the transcripts of single utterances (faster-whisper output, with its
punctuation), and testable with plain strings:

* :func:`is_question` -- punctuation ("…?"), or a sentence opening with a
  question word followed by a verb ("what is…", "how many…", "wie viele…"),
  or verb-first with a subject ("do you…", "hast du…"), or an invitation to
  talk ("tell me…", "erzähl mal…").
* :func:`is_summary` -- a recap phrase anywhere in the utterance ("so what I'm
  hearing…", "to summarise…", "if I understand you correctly…", "wenn ich
  dich richtig verstehe…", "zusammengefasst…").
* :func:`ack_words` -- acknowledgement words ("aha", "mhm", "right", "I see",
  "genau", "verstehe"): they confirm that a short utterance was a backchannel.
* :func:`filler_words` -- "um", "uh", "you know"… / "äh", "ähm", "sozusagen"…
* :func:`key_phrase` -- a salient phrase of a customer story for the
  ``deepen`` nudge ("migration timeline"): runs of words between stop words,
  scored by repetition and length.

Languages are ``"en"`` and ``"de"``; anything else falls back to English.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…])$")
_BREAK = re.compile(r"[.!?…,;:()\"“”„«»—–]| - ")


def normalize(text: str) -> str:
    """Lower case, one kind of apostrophe, single spaces."""
    return " ".join(text.replace("’", "'").replace("`", "'").lower().split())


def words(text: str) -> list[str]:
    """The words of ``text``, lower case (apostrophes and hyphens inside words kept)."""
    return _WORD.findall(normalize(text))


def sentences(text: str) -> list[str]:
    """``text`` split after ``.``, ``!``, ``?`` and ``…`` (each keeps its punctuation)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s and s.strip()]


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


ANY = "*"
"""In a phrase, any one word: whisper hears the pronoun of "wenn ich Sie richtig verstehe"
in espeak German as "mich", "nie" or "mir" (measured for this project)."""


def _phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(w for tok in phrase.split() for w in ([ANY] if tok == ANY else words(tok)))


def _phrases(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Phrases as word tuples, longest first (so "i see" wins over "i"); ``ANY`` is a wildcard."""
    out = {_phrase_words(p) for p in items}
    return tuple(sorted((p for p in out if p), key=len, reverse=True))


@dataclass(frozen=True)
class Lexicon:
    language: str
    question_words: frozenset[str]
    """Open the sentence of a question ("what", "how", "warum")."""
    question_followers: frozenset[str]
    """After a question word they make it a question ("is", "do", "many"; "ist", "viele")."""
    verb_openers: frozenset[str]
    """Verb-first questions: one of these, then a subject ("do you", "hast du")."""
    subjects: frozenset[str]
    invitations: tuple[tuple[str, ...], ...]
    """Imperatives that ask the other side to talk ("tell me", "erzähl mal")."""
    discourse_openers: frozenset[str]
    """Skipped at the start of a sentence: "so", "and", "okay"; "also", "und"."""
    summary_phrases: tuple[tuple[str, ...], ...]
    ack_phrases: tuple[tuple[str, ...], ...]
    ack_canonical: dict[str, str]
    filler_phrases: tuple[tuple[str, ...], ...]
    stop_words: frozenset[str]
    lowercase_first: bool = True
    """Display a sentence-initial word of a key phrase in lower case (English, not German)."""
    verb_endings: tuple[str, ...] = ()
    """After a question word, a word with one of these endings reads as the finite verb
    (German V2: "wer entscheidet…", "wann kommst…"); participles ("ge…t") excluded."""


# ---------------------------------------------------------------------------- English

_EN_STOP = """
a about above across actually after afterwards again against ago ah all almost alone along
already also although always am among amongst an and another any anybody anyhow anyone
anything anyway anyways anywhere are aren't around as ask asked asking at away back
bad basically be became because become becomes been before began being below beside
besides best better between big bit both but by call called can can't cannot could couldn't
day days did didn't do does doesn't doing don't done down due during each easy eight either
else elsewhere end enough especially etc even ever every everybody everyone everything
everywhere exactly except fact far feel feels felt few fifteen fifty find fine first five
for former formerly forty four from front full further get gets getting give given gives
go goes going gone gonna good got gotta great had hadn't half happen happened has hasn't have
haven't having he he'd he'll he's hello hence her here here's hers herself hey hi him
himself his honestly how however hundred i i'd i'll i'm i've ie if in indeed instead into
is isn't it it'd it'll it's its itself just keep keeps kind know known knows last later
least less let let's like likely little look looking looks lot lots made make makes making
many may maybe me mean meant means meanwhile might mine more moreover most mostly much must
my myself namely need needed needs neither never nevertheless new next nice nine no nobody
none nor not nothing now nowhere number of off often oh ok okay old on once one ones only
onto or other others otherwise our ours ourselves out over own part particular per perhaps
please point pretty probably put quite rather re really right said same saw say saying says
second see seem seemed seems seen seven several shall she she'd she'll she's should shouldn't
show side since six sixty so some somebody somehow someone something sometime sometimes
somewhat somewhere sort still stuff such sure take taken takes talk talked talking tell ten
than thank thanks that that's the their theirs them themselves then thence there there's
thereafter thereby therefore therein thereupon these they they'd they'll they're they've
thing things think thinking third thirty this those though thought three through throughout
thru thus time times to today together told too took toward towards tried tries truly try
trying twelve twenty two uh um under unless until up upon us use used uses using usually
very via want wanted wants was wasn't way ways we we'd we'll we're we've well went were
weren't what what's whatever when whence whenever where where's whereafter whereas whereby
wherein whereupon wherever whether which while whither who who's whoever whole whom whose
why will with within without won't work worked works would wouldn't yeah year years yes yet
you you'd you'll you're you've your yours yourself yourselves yep nope hmm mhm aha um-hmm
mm-hmm uh-huh lately super totally literally
"""

EN = Lexicon(
    language="en",
    question_words=_w(
        "what what's whats how how's why why's when when's where where's who who's whom "
        "whose which"
    ),
    question_followers=_w(
        "is are was were do does did can could would will should shall has have had "
        "am may might must isn't aren't wasn't weren't don't doesn't didn't can't couldn't "
        "wouldn't won't shouldn't haven't hasn't many much long often far soon big "
        "kind sort exactly else about happens happened made makes brought led"
    ),
    verb_openers=_w(
        "do does did is are was were can could would will should shall has have had "
        "may might isn't aren't don't doesn't didn't can't couldn't wouldn't won't "
        "shouldn't haven't hasn't"
    ),
    subjects=_w(
        "you your we our i it that this there they he she the a an any anyone anything "
        "someone something everyone y'all"
    ),
    invitations=_phrases(
        ["tell me", "walk me through", "help me understand", "talk me through",
         "describe", "explain", "say more", "go on"]
    ),
    discourse_openers=_w(
        "so and but okay ok well now alright right then also just and, oh "
        "great cool sure yeah"
    ),
    summary_phrases=_phrases(
        [
            "so what i'm hearing", "what i'm hearing is", "what i'm hearing",
            "what i hear is", "so what i hear", "so what you're saying", "what you're saying is",
            "so you're saying", "if i understand you correctly", "if i understood you correctly",
            "if i understand correctly", "if i understood correctly", "if i heard you correctly",
            "if i heard you right", "if i understand you right", "to summarise", "to summarize",
            "in summary", "to sum up", "to sum it up", "summing up", "let me summarise",
            "let me summarize", "let me recap", "to recap", "just to recap", "so to recap",
            "let me play that back", "let me play back", "let me make sure i understand",
            "let me make sure i've got this", "let me see if i've got this",
        ]
    ),
    ack_phrases=_phrases(
        [
            "aha", "a-ha", "mhm", "mm-hmm", "mm-hm", "mmhmm", "mhmm", "mm", "hmm", "uh-huh",
            "uh huh", "right", "i see", "okay", "ok", "yeah", "yes", "yep", "yup", "got it",
            "sure", "exactly", "true", "really", "wow", "interesting", "makes sense",
            "absolutely", "of course", "totally", "i understand", "understood", "gotcha",
            "fair enough", "oh",
        ]
    ),
    ack_canonical={
        "a-ha": "aha", "mm-hmm": "mhm", "mm-hm": "mhm", "mmhmm": "mhm", "mhmm": "mhm",
        "mm": "mhm", "hmm": "mhm", "uh huh": "uh-huh", "ok": "okay", "yep": "yes",
        "yup": "yes",
    },
    filler_phrases=_phrases(
        ["um", "umm", "uh", "uhh", "uhm", "erm", "er", "ehm", "you know", "i mean",
         "basically", "literally", "sort of", "kind of like", "like i said"]
    ),
    stop_words=_w(_EN_STOP),
    lowercase_first=True,
)

# ---------------------------------------------------------------------------- German

_DE_STOP = """
aber ach alle allem allen aller alles als also am an ander andere anderem anderen anderer
anderes anders auch auf aus außer bei beim bereits besonders bin bis bisher bist bitte
bloß da dabei dadurch dafür dagegen daher dahin damals damit danach dann daran darauf
daraus darf darfst darin darum darunter das dass davon davor dazu dein deine deinem deinen
deiner deines dem den denen denn dennoch der deren derer des deshalb dessen dich die dies
diese diesem diesen dieser dieses dir doch dort du durch eben ebenso eh eigentlich ein eine
einem einen einer eines einfach einig einige einigem einigen einiger einiges einmal er es
etwa etwas euch euer eure eurem euren eurer eures falls fast für gab ganz gar gegen gehabt
geht gemacht genau gerade gern gesagt gewesen gibt ging gleich gut gute guten habe haben
habt halt hallo hast hat hatte hatten hätte hätten her heute hier hin hinter ich ihm ihn
ihnen ihr ihre ihrem ihren ihrer ihres im immer in indem ins irgendwie ist ja jede jedem
jeden jeder jedes jedoch jemand jetzt kam kann kannst kaum kein keine keinem keinen keiner
keines klar können könnt könnte könnten lass lassen leider machen macht mal man manche
manchem manchen mancher manches mehr mein meine meinem meinen meiner meines meinst meint
mich mir mit muss musst müssen müsste nach nachdem naja natürlich neben nein nicht nichts
noch nun nur ob oder ohne okay ok recht richtig sagen sagt schon sehr sein seine seinem
seinen seiner seines seit selbst sich sie sind so sogar solche solchem solchen solcher
solches soll sollen sollte sollten sondern sozusagen quasi sowie über um und uns unser
unsere unserem unseren unserer unseres unter viel viele vielen vieles vielleicht vom von
vor wahrscheinlich während wann war waren warst warum was weil weiter welche welchem
welchen welcher welches wenn wer werde werden werdet weshalb wie wieder wieso will wir wird
wirklich wirst wo wollen wollte wollten worden wurde wurden würde würden zu zum zur zwar
zwischen äh ähm öhm hm mhm aha genau stimmt echt total super ziemlich eins zwei drei vier
fünf sechs sieben acht neun zehn jahr jahre jahren tag tage zeit mal sachen sache ding
dinge denke glaube finde weiß wissen gehen kommen kommt geworden ne nee joa jo
"""

DE = Lexicon(
    language="de",
    question_words=_w(
        "was wie warum wieso weshalb weswegen wann wo woher wohin wer wen wem wessen welche "
        "welcher welches welchen welchem wozu womit wofür worüber woran worauf wodurch "
        "inwiefern inwieweit wieviel wieviele"
    ),
    question_followers=_w(
        "ist sind war waren hast habt haben hat hatte hatten kann kannst können könnt "
        "könnte könnten würde würdest würden wird werden wirst soll sollen sollte sollten "
        "muss müssen musst gibt gab machst macht machen denkst denkt denken meinst meint "
        "meinen siehst seht sehen läuft laufen geht gehen heißt bedeutet braucht brauchst "
        "brauchen nutzt nutzen verwendet verwenden viel viele lange oft genau sieht "
        "stellt stellst stellen passiert"
    ),
    verb_openers=_w(
        "ist sind war waren hast habt haben hat hatte hattet hattest kann kannst können "
        "könnt könnte könntest könnten würde würdest würden wird werden wirst soll sollen "
        "sollte solltest sollten muss müssen musst gibt gab machst macht machen denkst "
        "denkt denken meinst meint meinen siehst seht sehen nutzt nutzen nutzen verwendet "
        "verwendest verwenden brauchst braucht brauchen wäre wären weißt wisst wissen "
        "darf darfst dürfen möchtest möchten willst wollt wollen planst plant planen "
        "arbeitet arbeitest arbeiten"
    ),
    subjects=_w(
        "du ihr sie es das man wir er ich dies dieses der die den dein euer"
    ),
    invitations=_phrases(
        ["erzähl mal", "erzähl mir", "erzählen sie", "erzählt mal", "erklär mal",
         "erklär mir", "erklären sie", "beschreib mal", "beschreiben sie"]
    ),
    discourse_openers=_w(
        "also und aber okay ok gut ja so na dann nun jetzt und, ach"
    ),
    summary_phrases=_phrases(
        [
            "wenn ich dich richtig verstehe", "wenn ich sie richtig verstehe",
            "wenn ich euch richtig verstehe", "wenn ich das richtig verstehe",
            "wenn ich dich richtig verstanden habe", "wenn ich sie richtig verstanden habe",
            "wenn ich euch richtig verstanden habe", "wenn ich das richtig verstanden habe",
            "habe ich dich richtig verstanden", "habe ich sie richtig verstanden",
            "hab ich dich richtig verstanden", "wenn ich * richtig verstehe",
            "wenn ich * richtig verstanden habe", "habe ich * richtig verstanden",
            "hab ich * richtig verstanden", "zusammengefasst", "zusammenfassend",
            "um zusammenzufassen", "lass mich zusammenfassen", "lassen sie mich zusammenfassen",
            "ich fasse zusammen", "ich fasse mal zusammen", "fassen wir zusammen",
            "was ich höre ist", "was ich heraushöre", "also was ich höre", "du sagst also",
            "sie sagen also", "ihr sagt also",
        ]
    ),
    ack_phrases=_phrases(
        [
            "aha", "mhm", "hm", "hmm", "genau", "verstehe", "ich verstehe", "verstanden",
            "ja", "jaja", "okay", "ok", "stimmt", "richtig", "klar", "alles klar",
            "natürlich", "echt", "wirklich", "interessant", "ach so", "achso", "spannend",
            "super", "gut", "sicher", "absolut", "ah", "oh",
        ]
    ),
    ack_canonical={"hm": "mhm", "hmm": "mhm", "ok": "okay", "achso": "ach so", "jaja": "ja"},
    filler_phrases=_phrases(
        ["äh", "ähm", "öh", "öhm", "eh", "ehm", "sozusagen", "quasi", "irgendwie", "halt",
         "im prinzip", "weißt du"]
    ),
    stop_words=_w(_DE_STOP),
    lowercase_first=False,
    verb_endings=("t", "st", "en"),
)

LEXICONS: dict[str, Lexicon] = {"en": EN, "de": DE}


def lexicon(language: str) -> Lexicon:
    """The lexicon for ``language`` ("en", "de"; others fall back to English)."""
    return LEXICONS.get(language.split("-")[0].lower(), EN)


def vocabulary() -> frozenset[str]:
    """Every word of the built-in lexicons, all languages: words coach knows of itself
    (the labels it may count by), as opposed to words it only heard in a call."""
    out: set[str] = set()
    for lex in LEXICONS.values():
        for value in vars(lex).values():
            items = value.items() if isinstance(value, dict) else value
            if isinstance(value, (frozenset, tuple, dict)):
                for item in items:
                    parts = item if isinstance(item, tuple) else (item,)
                    out.update(w for part in parts for w in words(str(part)))
    return frozenset(out)


# ---------------------------------------------------------------------------- matching


def _find(ws: list[str], phrases: tuple[tuple[str, ...], ...]) -> list[tuple[int, tuple[str, ...]]]:
    """Non-overlapping occurrences (start index, phrase), longest phrase first at each spot."""
    out: list[tuple[int, tuple[str, ...]]] = []
    i = 0
    while i < len(ws):
        for p in phrases:
            if _matches(ws, i, p):
                out.append((i, p))
                i += len(p)
                break
        else:
            i += 1
    return out


def _matches(ws: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    got = ws[i : i + len(phrase)]
    return len(got) == len(phrase) and all(p in (w, ANY) for p, w in zip(phrase, got, strict=True))


def _opening(ws: list[str], lex: Lexicon) -> list[str]:
    i = 0
    while i < len(ws) - 1 and ws[i] in lex.discourse_openers:
        i += 1
    return ws[i:]


def sentence_is_question(sentence: str, language: str = "en") -> bool:
    """One sentence: ends with "?", or opens like a question.

    A question word followed by a verb ("what is…", "how many…", "wer
    entscheidet…") or an invitation ("tell me…") counts whatever the punctuation;
    verb-first with a subject ("do you…", "hast du…") only when the sentence is
    not closed by "." or "!" (so "Do it now." is not a question).
    """
    s = sentence.strip().rstrip("\"'”»)")
    if not s:
        return False
    if s.endswith("?"):
        return True
    lex = lexicon(language)
    ws = _opening(words(s), lex)
    if not ws:
        return False
    first = ws[0]
    nxt = ws[1] if len(ws) > 1 else ""
    if first in lex.question_words:
        # "what is…", "how many…"; but not "what we did was…"; "what's…" alone is enough
        if "'" in first or nxt in lex.question_followers:
            return True
        return (
            bool(lex.verb_endings)
            and nxt not in lex.subjects
            and not nxt.startswith("ge")
            and nxt.endswith(lex.verb_endings)
        )
    if first in lex.verb_openers and nxt in lex.subjects:
        return not s.endswith((".", "!"))
    return any(tuple(ws[: len(p)]) == p for p in lex.invitations)


def is_question(text: str, language: str = "en") -> bool:
    """Is any sentence of this utterance a question?"""
    return any(sentence_is_question(s, language) for s in sentences(text))


def question_count(text: str, language: str = "en") -> int:
    """Question sentences in ``text``."""
    return sum(sentence_is_question(s, language) for s in sentences(text))


def is_summary(text: str, language: str = "en") -> bool:
    """Does this utterance recap ("so what I'm hearing…", "zusammengefasst…")?"""
    return bool(_find(words(text), lexicon(language).summary_phrases))


def ack_words(text: str, language: str = "en") -> list[str]:
    """Acknowledgement words in ``text``, canonical ("mm-hmm" → "mhm")."""
    lex = lexicon(language)
    return [
        lex.ack_canonical.get(" ".join(p), " ".join(p))
        for _, p in _find(words(text), lex.ack_phrases)
    ]


def is_acknowledgement(text: str, language: str = "en") -> bool:
    """Is this short utterance an acknowledgement ("Mm-hmm.", "I see.", "Genau.")?"""
    return bool(ack_words(text, language))


def filler_words(text: str, language: str = "en") -> Counter[str]:
    """Filler words and their counts ("um": 2, "you know": 1)."""
    lex = lexicon(language)
    return Counter(" ".join(p) for _, p in _find(words(text), lex.filler_phrases))


def word_count(text: str) -> int:
    return len(words(text))


# ---------------------------------------------------------------------------- key phrases


@dataclass(frozen=True)
class _Candidate:
    key: tuple[str, ...]
    surface: str
    position: int  # order of occurrence in the story


def _is_content(key: str, lex: Lexicon) -> bool:
    if key in lex.stop_words or len(key) < 2:
        return False
    if "'" in key:  # "customer's": judge the word itself
        return _is_content(key.split("'")[0], lex)
    return True


def _runs(text: str, lex: Lexicon) -> list[list[tuple[str, str, bool]]]:
    """Runs of content words between stop words and punctuation.

    Each word is (key, surface, sentence_initial).
    """
    runs: list[list[tuple[str, str, bool]]] = []
    for sentence in sentences(text):
        initial = True
        for chunk in _BREAK.split(sentence.replace("’", "'")):
            run: list[tuple[str, str, bool]] = []
            for m in _WORD.finditer(chunk):
                surface = m.group(0)
                key = surface.lower()
                if _is_content(key, lex):
                    run.append((key, surface, initial))
                elif run:
                    runs.append(run)
                    run = []
                initial = False
            if run:
                runs.append(run)
    return runs


def _stem(key: str) -> str:
    """Fold simple plurals so "migrations" and "migration" count together."""
    if len(key) > 4 and key.endswith("s") and not key.endswith("ss"):
        return key[:-1]
    return key


def key_phrase(text: str, language: str = "en", max_words: int = 3) -> str | None:
    """The most salient phrase of a story, or None when it has no content words.

    Candidates are the 1..``max_words``-word n-grams inside runs of content words
    (split at stop words and punctuation). Score: occurrences × (1 + (words - 1) / 2),
    plus a tenth of the words' frequencies in the story -- so what the customer
    repeated wins, and among equals the longer, more specific phrase; ties go to
    the later one (the most recent topic is the natural one to ask about). A
    phrase made of digits alone is never chosen.
    """
    lex = lexicon(language)
    runs = _runs(text, lex)
    if not runs:
        return None
    freq: Counter[str] = Counter(_stem(k) for run in runs for k, _, _ in run)
    occurrences: Counter[tuple[str, ...]] = Counter()
    last: dict[tuple[str, ...], _Candidate] = {}
    position = 0
    for run in runs:
        for n in range(1, max_words + 1):
            for i in range(len(run) - n + 1):
                gram = run[i : i + n]
                key = tuple(_stem(k) for k, _, _ in gram)
                if all(k.isdigit() for k in key):
                    continue
                occurrences[key] += 1
                surface_words = [s for _, s, _ in gram]
                if (
                    lex.lowercase_first
                    and gram[0][2]
                    and not surface_words[0].isupper()
                ):
                    surface_words[0] = surface_words[0][:1].lower() + surface_words[0][1:]
                position += 1
                prev = last.get(key)
                # keep the surface of a non-initial occurrence when there is one
                if prev is None or not gram[0][2] or prev.surface == " ".join(surface_words):
                    last[key] = _Candidate(key, " ".join(surface_words), position)
                else:
                    last[key] = _Candidate(key, prev.surface, position)

    def score(c: _Candidate) -> tuple[float, int]:
        occ = occurrences[c.key]
        return (occ * (1 + (len(c.key) - 1) / 2) + sum(freq[k] for k in c.key) / 10, c.position)

    best = max(last.values(), key=score)
    return best.surface
