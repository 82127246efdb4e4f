"""Grounding: hand-labelled sentences checked against passages, with exact scores."""

from __future__ import annotations

import pytest

from assistant.answering.grounding import (
    LEAD_IN,
    Sentence,
    check_answer,
    render,
    split_sentences,
    support,
    unmentioned,
)

P1 = "The Ministry of Justice will give 2,500 employees access to AI tools."
P2 = "More than 1,000 probation officers already use transcription tools."
P3 = "Red Hat argued that sovereignty needs the ability to switch providers."
PASSAGES = [P1, P2, P3]


@pytest.mark.parametrize(
    ("claim", "passage", "coverage", "numbers", "names", "supported"),
    [
        # paraphrase: 6 of 7 content stems (minis, justi, emplo, acces, tools, 2,500; not "givin")
        (
            "The Ministry of Justice is giving 2,500 employees access to AI tools.",
            P1,
            0.857,
            (),
            (),
            True,
        ),
        # a number swapped: 6 of 7 stems ("3,500" is one), and the number is missing
        (
            "The Ministry of Justice will give 3,500 employees access to AI tools.",
            P1,
            0.857,
            ("3500",),
            (),
            False,
        ),
        # a name added: 7 of 9 stems, and "Sam Altman" is not in the passage
        (
            "Sam Altman said the Ministry of Justice will give 2,500 employees access to AI tools.",
            P1,
            0.778,
            (),
            ("altman", "sam"),
            False,
        ),
        # the right words from the wrong passage: 1 of 6 stems (tools)
        (
            "More than 1,000 probation officers use transcription tools.",
            P1,
            0.167,
            ("1000",),
            (),
            False,
        ),
        ("Red Hat said sovereignty needs the ability to switch providers.", P3, 1.0, (), (), True),
        # initials for a phrase the passage spells out: a name, and one of its words
        ("The MoJ will give 2,500 employees access to AI tools.", P1, 1.0, (), (), True),
        # a figure pinned on an actor the passage does not name (the question may name it:
        # "How much is the Home Office paying for AI tools?"), 5 of 7 stems
        (
            "The Home Office will give 2,500 employees access to AI tools.",
            P1,
            0.714,
            (),
            ("home", "office"),
            False,
        ),
        # initials that abbreviate nothing in the passage
        ("The HMRC will give 2,500 employees access to AI tools.", P1, 0.833, (), ("hmrc",), False),
    ],
)
def test_support_hand_labelled(
    claim: str,
    passage: str,
    coverage: float,
    numbers: tuple[str, ...],
    names: tuple[str, ...],
    supported: bool,
) -> None:
    result = support(claim, passage)
    assert result.coverage == coverage
    assert result.missing_numbers == numbers
    assert result.missing_names == names
    assert result.supported is supported


@pytest.mark.parametrize(
    ("answer", "cited", "supported", "recited"),
    [
        (
            "The Ministry of Justice is giving 2,500 employees access to AI tools [1].",
            (1,),
            True,
            False,
        ),
        (
            "The Ministry of Justice will give 3,500 employees access to AI tools [1].",
            (1,),
            False,
            False,
        ),
        (
            "Sam Altman said the Ministry of Justice will give 2,500 employees AI tools [1].",
            (1,),
            False,
            False,
        ),
        # cited to the neighbouring passage: re-cited to the one that supports it
        ("More than 1,000 probation officers use transcription tools [1].", (2,), True, True),
        # no marker at all: cited to the passage that supports it
        ("Red Hat said sovereignty needs the ability to switch providers.", (3,), True, True),
        # a marker past the passages given is ignored
        ("More than 1,000 probation officers use transcription tools [7].", (2,), True, True),
        # a passage cited beside the one that supports it, adding nothing: not kept
        (
            "The Ministry of Justice will give 2,500 employees access to AI tools [1][3].",
            (1,),
            True,
            False,
        ),
        # two that support it only together: both kept
        (
            "The Ministry of Justice will give 2,500 employees AI tools, and more than 1,000 "
            "probation officers use transcription tools [1][2].",
            (1, 2),
            True,
            False,
        ),
    ],
)
def test_check_answer_hand_labelled(
    answer: str, cited: tuple[int, ...], supported: bool, recited: bool
) -> None:
    [checked] = check_answer(answer, PASSAGES)
    assert (checked.cited, checked.supported, checked.recited) == (cited, supported, recited)


def test_a_cited_passage_the_sentence_names_by_its_label_is_kept() -> None:
    demos = "The Open Dividend (Demos)\nOpen models lower costs, as ITIF also notes."
    itif = "AI Sovereignty (ITIF)\nOpen models lower costs."
    said = "Both Demos and ITIF say open models lower costs [1][2]."
    assert check_answer(said, [demos, itif])[0].cited == (1, 2)
    # named by neither label: the passage that adds nothing is not cited
    assert check_answer("Open models lower costs [1][2].", [demos, itif])[0].cited == (1,)


def test_an_answer_with_nothing_supported_is_all_unsupported() -> None:
    answer = "The capital of Australia is Canberra [1]. Paris will host 40 summits [2]."
    checked = check_answer(answer, PASSAGES)
    assert [c.supported for c in checked] == [False, False]
    assert render(checked) == ""


def test_a_mixed_answer_keeps_and_fixes_the_supported_sentences() -> None:
    answer = (
        "The Ministry of Justice will give 2,500 employees access to AI tools [1]. "
        "More than 1,000 probation officers already use transcription tools [3]. "
        "The scheme cost 9 million pounds [1]."
    )
    checked = check_answer(answer, PASSAGES)
    assert [(c.supported, c.cited, c.recited) for c in checked] == [
        (True, (1,), False),
        (True, (2,), True),
        (False, (1,), False),
    ]
    assert sum(c.supported for c in checked) / len(checked) == pytest.approx(2 / 3)
    assert render(checked) == (
        "The Ministry of Justice will give 2,500 employees access to AI tools [1]. "
        "More than 1,000 probation officers already use transcription tools [2]."
    )


@pytest.mark.parametrize(
    ("answer", "sentences"),
    [
        (
            "It costs 2.5 billion [1]. Next one [2, 3].",
            [Sentence("It costs 2.5 billion.", (1,)), Sentence("Next one.", (2, 3))],
        ),
        ("First [1][2]\nSecond line", [Sentence("First", (1, 2)), Sentence("Second line", ())]),
        ("Is it? Yes! [3]", [Sentence("Is it?", ()), Sentence("Yes!", (3,))]),
        ("[1]", []),
        # a marker written as a noun goes with the words that govern it
        (
            'In [4], he said, "We want sovereignty." Kratsios in [4] and [5] talks it up.',
            [
                Sentence('He said, "We want sovereignty."', (4,)),
                Sentence("Kratsios talks it up.", (4, 5)),
            ],
        ),
        (
            "The deal, according to [3], gives staff tools. It is so, as stated in [2].",
            [Sentence("The deal gives staff tools.", (3,)), Sentence("It is so.", (2,))],
        ),
        ("It was phased in [2].", [Sentence("It was phased in.", (2,))]),
    ],
)
def test_split_sentences(answer: str, sentences: list[Sentence]) -> None:
    assert split_sentences(answer) == sentences


def test_a_decimal_number_stays_in_its_sentence() -> None:
    passage = "IDC forecasts AI will add 19.9 trillion dollars to the global economy through 2030."
    answer = "AI could add 19.9 trillion dollars to the economy by 2030 [1]."
    [checked] = check_answer(answer, [passage])
    assert (checked.supported, checked.cited) == (True, (1,))


