"""Deltas between two states of a user's settings, and replay from a keyframe (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

State = dict[str, str]


def settings_hash(values: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compute_delta(before: Mapping[str, str] | None, after: Mapping[str, str]) -> dict[str, Any]:
    """Only what changed: keys set to a new value, and keys no longer shown."""
    before = before or {}
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    gone = sorted(k for k in before if k not in after)
    delta: dict[str, Any] = {}
    if changed:
        delta["set"] = dict(sorted(changed.items()))
    if gone:
        delta["unset"] = gone
    return delta


def apply_delta(state: Mapping[str, str], delta: Mapping[str, Any]) -> State:
    out = dict(state)
    for key in delta.get("unset", ()):
        out.pop(key, None)
    out.update(delta.get("set", {}))
    return out


def replay(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> State | None:
    """Fold (kind, body) history entries, oldest first, starting at a keyframe."""
    state: State | None = None
    for kind, body in entries:
        if kind == "keyframe":
            state = dict(body["values"])
        elif state is None:
            raise ValueError("history must start at a keyframe")
        else:
            state = apply_delta(state, body)
    return state
