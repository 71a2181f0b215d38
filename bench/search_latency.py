"""Hybrid search latency at scale next to a bare pgvector HNSW query on the same table, in the same run;
plus ingest throughput of the real pipeline.

    .venv/bin/python -m bench.search_latency --chunks 200000 [--platforms 20] [--queries 300] [--json]

Synthetic chunks: clustered 384-d unit vectors (topics + noise, like real passages) and sentences drawn from a
privacy vocabulary, loaded through the same COPY path the pipeline uses; the HNSW index is built after the
load (as a bulk import would) and its build time reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any
from uuid import UUID

import numpy as np

from bench.harness import fresh_database, percentile
from ingest.embeddings import MiniLMEmbedder
from ingest.pipeline import embed_chunks, ingest_policy, prepare
from ingest.policies import POLICIES_DIR
from ingest.retrieval import fulltext_query, strict_query
from memory.db import Conn
from memory.policies import ensure_platform, insert_document, use_vectors
from memory.retrieval import bare_vector_search, search_chunks

DIM = 384
WORDS = ["data", "location", "gps", "share", "sell", "advertising", "partners", "retain", "delete", "account", "children", "consent", "cookies", "device", "voice", "recordings", "law", "enforcement", "request", "security", "encryption", "profile", "contacts", "messages", "photos", "history", "search", "browsing", "payment", "identifiers", "third", "parties", "model", "training", "analytics", "settings", "opt", "out", "personalised", "ads", "months", "years", "erase", "download", "export", "policy", "changes", "notify"]
BATCH = 20_000
# Real policies use thousands of distinct words with a Zipf-like spread; a 70-word vocabulary would make every
# chunk match every query, which no real corpus does.
VOCAB = WORDS + [f"w{i}" for i in range(5000)]
ZIPF = [1.0 / (r + 1) for r in range(len(VOCAB))]
_VOCAB = np.array(VOCAB, dtype=object)
_P = np.array(ZIPF) / sum(ZIPF)
MODEL = "all-MiniLM-L6-v2"
COLUMNS = ("uuid", "uuid", "int4", "text", "int4", "int4", "text", "vector", "text", "int4")


def synthetic(n: int, rng: np.random.Generator, topics: np.ndarray) -> tuple[list[str], np.ndarray]:
    topic = rng.integers(0, len(topics), n)
    vecs = topics[topic] + 0.35 * rng.standard_normal((n, DIM), dtype=np.float32) / np.sqrt(DIM)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    words = _VOCAB[rng.choice(len(VOCAB), size=(n, 60), p=_P)]
    return [" ".join(row) for row in words], vecs.astype(np.float32)


async def copy_chunks(conn: Conn, doc: UUID, pid: UUID, first: int, texts: list[str], vecs: np.ndarray) -> None:
    """Binary COPY: vectors go as float4 arrays, not as 384 formatted decimals each."""
    async with conn.cursor() as cur, cur.copy(
        """COPY policy_chunks (document_id, platform_id, ord, section, start, "end", text, embedding,
               embedding_model, embedding_dim) FROM STDIN (FORMAT BINARY)""") as copy:
        copy.set_types(list(COLUMNS))
        for i, (t, v) in enumerate(zip(texts, vecs, strict=True)):
            await copy.write_row((doc, pid, first + i, "Synthetic section", 0, len(t), t, v, MODEL, DIM))


async def load(conn: Conn, chunks: int, platforms: int, rng: np.random.Generator) -> dict[str, float]:
    await use_vectors(conn)
    # A bulk import builds its indexes after the load: both the HNSW and the full-text GIN.
    await conn.execute("DROP INDEX policy_chunks_embedding_idx")
    await conn.execute("DROP INDEX policy_chunks_tsv_idx")
    await conn.execute("SET synchronous_commit = off")
    topics = rng.standard_normal((200, DIM)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    per = chunks // platforms
    gen_s = 0.0
    t0 = time.perf_counter()
    for p in range(platforms):
        pid: UUID = await ensure_platform(conn, f"synthetic-{p}", None)
        async with conn.transaction():
            doc = await insert_document(conn, pid, version=1, title=f"Synthetic {p}", url=None, source="bench",
                                        content_type="text", content_hash=f"h{p}", text="x", sections=[],
                                        changes=None, at=None)
            for b in range(0, per, BATCH):
                g0 = time.perf_counter()
                texts, vecs = synthetic(min(BATCH, per - b), rng, topics)
                gen_s += time.perf_counter() - g0
                await copy_chunks(conn, doc["id"], pid, b, texts, vecs)
        print(f"  loaded {(p + 1) * per} chunks, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    copy_s = time.perf_counter() - t0
    await conn.execute("SET maintenance_work_mem = '8GB'")
    await conn.execute("SET max_parallel_maintenance_workers = 2")
    t0 = time.perf_counter()
    await conn.execute("CREATE INDEX policy_chunks_tsv_idx ON policy_chunks USING gin (tsv)")
    gin_s = time.perf_counter() - t0
    print(f"  GIN built in {gin_s:.0f} s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    await conn.execute("CREATE INDEX policy_chunks_embedding_idx ON policy_chunks "
                       "USING hnsw (embedding vector_cosine_ops)")
    index_s = time.perf_counter() - t0
    print(f"  HNSW built in {index_s:.0f} s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    await conn.execute("VACUUM ANALYZE policy_chunks")
    size = await (await conn.execute(
        """SELECT pg_total_relation_size('policy_chunks') AS total,
                  pg_relation_size('policy_chunks_embedding_idx') AS hnsw,
                  pg_relation_size('policy_chunks_tsv_idx') AS gin""")).fetchone()
    return {"copy_seconds": round(copy_s, 1), "of_which_python_generation_s": round(gen_s, 1),
            "copy_chunks_per_s": round(per * platforms / copy_s), "gin_build_seconds": round(gin_s, 1),
            "hnsw_build_seconds": round(index_s, 1), "vacuum_analyze_seconds": round(time.perf_counter() - t0, 1),
            "table_with_indexes_mb": size["total"] >> 20, "hnsw_mb": size["hnsw"] >> 20,
            "gin_mb": size["gin"] >> 20}


async def timed(fn: Any, queries: list[Any]) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        await fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def stats(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2)}


# The hybrid query as it was before the full-text arm was bounded (ranked every OR match), for a
# before/after in the same run: `--legacy-queries N` times it on N queries with a statement timeout.
LEGACY_HYBRID = """WITH
docs AS (
    SELECT DISTINCT ON (d.platform_id) d.id, d.platform_id, d.version, d.title, d.url, p.slug
    FROM policy_documents d JOIN platforms p ON p.id = d.platform_id
    WHERE (%(platform)s::text IS NULL OR p.slug = %(platform)s)
    ORDER BY d.platform_id, d.version DESC),