def test_a_compound_sentence_is_supported_clause_by_clause() -> None:
    both = (
        "The Ministry of Justice will give 2,500 employees access to AI tools, while "
        "more than 1,000 probation officers already use transcription tools."
    )
    [checked] = check_answer(both, PASSAGES)
    assert checked.supported and checked.cited == (1, 2)
    assert render([checked]).endswith("[1][2].")


def test_a_compound_sentence_with_one_unsupported_clause_is_withheld() -> None:
    made_up = (
        "The Ministry of Justice will give 2,500 employees access to AI tools, while "
        "the Home Office bans transcription tools."
    )
    [checked] = check_answer(made_up, PASSAGES)
    assert not checked.supported


# ---------------------------------------------------------------- the stream and its verifier

from assistant.answering.grounding import (  # noqa: E402
    EVIDENCE_SENTENCES,
    SentenceStream,
    evidence,
    segment,
    short_title,
    without_attribution,
)


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        (
            "Open models help, e.g. in health [1]. They cost less [2].",
            ["Open models help, e.g. in health [1]. ", "They cost less [2]."],
        ),
        ("Mr. Smith said so (p. 12) [1]. Next.", ["Mr. Smith said so (p. 12) [1]. ", "Next."]),
        ("Text. [1] More text [2].", ["Text. [1] ", "More text [2]."]),
        ("- item one [1]\n- item two [2]", ["- item one [1]\n", "- item two [2]"]),
        (
            "It was called sovereign.12 The plan was cut.",
            ["It was called sovereign.12 ", "The plan was cut."],
        ),
        # an enumeration inside a sentence is no end of it (pysbd cuts before "(a)")
        (
            "They must not be (a) general-purpose, (b) sold, or (c) high-risk [3]. Next.",
            ["They must not be (a) general-purpose, (b) sold, or (c) high-risk [3]. ", "Next."],
        ),
    ],
)
def test_segment_keeps_abbreviations_and_gives_markers_to_their_sentence(
    text: str, pieces: list[str]
) -> None:
    assert segment(text) == pieces
    assert "".join(segment(text)) == text


def _stream(answer: str, verify=None, labels=()) -> tuple[str, SentenceStream]:  # type: ignore[no-untyped-def]
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], verify, labels)
    shown = [piece for word in answer.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    return "".join(shown).strip(), stream


def test_a_label_copied_into_the_text_and_repeated_markers_are_dropped() -> None:
    label = "Justice digest (MoJ, 2025)"
    shown, _ = _stream(
        f"{label} The Ministry of Justice will give 2,500 employees access to AI tools [1][1].",
        labels=[label],
    )
    assert shown == "The Ministry of Justice will give 2,500 employees access to AI tools [1]."


def test_an_initialism_spaced_out_by_the_model_is_shown_as_the_passage_writes_it() -> None:
    stream = SentenceStream(["Unless U.S. policymakers change course, J. K. Rowling said so."])
    shown = stream.feed("Unless U. S. policymakers change course [1]. J. K. Rowling said so [1]. ")
    shown += list(stream.finish())
    assert shown == ["Unless U.S. policymakers change course [1].", " J. K. Rowling said so [1]."]


@pytest.mark.parametrize(
    ("claim", "passage", "withheld"),
    [
        # the lead-in of a list the passage gives after a colon, copied without the list
        (
            "Taken together, these are to [1].",
            "The countries analysed have pursued AI openness for a variety of overlapping "
            "reasons. Taken together, these are to:",
            True,
        ),
        (
            "The report sets out three types of strategy [1].",
            "The report sets out three types of strategy:\n- Focused investment\n- Standards",
            True,
        ),
        # the list given with it, after its colon or before the lead-in's last words, or a
        # colon inside a line, is no lead-in alone
        (
            "The report sets out three types of strategy: focused investment and standards [1].",
            "The report sets out three types of strategy:\n- Focused investment\n- Standards",
            False,
        ),
        (
            "The report sets out three types of strategy [1]:",
            "The report sets out three types of strategy:\n- Focused investment\n- Standards",
            False,
        ),
        (
            "Focused investment and common standards are the types of strategy [1].",
            "The report sets out three types of strategy:\n- Focused investment\n- Standards",
            False,
        ),
        (  # a heading after a sentence on the same line
            "It names talent and data as its strategic building blocks [1].",
            "The UK has invested heavily in compute. Strategic building blocks:\n- Talent",
            False,
        ),
        (  # a list whose last item is a heading the passage's items follow
            "A country needs digital infrastructure and strategic building blocks [1].",
            "A country needs:\nDigital infrastructure\nStrategic building blocks:\n- Talent",
            False,
        ),
        (
            "Its strategy declares that sovereign infrastructure protects data [1].",
            "Its strategy declares: sovereign infrastructure protects data.",
            False,
        ),
    ],
)
def test_a_list_lead_in_without_its_list_is_withheld(
    claim: str, passage: str, withheld: bool
) -> None:
    stream = SentenceStream([passage])
    shown = [*stream.feed(claim + " "), *stream.finish()]
    assert (shown == []) is withheld
    if withheld:
        assert stream.withheld[0].reason.startswith(LEAD_IN)


def test_a_quotation_over_two_sentences_keeps_its_closing_quote() -> None:
    passage = (
        "Its strategy declares: “Sovereign infrastructure allows us to protect sensitive "
        "data. Beyond resilience, it allows us to grow high-value sectors across the UK.”"
    )
    stream = SentenceStream([f"label\n{passage}"])
    draft = (
        'Its strategy declares: "Sovereign infrastructure allows us to protect sensitive '
        'data. Beyond resilience, it allows us to grow high-value sectors across the UK." [1]'
    )
    shown = [piece for word in draft.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip().endswith('across the UK." [1]')
    assert [c.sentence.text[-5:] for c in stream.checked] == ["data.", ' UK."']
    # a quote followed by a word opens the next sentence, even after a quotation left open
    assert segment('It is so. "We want trust," he said.') == [
        "It is so. ",
        '"We want trust," he said.',
    ]
    stream = SentenceStream([f"label\n{P1} {P2}"])
    draft = f'He says "{P1[:-1]} [1]. {P2[:-1]} [1]. "We grow," he said [1].'
    shown = [piece for word in draft.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert [c.sentence.text[:9] for c in stream.checked][1:] == ["More than", '"We grow,']
    assert segment("The plan was cut. ’90s-era rules remain [1].") == [
        "The plan was cut. ",
        "’90s-era rules remain [1].",
    ]


def test_a_label_copied_before_a_colon_fed_alone_leaves_no_colon_behind() -> None:
    label = "Justice digest (MoJ, 2025), 2. Staff and tools"
    stream = SentenceStream(
        [f"label\n{p}" for p in PASSAGES], labels=[label], titles=["Justice digest"]
    )
    tokens = [f"{P1[:-1]} [1]. ", label, ":", " More than 1,000 probation officers ", "already "]
    tokens += ["use transcription tools [2]. "]
    shown = [piece for token in tokens for piece in stream.feed(token)]
    shown += stream.finish()
    assert ":" not in "".join(shown) and "More than 1,000" in "".join(shown)


def test_a_label_copied_before_a_comma_leaves_no_comma_behind() -> None:
    label = "Justice digest (MoJ, 2025), 2. Staff and tools"
    stream = SentenceStream(
        [f"label\n{p}" for p in PASSAGES], labels=[label], titles=["Justice digest"]
    )
    text = f"{label}, The Ministry of Justice will give 2,500 employees AI tools [1]. "
    shown = [piece for word in text.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip() == (
        "The Ministry of Justice will give 2,500 employees AI tools [1]."
    )


def test_a_label_copied_as_the_subject_of_a_sentence_becomes_its_title() -> None:
    label = "Justice digest (MoJ, 2025)"
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], labels=[label], titles=[label[:14]])
    said = f"{label} says the Ministry of Justice will give 2,500 employees AI tools [1]."
    assert stream._clean(said) == (
        "“Justice digest” says the Ministry of Justice will give 2,500 employees AI tools [1]."
    )
    header = f"{label} The Ministry of Justice will give 2,500 employees AI tools [1]."
    assert stream._clean(header).strip() == header[len(label) :].strip()
    # the object of a preposition is named, not left out ("as set out in .")
    cited = f"The ministry will give 2,500 employees AI tools, as set out in {label} [1]."
    assert stream._clean(cited) == (
        "The ministry will give 2,500 employees AI tools, as set out in “Justice digest” [1]."
    )


def test_a_repeated_sentence_is_shown_once() -> None:
    once = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."
    shown, stream = _stream(f"{once} {once}")
    assert shown == once
    assert [c.reason for c in stream.withheld] == ["repeats an earlier sentence"]


def test_a_sentence_cut_off_by_the_token_limit_is_not_shown() -> None:
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES])
    text = "The Ministry of Justice will give 2,500 employees access to AI tools [1]. More than ("
    shown = [piece for word in text.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish(cut_off=True)
    assert "".join(shown).strip().endswith("AI tools [1].")
    assert stream.withheld[-1].reason == "cut off by the answer's length limit"


class Verifier:
    """P(supported) from a table, recording what it was asked."""

    def __init__(self, answers: dict[str, float]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def __call__(self, claim: str, passage: str) -> float:
        self.asked.append((claim, passage))
        return self.answers.get(claim, 0.0)


def test_a_paraphrase_the_lexical_test_rejects_is_rescued_by_the_verifier() -> None:
    paraphrase = "Staff on probation duty already rely on transcription software."
    verifier = Verifier({paraphrase: 0.9})
    shown, stream = _stream(f"{paraphrase} [2]", verifier)
    assert shown == f"{paraphrase[:-1]} [2]."
    [checked] = stream.checked
    assert checked.supported and checked.verified == 0.9 and "the model finds" in checked.reason
    assert verifier.asked[0][1].endswith(P2)


def test_each_part_of_a_comparison_reads_whole_in_its_own_paragraph() -> None:
    """A sentence held for the verifier is shown at the end of its own document's part,
    not after the next document's; the next part opens a new paragraph."""
    paraphrase = "Staff on probation duty already rely on transcription software."
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], Verifier({paraphrase: 0.9}))
    shown: list[str] = []
    for part in (f"{P1[:-1]} [1]. {paraphrase} [2]", f"{P3[:-1]} [3]."):
        shown += [piece for word in part.split(" ") for piece in stream.feed(word + " ")]
        shown += stream.end_part()
    shown += stream.finish()
    assert "".join(shown) == f"{P1[:-1]} [1]. {paraphrase[:-1]} [2].\n\n{P3[:-1]} [3]."


