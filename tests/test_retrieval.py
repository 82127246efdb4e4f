"""Retrieval: rank fusion by hand, abbreviation expansion, and hybrid search."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, make_settings

from assistant.answering.retrieval import (
    Retriever,
    _document_names,
    _make_room,
    furniture,
    other_spelling,
    rrf_fuse,
)
from assistant.answering.words import tokenize
from assistant.ingest.chunking import Chunk
from assistant.ingest.indexing import Indexer
from assistant.ingest.store import DocumentRecord, load_index


@pytest.mark.parametrize(
    ("rankings", "weights", "k", "expected"),
    [
        # 1: 1/11 + 2/12 = .257576   2: 1/12 = .083333
        # 3: 1/13 + 2/11 = .258741   4: 2/13 = .153846
        (
            [[1, 2, 3], [3, 1, 4]],
            [1.0, 2.0],
            10,
            [(3, 0.258741), (1, 0.257576), (4, 0.153846), (2, 0.083333)],
        ),
        # equal weights: 1 is 1/11 + 1/12, ahead of 3 with 1/13 + 1/11
        (
            [[1, 2, 3], [3, 1, 4]],
            [1.0, 1.0],
            10,
            [(1, 0.174242), (3, 0.167832), (2, 0.083333), (4, 0.076923)],
        ),
        # a tie (1/2 + 1/3 each) keeps the order of first appearance
        ([[5, 6], [6, 5]], [1.0, 1.0], 1, [(5, 0.833333), (6, 0.833333)]),
        ([[8], [7]], [1.0, 1.0], 20, [(8, 0.047619), (7, 0.047619)]),
        # weights make a tie: 1 is 1/1; 2 is 1/2 + 0.5/1
        ([[1, 2], [2]], [1.0, 0.5], 0, [(1, 1.0), (2, 1.0)]),
        # a zero weight leaves only the other ranking's order
        ([[1, 2], [2, 1]], [0.0, 1.0], 20, [(2, 0.047619), (1, 0.045455)]),
        ([[], []], [1.0, 1.0], 20, []),
    ],
)
def test_rrf_fuse_by_hand(
    rankings: list[list[int]], weights: list[float], k: int, expected: list[tuple[int, float]]
) -> None:
    fused = rrf_fuse(rankings, weights, k)
    assert [item for item, _ in fused] == [item for item, _ in expected]
    assert [round(score, 6) for _, score in fused] == [score for _, score in expected]


def test_rrf_fuse_needs_one_weight_per_ranking() -> None:
    with pytest.raises(ValueError):
        rrf_fuse([[1], [2]], [1.0], 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The MoJ gave 2,500 staff AI tools.", ["moj", "gave", "2,500", "staff", "ai", "tools"]),
        ("What does the report say about it?", []),
        ("Red Hat's view: open-source wins", ["red", "hat's", "view", "open-source", "wins"]),
    ],
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def retriever_for(tmp_path: Path, embedder: FakeEmbedder, **retrieval: object) -> Retriever:
    settings = make_settings(tmp_path, retrieval=retrieval)
    Indexer(settings, lambda: embedder).update()
    index = load_index(settings.paths.index_dir, embedder.name, embedder.dim)
    return Retriever(index, embedder, settings.retrieval)


@pytest.mark.parametrize(
    ("query", "expanded"),
    [
        ("What did the MoJ announce?", "What did the MoJ announce? (Ministry of Justice)"),
        ("what did the moj announce?", "what did the moj announce?"),  # not written as one
        ("Did RH say anything?", "Did RH say anything? (Red Hat)"),
        ("Is AI used?", "Is AI used?"),  # the corpus writes "AI" itself
        ("Who is the PM?", "Who is the PM?"),  # no phrase with those initials
    ],
)
def test_abbreviations_are_expanded_from_the_corpus(
    tmp_path: Path, corpus: Path, query: str, expanded: str
) -> None:
    retriever = retriever_for(tmp_path, FakeEmbedder())
    assert retriever.abbreviations["moj"] == "Ministry of Justice"
    assert retriever.expand(query) == expanded


def test_an_acronym_of_a_hyphenated_name_is_expanded() -> None:
    from assistant.answering.retrieval import _abbreviations

    found = _abbreviations(
        ["At the 21-nation Asia-Pacific Economic Cooperation meeting, leaders spoke."]
    )
    assert found["apec"] == "Asia-Pacific Economic Cooperation"
    assert "ap" not in found  # three letters at least from such a name
    # not when the corpus writes the acronym itself
    both = ["Asia-Pacific Economic Cooperation members met.", "APEC met in Korea."]
    assert "apec" not in _abbreviations(both)


def test_hybrid_search_finds_the_abbreviated_passage(tmp_path: Path, corpus: Path) -> None:
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=2)
    hits = retriever.search("How many MoJ employees get access?")
    assert len(hits) == 2
    assert hits[0].chunk.text.startswith("The Ministry of Justice will give 2,500 employees")
    assert hits[0].bm25_rank == 1
    assert hits[0].document.title == "Justice"
    assert hits[0].score >= hits[1].score


class BlindEmbedder(FakeEmbedder):
    """Dense vectors that put the passage headed "Funding" farthest from every query."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        for row, text in enumerate(texts):
            if text.startswith("Funding"):
                out[row] = np.sqrt(0.5)
                out[row, 2:] = 0.0
        return out


