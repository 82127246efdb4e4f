"""Responsiveness: what a question's wording asks for, and whether an answer gives it."""

from __future__ import annotations

import pytest

from assistant.answering.responsiveness import asked_for, decline_text, gives


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much is the Ministry of Justice paying OpenAI for the licences?", "amount"),
        ("What did training DeepSeek V3 cost?", "amount"),
        ("Roughly what would it cost the UK to train its own frontier model?", "amount"),
        ("What could a national compute programme cost?", "amount"),
        ("What share of Europe's cloud market do US firms hold?", "share"),
        ("How many probation officers already use Justice Transcribe?", "count"),
        ("When will the MoJ roll the tools out?", "time"),
        ("By what date must the data be stored in the UK?", "time"),
        ("In which year was the Bletchley summit held?", "time"),
        ("What year was the Bletchley summit held?", "time"),
        ("Who is the director of ai@cam?", "name"),
        ("Which company signed the memorandum with the UK government?", "name"),
        ("What's the MoJ paying OpenAI for the licences?", "amount"),
        ("What was Mistral worth in 2024?", "amount"),
        ("At what valuation was the firm assessed?", "amount"),
        ("What budget has the government given the unit?", "amount"),
        ("What are the maximum fines under the Act?", "amount"),
        ("Under the deal, what number of staff get the tools?", "count"),
        ("By how much has the gap between open and closed models shrunk?", "quantity"),
        ("How far has the performance gap narrowed?", "quantity"),
        ("What savings have Meta and Microsoft reported?", "quantity"),
        ("How much water do data centres use?", "quantity"),
        ("In what years were TensorFlow and the transformer released?", "time"),
        ("How far does the paper go in backing open models?", None),
        ("How much control does the UK keep over its data?", None),
        ("How big a role does the NHS play?", None),
        ("How large is the UK's AI sector?", "quantity"),
        ("What does the paper say about the value of open data?", None),
        ("Why does ITIF call sovereignty protectionist?", None),
        ("What routes does the Demos paper set out?", None),
    ],
)
def test_what_the_wording_asks_for(question: str, kind: str | None) -> None:
    asked = asked_for(question)
    assert (asked.kind if asked else None) == kind


@pytest.mark.parametrize(
    ("question", "answer", "given"),
    [
        ("How much is the MoJ paying OpenAI?", "The deal keeps data in the UK [1].", False),
        # a number, but not an amount of money
        ("How much is the MoJ paying OpenAI?", "2,500 staff will get the tools [1].", False),
        ("How much will AI add to the economy?", "It will add $19.9 trillion by 2030 [2].", True),
        ("How much will AI add to the economy?", "It will add 19.9 trillion dollars [2].", True),
        ("How much GDP would a country lose?", "About 2.2% of its GDP [1].", True),
        ("What share of firms use open models?", "About 40% of them do [1].", True),
        ("By how much has the gap shrunk?", "From 8% to 1.7% in a year [1].", True),
        ("By how much has the gap shrunk?", "It has shrunk a great deal [1].", False),
        ("How much water do data centres use?", "They rely on water for cooling [1].", False),
        ("How much water do data centres use?", "Several billion litres a year [1].", True),
        ("What savings has Meta reported?", "Savings of several kinds [1].", False),
        ("What share of firms use open models?", "Most firms use them [1].", True),
        ("What share of firms use open models?", "Firms use open models [1].", False),
        ("How many staff get AI tools?", "2,500 employees [1].", True),
        ("How many staff get AI tools?", "Staff in every office get them [1].", False),
        # a date, or a number the question gives, is not the count asked for
        ("How many firms signed on 3 March 2024?", "Firms signed on March 3, 2024 [1].", False),
        ("How many firms signed on 3 March 2024?", "Forty firms signed that day [1].", True),
        ("How many jobs will a 10% rise create?", "A 10% rise creates more jobs [1].", False),
        ("How many jobs will a 10% rise create?", "A 10% rise creates 600 jobs [1].", True),
        ("How big is the fund set up in 2021?", "The 2021 fund is large [1].", False),
        ("How many firms signed?", "They signed on the 3rd of March [1].", False),
        ("How many firms signed?", "They signed in March 2024 [1].", False),
        ("How many firms signed?", "They signed on 03/03/2024 [1].", False),
        ("How many firms signed?", "They signed in 2024 [1].", False),
        # but a count that repeats the question's own number, or shares a word with it
        ("Of the 50 proposals, how many were adopted?", "All 50 were adopted [1].", True),
        ("How many GPT-4 licences were bought?", "4 licences were bought [1].", True),
        ("How many staff got tools in 2024?", "2,500 staff got them in 2024 [1].", True),
        ("When will the tools arrive?", "They arrive in October 2025 [1].", True),
        ("When will the tools arrive?", "They arrive soon [1].", False),
        ("When are bins collected?", "Every Thursday morning from 7 am [1].", True),
        ("What time does the library open?", "It opens at 9 am on weekdays [1].", True),
        ("Who is the director of ai@cam?", "Jessica Montgomery leads it [1].", True),
        # a name the question already gives is not an answer to "who"
        ("Who leads ai@cam?", "The director of ai@cam leads it [1].", False),
        # nor is a month or a day
        ("Who wrote the report?", "The report came out in June 2025 [1].", False),
        ("Who wrote the report?", "It was written by Elizabeth Seger in June [1].", True),
    ],
)
def test_whether_the_answer_gives_it(question: str, answer: str, given: bool) -> None:
    asked = asked_for(question)
    assert asked is not None
    assert gives(asked, answer, question) is given


def test_a_decline_names_what_is_missing() -> None:
    assert decline_text(asked_for("How much did it cost?")) == (
        "The documents give no figure for this."
    )
    assert decline_text(asked_for("Who wrote it?")) == "The documents give no name for this."
    assert decline_text(None) == "The documents do not answer this."


@pytest.mark.parametrize(
    "question",
    [
        "What could the UK do to cut the cost of compute?",
        "What do the documents say about the cost of compute?",
        "What would happen to the cost of AI?",
        "What would the cost-benefit be?",
    ],
)
def test_cost_as_a_noun_asks_for_no_figure(question: str) -> None:
    assert asked_for(question) is None
