#!/usr/bin/env python3
"""Validate the evaluation data in eval/ against the corpus.

Checks eval/gold.jsonl (question set) and eval/judge_calibration.jsonl
(hand-labelled claim/passage pairs); see eval/FORMAT.md for the formats.

For every line: JSON syntax, required fields and their types, allowed values,
unique ids, and that every quote / passage is an exact, character-for-character
substring of its document in the corpus folder (document id = file name
without extension). A question line is read by the assistant's own model,
assistant.evaluation.records.GoldQuestion (field types, question types, no unknown
fields), as `assistant eval` reads it; the rules of a hand-written set come on top.

Usage, with the assistant's Python (it imports the package from the repository root):
    .venv/bin/python eval/check_data.py [--corpus DIR] [--gold FILE] [--calibration FILE]

--gold also checks eval/unseen.jsonl, eval/dev.jsonl and eval/paraphrases.jsonl (same format; a
paraphrase row adds "paraphrase_of": the id of the gold question it rewords).

Prints every failure as "<file>:<line> <id>: <message>" and exits 1 if there
is any; otherwise prints counts and exits 0.
"""

import argparse
import json
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository root: the assistant package

try:
    from assistant.evaluation.records import QUESTION_TYPES, GoldQuestion
except ImportError as exc:  # pydantic is missing: not the assistant's Python
    sys.exit("check_data.py reads questions with the assistant's own model (%s): run it "
             "with the assistant's Python, .venv/bin/python eval/check_data.py "
             "(make install creates it)" % exc)

# File types whose text can be read directly; the assistant also indexes pdf,
# html and docx, but quotes can only be verified here against text files.
TEXT_EXTENSIONS = (".txt", ".md", ".html", ".htm")
# Files in the corpus folder that are not documents.
NOT_DOCUMENTS = {"README.md", "metadata.toml"}

# GoldQuestion leaves the last three out of a line at will; a written set gives them all
GOLD_FIELDS = ("id", "question", "type", "gold_answer", "key_terms", "quotes")
QUOTE_MIN, QUOTE_MAX = 40, 300
MAX_KEY_TERMS = 4

SUPPORTED_KINDS = ("paraphrase", "verbatim")
UNSUPPORTED_KINDS = ("number_swap", "date_swap", "negation", "actor_swap",
                     "unsupported_addition", "entity_swap", "partial",
                     "unrelated")
CAL_FIELDS = ("id", "doc_id", "passage", "claim", "supported", "kind")
PASSAGE_MIN, PASSAGE_MAX = 200, 900


_LOOKALIKES = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
               "\u2014": "-", "\u2013": "-", "\u00a0": " "}


def _loose(text):
    text = "".join(_LOOKALIKES.get(ch, ch) for ch in text)
    return " ".join(text.replace("\\$", "$").replace("\\_", "_").split())


def near_miss(text, doc):
    """Explain a failed substring check when a looser comparison matches."""
    if _loose(text) in _loose(doc):
        return (" (it matches once quotes, dashes, whitespace and markdown escapes"
                " are normalised: copy those characters exactly from the file)")
    return ""


def load_corpus(corpus_dir):
    docs, problems = {}, []
    if not os.path.isdir(corpus_dir):
        return docs, ["corpus folder not found: %s" % corpus_dir]
    for name in sorted(os.listdir(corpus_dir)):
        path = os.path.join(corpus_dir, name)
        if name in NOT_DOCUMENTS or name.startswith(".") or not os.path.isfile(path):
            continue
        stem, ext = os.path.splitext(name)
        if ext.lower() not in TEXT_EXTENSIONS:
            continue
        if stem in docs:
            problems.append("two corpus files share the document id %r" % stem)
            continue
        with open(path, encoding="utf-8") as fh:
            docs[stem] = fh.read()
    return docs, problems


def read_jsonl(path, failures):
    """Yield (line_number, object) for each non-blank line."""
    rows = []
    if not os.path.isfile(path):
        failures.append("%s: file not found" % path)
        return rows
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                failures.append("%s:%d: invalid JSON (%s)" % (os.path.basename(path), n, exc))
                continue
            if not isinstance(obj, dict):
                failures.append("%s:%d: line is not a JSON object" % (os.path.basename(path), n))
                continue
            rows.append((n, obj))
    return rows


