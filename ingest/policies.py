"""The policy summaries bundled with PrivyLoop (ingest/policies/<slug>.md), for the demo and fresh installs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.pipeline import IngestResult, ingest_policy
from memory.db import Conn
from memory.policies import platforms_without_policy

if TYPE_CHECKING:
    from ingest.embeddings import Embedder

POLICIES_DIR = Path(__file__).parent / "policies"


def bundled_policy_path(slug: str) -> Path | None:
    path = POLICIES_DIR / f"{slug}.md"
    return path if path.is_file() else None


def bundled_update_path() -> Path:
    """An updated Google policy, used by the demo to show a platform_policy_updated event."""
    return POLICIES_DIR / "updates" / "google-2026-12.md"


async def load_bundled_policies(conn: Conn, *, embedder: Embedder | None = None,
                                at: datetime | None = None) -> list[IngestResult]:
    """Ingest the bundled summary of every platform in the database that has one and no policy yet: a seed
    must never replace a newer policy an operator (or the demo's update) ingested since."""
    from ingest.reembed import configured_embedder
    from memory.settings import get_settings

    embedder = embedder or configured_embedder(get_settings())
    rows = await platforms_without_policy(conn)
    results = []
    for row in rows:
        path = bundled_policy_path(row["slug"])
        if path is not None:
            results.append(await ingest_policy(conn, path, platform=row["slug"], embedder=embedder, at=at))
    return results