def test_a_rejected_sentence_the_model_does_not_confirm_keeps_its_answer_in_the_record() -> None:
    paraphrase = "Staff on probation duty already rely on transcription software."
    shown, stream = _stream(f"{paraphrase} [2]", Verifier({paraphrase: 0.3}))
    assert shown == ""
    [withheld] = stream.withheld
    assert withheld.verified == 0.3 and withheld.reason.endswith("nor does the model (p=0.30)")
    assert withheld.reason.startswith("no passage supports it")


def test_a_stance_the_passage_does_not_take_is_withheld() -> None:
    stance = "Red Hat argued against the ability to switch providers."
    verifier = Verifier({stance: 0.1})
    shown, stream = _stream(f"{stance} [3]", verifier)
    assert shown == ""
    assert "no passage that says so" in stream.withheld[0].reason


@pytest.mark.parametrize(("p", "shown_ok"), [(0.9, True), (0.2, False)])
def test_a_sentence_its_own_marker_does_not_support_is_shown_only_if_the_model_agrees(
    p: float, shown_ok: bool
) -> None:
    sentence = "More than 1,000 probation officers use transcription tools."  # not verbatim
    verifier = Verifier({sentence: p})
    shown, stream = _stream(f"{sentence[:-1]} [1].", verifier)  # drafted with passage 1
    assert verifier.asked[0][1].endswith(P2)  # asked about the passage that has the words
    if shown_ok:
        assert shown == f"{sentence[:-1]} [2]." and stream.checked[0].verified == 0.9
    else:
        assert shown == ""
        assert stream.withheld[0].reason.startswith("the model finds no passage that says so")


def test_a_whole_sentence_copied_from_the_passage_it_is_re_cited_to_needs_no_model() -> None:
    verifier = Verifier({})
    shown, stream = _stream(f"{P2[:-1]} [1].", verifier)  # drafted with passage 1
    assert shown == f"{P2[:-1]} [2]." and verifier.asked == []


def test_a_short_copied_sentence_giving_its_name_a_figure_needs_no_model() -> None:
    verifier = Verifier({})
    stream = SentenceStream([f"label\n{p}" for p in (P1, OCP)], verifier)
    words = "Meta reported saving $1.2 billion [1].".split(" ")
    shown = [piece for word in words for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip() == "Meta reported saving $1.2 billion [2]."
    assert verifier.asked == []


def test_a_short_sentence_stands_alone_only_when_it_opens_with_a_name_given_a_figure() -> None:
    from assistant.answering.grounding import self_standing

    assert self_standing("Meta reported saving $1.2 billion.", OCP)
    passage = "Prices rose in 2023. Costs fell by 40%. Others followed."
    assert not self_standing("Costs fell by 40%.", passage)  # a capital opening a sentence
    assert not self_standing("Meta reported cost savings.", OCP)  # no figure
    assert self_standing("Microsoft has reported over 40% cost savings in server deployment.")


@pytest.mark.parametrize(
    "short",
    [
        "Microsoft reported saving $1.2 billion.",  # the figure given to another name
        "It reported saving $1.2 billion.",  # no name of its own
        "Meta reported cost savings.",  # a name without a figure
    ],
)
def test_a_short_sentence_without_its_own_name_and_figure_from_the_passage_is_not_shown(
    short: str,
) -> None:
    verifier = Verifier({short: 0.1})
    stream = SentenceStream([f"label\n{p}" for p in (P1, OCP)], verifier)
    shown = [piece for word in f"{short[:-1]} [1].".split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip() == ""


@pytest.mark.parametrize(
    "copied",
    [
        "already use transcription tools.",  # too short to stand alone
        "They already use transcription tools.",  # points back to what came before
        "(b) probation officers already use transcription tools,",  # an item of a list
    ],
)
def test_a_copied_span_that_does_not_stand_alone_is_still_checked_by_the_model(
    copied: str,
) -> None:
    passages = [P1, f"{P2} {copied}", P3]
    verifier = Verifier({copied: 0.1})
    stream = SentenceStream([f"label\n{p}" for p in passages], verifier)
    shown = [piece for word in f"{copied} [1]".split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert verifier.asked and verifier.asked[0][0] == copied
    assert "".join(shown).strip() == ""


def test_a_sentence_its_own_marker_supports_streams_without_the_model() -> None:
    verifier = Verifier({})
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], verifier)
    words = f"{P1[:-1]} [1]. Next".split(" ")
    early = [piece for word in words for piece in stream.feed(word + " ")]
    assert early == [f"{P1[:-1]} [1]."] and verifier.asked == []


def test_what_is_left_of_a_copied_label_is_not_shown() -> None:
    label = "(Demos, with Mozilla, June 2025)"
    shown, stream = _stream(f"{label}, 4 [1]. {P1[:-1]} [1].", labels=[label])
    assert shown == f"{P1[:-1]} [1]."
    assert stream.withheld[0].reason == "not a sentence"


def test_sentences_after_a_held_one_wait_and_keep_their_order() -> None:
    stance = "Red Hat does not argue against switching providers."
    first = "More than 1,000 probation officers already use transcription tools [2]."
    verifier = Verifier({stance: 0.8})
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], verifier)
    early = [
        piece
        for word in f"{stance[:-1]} [3]. {first} Next".split(" ")
        for piece in stream.feed(word + " ")
    ]
    assert early == []  # held until the draft is finished
    late = "".join(stream.finish())
    assert late.index("Red Hat") < late.index("More than 1,000")


