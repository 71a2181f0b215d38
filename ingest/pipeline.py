"""The policy ingest pipeline: fetch → extract → normalise → chunk → embed → store, keyed by content hash."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np

from ingest.chunking import Chunk, chunk, find_sections
from ingest.extract import Extracted, extract
from ingest.fetch import Fetched, fetch
from ingest.policy_diff import diff_sections, section_records, summarise
from memory import policies as store
from memory.db import Conn
from memory.errors import PlatformNotFound
from memory.templates import platform_by_slug

if TYPE_CHECKING:
    from ingest.embeddings import Embedder

# progress(stage, done, total): the CLI turns it into a progress bar; tests may record it.
Progress = Callable[[str, int, int], None]
EMBED_BATCH = 64
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class IngestResult:
    platform: str
    version: int
    chunks: int
    created: bool
    document_id: UUID
    title: str
    changes: dict[str, Any] | None = None
    summary: str | None = None
    users_notified: int = 0
    content_hash: str = ""
    stages: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    fetched: Fetched
    extracted: Extracted
    content_hash: str
    title: str


def prepare(source: str | Path, *, name: str | None = None) -> Prepared:
    """Fetch, extract and normalise; pure apart from reading the source."""
    from ingest.errors import IngestError

    fetched = fetch(source)
    extracted = extract(fetched)
    # Keyed by the normalised text, not the raw bytes: a page whose navigation changed is the same policy.
    digest = hashlib.sha256(extracted.text.encode()).hexdigest()
    title = extracted.title or name or (Path(str(source)).stem if not fetched.url else fetched.url)
    if not title:
        raise IngestError("the document has no title")
    return Prepared(fetched, extracted, digest, title[:300])


def embed_chunks(embedder: Embedder, chunks: list[Chunk], progress: Progress | None = None) -> np.ndarray:
    # The heading travels with the passage: "Retention" + "We keep it for 18 months" is what is asked about.
    texts = [f"{c.section}\n{c.text}" if c.section else c.text for c in chunks]
    parts = []
    for i in range(0, len(texts), EMBED_BATCH):
        parts.append(embedder.embed(texts[i:i + EMBED_BATCH]))
        if progress:
            progress("embed", min(i + EMBED_BATCH, len(texts)), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


async def ingest_policy(conn: Conn, source: str | Path, *, platform: str, name: str | None = None,
                        embedder: Embedder | None = None, progress: Progress | None = None,
                        at: datetime | None = None) -> IngestResult:
    """Store the document as the platform's next policy version unless it equals the latest one.

    Everything is written in one transaction: a failure leaves nothing behind.
    """
    from ingest.errors import IngestError
    from ingest.reembed import configured_embedder
    from ingest.retrieval import check_model
    from memory.settings import get_settings

    if not _SLUG.match(platform):
        raise IngestError(f"'{platform}' is not a platform slug (lowercase letters, digits and dashes)")
    embedder = embedder or configured_embedder(get_settings())
    report = progress or (lambda stage, done, total: None)
    report("fetch", 0, 1)
    prepared = await asyncio.to_thread(prepare, source, name=name)
    report("fetch", 1, 1)

    latest = await _latest_by_slug(conn, platform)
    if latest is not None and latest["content_hash"] == prepared.content_hash:
        return await _unchanged(conn, platform, latest, prepared.content_hash)

    await check_model(conn, embedder)   # one model per table: a mix would make scores meaningless
    text = prepared.extracted.text
    sections = find_sections(text, plain_headings=prepared.extracted.plain_headings, default=prepared.title)
    chunks = chunk(text, sections)
    if not chunks:
        raise IngestError("the document produced no passages to store")
    report("chunk", len(chunks), len(chunks))
    vectors = await asyncio.to_thread(embed_chunks, embedder, chunks, report)
    records = section_records(text, sections)

    async with conn.transaction():
        platform_id = await store.ensure_platform(conn, platform, name)
        await store.lock_platform_policy(conn, platform_id)
        previous = await store.latest_document(conn, platform_id)   # again, under the lock
        if previous is not None and previous["content_hash"] == prepared.content_hash:
            return await _unchanged(conn, platform, previous, prepared.content_hash)
        diff = summary = None
        if previous is not None:
            diff = diff_sections(previous["text"], previous["sections"], text, records)
            summary = summarise(diff)
        url = prepared.fetched.url or await store.platform_policy_url(conn, platform_id)
        when = at or datetime.now(UTC)
        doc = await store.insert_document(
            conn, platform_id, version=(previous["version"] + 1) if previous else 1, title=prepared.title,
            url=url, source=prepared.fetched.source, content_type=prepared.fetched.kind,
            content_hash=prepared.content_hash, text=text, sections=records, changes=diff, at=when)
        await store.insert_chunks(conn, doc["id"], platform_id,
                                  [(c.ord, c.section, c.start, c.end, c.text) for c in chunks], vectors,
                                  model=embedder.name, dim=embedder.dim)
        notified = 0
        if previous is not None and diff is not None and summary is not None:
            notified = await store.fan_out_policy_update(
                conn, platform_id, version_before=previous["version"], version_after=doc["version"],
                document_id=doc["id"], summary=summary, changes=diff, at=when)
        report("store", len(chunks), len(chunks))
    return IngestResult(platform=platform, version=doc["version"], chunks=len(chunks), created=True,
                        document_id=doc["id"], title=prepared.title, changes=diff, summary=summary,
                        users_notified=notified, content_hash=prepared.content_hash)


async def _latest_by_slug(conn: Conn, slug: str) -> dict[str, Any] | None:
    try:
        platform = await platform_by_slug(conn, slug)
    except PlatformNotFound:
        return None
    return await store.latest_document(conn, platform["id"])


async def _unchanged(conn: Conn, platform: str, latest: dict[str, Any], digest: str) -> IngestResult:
    return IngestResult(platform=platform, version=latest["version"],
                        chunks=await store.count_chunks(conn, latest["id"]), created=False,
                        document_id=latest["id"], title=latest["title"], content_hash=digest)
