"""Background upkeep for a serving process.

- scan records past their retention are pruned at start-up and daily;
- every template version that lacks its analysis (a catalog reload, or a version made by users' agreeing
  pages) gets it, once: the analysis is keyed by its inputs' hash, so a round with nothing new costs a few
  reads and no model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from memory.retention import prune_scan_records

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 24 * 3600
ANALYSE_EVERY_SECONDS = 600
ANALYSE_FIRST_AFTER_SECONDS = 30  # let start-up and the first requests go first


async def prune_once(app: FastAPI) -> int:
    days = app.state.settings.scan_record_retention_days
    async with app.state.db.connection() as conn:
        pruned = await prune_scan_records(conn, datetime.now(UTC) - timedelta(days=days))
    if pruned:
        log.info("pruned scan records", extra={"pruned": pruned, "keep_days": days})
    return pruned


async def _safe_prune(app: FastAPI) -> None:
    try:
        await prune_once(app)
    except Exception:  # noqa: BLE001 - upkeep must never take the server down; the next round retries
        log.exception("scan record pruning failed")


async def _loop(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
        await _safe_prune(app)


async def analyse_once(app: FastAPI) -> int:
    """Analyse each platform's current template version if it has not been; returns how many were new."""
    from ingest.analysis import analyse_all, gemini_model
    from ingest.reembed import configured_embedder

    embedder = getattr(app.state, "embedder", None)
    if embedder is None:
        embedder = app.state.embedder = await asyncio.to_thread(configured_embedder, app.state.settings)
    async with app.state.db.connection() as conn:
        outcomes = await analyse_all(conn, embedder=embedder, model=gemini_model(app.state.settings))
    return sum(1 for o in outcomes if o.source != "cache")


async def _analysis_loop(app: FastAPI) -> None:
    await asyncio.sleep(ANALYSE_FIRST_AFTER_SECONDS)
    while True:
        try:
            await analyse_once(app)
        except Exception:  # noqa: BLE001 - a failed round (model down) is retried on the next one
            log.exception("template analysis round failed")
        await asyncio.sleep(ANALYSE_EVERY_SECONDS)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await _safe_prune(app)  # once at start-up, then daily
    tasks = [asyncio.create_task(_loop(app), name="privyloop-prune"),
             asyncio.create_task(_analysis_loop(app), name="privyloop-analysis")]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