def test_bm25_finds_an_exact_name_the_dense_search_cannot(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(8):
        (corpus / f"a{n}.md").write_text(
            f"# Note {n}\n\nRegional councils discussed budgets and staffing plans {n} times.\n"
        )
    (corpus / "z-current.md").write_text(
        "# Funding\n\nFrance invested 400 million euros in Current AI, a public-interest body.\n"
    )
    retriever = retriever_for(
        tmp_path, BlindEmbedder(), top_k=3, rrf_k=20, dense_weight=1.0, bm25_weight=1.0
    )
    hits = retriever.search("How much went to Current AI?")
    assert hits[0].chunk.doc_id == "z-current"
    assert hits[0].bm25_rank == 1
    assert hits[0].dense_rank == 9  # last in the dense ranking
    # k=20: 1/21 from BM25 + 1/29 from dense, ahead of 1/21 for the first dense hit
    assert hits[0].score == pytest.approx(1 / 21 + 1 / 29, abs=1e-6)
    assert hits[1].score == pytest.approx(1 / 21, abs=1e-6)


def test_search_on_an_empty_index_returns_nothing(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    retriever = retriever_for(tmp_path, FakeEmbedder())
    assert retriever.search("anything at all") == []


def test_a_small_index_is_searched_on_one_faiss_thread(tmp_path: Path, corpus: Path) -> None:
    import faiss

    faiss.omp_set_num_threads(2)
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=2)
    assert retriever.faiss_threads == 1
    retriever.search("How many MoJ employees get access?")
    assert faiss.omp_get_max_threads() == 1


def _record(doc_id: str, title: str, publisher: str) -> DocumentRecord:
    return DocumentRecord(doc_id, f"{doc_id}.md", "0" * 64, title, publisher, "", "md", 1, "")


def test_documents_are_named_by_publisher_title_and_initials() -> None:
    names = _document_names(
        {
            "moj": _record(
                "moj", "OpenAI's partnership with the UK Ministry of Justice", "Amplify"
            ),
            "itif": _record(
                "itif",
                "AI Sovereignty Makes Everyone Weaker",
                "Information Technology and Innovation Foundation (ITIF)",
            ),
            "demos": _record(
                "demos",
                "The Open Dividend: Building an AI Openness Strategy",
                "Demos, with Mozilla",
            ),
            "other": _record("other", "An Open Dividend review", "Demos"),
        }
    )
    assert names["ITIF"] == "itif" and names["Amplify"] == "moj"
    assert names["Ministry of Justice"] == names["MOJ"] == "moj"
    assert names["AI Openness"] == "demos"
    assert "Demos" not in names and "Open Dividend" not in names  # two documents have them
    assert "UK" not in names and "The Open" not in names


def test_a_comparison_sees_both_documents_it_names(tmp_path: Path, corpus: Path) -> None:
    (corpus / "metadata.toml").write_text(
        '["justice.md"]\ntitle = "Justice"\npublisher = "Ministry of Justice"\n'
        '["openness.txt"]\ntitle = "Openness"\npublisher = "Red Hat"\n'
        '["weather.md"]\ntitle = "Weather"\npublisher = "Met Office"\n',
        encoding="utf-8",
    )
    question = "Do Red Hat and the Met Office agree about employees and AI tools?"
    plain = retriever_for(tmp_path, FakeEmbedder(), top_k=2, named_seats=0, champions=0)
    assert "weather" not in {h.chunk.doc_id for h in plain.search(question)}
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=2, named_seats=1, champions=0)
    assert retriever.named_documents(question) == {"openness", "weather"}
    assert {h.chunk.doc_id for h in retriever.search(question)} == {"openness", "weather"}
    assert retriever.named_documents("what does red hat say?") == set()  # not written as names


