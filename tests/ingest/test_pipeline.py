"""Ingest into Postgres: one document per version, hash no-op, exact offsets, diffs fanned out once."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.pipeline import ingest_policy
from ingest.retrieval import hybrid_search
from memory.db import Conn
from memory.users import create_user
from tests.ingest.conftest import ACME_POLICY

T0 = datetime(2026, 10, 1, tzinfo=UTC)


async def count(conn: Conn, table: str) -> int:
    row = await (await conn.execute(f"SELECT count(*) AS n FROM {table}")).fetchone()
    return row["n"]


async def test_ingest_stores_chunks_whose_offsets_map_back(conn: Conn, acme_policy: Path, embedder) -> None:
    result = await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder, at=T0)
    assert result.created and result.version == 1 and result.chunks == 6
    assert result.title == "Acme Privacy Policy"
    doc = await (await conn.execute("SELECT text FROM policy_documents")).fetchone()
    rows = await (await conn.execute(
        'SELECT start, "end", text, section, embedding_model, embedding_dim FROM policy_chunks')).fetchall()
    assert all(doc["text"][r["start"]:r["end"]] == r["text"] for r in rows)
    assert {r["embedding_model"] for r in rows} == {"all-MiniLM-L6-v2"} and rows[0]["embedding_dim"] == 384
    platform = await (await conn.execute("SELECT name FROM platforms WHERE slug = 'acme'")).fetchone()
    assert platform["name"] == "Acme"


async def test_reingesting_the_same_content_is_a_no_op(conn: Conn, acme_policy: Path, embedder) -> None:
    first = await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder, at=T0)
    # Re-wrapped whitespace normalises to the same text: still the same content.
    acme_policy.write_text(ACME_POLICY.replace("\n\n", "\n\n\n") + "\n\n", encoding="utf-8")
    again = await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder)
    assert not again.created and again.version == first.version == 1 and again.chunks == first.chunks
    assert await count(conn, "policy_documents") == 1
    assert await count(conn, "policy_chunks") == first.chunks


async def test_changed_policy_makes_a_version_with_a_section_diff_and_one_event_per_connected_user(
        conn: Conn, acme_policy: Path, embedder, tmp_path: Path) -> None:
    await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder, at=T0)
    platform_id = (await (await conn.execute("SELECT id FROM platforms WHERE slug='acme'")).fetchone())["id"]
    users = [await create_user(conn, f"u{i}@example.com") for i in range(3)]
    for i, u in enumerate(users):
        await conn.execute("INSERT INTO connections (user_id, platform_id, status) VALUES (%s, %s, %s)",
                           (u["id"], platform_id, "disconnected" if i == 2 else "connected"))
    updated = (ACME_POLICY.replace("18 months", "36 months").replace("## Children\n", "## Connected cars\n\n"
               "We collect driving data from connected vehicles.\n\n## Children\n"))
    updated = re.sub(r"## Deleting your account\n.*?(?=## )", "", updated, flags=re.DOTALL)
    new = tmp_path / "acme-v2.md"
    new.write_text(updated, encoding="utf-8")
    later = datetime(2026, 11, 1, tzinfo=UTC)
    result = await ingest_policy(conn, new, platform="acme", embedder=embedder, at=later)

    assert result.created and result.version == 2 and result.users_notified == 2
    assert result.changes == {"added": ["Connected cars"], "removed": ["Deleting your account"],
                              "changed": [{"section": "Data retention", "similarity": pytest.approx(0.97, abs=0.03)}]}
    assert result.summary == ("Policy updated: section 'Data retention' changed; 'Connected cars' added; "
                              "'Deleting your account' removed")
    events = await (await conn.execute(
        "SELECT user_id, kind, attribution, summary, occurred_at FROM change_events ORDER BY user_id")).fetchall()
    assert {e["user_id"] for e in events} == {users[0]["id"], users[1]["id"]}
    assert all(e["kind"] == "platform_policy_updated" and e["attribution"] == "platform" and
               e["summary"] == result.summary and e["occurred_at"] == later for e in events)
    # Search reads the latest version by default, and the old one on request.
    [hit] = await hybrid_search(conn, "how long is search history kept", platform="acme", k=1, embedder=embedder)
    assert "36 months" in hit.text and hit.version == 2
    [old] = await hybrid_search(conn, "how long is search history kept", platform="acme", k=1,
                                embedder=embedder, version=1)
    assert "18 months" in old.text
    # Ingesting v2 again changes nothing and tells nobody twice.
    assert not (await ingest_policy(conn, new, platform="acme", embedder=embedder)).created
    assert await count(conn, "change_events") == 2


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.md", b"", "empty"),
    ("blob.txt", b"\x00\x89PNG\x00\x00" * 50, "binary"),
    ("sheet.xlsx", b"PK\x03\x04", "unsupported file type"),
    ("missing.md", None, "no such file"),
])
async def test_bad_input_raises_a_named_error_and_stores_nothing(conn: Conn, tmp_path: Path, embedder,
                                                                name: str, content: bytes | None,
                                                                message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        await ingest_policy(conn, path, platform="acme", embedder=embedder)
    assert await count(conn, "policy_documents") == 0 and await count(conn, "platforms") == 0


async def test_a_failure_while_storing_rolls_everything_back(conn: Conn, acme_policy: Path, embedder) -> None:
    class Broken:
        name, dim = "all-MiniLM-L6-v2", 384

        def embed(self, texts):  # wrong shape: the COPY of chunks fails after the document row was written
            return embedder.embed(texts)[:1]

        def embed_query(self, text):
            return embedder.embed_query(text)

    with pytest.raises(ValueError):
        await ingest_policy(conn, acme_policy, platform="acme", embedder=Broken())
    assert await count(conn, "policy_documents") == 0 and await count(conn, "policy_chunks") == 0


async def test_bundled_policies_load_for_platforms_in_the_database(conn: Conn, embedder) -> None:
    from ingest.policies import bundled_policy_path, load_bundled_policies
    from memory.policies import ensure_platform

    if bundled_policy_path("google") is None:
        pytest.skip("bundled Google summary not written yet")
    await ensure_platform(conn, "google", "Google")
    await ensure_platform(conn, "no-policy-here", None)
    results = await load_bundled_policies(conn, embedder=embedder, at=T0)
    assert [(r.platform, r.version, r.created) for r in results] == [("google", 1, True)]
    assert results[0].chunks > 10
