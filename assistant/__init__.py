"""Offline policy assistant: cited answers from local documents with a local model.

The public API: `Assistant` (answering/assistant.py), `Settings`, `Answer` and
`Citation`. They are imported on first use, so `import assistant` stays cheap for a
command that needs none of them. ARCHITECTURE.md maps the subpackages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Answer", "Assistant", "Citation", "Settings"]

if TYPE_CHECKING:
    from .answering.assistant import Assistant
    from .answers import Answer, Citation
    from .settings import Settings

_HOMES = {
    "Assistant": ".answering.assistant",
    "Answer": ".answers",
    "Citation": ".answers",
    "Settings": ".settings",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES[name], __name__), name)
