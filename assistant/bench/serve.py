"""The served assistant under load: `assistant serve` in front of a model server, asked by
several simulated users at once (`assistant bench --only serve`).

`bench_serve` starts `python -m llama_cpp.server` with the benchmark's model, then
`assistant serve` with `generation.backend = "openai"` pointed at it, each on a free
loopback port, over copies of the corpus and the index and a fresh data folder (uploads and
the audit log land there, never in the working tree). Round by round, N users
(`users.py`: threads, each with its own HTTP client and, when given, its own Bearer token)
ask the fixed questions at once, streamed, one after the other; one user in four first
uploads a small document and at the end reads one of its answers back from
/api/answers/{id}. Every answer must be for the question its user asked (`users.judge`).
After each round the audit log's chain is verified; the peak RSS of both servers is
sampled (psutil) while the round runs. Everything is stopped and removed on the way out.

Several requests at once, at the model server: `llama_cpp.server` (0.3.x) serializes them.
Every route that touches the model (chat completions, /extras/tokenize/count, even
/v1/models) holds one global lock for its whole reply; its `Llama` has one context and one
sequence (no slots: it has no `n_parallel`, and raises `n_seq_max` for embeddings only);
a config file with several `models` entries swaps the one loaded model instead of serving
them side by side. So requests queue. By default (`interrupt_requests = true`) a request
that arrives while another streams also breaks that stream off: of two streams 1 s apart,
the first broke off mid-answer ("peer closed connection without sending complete message
body"), and the assistant's answer with it. The server is started here with
`--interrupt_requests false`, so requests wait their turn, and `--logits_all false` (its
default, true, keeps the logits of every prompt token, up to n_ctx x vocabulary floats:
2.5 GB for Qwen2.5 at 4096 tokens; SmolLM2's server peaked at 811 MB with them and 337 MB
without in the small load test; the assistant asks for no log-probabilities). The
assistant counts tokens through the same server (a request for each passage not counted
before), so packing a prompt waits in that queue too, each count for at most
`generation.timeout_s`; and this server sends no token usage with a stream, so the count
of the prompt after it is one more trip through the queue: with 16 users the text of an
answer was shown up to two minutes before its "answer" event, and answers finished in
batches, as a round of counts got its turn (eval/bench/serve/). A question about two
documents drafts once per document, and queues again for each. Slots that answer at once
need llama.cpp's own `llama-server -np N` (README: "Serving many users"); not measured.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from ..errors import BenchError
from ..generation.catalog import ModelStore
from ..settings import Settings
from ..trust.accounts import Accounts
from ..trust.audit import AuditLog
from .harness import Bench, ServeOptions, rounded
from .results import Serve, ServeRound, Spread
from .users import (
    Asked,
    SimulatedUser,
    UserLog,
    account,
    judge,
    recorded_in,
    run_user,
    users_of_round,
)

LOOPBACK = "127.0.0.1"
MODEL_SERVER = (
    "python -m llama_cpp.server, one request at a time (--interrupt_requests false "
    "--logits_all false)"
)


# ---------------------------------------------------------------- a round


def run_round(
    url: str, users: list[SimulatedUser], options: ServeOptions, audit: AuditLog, pids: list[int]
) -> tuple[ServeRound, list[UserLog]]:
    """All `users` at once; what they got, checked against the audit log."""
    began = time.monotonic()
    deadline = began + options.round_s
    timeout = options.request_timeout_s
    with PeakRss(pids) as peaks, ThreadPoolExecutor(len(users)) as pool:
        logs = list(pool.map(lambda u: run_user(url, u, began, deadline, timeout), users))
    seconds = time.monotonic() - began
    asked = [a for log in logs for a in log.asked]
    answered, mixed = judge(asked, recorded_in(audit))
    verified = audit.verify()
    statuses: Counter[str] = sum((log.statuses for log in logs), Counter())
    return ServeRound(
        users=len(users),
        asked=len(asked),
        answered=answered,
        lost=len(asked) - answered - mixed,
        mixed=mixed,
        skipped=sum(log.skipped for log in logs),
        uploads=sum(log.uploads for log in logs),
        statuses=dict(sorted(statuses.items())),
        first_word=Spread.of([a.first_word_s for a in asked if a.first_word_s is not None]),
        full_answer=Spread.of([a.answer_s for a in asked if a.answer_s is not None]),
        audit_ok=verified.ok,
        audit_records=verified.records,
        audit_problem=verified.problem,
        serve_peak_rss_bytes=peaks.peak[pids[0]],
        model_server_peak_rss_bytes=peaks.peak[pids[1]],
        seconds=rounded(seconds, 2),
    ), logs


class PeakRss:
    """The highest resident memory of each process, sampled every 0.2 s while in use."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakRss:
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self._sample()

    def _poll(self) -> None:
        while not self.done.wait(0.2):
            self._sample()

    def _sample(self) -> None:
        import psutil

        for pid in self.pids:
            try:
                rss = int(psutil.Process(pid).memory_info().rss)
            except psutil.Error:
                continue
            self.peak[pid] = max(self.peak[pid], rss)


