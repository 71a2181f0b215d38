"""Extract, normalise and chunk: offsets map back exactly, headings kept, every format readable."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import chunk, find_sections
from ingest.errors import EmptyDocument, UnsupportedDocument
from ingest.extract import extract, normalise
from ingest.fetch import Fetched
from tests.ingest.conftest import ACME_POLICY


def doc(kind: str, data: bytes) -> Fetched:
    return Fetched(source="test", kind=kind, data=data, url=None)


def test_chunks_point_at_their_exact_span_and_keep_their_heading() -> None:
    text = normalise(ACME_POLICY)
    chunks = chunk(text, find_sections(text))
    assert [c.section for c in chunks][:3] == ["Information we collect", "Location data", "Sharing with advertisers"]
    for c in chunks:
        assert text[c.start:c.end] == c.text
    location = next(c for c in chunks if c.section == "Location data")
    assert location.text.startswith("We use GPS signals")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(min_size=1, max_size=300), st.sampled_from(["# H", "## Sub", "", "\n"])),
                min_size=1, max_size=30))
def test_offsets_are_exact_for_any_text(lines: list[str]) -> None:
    text = normalise("\n".join(lines))
    for c in chunk(text, find_sections(text, plain_headings=True)):
        assert text[c.start:c.end] == c.text and c.text.strip() == c.text and c.text


def test_long_sections_split_into_passages_under_the_limit() -> None:
    body = " ".join(f"Sentence number {i} says something about data." for i in range(200))
    text = normalise(f"## Long\n\n{body}")
    chunks = chunk(text, find_sections(text))
    assert len(chunks) > 3 and all(len(c.text) <= 1100 for c in chunks)
    assert all(c.section == "Long" for c in chunks)


def test_html_keeps_headings_and_drops_navigation() -> None:
    html = (b"<html><head><title>Acme Privacy</title></head><body><nav>Home | Login | Shop</nav><article>"
            b"<h1>Acme Privacy</h1><p>We collect data when you use Acme, as explained in this policy.</p>"
            b"<h2>Location</h2><p>We use GPS to estimate where you are when location services are on.</p>"
            b"</article></body></html>")
    out = extract(doc("html", html))
    assert out.title == "Acme Privacy"
    assert "## Location" in out.text and "Login | Shop" not in out.text


def test_pdf_text_is_extracted_and_headings_guessed() -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 720 Td (Data Retention) Tj 0 -20 Td "
                    b"(We keep your search history for 18 months before deleting it.) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    out = extract(doc("pdf", buf.getvalue()))
    assert "18 months" in out.text and out.plain_headings
    sections = find_sections(out.text, plain_headings=True, default="doc")
    assert any(s.heading == "Data Retention" for s in sections)


def test_markdown_and_text_are_read_as_is() -> None:
    assert extract(doc("markdown", ACME_POLICY.encode())).title == "Acme Privacy Policy"
    assert "18 months" in extract(doc("text", b"Retention\n\nWe keep logs for 18 months, then delete them.")).text


@pytest.mark.parametrize(("kind", "data", "error"), [
    ("markdown", b"   \n  ", EmptyDocument),
    ("text", b"\x00\x01\x02binary\x00" * 20, UnsupportedDocument),
    ("pdf", b"not a pdf at all, just some text pretending", UnsupportedDocument),
    ("markdown", b"# Hi", EmptyDocument),
])
def test_bad_documents_are_refused_with_a_named_problem(kind: str, data: bytes, error: type) -> None:
    with pytest.raises(error):
        extract(doc(kind, data))
