"""Agent fixtures: the acme platform, users with a scan history, a policy, and graphs with Postgres memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.context import Context
from agent.graph import Limits, build_graph
from agent.memory import open_memory
from agent.run import Turn, ask
from ingest.embeddings import MiniLMEmbedder
from ingest.scans import submit_scan
from memory.catalog_store import load_platform
from memory.users import create_user
from tests.memory.helpers import DEFAULTS, T0, acme, acme_with, days, scan

ACME_POLICY = """# Acme Privacy Policy

## Location data

We use GPS signals and Wi-Fi access points to estimate where your device is. Precise location is
only collected when you turn on Location History for the Acme app.

## Sharing with advertisers

We do not sell your personal information. We share aggregated, de-identified statistics with
advertising partners so they can measure how their campaigns perform.

## Data retention

We keep your search history for 18 months, after which it is anonymised. Account data is kept
until you delete your account.
"""


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture
async def world(conn, settings) -> dict[str, Any]:
    """Alice has three weeks of acme history: a baseline, her own change, then the platform's default flip;
    Bob has different values, so a leak of his data would show."""
    await load_platform(conn, acme(), at=T0 - days(30))
    alice = (await create_user(conn, "alice@example.com", tier="pro"))["id"]
    bob = (await create_user(conn, "bob@example.com"))["id"]
    await submit_scan(conn, alice, scan(DEFAULTS, at=T0), settings)
    await submit_scan(conn, alice, scan({**DEFAULTS, "location_history": "off"}, at=T0 + days(1)), settings)
    await submit_scan(conn, bob, scan({**DEFAULTS, "two_step": "on", "post_audience": "friends"}, at=T0), settings)
    return {"alice": alice, "bob": bob}


async def add_policy(conn, embedder, text: str = ACME_POLICY, *, tmp: Path, name: str = "acme.md") -> Any:
    from ingest.pipeline import ingest_policy

    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return await ingest_policy(conn, path, platform="acme", embedder=embedder)


@pytest.fixture
async def memory(db, embedder):
    return await open_memory(db, embedder=embedder)


@pytest.fixture
async def graph(db, memory, embedder):
    checkpointer, store = memory
    return build_graph(db=db, checkpointer=checkpointer, store=store, embedder=embedder)


class Chat:
    """One user's conversation in one thread."""

    def __init__(self, graph: Any, db: Any, user_id: uuid.UUID, *, channel: str = "chat") -> None:
        self.graph, self.db = graph, db
        self.context = Context(user_id=user_id, tier="pro", channel=channel)  # type: ignore[arg-type]
        self.thread_id = uuid.uuid4()

    async def __call__(self, message: str, **kw: Any) -> Turn:
        return await ask(self.graph, thread_id=self.thread_id, message=message, context=self.context, db=self.db,
                         **kw)


@pytest.fixture
def chat(graph, db, world) -> Chat:
    return Chat(graph, db, world["alice"])


__all__ = ["ACME_POLICY", "DEFAULTS", "T0", "Chat", "Limits", "acme_with", "add_policy", "days", "scan"]


@pytest.fixture
async def alice_chat(graph, db, world) -> AsyncIterator[Chat]:
    yield Chat(graph, db, world["alice"])
