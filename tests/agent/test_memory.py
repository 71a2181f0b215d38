"""Threads with titles, long-term memories found by meaning, and erasure of both with the user."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from memory.threads import delete_thread, list_threads
from memory.users import erase_user
from tests.agent.conftest import Chat


async def _count(conn, sql: str, *args) -> int:
    return (await (await conn.execute(sql, args)).fetchone())["n"]


async def test_threads_are_listed_with_titles_per_user(graph, db, conn, world):
    a1, a2 = Chat(graph, db, world["alice"]), Chat(graph, db, world["alice"])
    await a1("what changed?")
    await a2("what's my privacy score?")
    await a1("and my settings?")
    await Chat(graph, db, world["bob"])("hi")
    threads = await list_threads(conn, world["alice"])
    assert [t["title"] for t in threads] == ["what changed?", "what's my privacy score?"]  # latest activity first
    assert [t["id"] for t in threads] == [a1.thread_id, a2.thread_id]


async def test_memories_are_searched_by_meaning(chat, memory, world):
    _, store = memory
    await chat("Remember that I only care about location tracking")
    await chat("Remember that I don't mind personalized ads")
    hits = await store.asearch(("memories", str(world["alice"])), query="where I go, GPS", limit=1)
    assert hits[0].value["text"] == "Remember that I only care about location tracking"


async def test_llm_prompt_carries_the_users_memories(chat, memory, world):
    from agent.prompts import system_prompt
    from tools.memories import memory_texts

    _, store = memory
    await chat("Remember that I don't mind personalized ads")
    notes = await memory_texts(store, world["alice"], "ads", limit=5)
    assert "- Remember that I don't mind personalized ads" in system_prompt(tier="pro", channel="chat", memories=notes)
    assert await memory_texts(store, world["bob"], "ads") == []


async def test_deleting_a_thread_deletes_its_checkpoints(chat, conn, memory, world):
    checkpointer, _ = memory
    await chat("what changed?")
    config = {"configurable": {"thread_id": str(chat.thread_id)}}
    assert await checkpointer.aget_tuple(config) is not None
    await delete_thread(conn, world["alice"], chat.thread_id)
    assert await checkpointer.aget_tuple(config) is None


async def test_erasing_a_user_removes_threads_checkpoints_and_memories(graph, db, conn, memory, world):
    checkpointer, store = memory
    alice, bob = Chat(graph, db, world["alice"]), Chat(graph, db, world["bob"])
    await alice("Remember that I only care about location")
    await alice("what changed?")
    await bob("Remember that I don't mind ads")
    await erase_user(conn, world["alice"])
    tid = str(alice.thread_id)
    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
        assert await _count(conn, f"SELECT count(*) AS n FROM {table} WHERE thread_id = %s", tid) == 0
    assert await _count(conn, "SELECT count(*) AS n FROM threads WHERE user_id = %s", world["alice"]) == 0
    assert await _count(conn, "SELECT count(*) AS n FROM store WHERE prefix LIKE %s", f"%{world['alice']}%") == 0
    assert await _count(conn, "SELECT count(*) AS n FROM store_vectors WHERE prefix LIKE %s",
                        f"%{world['alice']}%") == 0
    # Bob keeps his conversation and memory.
    assert await checkpointer.aget_tuple({"configurable": {"thread_id": str(bob.thread_id)}}) is not None
    assert len(await store.asearch(("memories", str(world["bob"])))) == 1
    state = await graph.aget_state({"configurable": {"thread_id": str(bob.thread_id)}})
    assert isinstance(state.values["messages"][0], HumanMessage)