def test_a_held_sentence_is_shown_once_verified_before_the_next_is_asked() -> None:
    stance = "Red Hat does not argue against switching providers."
    other = "Red Hat is not against open models."
    verifier = Verifier({stance: 0.8, other: 0.8})
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], verifier)
    for word in f"{stance[:-1]} [3]. {other[:-1]} [3].".split(" "):
        stream.feed(word + " ")
    late = stream.finish()
    first = next(late)
    assert first.startswith("Red Hat does not argue") and len(verifier.asked) == 1
    assert " ".join([first, *late]).count("Red Hat") == 2


def test_without_a_verifier_an_unsupported_sentence_is_withheld_at_once() -> None:
    shown, stream = _stream("The Home Office bans transcription tools [2].")
    assert shown == ""
    assert stream.withheld[0].reason.startswith("no passage supports it")


@pytest.mark.parametrize(
    ("question", "passages", "missing"),
    [
        ("How many NHS staff get ChatGPT?", "The MoJ gives ChatGPT to 2,500 staff.", ["nhs"]),
        # initials of a hyphenated name, "U.S." for "US", adjectives of place left out
        (
            "Which US official spoke at the APEC meeting?",
            "At the Asia-Pacific Economic Cooperation meeting, a U.S. adviser spoke.",
            [],
        ),
        ("Who leads Western AI?", "The West leads in AI.", []),
        ("What does the MoJ plan?", "The Ministry of Justice plans AI tools.", []),
        ("What did the Open Compute Project save?", "OCP designs saved Meta $1.2bn.", []),
        # an abbreviation the passages spell out in lower case, and one they do not
        ("Which states fund LLMs?", "Spain funds large language models.", []),
        ("What do SMEs lack?", "Small and medium-sized enterprises lack compute.", []),
        ("Who has digital ID?", "Estonia runs digital identity systems.", []),
        ("What about GDP?", "Growth in gross domestic product slowed.", []),
        ("Who owns the IP?", "Rules are in place for partners.", ["ip"]),
        ("What did the CMA rule?", "The agency ruled on cloud markets.", ["cma"]),
        ("In the National Health Service, who uses AI?", "The NHS uses AI.", []),
        ("How many Ministry of Justice staff use AI?", "The MoJ gives staff AI.", []),
        # a country whose code is a small word ("CAN") is looked for by its code
        ("How much does Canada spend on AI?", "You can see the UK spend on AI.", ["canada"]),
        ("How much does Canada spend on AI?", "Canada and the UK spend on AI.", []),
        # two names are not one acronym: "Wayve and Synthesia" is not "was"
        ("What did Wayve and Synthesia raise?", "It was a big year.", ["wayve", "synthesia"]),
        (
            "What did the Open Compute Project save?",
            "Meta saved $1.2bn.",
            ["open", "compute", "project"],
        ),
        # a capital stands for its country's government, but only that country's
        ("What did Tokyo decide about AI?", "Japan decided to fund AI.", []),
        ("What does Berlin fund in AI?", "France funds AI.", ["berlin"]),
        # a run that ends in an adjective of place names no one
        ("How do North American firms use AI?", "Firms in the U.S. use AI.", []),
        ("Which South Korean plan funds AI?", "Korea's plan funds AI.", []),
        # named in the question's order, as a reader writes them
        ("What did Red Hat say?", "Jonny Williams spoke.", ["red", "hat"]),
    ],
)
def test_names_the_question_uses_that_no_passage_mentions(
    question: str, passages: str, missing: list[str]
) -> None:

    assert unmentioned(question, passages) == missing


