"""Loading the catalog into Postgres: one template version per changed platform definition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from memory.catalog import PlatformDef
from memory.db import Conn
from memory.errors import TemplateNotFound
from memory.structure import Structure
from memory.templates import create_version, current_template, upsert_platform


@dataclass(frozen=True)
class LoadResult:
    slug: str
    version: int
    created: bool
    changes: int


async def load_platform(conn: Conn, platform: PlatformDef, *, at: datetime | None = None) -> LoadResult:
    """Upsert the platform and add a template version if its catalog entry changed (in one transaction)."""
    async with conn.transaction():
        platform_id = await upsert_platform(conn, platform)
        structure = Structure.from_platform(platform)
        try:
            current = await current_template(conn, platform_id)
            # Settings observed on users' pages and not (yet) curated survive a catalog reload.
            observed = [s for s in current.structure.settings if not s.curated and structure.get(s.key) is None]
            structure = Structure(structure.settings + tuple(observed))
        except TemplateNotFound:
            current = None
        made = await create_version(conn, platform_id, structure, label=platform.catalog_version,
                                    source="catalog", at=at)
        if made is None:
            assert current is not None
            return LoadResult(platform.slug, current.version, False, 0)
        template, changes = made
        return LoadResult(platform.slug, template.version, True, len(changes))
