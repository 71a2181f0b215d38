"""The graph's state: the conversation plus a few per-turn counters the guardrails need."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import MessagesState

Route = Literal["fast", "llm"]


class AgentState(MessagesState, total=False):
    route: Route | None  # chosen once per turn: the offline fast path or the LLM
    intent: str | None
    steps: int  # model steps in this turn (bounded)
    llm_calls: int  # LLM requests in this turn (the fast path must keep this at 0)
    fallback: str | None  # why the LLM was abandoned in this turn, if it was
