"""Policy passage search in Postgres: HNSW cosine, full-text, and both fused by reciprocal rank fusion."""

from __future__ import annotations

from typing import Any

import numpy as np

from memory.db import Conn
from memory.policies import use_vectors

# Reciprocal rank fusion constant. The textbook 60 flattens ranks; on our short, sectioned policies the
# top of each list matters most, and 5 did better on bench/data/retrieval_questions.yaml (docs/benchmarks.md).
RRF_K = 5

# The documents searched: one platform's (or every platform's) latest version, or one explicit version.
_DOCS = """
docs AS (
    SELECT DISTINCT ON (d.platform_id) d.id, d.platform_id, d.version, d.title, d.url, p.slug
    FROM policy_documents d JOIN platforms p ON p.id = d.platform_id
    WHERE (%(platform)s::text IS NULL OR p.slug = %(platform)s)
      AND (%(version)s::int IS NULL OR d.version = %(version)s)
    ORDER BY d.platform_id, d.version DESC
)"""

_VEC = """
vec AS (
    SELECT c.id, row_number() OVER (ORDER BY c.embedding <=> %(qvec)s) AS rank
    FROM policy_chunks c
    WHERE c.document_id IN (SELECT id FROM docs) AND c.embedding_model = %(model)s
    ORDER BY c.embedding <=> %(qvec)s LIMIT %(depth)s
)"""

_FTS = """
fts AS (
    SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q, 1) DESC, c.id) AS rank
    FROM policy_chunks c, websearch_to_tsquery('english', %(fts)s) q
    WHERE c.tsv @@ q AND c.document_id IN (SELECT id FROM docs)
    ORDER BY ts_rank_cd(c.tsv, q, 1) DESC, c.id LIMIT %(depth)s
)"""

_SELECT = """
SELECT c.id AS chunk_id, c.text, c.start, c."end", c.section, docs.title AS document, docs.slug AS platform,
       docs.version, docs.url, r.score
FROM ranked r JOIN policy_chunks c ON c.id = r.id JOIN docs ON docs.id = c.document_id
ORDER BY r.score DESC, c.id LIMIT %(k)s"""

HYBRID = f"""WITH {_DOCS}, {_VEC}, {_FTS},
ranked AS (
    SELECT id, sum(w / (%(rrf_k)s + rank)) AS score FROM (
        SELECT id, rank, %(w_vec)s::float8 AS w FROM vec
        UNION ALL SELECT id, rank, %(w_fts)s::float8 FROM fts) arms
    GROUP BY id
){_SELECT}"""

VECTOR_ONLY = f"""WITH {_DOCS}, {_VEC},
ranked AS (SELECT id, 1.0 / (%(rrf_k)s + rank) AS score FROM vec){_SELECT}"""

FULLTEXT_ONLY = f"""WITH {_DOCS}, {_FTS},
ranked AS (SELECT id, 1.0 / (%(rrf_k)s + rank) AS score FROM fts){_SELECT}"""

QUERIES = {"hybrid": HYBRID, "vector": VECTOR_ONLY, "fulltext": FULLTEXT_ONLY}


async def search_chunks(conn: Conn, *, qvec: np.ndarray, model: str, fts_query: str, platform: str | None,
                        version: int | None = None, k: int = 5, depth: int = 40, mode: str = "hybrid",
                        w_vec: float = 1.0, w_fts: float = 1.0, rrf_k: int = RRF_K) -> list[dict[str, Any]]:
    """Rows with every field a citation needs, best first; `mode` picks hybrid, vector or fulltext."""
    await use_vectors(conn)
    async with conn.transaction():
        # Filtered HNSW scans otherwise stop at ef_search candidates and can return too few rows.
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        await conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(40, depth)),))
        return await (await conn.execute(QUERIES[mode], {
            "platform": platform, "version": version, "qvec": qvec.astype(np.float32), "model": model,
            "fts": fts_query, "depth": depth, "k": k, "rrf_k": rrf_k, "w_vec": w_vec, "w_fts": w_fts,
        })).fetchall()


async def bare_vector_search(conn: Conn, qvec: np.ndarray, k: int = 5) -> list[dict[str, Any]]:
    """The floor: a plain HNSW nearest-neighbour query, no filter, no fusion (for benchmarks)."""
    await use_vectors(conn)
    return await (await conn.execute(
        "SELECT id, embedding <=> %s AS distance FROM policy_chunks ORDER BY embedding <=> %s LIMIT %s",
        (qvec, qvec, k),
    )).fetchall()
