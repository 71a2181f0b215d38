"""Policy documents and their chunks in Postgres: versions, chunk storage, policy-update fan-out, re-embedding."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from pgvector.psycopg import register_vector_async
from psycopg import sql
from psycopg.types.json import Jsonb

from memory.db import Conn


async def use_vectors(conn: Conn) -> None:
    """Let numpy arrays pass as pgvector values on this connection (one type lookup)."""
    await register_vector_async(conn)


async def lock_platform_policy(conn: Conn, platform_id: UUID) -> None:
    """Serialise ingests of one platform's policy so two runs cannot both claim the next version."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('policy:' || %s::text))", (str(platform_id),))


async def latest_document(conn: Conn, platform_id: UUID) -> dict[str, Any] | None:
    return await (await conn.execute(
        """SELECT id, platform_id, version, title, url, source, content_type, content_hash, text, sections,
                  changes, created_at
           FROM policy_documents WHERE platform_id = %s ORDER BY version DESC LIMIT 1""",
        (platform_id,),
    )).fetchone()


async def insert_document(conn: Conn, platform_id: UUID, *, version: int, title: str, url: str | None,
                          source: str, content_type: str, content_hash: str, text: str,
                          sections: list[dict[str, Any]], changes: dict[str, Any] | None,
                          at: datetime | None) -> dict[str, Any]:
    row = await (await conn.execute(
        """INSERT INTO policy_documents (platform_id, version, title, url, source, content_type, content_hash,
               text, sections, changes, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, COALESCE(%s, now()))
           RETURNING id, version, created_at""",
        (platform_id, version, title, url, source, content_type, content_hash, text, Jsonb(sections),
         Jsonb(changes) if changes is not None else None, at),
    )).fetchone()
    assert row is not None
    return row


async def insert_chunks(conn: Conn, document_id: UUID, platform_id: UUID,
                        chunks: Sequence[tuple[int, str, int, int, str]], embeddings: np.ndarray,
                        *, model: str, dim: int) -> int:
    """Store (ord, section, start, end, text) rows with their vectors; COPY keeps large ingests fast."""
    await use_vectors(conn)
    async with conn.cursor() as cur, cur.copy(
        """COPY policy_chunks (document_id, platform_id, ord, section, start, "end", text, embedding,
               embedding_model, embedding_dim) FROM STDIN"""
    ) as copy:
        for (ord_, section, start, end, text), vec in zip(chunks, embeddings, strict=True):
            await copy.write_row((document_id, platform_id, ord_, section, start, end, text,
                                  "[" + ",".join(f"{x:.7g}" for x in vec.tolist()) + "]", model, dim))
    return len(chunks)


async def fan_out_policy_update(conn: Conn, platform_id: UUID, *, version_before: int, version_after: int,
                                document_id: UUID, summary: str, changes: dict[str, Any],
                                at: datetime) -> int:
    """One platform_policy_updated event per connected user, in one statement; returns how many."""
    cur = await conn.execute(
        """INSERT INTO change_events (user_id, platform_id, kind, attribution, before, after, direction, impact,
               summary, occurred_at)
           SELECT c.user_id, c.platform_id, 'platform_policy_updated', 'platform', %s, %s, 'neutral', %s, %s, %s
           FROM connections c WHERE c.platform_id = %s AND c.status = 'connected'""",
        (Jsonb({"policy_version": version_before}),
         Jsonb({"policy_version": version_after, "document_id": str(document_id), **changes}),
         "medium" if changes.get("changed") or changes.get("added") or changes.get("removed") else "low",
         summary, at, platform_id),
    )
    notified = cur.rowcount
    await conn.execute("UPDATE policy_documents SET users_notified = %s WHERE id = %s", (notified, document_id))
    return notified


async def document_chunks(conn: Conn, document_id: UUID) -> list[dict[str, Any]]:
    return await (await conn.execute(
        """SELECT id, ord, section, start, "end", text, embedding_model, embedding_dim
           FROM policy_chunks WHERE document_id = %s ORDER BY ord""", (document_id,),
    )).fetchall()


