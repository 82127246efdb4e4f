"""Responsiveness: what kind of detail a question asks for, and whether an answer gives it.

A sentence can be in a passage and still not answer the question: "How much is the
Ministry of Justice paying OpenAI?" answered with a true sentence about data residency.
The sentence check cannot see that; this can, for the questions where the wording says
what an answer must contain:

    how much does X cost / pay / spend / invest;  an amount of money ("£9 million", "$2.5bn",
      what was X worth / valued at; what budget     "2.2% of GDP")
    what percentage / share / proportion           a share ("40%", "a third", "half")
    how many; what number of                       a number ("2,500", "22", "five")
    how much (otherwise); by how much; what        a figure of any kind ("40%", "1.7", "€20m")
      savings / size / maximum
    when / what year(s) / by what date             a date or a time ("2026", "June", "two years")
    who wrote / leads / said ...; which person     a name the question does not already give

A date or a year ("on 12 May 2025", "in 2024"), a section's number, or a number the
question itself gives ("a 10% rise" for "how many jobs would a 10% rise create?") is not
the count or figure asked for.

An answer that lacks it is a decline that says what the documents do give ("The documents
give no figure for this. The closest they come: ..."), which a policymaker can use.

A question that joins names ("What savings have Microsoft and Meta reported?") needs
each of them: `each_named` finds them and the question asked of each alone, `left_out`
those an answer says nothing of though its passages name them (the assistant asks of
each on its own). A question for several things ("Which governments ...?", `asks_for_list`)
answered from one passage is asked again of the others of its document, and what that
adds is kept only if it names something new (`names_added`). A question in several parts
whose answer lacks the detail a part asks for ("..., and how many staff will get
them?") has that part asked alone (`asked_parts`).

Not done: questions whose wording does not say what they want ("What about Scotland?");
their answers are judged only by the sentence check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|"
    r"trillion|dozen|dozens|several|half|third|quarter"
)
_DIGIT = re.compile(r"\d")
_MONEY = re.compile(
    r"[£$€¥]\s?\d|\\\$\s?\d|\d[\d,.]*\s*(?:bn|m|k)\b|\b(?:million|billion|trillion|thousand|"
    r"pounds?|dollars?|euros?|GBP|USD|EUR)\b",
    re.I,
)
_PERCENT = re.compile(r"\d\s*%|\d\s*per\s?cent\b|\d\s*percent\b", re.I)
_SHARE = re.compile(
    r"\d\s*%|\bper\s?cent\b|\bpercent\b|\b(?:half|third|thirds|quarter|quarters|fifth|"
    r"tenth|most|majority|minority|all|none)\b",
    re.I,
)
# A number that only labels something ("Proposal 3", "section 5.1") counts nothing.
_LABEL_NUMBER = re.compile(
    r"\b(?:proposals?|sections?|chapters?|figures?|tables?|recommendations?|pages?|p\.|"
    r"annex|appendix|article|articles|pillars?|steps?|phase|tier|level|version|v)\s*\d[\d.]*",
    re.I,
)
_COUNT = re.compile(rf"\d|\b(?:{_NUMBER_WORDS}|a few|many|no)\b", re.I)
# a figure stated, not a vague "several" or "hundreds"
_VAGUE = {"several", "hundreds", "thousands", "millions", "billions", "dozens"}
_FIGURE_WORDS = "|".join(w for w in _NUMBER_WORDS.split("|") if w not in _VAGUE)
_FIGURE = re.compile(
    rf"\d|\b(?:{_FIGURE_WORDS}|thirds|quarters|double|doubled|tripled|halved|per\s?cent|"
    r"percent)\b",
    re.I,
)
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|"
    r"December"
)
_DAYS = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|weekdays?|weekends?"
_TIME = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:{_MONTHS}|{_DAYS})\b|\b(?:{_NUMBER_WORDS}|\d+)\s+"
    r"(?:years?|months?|weeks?|days?|decades?|hours?)\b|\b\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|"
    r"p\.m\.)|\b(?:century|decade|currently|already|now|today|tomorrow|daily|weekly|monthly|"
    r"annually|yearly|morning|afternoon|evening|noon|midnight|o'clock)\b",
    re.I,
)
_NAME = re.compile(r"\b[A-Z][\w'’&@.-]*[a-zA-Z]")
_MONTH = rf"(?:{_MONTHS}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?(?!\d)(?:\s*[-–]\s*\d{1,2}(?:st|nd|rd|th)?(?!\d))?"
_CALENDAR = re.compile(rf"{_MONTH}|{_DAYS}")  # a month or a day: no one's name
_DATE = re.compile(  # "12 May 2025", "12-13 May", "May 12, 2025", "May 2025", "12/05/2025", "2025"
    rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|\b{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?|"
    rf"\b{_MONTH}\s+\d{{4}}\b|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}\b|"
    r"\b(?:19|20)\d\d\b(?!\s+[a-z]+s\b)",  # a year, not "2030 jobs"
    re.I,
)
_NUMBER = re.compile(r"(?<![\w-])(?:\d[\d,.]*\d|\d)(?![\w-])")  # not GPT-4's
_MARKERS = re.compile(r"\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")  # "[2]", "[1, 3]": no words

_ASKS = [
    # (kind, what is missing when the answer lacks it, the question's wording)
    (
        "amount",
        "figure",
        re.compile(
            r"\bhow much\b.*\b(?:cost|costs|costing|pay|pays|paying|paid|spend|spends|spent|"
            r"spending|invest|invests|invested|investing|worth|fund|funds|funded|funding|"
            r"budget|money|charge|charged|price|add|adds|added|contribute|contributes|save|saves|"
            r"raise|raised|generate|generates|lose|loses)\b|"
            r"\bhow much (?:money|funding|investment)\b|"
            r"\bwhat(?:['’]s| is| was| were| are| will be)? (?:the )?(?:\w+ )?(?:cost|price|"
            r"budget|value|valuation|fine|fines|fee|fees|salary|revenue|turnover)\b|"
            r"\bwhat(?:['’]s| is| was| were| are| did| does)? .*\b(?:worth|valued at|paying)\b|"
            r"\bat what (?:valuation|price|cost)\b|"
            r"\bhow (?:expensive|costly)\b|\bwhat (?:did|does|do|will|would|could|might) .*"
            r"(?<!\bthe )(?<!\ba )(?<!\ban )(?<!\bits )(?<!\btheir )(?<!\bof )(?<!\bto )"
            r"(?<!\babout )(?<!\bcut )(?<!\breduce )(?<!\blower )cost\b(?!-|\s+of\b)",
            re.I,
        ),
    ),
    (
        "share",
        "figure",
        re.compile(
            r"\bwhat (?:percentage|percent|share|proportion|fraction)\b|"
            r"\bhow (?:large|big) (?:a )?(?:share|proportion|percentage)\b",
            re.I,
        ),
    ),
    ("count", "number", re.compile(r"\bhow many\b|\bwhat (?:is the )?number of\b", re.I)),
    (
        "quantity",
        "figure",
        re.compile(
            # not "how much control / say / weight": a degree, not a figure
            r"\bhow much\b(?! (?:control|influence|say|power|autonomy|independence|freedom|"
            r"sovereignty|choice|flexibility|trust|risk|emphasis|weight|attention|priority|"
            r"support|credit|sense|difference|leeway|room)\b)|"
            r"\bwhat (?:savings|size|scale|total|maximum|minimum)\b|"
            r"\bwhat (?:is|was|are|were) the (?:size|scale|total|maximum|minimum|largest|"
            r"biggest|highest|lowest|smallest)\b|\bhow (?:large|big)\b(?! (?:a|an)\b)|"
            r"\bhow far\b.*\b(?:narrowed|fallen|fell|risen|rose|grown|grew|shrunk|shrank|"
            r"dropped|increased|decreased|closed|widened)\b",
            re.I,
        ),
    ),
    (
        "time",
        "date",
        re.compile(
            r"^\s*when\b|\b(?:what|which) (?:years?|dates?|months?|days?|time)\b|\bby when\b|"
            r"\bhow long\b|\bwhat is the (?:deadline|timeline|timescale)\b|"
            r"[,;:]\s*when\b|\band when\b",
            re.I,
        ),
    ),
    (
        "name",
        "name",
        re.compile(
            r"\bwho (?:is|was|are|were) (?:the )?(?:director|author|authors|head|chair|minister|"
            r"chief|ceo|secretary|lead|leader|founder|president|editor|spokesperson)\b|"
            r"\bwho (?:wrote|authored|said|leads|led|runs|heads|chairs|signed|announced|founded|"
            r"funded|published|commissioned)\b|\bwhich (?:person|official|minister|minister's|"
            r"company|companies|firm|firms|organi[sz]ations?)\b|\bname (?:of|the)\b|"
            r"\bwhat is the name\b",
            re.I,
        ),
    ),
]


@dataclass(frozen=True)
class Asked:
    kind: str  # amount, share, count, quantity, time, name
    missing: str  # the word for what a decline says is missing: figure, number, date, name


def asked_for(question: str) -> Asked | None:
    """The kind of detail the question's wording requires, if it says."""
    for kind, missing, pattern in _ASKS:
        if pattern.search(question):
            return Asked(kind, missing)
    return None


