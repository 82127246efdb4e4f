"""The OpenAI-compatible generator against a real llama_cpp.server started here, and
against a small fake server for the protocol and its failures.

The real server runs SmolLM2-135M (fast; its answers are nonsense, which does not matter:
what is checked is that the remote path gives what the in-process path gives).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import FakeEmbedder, free_port, make_settings, real_model_path
from fake_openai_server import Behaviour, fake_server

from assistant.answering.assistant import Assistant, load_generator
from assistant.errors import GeneratorUnavailable
from assistant.generation.catalog import CATALOG
from assistant.generation.llm import GenerationStats, LlamaGenerator
from assistant.generation.remote import CHARS_PER_TOKEN, UNVERIFIED, OpenAIGenerator

N_CTX = 2048
MESSAGES = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "What colour is the sky on a clear day?"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields its API root."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    command = [
        # the server without llama.cpp's AMX weight buffers (`plain_weights`): they crash
        sys.executable,
        "-c",
        "from assistant.generation.llm import plain_weights; plain_weights(); "
        "import runpy; runpy.run_module('llama_cpp.server', run_name='__main__')",
        "--model",
        str(real_model_path("smollm2-135m")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        "--n_threads",
        "2",
        "--seed",
        "42",
    ]
    handle = log.open("wb")  # a pipe would fill with llama.cpp's log and stall the server
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not start within 90 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        handle.close()


def remote_settings(tmp_path: Path, url: str, **generation: object):
    return make_settings(
        tmp_path, generation={"backend": "openai", "base_url": url, "n_ctx": N_CTX, **generation}
    )


@pytest.mark.model
def test_the_stream_is_what_the_in_process_model_writes(server: str) -> None:
    remote = OpenAIGenerator(server, n_ctx=N_CTX)
    local = LlamaGenerator(
        real_model_path("smollm2-135m"), "smollm2-135m", "", n_ctx=N_CTX, n_threads=2
    )
    remote_stats, local_stats = GenerationStats(), GenerationStats()
    remote_text = "".join(remote.stream(MESSAGES, 24, remote_stats))
    local_text = "".join(local.stream(MESSAGES, 24, local_stats))
    assert remote_text.strip()
    assert remote_text == local_text  # greedy decoding of the same GGUF by the same llama.cpp
    assert remote_stats.completion_tokens == local_stats.completion_tokens > 0
    assert 0 < remote_stats.prompt_tokens <= local_stats.prompt_tokens


@pytest.mark.model
def test_tokens_are_counted_by_the_server_as_by_the_file(server: str) -> None:
    remote = OpenAIGenerator(server, n_ctx=N_CTX)
    local = LlamaGenerator(real_model_path("smollm2-135m"), "smollm2-135m", "", n_ctx=256)
    text = "The Ministry of Justice will give 2,500 employees access to AI tools."
    assert remote.count_tokens(text) == local.count_tokens(text) > 10


@pytest.mark.model
def test_with_the_servers_file_named_tokens_are_counted_here() -> None:
    """The fake server counts words; the named GGUF's vocabulary counts word pieces, with
    no request to the server (where a count would queue behind answers)."""
    path = real_model_path("smollm2-135m")
    local = LlamaGenerator(path, "smollm2-135m", "", n_ctx=256)
    text = "The Ministry of Justice will give 2,500 employees access to AI tools."
    with fake_server() as (url, _):
        verified = ("smollm2-135m", CATALOG["smollm2-135m"].sha256, path)
        generator = OpenAIGenerator(url, n_ctx=N_CTX, verified=verified)
        # the server's count would be the number of words
        assert generator.count_tokens(text) == local.count_tokens(text) != len(text.split())


@pytest.mark.model
def test_a_question_through_the_assistant(tmp_path: Path, corpus: Path, server: str) -> None:
    settings = remote_settings(tmp_path, server, remote_gguf="smollm2-135m", max_tokens=48)
    assistant = Assistant(settings, FakeEmbedder())
    assistant.index()
    answer = assistant.ask("How many Ministry of Justice staff get AI tools?")
    assert answer.model == {"name": "smollm2-135m", "sha256": CATALOG["smollm2-135m"].sha256}
    assert answer.contexts  # the passages were packed with the server's token counts
    assert answer.timings.completion_tokens > 0
    assert answer.timings.prompt_tokens > 100  # the system prompt alone is longer
    assert answer.answer  # checked and shown, or the plain decline


@pytest.mark.model
def test_without_a_named_file_the_model_is_recorded_unverified(tmp_path: Path, server: str):
    generator = load_generator(remote_settings(tmp_path, server))
    assert generator.sha256 == UNVERIFIED
    assert generator.name.endswith("(server)")
    assert "smollm2" in generator.name  # the server's model id


def test_an_unreachable_server_says_what_to_do(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(GeneratorUnavailable, match='backend = "local"'):
        load_generator(remote_settings(tmp_path, url))


def test_the_stream_and_its_request() -> None:
    with fake_server() as (url, behaviour):
        generator = OpenAIGenerator(url, n_ctx=N_CTX, seed=7)
        assert generator.model == "fake-model"  # the server's first
        stats = GenerationStats()
        assert list(generator.stream(MESSAGES, 24, stats)) == ["The sky ", "is ", "blue."]
    body = behaviour.requests[-1]
    assert body["messages"] == MESSAGES
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (24, 0.0, 7)
    assert (body["top_k"], body["repeat_penalty"]) == (1, 1.0)  # greedy, as in-process
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "authorization" not in behaviour.headers[-1]  # no key configured: none sent
    assert stats.completion_tokens == 3  # one a piece
    assert stats.prompt_tokens == 6 + 9  # the server's tokenizer (here: words) on each message
    assert stats.extra == {"prompt_tokens_estimated": 1.0}


def test_the_servers_usage_and_key() -> None:
    usage = {"prompt_tokens": 40, "completion_tokens": 4, "total_tokens": 44}
    with fake_server(Behaviour(usage=usage)) as (url, behaviour):
        generator = OpenAIGenerator(url, api_key="s3cret")
        stats = GenerationStats()
        assert "".join(generator.stream(MESSAGES, 24, stats)) == "The sky is blue."
    assert (stats.prompt_tokens, stats.completion_tokens, stats.extra) == (40, 4, {})
    assert behaviour.headers[-1]["authorization"] == "Bearer s3cret"


def test_without_a_server_tokenizer_tokens_are_estimated_from_the_length() -> None:
    with fake_server(Behaviour(tokenizer=False)) as (url, _):
        generator = OpenAIGenerator(url)
        text = "The Ministry of Justice will give 2,500 employees access to AI tools."
        assert generator.count_tokens(text) == int(len(text) / CHARS_PER_TOKEN) + 1


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (Behaviour(status=401), "answered HTTP 401: .*no such model.*generation.api_key"),
        (Behaviour(error_after=1), r"failed while answering \(the model crashed\)"),
        (Behaviour(stall_s=3), r"cannot be reached \(timed out\).*backend = \"local\""),
    ],
)
def test_a_failing_server_says_what_to_do(behaviour: Behaviour, message: str) -> None:
    with fake_server(behaviour) as (url, _):
        generator = OpenAIGenerator(url, timeout_s=1)
        started = time.monotonic()
        with pytest.raises(GeneratorUnavailable, match=message):
            "".join(generator.stream(MESSAGES, 24, GenerationStats()))
        assert time.monotonic() - started < 2.5  # no retries


def test_a_server_without_models_is_refused() -> None:
    with fake_server(Behaviour(models=[])) as (url, _):
        with pytest.raises(GeneratorUnavailable, match="serves no model"):
            OpenAIGenerator(url)