def is_text(value):
    return isinstance(value, str) and value.strip() != ""


def check_gold(path, docs, failures):
    fname = os.path.basename(path)
    rows = read_jsonl(path, failures)
    seen = Counter()
    types = Counter()
    per_doc = Counter()

    for n, row in rows:
        qid = row.get("id")
        where = "%s:%d %s" % (fname, n, qid if isinstance(qid, str) and qid else "<no id>")

        def fail(msg):
            failures.append("%s: %s" % (where, msg))

        if isinstance(qid, str) and qid.strip():
            seen[qid] += 1
            if seen[qid] == 2:
                fail("duplicate id %r" % qid)
        # the model checks each field's type and value; a written set also gives them all
        missing = [f for f in GOLD_FIELDS if f not in row]
        if missing:
            fail("missing field(s): %s" % ", ".join(missing))
        said = {"%s: missing" % f for f in missing}
        problems = [p for p in GoldQuestion.problems(row) if p not in said]
        for problem in problems:
            fail(problem)
        if missing or problems:
            continue
        q = GoldQuestion.from_json(row)
        types[q.type] += 1
        if "paraphrase_of" in row and not q.paraphrase_of.strip():
            fail("paraphrase_of must be the id of a gold question")
        for d in check_gold_content(q, docs, fail):
            per_doc[d] += 1

    return len(rows), types, per_doc


def check_gold_content(q, docs, fail):
    """The rules of a hand-written question beyond its fields' types; returns the ids of
    the documents its quotes come from."""
    if not q.gold_answer.strip():
        fail("gold_answer must be a non-empty string")
    terms = q.key_terms
    if not q.answerable:
        if terms:
            fail("unanswerable questions must have key_terms []")
        if q.quotes:
            fail("unanswerable questions must have quotes []")
    else:
        if not 1 <= len(terms) <= MAX_KEY_TERMS:
            fail("key_terms must hold 1-%d terms, got %d" % (MAX_KEY_TERMS, len(terms)))
        if not q.quotes:
            fail("answerable questions need at least one quote")
        for t in terms:
            if t.lower() not in q.gold_answer.lower():
                fail("key term %r does not occur in gold_answer" % t)
        if len({t.lower() for t in terms}) != len(terms):
            fail("key_terms contain duplicates")

    quote_docs = set()
    quote_texts = []
    for i, quote in enumerate(q.quotes):
        tag = "quotes[%d]" % i
        doc_id, text = quote.doc_id, quote.text
        if doc_id not in docs:
            fail("%s: unknown doc_id %r (no such text file in corpus)" % (tag, doc_id))
            continue
        quote_docs.add(doc_id)
        quote_texts.append(text)
        if not QUOTE_MIN <= len(text) <= QUOTE_MAX:
            fail("%s is %d characters long, must be %d-%d"
                 % (tag, len(text), QUOTE_MIN, QUOTE_MAX))
        if text not in docs[doc_id]:
            fail("%s is not an exact substring of %s: %r%s"
                 % (tag, doc_id, text[:80] + ("..." if len(text) > 80 else ""),
                    near_miss(text, docs[doc_id])))

    if q.type == "multi" and len(q.quotes) < 2:
        fail("multi questions need at least two quotes")
    if q.type == "comparison" and len(quote_docs) < 2:
        fail("comparison questions need quotes from at least two documents")
    if q.type == "figure":
        joined = " ".join(quote_texts).lower()
        if terms and not any(t.lower() in joined for t in terms):
            fail("figure question: no key term occurs in its quotes")
    return quote_docs


