"""A template's settings structure and the platform-made differences between two versions (pure)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from memory.catalog import PlatformDef, SettingDef


def normalise_label(label: str) -> str:
    text = unicodedata.normalize("NFKC", label).casefold().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def observed_key(label: str) -> str:
    """The key an uncatalogued setting gets, stable across users and versions."""
    slug = normalise_label(label).replace(" ", "_")[:48].strip("_") or "setting"
    return f"x_{slug}"


@dataclass(frozen=True)
class TemplateSetting:
    """One setting of a template version: catalog-curated, or observed on users' pages."""

    key: str
    label: str
    section: str
    type: str
    options: tuple[dict[str, Any], ...]
    default: str | None
    protective: str | None
    recommended: str | None
    risk: str | None
    weight: int
    explanation: dict[str, str] | None
    deep_link: str | None
    curated: bool = True

    @classmethod
    def from_catalog(cls, s: SettingDef) -> TemplateSetting:
        return cls(
            key=s.key, label=s.label, section=s.section, type=s.type,
            options=tuple(o.model_dump() for o in s.options), default=s.default,
            protective=s.protective, recommended=s.recommended, risk=s.risk, weight=s.weight,
            explanation=s.explanation.model_dump(), deep_link=s.deep_link, curated=True,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TemplateSetting:
        return cls(**{**d, "options": tuple(d.get("options") or ())})

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "options": list(self.options)}

    @property
    def values(self) -> tuple[str, ...]:
        return ("on", "off") if self.type == "toggle" else tuple(o["value"] for o in self.options)

    @property
    def recommended_value(self) -> str | None:
        return self.recommended or self.protective

    def exposure_of(self, value: str | None) -> float | None:
        """0.0 protective .. 1.0 most exposed; None where the value or the setting is not rated."""
        if value is None or self.protective is None:
            return None
        if self.type == "toggle":
            return 0.0 if value == self.protective else (1.0 if value in ("on", "off") else None)
        for option in self.options:
            if option["value"] == value:
                return float(option["exposure"])
        return None

    def match_value(self, raw: str) -> str | None:
        """The template's value for what a page showed (a value or an option's label), else None."""
        if raw in self.values:
            return raw
        wanted = normalise_label(raw)
        if self.type == "toggle":
            return {"on": "on", "true": "on", "enabled": "on", "off": "off", "false": "off", "disabled": "off"}.get(
                wanted
            )
        for option in self.options:
            if normalise_label(option["label"]) == wanted or normalise_label(option["value"]) == wanted:
                return option["value"]
        return None


@dataclass(frozen=True)
class Structure:
    settings: tuple[TemplateSetting, ...]
    by_key: dict[str, TemplateSetting] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {s.key: s for s in self.settings})

    @classmethod
    def from_platform(cls, platform: PlatformDef) -> Structure:
        return cls(tuple(TemplateSetting.from_catalog(s) for s in platform.settings))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Structure:
        return cls(tuple(TemplateSetting.from_dict(d) for d in data["settings"]))

    def to_json(self) -> dict[str, Any]:
        return {"settings": [s.to_dict() for s in self.settings]}

    def content_hash(self) -> str:
        """Hash of everything a template version is: structure, weights and explanations."""
        blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> TemplateSetting | None:
        return self.by_key.get(key)


@dataclass(frozen=True)
class PlatformChange:
    """One platform-made difference between two template versions."""

    kind: str  # platform_setting_added | _removed | _renamed | platform_default_changed | platform_options_changed
    key: str
    label: str
    before: Any
    after: Any
    direction: str
    impact: str
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def impact_for(direction: str, weight: int) -> str:
    """More exposure on a heavy setting is high impact; any move towards privacy is low."""
    if direction != "more_exposed":
        return "low"
    if weight >= 7:
        return "high"
    return "medium" if weight >= 4 else "low"


def direction_of(setting: TemplateSetting, before: str | None, after: str | None) -> str:
    b, a = setting.exposure_of(before), setting.exposure_of(after)
    if a is None or b is None or a == b:
        return "neutral"
    return "more_exposed" if a > b else "less_exposed"


def diff_structures(old: Structure, new: Structure) -> list[PlatformChange]:
    """What the platform changed between two versions, setting by setting, in a stable order."""
    changes: list[PlatformChange] = []
    for s in new.settings:
        prev = old.get(s.key)
        if prev is None:
            exposure = s.exposure_of(s.default)
            direction = "more_exposed" if exposure else "neutral"
            changes.append(PlatformChange(
                "platform_setting_added", s.key, s.label, None, s.default, direction,
                impact_for(direction, s.weight),
                f"{s.label} ({s.section}) was added" + (f", set to '{s.default}' by default" if s.default else ""),
            ))
            continue
        if prev.label != s.label or prev.section != s.section:
            changes.append(PlatformChange(
                "platform_setting_renamed", s.key, s.label, {"label": prev.label, "section": prev.section},
                {"label": s.label, "section": s.section}, "neutral", "low",
                f"'{prev.label}' is now called '{s.label}' ({s.section})",
            ))
        if prev.values != s.values:
            added = [v for v in s.values if v not in prev.values]
            removed = [v for v in prev.values if v not in s.values]
            changes.append(PlatformChange(
                "platform_options_changed", s.key, s.label, list(prev.values), list(s.values), "neutral", "low",
                f"{s.label}: options changed" + (f"; added {', '.join(added)}" if added else "")
                + (f"; removed {', '.join(removed)}" if removed else ""),
            ))
        if prev.default != s.default:
            direction = direction_of(s, prev.default, s.default)
            changes.append(PlatformChange(
                "platform_default_changed", s.key, s.label, prev.default, s.default, direction,
                impact_for(direction, s.weight),
                f"{s.label}: the platform's default changed from '{prev.default}' to '{s.default}'",
            ))
    for s in old.settings:
        if new.get(s.key) is None:
            changes.append(PlatformChange(
                "platform_setting_removed", s.key, s.label, s.default, None, "neutral", "low",
                f"{s.label} ({s.section}) was removed from the settings page",
            ))
    return changes
