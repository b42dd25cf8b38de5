"""The words coach knows, per language: question, summary, acknowledgement, filler, stop words.

Each :class:`Lexicon` holds one language's lists, as words and as phrases
(tuples of words, longest first; ``ANY`` matches any one word). ``lexicon``
picks one, falling back to English; ``vocabulary`` is every word of them all.
``words`` is the tokeniser they are built with, shared with ``lexicon``'s readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)


def normalize(text: str) -> str:
    """Lower case, one kind of apostrophe, single spaces."""
    return " ".join(text.replace("’", "'").replace("`", "'").lower().split())


def words(text: str) -> list[str]:
    """The words of ``text``, lower case (apostrophes and hyphens inside words kept)."""
    return WORD_RE.findall(normalize(text))


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
    """One language's words for questions, summaries, acknowledgements and fillers."""

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
        "what what's whats how how's why why's when when's where where's who who's whom whose which"
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
        [
            "tell me",
            "walk me through",
            "help me understand",
            "talk me through",
            "describe",
            "explain",
            "say more",
            "go on",
        ]
    ),
    discourse_openers=_w(
        "so and but okay ok well now alright right then also just and, oh great cool sure yeah"
    ),
    summary_phrases=_phrases(
        [
            "so what i'm hearing",
            "what i'm hearing is",
            "what i'm hearing",
            "what i hear is",
            "so what i hear",
            "so what you're saying",
            "what you're saying is",
            "so you're saying",
            "if i understand you correctly",
            "if i understood you correctly",
            "if i understand correctly",
            "if i understood correctly",
            "if i heard you correctly",
            "if i heard you right",
            "if i understand you right",
            "to summarise",
            "to summarize",
            "in summary",
            "to sum up",
            "to sum it up",
            "summing up",
            "let me summarise",
            "let me summarize",
            "let me recap",
            "to recap",
            "just to recap",
            "so to recap",
            "let me play that back",
            "let me play back",
            "let me make sure i understand",
            "let me make sure i've got this",
            "let me see if i've got this",
        ]
    ),
    ack_phrases=_phrases(
        [
            "aha",
            "a-ha",
            "mhm",
            "mm-hmm",
            "mm-hm",
            "mmhmm",
            "mhmm",
            "mm",
            "hmm",
            "uh-huh",
            "uh huh",
            "right",
            "i see",
            "okay",
            "ok",
            "yeah",
            "yes",
            "yep",
            "yup",
            "got it",
            "sure",
            "exactly",
            "true",
            "really",
            "wow",
            "interesting",
            "makes sense",
            "absolutely",
            "of course",
            "totally",
            "i understand",
            "understood",
            "gotcha",
            "fair enough",
            "oh",
        ]
    ),
    ack_canonical={
        "a-ha": "aha",
        "mm-hmm": "mhm",
        "mm-hm": "mhm",
        "mmhmm": "mhm",
        "mhmm": "mhm",
        "mm": "mhm",
        "hmm": "mhm",
        "uh huh": "uh-huh",
        "ok": "okay",
        "yep": "yes",
        "yup": "yes",
    },
    filler_phrases=_phrases(
        [
            "um",
            "umm",
            "uh",
            "uhh",
            "uhm",
            "erm",
            "er",
            "ehm",
            "you know",
            "i mean",
            "basically",
            "literally",
            "sort of",
            "kind of like",
            "like i said",
        ]
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
    subjects=_w("du ihr sie es das man wir er ich dies dieses der die den dein euer"),
    invitations=_phrases(
        [
            "erzähl mal",
            "erzähl mir",
            "erzählen sie",
            "erzählt mal",
            "erklär mal",
            "erklär mir",
            "erklären sie",
            "beschreib mal",
            "beschreiben sie",
        ]
    ),
    discourse_openers=_w("also und aber okay ok gut ja so na dann nun jetzt und, ach"),
    summary_phrases=_phrases(
        [
            "wenn ich dich richtig verstehe",
            "wenn ich sie richtig verstehe",
            "wenn ich euch richtig verstehe",
            "wenn ich das richtig verstehe",
            "wenn ich dich richtig verstanden habe",
            "wenn ich sie richtig verstanden habe",
            "wenn ich euch richtig verstanden habe",
            "wenn ich das richtig verstanden habe",
            "habe ich dich richtig verstanden",
            "habe ich sie richtig verstanden",
            "hab ich dich richtig verstanden",
            "wenn ich * richtig verstehe",
            "wenn ich * richtig verstanden habe",
            "habe ich * richtig verstanden",
            "hab ich * richtig verstanden",
            "zusammengefasst",
            "zusammenfassend",
            "um zusammenzufassen",
            "lass mich zusammenfassen",
            "lassen sie mich zusammenfassen",
            "ich fasse zusammen",
            "ich fasse mal zusammen",
            "fassen wir zusammen",
            "was ich höre ist",
            "was ich heraushöre",
            "also was ich höre",
            "du sagst also",
            "sie sagen also",
            "ihr sagt also",
        ]
    ),
    ack_phrases=_phrases(
        [
            "aha",
            "mhm",
            "hm",
            "hmm",
            "genau",
            "verstehe",
            "ich verstehe",
            "verstanden",
            "ja",
            "jaja",
            "okay",
            "ok",
            "stimmt",
            "richtig",
            "klar",
            "alles klar",
            "natürlich",
            "echt",
            "wirklich",
            "interessant",
            "ach so",
            "achso",
            "spannend",
            "super",
            "gut",
            "sicher",
            "absolut",
            "ah",
            "oh",
        ]
    ),
    ack_canonical={"hm": "mhm", "hmm": "mhm", "ok": "okay", "achso": "ach so", "jaja": "ja"},
    filler_phrases=_phrases(
        [
            "äh",
            "ähm",
            "öh",
            "öhm",
            "eh",
            "ehm",
            "sozusagen",
            "quasi",
            "irgendwie",
            "halt",
            "im prinzip",
            "weißt du",
        ]
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
