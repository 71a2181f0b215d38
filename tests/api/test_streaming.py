"""The SSE protocol itself: one-line JSON data, heartbeat comments, error events, disconnect cancels the run."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.api.stream_fixtures import *
from tests.api.stream_fixtures import CANCELLED, live_server, make_user, stream_settings, tiny_graph_factory

QUESTION = {"messages": [{"role": "user", "content": "what changed?\nand why?"}]}


@pytest.fixture
async def alice(db):
    async with db.connection() as conn:
        return await make_user(conn, "alice@example.com")


async def _thread(client: httpx.AsyncClient) -> str:
    r = await client.post("/threads", json={})
    assert r.status_code == 200, r.text
    return r.json()["thread_id"]


async def test_wire_format_is_event_plus_one_json_line_with_heartbeats(settings, alice):
    _user_id, token = alice
    factory = tiny_graph_factory(delay=0.25, steps=3)
    with live_server(stream_settings(settings, sse_heartbeat_seconds=0.1), factory) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            tid = await _thread(c)
            async with c.stream("POST", f"/threads/{tid}/runs/stream",
                                json={"assistant_id": "agent", "input": QUESTION,
                                      "stream_mode": ["values", "custom"]}) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                body = (await r.aread()).decode()
    blocks = [b for b in body.split("\n\n") if b.strip()]
    pings = [b for b in blocks if b.startswith(":")]
    events = [b for b in blocks if not b.startswith(":")]
    assert len(pings) >= 2  # 0.75 s of work with a 0.1 s heartbeat
    for block in events:
        lines = block.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: ")
        json.loads(lines[1][len("data: "):])  # every data line is a whole JSON document
    names = [b.split("\n")[0][len("event: "):] for b in events]
    assert names[0] == "metadata" and names[-1] == "end"


async def test_failure_is_an_error_event_without_internals(settings, alice):
    _, token = alice
    with live_server(stream_settings(settings), tiny_graph_factory(fail=True)) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            tid = await _thread(c)
            r = await c.post(f"/threads/{tid}/runs/stream", json={"assistant_id": "agent", "input": QUESTION})
    assert r.status_code == 200
    assert "event: error" in r.text and "RuntimeError" in r.text
    assert "secret internal detail" not in r.text
    # The thread is free again after a failed run.
    assert "event: end" not in r.text


async def test_client_disconnect_cancels_the_run_and_frees_the_thread(settings, alice):
    user_id, token = alice
    CANCELLED.clear()
    factory = tiny_graph_factory(delay=0.1, steps=200)  # 20 s if nobody stopped it
    with live_server(stream_settings(settings), factory) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            tid = await _thread(c)
            async with c.stream("POST", f"/threads/{tid}/runs/stream",
                                json={"assistant_id": "agent", "input": QUESTION, "stream_mode": "custom"}) as r:
                seen = 0
                async for line in r.aiter_lines():
                    seen += line.startswith("event: custom")
                    if seen >= 3:
                        break  # leaving the block closes the connection mid-run
            for _ in range(100):
                if CANCELLED and not server.app.state.busy_threads:
                    break
                await asyncio.sleep(0.05)
            assert CANCELLED == [str(user_id)]
            assert not server.app.state.background_runs
            # The thread is free for a new run straight away.
            assert (await c.get(f"/threads/{tid}")).json()["status"] == "idle"


async def test_second_concurrent_run_on_a_thread_is_409(settings, alice):
    _, token = alice
    with live_server(stream_settings(settings), tiny_graph_factory(delay=0.1, steps=20)) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            tid = await _thread(c)
            body = {"assistant_id": "agent", "input": QUESTION, "stream_mode": "custom"}
            async with c.stream("POST", f"/threads/{tid}/runs/stream", json=body) as r:
                lines = r.aiter_lines()  # read by hand: leaving an `async for` early would close the stream
                while not (await anext(lines)).startswith("event: custom"):
                    pass
                assert (await c.get(f"/threads/{tid}")).json()["status"] == "busy"
                second = await c.post(f"/threads/{tid}/runs/stream", json=body)
                assert second.status_code == 409 and second.json()["error"]["code"] == "thread_busy"
