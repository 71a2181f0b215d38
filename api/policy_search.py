"""Policy search for the API: the ingest side's hybrid search when installed, else full-text over the same
chunks (the response says which ran, so a client never mistakes one for the other)."""

from __future__ import annotations

import importlib
from typing import Any

from memory.db import Conn


async def search(conn: Conn, q: str, *, platform: str | None, k: int) -> dict[str, Any]:
    try:
        hybrid = importlib.import_module("ingest.retrieval").hybrid_search
    except (ModuleNotFoundError, AttributeError):
        hybrid = None
    if hybrid is not None:
        return {"mode": "hybrid", "results": await hybrid(conn, q, platform=platform, k=k)}
    import numpy as np

    from memory.retrieval import search_chunks

    rows = await search_chunks(conn, qvec=np.zeros(384, dtype=np.float32), model="", fts_query=q,
                               platform=platform, k=k, mode="fulltext")
    return {"mode": "fulltext", "results": rows}