def test_a_sentence_that_is_only_a_title_is_dropped_but_a_title_inside_one_stays() -> None:
    title = "UK needs clearer vision on AI sovereignty"
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], titles=[title])
    text = f"{title} [1]. Red Hat said sovereignty needs the ability to switch providers [3]."
    shown = [piece for word in text.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip() == (
        "Red Hat said sovereignty needs the ability to switch providers [3]."
    )
    inside = f"As “{title}” notes, the UK lacks a vision [1]."
    assert stream._clean(inside) == inside
    # with an article before it or quoted, it is still only the title
    assert stream._clean(f"The {title} [1].") == ""
    assert stream._clean(f"“{title}.” [2]") == ""
    the_title = SentenceStream([f"label\n{p}" for p in PASSAGES], titles=["The Open Dividend"])
    assert the_title._clean("The Open Dividend [4].") == ""
    assert the_title._clean("Open Dividend [4].") == ""


def test_a_sentence_that_is_only_a_short_section_heading_is_dropped() -> None:
    headings = [
        "5. Integrating Digital Initiatives",
        "Key Points",
        "4. Influence a positive future for AI globally by openly sharing tools",
    ]
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], headings=headings)
    text = "Integrating Digital Initiatives [1]. Red Hat said sovereignty needs the ability to "
    text += "switch providers [3]."
    shown = [piece for word in text.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip() == (
        "Red Hat said sovereignty needs the ability to switch providers [3]."
    )
    assert stream._clean("5. Integrating Digital Initiatives.") == ""
    assert stream._clean("Key points [2].") == ""
    # a one-word heading can be the answer: "Which country built SEA-LION?"
    countries = SentenceStream([f"label\n{p}" for p in PASSAGES], headings=["SINGAPORE"])
    assert countries._clean("Singapore [1].") == "Singapore [1]."
    inside = "Estonia is named under Integrating Digital Initiatives [1]."
    assert stream._clean(inside) == inside
    # a long heading can be a sentence of the answer: a recommendation
    long = "Influence a positive future for AI globally by openly sharing tools [1]."
    assert stream._clean(long) == long


def test_a_sentence_copied_word_for_word_needs_no_verifier_even_without_its_marker() -> None:
    verifier = Verifier({})
    shown, stream = _stream(P2, verifier)  # no marker: re-cited to passage 2
    assert shown == f"{P2[:-1]} [2]." and verifier.asked == []


def test_table_rows_are_written_out_for_the_verifier_with_only_the_claims_rows() -> None:
    from assistant.answering.grounding import rows_as_sentences

    passage = (
        "Energy mix (Grid report, 2025)\nThe table gives the share of each source.\n"
        "| Source | Share in 2022 | Share in 2023 |\n| --- | --- | --- |\n"
        "| Wind | 38.5% | 41.2% |\n| Gas | 30.1% | 28.0% |\n| Sun \\| roofs | 3.0% | |\nAfter."
    )
    assert rows_as_sentences(passage, "Wind gave 41.2% in 2023.") == (
        "Energy mix (Grid report, 2025)\nThe table gives the share of each source.\n"
        "Wind: Share in 2022 38.5%; Share in 2023 41.2%.\nAfter."
    )
    everything = rows_as_sentences(passage)
    assert "Gas: Share in 2022 30.1%; Share in 2023 28.0%." in everything
    assert "Sun | roofs: Share in 2022 3.0%." in everything
    assert rows_as_sentences("No table here.", "a claim") == "No table here."


def test_a_number_the_passage_writes_in_words_is_in_the_passage() -> None:
    passage = "The first wave of releases includes four open-source models."
    assert support("The first wave had 4 open-source models.", passage).supported
    assert support("The first wave had 5 open-source models.", passage).missing_numbers == ("5",)


DEMOS = "The Open Dividend (Demos, with Mozilla, June 2025)\nAESIA supervises Spain's AI efforts."


@pytest.mark.parametrize(
    ("claim", "asked"),
    [
        (
            "AESIA oversees Spain's AI efforts, according to the Demos appendix.",
            "AESIA oversees Spain's AI efforts.",
        ),
        ("According to Demos, AESIA oversees Spain's AI.", "AESIA oversees Spain's AI."),
        ("AESIA oversees Spain's AI, in Demos's view.", "AESIA oversees Spain's AI."),
        ("AESIA oversees Spain's AI per the Demos paper.", "AESIA oversees Spain's AI."),
        # its title as the subject, where the model copied the passage's label
        ("“The Open Dividend” says that AESIA oversees Spain's AI.", "AESIA oversees Spain's AI."),
        ("“The Open Dividend” states AESIA oversees Spain's AI.", "AESIA oversees Spain's AI."),
        # a source the passage is not from stays, for the model to refuse
        ("AESIA oversees Spain's AI, according to ITIF.", None),
        ("“AI Sovereignty Makes Everyone Weaker” says AESIA oversees Spain's AI.", None),
        ("Spending on AESIA rose 5 per cent.", None),  # not a source at all
    ],
)
def test_a_claim_is_checked_without_naming_the_passage_s_own_source(
    claim: str, asked: str | None
) -> None:
    assert without_attribution(claim, DEMOS) == (asked or claim)


def test_the_model_is_asked_about_the_claim_without_its_source_s_name() -> None:
    claim = "AESIA oversees Spain's new AI programme, according to the Demos appendix."
    verifier = Verifier({"AESIA oversees Spain's new AI programme.": 0.9})
    stream = SentenceStream([DEMOS], verifier)
    shown = stream.feed(f"{claim[:-1]} [1].") + list(stream.finish())
    assert verifier.asked[0][0] == "AESIA oversees Spain's new AI programme."
    assert "".join(shown).strip() == f"{claim[:-1]} [1]."  # shown as the model wrote it


ITIF = "ITIF: AI Sovereignty Makes Everyone Weaker\nThe UK should not favour domestic AI providers."
CAM = "Cambridge report: UK needs clearer vision\nThe UK should favour domestic AI providers."


def _names(text: str) -> set[str]:
    return {doc for name, doc in (("ITIF", "itif"), ("Cambridge", "cam")) if name in text}


@pytest.mark.parametrize(
    ("passages", "sources", "shown"),
    [
        ([CAM, ITIF], ["cam", "itif"], False),  # cites the Cambridge passage only
        ([CAM, CAM.replace("Cambridge", "ITIF")], ["cam", "itif"], True),  # cites both
        ([CAM.replace("The UK", "As ITIF does, the UK")], ["cam"], True),  # it names ITIF
    ],
)
def test_a_sentence_speaking_for_two_documents_must_cite_each(
    passages: list[str], sources: list[str], shown: bool
) -> None:
    claim = "The Cambridge report and ITIF both say the UK should favour domestic AI providers"
    markers = "".join(f"[{n}]" for n in range(1, len(passages) + 1) if sources[n - 1] == "cam")
    if shown and len(passages) == 2:
        markers = "[1][2]"
    verifier = Verifier({f"{claim}.": 0.99})  # the model would agree: it is not asked
    stream = SentenceStream(passages, verifier, sources=sources, named=_names)
    out = "".join(stream.feed(f"{claim} {markers}. ") + list(stream.finish())).strip()
    assert bool(out) is shown, stream.checked
    if not shown:
        assert stream.checked[0].reason.startswith("speaks for documents it cites no passage of")
        assert verifier.asked == []


def _sources(text: str) -> set[str]:
    names = (("Demos", "demos"), ("Sovereign AI", "sov"), ("ITIF", "itif"))
    return {doc for name, doc in names if name in text}


TOOLS = "The UK should open-source its safety tools"
SETUP = "set up Sovereign-AI.org to coordinate national efforts"


@pytest.mark.parametrize(
    ("claim", "passage", "source", "shown"),
    [
        # the words are all in a Demos passage, which names the other paper only as a topic
        (
            f"The authors of the Sovereign AI paper {SETUP}",
            f"We {SETUP}, with the UK Sovereign AI Unit.",
            "demos",
            False,
        ),
        (f"The authors of the Sovereign AI paper {SETUP}", f"We {SETUP}.", "sov", True),
        (f"According to Demos, {TOOLS[0].lower()}{TOOLS[1:]}", f"{TOOLS}.", "itif", False),
        (f"According to Demos, {TOOLS[0].lower()}{TOOLS[1:]}", f"{TOOLS}.", "demos", True),
        # one document reporting a publisher's words: the passage names them
        (f"Demos argues that {TOOLS[0].lower()}{TOOLS[1:]}", f"Demos: {TOOLS}.", "itif", True),
        (f"The Demos paper notes that {TOOLS[0].lower()}{TOOLS[1:]}", f"{TOOLS}.", "itif", False),
        # but "the Demos paper" is Demos's own passage, not one quoting Demos
        (
            f"The Demos paper notes that {TOOLS[0].lower()}{TOOLS[1:]}",
            f"Demos: {TOOLS}.",
            "itif",
            False,
        ),
        (f"ITIF argues that {TOOLS[0].lower()}{TOOLS[1:]}", f"{TOOLS}.", "itif", True),
        # "Demos reporting" names Demos, not a Demos report
        (
            f"According to Demos reporting, {TOOLS[0].lower()}{TOOLS[1:]}",
            f"Demos: {TOOLS}.",
            "itif",
            True,
        ),
        (TOOLS, f"{TOOLS}.", "itif", True),  # names no source
        # "wants" says whose view it is as "argues" does
        ("ITIF wants the UK to open-source its safety tools", f"{TOOLS}.", "demos", False),
        ("ITIF wants the UK to open-source its safety tools", f"{TOOLS}.", "itif", True),
    ],
)
def test_a_sentence_naming_its_source_must_cite_a_passage_of_it(
    claim: str, passage: str, source: str, shown: bool
) -> None:
    label = {"demos": "The Open Dividend (Demos)", "sov": "Sovereign AI (Shrier)", "itif": "ITIF"}
    stream = SentenceStream([f"{label[source]}\n{passage}"], sources=[source], named=_sources)
    out = "".join(stream.feed(f"{claim} [1]. ") + list(stream.finish())).strip()
    assert bool(out) is shown, stream.checked
    if not shown and ("Sovereign AI" in passage or "Demos:" in passage):  # words all there
        assert stream.checked[0].reason.startswith("names as its source a document")


def test_a_copied_label_with_a_numbered_section_is_removed_whole() -> None:
    # a section label holds a full stop ("4. Influence ..."): the draft is not split
    # inside it, so no ", 4." is left and the heading is not glued to the first sentence
    label = "The Open Dividend (Demos, June 2025), 4. Influence the future by sharing tools"
    title = "The Open Dividend"
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], labels=[label], titles=[title])
    text = f"{label}\n{P1[:-1]} [1]."
    shown = [piece for word in text.split(" ") for piece in stream.feed(word + " ")]
    shown += stream.finish()
    assert "".join(shown).strip() == f"{P1[:-1]} [1]."
    assert stream.withheld == []


