"""Bytes stored per scan: a 'traditional' store (policy + every value per scan) against ours; replay check.

Scans are daily; a share of them (--change-rate, default 5%) flip one or two settings, the rest change
nothing; one platform template change lands half-way. Sizes are whole tables with their indexes after
VACUUM FULL (live data only), measured twice: with every per-scan idempotency record still present, and
after pruning those past their retention (what a long-running install holds).

Run: .venv/bin/python -m bench.storage [--users 200 --scans 60 --change-rate 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import fresh_database
from ingest.scans import submit_scan
from memory import state
from memory.catalog import load_catalog
from memory.catalog_store import load_platform
from memory.retention import prune_scan_records
from memory.settings import Settings
from memory.structure import Structure
from memory.users import create_user

PLATFORM = "google"
POLICY = Path(__file__).parent.parent / "ingest" / "policies" / f"{PLATFORM}.md"
OUR_TABLES = ["users", "connections", "current_settings", "settings_history", "scans", "change_events",
              "score_history", "structure_observations", "notification_preferences", "audit_log",
              "templates", "template_changes", "platforms"]


async def _sizes(conn) -> tuple[int, dict[str, int]]:
    per_table = {}
    for table in OUR_TABLES:
        await conn.execute(f"VACUUM FULL {table}")
        row = await (await conn.execute("SELECT pg_total_relation_size(%s) AS n", (table,))).fetchone()
        per_table[table] = row["n"]
    return sum(per_table.values()), per_table


def _page(structure: Structure, values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "label": structure.get(k).label, "section": structure.get(k).section, "value": v}
            for k, v in values.items()]


async def main(users: int, scans: int, seed: int, change_rate: float, keep_days: int) -> dict:
    rng = random.Random(seed)
    platform = load_catalog()[PLATFORM]
    structure = Structure.from_platform(platform)
    policy_bytes = len(POLICY.read_bytes()) if POLICY.exists() else 50_000
    settings = Settings(env="test", database_url="unused", template_quorum_users=10**6)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    traditional = 0
    submitted: list[tuple] = []
    async with fresh_database() as db:
        async with db.connection() as conn:
            await load_platform(conn, platform, at=t0 - timedelta(days=1))
            ids = [(await create_user(conn, f"u{i}@bench.local"))["id"] for i in range(users)]
            current = {u: {s.key: s.default for s in structure.settings} for u in ids}
            for step in range(scans):
                at = t0 + timedelta(days=step)
                if step == scans // 2:  # one platform template change half-way
                    changed = platform.model_copy(update={"catalog_version": "bench-2"})
                    first = changed.settings[0].model_copy(update={"weight": max(1, changed.settings[0].weight - 1)})
                    changed = changed.model_copy(update={"settings": (first, *changed.settings[1:])})
                    await load_platform(conn, changed, at=at - timedelta(hours=1))
                for u in ids:
                    roll = rng.random()
                    if roll < change_rate:  # most scans change nothing; some flip a setting or two
                        for key in rng.sample(list(current[u]), rng.choice([1, 1, 2])):
                            s = structure.get(key)
                            current[u][key] = rng.choice([v for v in s.values if v != current[u][key]])
                    page = _page(structure, current[u])
                    payload = {"platform": PLATFORM, "scanned_at": at.isoformat(), "scraper_version": "bench",
                               "idempotency_key": f"b-{u}-{step}", "settings": page}
                    await submit_scan(conn, u, payload, settings)
                    traditional += policy_bytes + len(json.dumps(page).encode())
                    submitted.append((u, at, dict(current[u])))
            ours_all, _ = await _sizes(conn)
            # Scan records past retention go (days are simulated: scan times stand in for receipt times).
            await conn.execute("UPDATE scans SET received_at = scanned_at")
            await prune_scan_records(conn, t0 + timedelta(days=scans - keep_days))
            ours, per_table = await _sizes(conn)
            mismatches = 0
            for u, at, values in submitted:
                got = await state.replay_at(conn, u, PLATFORM, at)
                mismatches += got is None or got["values"] != values
    n = users * scans
    return {
        "users": users, "scans": n, "change_rate": change_rate, "policy_bytes": policy_bytes,
        "traditional_bytes_per_scan": round(traditional / n),
        "ours_bytes_per_scan_all_scan_records": round(ours_all / n),
        "reduction_all_scan_records": round(1 - ours_all / traditional, 4),
        f"ours_bytes_per_scan_records_kept_{keep_days}_days": round(ours / n),
        "reduction": round(1 - ours / traditional, 4), "replay_mismatches": mismatches,
        "bytes_per_scan_by_table": {t: round(b / n) for t, b in sorted(per_table.items(), key=lambda kv: -kv[1])},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--scans", type=int, default=60)
    parser.add_argument("--change-rate", type=float, default=0.05)
    parser.add_argument("--keep-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.users, args.scans, args.seed, args.change_rate, args.keep_days)),
                     indent=2))
