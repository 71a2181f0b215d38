"""What the benchmarks share: a throwaway embedded Postgres, a migrated database, percentiles."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from memory.db import Database, EmbeddedPostgres, open_pool, upgrade_schema


@asynccontextmanager
async def fresh_database(pool_size: int = 8) -> AsyncIterator[Database]:
    """A new embedded server in a temp dir, migrated, deleted afterwards: nothing else shares it."""
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="privyloop-bench-")), cleanup_mode="delete")
    url = server.start()
    try:
        upgrade_schema(url)
        pool = await open_pool(url, max_size=pool_size, min_size=pool_size)
        try:
            yield Database(url=url, pool=pool, embedded=server)
        finally:
            await pool.close()
    finally:
        server.stop()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]