def test_a_label_fed_token_by_token_still_becomes_the_subject() -> None:
    label = "Justice digest (MoJ, 2025), 2. Staff and tools"
    stream = SentenceStream(
        [f"label\n{p}" for p in PASSAGES], labels=[label], titles=["Justice digest"]
    )
    text = f"{label} says the Ministry of Justice will give 2,500 employees AI tools [1]. "
    shown = [piece for ch in text for piece in stream.feed(ch)]  # one character at a time
    shown += stream.finish()
    assert "".join(shown).strip() == (
        "“Justice digest” says the Ministry of Justice will give 2,500 employees AI tools [1]."
    )


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("The Open Dividend: Building an AI Openness Strategy", "The Open Dividend"),
        (
            "AI Sovereignty Makes Everyone Weaker—The US Can Lead Differently",
            "AI Sovereignty Makes Everyone Weaker",
        ),
        ("UK needs clearer vision on AI sovereignty", "UK needs clearer vision on AI sovereignty"),
        ("Sovereign: AI in the age of states", "Sovereign: AI in the age of states"),
    ],
)
def test_a_sentence_names_a_document_by_its_title_without_the_subtitle(
    title: str, short: str
) -> None:
    assert short_title(title) == short


def test_a_document_named_with_its_publisher_as_the_subject_is_named_by_its_short_title() -> None:
    title = "Justice digest: staff and tools in 2025"
    named = f"{title} (Ministry of Justice)"
    stream = SentenceStream([f"label\n{p}" for p in PASSAGES], labels=[named], titles=[title])
    said = f"{named} says the Ministry of Justice will give 2,500 employees AI tools [1]."
    assert stream._clean(said) == (
        "“Justice digest” says the Ministry of Justice will give 2,500 employees AI tools [1]."
    )


def test_the_article_before_a_copied_subject_goes_with_it() -> None:
    label = "UK needs clearer vision on AI (ai@cam, 2025)"
    stream = SentenceStream(
        [f"label\n{p}" for p in PASSAGES], labels=[label], titles=["UK needs clearer vision on AI"]
    )
    said = f"The {label} says the Ministry of Justice will give 2,500 employees AI tools [1]."
    assert stream._clean(said) == (
        "“UK needs clearer vision on AI” says the Ministry of Justice will give 2,500 "
        "employees AI tools [1]."
    )


def test_a_country_named_either_way_is_the_same_country() -> None:
    """ "Britain" is met by "the UK", "America" by "the U.S."; another country is not."""
    passage = (
        "The UK's foremost advantage lies in its AI talent base, anchored by universities "
        "such as Oxford, Cambridge, Durham and Edinburgh. U.S. trade policy is erratic."
    )
    claim = "The AI talent base of Britain is anchored by Oxford, Cambridge, Durham and Edinburgh."
    assert support(claim, passage).supported
    assert not support(claim.replace("Britain", "France"), passage).supported
    assert unmentioned("How does America's erratic trade policy affect Britain?", passage) == []
    assert unmentioned("Does Germany's trade policy affect the United Kingdom?", passage) == [
        "germany"
    ]
    withheld = check_answer("The AI talent base of France is anchored by Oxford [1].", [passage])
    assert not withheld[0].supported and "france" in withheld[0].reason


def test_a_name_is_met_by_its_initials_either_way() -> None:
    """A sentence's "APEC" is in a passage that spells out "Asia-Pacific Economic
    Cooperation", and its "Open Compute Project" in one that writes "OCP"; other initials
    are not."""
    apec = "At the 21-nation Asia-Pacific Economic Cooperation meeting in South Korea last month"
    assert support("The APEC meeting in South Korea had 21 nations.", apec).supported
    assert support("The OECD meeting in South Korea had 21 nations.", apec).missing_names == (
        "oecd",
    )
    # and as a word of the sentence: "APEC" counts among the words the passage has
    few = support("There are 21 countries in APEC.", apec)
    assert few.coverage == 0.5 and not few.missing_names  # "countries" is not there
    assert support("There are 21 countries in OECD.", apec).coverage == 0.0
    ocp = "Microsoft reported over 40% cost savings in server deployment using OCP designs."
    assert support("Microsoft saved over 40% using Open Compute Project designs.", ocp).supported
    assert not support(
        "Microsoft saved over 40% using Open Source Hardware designs.", ocp
    ).supported


def test_a_word_is_the_same_whichever_apostrophe_and_with_its_possessive() -> None:
    """ "the UK's" (a model's straight apostrophe) is "the UK’s" of the passage, and a
    possessive is its word: "Singapore's" counts once beside "AI Singapore"."""
    from assistant.answering.grounding import content_words_ordered

    assert content_words_ordered("the UK's AI Safety Institute") == ["safet", "insti"]
    assert content_words_ordered("the UK’s AI Safety Institute") == ["safet", "insti"]
    assert content_words_ordered("Meta's rivals") == content_words_ordered("Meta rivals")
    passage = "It is also sharing technical insights with the UK’s AI Safety Institute."
    said = support("Technical insights go to the UK's AI Safety Institute.", passage)
    assert said.coverage == 1.0 and said.supported
    other = support("The insights of OpenAI go to the UK's AI Safety Institute.", passage)
    assert other.coverage == 0.8 and other.missing_names == ("openai",)
    # a possessive dropped does not make two sentences on two names one repeated
    stream = SentenceStream(["The UK’s and the EU’s approach prioritises safety and growth."])
    text = "The UK's approach prioritises safety and growth [1]. "
    shown = list(stream.feed(text + text.replace("UK", "EU") + text)) + list(stream.finish())
    assert [c.supported for c in stream.checked] == [True, True, False]
    assert stream.checked[2].reason == "repeats an earlier sentence"
    assert "EU's approach" in "".join(shown)


def test_an_adjective_of_place_is_met_by_its_place() -> None:
    """ "South Korean" is in a passage on "South Korea" or "Korea", "Western" in one on
    "the West", "American" in one on "the United States"; not in one on another place."""
    korea = "The National Strategy for Artificial Intelligence of Korea (2019) sets out AI plans."
    assert support("The South Korean national AI strategy dates from 2019.", korea).supported
    assert support("The South Korean strategy for AI dates from 2019.", "South " + korea).supported
    west = "ITIF urges the West to push back against China's state-backed model."
    assert support("ITIF says Western leadership should push back against China.", west).supported
    us = "In the United States, the NIST AI Risk Management Framework guides voluntary governance."
    assert support(
        "The American NIST AI Risk Management Framework guides governance.", us
    ).supported
    assert support("The Japanese national AI strategy dates from 2019.", korea).missing_names == (
        "japanese",
    )


def test_the_verifier_reads_the_label_and_the_closest_sentences_of_a_long_passage() -> None:
    filler = [f"The council also reviewed item {n} of the annual plan." for n in range(8)]
    passage = " ".join([*filler[:4], P2, *filler[4:]])
    claim = "Staff on probation duty already rely on transcription software."
    shown = evidence([f"Justice digest (MoJ, 2025)\n{passage}"], claim)
    label, text = shown.split("\n")
    assert label == "Justice digest (MoJ, 2025)"
    assert EVIDENCE_SENTENCES == 3
    assert text == " ".join([filler[0], filler[1], P2])  # in the passage's order
    # each passage keeps its own label; a short passage is read whole
    both = evidence(["A (X)\n" + P1, "B (Y)\n" + passage], claim, keep=2)
    assert both.startswith(f"A (X)\n{P1}\n\nB (Y)\n") and P2 in both
    # and that is what the sentence stream's verifier is asked
    verifier = Verifier({claim: 0.9})
    stream = SentenceStream([f"Justice digest (MoJ, 2025)\n{passage}"], verifier)
    list(stream.feed(f"{claim} [1] "))
    list(stream.finish())
    assert verifier.asked == [(claim, shown)]


def test_a_claim_that_sums_up_a_list_is_checked_against_every_item() -> None:
    items = ["- Wind: a third of supply.", "- Solar: a tenth of supply.", "- Tidal: trials only."]
    passage = "\n".join(["Plan (Council)", "The plan names three sources.", *items, "Other."])
    claim = "The plan names three sources: wind, solar and tidal."
    shown = evidence([passage], claim, keep=1)
    assert shown.split("\n")[1:] == ["The plan names three sources.", *items]


