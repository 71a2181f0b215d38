"""The keyless model: plays a chat model's part in the graph, calling tools from a recognised plan and
writing the answer from their results. It never invents: every sentence comes from a tool or says it can't."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from agent import answers
from agent.intents import Plan

Action = Literal["call", "answer"]
# Streamed pieces: a line, or about this many characters of a long line, ending at a word boundary. A client
# renders lines; a callback per word would cost more CPU than writing the whole answer.
CHUNK_CHARS = 160
PIECES = re.compile(rf"[^\n]{{1,{CHUNK_CHARS}}}\S*\s*|[^\n]*\n+|\S+\s*")


def turn_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages of the current turn: from the last human message on."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return list(messages[i:])
    return list(messages)


def tool_results(messages: Sequence[BaseMessage]) -> list[tuple[str, dict[str, Any]]]:
    """(tool name, parsed result) for the tool messages of this turn, latest per tool."""
    latest: dict[str, dict[str, Any]] = {}
    for m in turn_messages(messages):
        if isinstance(m, ToolMessage) and m.name:
            try:
                latest[m.name] = json.loads(m.content if isinstance(m.content, str) else json.dumps(m.content))
            except json.JSONDecodeError:
                latest[m.name] = {"error": str(m.content)[:200]}
    return list(latest.items())


def compose(plan: Plan | None, messages: Sequence[BaseMessage], fallback: str | None,
            results: list[tuple[str, dict[str, Any]]] | None = None) -> str:
    """The answer from this turn's tool results (results: already parsed from messages)."""
    if plan is not None and plan.text == "ask_platform":
        body = "Which platform should I scan? Name one, for example \"scan my Google settings\"."
    elif plan is not None and plan.intent == "help":
        body = answers.CAPABILITIES
    else:
        results = tool_results(messages) if results is None else results
        body = "\n\n".join(answers.write(name, r) for name, r in results) if results else answers.BEYOND
    if fallback:
        return f"I couldn't reach the AI model just now ({fallback}), so here is what your stored data says.\n\n{body}"
    return body


def tool_call_message(plan: Plan) -> AIMessage:
    """The plan's tool calls as the model's message. The fast path puts it in the graph state directly (no
    chat-model run: there is nothing to stream but an empty message); the tools node runs the calls."""
    return AIMessage(content="", tool_calls=[
        {"name": n, "args": a, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"} for n, a in plan.calls])


class OfflineModel(BaseChatModel):
    """Deterministic and local: zero network calls, so the popup's "what changed?" never waits on an LLM."""

    @property
    def _llm_type(self) -> str:
        return "privyloop-offline"

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        """text=...: the answer already written (and checked) by the graph; otherwise the plan's tool calls
        (action="call") or the answer composed from this turn's tool results."""
        if kwargs.get("text") is not None:
            return AIMessage(content=kwargs["text"])
        plan: Plan | None = kwargs.get("plan")
        if kwargs.get("action", "answer") == "call" and plan is not None and plan.calls:
            return tool_call_message(plan)
        return AIMessage(content=compose(plan, messages, kwargs.get("fallback")))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, kwargs))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._reply(messages, kwargs)):
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._reply(messages, kwargs)):
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    @staticmethod
    def _chunks(reply: AIMessage) -> Iterator[ChatGenerationChunk]:
        if reply.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                for i, c in enumerate(reply.tool_calls)]))
            return
        # line by line (long lines in pieces): streamed like a model's tokens, without a callback per word
        for piece in PIECES.findall(str(reply.content)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
