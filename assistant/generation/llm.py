"""Generation: a GGUF model run in-process by llama.cpp, streamed token by token.

`Generator` is the interface the answering stage needs: stream a chat reply, count
tokens, know the context window. `LlamaGenerator` implements it with llama-cpp-python;
tests use fakes. One generation runs at a time per model (a lock), because a llama.cpp
context is not safe to share between threads; callers queue on it.

The same messages give the same answer whatever the process did before. llama.cpp's
numbers for a prompt depend on how its tokens were split into batches, and reusing the
longest common prefix of the previous prompt (llama-cpp-python's default) splits each
prompt differently: a question asked first and asked after another could be answered
differently. So every request starts from exactly the system prompt, evaluated alone
in its own batches: kept in llama.cpp's cache when it is still there, restored from a
saved copy of that sequence's memory when something else (the sentence verifier) used
the context meanwhile, evaluated afresh only the first time. The sentence verifier's
own system prompt is kept the same way, so a claim gets the same verdict whatever was
asked before, without its instructions read again for every answer. Each copy is kept on
disk (`state_dir`), named by everything its numbers depend on (the model file, the
tokens, the context and batch sizes, the threads, llama.cpp's version), so a new process
starts from it instead of reading the system prompt again (a second of a cold start).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
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


_EXTRA_BUFFERS_OFF = False
MAX_PREFIXES = 4  # system prompts whose memory is kept: the answer's, the verifier's, ...


def plain_weights() -> None:
    """Load every later llama.cpp model without its extra weight buffer types.

    On CPUs with AMX, llama.cpp places weights in an AMX buffer whose matrix kernel
    crashes the process on the first batch of more than one token (seen with
    llama-cpp-python 0.3.36 on a Sapphire Rapids machine: SIGSEGV in
    `ggml_backend_amx_mul_mat`). The model parameter that turns those buffers off,
    `use_extra_bufts`, is not a keyword of `Llama`, so the default parameters it starts
    from are amended here. Prompt reading stays at about 190 tokens/s for the 1.5B model
    on two cores. Idempotent; affects only models loaded after it.
    """
    global _EXTRA_BUFFERS_OFF
    if _EXTRA_BUFFERS_OFF:
        return
    import llama_cpp.llama_cpp as bindings

    defaults = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = without_extra_buffers
    _EXTRA_BUFFERS_OFF = True


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
        state_dir: Path | None = None,
    ) -> None:
        """`state_dir`: where the evaluated system prompt is kept between processes."""
        from llama_cpp import Llama

        plain_weights()
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
        self.state_dir = state_dir
        self._engine = f"{n_ctx}-{n_batch}-{n_threads_batch or n_threads}-{use_mmap}"
        self.lock = threading.Lock()
        # system text -> its tokens and their evaluated memory (the answer's, the verifier's)
        self._prefixes: dict[str, tuple[list[int], bytes]] = {}
        self._format: Callable[[list[Message]], str] | None = None

    def warm(self, system: str) -> None:
        """Evaluate the system prompt alone, leaving llama.cpp's cache holding just that
        prefix (the benchmark's sweep starts each run from it)."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": ""}]
        for _ in self.stream(messages, 1, GenerationStats()):
            pass

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _system_tokens(self, system: str) -> list[int]:
        """The tokens every prompt with this system message starts with."""
        if self._format is None:
            self._format = chat_formatter(self.llama)
        prompts = [
            self._format(
                [{"role": "system", "content": system}, {"role": "user", "content": probe}]
            )
            for probe in ("#", "@")
        ]
        a, b = (self.llama.tokenize(p.encode("utf-8"), special=True) for p in prompts)
        n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), 0)
        return a[:n]

    def start_from_system(self, system: str) -> None:
        """Leave llama.cpp holding exactly the system prompt's tokens, evaluated alone
        (call with the lock held)."""
        llama = self.llama
        if system not in self._prefixes:
            tokens = self._system_tokens(system)
            while len(self._prefixes) >= MAX_PREFIXES:
                del self._prefixes[next(iter(self._prefixes))]
            self._prefixes[system] = (tokens, self._kept_state(tokens))
        tokens, saved = self._prefixes[system]
        n = len(tokens)
        if n == 0:
            llama.reset()
            return
        if llama.n_tokens >= n and llama.input_ids[:n].tolist() == tokens:
            llama.n_tokens = n  # generate() drops the memory past it
            return
        llama.reset()
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        if saved:
            buffer = (ctypes.c_uint8 * len(saved)).from_buffer_copy(saved)
            import llama_cpp

            if llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, len(saved), 0) == len(saved):
                llama.input_ids[:n] = tokens
                llama.n_tokens = n
                return
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        llama.eval(tokens)
        self._prefixes[system] = (tokens, self._save_sequence())
        self._keep_state(tokens, self._prefixes[system][1])

    def _state_file(self, tokens: list[int]) -> Path | None:
        if self.state_dir is None:
            return None
        import llama_cpp

        key = hashlib.sha256(
            f"{self.sha256}|{self._engine}|{llama_cpp.__version__}|{tokens}".encode()
        ).hexdigest()
        return self.state_dir / f"{self.name}-{key[:24]}.state"

    def _kept_state(self, tokens: list[int]) -> bytes:
        """The system prompt's memory kept on disk by an earlier process, or b""."""
        path = self._state_file(tokens)
        try:
            return path.read_bytes() if path is not None else b""
        except OSError:
            return b""

    def _keep_state(self, tokens: list[int], state: bytes) -> None:
        """Write the system prompt's memory for later processes (best effort: a read-only
        data folder only costs them the second it saves)."""
        path = self._state_file(tokens)
        if path is None or not state:
            return
        current = {self._state_file(t) for t, _ in self._prefixes.values()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob(f"{self.name}-*.state"):
                if old not in current:  # of an earlier system prompt or engine
                    old.unlink(missing_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(state)
            partial.replace(path)
        except OSError:
            pass

    def _save_sequence(self) -> bytes:
        import llama_cpp

        ctx = self.llama.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        return bytes(buffer[:written])

    def stream(
        self, messages: list[Message], max_tokens: int, stats: GenerationStats
    ) -> Iterator[str]:
        with self.lock:
            if messages and messages[0]["role"] == "system":
                self.start_from_system(messages[0]["content"])
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


def chat_formatter(llama: Any) -> Callable[[list[dict[str, str]]], str]:
    """The model's own chat template (from the GGUF), or ChatML when it has none."""
    template = llama.metadata.get("tokenizer.chat_template")
    if template:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = llama._model
        eos = vocab.token_get_text(llama.token_eos()) if llama.token_eos() >= 0 else ""
        bos = vocab.token_get_text(llama.token_bos()) if llama.token_bos() >= 0 else ""
        formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)

        def render(messages: list[dict[str, str]]) -> str:
            prompt = formatter(messages=messages).prompt  # type: ignore[arg-type]
            return prompt[len(bos) :] if bos and prompt.startswith(bos) else prompt

        return render

    def chatml(messages: list[dict[str, str]]) -> str:
        body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return body + "<|im_start|>assistant\n"

    return chatml


def vocabulary_counter(gguf: Path) -> Callable[[str], int]:
    """A token counter from a GGUF's vocabulary alone (no weights loaded)."""
    from llama_cpp import Llama

    vocab = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), False, True))
