"""Policy passage search in Postgres: HNSW cosine, full-text, and both fused by reciprocal rank fusion.

Both arms are bounded so a search costs about the same at 200 chunks and at 1M (docs/benchmarks.md):
- the vector arm is one HNSW scan (iterative, so a platform filter cannot starve it) cut at `depth`;
- the full-text arm ranks at most FTS_CANDIDATES matches. It first takes chunks matching *all* the
  question's words (selective, and the best-ranked anyway); only when those are fewer than `depth` does it
  add matches of the broad OR query with privacy synonyms. `ts_rank_cd` then scores that bounded set
  instead of every chunk that shares one word with the question.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memory.db import Conn
from memory.policies import use_vectors

# Reciprocal rank fusion constant. The textbook 60 flattens ranks; on our short, sectioned policies the
# top of each list matters most, and 5 did better on bench/data/retrieval_questions.yaml (docs/benchmarks.md).
# Chosen on that same question set: there is no held-out set.
RRF_K = 5

# Most full-text matches ranked per search. A real policy has tens to a few hundred chunks, so per platform
# this never binds; across a very large corpus it caps the ranking work (the AND matches come first).
FTS_CANDIDATES = 200

# The documents searched: one platform's (or every platform's) latest version, or one explicit version.
_DOCS = """
docs AS MATERIALIZED (
    SELECT DISTINCT ON (d.platform_id) d.id, d.platform_id, d.version, d.title, d.url, p.slug
    FROM policy_documents d JOIN platforms p ON p.id = d.platform_id
    WHERE (%(platform)s::text IS NULL OR p.slug = %(platform)s)
      AND (%(version)s::int IS NULL OR d.version = %(version)s)
    ORDER BY d.platform_id, d.version DESC
)"""

# relaxed_order can return HNSW rows slightly out of order: cut at depth, then number by exact distance.
_VEC = """
vec_hits AS MATERIALIZED (
    SELECT c.id, c.embedding <=> %(qvec)s AS dist
    FROM policy_chunks c
    WHERE {doc_filter} AND c.embedding_model = %(model)s
    ORDER BY c.embedding <=> %(qvec)s LIMIT %(depth)s
),
vec AS (SELECT id, row_number() OVER (ORDER BY dist, id) AS rank FROM vec_hits)"""

# Each candidate is scored where it is read (by the broad query), so ranking costs no second heap visit.
# `ORDER BY c.ord` walks the (document_id, ord) index and stops after `cap` matches: without it the planner
# may seq-scan the whole table for one document's rows. It also makes the capped set deterministic.
_FTS = """
fts_all AS MATERIALIZED (
    SELECT m.id, m.score FROM docs, LATERAL (
        SELECT c.id, ts_rank_cd(c.tsv, websearch_to_tsquery('english', %(fts)s), 1) AS score
        FROM policy_chunks c
        WHERE c.document_id = docs.id AND c.tsv @@ websearch_to_tsquery('english', %(fts_all)s)
        ORDER BY c.ord LIMIT %(cap)s) m
    LIMIT %(cap)s
),
fts_any AS MATERIALIZED (
    SELECT m.id, m.score FROM docs, LATERAL (
        SELECT c.id, ts_rank_cd(c.tsv, websearch_to_tsquery('english', %(fts)s), 1) AS score
        FROM policy_chunks c
        WHERE c.document_id = docs.id AND c.tsv @@ websearch_to_tsquery('english', %(fts)s)
        ORDER BY c.ord LIMIT %(cap)s) m
    WHERE (SELECT count(*) FROM fts_all) < %(depth)s
    LIMIT %(cap)s
),
fts AS (
    SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank
    FROM (SELECT id, score FROM fts_all UNION SELECT id, score FROM fts_any) cand
    ORDER BY score DESC, id LIMIT %(depth)s
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

# The chunk filter of the vector arm. With one platform it compares to a single document, which the planner
# estimates from the table's statistics (rows per document): a small policy is sorted exactly through the
# document index, a huge one goes through HNSW with the filter. Across platforms it is one HNSW scan.
_ONE_DOC = "c.document_id = (SELECT id FROM docs LIMIT 1)"
_ANY_DOC = "c.document_id = ANY (ARRAY(SELECT id FROM docs))"
QUERIES = {(mode, one): sql.replace("{doc_filter}", _ONE_DOC if one else _ANY_DOC)
           for mode, sql in (("hybrid", HYBRID), ("vector", VECTOR_ONLY), ("fulltext", FULLTEXT_ONLY))
           for one in (True, False)}


async def _vectors_ready(conn: Conn) -> None:
    """Register the pgvector types once per connection (registering costs four catalogue round trips)."""
    if conn.adapters.types.get("vector") is None:
        await use_vectors(conn)


async def search_chunks(conn: Conn, *, qvec: np.ndarray, model: str, fts_query: str, platform: str | None,
                        version: int | None = None, k: int = 5, depth: int = 40, mode: str = "hybrid",
                        w_vec: float = 1.0, w_fts: float = 1.0, rrf_k: int = RRF_K,
                        fts_all: str | None = None, cap: int = FTS_CANDIDATES) -> list[dict[str, Any]]:
    """Rows with every field a citation needs, best first; `mode` picks hybrid, vector or fulltext.

    `fts_query` is the broad (OR) query that ranks; `fts_all` the strict one tried first (None: only the
    broad one, still capped at `cap` candidates)."""
    await _vectors_ready(conn)
    # One network round trip: BEGIN, the two settings, the search and COMMIT go out as a pipeline.
    async with conn.pipeline(), conn.transaction():
        # Filtered HNSW scans otherwise stop at ef_search candidates and can return too few rows.
        await conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                           "set_config('hnsw.ef_search', %s, true)", (str(max(40, depth)),))
        cur = await conn.execute(QUERIES[mode, platform is not None], {
            "platform": platform, "version": version, "qvec": qvec.astype(np.float32), "model": model,
            "fts": fts_query, "fts_all": fts_all if fts_all is not None else fts_query, "cap": cap,
            "depth": depth, "k": k, "rrf_k": rrf_k, "w_vec": w_vec, "w_fts": w_fts,
        })
        return await cur.fetchall()


async def bare_vector_search(conn: Conn, qvec: np.ndarray, k: int = 5) -> list[dict[str, Any]]:
    """The floor: a plain HNSW nearest-neighbour query, no filter, no fusion (for benchmarks)."""
    await _vectors_ready(conn)
    return await (await conn.execute(
        "SELECT id, embedding <=> %s AS distance FROM policy_chunks ORDER BY embedding <=> %s LIMIT %s",
        (qvec, qvec, k),
    )).fetchall()