def gives(asked: Asked, answer: str, question: str = "") -> bool:
    """Whether the answer contains the kind of detail asked for."""
    text = _MARKERS.sub(" ", answer)
    if asked.kind == "amount":  # or a share of one ("2.2% of GDP")
        return bool(_MONEY.search(text) or _PERCENT.search(text))
    if asked.kind == "share":
        return bool(_SHARE.search(text))
    if asked.kind in ("count", "quantity"):
        # a label's number, a date, or a number the question gives is no count: "How many
        # experts came to the workshop on 12 May 2025?" is not answered by "on May 12, 2025"
        bare = _DATE.sub(" ", _LABEL_NUMBER.sub(" ", text))
        for number in set(_NUMBER.findall(question)):  # but "all 50" answers "of the 50"
            bare = re.sub(
                rf"(?<!\ball )(?<!\beach of the )(?<![\w.,-]){re.escape(number)}(?!\d|[.,]\d)",
                " ",
                bare,
                flags=re.I,
            )
        if asked.kind == "count":
            return bool(_COUNT.search(bare))
        return bool(_FIGURE.search(bare) or _MONEY.search(bare))
    if asked.kind == "time":
        return bool(_TIME.search(text))
    if asked.kind == "name":
        asked_words = {w.lower() for w in re.findall(r"[\w'’&@.-]+", question)}
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            names = [m.group(0) for m in _NAME.finditer(sentence)]
            if sentence[:1].isupper() and names and sentence.startswith(names[0]):
                names = names[1:]  # a capital that only opens the sentence
            names = [n for n in names if not _CALENDAR.fullmatch(n)]
            if any(n.lower().rstrip(".") not in asked_words for n in names):
                return True
        return False
    return bool(_DIGIT.search(text))


