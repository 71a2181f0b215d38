"""Scans per second through the whole pipeline, against the same Postgres's single-row-commit ceiling.

Both loops run in the same process, on the same embedded server, with the same number of concurrent
connections, one after the other: the ratio is what to read on a shared, noisy machine.

Run: .venv/bin/python -m bench.ingest [--scans 1500 --workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta

from bench.harness import fresh_database, percentile
from ingest.scans import submit_scan
from memory.catalog import load_catalog
from memory.catalog_store import load_platform
from memory.db import Database
from memory.settings import Settings
from memory.structure import Structure
from memory.users import create_user

PLATFORM = "google"


async def _timed(db: Database, jobs: list, workers: int, one) -> tuple[float, list[float]]:
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []

    async def worker() -> None:
        async with db.connection() as conn:
            while not queue.empty():
                job = queue.get_nowait()
                t = time.perf_counter()
                await one(conn, job)
                latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - start, latencies


async def main(scans: int, workers: int, seed: int) -> dict:
    rng = random.Random(seed)
    platform = load_catalog()[PLATFORM]
    structure = Structure.from_platform(platform)
    settings = Settings(env="test", database_url="unused", template_quorum_users=10**6)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    async with fresh_database(pool_size=workers) as db:
        async with db.connection() as conn:
            await load_platform(conn, platform, at=t0 - timedelta(days=1))
            users = [(await create_user(conn, f"u{i}@bench.local"))["id"] for i in range(max(workers * 8, 64))]
            await conn.execute("CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, n int, at timestamptz)")
        values = {u: {s.key: s.default for s in structure.settings} for u in users}
        jobs = []
        for i in range(scans):
            # Each worker takes whole users' sequences in order, so per-user scans stay in time order.
            u = users[i % len(users)]
            if rng.random() > 0.85:
                key = rng.choice(list(values[u]))
                values[u][key] = rng.choice(structure.get(key).values)
            page = [{"key": k, "label": structure.get(k).label, "section": structure.get(k).section, "value": v}
                    for k, v in values[u].items()]
            jobs.append((u, {"platform": PLATFORM, "idempotency_key": f"bench-scan-{i:06d}", "scraper_version": "bench",
                             "scanned_at": (t0 + timedelta(minutes=i)).isoformat(), "settings": page}))

        async def one_scan(conn, job) -> None:
            await submit_scan(conn, job[0], job[1], settings)

        async def one_commit(conn, i) -> None:
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_ceiling (n, at) VALUES (%s, now())", (i,))

        # Warm both paths (connections, plans, caches) before measuring.
        await _timed(db, list(range(200)), workers, one_commit)
        ceiling_s, ceiling_lat = await _timed(db, list(range(scans)), workers, one_commit)
        # Per-user ordering: split the jobs so that one user's scans go to one worker.
        per_worker: list[list] = [[] for _ in range(workers)]
        for job in jobs:
            per_worker[users.index(job[0]) % workers].append(job)
        lat: list[float] = []

        async def run_worker(mine: list) -> None:
            async with db.connection() as conn:
                for job in mine:
                    t = time.perf_counter()
                    await one_scan(conn, job)
                    lat.append(time.perf_counter() - t)

        start = time.perf_counter()
        await asyncio.gather(*(run_worker(m) for m in per_worker))
        pipeline_s = time.perf_counter() - start
    ceiling_rate, pipeline_rate = scans / ceiling_s, scans / pipeline_s
    return {
        "scans": scans, "workers": workers,
        "ceiling_commits_per_s": round(ceiling_rate, 1),
        "ceiling_p50_ms": round(percentile(ceiling_lat, 50) * 1000, 2),
        "ceiling_p95_ms": round(percentile(ceiling_lat, 95) * 1000, 2),
        "pipeline_scans_per_s": round(pipeline_rate, 1),
        "pipeline_p50_ms": round(percentile(lat, 50) * 1000, 2),
        "pipeline_p95_ms": round(percentile(lat, 95) * 1000, 2),
        "ratio": round(pipeline_rate / ceiling_rate, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.scans, args.workers, args.seed)), indent=2))