def _cited_once(claim: str, passage: str, verifier: Verifier) -> tuple[str, SentenceStream]:
    """What the stream shows of "<claim> [1]." drafted over the one passage."""
    stream = SentenceStream([passage], verifier)
    text = "".join(stream.feed(f"{claim} [1].") + list(stream.finish())).strip()
    return text, stream


OCP = (
    "Open standards (Demos, 2025)\nThe benefits of open standards are clear. Microsoft, for "
    "example, has reported over 40% cost savings using OCP designs, Meta reported saving "
    "$1.2 billion, and others followed."
)


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        ("Meta reported over 40% cost savings using OCP designs", False),
        ("Microsoft reported over 40% cost savings using OCP designs", True),
        ("Meta reported saving $1.2 billion", True),
        ("Microsoft reported saving $1.2 billion", False),
        ("Firms reported over 40% cost savings using OCP designs", True),  # not a swap
        ("OCP designs saved over 40% of costs", True),  # an acronym owns no figure
    ],
)
def test_a_figure_given_to_another_name_than_its_passage_gives_it_is_withheld(
    claim: str, shown: bool
) -> None:
    from assistant.answering.grounding import MISATTRIBUTED

    verifier = Verifier({f"{claim}.": 0.99})  # the model would agree: it is not asked
    text, stream = _cited_once(claim, OCP, verifier)
    assert (text == f"{claim} [1].") is shown, stream.checked
    if not shown:
        assert stream.checked[0].reason.startswith(MISATTRIBUTED)
        assert not verifier.asked


APEC = (
    "AI Sovereignty Makes Everyone Weaker (ITIF)\nAt the 21-nation Asia-Pacific Economic "
    "Cooperation meeting in South Korea last month, White House Technology Advisor Michael "
    "Kratsios endorsed the idea of AI sovereignty."
)


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        # asked "Who at the White House endorsed AI sovereignty, and where?"
        ("Michael Kratsios endorsed AI sovereignty at the White House", False),
        ("Kratsios endorsed AI sovereignty at the Asia-Pacific Economic Cooperation meeting", True),
        ("Kratsios endorsed AI sovereignty at the APEC meeting in South Korea", True),  # no name
        ("White House Technology Advisor Michael Kratsios endorsed AI sovereignty", True),
        # after a name, whose he is, not where he was: asked "Who at the White House ...?"
        ("Michael Kratsios at the White House backed AI sovereignty", True),
        ("Michael Kratsios endorsed AI sovereignty at the ITIF", True),  # only its label names it
        ("Kratsios endorsed AI at the White House", False),  # "AI" is no person
        ("Kratsios is good at AI and aimed it at US firms", True),  # no place
        ("Officials at the White House endorsed AI sovereignty", True),  # whose, not where
    ],
)
def test_a_name_put_at_a_place_its_passage_does_not_put_it_is_withheld(
    claim: str, shown: bool
) -> None:
    from assistant.answering.grounding import MISPLACED

    verifier = Verifier({f"{claim}.": 0.99})  # the model would agree: it is not asked
    text, stream = _cited_once(claim, APEC, verifier)
    if not shown:
        assert text == "", stream.checked
        assert stream.checked[0].reason == f"{MISPLACED} (“at the White House”)", stream.checked
        assert not verifier.asked
    else:
        assert not any(c.reason.startswith(MISPLACED) for c in stream.checked), stream.checked


CAMBRIDGE = (
    "UK needs clearer vision on AI sovereignty (ai@cam)\n“The UK has world-class "
    "universities and the NHS,” said Professor Neil Lawrence, DeepMind Professor of Machine "
    "Learning. The report was written by the ai@cam team.\n\n**Jessica Montgomery**"
)


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        # asked "Who wrote the Cambridge piece?": the passage quotes him, he wrote nothing
        ("The piece was written by Professor Neil Lawrence, DeepMind Professor", False),
        ("Neil Lawrence wrote that the UK has world-class universities and the NHS", False),
        ("Professor Neil Lawrence said the UK has world-class universities and the NHS", True),
        ("The report was written by the ai@cam team", True),  # no name
        ("The report was written by Jessica Montgomery", True),  # a byline of its own
        ("It was written by Professor Lawrence", False),
    ],
)
def test_a_name_made_an_author_where_its_passage_does_not_is_withheld(
    claim: str, shown: bool
) -> None:
    from assistant.answering.grounding import MISAUTHORED

    verifier = Verifier({f"{claim}.": 0.99})
    text, stream = _cited_once(claim, CAMBRIDGE, verifier)
    if not shown:
        assert text == "", stream.checked
        assert stream.checked[0].reason.startswith(MISAUTHORED), stream.checked
    else:
        assert not any(c.reason.startswith(MISAUTHORED) for c in stream.checked), stream.checked


ITIF = (
    "AI Sovereignty Makes Everyone Weaker (ITIF)\nIt is protectionism, plain and simple. AI "
    "sovereignty, whether focused on self-sufficiency or on control, does more than harm "
    "foreign companies; it undermines the project of collective AI leadership that the "
    "United States and its partners should be advancing together. Countries that build "
    "their own stacks duplicate capacity."
)


@pytest.mark.parametrize(
    ("claim", "question", "shown"),
    [
        # the passage is against it; every word is the passage's or the question's
        (
            "ITIF argues that countries should build sovereign AI, stating that it does "
            "more than harm foreign companies",
            "Do ITIF and Demos agree on whether countries should build sovereign AI?",
            False,
        ),
        ("Countries must not build their own stacks", "", False),
        # the advice is the passage's
        (
            "ITIF says the United States and its partners should advance collective AI "
            "leadership together",
            "",
            True,
        ),
        # the question gives the advice: the answer is about it, not giving it
        (
            "ITIF says countries should build their own stacks because it duplicates capacity",
            "Why does ITIF say countries should build their own stacks?",
            True,
        ),
        ("Countries that build their own stacks duplicate capacity", "", True),  # no advice
    ],
)
def test_advice_its_passage_does_not_give_is_withheld(
    claim: str, question: str, shown: bool
) -> None:
    from assistant.answering.grounding import MISADVISED

    verifier = Verifier({f"{claim}.": 0.9})  # the model agreed with the first in use
    stream = SentenceStream([ITIF], verifier)
    stream.question = question
    text = "".join(stream.feed(f"{claim} [1].") + list(stream.finish())).strip()
    if not shown:
        assert text == "", stream.checked
        assert stream.checked[0].reason.startswith(MISADVISED), stream.checked
        assert not verifier.asked
    else:
        assert text, stream.checked
        assert not any(c.reason.startswith(MISADVISED) for c in stream.checked)


@pytest.mark.parametrize(
    ("claim", "passage", "advice"),
    [
        # ITIF describes the UK's policy to criticise it
        (
            "ITIF wants the UK to give better market access to domestic providers",
            "Britain will give better market access to domestic providers. It is protectionism.",
            "wants the UK to give",
        ),
        (
            "The report wants the government to use the NHS as an anchor customer",
            "Government could use public services like the NHS as an anchor customer.",
            None,
        ),
        (
            "The authors want governments to first evaluate their national priorities",
            "Governments must evaluate their national priorities before committing.",
            None,
        ),
        # a quotation: the passage's own words
        (
            'He said "we want you to have the AI sovereignty you demand"',
            '"We want you to have the AI sovereignty you demand," he said.',
            None,
        ),
    ],
)
def test_what_a_source_wants_done_is_advice_too(
    claim: str, passage: str, advice: str | None
) -> None:
    from assistant.answering.grounding import misadvised

    assert misadvised(claim, passage) == advice


