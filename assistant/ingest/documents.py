"""Loading documents: text, markdown, PDF, HTML and DOCX into clean text with metadata.

Every loader returns the same `Document`: markdown-flavoured text (headings as `#` lines,
so the chunker can find sections), the page where each PDF page starts, and the title,
publisher and date shown in citations. Those come from `metadata.toml` beside the files
when it names the file, otherwise from the file itself (front matter, PDF or DOCX
properties, the HTML title, the first heading), otherwise from the file name.

Cleaning removes what hurts retrieval and citations: YAML front matter, HTML tags,
footnote markers, markdown emphasis and links, and web-page furniture lines ("Skip to
content", "Back to Top"). A PDF page with no text layer, and an image file, is read by
OCR (`ocr`), page by page; the index report names those pages and their confidence.
"""

from __future__ import annotations

import re
import threading
import tomllib
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UnreadableDocument, UnsupportedDocument
from ..files import Progress, file_sha256
from . import ocr
from .ocr import IMAGE_SUFFIXES

SUPPORTED_SUFFIXES = (
    ".txt",
    ".md",
    ".markdown",
    ".pdf",
    ".html",
    ".htm",
    ".docx",
    *IMAGE_SUFFIXES,
)
METADATA_FILE = "metadata.toml"
CLEANING_VERSION = 5  # raise when loading or cleaning changes, so indexes are rebuilt


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str
    title: str
    publisher: str
    date: str
    text: str
    sha256: str
    kind: str
    pages: tuple[tuple[int, int], ...] = ()  # (char offset where the page starts, page number)
    notes: tuple[str, ...] = ()  # things the user should know (e.g. "read as Windows-1252")

    def page_at(self, offset: int) -> int | None:
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


