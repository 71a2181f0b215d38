"""Conversation checkpoints and long-term memories in Postgres, on the service's own pool."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.types.json import Jsonb

from memory.db import Database

MEMORY_DIMS = 384  # all-MiniLM-L6-v2


class Checkpointer(AsyncPostgresSaver):
    """LangGraph's Postgres saver, serialising checkpoints on the event loop instead of in a worker thread.

    The stock saver hands every checkpoint and every step's writes to asyncio.to_thread. Serialising (msgpack)
    holds the GIL either way, so the thread buys no parallelism; the hand-off itself cost 0.5-1 ms per write
    on the 2-core dev machine (measured: a checkpoint write 1.5 → 0.9 ms, a step's writes 4.4 → 1.8 ms). The
    bodies below are the library's (langgraph-checkpoint-postgres 3.2) without that hand-off; reads, the
    tables and the SQL are the library's own.
    """

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        configurable = config["configurable"].copy()
        thread_id = configurable.pop("thread_id")
        checkpoint_ns = configurable.pop("checkpoint_ns")
        checkpoint_id = configurable.pop("checkpoint_id", None)

        copy = checkpoint.copy()
        copy["channel_values"] = copy["channel_values"].copy()
        next_config: RunnableConfig = {"configurable": {
            "thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "checkpoint_id": checkpoint["id"]}}
        # primitive values are inlined in the checkpoint row, others go to the blobs table
        blob_values = {}
        for k, v in checkpoint["channel_values"].items():
            if isinstance(v, _DeltaSnapshot):
                blob_values[k] = copy["channel_values"].pop(k)
                copy["channel_values"][k] = True
            elif v is None or isinstance(v, (str, int, float, bool)):
                pass
            else:
                blob_values[k] = copy["channel_values"].pop(k)

        async with self._cursor(pipeline=True) as cur:
            if blob_versions := {k: v for k, v in new_versions.items() if k in blob_values}:
                await cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL,
                                      self._dump_blobs(thread_id, checkpoint_ns, blob_values, blob_versions))
            await cur.execute(self.UPSERT_CHECKPOINTS_SQL, (
                thread_id, checkpoint_ns, checkpoint["id"], checkpoint_id, Jsonb(copy),
                Jsonb(get_serializable_checkpoint_metadata(config, metadata))))
        return next_config

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        query = (self.UPSERT_CHECKPOINT_WRITES_SQL if all(w[0] in WRITES_IDX_MAP for w in writes)
                 else self.INSERT_CHECKPOINT_WRITES_SQL)
        c = config["configurable"]
        params = self._dump_writes(c["thread_id"], c["checkpoint_ns"], c["checkpoint_id"], task_id, task_path, writes)
        async with self._cursor(pipeline=True) as cur:
            await cur.executemany(query, params)


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
    checkpointer = Checkpointer(db.pool)
    store = AsyncPostgresStore(db.pool, index={"dims": MEMORY_DIMS, "embed": embed_function(embedder),
                                               "fields": ["text"]})
    if setup:
        await checkpointer.setup()
        await store.setup()
    return checkpointer, store