# ---------------------------------------------------------------- the section


def bench_serve(bench: Bench) -> Serve:
    """Both servers started, every round run, both stopped; the rounds' results."""
    options = bench.options.serve
    settings = bench.settings
    model = options.model or settings.generation.model
    path = ModelStore(settings.paths.models_dir).resolve(model).path
    questions = [q.question for q in bench.fixed]
    folder = bench.out / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    rounds, rows = [], []
    with tempfile.TemporaryDirectory(prefix="serve-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        prepare(work, settings)
        tokens = make_accounts(work / "data", max(options.users, default=0))
        started = time.perf_counter()
        model_port, serve_port = free_port(), free_port()
        llama = stack.enter_context(
            running(model_server_command(path, model_port, settings), {}, folder / "model.log")
        )
        api = f"http://{LOOPBACK}:{model_port}/v1"
        wait_ready(llama, f"{api}/models", options.start_timeout_s, folder / "model.log")
        env = serve_env(work, settings, model, api, serve_port)
        command = [sys.executable, "-m", "assistant", "serve"]
        served = stack.enter_context(running(command, env, folder / "serve.log", cwd=work))
        url = f"http://{LOOPBACK}:{serve_port}"
        wait_ready(served, f"{url}/api/health", options.start_timeout_s, folder / "serve.log")
        startup = time.perf_counter() - started
        audit = AuditLog(work / "data" / settings.audit.log_file)
        for n in options.users:
            bench.say(f"   {n} user(s) at once, {options.questions} question(s) each")
            users = users_of_round(n, questions, options.questions, tokens)
            result, logs = run_round(url, users, options, audit, [served.pid, llama.pid])
            bench.say(
                f"   answered {result.answered}/{result.asked}, lost {result.lost}, "
                f"mixed {result.mixed}, in {result.seconds:.0f} s"
            )
            rounds.append(result)
            rows += [row(n, a) for log in logs for a in log.asked]
            rows += [
                {"users": n, "user": log.user, "upload_s": log.upload_s}
                for log in logs
                if log.upload_s is not None
            ]
    with (folder / "requests.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Serve(
        model=model,
        model_server=MODEL_SERVER,
        questions_per_user=options.questions,
        startup_s=rounded(startup, 2),
        rounds=rounds,
    )


def make_accounts(data_dir: Path, n: int) -> list[str | None]:
    """Accounts user0 ... for the simulated users, as a department's would be: each signs
    in with its own token, and its uploads go to its own private space."""
    accounts = Accounts(data_dir)
    tokens: list[str | None] = []
    for number in range(n):
        name = account(number)
        accounts.add(name, "reader", secrets.token_urlsafe(12))
        tokens.append(accounts.new_token(name))
    return tokens


def row(n: int, asked: Asked) -> dict[str, Any]:
    """A line of requests.jsonl: one question of a round and what came back."""
    answer = asked.answer or {}
    return {
        "users": n,
        **{k: v for k, v in vars(asked).items() if k != "answer"},
        "id": answer.get("id"),
        "answered_question": answer.get("question"),
        "declined": answer.get("declined"),
        "answer": answer.get("answer"),
    }


def prepare(work: Path, settings: Settings) -> None:
    """Copies of the corpus and of the index's current build, brought up to date (not
    timed: a current index takes a moment, a stale one is rebuilt before the rounds, not
    by the served assistant's corpus watcher while users ask)."""
    shutil.copytree(settings.paths.corpus_dir, work / "corpus")
    index = settings.paths.index_dir
    current = index / "CURRENT"
    if current.exists():
        build = current.read_text().strip()
        shutil.copytree(index / "builds" / build, work / "index" / "builds" / build)
        shutil.copy2(current, work / "index" / "CURRENT")
    env = serve_env(work, settings, settings.generation.model, "", 0)
    command = [sys.executable, "-m", "assistant", "index"]
    done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"`assistant index` failed before serving: {done.stderr[-500:]}")


