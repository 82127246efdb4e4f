"""Tables in PDF and DOCX files, asked for one cell, answered by the real model."""

from __future__ import annotations

import pytest
from conftest import real_model_path, real_settings
from test_documents import SHARES, make_table_pdf

from assistant.answering.assistant import Assistant
from assistant.settings import DEFAULT_MODEL

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    import docx

    real_model_path(DEFAULT_MODEL)
    tmp = tmp_path_factory.mktemp("tables")
    corpus = tmp / "corpus"
    corpus.mkdir()
    shares = [list(row) for row in SHARES]
    shares[45] = ["Wind", "38.5%", "41.2%"]  # a row on the table's second page
    make_table_pdf(corpus / "energy.pdf", shares)
    document = docx.Document()
    document.add_heading("Probation staffing", level=1)
    document.add_paragraph("The service reports its staff by region each year.")
    table = document.add_table(rows=4, cols=3)
    rows = [
        ["Region", "Staff in 2022", "Staff in 2023"],
        ["North", "1,020", "1,180"],
        ["South", "870", "905"],
        ["Wales", "410", "432"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(str(corpus / "staffing.docx"))
    assistant = Assistant(real_settings(tmp, corpus))
    assert sorted(assistant.index().added) == ["energy", "staffing"]
    return assistant


@pytest.mark.parametrize(
    ("question", "value", "doc_id", "page"),
    [
        ("What share of electricity came from wind in 2023?", "41.2%", "energy", 2),
        ("How many probation staff did the South region have in 2023?", "905", "staffing", None),
    ],
)
def test_a_table_cell_is_found_by_its_row_and_column(
    assistant: Assistant, question: str, value: str, doc_id: str, page: int | None
) -> None:
    answer = assistant.ask(question)
    assert value in answer.answer and not answer.declined, answer.answer
    cited = [c for c in answer.citations if value in c.text]
    assert cited and cited[0].doc_id == doc_id and cited[0].page == page
