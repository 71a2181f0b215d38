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
WORDS = re.compile(r"\S+\s*")


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


def compose(plan: Plan | None, messages: Sequence[BaseMessage], fallback: str | None) -> str:
    if plan is not None and plan.text == "ask_platform":
        body = "Which platform should I scan? Name one, for example \"scan my Google settings\"."
    elif plan is not None and plan.intent == "help":
        body = answers.CAPABILITIES
    else:
        results = tool_results(messages)
        body = "\n\n".join(answers.write(name, r) for name, r in results) if results else answers.BEYOND
    if fallback:
        return f"I couldn't reach the AI model just now ({fallback}), so here is what your stored data says.\n\n{body}"
    return body


class OfflineModel(BaseChatModel):
    """Deterministic and local: zero network calls, so the popup's "what changed?" never waits on an LLM."""

    @property
    def _llm_type(self) -> str:
        return "privyloop-offline"

    def _reply(self, messages: list[BaseMessage], plan: Plan | None, action: Action,
               fallback: str | None) -> AIMessage:
        if action == "call" and plan is not None and plan.calls:
            calls = [{"name": n, "args": a, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
                     for n, a in plan.calls]
            return AIMessage(content="", tool_calls=calls)
        return AIMessage(content=compose(plan, messages, fallback))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        reply = self._reply(messages, kwargs.get("plan"), kwargs.get("action", "answer"), kwargs.get("fallback"))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._reply(messages, kwargs.get("plan"), kwargs.get("action", "answer"),
                                              kwargs.get("fallback"))):
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._reply(messages, kwargs.get("plan"), kwargs.get("action", "answer"),
                                              kwargs.get("fallback"))):
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
        # a few words per chunk: streamed like a model's tokens, without a callback per character
        words = WORDS.findall(str(reply.content))
        for i in range(0, len(words), 4):
            yield ChatGenerationChunk(message=AIMessageChunk(content="".join(words[i:i + 4])))
