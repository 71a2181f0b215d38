"""Conversation checkpoints and long-term memories in Postgres, on the service's own pool."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore

from memory.db import Database

MEMORY_DIMS = 384  # all-MiniLM-L6-v2


def embed_function(embedder: Any) -> Any:
    """The store's embedding function over our offline embedder (vectors as lists of floats)."""

    def embed(texts: Sequence[str]) -> list[list[float]]:
        return embedder.embed(list(texts)).tolist()

    return embed


async def open_memory(db: Database, *, embedder: Any = None,
                      setup: bool = True) -> tuple[AsyncPostgresSaver, AsyncPostgresStore]:
    """The checkpointer and the vector-indexed store, sharing db's pool (autocommit, dict rows,
    prepare_threshold=0 as both require). setup() creates their tables once; it is idempotent."""
    if embedder is None:
        from ingest.embeddings import get_embedder

        embedder = get_embedder()
    checkpointer = AsyncPostgresSaver(db.pool)
    store = AsyncPostgresStore(db.pool, index={"dims": MEMORY_DIMS, "embed": embed_function(embedder),
                                               "fields": ["text"]})
    if setup:
        await checkpointer.setup()
        await store.setup()
    return checkpointer, store
