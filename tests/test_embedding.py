"""The real embedder: a query embedded by the ONNX graph is the vector sentence-transformers
gives, without torch loaded; a graph that no longer matches its record is not used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.ingest.embedding import MiniLMEmbedder
from assistant.ingest.embedding_graph import GRAPH_FILE, RECORD_FILE, QueryGraph

QUERIES = [
    "How many Ministry of Justice staff get AI tools under the OpenAI deal?",
    "What does Demos want the UK government to do about open-source AI?",
]


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("embedder")
    MiniLMEmbedder(graph_dir=folder).ensure_graph()
    return folder


def test_a_query_is_embedded_by_the_graph_without_torch(graph_dir: Path) -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from assistant.ingest.embedding import MiniLMEmbedder\n"
        f"embedder = MiniLMEmbedder(graph_dir=Path({str(graph_dir)!r}))\n"
        f"vectors = embedder.embed({QUERIES!r})\n"
        "print(json.dumps({'graph': embedder.uses_graph, 'vectors': vectors.tolist(),\n"
        "    'loaded': [m for m in ('torch', 'sentence_transformers', 'transformers')\n"
        "               if m in sys.modules]}))\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    out = json.loads(ran.stdout)
    assert out["graph"] and out["loaded"] == []
    plain = MiniLMEmbedder()  # no graph: sentence-transformers
    expected = plain.embed(QUERIES)
    cosine = (np.array(out["vectors"]) * expected).sum(axis=1)
    assert cosine.min() > 0.9999


def test_a_graph_changed_after_export_is_not_used_and_is_made_again(
    graph_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "embedder"
    folder.mkdir()
    for name in (GRAPH_FILE, RECORD_FILE):
        (folder / name).write_bytes((graph_dir / name).read_bytes())
    embedder = MiniLMEmbedder(graph_dir=folder)
    assert embedder.uses_graph
    with (folder / GRAPH_FILE).open("ab") as graph:
        graph.write(b"\0")
    assert QueryGraph.load(folder, embedder.model_dir) is None
    again = MiniLMEmbedder(graph_dir=folder)
    assert not again.uses_graph
    again.ensure_graph()
    assert again.uses_graph
    record = json.loads((folder / RECORD_FILE).read_text())
    assert record["graph"] == json.loads((graph_dir / RECORD_FILE).read_text())["graph"]


def test_a_missing_graph_is_exported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.ingest.embedding_graph as embedding_graph

    exported = []
    export = embedding_graph.export
    monkeypatch.setattr(
        embedding_graph, "export", lambda *args: exported.append(args) or export(*args)
    )
    embedder = MiniLMEmbedder(graph_dir=tmp_path)  # sentence-transformers not loaded yet
    embedder.ensure_graph()
    embedder.ensure_graph()
    assert embedder.uses_graph and len(exported) == 1


def test_tokens_are_counted_as_the_model_reads_them() -> None:
    embedder = MiniLMEmbedder()
    text = "The MoJ's 2,500 staff, e.g. in HMCTS, get Copilot-style tools. " * 40
    hf = embedder.model.tokenizer
    assert embedder.count_tokens(text) == len(hf.encode(text, add_special_tokens=False))
    assert embedder.count_tokens(text) > 256  # counted past what is embedded