vec AS (
    SELECT c.id, row_number() OVER (ORDER BY c.embedding <=> %(qvec)s) AS rank
    FROM policy_chunks c
    WHERE c.document_id IN (SELECT id FROM docs) AND c.embedding_model = %(model)s
    ORDER BY c.embedding <=> %(qvec)s LIMIT 40),
fts AS (
    SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q, 1) DESC, c.id) AS rank
    FROM policy_chunks c, websearch_to_tsquery('english', %(fts)s) q
    WHERE c.tsv @@ q AND c.document_id IN (SELECT id FROM docs)
    ORDER BY ts_rank_cd(c.tsv, q, 1) DESC, c.id LIMIT 40),
ranked AS (
    SELECT id, sum(1.0 / (5 + rank)) AS score FROM (SELECT id, rank FROM vec UNION ALL SELECT id, rank FROM fts) a
    GROUP BY id)
SELECT c.id, r.score FROM ranked r JOIN policy_chunks c ON c.id = r.id ORDER BY r.score DESC, c.id LIMIT 5"""


async def legacy(conn: Conn, q: Any, platform: str | None) -> None:
    async with conn.transaction():
        await conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                           "set_config('hnsw.ef_search', '40', true), set_config('statement_timeout', '120s', true)")
        await conn.execute(LEGACY_HYBRID, {"platform": platform, "qvec": q[0], "model": MODEL, "fts": q[1]})


async def latency(conn: Conn, n: int, platforms: int, k: int, rng: np.random.Generator,
                  legacy_n: int = 0) -> dict[str, Any]:
    sample = await (await conn.execute(
        "SELECT embedding FROM policy_chunks TABLESAMPLE SYSTEM (1) LIMIT %s", (n,))).fetchall()
    qvecs = []
    for r in sample:
        v = np.array(r["embedding"].to_list() if hasattr(r["embedding"], "to_list") else r["embedding"], np.float32)
        v = v + 0.1 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
        qvecs.append(v / np.linalg.norm(v))
    # A question of four words: the broad OR query (with synonyms) ranks, the strict AND query comes first.
    words = [" ".join(random.choices(VOCAB, weights=ZIPF, k=4)) for _ in qvecs]
    qs = [(v, fulltext_query(w), strict_query(w)) for v, w in zip(qvecs, words, strict=True)]
    picks = [f"synthetic-{random.randrange(platforms)}" for _ in qs]
    hybrid_k = {"model": MODEL, "k": k, "depth": max(40, 8 * k)}

    async def bare(i: int) -> None:
        await bare_vector_search(conn, qs[i][0], k)

    async def hybrid_all(i: int) -> None:
        await search_chunks(conn, qvec=qs[i][0], fts_query=qs[i][1], fts_all=qs[i][2], platform=None, **hybrid_k)

    async def hybrid_one(i: int) -> None:
        await search_chunks(conn, qvec=qs[i][0], fts_query=qs[i][1], fts_all=qs[i][2], platform=picks[i],
                            **hybrid_k)

    idx = list(range(len(qs)))
    for fn in (bare, hybrid_all, hybrid_one):   # warm the caches once, as a running service would be
        await timed(fn, idx[:20])
    # Interleave the three so drift in the shared machine's load hits them alike.
    times: dict[str, list[float]] = {"bare_hnsw": [], "hybrid_one_platform": [], "hybrid_all_platforms": []}
    for i in idx:
        for name, fn in (("bare_hnsw", bare), ("hybrid_one_platform", hybrid_one),
                         ("hybrid_all_platforms", hybrid_all)):
            times[name] += await timed(fn, [i])
    out: dict[str, Any] = {name: stats(ms) for name, ms in times.items()}
    floor = out["bare_hnsw"]["p95_ms"]
    for name in ("hybrid_all_platforms", "hybrid_one_platform"):
        out[name]["p95_ratio_to_bare"] = round(out[name]["p95_ms"] / floor, 2)
    out["queries"] = len(qs)
    fts_all_counts = []
    for v, broad, strict in qs[:50]:
        row = await (await conn.execute(
            "SELECT count(*) AS n FROM policy_chunks WHERE tsv @@ websearch_to_tsquery('english', %s)",
            (broad,))).fetchone()
        fts_all_counts.append(row["n"])
    out["or_query_matches_median"] = int(np.median(fts_all_counts))
    if legacy_n:
        for name, plat in (("legacy_hybrid_one_platform", lambda i: picks[i]), ("legacy_hybrid_all_platforms",
                                                                                 lambda i: None)):
            ms = []
            for i in idx[:legacy_n]:
                t0 = time.perf_counter()
                try:
                    await legacy(conn, qs[i], plat(i))
                except Exception as e:   # noqa: BLE001 - a timeout is a result here
                    print(f"  legacy {name}: {type(e).__name__}", file=sys.stderr)
                ms.append((time.perf_counter() - t0) * 1000)
            out[name] = {"queries": len(ms), **stats(ms)}
    return out


async def pipeline_throughput(conn: Conn) -> dict[str, Any]:
    """The real pipeline on the bundled policies: where the time goes per stage."""
    embedder = MiniLMEmbedder()
    paths = sorted(POLICIES_DIR.glob("*.md"))
    t0 = time.perf_counter()
    prepared = [prepare(p) for p in paths]
    from ingest.chunking import chunk, find_sections

    chunks = [chunk(pr.extracted.text, find_sections(pr.extracted.text, default=pr.title)) for pr in prepared]
    t1 = time.perf_counter()
    for c in chunks:
        embed_chunks(embedder, c)
    t2 = time.perf_counter()
    total = sum(len(c) for c in chunks)
    t3 = time.perf_counter()
    for p in paths:
        await ingest_policy(conn, p, platform=f"real-{p.stem}", embedder=embedder)
    t4 = time.perf_counter()
    return {"documents": len(paths), "chunks": total,
            "fetch_extract_chunk_s": round(t1 - t0, 2), "embed_s": round(t2 - t1, 2),
            "embed_chunks_per_s": round(total / (t2 - t1), 1),
            "full_pipeline_s": round(t4 - t3, 2), "full_pipeline_chunks_per_s": round(total / (t4 - t3), 1)}


async def run(chunks: int, platforms: int, queries: int, k: int, legacy_n: int = 0,
              pipeline: bool = True) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    random.seed(7)
    async with fresh_database(pool_size=2) as db, db.connection() as conn:
        loaded = await load(conn, chunks, platforms, rng)
        print("  timing queries", file=sys.stderr, flush=True)
        lat = await latency(conn, queries, platforms, k, rng, legacy_n)
        throughput = await pipeline_throughput(conn) if pipeline else None
    return {"chunks": chunks, "platforms": platforms, "k": k, "load": loaded, "latency": lat,
            "ingest": throughput}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=200_000)
    parser.add_argument("--platforms", type=int, default=20)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--legacy-queries", type=int, default=0,
                        help="also time the pre-bounding hybrid query on this many queries")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the real-pipeline ingest throughput")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(run(args.chunks, args.platforms, args.queries, args.k, args.legacy_queries,
                          not args.no_pipeline))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