# Where a question in several parts opens its next one: a question word after "and",
# "but", a semicolon or a question mark (", and how many ...", "; when did ...", "? Who
# ..."), not a clause after a bare comma (", when the rollout is complete", ", which was
# built in 2024").
_NEXT_PART = re.compile(
    r"(?:,?\s+(?:and|but)\s+|;\s*|\?\s+)(?=(?:how|what|which|who|whom|whose|when|where|why)\b)",
    re.I,
)
_ASKING = re.compile(
    r"^(?:what|which|how|why|who|whom|whose|when|where|does|do|did|is|are|was|were|can|"
    r"could|should|will|would|has|have|had)\b",
    re.I,
)


def question_parts(question: str) -> list[str]:
    """The parts of a question asked in several ("Who wrote the report, and when did it
    come out?": "Who wrote the report", "when did it come out?"); the question alone
    when it is one, or opened by a phrase ("Under the partnership, how many ...?")."""
    pieces = _NEXT_PART.split(question.strip())
    return pieces if _ASKING.match(pieces[0]) else [question.strip()]


def asked_parts(question: str) -> list[tuple[str, Asked]]:
    """The parts of a question in several parts that ask for a detail (`asked_for`), each
    as a question with the detail it asks for: "Who wrote the report, and when did it
    come out?" gives "Who wrote the report?" (a name) and "When did it come out?" (a
    date). A small model answers one part and stops; a part whose detail the answer
    lacks is then asked alone, followed by the part it refers back to ("How much funding
    does it have? (It follows the question: What is the UK Sovereign AI Unit?)"): alone,
    "it" could be any passage's subject (the EU's budget was given), and with the other
    part first the model answers that part again and stops. [] for a question in one part
    (`question_parts`), or one whose parts ask for the same kind of detail; a part of
    fewer than three words ("and when?") is not asked alone, it says too little."""
    pieces = [_as_question(piece) for piece in question_parts(question)]
    if len(pieces) < 2:
        return []
    parts: list[tuple[str, Asked]] = []
    for before, piece in zip(["", *pieces], pieces, strict=False):
        if len(piece.split()) >= 3 and (asked := asked_for(piece)):
            if before and _BACK.search(piece):
                piece = f"{piece} (It follows the question: {before})"
            parts.append((piece, asked))
    kinds = [asked.kind for _, asked in parts]
    return parts if len(set(kinds)) == len(kinds) else []


