"""Hybrid passage retrieval over stored policies: the interface the agent and the CLI cite from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.errors import EmbeddingMismatch
from memory.db import Conn
from memory.policies import stored_model
from memory.retrieval import search_chunks

if TYPE_CHECKING:
    from ingest.embeddings import Embedder

# Policies and people name the same practice with different words; full-text search only sees words,
# so a question about "GPS" should also find "geolocation". The vector arm needs no such help.
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"location", "gps", "geolocation", "whereabouts", "precise"}),
    frozenset({"sell", "sale", "sold", "selling", "share", "disclose", "transfer"}),
    frozenset({"delete", "deletion", "erase", "remove", "removal"}),
    frozenset({"retain", "retention", "keep", "store", "stored"}),
    frozenset({"advertising", "ads", "advertisers", "advertisement", "marketing"}),
    frozenset({"children", "child", "kids", "minors", "teens"}),
    frozenset({"police", "government", "law", "enforcement", "subpoena", "warrant"}),
    frozenset({"voice", "audio", "recordings", "microphone"}),
    frozenset({"ai", "model", "models", "training", "train"}),
    frozenset({"cookies", "tracking", "trackers", "pixels"}),
)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is", "it", "me", "my", "of", "on", "or", "the", "their", "they", "this", "to", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your"])


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    text: str
    start: int
    end: int
    section: str
    document: str
    platform: str
    version: int
    url: str | None
    score: float


def fulltext_query(query: str, *, expand: bool = True) -> str:
    """An OR of the question's words (plus privacy synonyms) for websearch_to_tsquery: ranking, not
    an AND that a single unusual word would empty."""
    words = [w for w in _WORD.findall(query.lower()) if w not in _STOP]
    terms = list(dict.fromkeys(words))
    if expand:
        for w in words:
            for group in SYNONYMS:
                if w in group:
                    terms.extend(t for t in sorted(group) if t not in terms)
    return " or ".join(terms)


def strict_query(query: str) -> str:
    """Every word of the question (AND, no synonyms): the selective full-text candidates tried first."""
    return " ".join(dict.fromkeys(w for w in _WORD.findall(query.lower()) if w not in _STOP))


async def check_model(conn: Conn, embedder: Embedder) -> None:
    stored = await stored_model(conn)
    if stored is not None and stored["model"] != embedder.name:
        raise EmbeddingMismatch(
            f"stored chunks are embedded with {stored['model']} ({stored['dim']} dims) but the search uses "
            f"{embedder.name}; run `privyloop reembed` to switch model")


async def hybrid_search(conn: Conn, query: str, *, platform: str | None = None, k: int = 5,
                        embedder: Embedder | None = None, version: int | None = None,
                        mode: str = "hybrid") -> list[Passage]:
    """The k best passages for the question from the latest policy of `platform` (or of every platform)."""
    from ingest.reembed import configured_embedder
    from memory.settings import get_settings

    embedder = embedder or configured_embedder(get_settings())
    if not query.strip():
        return []
    await check_model(conn, embedder)
    rows = await search_chunks(
        conn, qvec=embedder.embed_query(query), model=embedder.name, fts_query=fulltext_query(query),
        fts_all=strict_query(query),
        platform=platform, version=version, k=k, depth=max(40, 8 * k), mode=mode,
    )
    return [Passage(chunk_id=r["chunk_id"], text=r["text"], start=r["start"], end=r["end"], section=r["section"],
                    document=r["document"], platform=r["platform"], version=r["version"], url=r["url"],
                    score=float(r["score"])) for r in rows]
