"""Generation on a server: any OpenAI-compatible chat endpoint, streamed over HTTP.

One laptop serves one user; a department points every assistant at one model server
instead: llama.cpp's `llama-server`, `python -m llama_cpp.server`, or vLLM on a GPU box.
`OpenAIGenerator` implements the same `Generator` interface as the in-process model,
streaming `POST {base_url}/chat/completions` through the `openai` client (no retries: a
failure is reported at once, with what to do).

Tokens are counted (to pack the prompt) by the server when it offers a tokenizer
(llama_cpp.server's `/extras/tokenize/count`, vLLM's `/tokenize`), else by the GGUF named
in `generation.remote_gguf` loaded vocabulary-only, else estimated from the length.

The model's identity: the SHA-256 of `generation.remote_gguf` when it is given (the
operator states which file the server runs; it is hashed and verified like a local one),
otherwise the server's model id, recorded as unverified: a server cannot prove its weights.

Not done here: retries and load balancing (put a proxy in front of several servers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import openai

from ..errors import GeneratorUnavailable
from ..settings import Settings
from .catalog import ModelStore
from .llm import GenerationStats, Message, vocabulary_counter

UNVERIFIED = "unverified"
CHARS_PER_TOKEN = 3.5  # English prose in BPE vocabularies: an overestimate keeps prompts safe
NO_KEY = "none"  # the client wants a key; without one configured, no Authorization is sent


class OpenAIGenerator:
    """A chat model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        base_url: str,
        model: str = "",
        api_key: str = "",
        n_ctx: int = 4096,
        temperature: float = 0.0,
        seed: int = 42,
        timeout_s: float = 120.0,
        verified: tuple[str, str, Path] | None = None,  # (name, sha256, path) of the GGUF
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.root_url = self.base_url.removesuffix("/v1")
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or NO_KEY,
            timeout=openai.Timeout(timeout_s, connect=5),
            max_retries=0,
        )
        self.headers: dict[str, Any] = {} if api_key else {"Authorization": openai.Omit()}
        self.temperature = temperature
        self.seed = seed
        self.n_ctx = n_ctx
        self.model = model or self._first_model()
        self.path: Path | None = None
        if verified is not None:
            self.name, self.sha256, self.path = verified
        else:
            self.name, self.sha256 = f"{self.model} (server)", UNVERIFIED
        self._count = lru_cache(maxsize=1024)(self._counter(verified[2] if verified else None))

    # ------------------------------------------------------------ the interface

    def count_tokens(self, text: str) -> int:
        return int(self._count(text))

    def stream(
        self, messages: list[Message], max_tokens: int, stats: GenerationStats
    ) -> Iterator[str]:
        completion = 0
        usage: Any = None
        try:
            chunks = self.client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                max_tokens=max_tokens,
                temperature=self.temperature,
                seed=self.seed,
                stream=True,
                stream_options={"include_usage": True},  # vLLM reports usage; others ignore it
                extra_body={
                    "top_k": 1 if self.temperature == 0 else 40,
                    "repeat_penalty": 1.0,  # llama.cpp servers default to 1.1; local uses none
                },
                extra_headers=self.headers,
            )
            with chunks:
                for chunk in chunks:
                    usage = chunk.usage or usage
                    for choice in chunk.choices:
                        text = choice.delta.content if choice.delta else None
                        if text:
                            completion += 1
                            yield text
        except openai.APIError as exc:
            raise GeneratorUnavailable(self._failed(exc)) from exc
        finally:
            stats.completion_tokens = int(getattr(usage, "completion_tokens", 0) or completion)
            if getattr(usage, "prompt_tokens", 0):
                stats.prompt_tokens = int(usage.prompt_tokens)
            elif completion:  # the template's few tokens are not counted
                stats.prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
                stats.extra["prompt_tokens_estimated"] = 1.0

    # ------------------------------------------------------------ internals

    def _first_model(self) -> str:
        try:
            models = self.client.models.list(extra_headers=self.headers).data
        except openai.APIError as exc:
            raise GeneratorUnavailable(self._failed(exc)) from exc
        if not models:
            raise GeneratorUnavailable(f"The model server at {self.base_url} serves no model.")
        return str(models[0].id)

    def _counter(self, gguf: Path | None) -> Callable[[str], int]:
        """The most exact token counter available, probed once: the named GGUF's own
        vocabulary first (exact, and no trip to the server, where a count waits behind
        the answers being generated: llama_cpp.server takes one request at a time), then
        the server's tokenizer, else an estimate from the length."""
        if gguf is not None:
            return vocabulary_counter(gguf)
        for path, key, field in (
            ("/extras/tokenize/count", "input", "count"),
            ("/tokenize", "prompt", "count"),
        ):
            url = self.root_url + path
            try:
                reply = self._post(url, {key: "probe", "model": self.model})
            except (openai.APIError, ValueError):
                continue
            if isinstance(reply, dict) and field in reply:
                return self._server_counter(url, key, field)
        return lambda text: int(len(text) / CHARS_PER_TOKEN) + 1

    def _server_counter(self, url: str, key: str, field: str) -> Callable[[str], int]:
        def count(text: str) -> int:
            try:
                return int(self._post(url, {key: text, "model": self.model})[field])
            except openai.APIError as exc:
                raise GeneratorUnavailable(self._failed(exc)) from exc

        return count

    def _post(self, url: str, body: dict[str, str]) -> Any:
        """POST to one of the server's own endpoints (outside the OpenAI API); its JSON."""
        return self.client.post(url, body=body, cast_to=object, options={"headers": self.headers})

    def _failed(self, exc: openai.APIError) -> str:
        if isinstance(exc, openai.APIStatusError):
            detail = exc.response.text[:300].strip()
            return (
                f"The model server at {self.base_url} answered HTTP {exc.status_code}: "
                f"{detail}. Check generation.remote_model and generation.api_key."
            )
        if isinstance(exc, openai.APIConnectionError):  # refused, timed out, cut off
            reason = exc.__cause__ or exc
            return (
                f"The model server at {self.base_url} cannot be reached ({reason}). Start it "
                "(README: 'Serving many users'), fix generation.base_url, or set "
                'generation.backend = "local" to run the model in-process.'
            )
        return (  # an error event in the stream
            f"The model server at {self.base_url} failed while answering ({exc.message}). "
            'Its log says why; ask again, or set generation.backend = "local".'
        )


def load_remote(
    settings: Settings, progress: Callable[[str, int, int], None] | None = None
) -> OpenAIGenerator:
    """The configured server's client; the GGUF it runs is verified when one is named."""
    g = settings.generation
    verified = None
    if g.remote_gguf:
        model = ModelStore(settings.paths.models_dir, progress).resolve(g.remote_gguf)
        verified = (model.name, model.sha256, model.path)
    return OpenAIGenerator(
        g.base_url,
        model=g.remote_model,
        api_key=g.api_key,
        n_ctx=g.n_ctx,
        temperature=g.temperature,
        seed=g.seed,
        timeout_s=g.timeout_s,
        verified=verified,
    )
