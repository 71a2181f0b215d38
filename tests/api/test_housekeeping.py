"""A serving process prunes scan records past their retention, and keeps everything else."""

from __future__ import annotations

from api.app import create_app
from ingest.scans import submit_scan
from memory import state
from memory.catalog_store import load_platform
from memory.users import create_user
from tests.memory.helpers import DEFAULTS, T0, acme, days, scan


async def test_server_start_prunes_old_scan_records(settings):
    app = create_app(settings, optional_modules=("api.housekeeping",))
    async with app.router.lifespan_context(app):
        async with app.state.db.connection() as conn:
            await load_platform(conn, acme(), at=T0 - days(1))
            user = (await create_user(conn, "keep@example.com"))["id"]
            await submit_scan(conn, user, scan(DEFAULTS), settings)
            await submit_scan(conn, user, scan({**DEFAULTS, "two_step": "on"}, at=T0 + days(1)), settings)
            await conn.execute("UPDATE scans SET received_at = now() - interval '30 days'")
    # A new process starts its upkeep at once.
    app = create_app(settings, optional_modules=("api.housekeeping",))
    async with app.router.lifespan_context(app):
        from api.housekeeping import prune_once

        assert await prune_once(app) == 0  # the start-up round already did the work
        async with app.state.db.connection() as conn:
            left = await (await conn.execute("SELECT count(*) AS n FROM scans")).fetchone()
            assert left["n"] == 0
            assert len(await state.changes(conn, user)) == 1


async def test_upkeep_analyses_a_template_version_once(settings, tmp_path):
    from api.housekeeping import analyse_once
    from ingest.pipeline import ingest_policy
    from tests.memory.helpers import acme_with

    policy = tmp_path / "acme.md"
    policy.write_text("# Acme privacy policy\n\n## What we collect\n\nWe collect your location and contacts.\n\n"
                      "## Sharing\n\nWe do not sell your personal information to anyone.\n")
    app = create_app(settings, optional_modules=("api.housekeeping",))
    async with app.router.lifespan_context(app):
        async with app.state.db.connection() as conn:
            await load_platform(conn, acme(), at=T0 - days(1))
            await ingest_policy(conn, policy, platform="acme")
        await analyse_once(app)  # whatever ingest left to do
        assert await analyse_once(app) == 0  # nothing new: no work
        async with app.state.db.connection() as conn:
            await load_platform(conn, acme_with(two_step={"weight": 5}), at=T0)  # a new template version
        assert await analyse_once(app) == 1
        assert await analyse_once(app) == 0
