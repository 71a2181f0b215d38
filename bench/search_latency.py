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
import time
from typing import Any
from uuid import UUID

import numpy as np

from bench.harness import fresh_database, percentile
from ingest.embeddings import MiniLMEmbedder
from ingest.pipeline import embed_chunks, ingest_policy, prepare
from ingest.policies import POLICIES_DIR
from ingest.retrieval import fulltext_query
from memory.db import Conn
from memory.policies import ensure_platform, insert_chunks, insert_document
from memory.retrieval import bare_vector_search, search_chunks

DIM = 384
WORDS = ["data", "location", "gps", "share", "sell", "advertising", "partners", "retain", "delete", "account", "children", "consent", "cookies", "device", "voice", "recordings", "law", "enforcement", "request", "security", "encryption", "profile", "contacts", "messages", "photos", "history", "search", "browsing", "payment", "identifiers", "third", "parties", "model", "training", "analytics", "settings", "opt", "out", "personalised", "ads", "months", "years", "erase", "download", "export", "policy", "changes", "notify"]
BATCH = 5000
# Real policies use thousands of distinct words with a Zipf-like spread; a 70-word vocabulary would make every
# chunk match every query, which no real corpus does.
VOCAB = WORDS + [f"w{i}" for i in range(5000)]
ZIPF = [1.0 / (r + 1) for r in range(len(VOCAB))]


def synthetic(n: int, rng: np.random.Generator, topics: np.ndarray) -> tuple[list[str], np.ndarray]:
    topic = rng.integers(0, len(topics), n)
    vecs = topics[topic] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [" ".join(random.choices(VOCAB, weights=ZIPF, k=60)) for _ in range(n)]
    return texts, vecs.astype(np.float32)


async def load(conn: Conn, chunks: int, platforms: int, rng: np.random.Generator) -> dict[str, float]:
    await conn.execute("DROP INDEX policy_chunks_embedding_idx")
    topics = rng.standard_normal((200, DIM)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    per = chunks // platforms
    t0 = time.perf_counter()
    for p in range(platforms):
        pid: UUID = await ensure_platform(conn, f"synthetic-{p}", None)
        async with conn.transaction():
            doc = await insert_document(conn, pid, version=1, title=f"Synthetic {p}", url=None, source="bench",
                                        content_type="text", content_hash=f"h{p}", text="x", sections=[],
                                        changes=None, at=None)
            for b in range(0, per, BATCH):
                n = min(BATCH, per - b)
                texts, vecs = synthetic(n, rng, topics)
                rows = [(b + i, "Synthetic section", 0, len(t), t) for i, t in enumerate(texts)]
                await insert_chunks(conn, doc["id"], pid, rows, vecs, model="all-MiniLM-L6-v2", dim=DIM)
    copy_s = time.perf_counter() - t0
    await conn.execute("SET maintenance_work_mem = '4GB'")
    await conn.execute("SET max_parallel_maintenance_workers = 2")
    t0 = time.perf_counter()
    await conn.execute("CREATE INDEX policy_chunks_embedding_idx ON policy_chunks "
                       "USING hnsw (embedding vector_cosine_ops)")
    index_s = time.perf_counter() - t0
    await conn.execute("VACUUM ANALYZE policy_chunks")
    return {"copy_seconds": round(copy_s, 1), "copy_chunks_per_s": round(per * platforms / copy_s),
            "hnsw_build_seconds": round(index_s, 1)}


async def timed(fn: Any, queries: list[Any]) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        await fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def stats(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2)}


async def latency(conn: Conn, n: int, platforms: int, k: int, rng: np.random.Generator) -> dict[str, Any]:
    sample = await (await conn.execute(
        "SELECT embedding FROM policy_chunks TABLESAMPLE SYSTEM (1) LIMIT %s", (n,))).fetchall()
    qvecs = []
    for r in sample:
        v = np.array(r["embedding"].to_list() if hasattr(r["embedding"], "to_list") else r["embedding"], np.float32)
        v = v + 0.1 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
        qvecs.append(v / np.linalg.norm(v))
    texts = [fulltext_query(" ".join(random.choices(VOCAB, weights=ZIPF, k=4))) for _ in qvecs]
    qs = list(zip(qvecs, texts, strict=False))

    async def bare(q: Any) -> None:
        await bare_vector_search(conn, q[0], k)

    async def hybrid_all(q: Any) -> None:
        await search_chunks(conn, qvec=q[0], model="all-MiniLM-L6-v2", fts_query=q[1], platform=None, k=k)

    async def hybrid_one(q: Any) -> None:
        await search_chunks(conn, qvec=q[0], model="all-MiniLM-L6-v2", fts_query=q[1],
                            platform=f"synthetic-{random.randrange(platforms)}", k=k)

    for fn in (bare, hybrid_all, hybrid_one):   # warm the caches once, as a running service would be
        await timed(fn, qs[:20])
    out = {name: stats(await timed(fn, qs)) for name, fn in
           (("bare_hnsw", bare), ("hybrid_all_platforms", hybrid_all), ("hybrid_one_platform", hybrid_one))}
    floor = out["bare_hnsw"]["p95_ms"]
    for name in ("hybrid_all_platforms", "hybrid_one_platform"):
        out[name]["p95_ratio_to_bare"] = round(out[name]["p95_ms"] / floor, 2)
    out["queries"] = len(qs)
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


async def run(chunks: int, platforms: int, queries: int, k: int) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    random.seed(7)
    async with fresh_database(pool_size=2) as db, db.connection() as conn:
        loaded = await load(conn, chunks, platforms, rng)
        lat = await latency(conn, queries, platforms, k, rng)
        throughput = await pipeline_throughput(conn)
    return {"chunks": chunks, "platforms": platforms, "k": k, "load": loaded, "latency": lat,
            "ingest": throughput}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=200_000)
    parser.add_argument("--platforms", type=int, default=20)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(run(args.chunks, args.platforms, args.queries, args.k))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
