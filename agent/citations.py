"""Citations in an answer must name passages retrieved in the same turn; others are removed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agent.offline import tool_results, turn_messages

CITE = re.compile(r"\s?\[(P[0-9A-Za-z]+)\]")


def retrieved_in(results: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The passages (by citation id) among this turn's parsed tool results."""
    out: dict[str, dict[str, Any]] = {}
    for name, r in results:
        if name == "search_policy":
            for p in r.get("passages", []):
                out[p["citation_id"]] = p
    return out


def retrieved(messages: Sequence[BaseMessage]) -> dict[str, dict[str, Any]]:
    return retrieved_in(tool_results(turn_messages(messages)))


def check_citations(text: str, messages: Sequence[BaseMessage], *, known: dict[str, dict[str, Any]] | None = None
                    ) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(text without unknown citations, the passages cited, the ids removed). known: the passages retrieved
    in this turn, when the caller has them already; otherwise they are read from the turn's messages."""
    known = retrieved(messages) if known is None else known
    cited = list(dict.fromkeys(CITE.findall(text)))
    removed = [c for c in cited if c not in known]
    if removed:
        text = CITE.sub(lambda m: m.group(0) if m.group(1) in known else "", text)
        text += "\n\n(I removed a citation that did not match any policy passage I retrieved for this answer.)"
    used = [{"citation_id": c, **{k: known[c].get(k) for k in ("platform", "document", "section", "url", "text")}}
            for c in cited if c in known]
    return text, used, removed