def test_each_named_document_is_searched_for_the_question_without_the_names(
    tmp_path: Path, corpus: Path
) -> None:
    (corpus / "justice.md").write_text(
        "# About\n\nAbout the Ministry of Justice: the Ministry of Justice is a ministry.\n\n"
        "## Probation\n\nProbation officers use transcription tools every day.\n",
        encoding="utf-8",
    )
    (corpus / "metadata.toml").write_text(
        '["justice.md"]\ntitle = "Justice"\npublisher = "Ministry of Justice"\n'
        '["openness.txt"]\ntitle = "Openness"\npublisher = "Red Hat"\n',
        encoding="utf-8",
    )
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=2, named_seats=1, champions=0)
    question = "What do the Ministry of Justice and Red Hat say about transcription tools?"
    hits = retriever.search(question)
    assert {h.chunk.doc_id for h in hits} == {"justice", "openness"}
    # in the whole index the name's words rank the "About" passage first; searched within
    # the document without them, the passage on transcription tools comes first
    justice = next(h for h in hits if h.chunk.doc_id == "justice")
    assert "transcription" in justice.chunk.text


def test_a_scoped_search_ranks_only_the_chosen_documents(tmp_path: Path, corpus: Path) -> None:
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=4, max_per_document=1)
    question = "How many MoJ employees get access?"
    everywhere = retriever.search(question)
    assert everywhere[0].chunk.doc_id == "justice"
    # the weather notes say nothing of employees: a global top-k filtered afterwards would
    # leave them nothing, a scoped search still ranks their passages
    scoped = retriever.search(question, documents=["weather"])
    assert scoped and {h.chunk.doc_id for h in scoped} == {"weather"}
    # one document in scope is not held to the per-document cap of one
    justice = retriever.search("probation officers", documents=["justice"])
    assert len(justice) == 2 and {h.chunk.doc_id for h in justice} == {"justice"}
    both = retriever.search(question, documents=["weather", "justice"])
    assert {h.chunk.doc_id for h in both} <= {"weather", "justice"}
    assert both[0].chunk.doc_id == "justice"
    assert retriever.search(question, documents=[]) == []


def test_document_names_are_taken_out_of_a_query(tmp_path: Path, corpus: Path) -> None:
    (corpus / "metadata.toml").write_text(
        '["justice.md"]\ntitle = "Justice"\npublisher = "Ministry of Justice"\n'
        '["openness.txt"]\ntitle = "Openness"\npublisher = "Red Hat"\n',
        encoding="utf-8",
    )
    retriever = retriever_for(tmp_path, FakeEmbedder())
    assert retriever.without_names("What do Red Hat's and the Justice papers say?") == (
        "What do and the papers say?"
    )
    assert retriever.without_names("What does the Ministry of Justice plan?") == (
        "What does the of plan?"  # the words of a name, each a name
    )
    assert retriever.without_names("red hat tools") == "red hat tools"  # not written as names


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("localisation", "localization"),
        ("organized", "organised"),
        ("prioritising", "prioritizing"),
        ("rise", None),
        ("size", None),
        ("licence", None),
    ],
)
def test_other_spelling(word: str, other: str | None) -> None:
    assert other_spelling(word) == other


def test_a_word_the_corpus_spells_the_other_way_is_searched_both_ways(
    tmp_path: Path, corpus: Path
) -> None:
    (corpus / "rules.md").write_text("# Rules\n\nData localization rules apply to all.\n")
    retriever = retriever_for(tmp_path, FakeEmbedder())
    assert retriever.expand("data localisation") == "data localisation (localization)"
    assert retriever.expand("data localization") == "data localization"
    assert retriever.expand("organise the data") == "organise the data"  # neither is written


