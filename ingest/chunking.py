"""Chunk stage: sections found by their headings, then passages of a few paragraphs with exact offsets.

Every chunk's text equals stored_text[start:end], so a citation always points at the exact source span.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

TARGET_CHARS = 700   # a passage long enough to answer a question, short enough to quote
MAX_CHARS = 1100

_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_NUMBERED = re.compile(r"^(\d+(\.\d+)*\.?|[IVX]+\.)\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_PARAGRAPH_GAP = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Section:
    heading: str
    start: int   # body start (after the heading line)
    end: int

    def body(self, text: str) -> str:
        return text[self.start:self.end]

    def fingerprint(self, text: str) -> str:
        """Whitespace-insensitive hash of the body: a re-wrapped paragraph is not a change."""
        return hashlib.sha256(" ".join(self.body(text).split()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Chunk:
    ord: int
    section: str
    start: int
    end: int
    text: str


def _plain_heading(line: str) -> bool:
    """A guess for PDFs and text files: short, unpunctuated, numbered, Title Case or CAPITALS."""
    s = line.strip()
    if not s or len(s) > 80 or s[-1] in ".,;:!?" or not (s[0].isupper() or s[0].isdigit()):
        return False
    words = s.split()
    if len(words) > 10:
        return False
    if _NUMBERED.match(s) or s.isupper():
        return True
    capitalised = sum(w[0].isupper() for w in words if len(w) > 3)
    return capitalised >= max(1, len([w for w in words if len(w) > 3]) - 1) and len(words) <= 8


def find_sections(text: str, *, plain_headings: bool = False, default: str = "") -> list[Section]:
    """Sections in order; text before the first heading belongs to a section named `default`."""
    marks: list[tuple[str, int, int]] = []   # heading, line start, line end
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        m = _MD_HEADING.match(line)
        if m:
            marks.append((m.group(2).strip(), pos, end))
        elif plain_headings and _plain_heading(line):
            marks.append((line.strip(), pos, end))
        pos = end + 1
    sections: list[Section] = []
    first = marks[0][1] if marks else len(text)
    if text[:first].strip():
        sections.append(Section(default, 0, first))
    for i, (heading, _, line_end) in enumerate(marks):
        stop = marks[i + 1][1] if i + 1 < len(marks) else len(text)
        sections.append(Section(heading, min(line_end + 1, stop), stop))
    return sections


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Paragraph spans, long paragraphs cut at sentence ends (or hard, as a last resort)."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for gap in [*_PARAGRAPH_GAP.finditer(text, start, end), None]:
        stop = gap.start() if gap else end
        a, b = _trimmed(text, cursor, stop)
        if b > a:
            spans.extend(_split_long(text, a, b))
        cursor = gap.end() if gap else end
    return spans


def _split_long(text: str, a: int, b: int) -> list[tuple[int, int]]:
    if b - a <= MAX_CHARS:
        return [(a, b)]
    out: list[tuple[int, int]] = []
    cur = a
    for m in [*_SENTENCE_END.finditer(text, a, b), None]:
        cut = m.start() if m else b
        if cut - cur > TARGET_CHARS or m is None:
            while cut - cur > MAX_CHARS:   # a "sentence" longer than the limit: cut it hard
                out.append((cur, cur + MAX_CHARS))
                cur = cur + MAX_CHARS
            if cut > cur:
                out.append(_trimmed(text, cur, cut))
            cur = m.end() if m else b
    return [s for s in out if s[1] > s[0]]


def chunk(text: str, sections: list[Section]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in sections:
        group: list[tuple[int, int]] = []
        for piece in _pieces(text, section.start, section.end):
            if group and piece[1] - group[0][0] > TARGET_CHARS:
                chunks.append(_make(text, len(chunks), section.heading, group))
                group = []
            group.append(piece)
        if group:
            chunks.append(_make(text, len(chunks), section.heading, group))
    return chunks


def _make(text: str, ord_: int, heading: str, group: list[tuple[int, int]]) -> Chunk:
    start, end = group[0][0], group[-1][1]
    return Chunk(ord=ord_, section=heading, start=start, end=end, text=text[start:end])
