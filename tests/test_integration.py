"""End to end with the real parts: MiniLM embedder, FAISS, BM25 and GGUF models in llama.cpp.

The real corpus is indexed once into a temporary folder and the default model is loaded
once for the module; each question has a known answer in one corpus document.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, real_model_path, real_settings

from assistant.answering.assistant import Assistant, load_generator
from assistant.answers import Answer
from assistant.errors import ModelHashMismatch
from assistant.generation.catalog import CATALOG, ModelStore
from assistant.generation.llm import GenerationStats
from assistant.settings import DEFAULT_MODEL

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    real_model_path(DEFAULT_MODEL)
    settings = real_settings(tmp_path_factory.mktemp("real"))
    assistant = Assistant(settings)
    started = time.perf_counter()
    report = assistant.index()
    print(f"indexed {report.chunks} passages in {time.perf_counter() - started:.1f} s")
    assert report.failed == []
    assert sorted(report.added) == [
        "cam-ai-sovereignty-vision",
        "itif-ai-sovereignty",
        "moj-openai-partnership",
        "open-dividend",
        "sovereign-ai-national-policy",
    ]
    assert assistant.generator.n_ctx == settings.generation.n_ctx  # loads the model once
    return assistant


def _shown(answer: Answer) -> str:
    """The answer and its citations' numbers and documents, for a failed assertion."""
    return f"{answer.answer!r} citing {[(c.n, c.doc_id) for c in answer.citations]}"


@pytest.mark.parametrize(
    ("question", "fact", "doc_id"),
    [
        ("How many Ministry of Justice staff get AI tools?", "2,500", "moj-openai-partnership"),
        (
            "What term does ITIF use for AI sovereignty as the ability to dictate the terms on "
            "which foreign AI operates?",
            "control-oriented",
            "itif-ai-sovereignty",
        ),
        ("Who is the Director of ai@cam?", "Jessica Montgomery", "cam-ai-sovereignty-vision"),
        (
            "According to the IDC report cited in the Sovereign AI paper, how much will AI "
            "contribute to the global economy through 2030?",
            "19.9",
            "sovereign-ai-national-policy",
        ),
        (
            "How many Indian languages and dialects do the Bhashini open-source models support?",
            "22",
            "open-dividend",
        ),
    ],
)
def test_known_answers_are_found_and_cited(
    assistant: Assistant, question: str, fact: str, doc_id: str
) -> None:
    answer = assistant.ask(question)
    shown = _shown(answer)
    print(f"{answer.timings.total_s:.1f} s: {shown}")
    assert not answer.declined, shown
    assert fact.lower() in answer.answer.lower(), shown
    assert any(c.doc_id == doc_id and fact.lower() in c.text.lower() for c in answer.citations), (
        shown
    )
    assert answer.model["sha256"] == CATALOG[DEFAULT_MODEL].sha256


def test_a_passage_one_ranking_is_sure_of_is_given_in_a_place_of_the_six(
    assistant: Assistant,
) -> None:
    """The only passage quoting Red Hat's adviser is BM25's best for this wording but not
    the fusion's: it takes the place of the fusion's last pick, and six passages are given
    either way (without such places it is left out)."""
    question = "Red Hat's view on what real AI sovereignty requires?"
    retriever = assistant.retriever
    hits = retriever.search(question)
    assert len(hits) == assistant.settings.retrieval.top_k
    assert any("Jonny Williams" in h.chunk.passage for h in hits)
    plain = type(retriever)(
        retriever.index, retriever.embedder, retriever.settings.model_copy(update={"champions": 0})
    )
    assert not any("Jonny Williams" in h.chunk.passage for h in plain.search(question))


def test_a_publishers_licence_and_imprint_are_found_only_when_asked_about(
    assistant: Assistant,
) -> None:
    furniture = ("is a champion of people", "Licensor", "RIGHTS RESERVED", "Some rights reserved")

    def found(question: str) -> list[str]:
        texts = [hit.chunk.text for hit in assistant.retriever.search(question)]
        return [mark for mark in furniture if any(mark in text for text in texts)]

    # without the exclusion: four of the six passages ("About Demos", the imprint, the
    # licence's opening, its open-access note)
    assert found("Is Demos worried that open models are unsafe?") == []
    assert found("Which universities does Demos credit for Britain's AI talent base?") == []
    assert found("Can I reuse The Open Dividend in my own briefing, and under what licence?")
    assert found("How can I get in touch with Demos?") and found("Who are Demos?")
    assert found("What does Demos say about contact tracing?") == []


