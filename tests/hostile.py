"""Hostile files for the fault tests, made in well under a second each.

Compression bombs are built from one compressed block repeated: after a full flush a
deflate stream restarts its history, so compressing the same block again gives the same
bytes, and a gigabyte of output costs one megabyte of work. Checksums are computed over
the output the same way, so every file is valid all the way through.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

MB = 1024 * 1024


def _deflate_repeated(block: bytes, times: int, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + again * (times - 1) + compressor.flush(zlib.Z_FINISH)


def zlib_bomb(block: bytes, times: int) -> bytes:
    """A zlib stream of `block` repeated, with the right Adler-32 at its end."""
    stream = _deflate_repeated(block, times, 15)
    checksum = 1
    for _ in range(times):
        checksum = zlib.adler32(block, checksum)
    return stream[:-4] + struct.pack(">I", checksum)


def pdf(objects: list[bytes]) -> bytes:
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return body


_PAGES = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
]
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_bomb(path: Path, megabytes: int = 300) -> None:
    """One page whose content stream inflates to `megabytes` of text-drawing operators."""
    block = b"BT /F1 12 Tf 72 720 Td (Bomb) Tj ET\n" * (MB // 36)
    data = zlib_bomb(block, megabytes)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data)
    path.write_bytes(pdf([*_PAGES, stream + data + b"\nendstream", _FONT]))


def pdf_nested(path: Path, depth: int = 100_000) -> None:
    """A catalogue holding arrays nested `depth` deep."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>"
    content = b"<< /Length 22 >>\nstream\nBT (hello) Tj ET      \nendstream"
    path.write_bytes(pdf([catalog, *_PAGES[1:], content, _FONT]))


def pdf_page_loop(path: Path) -> None:
    """A page tree whose node lists itself among its kids."""
    path.write_bytes(pdf([_PAGES[0], b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]))


def zip_file(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """A zip of (name, deflated data, CRC-32, size) members, written by hand."""
    local, central = b"", b""
    for name, data, crc, size in members:
        encoded = name.encode()
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, len(data), size)
        central += struct.pack("<I", 0x02014B50) + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, len(local)) + encoded
        local += struct.pack("<I", 0x04034B50) + fields + struct.pack("<HH", len(encoded), 0)
        local += encoded + data
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0
    )
    path.write_bytes(local + central + end)


def _member(name: str, block: bytes, times: int) -> tuple[str, bytes, int, int]:
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    return name, _deflate_repeated(block, times, -15), crc, len(block) * times


_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"/>'
)


def docx_bomb(path: Path, megabytes: int = 600) -> None:
    """A .docx whose document.xml inflates to `megabytes`."""
    zip_file(
        path,
        [
            _member("[Content_Types].xml", _TYPES, 1),
            _member("word/document.xml", b"<" * MB, megabytes),
        ],
    )


def sparse(path: Path, size: int) -> None:
    """A file of `size` bytes that takes no disk space (a hole)."""
    with path.open("wb") as handle:
        handle.truncate(size)


SCRIPT_HTML = (
    "<html><head><title>Road budget</title><script>var x = 'SCRIPTPAYLOAD'; alert(1)</script>"
    '<style>p {color: red}</style></head><body onload="steal()"><h1>Road budget</h1>'
    '<p>The road budget grows by 3 percent in 2026.</p><img src=x onerror="evil()">'
    '<iframe src="javascript:alert(2)"></iframe></body></html>'
)
UNICODE_NAME = "énergie-日本語-\u202egpj.md"  # with a right-to-left override character

# file -> ("refused", what the indexer says, what the upload screen says) or
#         ("indexed", the document id it gets, "")
EXPECTED: dict[str, tuple[str, str, str]] = {
    "empty.txt": ("refused", "the file is empty", "the file is empty"),
    "huge.txt": ("refused", "MB limit", "upload limit"),
    "random.pdf": ("refused", "not a readable PDF", "binary data, not the .pdf"),
    "bomb.pdf": ("refused", "Limit reached while decompressing", "Limit reached"),
    "nested.pdf": ("refused", "not a readable PDF", "not a readable PDF"),
    "loop.pdf": ("refused", "cyclic page references", "cyclic page references"),
    "bomb.docx": ("refused", "unpacks to 629 MB; refused", "unpacks to 629 MB"),
    "nul.txt": ("refused", "looks like a binary file", "binary data, not the .txt"),
    "invalid-utf8.txt": ("refused", "not valid UTF-8", "binary data, not the .txt"),
    "scripts.html": ("indexed", "scripts", ""),
    "latin1.txt": ("indexed", "latin1", ""),
    "dotdot.md": ("indexed", "dotdot", ""),
    "..hidden-name.md": ("indexed", "hidden-name", ""),
    UNICODE_NAME: ("indexed", "énergie-日本語--gpj", ""),
}


def hostile_batch(folder: Path) -> list[Path]:
    """Every file of EXPECTED, made in `folder`; `dotdot.md` is given through `sub/..`."""
    (folder / "sub").mkdir(parents=True)
    (folder / "empty.txt").write_bytes(b"")
    sparse(folder / "huge.txt", 200 * MB)
    (folder / "random.pdf").write_bytes(bytes(range(256)) * 400)
    pdf_bomb(folder / "bomb.pdf")
    pdf_nested(folder / "nested.pdf")
    pdf_page_loop(folder / "loop.pdf")
    docx_bomb(folder / "bomb.docx")
    (folder / "scripts.html").write_text(SCRIPT_HTML)
    (folder / "nul.txt").write_bytes(b"Water\x00\x00 policy\x00 text " * 50)
    (folder / "invalid-utf8.txt").write_bytes(b"The caf\xe9 policy \x81\x8d\x8f\x90 is broken.")
    (folder / "latin1.txt").write_bytes("The café tax rises by 2 percent.".encode("latin-1"))
    (folder / "dotdot.md").write_text("# Parks\n\nThe parks budget is 40,000 pounds.\n")
    (folder / "..hidden-name.md").write_text("# Bridges\n\nThe bridge budget is 70,000 pounds.\n")
    (folder / UNICODE_NAME).write_text("# Énergie\n\nLe budget énergie est de 9 millions.\n")
    return [folder / ("sub/../" + name if name == "dotdot.md" else name) for name in EXPECTED]