@pytest.mark.parametrize(
    ("claim", "passage", "question", "advice"),
    [
        # the passage advises against it
        (
            "ITIF argues countries should build sovereign AI",
            "Countries should not build sovereign AI stacks.",
            "",
            "should build",
        ),
        ("Users must also not share passwords", "Users must never share passwords.", "", None),
        # "could" recommends only with the verb after it
        (
            "Countries should build their own stacks",
            "Countries that build their own stacks could duplicate capacity.",
            "",
            "should build",
        ),
        # a yes-or-no question asks about the advice; it does not give it
        (
            "ITIF says countries should build sovereign AI",
            "It is protectionism.",
            "Does ITIF think countries should build sovereign AI?",
            "should build",
        ),
        # no advice at all
        ("The UK has to date committed £2 billion", "The UK has committed £2 billion.", "", None),
        ("Should the UK fail, it will fall behind", "The UK may fall behind.", "", None),
        ("Demos wants access to compute", "Access to compute matters.", "", None),
        ("Demos urges caution to avoid lock-in", "Caution avoids lock-in.", "", None),
        # a noun opening a sentence bids nothing
        (
            "The UK should support startups",
            "Support for startups has fallen.",
            "",
            "should support",
        ),
    ],
)
def test_advice_is_read_as_advice_and_only_advice(
    claim: str, passage: str, question: str, advice: str | None
) -> None:
    from assistant.answering.grounding import misadvised

    assert misadvised(claim, passage, question) == advice


@pytest.mark.parametrize(
    ("claim", "advice"),
    [
        ("Demos says the UK should identify and develop high-impact datasets", None),
        ("The UK should urgently reset its relationship with the EU", None),
        # a sentence opening on "Building" bids nothing
        ("Demos says the UK should build a sovereign model", "should build"),
        ("Demos says the UK should not share data with the EU", "should not share"),
    ],
)
def test_a_recommendation_written_as_a_bidding_is_advice(claim: str, advice: str | None) -> None:
    from assistant.answering.grounding import misadvised

    body = (
        "1d\tBuilding on AP Proposals 7-9: Identify and develop high-impact datasets that "
        "can be shared.\n1f\tUrgently reset relationship with the EU on the Data Union "
        "Strategy. Building a sovereign model would cost billions. The EU shares data with "
        "the UK."
    )
    assert misadvised(claim, body) == advice


DIFFUSION = (
    "The Open Dividend (Demos), 2.3 Export controls\nThree tiers of countries face export "
    "controls. However, the Trump administration is changing up the rules again, doing away "
    "with the tiered approach, and is reportedly looking instead to implement a global licencing"
)


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        # copied up to where the passage (a chunk) stops, mid-sentence
        (
            "The Trump administration is reportedly looking instead to implement a global "
            "licencing",
            False,
        ),
        ("Three tiers of countries face export controls", True),
        ("The Trump administration is doing away with the tiered approach", True),
    ],
)
def test_a_sentence_that_ends_where_its_passage_is_cut_off_is_withheld(
    claim: str, shown: bool
) -> None:
    from assistant.answering.grounding import CUT_SHORT

    verifier = Verifier({f"{claim}.": 0.9})
    text, stream = _cited_once(claim, DIFFUSION, verifier)
    assert bool(text) == shown, stream.checked
    assert any(c.reason.startswith(CUT_SHORT) for c in stream.checked) != shown


@pytest.mark.parametrize(
    "end",
    [
        "Read the full report: *Navigating AI Sovereignty: Strategic Choices for the UK*",
        "the following key steps should be considered:",
        "5. Integrating Digital Initiatives",  # a heading: the passage's next section
        # an item of a list, whole without a full stop
        "- Develop sovereign compute capacity across the regions of the country in every region",
    ],
)
def test_a_passage_that_ends_a_sentence_or_on_a_heading_is_not_cut_off(end: str) -> None:
    from assistant.answering.grounding import cut_short

    passage = f"Title\nSome prose before it.\n{end}"
    assert not cut_short(f"It says {end.rstrip(':*')}.", passage)


EURO = (
    "The Open Dividend (Demos)\nThe EU has provided €20 million funding to the OpenEuroLLM "
    "project. The UK has its own compute plans. Spain's government gave €10 million to "
    "ALIA; Spain also funds MareNostrum. In 2025 the UK spent £2 billion on compute."
)


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        # the figure is the EU's in its sentence; the passage names the UK elsewhere
        ("The UK has committed €20 million funding to the OpenEuroLLM project", False),
        ("The EU has provided €20 million funding to the OpenEuroLLM project", True),
        ("Spain gave €10 million to ALIA", True),
        ("The UK spent £2 billion on compute in 2025", True),
        ("OpenEuroLLM received €20 million", True),  # no country given it
        ("Spain put €20 million into OpenEuroLLM", False),
        # a place after the figure is where it goes, not whose it is
        ("OpenEuroLLM got €20 million, more than any project in the UK", True),
    ],
)
def test_a_figure_given_to_another_country_than_its_passage_does_is_withheld(
    claim: str, shown: bool
) -> None:
    verifier = Verifier({f"{claim}.": 0.9})  # the model agreed in use
    text, stream = _cited_once(claim, EURO, verifier)
    assert bool(text) == shown, stream.checked
    if not shown:
        assert stream.checked[0].reason.endswith("(20 is EU's there, not UK's)") or (
            stream.checked[0].reason.endswith("(20 is EU's there, not Spain's)")
        )
        assert not verifier.asked


def test_a_name_put_at_another_place_is_withheld_even_when_the_verifier_passes_it() -> None:
    from assistant.answering.grounding import MISPLACED

    # fewer than 60% of its words are in the passage: the lexical test fails it and the
    # verifier, which would pass it, is asked; the place is still wrong
    claim = "Kratsios voiced his support for national control of computing at the White House"
    verifier = Verifier({f"{claim}.": 0.95})
    text, stream = _cited_once(claim, APEC, verifier)
    assert text == "", stream.checked
    assert verifier.asked
    assert stream.checked[0].reason.startswith(MISPLACED), stream.checked


@pytest.mark.parametrize(
    "claim",
    [
        "Sovereign AI is described as a strategic question",  # a topic, in the passive
        "National AI strategies are expected to grow",
    ],
)
def test_a_topic_that_shares_a_document_name_is_no_source(claim: str) -> None:
    stream = SentenceStream(
        [f"Cambridge report\n{claim}."],
        sources=["cam"],
        named=lambda text: {"sov"} if "Sovereign AI" in text or "National AI" in text else set(),
    )
    out = "".join(stream.feed(f"{claim} [1]. ") + list(stream.finish())).strip()
    assert out, stream.checked


@pytest.mark.parametrize(
    ("question", "p", "shown"),
    [
        ("Which staff use transcription tools?", 0.5, True),  # the passage's answer
        ("Which staff use transcription tools?", 0.3, False),  # the model says no
        ("Which staff use transcription tools?", 0.7, True),  # the model agrees
        ("How many probation officers use transcription tools?", 0.5, False),  # adds a figure
        ("", 0.5, False),  # the question is not known
    ],
)
def test_a_sentence_adding_only_its_passage_s_words_to_the_question_is_shown_when_unsure(
    question: str, p: float, shown: bool
) -> None:
    claim = "More than 1,000 probation officers use transcription tools."
    verifier = Verifier({claim: p})
    stream = SentenceStream([f"label\n{x}" for x in PASSAGES], verifier)
    stream.question = question
    out = "".join(stream.feed(f"{claim[:-1]} [1]. ") + list(stream.finish())).strip()
    assert bool(out) is shown, stream.checked
    assert verifier.asked  # cited to passage 1, re-cited to 2: the model is asked
    if shown and p < 0.6:
        assert out == f"{claim[:-1]} [2]." and "the model is unsure" in stream.checked[0].reason