def test_each_rankings_best_passage_is_given_beyond_top_k(tmp_path: Path, corpus: Path) -> None:
    retriever = retriever_for(tmp_path, FakeEmbedder(), champions=1)
    fused = [(0, 0.5), (1, 0.3), (2, 0.2), (3, 0.1)]
    # the dense ranking's best (2) was left out by the fusion; BM25's best (0) was not
    assert retriever._champions([(0, 0.5)], fused, [([2, 0, 1], [0, 1, 2])], 3) == [(2, 0.2)]
    assert retriever._champions([(0, 0.5)], fused, [([0, 1], [3, 1])], 3) == [(3, 0.1)]
    assert retriever._champions([(0, 0.5), (2, 0.2)], fused, [([2, 0], [0, 2])], 3) == []
    # a named document's own rankings add their best too, within the limit, in turn
    pairs = [([0, 1], [2, 0]), ([1, 0], [3, 1])]
    assert retriever._champions([(0, 0.5)], fused, pairs, 3) == [(2, 0.2), (1, 0.3), (3, 0.1)]
    assert retriever._champions([(0, 0.5)], fused, pairs, 2) == [(2, 0.2), (1, 0.3)]
    off = retriever_for(tmp_path, FakeEmbedder(), champions=0)
    assert off._champions([(0, 0.5)], fused, [([2, 0, 1], [3, 1, 2])], 3) == []
    (corpus / "metadata.toml").write_text(
        '["openness.txt"]\ntitle = "Openness"\npublisher = "Red Hat"\n', encoding="utf-8"
    )
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=1, champions=1, champion_places=0)
    assert retriever.named_documents("What does Red Hat say about AI tools?") == {"openness"}
    for question in (
        "How many MoJ employees get access to AI tools?",
        "What does Red Hat say about AI tools?",  # names a document: searched without it
    ):
        hits = retriever.search(question)
        assert 1 <= len(hits) <= 2  # at most half of top_k added, and at least one
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_rankings_best_passage_takes_the_place_of_the_fusions_last_pick() -> None:
    """With places for them (the default), the passages given are never more than the
    fusion chose: a ranking's best takes the place of the fusion's last pick from a
    document the question does not name; a named document's passages never give way (a
    comparison keeps both sides)."""
    doc = {0: "a", 1: "b", 2: "a", 3: "c", 4: "b", 5: "d"}.__getitem__
    chosen = [(0, 0.5), (1, 0.4), (2, 0.3), (3, 0.2)]
    kept, taken = _make_room(chosen, [(4, 0.1)], doc, set())
    assert kept == [(0, 0.5), (1, 0.4), (2, 0.3)] and taken == [(4, 0.1)]
    kept, taken = _make_room(chosen, [(4, 0.1)], doc, {"c"})  # "c" is named: "a" gives way
    assert kept == [(0, 0.5), (1, 0.4), (3, 0.2)] and taken == [(4, 0.1)]
    kept, taken = _make_room(chosen, [(4, 0.1), (5, 0.05)], doc, {"a", "b", "c"})
    assert kept == chosen and taken == []  # every pick is a named document's
    kept, taken = _make_room(chosen[:2], [(4, 0.1), (5, 0.05)], doc, {"a", "b"})
    assert kept == chosen[:2] and taken == []  # fewer than top_k: none is added either


def test_the_passages_given_stay_top_k_with_a_champion(tmp_path: Path, corpus: Path) -> None:
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=2, champions=1)
    plain = retriever_for(tmp_path, FakeEmbedder(), top_k=2, champions=0)
    for question in ("How many MoJ employees get access to AI tools?", "Who pays for the bins?"):
        assert len(retriever.search(question)) == len(plain.search(question)) == 2


def test_a_country_is_searched_as_the_corpus_abbreviates_it(tmp_path: Path, corpus: Path) -> None:
    (corpus / "trade.md").write_text("# Trade\n\nThe UK and the US signed a deal.\n")
    retriever = retriever_for(tmp_path, FakeEmbedder())
    assert retriever.expand("What did Britain sign?") == "What did Britain sign? (UK)"
    assert retriever.expand("Did America's deal help?") == "Did America's deal help? (US)"
    assert retriever.expand("What did the UK sign?") == "What did the UK sign?"
    assert retriever.expand("What did France sign?") == "What did France sign?"  # not written


def _chunk(doc_id: str, n: int, text: str) -> Chunk:
    return Chunk(f"{doc_id}#{n}", doc_id, "", "", None, 0, len(text), text)


