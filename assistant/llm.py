"""Generation: a GGUF model run in-process by llama.cpp, streamed token by token.

`Generator` is the interface the answering stage needs: stream a chat reply, count
tokens, know the context window. `LlamaGenerator` implements it with llama-cpp-python;
tests use fakes. One generation runs at a time per model (a lock), because a llama.cpp
context is not safe to share between threads; callers queue on it.

llama-cpp-python keeps the evaluated tokens of the last prompt and reuses the longest
common prefix, so the fixed system prompt at the start of every request is evaluated
once, not per question.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

Message = dict[str, str]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class Generator(Protocol):
    name: str
    sha256: str
    n_ctx: int

    def stream(
        self, messages: list[Message], max_tokens: int, stats: GenerationStats
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


class LlamaGenerator:
    def __init__(
        self,
        path: Path,
        name: str,
        sha256: str,
        n_ctx: int = 4096,
        n_threads: int = 2,
        n_batch: int = 512,
        n_threads_batch: int | None = None,
        use_mmap: bool = False,
        temperature: float = 0.0,
        seed: int = 42,
    ) -> None:
        from llama_cpp import Llama

        self.name = name
        self.sha256 = sha256
        self.path = path
        self.temperature = temperature
        self.seed = seed
        self.llama = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads_batch or n_threads,
            n_batch=n_batch,
            seed=seed,
            use_mmap=use_mmap,
            verbose=False,
        )
        self.n_ctx = self.llama.n_ctx()
        self.lock = threading.Lock()

    def warm(self, system: str) -> None:
        """Evaluate the system prompt alone, leaving llama.cpp's cache holding just that
        prefix (the benchmark's sweep starts each run from it)."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": ""}]
        for _ in self.stream(messages, 1, GenerationStats()):
            pass

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self, messages: list[Message], max_tokens: int, stats: GenerationStats
    ) -> Iterator[str]:
        with self.lock:
            self.llama.set_seed(self.seed)
            chunks = self.llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=self.temperature,
                top_k=1 if self.temperature == 0 else 40,
                seed=self.seed,
                stream=True,
            )
            completion = 0
            try:
                for chunk in chunks:
                    delta: dict[str, Any] = chunk["choices"][0]["delta"]  # type: ignore
                    text = str(delta.get("content") or "")
                    if text:
                        completion += 1
                        yield text
            finally:
                stats.completion_tokens = completion
                stats.prompt_tokens = max(0, self.llama.n_tokens - completion)