def test_a_question_the_corpus_cannot_answer_is_declined(assistant: Assistant) -> None:
    answer = assistant.ask("What is the population of Canada?")
    assert answer.declined, answer.answer
    assert "Canada" not in answer.answer and answer.contexts


# Worded as people ask, not as the documents put it (none of these is in eval/).
@pytest.mark.parametrize(
    ("question", "fact", "doc_id"),
    [
        (
            "Roughly how many people at the justice ministry are getting AI assistants?",
            "2,500",
            "moj-openai-partnership",
        ),
        (
            "Which person is in charge of Cambridge's ai@cam programme?",
            "Montgomery",
            "cam-ai-sovereignty-vision",
        ),
        (
            "Bhashini's open models cover how many of India's languages and dialects?",
            "22",
            "open-dividend",
        ),
    ],
)
def test_questions_in_other_words_are_answered_from_their_passage(
    assistant: Assistant, question: str, fact: str, doc_id: str
) -> None:
    answer = assistant.ask(question)
    shown = _shown(answer)
    assert not answer.declined, shown
    assert fact in answer.answer, shown
    assert any(c.doc_id == doc_id and fact in c.text for c in answer.citations), shown


def _answered_by(answer: Answer, documents: set[str], says: Callable[[str], bool]) -> set[str]:
    """The documents the answer cites, having checked it is no decline, cites each of
    `documents` and cites only passages of which `says` holds."""
    shown = _shown(answer)
    assert not answer.declined, shown
    cited = {c.doc_id for c in answer.citations}
    assert documents <= cited, shown
    assert all(says(c.text) for c in answer.citations), shown
    return cited


def test_a_question_put_to_all_the_documents_is_answered_by_each_that_speaks_to_it(
    assistant: Assistant,
) -> None:
    # asked at once, the model answers from the best-matching document and stops there
    answer = assistant.ask("What do the documents say about the NHS?")
    documents = {"cam-ai-sovereignty-vision", "open-dividend"}
    cited = _answered_by(answer, documents, lambda text: "NHS" in text)
    assert len(answer.answer.split("\n\n")) == len(cited), _shown(answer)  # a paragraph each


def test_a_question_for_the_documents_that_mention_something_cites_only_those_that_do(
    assistant: Assistant,
) -> None:
    # asked of the three documents found, the Sovereign AI paper's part said it "mentions
    # export controls" from a passage that never does; given every passage in one prompt,
    # the model declined
    answer = assistant.ask("Which papers mention export controls?")
    _answered_by(answer, {"open-dividend"}, lambda text: "export control" in text.lower())


def test_a_document_the_library_search_left_out_is_heard_on_the_topic_it_names(
    assistant: Assistant,
) -> None:
    # the one search over the library gave Demos's Singapore passages and none of the
    # Sovereign AI paper's, whose passage on digital identity names Singapore
    answer = assistant.ask("Which of these papers bring up Singapore, and in what context?")
    documents = {"open-dividend", "sovereign-ai-national-policy"}
    _answered_by(answer, documents, lambda text: "Singapore" in text)


def test_the_questions_the_ui_suggests_are_answered(assistant: Assistant) -> None:
    from assistant.ingest.documents import read_metadata

    examples = [e["example"] for e in read_metadata(ROOT / "corpus").values() if "example" in e]
    assert len(examples) == 5
    for question in examples:
        answer = assistant.ask(question)
        assert not answer.declined and answer.citations, (question, answer.answer)


