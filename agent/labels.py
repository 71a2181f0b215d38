"""Platform and setting names for the fast path, cached until a template version is added.

Whether a version was added is checked at most every `max_age` seconds (one cheap query), not on every
turn: a new catalog version (rare: a catalog update, a template change seen by the extension) reaches the
fast path's name matching within that time. Everything a tool reports is read fresh; only the recognition
of which platform or setting a question names uses these names.
"""

from __future__ import annotations

import time
from typing import Any

from memory.db import Database
from memory.labels import current_labels, templates_fingerprint
from memory.structure import TemplateSetting

MAX_AGE_SECONDS = 5.0


class LabelIndex:
    def __init__(self, db: Database, *, max_age: float = MAX_AGE_SECONDS) -> None:
        self._db = db
        self._max_age = max_age
        self._key: tuple[Any, ...] | None = None
        self._checked = float("-inf")  # monotonic time of the last fingerprint check
        self._value: tuple[list[tuple[str, str]], list[tuple[str, TemplateSetting]]] = ([], [])

    async def get(self) -> tuple[list[tuple[str, str]], list[tuple[str, TemplateSetting]]]:
        if self._key is not None and time.monotonic() - self._checked < self._max_age:
            return self._value
        async with self._db.connection() as conn:
            key = await templates_fingerprint(conn)
            if key != self._key:
                self._value = await current_labels(conn)
                self._key = key
        self._checked = time.monotonic()
        return self._value

    def invalidate(self) -> None:
        """Check for new template versions on the next turn (after this process loaded one, say)."""
        self._checked = float("-inf")
