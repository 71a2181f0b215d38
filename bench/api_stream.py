""""What changed?" through /threads/{id}/runs/stream at N concurrent users, next to GET /api/health.

One run: a throwaway embedded Postgres with the demo person's data, the API in its own process (uvicorn,
the real agent with its keyless model, a local Redis), and this process as the load: N clients each
streaming `rounds` questions on their own thread while a few pollers time /api/health under the same load.

    .venv/bin/python -m bench.api_stream [--users 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import httpx

from bench.harness import fresh_database, percentile

QUESTION = {"messages": [{"role": "user", "content": "what changed?"}]}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, port: int, redis_url: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PRIVYLOOP_ENV": "development",
           # The load comes from one address and (mostly) one person: limits would measure themselves.
           "PRIVYLOOP_RATE_LIMIT_USER": "1000000/minute", "PRIVYLOOP_RATE_LIMIT_IP": "1000000/minute",
           "PRIVYLOOP_DB_POOL_MAX": "20"}
    env.pop("GOOGLE_API_KEY", None)
    env.pop("GEMINI_API_KEY", None)
    log = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "wb")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen([sys.executable, "-m", "bench.api_stream", "--serve", str(port)], env=env,
                            stdout=log, stderr=log)


def serve(port: int) -> None:
    import uvicorn

    from api.app import create_app
    from memory.settings import Settings

    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=port, log_config=None, log_level="warning")


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                await c.get(url + "/info", timeout=1)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def tokens_for_demo(db: Any, n: int) -> list[str]:
    from api.security import new_token, token_hash
    from cli.demo import load_demo
    from memory import accounts
    from memory.users import user_by_email

    demo = await load_demo(db)
    out = []
    async with db.connection() as conn:
        user = await user_by_email(conn, demo["email"])
        for i in range(n):
            token = new_token("api")
            await accounts.create_api_token(conn, user["id"], f"bench-{i}", token[:8], token_hash(token),
                                            timedelta(hours=1))
            out.append(token)
    return out


async def one_user(url: str, token: str, rounds: int, firsts: list[float], ends: list[float],
                   errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        thread = (await c.post("/threads", json={})).json()["thread_id"]
        for _ in range(rounds):
            start = time.perf_counter()
            first = None
            last_event = ""
            async with c.stream("POST", f"/threads/{thread}/runs/stream",
                                json={"assistant_id": "agent", "input": QUESTION,
                                      "stream_mode": ["values", "messages-tuple", "custom"]}) as r:
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        if first is None:
                            first = time.perf_counter() - start
                        last_event = line[7:]
            if last_event != "end" or first is None:
                errors.append(last_event or f"status {r.status_code}")
                continue
            firsts.append(first)
            ends.append(time.perf_counter() - start)


async def poll_health(url: str, stop: asyncio.Event, lat: list[float], codes: list[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        while not stop.is_set():
            start = time.perf_counter()
            r = await c.get("/api/health")
            lat.append(time.perf_counter() - start)
            codes.append(r.status_code)
            await asyncio.sleep(0.05)


async def run(users: int, rounds: int, pollers: int) -> dict[str, Any]:
    async with fresh_database() as db:
        tokens = await tokens_for_demo(db, users)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(db.url, port)
        try:
            await wait_ready(url, proc)
            await one_user(url, tokens[0], 1, [], [], [])  # warm-up: imports, first checkpoints, caches
            idle: list[float] = []
            await asyncio.gather(*(poll_health(url, _stopped_after(2.0), idle, []) for _ in range(1)))
            firsts: list[float] = []
            ends: list[float] = []
            errors: list[str] = []
            health: list[float] = []
            codes: list[int] = []
            stop = asyncio.Event()
            wall = time.perf_counter()
            pollers_t = [asyncio.create_task(poll_health(url, stop, health, codes)) for _ in range(pollers)]
            await asyncio.gather(*(one_user(url, t, rounds, firsts, ends, errors) for t in tokens))
            wall = time.perf_counter() - wall
            stop.set()
            await asyncio.gather(*pollers_t)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ms = lambda v: round(v * 1000, 1)
    health_p95 = percentile(health, 95)
    return {
        "users": users, "runs": len(ends), "errors": len(errors), "wall_s": round(wall, 1),
        "runs_per_s": round(len(ends) / wall, 1),
        "first_event_p50_ms": ms(percentile(firsts, 50)), "first_event_p95_ms": ms(percentile(firsts, 95)),
        "end_p50_ms": ms(percentile(ends, 50)), "end_p95_ms": ms(percentile(ends, 95)),
        "health_idle_p95_ms": ms(percentile(idle, 95)),
        "health_p50_ms": ms(percentile(health, 50)), "health_p95_ms": ms(health_p95),
        "health_samples": len(health), "health_non_200": sum(c != 200 for c in codes),
        "first_event_vs_health_p95": round(percentile(firsts, 95) / health_p95, 2),
        "end_vs_health_p95": round(percentile(ends, 95) / health_p95, 2),
    }


def _stopped_after(seconds: float) -> asyncio.Event:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, event.set)
    return event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pollers", type=int, default=2)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    result = asyncio.run(run(args.users, args.rounds, args.pollers))
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
