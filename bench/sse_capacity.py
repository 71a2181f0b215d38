"""How many open SSE streams (GET /api/events) one API process holds, and its memory while holding them.

The API runs in its own process (uvicorn, local Redis, embedded Postgres); this process opens the streams
with plain asyncio sockets (lighter than an HTTP client per stream), waits for each stream's first event,
then publishes one event per user through Redis and times its delivery to every stream. RSS is read from
/proc/<pid>/status (VmRSS) of the server process.

    .venv/bin/python -m bench.sse_capacity [--streams 2000] [--users 100]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from typing import Any

from api.events import publish_user_event
from api.redis_state import LocalRedis, RedisState
from bench.api_stream import free_port, start_server, wait_ready
from bench.harness import fresh_database


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def open_stream(port: int, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(status.decode().strip())
    await reader.readuntil(b"event: metadata")
    return reader, writer


async def users_with_tokens(db: Any, n: int) -> list[tuple[Any, str]]:
    from datetime import timedelta

    from api.security import new_token, token_hash
    from memory import accounts
    from memory.users import create_user

    out = []
    async with db.connection() as conn:
        for i in range(n):
            user = await create_user(conn, f"sse{i}@bench.test")
            token = new_token("api")
            await accounts.create_api_token(conn, user["id"], "bench", token[:8], token_hash(token), timedelta(hours=1))
            out.append((user["id"], token))
    return out


async def run(streams: int, users: int, batch: int) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, streams * 2 + 1000)), hard))
    async with fresh_database() as db:
        accounts_ = await users_with_tokens(db, users)
        port = free_port()
        redis = LocalRedis()  # the bench publishes through the same Redis, as another API process would
        redis.start()
        proc = start_server(db.url, port, redis.url)
        conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            await wait_ready(f"http://127.0.0.1:{port}", proc)
            rss_idle = rss_mb(proc.pid)
            start = time.perf_counter()
            for first in range(0, streams, batch):
                conns += await asyncio.gather(*(open_stream(port, accounts_[i % users][1])
                                                for i in range(first, min(streams, first + batch))))
            open_s = time.perf_counter() - start
            await asyncio.sleep(2)
            rss_open = rss_mb(proc.pid)

            # One event per user, through Redis; every stream must get its user's event.
            state = RedisState(redis.url)
            await state.start()
            start = time.perf_counter()
            for user_id, _ in accounts_:
                await publish_user_event(state, user_id, {"type": "scan.completed", "platform": "bench"})
            await asyncio.gather(*(r.readuntil(b"scan.completed") for r, _ in conns))
            deliver_s = time.perf_counter() - start
            await state.close()
            alive = proc.poll() is None
        finally:
            for _, w in conns:
                w.close()
            proc.terminate()
            proc.wait(timeout=30)
            redis.stop()
    return {"streams_open": len(conns), "users": users, "open_s": round(open_s, 1),
            "rss_idle_mb": round(rss_idle, 1), "rss_with_streams_mb": round(rss_open, 1),
            "kb_per_stream": round((rss_open - rss_idle) * 1024 / max(1, len(conns)), 1),
            "deliver_all_s": round(deliver_s, 2), "server_alive": alive}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args.streams, args.users, args.batch))
    for key, value in result.items():
        print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
