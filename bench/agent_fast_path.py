""""What changed?" on the agent's fast path, next to the database reads that answer needs, in one run.

A throwaway embedded Postgres holds the demo person (`privyloop demo`'s data); the real graph runs with its
Postgres checkpointer and store, keyless (the fast path is what runs with a key too). For each round, in
alternation: one turn of "what changed?" through agent.run.stream_turn on the popup channel (a new thread,
as the popup opens one), the bare reads its tool makes (change events + connected platforms), and the two
costs any turn pays whatever the agent does: the thread registration (`ensure_thread`, one insert) and an
empty LangGraph graph of the same shape (agent → tools → agent, nodes that return fixed messages) with the
same checkpointer, stream modes and durability, on a new thread.

    .venv/bin/python -m bench.agent_fast_path [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command

from agent.context import Context
from agent.graph import build_graph
from agent.memory import open_memory
from agent.run import STREAM_MODES, stream_turn
from bench.harness import fresh_database, percentile
from cli.demo import load_demo
from memory import state as st
from memory.connections import connected_platforms
from memory.threads import ensure_thread
from memory.users import user_by_email


def empty_graph(checkpointer: Any) -> Any:
    """The fast path's shape with nothing in it: what LangGraph and the checkpointer cost on their own."""

    async def agent(state: MessagesState) -> Command[str]:
        if isinstance(state["messages"][-1], ToolMessage):
            return Command(update={"messages": [AIMessage("done")]}, goto=END)
        call = {"name": "what_changed", "args": {}, "id": "call_1", "type": "tool_call"}
        return Command(update={"messages": [AIMessage("", tool_calls=[call])]}, goto="tools")

    async def tools(state: MessagesState) -> dict[str, Any]:
        return {"messages": [ToolMessage("{}", tool_call_id="call_1", name="what_changed")]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent, destinations=("tools", END))
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=checkpointer)


async def main(rounds: int, warmup: int) -> None:
    async with fresh_database() as db:
        demo = await load_demo(db)
        async with db.connection() as conn:
            user = await user_by_email(conn, demo["email"])
        checkpointer, store = await open_memory(db)
        graph = build_graph(db=db, checkpointer=checkpointer, store=store)
        empty = empty_graph(checkpointer)
        context = Context(user_id=user["id"], tier=user["tier"], channel="popup")
        first, whole, reads, register, bare, llm_calls, answer = [], [], [], [], [], 0, ""
        for i in range(warmup + rounds):
            started = time.perf_counter()
            t_first = None
            text = ""
            async for mode, payload in stream_turn(graph, thread_id=uuid.uuid4(), message="what changed?",
                                                   context=context, db=db):
                if mode == "messages" and isinstance(payload[0], AIMessageChunk) and payload[0].content:
                    t_first = t_first or time.perf_counter() - started
                    text += payload[0].text
                elif mode == "custom" and payload.get("event") == "answer_done":
                    llm_calls += payload["llm_calls"] if i >= warmup else 0
            t_whole = time.perf_counter() - started
            started = time.perf_counter()
            async with db.connection() as conn:
                await st.changes(conn, user["id"], limit=40)
                await connected_platforms(conn, user["id"])
            t_reads = time.perf_counter() - started
            started = time.perf_counter()
            async with db.connection() as conn:
                await ensure_thread(conn, user["id"], uuid.uuid4(), first_message="what changed?", channel="popup")
            t_register = time.perf_counter() - started
            started = time.perf_counter()
            async for _ in empty.astream({"messages": [HumanMessage("what changed?")]},
                                         {"configurable": {"thread_id": str(uuid.uuid4())}},
                                         stream_mode=STREAM_MODES, durability="exit"):
                pass
            t_bare = time.perf_counter() - started
            if i >= warmup:
                first.append(t_first or t_whole)
                whole.append(t_whole)
                reads.append(t_reads)
                register.append(t_register)
                bare.append(t_bare)
                answer = text

        def ms(values: list[float], p: int) -> str:
            return f"{percentile(values, p) * 1000:.1f}"

        print(f"rounds: {rounds} (after {warmup} warm-up), changes in the answer: {answer.count(chr(10))}")
        print("| measure | p50 ms | p95 ms |")
        print("|---|---|---|")
        print(f"| time to first streamed token | {ms(first, 50)} | {ms(first, 95)} |")
        print(f"| whole answer (turn end) | {ms(whole, 50)} | {ms(whole, 95)} |")
        print(f"| the DB reads it needs, alone | {ms(reads, 50)} | {ms(reads, 95)} |")
        print(f"| thread registration alone (one insert) | {ms(register, 50)} | {ms(register, 95)} |")
        print(f"| empty graph of the same shape, same checkpointer | {ms(bare, 50)} | {ms(bare, 95)} |")
        floor = percentile(reads, 50) + percentile(register, 50) + percentile(bare, 50)
        print(f"LLM calls: {llm_calls}; whole answer / reads (p50): "
              f"{percentile(whole, 50) / percentile(reads, 50):.1f}x; reads + registration + empty graph "
              f"(p50 sum): {floor * 1000:.1f} ms = {floor / percentile(reads, 50):.1f}x the reads")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.warmup))
