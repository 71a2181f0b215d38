"""Export and erase: everything about a user comes out, and erase leaves no row of theirs anywhere."""

from __future__ import annotations

import json

import pytest

from ingest.scans import submit_scan
from memory.catalog_store import load_platform
from memory.errors import Conflict
from memory.users import USER_TABLES, create_user, erase_user, export_user
from tests.memory.helpers import DEFAULTS, T0, acme, acme_with, days, scan


async def _two_users_with_history(conn, settings):
    await load_platform(conn, acme(), at=T0 - days(5))
    a = (await create_user(conn, "a@example.com"))["id"]
    b = (await create_user(conn, "b@example.com"))["id"]
    for u in (a, b):
        await submit_scan(conn, u, scan(DEFAULTS), settings)
        await submit_scan(conn, u, scan({**DEFAULTS, "two_step": "on"}, at=T0 + days(1),
                                        extra=[{"label": "Beta feature", "value": "on"}]), settings)
    await load_platform(conn, acme_with(two_step={"weight": 3}), at=T0 + days(2))
    return a, b


async def test_export_holds_every_table_and_is_json(conn, settings):
    a, _ = await _two_users_with_history(conn, settings)
    doc = await export_user(conn, a)
    assert {t for t, _ in USER_TABLES} <= set(doc)
    assert len(doc["scans"]) == 2 and len(doc["settings_history"]) == 2
    assert all(row["user_id"] == a for row in doc["change_events"])
    json.dumps(doc, default=str)


async def test_erase_removes_every_row_of_the_user_and_only_theirs(conn, settings):
    a, b = await _two_users_with_history(conn, settings)
    await erase_user(conn, a)
    # Look through every column of every table for the erased id.
    columns = await (await conn.execute(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND data_type IN ('uuid', 'jsonb', 'text')""")).fetchall()
    for c in columns:
        hit = await (await conn.execute(
            f'SELECT count(*) AS n FROM "{c["table_name"]}" WHERE "{c["column_name"]}"::text LIKE %s',
            (f"%{a}%",))).fetchone()
        assert hit["n"] == 0, f'{c["table_name"]}.{c["column_name"]} still mentions the user'
    left = await (await conn.execute("SELECT count(*) AS n FROM scans WHERE user_id = %s", (b,))).fetchone()
    assert left["n"] == 2


async def test_every_table_with_a_user_id_is_known_to_erase(conn):
    rows = await (await conn.execute(
        """SELECT table_name FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name = 'user_id'""")).fetchall()
    assert {r["table_name"] for r in rows} <= {t for t, _ in USER_TABLES}


async def test_duplicate_email_is_refused(conn):
    await create_user(conn, "dup@example.com")
    with pytest.raises(Conflict, match="already exists"):
        await create_user(conn, "DUP@example.com")
