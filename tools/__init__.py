"""The agent's tools: thin wrappers over memory/ and ingest/, each reading the user from the run's context."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from memory.db import Database
from tools.memories import build_memory_tools
from tools.policy_tools import build_policy_tools
from tools.results import tool_error
from tools.state_tools import build_state_tools

__all__ = ["build_tools", "tool_error"]


def build_tools(db: Database, *, embedder: Any = None) -> list[BaseTool]:
    """Every tool, bound to this database (no connection is opened until a tool runs)."""
    return [*build_state_tools(db), *build_policy_tools(db, embedder=embedder), *build_memory_tools()]
