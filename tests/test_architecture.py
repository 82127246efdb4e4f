"""The invariants ARCHITECTURE.md names, read from the source: no import circles between
modules, and the product never importing its instruments (the evaluation, the benchmark)
or its front ends."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"
PRODUCT = (
    "ingest",
    "answering",
    "generation",
    "trust",
    "answers",
    "settings",
    "errors",
    "files",
    "records",
)
INSTRUMENTS_AND_FRONT_ENDS = ("evaluation", "bench", "app", "deploy")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _area(module: str) -> str:
    """ "assistant.answering.grounding" -> "answering"; the package itself -> ""."""
    return module.split(".")[1] if "." in module else ""


def _is_type_checking(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and (node.test.id == "TYPE_CHECKING")
    )


def import_graph() -> nx.DiGraph:
    """Module -> the package modules it imports when it runs, at the top or inside a
    function (not the names imported only for type annotations)."""
    graph = nx.DiGraph()
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        graph.add_node(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:  # names for annotations: not imported at run time
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert graph.has_edge("assistant.answering.assistant", "assistant.answering.grounding")
    assert graph.has_edge("assistant.app.cli", "assistant.evaluation.runner")  # inside a function


def test_no_module_imports_itself_back() -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert circles == []


def test_the_product_never_imports_the_evaluation_the_benchmark_or_the_front_ends() -> None:
    graph = import_graph()
    product = [n for n in graph if _area(n) in PRODUCT]
    assert len(product) > 20
    wrong = [
        (a, b)
        for a in product
        for b in graph.successors(a)
        if _area(b) in INSTRUMENTS_AND_FRONT_ENDS
    ]
    assert wrong == []
