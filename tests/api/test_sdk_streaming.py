"""The official langgraph_sdk client against a real uvicorn: threads, streamed runs, state, ownership."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from langgraph_sdk import get_client

from tests.api.stream_fixtures import *
from tests.api.stream_fixtures import ANSWER, live_server, make_user


@pytest.fixture
async def users(db):
    async with db.connection() as conn:
        alice = await make_user(conn, "alice@example.com", tier="pro")
        bob = await make_user(conn, "bob@example.com")
    return alice, bob


def sdk(server, token):
    return get_client(url=server.url, headers={"Authorization": f"Bearer {token}"})


async def test_sdk_creates_thread_streams_what_changed_and_reads_state(sdk_settings, users):
    (alice_id, alice_token), (bob_id, bob_token) = users
    with live_server(sdk_settings) as server:
        client = sdk(server, alice_token)
        thread = await client.threads.create(metadata={"purpose": "test"})
        parts = [p async for p in client.runs.stream(
            thread["thread_id"], "agent",
            input={"messages": [{"role": "user", "content": "what changed?"}]},
            stream_mode=["values", "updates", "messages-tuple", "custom"],
            # A client cannot choose whose data the run reads: this context is ignored.
            context={"user_id": str(bob_id), "tier": "enterprise"},
        )]
        events = [p.event for p in parts]
        assert events[0] == "metadata" and parts[0].data["run_id"]
        assert events[-1] == "end" and "error" not in events
        assert {"values", "updates", "messages", "custom"} <= set(events)
        custom = [p.data for p in parts if p.event == "custom"]
        assert custom[0] == {"type": "tool_step", "tool": "recent_changes", "status": "started"}
        assert any(c["type"] == "citation" for c in custom)
        message, meta = next(p.data for p in parts if p.event == "messages")
        assert message["type"] in ("AIMessageChunk", "ai") and meta["langgraph_node"] == "agent"
        streamed = "".join(p.data[0]["content"] for p in parts if p.event == "messages")
        assert streamed.startswith(ANSWER)

        state = await client.threads.get_state(thread["thread_id"])
        answer = state["values"]["messages"][-1]["content"]
        assert answer == f"{ANSWER} (for {alice_id}, pro)"  # the principal's context, not the body's
        assert state["values"]["messages"][0]["content"] == "what changed?"
        assert state["checkpoint"]["checkpoint_id"] and state["next"] == []

        got = await client.threads.get(thread["thread_id"])
        assert got["metadata"]["title"] == "what changed?" and got["metadata"]["purpose"] == "test"
        assert len(got["values"]["messages"]) == 2
        history = await client.threads.get_history(thread["thread_id"], limit=3)
        assert len(history) == 3 and history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
        assert [t["thread_id"] for t in await client.threads.search()] == [thread["thread_id"]]

        # Bob's credentials: the thread does not exist for him, on every route.
        other = sdk(server, bob_token)
        for call in (other.threads.get(thread["thread_id"]), other.threads.get_state(thread["thread_id"]),
                     other.threads.get_history(thread["thread_id"])):
            with pytest.raises(httpx.HTTPStatusError) as err:
                await call
            assert err.value.response.status_code == 404
            assert err.value.response.json()["error"]["code"] == "not_found"
        with pytest.raises(httpx.HTTPStatusError) as err:
            async for _ in other.runs.stream(thread["thread_id"], "agent",
                                             input={"messages": [{"role": "user", "content": "hi"}]}):
                pass
        assert err.value.response.status_code == 404
        # Nor can he claim the id by creating a thread with it.
        with pytest.raises(httpx.HTTPStatusError) as err:
            await other.threads.create(thread_id=thread["thread_id"])
        assert err.value.response.status_code == 404
        assert await other.threads.search() == []


async def test_stateless_run_streams_and_leaves_no_thread(sdk_settings, users, db):
    (_alice_id, alice_token), _ = users
    with live_server(sdk_settings) as server:
        client = sdk(server, alice_token)
        parts = [p async for p in client.runs.stream(
            None, "agent", input={"messages": [{"role": "user", "content": "what changed?"}]},
            stream_mode="values")]
        assert parts[0].event == "metadata" and parts[-1].event == "end"
        assert parts[-2].data["messages"][-1]["content"].startswith(ANSWER)
        for _ in range(50):
            async with db.connection() as conn:
                left = await (await conn.execute("SELECT count(*) AS n FROM threads")).fetchone()
            if left["n"] == 0:
                break
            await asyncio.sleep(0.05)
        assert left["n"] == 0


async def test_unknown_stream_mode_and_assistant_are_client_errors(sdk_settings, users):
    (_, token), _ = users
    with live_server(sdk_settings) as server:
        client = sdk(server, token)
        thread = await client.threads.create()
        with pytest.raises(httpx.HTTPStatusError) as err:
            async for _ in client.runs.stream(thread["thread_id"], "agent", input={"messages": []},
                                              stream_mode="debug"):
                pass
        assert err.value.response.status_code == 422
        with pytest.raises(httpx.HTTPStatusError) as err:
            async for _ in client.runs.stream(thread["thread_id"], "nope", input={"messages": []}):
                pass
        assert err.value.response.status_code == 404




async def test_sdk_against_the_real_agent(sdk_settings, users):
    """The agent package's graph (keyless: its offline model) behind the same protocol."""
    (_alice_id, alice_token), _ = users
    with live_server(sdk_settings, real_agent=True) as server:
        client = sdk(server, alice_token)
        thread = await client.threads.create()
        parts = [p async for p in client.runs.stream(
            thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": "what changed?"}]},
            stream_mode=["values", "messages-tuple", "custom"])]
        events = [p.event for p in parts]
        assert events[0] == "metadata" and events[-1] == "end" and "error" not in events, events
        assert "messages" in events and "custom" in events
        state = await client.threads.get_state(thread["thread_id"])
        messages = state["values"]["messages"]
        assert messages[0]["content"] == "what changed?" and messages[-1]["type"] == "ai"
        assert messages[-1]["content"]
