"""Who changed what: the user, the platform, or (suspected) the platform silently (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memory.structure import PlatformChange, Structure, direction_of, impact_for


@dataclass(frozen=True)
class ChangeEvent(PlatformChange):
    """A change as one user sees it: the platform-level fields plus who made it."""

    attribution: str = "user"


def _event(kind: str, attribution: str, key: str, label: str, before: Any, after: Any, direction: str,
           impact: str, summary: str) -> ChangeEvent:
    return ChangeEvent(kind, key, label, before, after, direction, impact, summary, attribution=attribution)


def attribute_scan(
    before: Mapping[str, str] | None,
    after: Mapping[str, str],
    structure: Structure,
    platform_changes: list[PlatformChange],
) -> list[ChangeEvent]:
    """Events for one scan against the previous state; platform_changes are those since that state.

    A first scan is a baseline and yields no events. Template-level changes were already announced to every
    user when the version was created, so they are not repeated here, except that a value which moved from
    the old default to the new one together with a default change is the platform's doing.
    """
    if before is None:
        return []
    by_kind: dict[str, set[str]] = {}
    defaults: dict[str, PlatformChange] = {}
    for change in platform_changes:
        by_kind.setdefault(change.kind, set()).add(change.key)
        if change.kind == "platform_default_changed":
            defaults[change.key] = change
    events: list[ChangeEvent] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        setting = structure.get(key)
        label = setting.label if setting else key
        weight = setting.weight if setting else 0
        if old is not None and new is not None:
            direction = direction_of(setting, old, new) if setting else "neutral"
            flipped = defaults.get(key)
            if flipped is not None and old == flipped.before and new == flipped.after:
                events.append(_event(
                    "user_setting_changed", "platform", key, label, old, new, direction,
                    impact_for(direction, weight),
                    f"{label} changed from '{old}' to '{new}' when the platform changed its default",
                ))
            else:
                events.append(_event(
                    "user_setting_changed", "user", key, label, old, new, direction,
                    impact_for(direction, weight), f"{label} changed from '{old}' to '{new}'",
                ))
        elif new is None:
            if key in by_kind.get("platform_setting_removed", ()):
                continue
            events.append(_event(
                "setting_not_shown", "platform", key, label, old, None, "neutral", "low",
                f"{label} was not shown on your settings page in this scan (last seen as '{old}')",
            ))
        else:
            if key in by_kind.get("platform_setting_added", ()):
                continue
            direction = "more_exposed" if setting and setting.exposure_of(new) else "neutral"
            events.append(_event(
                "setting_shown", "platform", key, label, None, new, direction, impact_for(direction, weight),
                f"{label} appeared on your settings page, set to '{new}'",
            ))
    return events
