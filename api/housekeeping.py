"""Background upkeep for a serving process: scan records past their retention are pruned daily."""

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


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await _safe_prune(app)  # once at start-up, then daily
    task = asyncio.create_task(_loop(app), name="privyloop-housekeeping")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
