"""Domain errors. Each carries a message that says what to do next.

The core raises these; only the CLI and the UI turn them into text for people.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant reports to its user."""


class Cancelled(Exception):  # noqa: N818 - what happened, not a failure
    """The person stopped the work; nothing it began is kept. Not an AssistantError, so
    that no handler of a failed file takes it for one."""

    def __init__(self) -> None:
        super().__init__("Stopped: nothing was added; the library is as it was.")


class EmptyQuestion(AssistantError):
    def __init__(self) -> None:
        super().__init__("The question is empty: type a question about the documents.")


class IndexNotFound(AssistantError):
    def __init__(self, index_dir: object) -> None:
        super().__init__(
            f"No index found in {index_dir}. Build it with `assistant index` "
            "(or `make index`), which indexes the documents in the corpus folder."
        )


class IndexMismatch(AssistantError):
    """The saved index was built with another format or embedder."""


class IndexCorrupt(AssistantError):
    """The saved index cannot be read."""


class ModelNotFound(AssistantError):
    """The model file is missing; the message names the command that fetches it."""


class ModelHashMismatch(AssistantError):
    """A model file's SHA-256 differs from the catalogue's: it is refused, never loaded."""


class ModelFetchFailed(AssistantError):
    """Downloading or assembling a catalogue model failed."""


class UnsupportedDocument(AssistantError):
    """A file type the loader does not read."""


class UnreadableDocument(AssistantError):
    """A supported file type whose content cannot be read (corrupt, empty, binary, too big)."""


class QuestionTooLong(AssistantError):
    """The question alone does not fit in the model's context window."""


class DocumentNotFound(AssistantError):
    """A document asked for by id is not in the index."""


class DocumentChanged(AssistantError):
    """A document's file differs from the one indexed (its SHA-256 is not the manifest's)."""


class EvaluationDataError(AssistantError):
    """A question set, answers file, calibration set or report cannot be read."""


class AuditLogFailed(AssistantError):
    """An answer's provenance record could not be written to the audit log."""


class RecordNotFound(AssistantError):
    """No record with the given answer id in the audit log."""


class RecordInvalid(AssistantError):
    """A kept record (provenance, evaluation summary, question, benchmark results) has
    another shape or a newer format than this version reads."""


class IndexWriteFailed(AssistantError):
    """A new index build could not be written; the previous one is still in use."""


class GeneratorUnavailable(AssistantError):
    """The configured model server cannot be reached or refused the request."""


class BenchError(AssistantError):
    """A benchmark step failed: the message says which, and what it printed."""


class BundleFailed(AssistantError):
    """An offline bundle could not be built or laid out; the message says why."""


class AccountError(AssistantError):
    """An account that cannot be added, found or changed as asked."""


class NotAllowed(AssistantError):
    """The user is signed in but their role does not allow this."""


class QueueFull(AssistantError):
    """Too many questions are waiting for the model."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
