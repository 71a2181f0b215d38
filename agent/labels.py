"""Platform and setting names for the fast path, cached until a template version is added."""

from __future__ import annotations

from typing import Any

from memory.db import Database
from memory.labels import current_labels, templates_fingerprint
from memory.structure import TemplateSetting


class LabelIndex:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: tuple[Any, ...] | None = None
        self._value: tuple[list[tuple[str, str]], list[tuple[str, TemplateSetting]]] = ([], [])

    async def get(self) -> tuple[list[tuple[str, str]], list[tuple[str, TemplateSetting]]]:
        async with self._db.connection() as conn:
            key = await templates_fingerprint(conn)
            if key != self._key:
                self._value = await current_labels(conn)
                self._key = key
        return self._value
