"""How tools answer: short JSON the model (and the offline writer) reads, and errors as one sentence."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

from memory.errors import PrivyLoopError

ATTRIBUTION = {
    "user": "you",
    "platform": "the platform",
    "suspected_platform": "probably the platform (the same flip was seen for many users at once)",
}


class ToolFailed(PrivyLoopError):
    """A tool could not do what was asked; its message is safe to show the model and the user."""

    code = "tool_failed"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


def result(data: dict[str, Any]) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":"))


def tool_error(exc: Exception) -> str:
    """Our own errors become their message; anything else a plain sentence, never a traceback."""
    if isinstance(exc, PrivyLoopError):
        return result({"error": str(exc)})
    return result({"error": "this tool failed unexpectedly; tell the person you could not look it up"})
