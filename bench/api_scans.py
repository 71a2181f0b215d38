"""Scan submission through HTTP next to the same Postgres's single-transaction ceiling, in one run.

A throwaway embedded Postgres with the platform catalog; the API in its own process (uvicorn on 127.0.0.1,
the real app: auth with extension JWTs, body limit, schema validation, apply_scan); this process as the load:
`--clients` httpx clients, each a paired extension of its own person, submitting scans that each change one
setting (so every scan writes history, a score and a change event). The ceiling is measured on the same
server right after: one connection committing single-row INSERTs in a loop, the most transactions per second
one client can get. The ratio is API scans/s over ceiling commits/s. For where the time goes, the same
scans are also submitted in-process (ingest.scans.submit_scan, no HTTP) on the same database.

    .venv/bin/python -m bench.api_scans [--clients 16] [--scans 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.api_stream import free_port
from bench.harness import fresh_database, percentile
from memory.db import Database

PLATFORM = "google"


def serve(port: int) -> None:
    import uvicorn

    from api.app import create_app
    from memory.settings import Settings

    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=port, log_config=None, log_level="warning",
                access_log=False)


def start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "", "PRIVYLOOP_ENV": "development",
           # One load address and few people: the limits would measure themselves, not the API.
           "PRIVYLOOP_RATE_LIMIT_USER": "1000000/minute", "PRIVYLOOP_RATE_LIMIT_IP": "1000000/minute",
           "PRIVYLOOP_DB_POOL_MAX": "20"}
    for key in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        env.pop(key, None)
    log = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "wb")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen([sys.executable, "-m", "bench.api_scans", "--serve", str(port)], env=env,
                            stdout=log, stderr=log)


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(900):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if (await c.get(url + "/", timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def setup(db: Database, clients: int) -> tuple[list[str], list[dict[str, str]]]:
    """People with paired extensions (their access tokens) and the platform's toggles to flip."""
    from api.security import issue_access_token, token_hash
    from memory import devices
    from memory.catalog import load_catalog
    from memory.catalog_store import load_platform
    from memory.settings import Settings
    from memory.templates import current_template, platform_by_slug
    from memory.users import create_user

    settings = Settings(env="development")
    tokens = []
    async with db.connection() as conn:
        await load_platform(conn, load_catalog()[PLATFORM])
        template = await current_template(conn, (await platform_by_slug(conn, PLATFORM))["id"])
        for i in range(clients):
            user = await create_user(conn, f"bench{i}@example.com")
            code = f"bench-code-{i}"
            await devices.create_pairing_code(conn, user["id"], token_hash(code), timedelta(minutes=10), "bench")
            device = await devices.redeem_pairing_code(conn, token_hash(code), "bench", token_hash(f"r{i}"),
                                                       timedelta(days=1))
            # Long enough for the run: the bench measures submission, not refresh.
            settings.access_token_ttl_minutes = 120
            tokens.append(issue_access_token(settings, user["id"], device["id"], "free")[0])
    toggles = [{"key": s.key, "label": s.label, "section": s.section, "value": s.default or "on"}
               for s in template.structure.settings if s.type == "toggle"]
    return tokens, toggles


def payload(toggles: list[dict[str, str]], n: int, at: datetime) -> dict[str, Any]:
    """The n-th scan: every toggle at its default except one, flipped, so each scan is a real change."""
    flip = n % len(toggles)
    items = [{**t, "value": ("off" if t["value"] == "on" else "on") if i == flip else t["value"]}
             for i, t in enumerate(toggles)]
    return {"platform": PLATFORM, "scanned_at": at.isoformat(), "scraper_version": "bench-1.0",
            "idempotency_key": uuid.uuid4().hex, "settings": items}


async def one_client(url: str, token: str, toggles: list[dict[str, str]], count: int, start: datetime,
                     lat: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for n in range(count):
            body = json.dumps(payload(toggles, n, start + timedelta(minutes=n)))
            began = time.perf_counter()
            r = await c.post("/api/extension/scans", content=body, headers={"Content-Type": "application/json"})
            lat.append(time.perf_counter() - began)
            if r.status_code != 201:
                errors.append(f"{r.status_code} {r.text[:120]}")


async def ceiling(db: Database, commits: int) -> tuple[float, list[float]]:
    """One connection, one single-row INSERT per transaction, as fast as the server commits."""
    lat = []
    async with db.connection() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, body jsonb)")
        began = time.perf_counter()
        for i in range(commits):
            t = time.perf_counter()
            await conn.execute("INSERT INTO bench_ceiling (body) VALUES (%s::jsonb)", (json.dumps({"n": i}),))
            lat.append(time.perf_counter() - t)
        wall = time.perf_counter() - began
        await conn.execute("DROP TABLE bench_ceiling")
    return commits / wall, lat


async def direct(db: Database, clients: int, per: int, toggles: list[dict[str, str]]) -> float:
    """The same scans through ingest.scans.submit_scan in-process, no HTTP: what the domain work costs."""
    from ingest.scans import submit_scan
    from memory.settings import Settings
    from memory.users import user_by_email

    settings = Settings(env="development")
    start = datetime(2027, 1, 1, tzinfo=UTC)  # after every HTTP scan, so each is accepted as newer
    async with db.connection() as conn:
        users = [(await user_by_email(conn, f"bench{i}@example.com"))["id"] for i in range(clients)]

    async def one(user_id: Any) -> None:
        async with db.connection() as conn:
            for n in range(per):
                await submit_scan(conn, user_id, payload(toggles, n + 1, start + timedelta(minutes=n)), settings)

    began = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    return clients * per / (time.perf_counter() - began)


async def run(clients: int, scans: int, commits: int) -> dict[str, Any]:
    async with fresh_database(pool_size=clients) as db:
        tokens, toggles = await setup(db, clients)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(db.url, port)
        try:
            await wait_ready(url, proc)
            start = datetime(2026, 1, 1, tzinfo=UTC)
            # Warm-up: imports, the JSON Schema validator, pooled connections.
            await asyncio.gather(*(one_client(url, t, toggles, 3, start, [], []) for t in tokens))
            lat: list[float] = []
            errors: list[str] = []
            per = max(1, scans // clients)
            began = time.perf_counter()
            await asyncio.gather(*(one_client(url, t, toggles, per, start + timedelta(days=1), lat, errors)
                                   for t in tokens))
            wall = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        direct_rate = await direct(db, clients, per, toggles)
        tps, clat = await ceiling(db, commits)
    api_rate = len(lat) / wall
    return {
        "clients": clients, "scans": len(lat), "errors": len(errors), "first_errors": errors[:3],
        "api_scans_per_s": round(api_rate, 1),
        "api_p50_ms": round(percentile(lat, 50) * 1000, 1), "api_p95_ms": round(percentile(lat, 95) * 1000, 1),
        "direct_submit_scan_per_s": round(direct_rate, 1),
        "ceiling_commits_per_s": round(tps, 1),
        "ceiling_p50_ms": round(percentile(clat, 50) * 1000, 2),
        "ceiling_p95_ms": round(percentile(clat, 95) * 1000, 2),
        "ratio": round(api_rate / tps, 3),
        "ratio_to_direct": round(api_rate / direct_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--scans", type=int, default=1500)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    print(json.dumps(asyncio.run(run(args.clients, args.scans, args.commits)), indent=2))


if __name__ == "__main__":
    main()
