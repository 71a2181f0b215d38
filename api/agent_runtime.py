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

from memory.settings import Settings

log = logging.getLogger(__name__)


def _default_factory(settings: Settings) -> Callable[..., Any] | None:
    try:
        from agent.graph import build_graph  # the agent package is built, never imported at module load
    except ModuleNotFoundError as exc:
        if exc.name != "agent.graph":
            raise
        log.warning("agent graph not available: run routes answer 503", extra={"component": "agent"})
        return None

    def factory(*, checkpointer: Any, store: Any) -> Any:
        return build_graph(checkpointer=checkpointer, store=store, settings=settings)

    return factory


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
        checkpointer = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        store = AsyncPostgresStore(pool)  # type: ignore[arg-type]
        await checkpointer.setup()
        await store.setup()
        factory = getattr(app.state, "graph_factory", None) or _default_factory(settings)
        app.state.graph = factory(checkpointer=checkpointer, store=store) if factory else None
        app.state.checkpointer, app.state.store = checkpointer, store
        yield
    finally:
        await pool.close()
