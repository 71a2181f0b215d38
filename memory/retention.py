"""How long per-scan records are kept: idempotency needs them for a while, history never needs them."""

from __future__ import annotations

from datetime import datetime

from memory.db import Conn


async def prune_scan_records(conn: Conn, older_than: datetime) -> int:
    """Delete scan records received before `older_than`; returns how many went.

    Values, deltas, change events and scores live in their own tables, so replay, changes and scores are
    unaffected. A retry of a pruned scan is still harmless: it is either older than the latest scan (and
    refused as such) or identical to the stored state (and changes nothing).
    """
    cur = await conn.execute("DELETE FROM scans WHERE received_at < %s", (older_than,))
    return cur.rowcount