def test_a_figure_the_documents_never_give_is_declined_with_what_they_do_say(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("How much money is the justice ministry handing OpenAI under the deal?")
    assert answer.declined, answer.answer
    assert not any(ch in answer.answer for ch in "£$€"), answer.answer


def test_a_name_is_never_put_where_its_passage_does_not_put_it(assistant: Assistant) -> None:
    # the passage: "At the 21-nation Asia-Pacific Economic Cooperation meeting in South
    # Korea ..., White House Technology Advisor Michael Kratsios endorsed ..."; the 1.5B
    # model's draft has him endorse it "at the White House"
    answer = assistant.ask("Who at the White House endorsed AI sovereignty, and where?")
    assert "at the White House" not in answer.answer, answer.answer


def test_a_person_a_document_quotes_is_never_shown_as_its_author(assistant: Assistant) -> None:
    # the digest quotes "..., said Professor Neil Lawrence"; it names no author, and the
    # 1.5B model's draft said it "was written by Professor Neil Lawrence"
    answer = assistant.ask(
        "Who wrote the Cambridge piece, and what do they want the government to do?"
    )
    made_author = r"(?:written|authored) by (?:\S+\s+){0,3}?Lawrence|Lawrence\s+(?:wrote|authored)"
    assert not re.search(made_author, answer.answer), answer.answer


def test_a_figure_is_never_shown_as_another_company_s(assistant: Assistant) -> None:
    # the passage: "Microsoft ... has reported over 40% cost savings ..., Meta reported
    # saving $1.2 billion"; the 1.5B model's draft gives Meta the 40%
    answer = assistant.ask("What did Meta save by using Open Compute Project designs?")
    assert not re.search(r"\bMeta\b[^.]*\b40\s*%", answer.answer), answer.answer
    if not answer.declined:
        assert "1.2 billion" in answer.answer, answer.answer


def test_a_list_answered_from_one_passage_gets_the_rest_of_it(assistant: Assistant) -> None:
    # Singapore's open tools are in three passages of The Open Dividend; the 1.5B model
    # names the first passage's and stops, and the rest is asked of the other passages
    answer = assistant.ask(
        "What open tools has Singapore released for testing and benchmarking AI?"
    )
    named = [t for t in ("SEA-HELM", "AI Verify", "Moonshot") if t in answer.answer]
    assert len(named) >= 2, answer.answer


def test_each_part_of_a_question_in_two_parts_gets_its_answer(assistant: Assistant) -> None:
    # the 1.5B model answers what the tools are for and stops; the figure the second part
    # asks for is then asked of the same passages on its own
    answer = assistant.ask(
        "What is the Ministry of Justice going to use OpenAI's tools for, and how many staff "
        "will get them?"
    )
    assert "2,500" in answer.answer and not answer.declined, _shown(answer)
    assert re.search(r"transcri|document|research", answer.answer), _shown(answer)
    assert {c.doc_id for c in answer.citations} == {"moj-openai-partnership"}, _shown(answer)


def test_a_stance_against_its_passage_is_not_shown(assistant: Assistant) -> None:
    # the 1.5B model wrote "The ITIF argues that countries should build sovereign AI,
    # stating that it does more than harm foreign companies; ..." and the verifier agreed:
    # ITIF argues the opposite, and no passage says anyone should build it
    answer = assistant.ask(
        "Do ITIF and Demos agree on whether countries should build sovereign AI?"
    )
    assert any(s.supported for s in answer.sentences), _shown(answer)  # not by showing nothing
    for sentence in answer.sentences:
        if sentence.supported:
            assert not re.search(r"should (?:build|develop|pursue)", sentence.sentence.text), (
                _shown(answer)
            )


def test_a_question_on_one_document_is_answered_from_its_passages(assistant: Assistant) -> None:
    # the 1.5B model gave Demos's "data resources held by the NHS" to the Cambridge report
    # (withheld); asked again of the Cambridge passages alone, it answers from them
    answer = assistant.ask("Does the Cambridge report say anything about the NHS?")
    assert not answer.declined and "NHS" in answer.answer, _shown(answer)
    assert {c.doc_id for c in answer.citations} == {"cam-ai-sovereignty-vision"}, _shown(answer)


def test_the_same_question_gets_the_same_answer_whatever_came_before(
    assistant: Assistant,
) -> None:
    question = "What does ITIF mean by control-oriented sovereignty?"
    first = assistant.ask(question)
    chat = []
    for earlier in ("Who is behind The Open Dividend?", "How much will AI add by 2030?"):
        chat.append((earlier, assistant.ask(earlier).answer))
    again = assistant.ask(question)
    # and asked in a conversation after them: it stands alone, so it is answered alike
    in_chat = assistant.ask(question, chat)
    for answer in (again, in_chat):
        assert (answer.draft, answer.answer, answer.declined) == (
            first.draft,
            first.answer,
            first.declined,
        )


def test_the_stream_matches_the_answer(assistant: Assistant) -> None:
    events = list(assistant.stream("How many Ministry of Justice employees get AI tools?"))
    final = events[-1]
    assert isinstance(final, Answer) and not final.declined
    assert "2,500" in final.answer
    assert "".join(e for e in events[:-1] if isinstance(e, str)).strip() == final.answer
    assert 0 < final.timings.first_token_s <= final.timings.total_s
    assert final.timings.prompt_tokens > 0 and final.timings.completion_tokens > 0


def test_smollm2_loads_through_llama_cpp_and_streams(tmp_path: Path) -> None:
    real_model_path("smollm2-135m")
    settings = real_settings(tmp_path, model="smollm2-135m", n_ctx=512)
    generator = load_generator(settings)
    assert generator.name == "smollm2-135m"
    assert generator.sha256 == CATALOG["smollm2-135m"].sha256
    assert generator.n_ctx == 512
    stats = GenerationStats()
    tokens = list(generator.stream([{"role": "user", "content": "Say hello."}], 12, stats))
    assert len(tokens) >= 2 and all(isinstance(t, str) for t in tokens)
    assert stats.completion_tokens == len(tokens) <= 12
    assert stats.prompt_tokens > 0
    assert generator.count_tokens("Hello world") >= 2


def test_the_system_prompt_is_evaluated_once_and_reused(tmp_path: Path) -> None:
    from assistant.answering.prompting import SYSTEM_PROMPT

    real_model_path("smollm2-135m")
    generator = load_generator(real_settings(tmp_path, model="smollm2-135m", n_ctx=2048))
    generator.warm(SYSTEM_PROMPT)
    warmed = list(generator.llama.input_ids[: generator.llama.n_tokens])
    assert len(warmed) > generator.count_tokens(SYSTEM_PROMPT)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "What is AI sovereignty?"},
    ]
    list(generator.stream(messages, 1, GenerationStats()))
    asked = list(generator.llama.input_ids[: generator.llama.n_tokens])
    # a question's prompt starts with the tokens already evaluated: llama.cpp reuses them
    pairs = enumerate(zip(warmed, asked, strict=False))
    shared = next((i for i, (a, b) in pairs if a != b), len(warmed))
    assert shared >= generator.count_tokens(SYSTEM_PROMPT)