def _as_question(piece: str) -> str:
    piece = piece.strip().rstrip("?.! ")
    return f"{piece[0].upper()}{piece[1:]}?" if piece else ""


# A word that refers back to what an earlier part of the question names.
_BACK = re.compile(r"\b(?:it|its|they|them|their|he|him|his|she|her)\b", re.I)

_HINTS = {
    "amount": "the amount of money",
    "share": "the percentage or share",
    "count": "the number",
    "quantity": "the figure",
    "time": "the date or time",
    "name": "the name",
}


def hint(asked: Asked | None) -> str:
    """A reminder added to the question in the prompt: what the answer must state."""
    return f" (Give {_HINTS[asked.kind]} the sources state.)" if asked else ""


def decline_text(asked: Asked | None) -> str:
    """The opening of a decline that names what is missing."""
    if asked is None:
        return "The documents do not answer this."
    return f"The documents give no {asked.missing} for this."


# Names the question joins ("Microsoft and Meta", "by Meta and by Microsoft", "GPT-4,
# Gemini Ultra and Llama"): each a run of capitalised words or of words with a digit (a
# full stop inside a name, not at its end: "... and Meta." is "Meta"; but an initialism's
# last one is its own, "U.S.").
_NAME_RUN = (  # an initialism keeps its last full stop: "the U.S. and China"
    r"(?:(?:[A-Z]\.){2,}(?!\w)|[A-Z][\w’'&-]*(?:\.[\w’'&-]+)*|\d[\w.-]*[A-Za-z][\w-]*)"
    r"(?:\s+[A-Z0-9][\w’'&-]*(?:\.[\w’'&-]+)*)*"
)
_JOIN = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|vs\.?|versus)\s+)(?:by\s+|the\s+)?"
_COORDINATION = re.compile(rf"{_NAME_RUN}(?:{_JOIN}{_NAME_RUN})+")
# words that open a question or a request, not a name: "Do ITIF and Demos ...", "Compare
# Microsoft and Meta ...", "What's ..."
_OPENING = re.compile(
    r"^(?:(?:do|does|did|are|is|was|were|has|have|had|how|what|which|who|whom|whose|when|"
    r"where|why|can|could|would|will|should|according|both|in|on|for|from|per|by|beyond|"
    r"besides|apart|aside|across|between|the|a|an|compare|contrast|list|name|summari[sz]e|"
    r"explain|describe|give|show|tell)\b(?:['’]s)?\s*)+",
    re.I,
)
# a phrase that opens with a preposition before a comma introduces the question, it is
# not one of the names joined: "In January, Microsoft and Meta ...", "In the UK, ..."
_INTRODUCING = re.compile(
    r"\b(?:in|on|for|from|per|by|to|after|before|since|under|within|among|across|at)"
    r"(?:\s+(?:the|a|an))?\s*$",
    re.I,
)
_SET_ASIDE = re.compile(
    r"\b(?:apart from|aside from|besides|beyond|other than|except|excluding|as well as)"
    r"\s+(?:[\w’'-]+\s+){0,4}$",
    re.I,
)
# a question on something the names do together: asked of each alone it means another thing
_TOGETHER = re.compile(
    r"\b(?:agree\w*|sign\w*|together|jointly|joint|combined|between them|in common|"
    r"partnership|deal|each other|one another)\b",
    re.I,
)


