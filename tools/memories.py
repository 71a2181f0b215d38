"""Long-term memories the person asked for, in the LangGraph store under ("memories", user_id)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.store.base import BaseStore
from rapidfuzz import fuzz

from memory.structure import normalise_label
from tools.results import result

NOT_BOTHERED = re.compile(r"\b(don'?t|do not|doesn'?t) (mind|care)|\bfine with\b|\bokay with\b|\bok with\b|\bhappy with\b"
                          r"|\bkeep\b|\bleave\b", re.IGNORECASE)


def namespace(user_id: UUID) -> tuple[str, str]:
    return ("memories", str(user_id))


async def memory_texts(store: BaseStore | None, user_id: UUID, query: str | None = None, limit: int = 10) -> list[str]:
    if store is None:
        return []
    items = await store.asearch(namespace(user_id), query=query, limit=limit)
    return [i.value["text"] for i in items if isinstance(i.value, dict) and "text" in i.value]


def waived(notes: list[str], label: str, key: str) -> str | None:
    """The note in which the person said they are fine with this setting as it is, if any."""
    wanted = normalise_label(label)
    for note in notes:
        if not NOT_BOTHERED.search(note):
            continue
        text = normalise_label(note)
        if fuzz.partial_ratio(wanted, text) >= 85 or fuzz.partial_ratio(key.replace("_", " "), text) >= 90:
            return note
    return None


def build_memory_tools() -> list[BaseTool]:
    @tool
    async def remember(note: str, *, runtime: ToolRuntime[Any, Any]) -> str:
        """Remember something the person asked you to keep in mind in later conversations (a preference)."""
        if runtime.store is None:
            return result({"saved": False, "reason": "long-term memory is not configured"})
        note = " ".join(note.split())[:500]
        await runtime.store.aput(namespace(runtime.context.user_id), uuid.uuid4().hex,
                                 {"text": note, "saved_at": datetime.now(UTC).isoformat()})
        return result({"saved": True, "note": note})

    return [remember]
