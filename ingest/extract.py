"""Extract and normalise stages: fetched bytes to one clean text (Markdown-style headings kept) and a title."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from ingest.errors import EmptyDocument, UnsupportedDocument
from ingest.fetch import Fetched

MIN_CHARS = 40
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


@dataclass(frozen=True)
class Extracted:
    title: str | None
    text: str
    # PDFs and plain text carry no heading markup: the chunker then guesses headings from line shape.
    plain_headings: bool


def normalise(text: str) -> str:
    """NFC, one kind of newline and space, no trailing blanks, at most one empty line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip()


def _decode(data: bytes, what: str) -> str:
    if b"\x00" in data[:8192]:
        raise UnsupportedDocument(f"the {what} looks binary (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    if printable < 0.95 * len(text):
        raise UnsupportedDocument(f"the {what} looks binary, not text")
    return text


def _html(data: bytes) -> tuple[str | None, str]:
    import trafilatura  # heavy import, only needed for HTML

    html = _decode(data, "HTML document")
    text = trafilatura.extract(html, output_format="markdown", include_formatting=True, include_links=False,
                               include_tables=True, favor_recall=True) or ""
    meta = trafilatura.extract_metadata(html)
    return (meta.title if meta else None), text


def _pdf(data: bytes) -> tuple[str | None, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnsupportedDocument(f"the PDF cannot be read: {exc}") from exc
    return title, "\n\n".join(pages)


def _first_heading(text: str) -> str | None:
    m = re.search(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)
    return m.group(1).strip() if m else None


def extract(doc: Fetched) -> Extracted:
    if not doc.data.strip():
        raise EmptyDocument("the document is empty")
    if doc.kind == "html":
        title, raw = _html(doc.data)
    elif doc.kind == "pdf":
        if not doc.data.startswith(b"%PDF"):
            raise UnsupportedDocument("the document claims to be a PDF but is not one")
        title, raw = _pdf(doc.data)
    elif doc.kind in ("markdown", "text"):
        title, raw = None, _decode(doc.data, "document")
    else:
        raise UnsupportedDocument(f"no extractor for '{doc.kind}' documents")
    text = normalise(raw)
    if len(text) < MIN_CHARS:
        raise EmptyDocument(f"no readable text in the document ({len(text)} characters extracted)")
    title = (title or "").strip() or _first_heading(text)
    return Extracted(title=title, text=text, plain_headings=doc.kind in ("pdf", "text"))