@dataclass(frozen=True)
class Part:
    """One of the names a question joins, and the question asked of it alone."""

    name: str
    question: str


def each_named(question: str, is_document: Callable[[str], bool]) -> list[Part]:
    """The names the question joins with "and", "or" or commas, when two or more of them
    are not documents (a question that names documents is answered document by document
    already), each with the question asked of it alone: "What savings have Microsoft and
    Meta reported ...?" -> "What savings have Meta reported ...?". [] otherwise: for names
    the question sets aside ("Apart from ChatGPT Enterprise and UK data residency, what
    else ...?"), relates ("between OpenAI and the UK") or asks about together ("What did
    the UK and France agree?"). A document or an introducing phrase before a comma ("In
    January, ...", "According to ITIF, ...") stays in each part's question."""
    if _TOGETHER.search(question):
        return []
    for match in _COORDINATION.finditer(question):
        before = question[: match.start()]
        if _SET_ASIDE.search(before) or re.search(r"\bbetween\s+(?:the\s+)?$", before, re.I):
            continue
        # each piece between the joins; the first one before a comma may introduce
        text, base = match.group(0), match.start()
        joins = list(re.finditer(_JOIN, text))
        starts, ends = [0, *(j.end() for j in joins)], [*(j.start() for j in joins), len(text)]
        introduced = "," in joins[0].group(0)
        pieces: list[tuple[int, int, str]] = []
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            opening = _OPENING.match(text[a:b])
            if i == 0 and introduced and (opening or _INTRODUCING.search(before)):
                continue  # "In January, ...": an introduction, not a name
            a, b = base + a + (opening.end() if opening else 0), base + b
            name = question[a:b].strip(" ,")
            if name and not is_document(name):
                pieces.append((a, b, name))
            elif pieces:
                break  # a document after the names ends them
        if len(pieces) < 2:
            continue
        a, b = pieces[0][0], pieces[-1][1]
        return [Part(n, f"{question[:a]}{n}{question[b:]}") for _, _, n in pieces]
    return []


def left_out(parts: Sequence[Part], answer: str, passages: str) -> list[Part]:
    """The parts an answer says nothing of though the passages name them (a question on
    what Microsoft and Meta saved, answered for Microsoft alone, or with every sentence
    withheld)."""
    from .grounding import unmentioned  # its names are read as the sentence check reads them

    words = {p: [w.lower() for w in re.findall(r"[\w’'&-]+", p.name)] for p in parts}

    def said(part: Part, text: str) -> bool:
        missing = unmentioned(f"Of {part.name}", text)  # "Of": a name that opens is one
        own = words[part]
        others = {w for p in parts if p != part for w in words[p]}
        # a person by surname ("Starmer" for "Keir Starmer"), unless the rest of the name
        # is another's too ("Digital Europe" does not say "Horizon Europe")
        return not missing or (
            len(own) > 1 and set(missing) <= {own[0]} and not set(own[1:]) <= others
        )

    return [p for p in parts if said(p, passages) and not said(p, answer)]


