"""The agent's runtime for the API: LangGraph's Postgres checkpointer and store on one pool, and the graph.

Entered from api.redis_state.lifespan after the database is open; sets app.state.graph. Tests (and the
benchmarks) may set app.state.graph_factory(checkpointer=..., store=...) before startup to run another graph
on the same persistence.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from memory.db import Database
from memory.settings import Settings

log = logging.getLogger(__name__)


async def _agent_graph(app: Any, pool: AsyncConnectionPool) -> Any:
    """The real agent: the agent package's memory (store with its vector index) and graph, Gemini if keyed."""
    try:
        from agent.graph import build_graph  # the agent package is built, never imported at module load
    except ModuleNotFoundError as exc:
        if exc.name != "agent.graph":
            raise
        log.warning("agent graph not available: run routes answer 503", extra={"component": "agent"})
        return None
    from agent.memory import open_memory
    from agent.models import gemini
    from ingest.embeddings import get_embedder

    settings: Settings = app.state.settings
    embedder = get_embedder(settings.embedding_model)
    checkpointer, store = await open_memory(Database(url=app.state.db.url, pool=pool), embedder=embedder)
    app.state.checkpointer, app.state.store = checkpointer, store
    # Tools query through the service pool; checkpoints go through this runtime's own pool.
    return build_graph(db=app.state.db, checkpointer=checkpointer, store=store, model=gemini(settings),
                       embedder=embedder)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    db = app.state.db
    # A pool of its own: LangGraph holds connections for a whole run step, and must not starve the routes.
    pool: AsyncConnectionPool = AsyncConnectionPool(
        db.url, min_size=1, max_size=settings.db_pool_max, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True, timeout=30)
    try:
        factory: Callable[..., Any] | None = getattr(app.state, "graph_factory", None)
        if factory is not None:
            checkpointer = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            store = AsyncPostgresStore(pool)  # type: ignore[arg-type]
            await checkpointer.setup()
            await store.setup()
            app.state.checkpointer, app.state.store = checkpointer, store
            app.state.graph = factory(checkpointer=checkpointer, store=store)
        else:
            app.state.graph = await _agent_graph(app, pool)
        yield
    finally:
        await pool.close()
