"""Redis: shared rate limits (429 + Retry-After), cross-process user events, cache, and surviving an outage."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from api.cache import cached_json
from api.events import publish_user_event
from api.redis_state import LocalRedis, RedisState
from tests.api.stream_fixtures import *
from tests.api.stream_fixtures import ServerProcess, live_server, make_user, stream_settings


@pytest.fixture
async def two_users(db):
    async with db.connection() as conn:
        return await make_user(conn, "alice@example.com"), await make_user(conn, "bob@example.com")


@pytest.fixture
def shared_redis():
    local = LocalRedis()
    local.start()
    yield local
    local.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_user_limit_is_shared_by_two_app_instances(settings, two_users, shared_redis):
    (_, token), _ = two_users
    s = stream_settings(settings, redis_url=shared_redis.url, rate_limit_user="3/minute")
    with live_server(s) as one, live_server(s) as two:
        codes = []
        for url in (one.url, two.url, one.url, two.url):
            async with httpx.AsyncClient(base_url=url, headers=bearer(token)) as c:
                codes.append(await c.post("/threads/search", json={}))
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    last = codes[-1]
    assert 1 <= int(last.headers["retry-after"]) <= 60
    assert last.json()["error"]["code"] == "rate_limited"


async def test_ip_limit_answers_429_but_never_for_health(settings):
    with live_server(stream_settings(settings, rate_limit_ip="5/minute")) as server:
        async with httpx.AsyncClient(base_url=server.url) as c:
            codes = [(await c.get("/info")).status_code for _ in range(7)]
            assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
            r = await c.get("/info")
            assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
            assert (await c.get("/api/health")).status_code in (200, 503)  # exempt: not 429


async def test_scan_event_in_one_process_reaches_a_stream_in_another(settings, database_url, two_users,
                                                                     shared_redis):
    (alice_id, alice_token), (_bob_id, bob_token) = two_users
    other = ServerProcess(database_url, shared_redis.url).wait_ready()
    try:
        with live_server(stream_settings(settings, redis_url=shared_redis.url)) as here:
            async with httpx.AsyncClient(base_url=other.url, timeout=10) as c:  # noqa: SIM117
                async with c.stream("GET", "/api/events", headers=bearer(alice_token)) as alice_stream, \
                        c.stream("GET", "/api/events", headers=bearer(bob_token)) as bob_stream:
                    alice_lines, bob_lines = alice_stream.aiter_lines(), bob_stream.aiter_lines()
                    for lines in (alice_lines, bob_lines):  # both subscribed (metadata sent after subscribe)
                        assert await anext(lines) == "event: metadata"
                    event = {"type": "scan.completed", "platform": "acme", "changes": 2}
                    here.call(publish_user_event(here.app.state.redis, alice_id, event))
                    got: list[str] = []
                    while "event: event" not in got[-2:-1]:
                        got.append(await asyncio.wait_for(anext(alice_lines), 5))
                    assert json.loads(got[-1][len("data: "):]) == event
                    # Bob's stream got nothing of Alice's.
                    with pytest.raises(asyncio.TimeoutError):
                        while True:
                            line = await asyncio.wait_for(anext(bob_lines), 0.5)
                            assert not line.startswith("event: event")
    finally:
        other.stop()


async def test_cache_serves_hits_and_a_scan_event_invalidates(shared_redis):
    state = RedisState(shared_redis.url)
    await state.start()
    calls = []

    async def load():
        calls.append(1)
        return {"score": len(calls)}

    try:
        assert await cached_json(state, "u1", "dashboard", 30, load) == {"score": 1}
        assert await cached_json(state, "u1", "dashboard", 30, load) == {"score": 1}
        await publish_user_event(state, "u1", {"type": "scan.completed"})
        assert await cached_json(state, "u1", "dashboard", 30, load) == {"score": 2}
        assert len(calls) == 2
    finally:
        await state.close()


async def test_redis_outage_degrades_then_recovers_without_restart(settings, two_users):
    (alice_id, token), _ = two_users
    with live_server(stream_settings(settings, rate_limit_user="1000/minute")) as server:
        local: LocalRedis = server.app.state.redis.local
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token), timeout=10) as c:
            assert (await c.get("/api/health")).json()["components"]["redis"]["status"] == "up"
            local.proc.kill()
            local.proc.wait()

            # Everything that does not need Redis keeps working.
            thread = (await c.post("/threads", json={})).json()
            assert (await c.get(f"/threads/{thread['thread_id']}")).status_code == 200
            run = await c.post(f"/threads/{thread['thread_id']}/runs/stream",
                               json={"assistant_id": "agent", "input": {"messages": [
                                   {"role": "user", "content": "what changed?"}]}})
            assert run.status_code == 200 and "event: end" in run.text
            health = await c.get("/api/health")
            assert health.status_code == 503
            body = health.json()
            assert body["status"] == "degraded" and body["components"]["redis"]["status"] == "down"
            assert body["components"]["postgres"]["status"] == "up"
            # Limits still apply per process while Redis is away.
            assert server.app.state.redis.up is False

            local.start()  # same port, as a restarted Redis would come back
            deadline = time.monotonic() + 10
            while (health := await c.get("/api/health")).status_code != 200:
                assert time.monotonic() < deadline, health.json()
                await asyncio.sleep(0.1)
            assert health.json()["components"]["redis"]["status"] == "up"
            # And events flow through Redis again.
            async with c.stream("GET", "/api/events") as stream:
                lines = stream.aiter_lines()
                assert await anext(lines) == "event: metadata"
                for _ in range(50):
                    if server.call(server.app.state.redis.client.pubsub_numpat()) >= 1:
                        break
                    await asyncio.sleep(0.1)
                server.call(publish_user_event(server.app.state.redis, alice_id, {"type": "hello"}))
                got = [await asyncio.wait_for(anext(lines), 5) for _ in range(4)]
                assert "event: event" in got


async def test_a_scan_posted_to_one_process_reaches_the_users_stream_in_another(settings, database_url, db,
                                                                               two_users, shared_redis):
    from memory.catalog_store import load_platform
    from tests.memory.helpers import DEFAULTS, T0, acme, days, scan

    async with db.connection() as conn:
        await load_platform(conn, acme(), at=T0 - days(1))
    (_alice_id, alice_token), _ = two_users
    other = ServerProcess(database_url, shared_redis.url).wait_ready()
    try:
        with live_server(stream_settings(settings, redis_url=shared_redis.url)) as here:
            async with httpx.AsyncClient(base_url=other.url, timeout=10) as c, \
                    httpx.AsyncClient(base_url=here.url, timeout=10) as poster:
                async with c.stream("GET", "/api/events", headers=bearer(alice_token)) as alice_stream:
                    lines = alice_stream.aiter_lines()
                    assert await anext(lines) == "event: metadata"
                    r = await poster.post("/api/extension/scans", json=scan(DEFAULTS), headers=bearer(alice_token))
                    assert r.status_code == 201, r.text
                    got: list[str] = []
                    while "event: event" not in got[-2:-1]:
                        got.append(await asyncio.wait_for(anext(lines), 5))
                    event = json.loads(got[-1][len("data: "):])
                    assert event["type"] == "scan.completed" and event["platform"] == "acme"
                    assert event["scan_id"] == r.json()["scan_id"]
    finally:
        other.stop()
