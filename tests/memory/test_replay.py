"""Replay: any past state, rebuilt from keyframes and deltas, equals what was submitted then."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from ingest.scans import submit_scan
from memory import state
from memory.catalog_store import load_platform
from memory.db import open_pool
from memory.settings import Settings
from memory.users import create_user
from tests.memory.helpers import T0, acme, days, scan

CHOICES = {
    "location_history": ["on", "off"],
    "ad_personalization": ["on", "off"],
    "post_audience": ["only_me", "friends", "public"],
    "two_step": ["on", "off"],
}

a_page = st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in CHOICES.items()}).filter(bool)
a_history = st.lists(st.tuples(a_page, st.integers(min_value=1, max_value=72)), min_size=1, max_size=14)


async def _run(database_url: str, history: list[tuple[dict[str, str], int]]) -> None:
    # Replay is under test here, not template evolution: no quorum can be reached across examples.
    config = Settings(env="test", database_url=database_url, keyframe_every=3, template_quorum_users=10**6)
    pool = await open_pool(database_url, max_size=2)
    try:
        async with pool.connection() as conn:
            await load_platform(conn, acme(), at=T0 - days(1))
            user = (await create_user(conn, f"{uuid.uuid4().hex}@example.com"))["id"]
            at, submitted = T0, []
            for page, hours in history:
                at = at + days(hours / 24)
                await submit_scan(conn, user, scan(page, at=at), config)
                submitted.append((at, page))
            assert await state.replay_at(conn, user, "acme", T0) is None
            for i, (when, page) in enumerate(submitted):
                got = await state.replay_at(conn, user, "acme", when)
                assert got is not None and got["values"] == page, f"step {i}"
                assert got["entries_read"] <= config.keyframe_every
                # halfway to the next scan the state is still this one
                nxt = submitted[i + 1][0] if i + 1 < len(submitted) else when + days(5)
                mid = await state.replay_at(conn, user, "acme", when + (nxt - when) / 2)
                assert mid is not None and mid["values"] == page
    finally:
        await pool.close()


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=a_history)
def test_replay_equals_what_was_submitted_at_every_point(database_url, history):
    asyncio.run(_run(database_url, history))
