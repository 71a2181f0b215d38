"""The full-text arm ranks a bounded candidate set: the strict (AND) matches first, the broad OR query with
synonyms only when those are too few. These pin the behaviour that keeps hybrid search fast at scale."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_policy
from ingest.retrieval import fulltext_query, hybrid_search, strict_query
from memory.db import Conn
from memory.retrieval import search_chunks

FILLER = "\n\n".join(f"## Data use {i}\n\nWe use your data and account details for purpose number {i}."
                     for i in range(12))
POLICY = f"""# Initech Privacy Policy

{FILLER}

## Voice

Initech keeps voice recordings of your data requests for ninety days.
"""


@pytest.fixture
async def initech(conn: Conn, tmp_path: Path, embedder) -> None:
    path = tmp_path / "initech.md"
    path.write_text(POLICY, encoding="utf-8")
    await ingest_policy(conn, path, platform="initech", embedder=embedder)


def test_strict_query_is_every_word_without_synonyms() -> None:
    assert strict_query("Can they sell my GPS location?") == "sell gps location"
    assert strict_query("the and of") == ""


async def test_all_word_matches_survive_a_tiny_candidate_cap(conn: Conn, initech: None, embedder) -> None:
    question = "data voice recordings"
    for cap in (1, 2, 300):
        rows = await search_chunks(conn, qvec=embedder.embed_query(question), model=embedder.name,
                                   fts_query=fulltext_query(question), fts_all=strict_query(question),
                                   platform="initech", k=3, depth=40, mode="fulltext", cap=cap)
        assert rows[0]["section"] == "Voice", cap


async def test_broad_query_fills_in_when_no_chunk_has_every_word(conn: Conn, initech: None, embedder) -> None:
    # no chunk says "gps", "sell" and "audio" together: the OR query with synonyms still finds the voice section
    hits = await hybrid_search(conn, "do they sell gps audio", platform="initech", k=3, embedder=embedder,
                               mode="fulltext")
    assert any(h.section == "Voice" for h in hits)


async def test_every_platform_and_one_platform_give_the_same_best_passage(conn: Conn, initech: None,
                                                                          acme_policy: Path, embedder) -> None:
    await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder)
    one = await hybrid_search(conn, "voice recordings", platform="initech", k=1, embedder=embedder)
    every = await hybrid_search(conn, "voice recordings kept ninety days", k=1, embedder=embedder)
    assert one[0].section == every[0].section == "Voice"
