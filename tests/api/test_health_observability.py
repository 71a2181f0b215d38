"""Health, metrics, request ids, log hygiene, and graceful shutdown of open streams."""

from __future__ import annotations

import json
import logging
import signal

import httpx
import pytest

from api.observability import JsonFormatter, secret_values
from tests.api.stream_fixtures import *
from tests.api.stream_fixtures import ServerProcess, live_server, make_user, stream_settings


@pytest.fixture
async def alice(db):
    async with db.connection() as conn:
        return await make_user(conn, "alice@example.com")


async def test_health_metrics_and_request_ids(settings, alice):
    _, token = alice
    with live_server(stream_settings(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url) as c:
            health = await c.get("/api/health")
            assert health.status_code == 200, health.json()
            components = health.json()["components"]
            assert components["postgres"]["status"] == "up" and components["redis"]["status"] == "up"
            assert components["model"]["status"] == "not_configured"

            r = await c.post("/threads", json={}, headers={"Authorization": f"Bearer {token}",
                                                            "X-Request-ID": "abc-123"})
            assert r.headers["x-request-id"] == "abc-123"
            assert len((await c.get("/info")).headers["x-request-id"]) == 32  # generated when absent
            bad = await c.get("/info", headers={"X-Request-ID": "bad id; <script>"})
            assert bad.headers["x-request-id"] != "bad id; <script>"  # only safe ids are echoed
            await c.get(f"/threads/{r.json()['thread_id']}/state", headers={"Authorization": f"Bearer {token}"})
            metrics = (await c.get("/metrics")).text
    assert 'route="/threads/{thread_id}/state"' in metrics  # templates, never raw ids
    assert r.json()["thread_id"] not in metrics
    assert "privyloop_sse_active_streams" in metrics and "privyloop_http_request_duration_seconds" in metrics


async def test_logs_are_json_with_request_ids_and_no_secrets(settings, alice, caplog):
    _user_id, token = alice
    s = stream_settings(settings)
    formatter = JsonFormatter(secret_values(s))
    caplog.set_level(logging.INFO)
    with live_server(s) as server:
        async with httpx.AsyncClient(base_url=server.url) as c:
            await c.post("/threads", json={}, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "rid-1"})
            await c.get("/info?token=" + token)
    logging.getLogger("test").warning("user alice@example.com sent Bearer %s with password=hunter2 to %s",
                                      token, s.database_url)
    lines = [formatter.format(r) for r in caplog.records]
    docs = [json.loads(line) for line in lines]
    access = [d for d in docs if d["logger"] == "privyloop.access"]
    assert any(d["request_id"] == "rid-1" and d["route"] == "/threads" for d in access)
    text = "\n".join(lines)
    for secret in (token, "alice@example.com", "hunter2", s.database_url, s.secret_key.get_secret_value()):
        assert secret not in text


async def test_sigterm_ends_open_streams_with_a_shutdown_event(database_url, alice):
    _, token = alice
    server = ServerProcess(database_url, delay=0.2, steps=500, grace=2.0).wait_ready()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=20) as c:
            tid = (await c.post("/threads", json={})).json()["thread_id"]
            async with c.stream("POST", f"/threads/{tid}/runs/stream",
                                json={"assistant_id": "agent", "stream_mode": "custom",
                                      "input": {"messages": [{"role": "user", "content": "what changed?"}]}}) as run, \
                    c.stream("GET", "/api/events") as events:
                run_lines, event_lines = run.aiter_lines(), events.aiter_lines()
                while not (await anext(run_lines)).startswith("event: custom"):
                    pass
                assert await anext(event_lines) == "event: metadata"
                server.proc.send_signal(signal.SIGTERM)
                tails = []
                for lines in (run_lines, event_lines):
                    rest = [line async for line in lines]
                    tails.append([line for line in rest if line.startswith(("event:", "data:"))][-4:])
        for tail in tails:
            assert tail[0] == "event: error" and json.loads(tail[1][6:])["error"] == "ServerShuttingDown"
            assert tail[2] == "event: end"
        # uvicorn re-raises SIGTERM once its graceful shutdown is done, so -15 is a clean exit here.
        assert server.proc.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        server.stop()
