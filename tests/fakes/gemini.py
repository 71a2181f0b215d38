"""A local fake of the Gemini API speaking the real wire protocol, for counting and scripting model calls.

    with FakeGemini() as fake:
        fake.push(Reply(text="hello"), Reply(function_call={"name": "lookup", "args": {"q": "x"}}))
        model = ChatGoogleGenerativeAI(model="gemini-2.5-flash", base_url=fake.url, api_key="test",
                                       max_retries=0)
        ...
        assert fake.count("generateContent") == 1

Replies are served in order; when the script is empty, `default` answers (a Reply, or a function of the
request body returning one). Paths: POST /v1beta/models/{model}:generateContent and
:streamGenerateContent?alt=sse (each SSE event is `data: <json>`, finishReason on the last one only).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

ERROR_STATUS = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class Reply:
    text: str | None = None
    function_call: dict[str, Any] | None = None       # {"name": ..., "args": {...}}
    json: Any = None                                   # structured output: sent as JSON text
    status: int = 200                                  # 429/500/...: answered as a Gemini error body
    delay: float = 0.0                                 # seconds before answering
    chunks: int = 3                                    # how many SSE events a streamed text is split into

    def parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if self.json is not None:
            parts.append({"text": json.dumps(self.json)})
        if self.text is not None:
            parts.append({"text": self.text})
        if self.function_call is not None:
            parts.append({"functionCall": self.function_call})
        return parts or [{"text": ""}]


def _body(parts: list[dict[str, Any]], *, finish: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    return {"candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}


@dataclass
class FakeGemini:
    default: Reply | Callable[[dict[str, Any]], Reply] = field(default_factory=lambda: Reply(text="ok"))
    script: deque[Reply] = field(default_factory=deque)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def count(self, action: str | None = None) -> int:
        """Requests served, all or for one action ('generateContent', 'streamGenerateContent')."""
        return sum(n for key, n in self.counts.items() if action is None or key.endswith(":" + action))

    def _next(self, body: dict[str, Any]) -> Reply:
        if self.script:
            return self.script.popleft()
        return self.default(body) if callable(self.default) else self.default

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1beta/models/{target}")
        async def generate(target: str, request: Request) -> Response:
            body = await request.json()
            model, _, action = target.partition(":")
            self.requests.append((target, body))
            self.counts[f"{model}:{action}"] += 1
            reply = self._next(body)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.status != 200:
                status = ERROR_STATUS.get(reply.status, "UNKNOWN")
                return JSONResponse({"error": {"code": reply.status, "message": reply.text or status,
                                               "status": status}}, status_code=reply.status)
            if action == "streamGenerateContent":
                return StreamingResponse(self._events(reply), media_type="text/event-stream")
            return JSONResponse(_body(reply.parts(), finish=True))

        return app

    async def _events(self, reply: Reply) -> AsyncIterator[bytes]:
        pieces: list[list[dict[str, Any]]] = []
        if reply.text and reply.chunks > 1 and reply.function_call is None and reply.json is None:
            step = max(1, -(-len(reply.text) // reply.chunks))
            pieces = [[{"text": reply.text[i:i + step]}] for i in range(0, len(reply.text), step)]
        else:
            pieces = [reply.parts()]
        for i, parts in enumerate(pieces):
            yield f"data: {json.dumps(_body(parts, finish=i == len(pieces) - 1))}\n\n".encode()

    def start(self) -> FakeGemini:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Gemini server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