def model_server_command(path: Path, port: int, settings: Settings) -> list[str]:
    """`python -m llama_cpp.server` with the assistant's model settings, taking requests in
    turn; without llama.cpp's extra weight buffers, as the assistant loads models."""
    g = settings.generation
    flags = {
        "model": path,
        "host": LOOPBACK,
        "port": port,
        "n_ctx": g.n_ctx,
        "n_threads": g.n_threads,
        "n_threads_batch": g.n_threads_batch,
        "n_batch": g.n_batch,
        "seed": g.seed,
        "use_mmap": str(g.use_mmap).lower(),
        "interrupt_requests": "false",  # wait in turn, rather than break off the answer
        "logits_all": "false",
    }
    return [
        sys.executable,
        "-c",
        "from assistant.generation.llm import plain_weights; plain_weights(); "
        "import runpy; runpy.run_module('llama_cpp.server', run_name='__main__')",
        *[part for key, value in flags.items() for part in (f"--{key}", str(value))],
    ]


def serve_env(work: Path, settings: Settings, model: str, api: str, port: int) -> dict[str, str]:
    """The environment of `assistant serve` with these settings, over `work`, generating
    through `api`."""
    given = {
        f"ASSISTANT_{section.upper()}__{key.upper()}": str(value)
        for section, values in settings.model_dump(mode="json").items()
        for key, value in values.items()
    }
    return (
        os.environ
        | given
        | {
            "ASSISTANT_PATHS__CORPUS_DIR": str(work / "corpus"),
            "ASSISTANT_PATHS__INDEX_DIR": str(work / "index"),
            "ASSISTANT_PATHS__DATA_DIR": str(work / "data"),
            "ASSISTANT_PATHS__MODELS_DIR": str(Path(settings.paths.models_dir).resolve()),
            "ASSISTANT_GENERATION__MODEL": model,
            "ASSISTANT_GENERATION__BACKEND": "openai",
            "ASSISTANT_GENERATION__BASE_URL": api,
            "ASSISTANT_GENERATION__REMOTE_GGUF": model,
            "ASSISTANT_UI__HOST": LOOPBACK,
            "ASSISTANT_UI__PORT": str(port),
            "ASSISTANT_AUDIT__ENABLED": "true",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
        }
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process writing to `log` (a pipe nobody reads would stall it), stopped on
    leaving: SIGTERM, then SIGKILL after 20 s."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, env=env or None, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float, log: Path) -> None:
    """Until `url` answers 200; a process that exits or is not ready in time is an error."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text(errors="replace")[-1500:]
            raise BenchError(f"{url} did not come up: its process exited. Its log: {said}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    said = log.read_text(errors="replace")[-1500:]
    raise BenchError(f"{url} did not answer within {timeout_s:.0f} s. Its log: {said}")
