"""Switching embedding model: every stored vector is rewritten by the new model, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from memory import policies as store
from memory.db import Conn
from memory.settings import Settings

if TYPE_CHECKING:
    from ingest.embeddings import Embedder

BATCH = 128


def configured_embedder(settings: Settings, name: str | None = None) -> Embedder:
    """The embedder the settings ask for (MiniLM offline unless a Gemini model is named and keyed)."""
    from ingest.embeddings import get_embedder

    key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None
    return get_embedder(name or settings.embedding_model, gemini_api_key=key,
                        gemini_base_url=settings.gemini_base_url)


async def reembed(conn: Conn, embedder: Embedder,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, int | str]:
    """Re-embed every chunk with `embedder`; searches never see a mix because it all commits at once."""
    async with conn.transaction():
        await store.lock_chunks_for_rewrite(conn)   # ingests wait; searches still read
        total = sum(m["chunks"] for m in await store.embedding_models(conn))
        if await store.column_dimension(conn) != embedder.dim:
            await store.retype_embeddings(conn, embedder.dim)
        done, last = 0, 0
        while rows := await store.chunk_batches(conn, batch=BATCH, after_id=last):
            texts = [f"{r['section']}\n{r['text']}" if r["section"] else r["text"] for r in rows]
            vectors = embedder.embed(texts)
            await store.set_embeddings(conn, [(r["id"], v) for r, v in zip(rows, vectors, strict=True)],
                                       model=embedder.name, dim=embedder.dim)
            done += len(rows)
            last = rows[-1]["id"]
            if progress:
                progress(done, total)
        await store.ensure_vector_index(conn)
    return {"model": embedder.name, "dim": embedder.dim, "chunks": done}