def test_a_reply_does_not_depend_on_what_the_context_held_before(tmp_path: Path) -> None:
    """The system prompt is evaluated alone, then restored from its saved memory after
    another use of the context (the sentence verifier): the same messages give the same
    reply in a fresh process, after another question, and after the verifier."""
    from assistant.answering.prompting import SYSTEM_PROMPT
    from assistant.evaluation.judges import ModelJudge

    real_model_path("smollm2-135m")
    settings = real_settings(tmp_path, model="smollm2-135m", n_ctx=2048)

    def reply(generator: object, question: str) -> str:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ]
        return "".join(generator.stream(messages, 24, GenerationStats()))  # type: ignore[attr-defined]

    question = "Sources:\n[1] Memo\nThe council froze bus fares.\nQuestion: What happened?\nAnswer:"
    generator = load_generator(settings)
    first = reply(generator, question)
    reply(generator, "Sources:\n[1] Other\nTrees were planted.\nQuestion: Why trees?\nAnswer:")
    after_other = reply(generator, question)
    ModelJudge(generator.llama, lock=generator.lock).probability("Fares rose.", "Fares froze.")
    after_judge = reply(generator, question)
    fresh = reply(load_generator(settings), question)
    assert first == after_other == after_judge == fresh


def test_an_altered_gguf_is_refused_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llama_cpp

    source = real_model_path("smollm2-135m")
    models = tmp_path / "models"
    models.mkdir()
    altered = models / source.name
    shutil.copyfile(source, altered)
    with altered.open("r+b") as handle:  # flip one byte in the middle of the weights
        handle.seek(altered.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    entry = replace(CATALOG["smollm2-135m"], name="smollm2-altered")
    monkeypatch.setitem(CATALOG, entry.name, entry)
    loads: list[object] = []
    monkeypatch.setattr(llama_cpp, "Llama", lambda *a, **k: loads.append(k))
    settings = real_settings(tmp_path, model="smollm2-altered")
    settings = settings.with_overrides(paths={"models_dir": models})
    with pytest.raises(ModelHashMismatch, match="refused, not loaded"):
        load_generator(settings)
    assert loads == []
    assert ModelStore(models).status("smollm2-altered") == (True, False)