def test_a_publishers_licence_and_imprint_are_furniture_and_a_passage_on_licences_is_not() -> None:
    chunks = [
        _chunk("a", 0, "Licences rest on copyright law, a study published by the OECD says."),
        _chunk("a", 1, "The Work is provided under the terms and conditions of this licence."),
        _chunk("a", 2, "a 'Licensor' means the person offering the Work under this Licence."),
        _chunk("a", 3, "You may not sublicense the Work."),
        _chunk("a", 4, "Licensor hereby grants You the rights set out in this Licence."),
        _chunk("a", 5, "Acme is a charity (registration no 1042046). Find us at www.acme.org"),
        _chunk("a", 6, "PUBLISHED BY ACME JUNE 2025\n\nT: 020 3878 3955\n\nHELLO@ACME.ORG"),
        _chunk("b", 0, "© Acme 2025. Some rights reserved."),
        _chunk("b", 1, "Compute budgets grew."),
        _chunk("b", 2, "Compute budgets grew again."),
        _chunk("b", 3, "Compute budgets grew once more."),
        _chunk("b", 4, "Compute budgets fell."),
        _chunk("b", 5, "Published by Acme under licence. Contact: press@acme.org"),
        _chunk("c", 0, "Copyright law lags behind AI training; see https://example.org/law"),
        _chunk("d", 0, "© Acme 2025. All rights reserved."),
        _chunk("d", 1, "Compute grew."),
        _chunk("d", 2, "Costs fell by half."),
        _chunk("d", 3, "Acme is a registered charity (registration no 1234567)."),
    ]
    # 1, 4, 5, 6, 7, 12, 14 and 17 print two kinds of imprint; 2 and 3, between 1 and 4,
    # are the licence's clauses (one prints its words); 8 to 11 lie between 7 and 12 but
    # are too many to be one licence; 15 and 16 lie between 14 and 17 but print no
    # imprint; 13 lies between 12 and 14, which are other documents; 0 and 13 name a
    # licence or copyright (one kind), as a paper on open models does, 0's "published by"
    # opens no line, and an address is no imprint
    assert sorted(furniture(chunks)) == [1, 2, 3, 4, 5, 6, 7, 12, 14, 17]
    assert furniture(chunks[:1]) == frozenset()


def test_a_publishers_furniture_is_found_only_for_a_question_about_the_publication(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "acme.md").write_text(
        "---\nauthor: Acme\n---\n"
        "# Safety\n\nAcme finds that open models are no less safe than closed ones.\n\n"
        "# About Acme\n\nAcme is a champion of people and ideas, an independent charity "
        "(registration no 1042046). Find out more at www.acme.org\n"
    )
    (corpus / "imprint.md").write_text(  # a document that is furniture through and through
        "# Imprint\n\nPublished by Acme. © Acme 2025. All rights reserved.\n"
    )
    # two passages, two places: the furniture is found unless it is left out
    retriever = retriever_for(tmp_path, FakeEmbedder(), top_k=2, max_per_document=2)
    about = "Acme is a champion"

    def found(question: str, asked: str | None = None) -> bool:
        hits = retriever.search(question, documents=["acme"], asked=asked)
        return any(about in hit.chunk.text for hit in hits)

    for topic in (  # topics that share a word with a question about the publication
        "Is Acme worried that open models are unsafe?",
        "What does Acme stand for?",
        "What does Acme say about contact tracing apps?",
        "Does Acme say phishing e-mails are a risk of open models?",
        "Should AI firms need permission to train on government websites, says Acme?",
        "Should frontier developers need a licence to operate, says Acme?",
        "Does Acme want copyright law changed for text and data mining?",
        "Can we share data with OpenAI, according to Acme?",
        "How can we reach net zero with AI, says Acme?",
        "Can we use information from citizens, says Acme?",
        "What is AI?",
    ):
        assert not found(topic), topic
    for publication in (
        "Is Acme a charity?",
        "How do I contact Acme?",
        "How can I reach Acme?",
        "Is there an e-mail for Acme?",
        "Who publishes Acme's papers?",
        "Can I quote Acme's paper in my briefing?",
        "How do I cite this paper?",
        "Under what licence can I reuse it?",
        "Who are Acme?",
        "who's acme?",
        "Tell me about Acme",
        "What is Acme's website?",
    ):
        assert found(publication), publication
    # a follow-up's search carries the question before it: the question asked decides,
    # unless it has no words of its own
    follow_up = "Can I reuse Acme's paper? Is it worried that open models are unsafe?"
    assert found(follow_up)
    assert not found(follow_up, asked="Is it worried that open models are unsafe?")
    assert found("What licence is Acme's paper under? And Acme's?", asked="And Acme's?")
    # a scope that is all furniture is searched as it is
    assert retriever.search("What does it say?", documents=["imprint"])
    off = retriever_for(tmp_path, FakeEmbedder(), top_k=2, max_per_document=2, skip_furniture=False)
    assert any(about in h.chunk.text for h in off.search("Is Acme worried?", documents=["acme"]))


def test_a_one_word_name_the_passages_use_as_a_common_word_is_no_source(
    tmp_path: Path, corpus: Path
) -> None:
    (corpus / "metadata.toml").write_text(
        '["openness.txt"]\ntitle = "Openness"\npublisher = "Employees Foundation"\n',
        encoding="utf-8",
    )
    retriever = retriever_for(tmp_path, FakeEmbedder())
    # "employees" is a word of the passages; "foundation" is not
    assert retriever.named_documents("Employees argue ...") == {"openness"}
    assert retriever.named_documents("Employees argue ...", proper=True) == set()
    assert retriever.named_documents("The Foundation argues ...", proper=True) == {"openness"}
