"""What a user would otherwise run, for the benchmark to compare the assistant against.

- `BareLlama`: llama-cpp-python alone, given the very messages the assistant built, with
  the same sampling: the floor any pipeline on top of llama.cpp can reach.
- `LangChainRag`: the textbook LangChain RAG pipeline: the files loaded as text,
  `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`,
  `HuggingFaceEmbeddings` (the same bundled all-MiniLM-L6-v2, offline), a FAISS vector
  store searched for the top 4, the classic "stuff" prompt, and the same GGUF through
  LangChain's `LlamaCpp`. Engine settings (threads, batch, context) and greedy sampling
  match the assistant's, so the comparison is of the pipelines, not of llama.cpp flags.

Each returns a `Run`: timings measured the same way for all three. LangChain is imported
only here and only when used (the `bench` extra installs it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..generation.llm import GenerationStats, Message, plain_weights
from ..ingest.documents import read_metadata

# The prompt of LangChain's RetrievalQA "stuff" chain, word for word.
STUFF_PROMPT = """Use the following pieces of context to answer the question at the end. \
If you don't know the answer, just say that you don't know, don't try to make up an answer.

{context}

Question: {question}
Helpful Answer:"""
_DONT_KNOW = re.compile(r"\b(don't|do not) know\b", re.I)


@dataclass
class Run:
    """One answer's timings, seconds from the moment the question was asked."""

    first_token_s: float = 0.0  # the model's first token
    total_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_token_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the whole process: steadier than wall time when shared
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        span = self.last_token_s - self.first_token_s
        return (self.completion_tokens - 1) / span if self.completion_tokens > 1 and span else 0.0


def clock_stream(started: float, pieces: Iterator[str], run: Run) -> Run:
    """Consume a token stream, noting the first and last token's times."""
    parts: list[str] = []
    cpu = time.process_time()
    for piece in pieces:
        now = time.perf_counter() - started
        if not parts:
            run.first_token_s = now
        run.last_token_s = now
        parts.append(piece)
    run.total_s = time.perf_counter() - started
    run.cpu_s += time.process_time() - cpu
    run.completion_tokens = run.completion_tokens or len(parts)
    run.text = "".join(parts)
    return run


class ClockedGenerator:
    """A `Generator` that passes another through, noting when its first token came.

    Wrapped around the assistant's model, it separates the model's first token from the
    first sentence shown (which waits for the sentence check) without changing the
    answering code.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.sha256, self.n_ctx = inner.name, inner.sha256, inner.n_ctx
        self.messages: list[Message] = []
        self.prompts: list[list[Message]] = []  # every prompt of the answer, in order
        self.first_token_at = self.last_token_at = self.model_s = 0.0

    def reset(self) -> None:
        """Before a question: an answer may take several prompts (one per document of a
        comparison), and its first token is the first prompt's."""
        self.prompts, self.first_token_at, self.last_token_at, self.model_s = [], 0.0, 0.0, 0.0

    def __getattr__(self, name: str) -> Any:  # llama, lock, path: as the wrapped model's
        return getattr(self.inner, name)

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def stream(
        self, messages: list[Message], max_tokens: int, stats: GenerationStats
    ) -> Iterator[str]:
        self.messages = messages
        self.prompts.append(messages)
        tokens = iter(self.inner.stream(messages, max_tokens, stats))
        while True:
            asked = time.perf_counter()
            token = next(tokens, None)
            self.last_token_at = time.perf_counter()
            self.model_s += self.last_token_at - asked  # time inside the model, not the pipeline
            if token is None:
                return
            self.first_token_at = self.first_token_at or self.last_token_at
            yield token