async def embedding_models(conn: Conn) -> list[dict[str, Any]]:
    """Which models the stored vectors come from (normally exactly one)."""
    return await (await conn.execute(
        """SELECT embedding_model AS model, embedding_dim AS dim, count(*) AS chunks
           FROM policy_chunks GROUP BY 1, 2 ORDER BY 3 DESC""")).fetchall()


async def stored_model(conn: Conn) -> dict[str, Any] | None:
    """The model of the stored vectors from one row: reembed rewrites all rows in one transaction and
    ingest refuses another model, so one row speaks for the table (and costs no scan per search)."""
    return await (await conn.execute(
        "SELECT embedding_model AS model, embedding_dim AS dim FROM policy_chunks LIMIT 1")).fetchone()


async def column_dimension(conn: Conn) -> int | None:
    row = await (await conn.execute(
        """SELECT atttypmod FROM pg_attribute
           WHERE attrelid = 'policy_chunks'::regclass AND attname = 'embedding'""")).fetchone()
    return row["atttypmod"] if row and row["atttypmod"] > 0 else None


async def retype_embeddings(conn: Conn, dim: int) -> None:
    """Empty the vectors and give the column a new dimension (inside the caller's transaction)."""
    await conn.execute("DROP INDEX IF EXISTS policy_chunks_embedding_idx")
    await conn.execute("UPDATE policy_chunks SET embedding = NULL")
    await conn.execute(sql.SQL("ALTER TABLE policy_chunks ALTER COLUMN embedding TYPE vector({})").format(
        sql.Literal(dim)))


async def ensure_vector_index(conn: Conn) -> None:
    await conn.execute("""CREATE INDEX IF NOT EXISTS policy_chunks_embedding_idx
                          ON policy_chunks USING hnsw (embedding vector_cosine_ops)""")


async def chunk_batches(conn: Conn, *, batch: int = 256, after_id: int = 0) -> list[dict[str, Any]]:
    return await (await conn.execute(
        """SELECT id, section, text FROM policy_chunks WHERE id > %s ORDER BY id LIMIT %s""", (after_id, batch),
    )).fetchall()


async def set_embeddings(conn: Conn, rows: Sequence[tuple[int, np.ndarray]], *, model: str, dim: int) -> None:
    await use_vectors(conn)
    async with conn.cursor() as cur:
        await cur.executemany(
            "UPDATE policy_chunks SET embedding = %s, embedding_model = %s, embedding_dim = %s WHERE id = %s",
            [(vec, model, dim, chunk_id) for chunk_id, vec in rows],
        )


async def ensure_platform(conn: Conn, slug: str, name: str | None) -> UUID:
    """The platform's id, creating it when an operator ingests a policy for a platform not in the catalog."""
    row = await (await conn.execute(
        """INSERT INTO platforms (slug, name) VALUES (%s, %s) ON CONFLICT (slug) DO NOTHING RETURNING id""",
        (slug, name or slug.replace("-", " ").title()),
    )).fetchone()
    if row is None:
        row = await (await conn.execute("SELECT id FROM platforms WHERE slug = %s", (slug,))).fetchone()
    assert row is not None
    return row["id"]


async def platform_policy_url(conn: Conn, platform_id: UUID) -> str | None:
    row = await (await conn.execute("SELECT policy_url FROM platforms WHERE id = %s", (platform_id,))).fetchone()
    return row["policy_url"] if row else None


async def count_chunks(conn: Conn, document_id: UUID) -> int:
    row = await (await conn.execute("SELECT count(*) AS n FROM policy_chunks WHERE document_id = %s",
                                    (document_id,))).fetchone()
    return int(row["n"]) if row else 0


async def platforms_without_policy(conn: Conn) -> list[dict[str, Any]]:
    """Slugs of the platforms that have no policy document yet, in order."""
    return await (await conn.execute(
        """SELECT slug FROM platforms p WHERE NOT EXISTS (SELECT 1 FROM policy_documents d WHERE d.platform_id = p.id)
           ORDER BY slug""")).fetchall()


async def lock_chunks_for_rewrite(conn: Conn) -> None:
    """Hold off ingests (searches still read) until the caller's transaction ends."""
    await conn.execute("LOCK TABLE policy_chunks IN EXCLUSIVE MODE")