# A question for several things: "Which governments does Demos describe ...?", "What
# open tools has Singapore put out?", "What are the main risks ...?", "What are
# Singapore's open tools?", "Can you list the ...": a plural noun after "which" or "what"
# (up to three words before it), then a verb, a preposition or the end ("What makes
# this hard?" and "What does it say?" ask for one thing; so do "What analysis ...?",
# "What works ...?", singular nouns and verbs that end in s).
_AUXILIARY = r"is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|may|might|must"
_VERB_S = (  # a verb that opens a question, not a plural noun
    r"says|makes|means|happens|seems|matters|remains|counts|goes|comes|gets|needs|drives|"
    r"explains|shows|suggests|lies|stands|changes|causes|leads|sets|puts|keeps|stops|works|"
    r"applies|follows|belongs|exists|depends|helps|costs|takes|gives|allows|requires"
)
_SINGULAR_S = (  # nouns that end in s and name one thing
    r"news|analysis|basis|status|focus|consensus|emphasis|crisis|bias|progress|access|"
    r"process|address|success|series|species|thesis|gas|its|this|thus|his|us|whereas|"
    r"plus|campus|census|virus|bonus|corpus|canvas|atlas|lens|chaos|ethos|business"
)
_PLURAL = (
    rf"(?!(?:{_AUXILIARY}|{_VERB_S}|{_SINGULAR_S})\b)"
    r"(?:[a-z][\w-]*[a-rt-z]s|[a-z][\w-]*ies)"
)
_AFTER = (
    rf"(?:{_AUXILIARY}|[a-z]+ed|that|which|who|in|of|on|for|from|to|by|at|with|under|"
    r"among|across)\b|[?.,;:]|$"
)
_WORD = rf"(?!(?:{_AUXILIARY})\b)[\w'’-]+\s+"
_LIST = re.compile(
    rf"^\s*(?:(?:which|what)\s+{_PLURAL}\b|"  # "Which countries lead ...?"
    rf"(?:which|what)\s+(?:{_WORD}){{1,2}}{_PLURAL}\s*(?:{_AFTER})|"
    rf"(?:which|what)\s+(?:are|were)\s+(?:[\w'’-]+\s+){{0,3}}{_PLURAL}\b|"
    r"(?:(?:can|could|would)\s+you\s+|please\s+)?(?:list|name|give\s+me)\s+"
    r"(?:the|all|each|every|some)\b)",
)


def asks_for_list(question: str) -> bool:
    """Whether the question asks for several things (see `_LIST`): such a question
    answered from some of its passages may have the rest of its list in the others."""
    return bool(_LIST.match(question.lower()))


# Capitalised words that name no item: openers after a colon or in a quote, months,
# and the words a document's parts go by.
_NOT_ITEMS = {
    w.lower()
    for w in (
        f"{_MONTHS}|{_DAYS}".split("|")
        + "However|According|The|This|That|These|Those|It|Its|In|On|For|As|By|With|And|But|"
        "Also|Section|Sections|Figure|Table|Chapter|Annex|Appendix|Part|Page|Box|"
        "Government|Governments|Report|Paper|Study".split("|")
    )
}


def names_added(sentences: Sequence[str], known: str) -> bool:
    """Whether a sentence names something `known` (the question and the answer so far)
    does not: a capitalised word inside it that `known` does not write the same way
    ("Singapore also released AI Verify" after "Which tools does Singapore offer to verify
    ...?"), or a one-word name that opens it with a second capital ("SEA-LION is ...").
    Not a month, a word a document's parts go by ("Section", "Figure"), a word after a
    colon or opening quote, a quoted title of three words or more, nor a form of a known
    word ("Singaporean", "Singapore-based"). An item without a capital ("bias in
    hiring") is not seen."""

    def bare(word: str) -> str:
        return re.sub(r"['’]s$", "", word).rstrip(".")

    seen = {bare(w) for w in re.findall(r"[\w'’&@.-]+", known)}
    lowered = {w.lower() for w in seen if len(w) >= 4}

    def known_form(word: str) -> bool:
        if word in seen or word.lower() in _NOT_ITEMS:
            return True
        if "-" in word:  # "Singapore-based", "SEA-HELM"'s parts known
            return all(known_form(part) for part in word.split("-") if part)
        lower = word.lower()  # a longer form: "Singaporean" ("Verify" is not "verify")
        return any(lower != w and lower.startswith(w) for w in lowered)

    for sentence in sentences:
        text = _MARKERS.sub(" ", sentence)
        text = re.sub(r"[“\"][^”\"]*?(?:\s\S+){2,}[^”\"]*[”\"]", " ", text)  # titles
        for match in _NAME.finditer(text):
            before = text[: match.start()].rstrip()
            word = bare(match.group(0))
            opens = not before or before.endswith((":", "“", '"', "‘"))
            if opens and not re.search(r"[A-Z]", word[1:]):
                continue  # a capital that only opens the sentence or a quote
            if not known_form(word):
                return True
    return False
