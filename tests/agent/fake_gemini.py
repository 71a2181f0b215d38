"""A local fake of the Gemini API (generateContent and streamGenerateContent?alt=sse), scripted per test."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Step:
    text: str | None = None
    call: tuple[str, dict[str, Any]] | None = None
    status: int = 200
    delay: float = 0.0


@dataclass
class FakeGemini:
    script: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _body(self, parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if last:
            cand["finishReason"] = "STOP"
        return {"candidates": [cand], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                                        "totalTokenCount": 15}}

    async def handle(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"path": request.url.path, "body": body})
        step = self.script.pop(0) if self.script else Step(text="(no more script)")
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.status != 200:
            status = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}.get(step.status, "UNKNOWN")
            return JSONResponse({"error": {"code": step.status, "message": "scripted failure", "status": status}},
                                status_code=step.status)
        if step.call is not None:
            chunks = [[{"functionCall": {"name": step.call[0], "args": step.call[1]}}]]
        else:
            words = (step.text or "").split(" ")
            third = max(1, len(words) // 3)
            chunks = [[{"text": " ".join(words[i:i + third]) + (" " if i + third < len(words) else "")}]
                      for i in range(0, len(words), third)]
        if "streamGenerateContent" not in request.url.path:
            parts = [p for c in chunks for p in c]
            return JSONResponse(self._body(parts, True))

        async def events():
            for i, parts in enumerate(chunks):
                yield f"data: {json.dumps(self._body(parts, i == len(chunks) - 1))}\n\n"
                await asyncio.sleep(0.005)

        return StreamingResponse(events(), media_type="text/event-stream")

    def app(self) -> Starlette:
        async def route(request: Request) -> Response:
            return await self.handle(request)

        return Starlette(routes=[Route("/v1beta/models/{rest:path}", route, methods=["POST"])])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_fake() -> Iterator[FakeGemini]:
    fake = FakeGemini(port=_free_port())
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=fake.port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=5)
