"""Matching what a settings page showed to a template: values, unknown settings, structural differences."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from memory.errors import ScanRejected
from memory.structure import Structure, TemplateSetting, normalise_label, observed_key

FUZZY_LABEL_MIN = 92  # a near-identical label in the same section ("Web and App Activity" vs "Web & App activity")


@dataclass(frozen=True)
class ScannedSetting:
    label: str
    value: str
    key: str | None = None
    section: str | None = None
    options: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Difference:
    """A way one page differs from the template; enough agreeing users turn it into a new version."""

    kind: str  # added | missing | options
    key: str
    detail: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        blob = json.dumps([self.kind, self.key, self.detail], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class Resolution:
    values: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> label, section, options, reason
    not_shown: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)


def _find(structure: Structure, item: ScannedSetting) -> TemplateSetting | None:
    if item.key and (hit := structure.get(item.key)) is not None:
        return hit
    wanted = normalise_label(item.label)
    section = normalise_label(item.section) if item.section else None
    exact = [s for s in structure.settings if normalise_label(s.label) == wanted]
    if section is not None:
        in_section = [s for s in exact if normalise_label(s.section) == section]
        exact = in_section or exact
    if len(exact) == 1:
        return exact[0]
    if exact or section is None:
        return None
    candidates = {s.key: normalise_label(s.label) for s in structure.settings if normalise_label(s.section) == section}
    best = process.extract(wanted, candidates, scorer=fuzz.ratio, limit=2)
    if best and best[0][1] >= FUZZY_LABEL_MIN and (len(best) == 1 or best[1][1] < FUZZY_LABEL_MIN):
        return structure.get(best[0][2])
    return None


def resolve(structure: Structure, items: list[ScannedSetting]) -> Resolution:
    """Map each scanned setting to a template key; keep and flag what the template does not know."""
    out = Resolution()
    for item in items:
        setting = _find(structure, item)
        if setting is None:
            key = item.key if item.key and item.key.startswith("x_") else observed_key(item.label)
            if key in out.values:
                raise ScanRejected(f"the setting '{item.label}' appears twice in the scan")
            out.values[key] = item.value
            out.unknown[key] = {
                "label": item.label, "section": item.section, "options": list(item.options or ()),
                "reason": "not in template",
            }
            out.differences.append(Difference("added", key, {
                "label": item.label, "section": item.section or "", "options": sorted(item.options or ()),
            }))
            continue
        if setting.key in out.values:
            raise ScanRejected(f"the setting '{setting.label}' appears twice in the scan")
        value = setting.match_value(item.value)
        if value is None:
            out.values[setting.key] = item.value
            out.unknown[setting.key] = {
                "label": setting.label, "section": setting.section, "options": list(item.options or ()),
                "reason": f"value '{item.value}' is not one of the template's options",
            }
        else:
            out.values[setting.key] = value
        if item.options is not None and setting.type == "select":
            shown = sorted(setting.match_value(o) or o for o in item.options)
            if shown != sorted(setting.values):
                out.differences.append(Difference("options", setting.key, {"options": shown}))
    for setting in structure.settings:
        if setting.key not in out.values:
            out.not_shown.append(setting.key)
            out.differences.append(Difference("missing", setting.key, {}))
    return out
