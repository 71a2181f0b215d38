"""The agent graph: one model node (offline fast path or LLM), the tools, and a final check of the answer.

    START → agent ⇄ tools ; agent → finalize → END (an LLM's answer) ; agent → END (an offline answer)

An answer the offline model writes is checked (citations) in the agent step that writes it, before it is
streamed, so the fast path is three supersteps: agent (the plan's tool calls) → tools → agent (the answer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import Command

from agent.citations import check_citations, retrieved, retrieved_in
from agent.context import Context
from agent.intents import Plan, overview, recognise
from agent.labels import LabelIndex
from agent.offline import OfflineModel, compose, tool_call_message, tool_results, turn_messages
from agent.prompts import system_prompt
from agent.setting_names import drop_unknown_settings
from agent.state import AgentState
from memory.db import Database
from tools import build_tools, tool_error
from tools.matching import find_platform
from tools.memories import memory_texts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_model_steps: int = 5  # model calls per turn; tools run between them
    llm_seconds: float = 25.0  # one LLM request
    history_messages: int = 24  # what the LLM sees of the thread

    @property
    def recursion_limit(self) -> int:
        return 2 * self.max_model_steps + 4


def describe_failure(exc: BaseException) -> str:
    """A short, honest reason an LLM request failed, without internals."""
    text = f"{type(exc).__name__} {exc}".lower()
    if isinstance(exc, TimeoutError) or "timeout" in text or "timed out" in text:
        return "it did not answer in time"
    if "429" in text or "resource_exhausted" in text or "ratelimit" in text or "rate limit" in text:
        return "it is rate limited"
    if "500" in text or "503" in text or "internal" in text or "unavailable" in text:
        return "it reported a server error"
    return "it failed"


async def _announce(request: Any, execute: Any) -> Any:
    """Tool start and end as custom stream events, so clients can show the steps as they happen."""
    writer = get_stream_writer()
    call = request.tool_call
    writer({"event": "tool_start", "tool": call["name"], "id": call["id"], "args": call.get("args", {})})
    started = time.perf_counter()
    out = await execute(request)
    content = getattr(out, "content", "")
    ok = not (isinstance(content, str) and content.startswith('{"error"'))
    writer({"event": "tool_end", "tool": call["name"], "id": call["id"], "ok": ok,
            "ms": round((time.perf_counter() - started) * 1000, 2)})
    return out


def done(writer: Any, used: list[dict[str, Any]], removed: list[str], **answer: Any) -> None:
    """The end of an answer on the custom stream: the passages it cites, then how it was answered."""
    writer({"event": "citations", "citations": used})
    writer({"event": "answer_done", **answer, "removed_citations": removed})


def build_graph(*, db: Database, checkpointer: BaseCheckpointSaver | None = None, store: BaseStore | None = None,
                model: BaseChatModel | None = None, embedder: Any = None, limits: Limits = Limits()) -> Any:
    """The compiled graph. model=None means keyless: only the offline fast path answers."""
    tools = build_tools(db, embedder=embedder)
    tool_node = ToolNode(tools, handle_tool_errors=tool_error, awrap_tool_call=_announce)
    offline = OfflineModel()
    llm = model.bind_tools(tools) if model is not None else None
    labels = LabelIndex(db)

    async def agent(state: AgentState, runtime: Runtime[Context], config: RunnableConfig) -> Command[str]:
        """One model step; it also says where the turn goes next (the tools, the final check, or the end),
        so no router has to read the state back after it."""
        messages = state["messages"]
        turn = turn_messages(messages)
        question = str(turn[0].content) if turn and isinstance(turn[0], HumanMessage) else ""
        first = not any(isinstance(m, AIMessage) for m in turn)
        steps = 0 if first else state.get("steps", 0)
        llm_calls = 0 if first else state.get("llm_calls", 0)
        fallback = None if first else state.get("fallback")
        # Only the first step of a turn needs the names: later steps answer from the tool results.
        platforms, settings = await labels.get() if first or state.get("route") == "llm" else ([], [])
        plan = recognise(question, platforms, settings) if first or state.get("route") == "llm" else None
        route = ("fast" if plan is not None or llm is None else "llm") if first else state.get("route", "fast")
        update: dict[str, Any] = {"route": route, "steps": steps + 1}
        if first:
            update["intent"] = plan.intent if plan else "open"

        if route == "llm" and steps < limits.max_model_steps:
            memories = await memory_texts(runtime.store, runtime.context.user_id, question, limit=5)
            prompt = system_prompt(tier=runtime.context.tier, channel=runtime.context.channel, memories=memories)
            try:
                async with asyncio.timeout(limits.llm_seconds):
                    reply = await llm.ainvoke([SystemMessage(prompt), *messages[-limits.history_messages:]], config)
                return Command(update={**update, "messages": [reply], "llm_calls": llm_calls + 1},
                               goto="tools" if isinstance(reply, AIMessage) and reply.tool_calls else "finalize")
            except Exception as exc:  # noqa: BLE001 - any LLM failure ends in a grounded answer, not a traceback
                log.warning("LLM request failed: %s", type(exc).__name__)
                fallback = describe_failure(exc)
                fallback_plan = plan or overview(find_platform(question, platforms))
                return Command(update={**update, "route": "fast", "intent": fallback_plan.intent,
                                       "fallback": fallback, "llm_calls": llm_calls + 1,
                                       "messages": [tool_call_message(fallback_plan)]}, goto="tools")
        # The fast path, and any turn that ran out of steps: call the plan's tools once, then answer from them.
        if first and plan is not None and plan.calls and steps < limits.max_model_steps:
            # The tool calls need no chat-model run: the message goes into the state (and the messages stream)
            # as the node's output, and the tools node runs them.
            return Command(update={**update, "messages": [tool_call_message(plan)], "llm_calls": llm_calls,
                                   "fallback": fallback}, goto="tools")
        if route == "llm":  # out of steps on the LLM path: answer from what the tools returned so far
            plan = plan or Plan("open")
        # The answer is checked before it is streamed: what the client sees is what the thread keeps.
        results = tool_results(messages)
        text, used, removed = check_citations(compose(plan, messages, fallback, results=results), messages,
                                              known=retrieved_in(results))
        reply = await offline.ainvoke(messages, config, text=text)
        done(get_stream_writer(), used, removed, route=route, intent=update.get("intent", state.get("intent")),
             llm_calls=llm_calls, fallback=fallback)
        return Command(update={**update, "messages": [reply], "llm_calls": llm_calls, "fallback": fallback},
                       goto=END)

    async def finalize(state: AgentState) -> dict[str, Any]:
        last = state["messages"][-1]
        text, used, removed = check_citations(str(last.content), state["messages"])
        _, settings = await labels.get()
        text, invented = drop_unknown_settings(text, (s for _, s in settings),
                                               (p.get("text", "") for p in retrieved(state["messages"]).values()))
        if invented:
            log.warning("removed %d invented setting name(s) from an LLM answer", len(invented))
        done(get_stream_writer(), used, removed, route=state.get("route"), intent=state.get("intent"),
             llm_calls=state.get("llm_calls", 0), fallback=state.get("fallback"))
        if text != last.content:
            return {"messages": [AIMessage(content=text, id=last.id)]}
        return {}

    graph = StateGraph(AgentState, context_schema=Context)
    graph.add_node("agent", agent, destinations=("tools", "finalize", END))
    graph.add_node("tools", tool_node)
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "agent")
    graph.add_edge("tools", "agent")
    graph.add_edge("finalize", END)
    compiled = graph.compile(checkpointer=checkpointer, store=store, name="privyloop")
    return compiled.with_config(recursion_limit=limits.recursion_limit)