@dataclass
class _Parsed:
    text: str
    title: str = ""
    publisher: str = ""
    date: str = ""
    pages: list[tuple[int, int]] = field(default_factory=list)
    page_texts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_metadata(folder: Path) -> dict[str, dict[str, str]]:
    """The `metadata.toml` of a folder: {file name: {title, publisher, date}}."""
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {name: {k: str(v) for k, v in entry.items()} for name, entry in data.items()}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_document(
    path: Path,
    doc_id: str | None = None,
    metadata: dict[str, str] | None = None,
    max_bytes: int = 200 * 1024 * 1024,
    progress: Progress | None = None,
) -> Document:
    """Read one file. Raises UnsupportedDocument or UnreadableDocument with the reason.
    `progress("reading <name> by OCR", page, pages)` follows pages read by OCR."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(
            f"{path.name}: unsupported file type '{suffix or 'none'}' "
            f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableDocument(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise UnreadableDocument(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise UnreadableDocument(
            f"{path.name}: {size / 1e6:.0f} MB is over the {max_bytes / 1e6:.0f} MB limit"
        )
    try:  # hashed before reading, so a file rewritten meanwhile is indexed again next run
        sha256 = file_sha256(path)
        parsed = _parse(path, suffix, sha256, progress)
    except OSError as exc:  # removed or made unreadable while being indexed
        raise UnreadableDocument(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if parsed.page_texts:  # clean page by page so page starts stay exact
        text, pages = _join_pages([clean_text(page) for page in parsed.page_texts])
        parsed.pages = pages
    else:
        text = clean_text(parsed.text)
    if len(text.strip()) < 2:
        raise UnreadableDocument(
            f"{path.name}: no text could be extracted, by its text layer or by OCR "
            "(blank pages, or an image without legible text)"
        )
    meta = metadata or {}
    title = meta.get("title") or parsed.title or _first_heading(text) or _title_from_name(path)
    return Document(
        doc_id=doc_id or path.stem,
        path=str(path),
        title=" ".join(title.split()),
        publisher=meta.get("publisher") or parsed.publisher,
        date=meta.get("date") or parsed.date,
        text=text,
        sha256=sha256,
        kind=suffix.lstrip("."),
        pages=tuple(parsed.pages),
        notes=tuple(parsed.notes),
    )


# The files read last, by content: an upload is read once to be screened and again from
# its copy in the corpus folder, and a scan's OCR (about a second a page) is not repeated.
_READ: OrderedDict[str, tuple[str, _Parsed]] = OrderedDict()
_READ_KEPT = 8
_READ_LOCK = threading.Lock()


def _parse(path: Path, suffix: str, sha256: str, progress: Progress | None) -> _Parsed:
    key = f"{sha256}{suffix}"
    with _READ_LOCK:
        if key in _READ:
            _READ.move_to_end(key)
            name, parsed = _READ[key]
            notes = [note.replace(name, path.name, 1) for note in parsed.notes]
            return replace(parsed, notes=notes)
    before = path.stat()
    parsed = _PARSERS[suffix](path, progress)
    after = path.stat()
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        return parsed  # written to while read: not what the hash names
    with _READ_LOCK:
        _READ[key] = (path.name, replace(parsed))
        while len(_READ) > _READ_KEPT:
            _READ.popitem(last=False)
    return parsed


# ---------------------------------------------------------------- parsers per type


def _decode(path: Path) -> tuple[str, list[str]]:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise UnreadableDocument(f"{path.name}: looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), [f"{path.name}: not UTF-8; read as Windows-1252"]
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(
            f"{path.name}: not valid UTF-8 text; save it as UTF-8 and add it again"
        ) from exc


def _parse_text(path: Path, progress: Progress | None = None) -> _Parsed:
    text, notes = _decode(path)
    parsed = _parse_front_matter(text, path.name)
    parsed.notes = notes + parsed.notes
    if path.suffix.lower() == ".txt":
        parsed.text = _mark_plain_headings(parsed.text)
    return parsed


def _parse_pdf(path: Path, progress: Progress | None = None) -> _Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise UnreadableDocument(
                f"{path.name}: the PDF is protected by a password; save a copy without "
                "the password (or print it to PDF) and add that"
            )
        parts = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info and info.title else ""
        author = str(info.author) if info and info.author else ""
        if author.strip().lower() in _PLACEHOLDER_AUTHORS:  # what a PDF writer puts by default
            author = ""
    except UnreadableDocument:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadableDocument(f"{path.name}: not a readable PDF ({exc})") from exc
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise UnreadableDocument(f"{path.name}: not a readable PDF ({exc})") from exc
    scanned = [i for i, part in enumerate(parts) if len(part.strip()) < ocr.MIN_TEXT_CHARS]
    skip = set(scanned) | _pages_without_lines(path, len(parts))
    if len(skip) < len(parts):
        for index, text in _pages_with_tables(path, skip).items():
            parts[index] = text
    notes: list[str] = []
    if scanned:  # page by page: a mixed PDF keeps its text layer where it has one
        pages = list(ocr.read_pdf_pages(path, scanned, _ocr_progress(path, progress)))
        for page in pages:
            parts[page.number - 1] = page.text
        notes = ocr.report(path.name, pages)
    return _Parsed(text="", title=title, publisher=author, page_texts=parts, notes=notes)


_PLACEHOLDER_AUTHORS = {"anonymous", "(anonymous)", "unknown", "user", "author", "admin"}


def _pages_without_lines(path: Path, count: int) -> set[int]:
    """The pages (from 0) that draw no line, rectangle or curve, in forms they place
    included: a table is found from its rules, so these hold none, and pdfplumber, which
    reads a page about twenty times slower than pypdf, need not read them."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception:  # pdfplumber is asked about every page
        return set()
    try:
        return {
            index
            for index in range(min(count, len(pdf)))
            if next(pdf[index].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]), None) is None
        }
    except Exception:
        return set()
    finally:
        pdf.close()


def _pages_with_tables(path: Path, skip: set[int]) -> dict[int, str]:
    """The text of each page (from 0) that holds a table, read again with pdfplumber: the
    tables as Markdown tables where they stand, the rest as lines. A table that goes on
    from the foot of one page to the head of the next, with as many columns, is given its
    header again on the next page."""
    import pdfplumber

    out: dict[int, str] = {}
    header: list[str] | None = None  # of a table that ends its page
    try:
        pdf = pdfplumber.open(str(path))
    except Exception:  # pypdf read it; its text stands
        return out
    with pdf:
        for index, page in enumerate(pdf.pages):
            tables = [] if index in skip else page.find_tables()
            if not tables:
                header = None
                continue
            boxes = [t.bbox for t in tables]

            def outside(obj: dict, boxes: list = boxes) -> bool:
                return not any(
                    b[0] <= obj.get("x0", -1)
                    and obj.get("x1", 1e9) <= b[2]
                    and b[1] <= obj.get("top", -1)
                    and obj.get("bottom", 1e9) <= b[3]
                    for b in boxes
                )

            blocks = [
                (line["top"], line["text"]) for line in page.filter(outside).extract_text_lines()
            ]
            first_top = min((top for top, _ in blocks), default=page.height)
            bottom = max((top for top, _ in blocks), default=0.0)
            last: list[str] | None = None
            for table in sorted(tables, key=lambda t: t.bbox[1]):
                rows = [[" ".join((c or "").split()) for c in row] for row in table.extract()]
                if not rows:
                    continue
                goes_on = (
                    header is not None
                    and table.bbox[1] <= first_top
                    and len(rows[0]) == len(header)
                    and rows[0] != header
                )
                used = header if goes_on and header is not None else rows[0]
                blocks.append(
                    (table.bbox[1], f"\n{markdown_table(rows, used if goes_on else None)}\n")
                )
                last = used if table.bbox[3] >= bottom else None  # nothing below it
                header = None
            header = last
            out[index] = "\n".join(text for _, text in sorted(blocks, key=lambda b: b[0]))
    return out


