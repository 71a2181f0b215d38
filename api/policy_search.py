"""Policy search for the API: the ingest side's hybrid search (vectors + full text), with the embedder
loaded once per app and the query embedded off the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import Request

from memory.db import Conn
from memory.settings import Settings


async def _embedder(request: Request, settings: Settings) -> Any:
    embedder = getattr(request.app.state, "embedder", None)
    if embedder is None:
        from ingest.reembed import configured_embedder

        embedder = await asyncio.to_thread(configured_embedder, settings)
        request.app.state.embedder = embedder
    return embedder


class _Embedded:
    """An embedder whose query vector was computed already (in a thread): hybrid_search stays async-clean."""

    def __init__(self, inner: Any, vector: Any) -> None:
        self.name, self._vector, self._inner = inner.name, vector, inner

    def embed_query(self, _query: str) -> Any:
        return self._vector

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def search(request: Request, conn: Conn, settings: Settings, q: str, *, platform: str | None,
                 k: int) -> dict[str, Any]:
    from ingest.retrieval import hybrid_search

    inner = await _embedder(request, settings)
    vector = await asyncio.to_thread(inner.embed_query, q)
    passages = await hybrid_search(conn, q, platform=platform, k=k, embedder=_Embedded(inner, vector))
    return {"mode": "hybrid", "results": [asdict(p) for p in passages]}
