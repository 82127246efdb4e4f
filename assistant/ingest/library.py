"""The document library as people manage it: screening uploads, removing, suggesting questions.

An upload is screened before it reaches the indexer: its extension must be a supported
type, its size under the upload limit, and its content must be what the extension says
(a `.pdf` must start with `%PDF-`, a `.docx` must be a zip holding `word/document.xml`,
an image must carry its type's signature, text types must decode as text). A file that
fails says why and is not copied; what is already indexed is untouched. Removal deletes
the document's file from the corpus folder; the caller then brings the index up to date.

Suggested questions are built from the indexed documents' titles, so they follow the corpus.
It does not scan for malware or macros: a DOCX is only read for its text.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import DocumentNotFound
from .documents import SUPPORTED_SUFFIXES
from .store import DocumentRecord

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
_SNIFF_BYTES = 64 * 1024


# The signatures of the image types read by OCR, and the extensions each may have.
_IMAGES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
}
_SAME_KIND = {".jpeg": "jpg", ".tif": "tiff"}


def detect_kind(path: Path) -> str:
    """What the file's content is: "pdf", "docx", "zip", "png", "jpg", "tiff", "text" or
    "binary"."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(b"%PDF-"):
        return "pdf"
    for signature, kind in _IMAGES.items():
        if head.startswith(signature):
            return kind
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return "binary"
        return "docx" if "word/document.xml" in names else "zip"
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not only a character cut at the sniffing limit
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return "binary"
    return "text"


def screen_upload(path: Path, max_bytes: int) -> str | None:
    """Why the file cannot be added, or None when it may go to the indexer."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(s.lstrip(".").upper() for s in SUPPORTED_SUFFIXES)
        return f"the type '{suffix or 'none'}' is not supported (use {kinds})"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if size == 0:
        return "the file is empty"
    if size > max_bytes:
        return f"it is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB upload limit"
    kind = detect_kind(path)
    expected = "text" if suffix in TEXT_SUFFIXES else _SAME_KIND.get(suffix, suffix.lstrip("."))
    if kind != expected:
        found = {"text": "plain text", "zip": "a zip archive", "binary": "binary data"}
        return (
            f"its content is {found.get(kind, kind.upper())}, not the {suffix} "
            "its name says; save it in the right format and add it again"
        )
    return None


def corpus_path(corpus_dir: Path, record: DocumentRecord) -> Path:
    """The corpus file behind a document, refusing anything outside the corpus folder."""
    folder = Path(record.doc_id).parent
    path = (corpus_dir / folder / record.file).resolve()
    if not path.is_relative_to(corpus_dir.resolve()):
        raise DocumentNotFound(f"{record.title}: its file is outside the corpus folder")
    return path


def delete_document(corpus_dir: Path, records: list[DocumentRecord], doc_id: str) -> Path:
    """Delete the corpus file of `doc_id`; the index still has to be updated after."""
    record = next((r for r in records if r.doc_id == doc_id), None)
    if record is None:
        raise DocumentNotFound(f"No indexed document has the id '{doc_id}'.")
    path = corpus_path(corpus_dir, record)
    path.unlink(missing_ok=True)
    return path


# For a document with no example of its own. Not "What are the key points of ...": a
# question about a whole document is not answered well from six passages.
_TEMPLATES = (
    "What does “{}” recommend?",
    "What does “{}” propose?",
)


def suggested_questions(
    records: list[DocumentRecord], n: int = 4, examples: dict[str, str] | None = None
) -> list[str]:
    """Questions about the largest documents: the `example` question their entry in
    `metadata.toml` gives (chosen because the assistant answers it well), else one made
    from the (shortened) title. `examples` maps file names to those questions."""
    ranked = sorted(records, key=lambda r: (-r.chunks, r.title))[:n]
    examples = examples or {}
    return [
        examples.get(r.file) or _TEMPLATES[i % len(_TEMPLATES)].format(short_title(r.title))
        for i, r in enumerate(ranked)
    ]


def short_title(title: str, words: int = 8) -> str:
    """The title up to its subtitle, at most `words` words: "The Open Dividend"."""
    head = re.split(r"\s*(?::|—|–| - )\s*", title, maxsplit=1)[0].strip() or title
    parts = head.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