def _parse_image(path: Path, progress: Progress | None = None) -> _Parsed:
    pages = ocr.read_image_file(path, _ocr_progress(path, progress))
    return _Parsed(text="", page_texts=[p.text for p in pages], notes=ocr.report(path.name, pages))


def _ocr_progress(path: Path, progress: Progress | None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(f"reading {path.name} by OCR", done, total)


_HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg")


def _parse_html(path: Path, progress: Progress | None = None) -> _Parsed:
    from bs4 import BeautifulSoup

    text, notes = _decode(path)
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(_HTML_DROP):
        tag.decompose()
    for sup in soup.find_all("sup"):  # footnote markers; the tags are gone before cleaning
        if re.fullmatch(r"[\s\d,\[\]*†‡–-]+", sup.get_text()):
            sup.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for block in soup.find_all(["p", "li", "tr", "div", "br"]):
        block.insert_after("\n")
    body = soup.get_text()
    return _Parsed(text=body, title=title, notes=notes)


def _parse_docx(path: Path, progress: Progress | None = None) -> _Parsed:
    import docx

    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
        if total > 500 * 1024 * 1024:
            raise UnreadableDocument(f"{path.name}: unpacks to {total / 1e6:.0f} MB; refused")
        document = docx.Document(str(path))
    except UnreadableDocument:
        raise
    except Exception as exc:  # python-docx raises KeyError, BadZipFile, ValueError...
        raise UnreadableDocument(f"{path.name}: not a readable DOCX file ({exc})") from exc
    from docx.table import Table

    lines: list[str] = []
    for block in document.iter_inner_content():  # paragraphs and tables in their order
        if isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            lines.append(f"\n{markdown_table(rows)}\n")
            continue
        style = block.style.name if block.style is not None else ""
        content = block.text.strip()
        if not content:
            continue
        match = re.match(r"Heading (\d)", style)
        if match or style == "Title":
            level = int(match.group(1)) if match else 1
            lines.append(f"\n{'#' * min(level, 6)} {content}\n")
        else:
            lines.append(content + "\n")
    props = document.core_properties
    return _Parsed(text="\n".join(lines), title=props.title or "", publisher=props.author or "")


def markdown_table(rows: list[list[str]], header: list[str] | None = None) -> str:
    """Rows of cells as a Markdown table, the first row (or `header`) as its header; a
    cell's line breaks become spaces and its "|" is escaped."""

    def cell(text: str | None) -> str:
        return " ".join((text or "").split()).replace("|", "\\|")

    body = [[cell(c) for c in row] for row in rows if any(cell(c) for c in row)]
    if header is None:
        if not body:
            return ""
        header, body = body[0], body[1:]
    width = max(len(header), *(len(r) for r in body)) if body else len(header)
    head = [*(cell(c) for c in header), *[""] * (width - len(header))]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join([*r, *[""] * (width - len(r))]) + " |" for r in body]
    return "\n".join(lines)


_PARSERS: dict[str, Callable[[Path, Progress | None], _Parsed]] = {
    ".txt": _parse_text,
    ".md": _parse_text,
    ".markdown": _parse_text,
    ".pdf": _parse_pdf,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".docx": _parse_docx,
    **dict.fromkeys(IMAGE_SUFFIXES, _parse_image),
}


# ---------------------------------------------------------------- cleaning