class BareLlama:
    """llama-cpp-python with nothing around it."""

    def __init__(
        self, path: Path, n_ctx: int, n_threads: int, n_batch: int, seed: int, **engine: Any
    ) -> None:
        from llama_cpp import Llama

        plain_weights()
        self.seed = seed
        if lookup := engine.pop("prompt_lookup", None):  # draft tokens copied from the prompt
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            engine["draft_model"] = LlamaPromptLookupDecoding(num_pred_tokens=lookup)
            # a draft is checked against the logits of every position; without it said
            # here, llama-cpp-python 0.3 sizes its logits buffer for one position and fails
            engine["logits_all"] = True
        self.llama = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_batch=n_batch,
            seed=seed,
            verbose=False,
            **engine,
        )

    def answer_all(self, prompts: list[list[Message]], max_tokens: int) -> Run:
        """The prompts answered one after another, as the assistant answers a comparison:
        the first token is the first prompt's, the rest adds up."""
        started = time.perf_counter()
        total = Run()
        for number, messages in enumerate(prompts):
            offset = time.perf_counter() - started
            run = self.answer(messages, max_tokens)
            if number == 0:
                total.first_token_s = run.first_token_s
            total.last_token_s = offset + run.last_token_s
            total.prompt_tokens += run.prompt_tokens
            total.completion_tokens += run.completion_tokens
            total.cpu_s += run.cpu_s
            total.text += run.text
        total.total_s = time.perf_counter() - started
        return total

    def answer(self, messages: list[Message], max_tokens: int) -> Run:
        started = time.perf_counter()
        self.llama.set_seed(self.seed)
        chunks = self.llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=0.0,
            top_k=1,
            seed=self.seed,
            stream=True,
        )
        pieces = (
            str(c["choices"][0]["delta"].get("content") or "")  # type: ignore[index, union-attr]
            for c in chunks
        )
        run = clock_stream(started, (p for p in pieces if p), Run())
        run.prompt_tokens = max(0, self.llama.n_tokens - run.completion_tokens)
        return run


class LangChainRag:
    """The textbook LangChain RAG pipeline over the same corpus folder and GGUF."""

    def __init__(
        self,
        corpus_dir: Path,
        model_path: Path,
        n_ctx: int,
        n_threads: int,
        n_batch: int,
        seed: int,
        max_tokens: int,
    ) -> None:
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.llms import LlamaCpp
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from ..ingest.embedding import bundled_model_dir, force_offline

        force_offline()
        metadata = read_metadata(corpus_dir)
        files = sorted(p for p in corpus_dir.iterdir() if p.name in metadata)
        documents = [
            Document(
                page_content=p.read_text(encoding="utf-8"),
                metadata={"source": p.name, **metadata[p.name]},
            )
            for p in files
        ]
        started = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.chunks = splitter.split_documents(documents)
        self.embeddings = HuggingFaceEmbeddings(
            model_name=str(bundled_model_dir()),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )
        loaded = time.perf_counter()
        self.store = FAISS.from_documents(self.chunks, self.embeddings)
        self.index_s = time.perf_counter() - loaded
        self.setup_s = time.perf_counter() - started
        self.retriever = self.store.as_retriever(search_kwargs={"k": 4})
        plain_weights()  # LangChain's LlamaCpp builds a Llama inside
        self.llm = LlamaCpp(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_batch=n_batch,
            seed=seed,
            max_tokens=max_tokens,
            temperature=0.0,
            verbose=False,
        )

    def answer(self, question: str) -> tuple[Run, dict[str, Any]]:
        """The timed answer, and the same answer in the assistant's answer contract."""
        started = time.perf_counter()
        found = self.retriever.invoke(question)
        prompt = STUFF_PROMPT.format(
            context="\n\n".join(d.page_content for d in found), question=question
        )
        retrieved = time.perf_counter() - started
        run = clock_stream(started, self.llm.stream(prompt), Run())
        run.prompt_tokens = len(self.llm.client.tokenize(prompt.encode("utf-8")))
        run.extra["retrieve_s"] = retrieved
        contexts = [
            {
                "n": n,
                "doc_id": Path(d.metadata["source"]).stem,
                "title": d.metadata.get("title", ""),
                "section": "",
                "text": d.page_content,
                "score": 0.0,
            }
            for n, d in enumerate(found, start=1)
        ]
        text = run.text.strip()
        contract = {
            "question": question,
            "answer": text,
            "citations": [],
            "contexts": contexts,
            "declined": bool(_DONT_KNOW.search(text)) or not text,
            "model": {"name": Path(self.llm.model_path).name, "sha256": ""},
            "timings": {
                "retrieve_s": round(retrieved, 4),
                "first_token_s": round(run.first_token_s, 4),
                "total_s": round(run.total_s, 4),
                "prompt_tokens": run.prompt_tokens,
                "completion_tokens": run.completion_tokens,
            },
        }
        return run, contract
