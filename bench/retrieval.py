"""Retrieval quality on the labelled question set: full-text only, vector only and hybrid, in one run.

    .venv/bin/python -m bench.retrieval [--k 5] [--json]

A retrieved chunk is relevant if its text contains one of the question's `relevant` substrings or its
[start, end) span overlaps that substring's span in the stored document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import yaml

from bench.harness import fresh_database
from ingest.embeddings import MiniLMEmbedder
from ingest.pipeline import ingest_policy
from ingest.policies import bundled_policy_path
from ingest.retrieval import Passage, hybrid_search
from memory.policies import ensure_platform

QUESTIONS = Path(__file__).parent / "data" / "retrieval_questions.yaml"
MODES = ("fulltext", "vector", "hybrid")


def relevant(p: Passage, spans: list[tuple[int, int]], needles: list[str]) -> bool:
    return any(n in p.text for n in needles) or any(p.start < b and a < p.end for a, b in spans)


async def evaluate(k: int) -> dict[str, Any]:
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    embedder = MiniLMEmbedder()
    async with fresh_database() as db, db.connection() as conn:
        texts: dict[str, str] = {}
        chunks = 0
        t0 = time.perf_counter()
        for slug in sorted({q["platform"] for q in questions}):
            path = bundled_policy_path(slug)
            assert path is not None, f"no bundled policy for {slug}"
            await ensure_platform(conn, slug, None)
            chunks += (await ingest_policy(conn, path, platform=slug, embedder=embedder)).chunks
            row = await (await conn.execute(
                "SELECT d.text FROM policy_documents d JOIN platforms p ON p.id = d.platform_id WHERE p.slug = %s",
                (slug,))).fetchone()
            texts[slug] = row["text"]
        ingest_s = time.perf_counter() - t0
        results: dict[str, dict[str, float]] = {}
        misses: dict[str, list[str]] = {m: [] for m in MODES}
        for mode in MODES:
            hit1 = hit5 = rr = 0.0
            for q in questions:
                doc = texts[q["platform"]]
                spans = [(i, i + len(n)) for n in q["relevant"] if (i := doc.find(n)) >= 0]
                hits = await hybrid_search(conn, q["question"], platform=q["platform"], k=k, embedder=embedder,
                                           mode=mode)
                ranks = [i for i, h in enumerate(hits) if relevant(h, spans, q["relevant"])]
                if ranks:
                    hit1 += ranks[0] == 0
                    hit5 += ranks[0] < 5
                    rr += 1 / (ranks[0] + 1)
                else:
                    misses[mode].append(q["id"])
            n = len(questions)
            results[mode] = {"hit@1": round(hit1 / n, 3), "hit@5": round(hit5 / n, 3), "mrr": round(rr / n, 3)}
    return {"questions": len(questions), "platforms": len(texts), "chunks": chunks, "k": k,
            "ingest_seconds": round(ingest_s, 1), "results": results, "misses": misses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(evaluate(args.k))
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{out['questions']} questions over {out['platforms']} policies ({out['chunks']} chunks), k={out['k']}")
    print(f"{'mode':<10}{'hit@1':>8}{'hit@5':>8}{'MRR':>8}")
    for mode, r in out["results"].items():
        print(f"{mode:<10}{r['hit@1']:>8.3f}{r['hit@5']:>8.3f}{r['mrr']:>8.3f}")
    for mode, ids in out["misses"].items():
        print(f"missed by {mode} (not in top {out['k']}): {', '.join(ids) or '-'}")


if __name__ == "__main__":
    main()
