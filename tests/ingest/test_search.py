"""Hybrid search: the right passage on a small corpus, filtered by platform, with citation fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import EmbeddingMismatch
from ingest.pipeline import ingest_policy
from ingest.retrieval import fulltext_query, hybrid_search
from memory.db import Conn

OTHER = """# Globex Privacy Policy

## Voice recordings

Globex stores audio recordings of voice commands for 90 days to improve speech recognition.

## Selling data

Globex may sell device identifiers to data brokers in some regions.
"""


@pytest.fixture
async def corpus(conn: Conn, acme_policy: Path, tmp_path: Path, embedder) -> None:
    other = tmp_path / "globex.md"
    other.write_text(OTHER, encoding="utf-8")
    await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder)
    await ingest_policy(conn, other, platform="globex", embedder=embedder)


@pytest.mark.parametrize(("question", "platform", "expected"), [
    ("Does Acme track my GPS position?", "acme", "Location data"),
    ("can they sell my information", "acme", "Sharing with advertisers"),
    ("how do I erase my account", "acme", "Deleting your account"),
    ("are kids allowed", "acme", "Children"),
    ("does it keep my voice commands", "globex", "Voice recordings"),
    ("does it sell data", "globex", "Selling data"),
])
async def test_the_right_passage_comes_first(conn: Conn, corpus: None, embedder, question: str, platform: str,
                                             expected: str) -> None:
    hits = await hybrid_search(conn, question, platform=platform, k=3, embedder=embedder)
    assert hits and hits[0].section == expected
    assert {h.platform for h in hits} == {platform}


async def test_passages_carry_everything_a_citation_needs(conn: Conn, corpus: None, embedder) -> None:
    [hit] = await hybrid_search(conn, "geolocation", platform="acme", k=1, embedder=embedder)
    doc = await (await conn.execute("SELECT text FROM policy_documents WHERE title = %s", (hit.document,))).fetchone()
    assert doc["text"][hit.start:hit.end] == hit.text
    assert (hit.platform, hit.version, hit.document, hit.section) == ("acme", 1, "Acme Privacy Policy",
                                                                       "Location data")
    assert hit.score > 0 and isinstance(hit.chunk_id, int)


async def test_without_platform_every_platform_is_searched(conn: Conn, corpus: None, embedder) -> None:
    hits = await hybrid_search(conn, "audio recordings of voice commands", k=5, embedder=embedder)
    assert hits[0].platform == "globex"


async def test_vectors_of_another_model_are_never_mixed_in(conn: Conn, corpus: None, embedder) -> None:
    class Other:
        name, dim = "other-model", 384

        def embed_query(self, text: str):
            return embedder.embed_query(text)

    with pytest.raises(EmbeddingMismatch, match="reembed"):
        await hybrid_search(conn, "location", platform="acme", embedder=Other())


def test_fulltext_query_is_an_or_with_privacy_synonyms() -> None:
    q = fulltext_query("Can they sell my GPS location?")
    assert "sell" in q.split(" or ") and "geolocation" in q and "disclose" in q and " and " not in q
    assert fulltext_query('weird "quotes" -minus') == "weird or quotes or minus"
