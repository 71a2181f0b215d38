"""Shared fixtures: one embedded PostgreSQL (with pgvector) per run, a fresh database per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from memory.db import Database, EmbeddedPostgres, open_pool, upgrade_schema, with_database
from memory.settings import Settings

TEMPLATE_DB = "privyloop_template"

# Chromium, numpy caches and friends write into HOME and TMPDIR: keep them inside the run.
_RUN_DIR = Path(tempfile.mkdtemp(prefix="privyloop-tests-"))
for _var in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
    os.environ[_var] = str(_RUN_DIR / _var.lower())
    Path(os.environ[_var]).mkdir(mode=0o700, parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(_RUN_DIR / "pg", cleanup_mode="delete")
    server.start()
    admin = server.admin_uri
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    upgrade_schema(with_database(admin, TEMPLATE_DB))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A new database cloned from the migrated template: full isolation for a few milliseconds."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.admin_uri
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    pool = await open_pool(database_url, max_size=6)
    try:
        yield Database(url=database_url, pool=pool)
    finally:
        await pool.close()


@pytest.fixture
async def conn(db: Database) -> AsyncIterator[psycopg.AsyncConnection]:
    async with db.connection() as c:
        yield c
