"""Word rules shared by retrieval and grounding: stop words, the keyword tokenizer,
capitalised phrases ("Ministry of Justice") and their initials ("MoJ")."""

from __future__ import annotations

import re

# Within one line, not opening with a sentence's "The": "The Ministry of Justice" gives
# "Ministry of Justice".
PHRASE = re.compile(
    r"\b(?!(?:The|A|An|And|In|On|Of|For|To)\b)[A-Z][a-z]+"
    r"(?:[ \t]+(?:(?:of|for|and|the|on|in|to)[ \t]+){0,2}[A-Z][a-z]+)+"
)
CONNECTORS = {"of", "for", "and", "the", "on", "in", "to"}


STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not of off on once only or other
    our ours ourselves out over own same say said says she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves according document documents report paper tell""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers ("2,500" stays one token), English stop words dropped."""
    words = re.findall(r"[a-z0-9]+(?:[.,'’-][a-z0-9]+)*", text.lower())
    return [w for w in words if w not in STOPWORDS]


def phrase_initials(phrase: str) -> set[str]:
    """A capitalised phrase's initials in lower case, without and with its small words:
    "Ministry of Justice" gives "mj" and "moj"."""
    parts = phrase.split()
    return {
        "".join(p[0] for p in parts if p not in CONNECTORS).lower(),
        "".join(p[0] for p in parts).lower(),
    }