_FRONT_MATTER = re.compile(r"\A\s*---\n(.*?)\n---\n", re.S)
_FURNITURE = re.compile(
    r"^(skip to (main )?content|back to top|menu|search|share( this)?|print|"
    r"[\w&@.\- ]{1,30} (logo|search)|image credits?:.*|subscribe.*newsletter.*)$",
    re.I,
)
# A footnote reference line: "65 Smith, J. (2024). Title. https://..." Footnote markers
# are removed from the text, so these lines only add noise to retrieval.
_REFERENCE = re.compile(
    r"^(?:<sup>)?\d{1,3}(?:</sup>)? *"
    r"(?=.*(https?://|\(\w*\s?\d{0,2},?\s?(19|20)\d\d\)|Accessed|Retrieved|et al\.))"
)
_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<sup>.*?</sup>", re.S | re.I), ""),
    (re.compile(r"\$\s*([0-9.]+)\s*\^\s*\{?(\d+)\}?\s*\$"), r"\1^\2"),
    (re.compile(r"\^\{[\d,\s]+\}"), ""),
    (re.compile(r"(?<=[A-Za-z])[¹²³⁴⁵⁶⁷⁸⁹⁰]+"), ""),
    (re.compile(r"<br\s*/?>", re.I), "\n"),
    (re.compile(r"</?[a-zA-Z][^<>]{0,200}>"), ""),
    (re.compile(r"\*\*(.+?)\*\*", re.S), r"\1"),
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\\([$_*#])"), r"\1"),
    (re.compile(r"[ \t]+\n"), "\n"),
    (re.compile(r"\n{3,}"), "\n\n"),
)


def clean_text(text: str) -> str:
    """Strip markup and furniture, keeping headings and paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [
        line
        for line in text.split("\n")
        if not _FURNITURE.match(line.strip().lstrip("#").strip()) and not _REFERENCE.match(line)
    ]
    text = "\n".join(lines)
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text.strip() + "\n"


def _parse_front_matter(text: str, name: str) -> _Parsed:
    """Title, publisher (`author` or `publisher`) and date from a YAML front matter block.

    Values are kept as written (YAML's base loader: no dates or numbers made of them). A
    block that is not valid YAML, or not a mapping, is still removed from the text; its
    fields are ignored (the title then comes from the first heading or the file name) and
    a note says so.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return _Parsed(text=text)
    import yaml  # imported here: most documents have no front matter

    body = text[match.end() :]
    try:
        loaded = yaml.load(match.group(1), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        first = text.count("\n", 0, match.start(1)) + 1  # the file's line where the YAML starts
        line = f" (line {first + mark.line})" if mark is not None else ""
        return _Parsed(text=body, notes=[f"{name}: front matter is not valid YAML{line}; ignored"])
    if not isinstance(loaded, dict | None):
        return _Parsed(text=body, notes=[f"{name}: front matter is not a YAML mapping; ignored"])
    fields = {
        str(key).lower(): " ".join(value.split())
        for key, value in (loaded or {}).items()
        if isinstance(value, str)
    }
    return _Parsed(
        text=body,
        title=fields.get("title", ""),
        publisher=fields.get("author", "") or fields.get("publisher", ""),
        date=fields.get("date", ""),
    )


_PLAIN_HEADING = re.compile(r"^[A-Z][^\n]{2,79}$")


def _mark_plain_headings(text: str) -> str:
    """Turn short stand-alone title lines of plain text into `##` headings.

    Plain-text conversions of reports keep their headings as lines of their own
    ("Executive Summary"); marking them gives the chunker sections to cite.
    """
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        before = lines[i - 1].strip() if i > 0 else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if (
            _PLAIN_HEADING.match(stripped)
            and not before
            and not after
            and len(stripped.split()) <= 12
            and not stripped.endswith((".", ",", ";", ":", "!", "”", '"', ")"))
            and not re.search(r"\b(19|20)\d\d\b", stripped)
            and not stripped.startswith("#")
        ):
            out.append("## " + stripped)
        else:
            out.append(line)
    return "\n".join(out)


def _first_heading(text: str) -> str:
    match = re.search(r"^#{1,3} +(.+)$", text, re.M)
    return match.group(1).strip() if match else ""


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize()


def _join_pages(page_texts: list[str]) -> tuple[str, list[tuple[int, int]]]:
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        page_text = page_text.strip()
        if not page_text:
            continue
        pages.append((offset, number))
        parts.append(page_text)
        offset += len(page_text) + 2
    return "\n\n".join(parts) + "\n", pages