def check_calibration(path, docs, failures):
    fname = os.path.basename(path)
    rows = read_jsonl(path, failures)
    seen = Counter()
    kinds = Counter()
    labels = Counter()
    per_doc = Counter()
    pairs = Counter()

    for n, c in rows:
        cid = c.get("id")
        where = "%s:%d %s" % (fname, n, cid if isinstance(cid, str) else "<no id>")

        def fail(msg):
            failures.append("%s: %s" % (where, msg))

        missing = [f for f in CAL_FIELDS if f not in c]
        extra = [f for f in c if f not in CAL_FIELDS]
        if missing:
            fail("missing field(s): %s" % ", ".join(missing))
        if extra:
            fail("unknown field(s): %s" % ", ".join(extra))
        if not is_text(cid):
            fail("id must be a non-empty string")
        else:
            seen[cid] += 1
            if seen[cid] == 2:
                fail("duplicate id %r" % cid)

        doc_id, passage, claim = c.get("doc_id"), c.get("passage"), c.get("claim")
        if not is_text(doc_id):
            fail("doc_id must be a non-empty string")
        elif doc_id not in docs:
            fail("unknown doc_id %r (no such text file in corpus)" % doc_id)
        else:
            per_doc[doc_id] += 1
        if not isinstance(passage, str):
            fail("passage must be a string")
        else:
            if not PASSAGE_MIN <= len(passage) <= PASSAGE_MAX:
                fail("passage is %d characters long, must be %d-%d"
                     % (len(passage), PASSAGE_MIN, PASSAGE_MAX))
            if doc_id in docs and passage not in docs[doc_id]:
                fail("passage is not an exact substring of %s: %r%s"
                     % (doc_id, passage[:80] + ("..." if len(passage) > 80 else ""),
                        near_miss(passage, docs[doc_id])))
        if not is_text(claim):
            fail("claim must be a non-empty string")
        supported = c.get("supported")
        if not isinstance(supported, bool):
            fail("supported must be true or false")
        else:
            labels[supported] += 1
        kind = c.get("kind")
        if kind not in SUPPORTED_KINDS + UNSUPPORTED_KINDS:
            fail("kind must be one of %s, got %r"
                 % (", ".join(SUPPORTED_KINDS + UNSUPPORTED_KINDS), kind))
        else:
            kinds[kind] += 1
            if isinstance(supported, bool):
                if kind in SUPPORTED_KINDS and not supported:
                    fail("kind %r is for supported claims but supported is false" % kind)
                if kind in UNSUPPORTED_KINDS and supported:
                    fail("kind %r is for unsupported claims but supported is true" % kind)
        if isinstance(passage, str) and isinstance(claim, str):
            pairs[(passage, claim.strip().lower())] += 1
            if pairs[(passage, claim.strip().lower())] == 2:
                fail("same passage and claim already used")

    return len(rows), kinds, labels, per_doc


def show(title, counter, order=None):
    keys = order if order else sorted(counter)
    parts = ["%s=%d" % (k, counter[k]) for k in keys if counter[k] or order]
    print("  %-12s %s" % (title, "  ".join(parts)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(HERE), "corpus"),
                    help="corpus folder (default: the corpus/ folder next to eval/)")
    ap.add_argument("--gold", default=os.path.join(HERE, "gold.jsonl"))
    ap.add_argument("--calibration", default=os.path.join(HERE, "judge_calibration.jsonl"))
    args = ap.parse_args()

    failures = []
    docs, problems = load_corpus(args.corpus)
    failures.extend(problems)

    n_gold, types, gold_docs = check_gold(args.gold, docs, failures)
    n_cal, kinds, labels, cal_docs = check_calibration(args.calibration, docs, failures)

    if failures:
        for f in failures:
            print("FAIL " + f)
        print("%d failure(s)" % len(failures))
        return 1

    print("OK  corpus: %d documents in %s" % (len(docs), args.corpus))
    print("gold.jsonl: %d questions" % n_gold)
    show("by type", types, QUESTION_TYPES)
    show("by doc", gold_docs, sorted(docs))
    print("judge_calibration.jsonl: %d pairs (supported=%d, unsupported=%d)"
          % (n_cal, labels[True], labels[False]))
    show("by kind", kinds, SUPPORTED_KINDS + UNSUPPORTED_KINDS)
    show("by doc", cal_docs, sorted(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
