"""The platform catalog: curated settings, defaults, weights and explanations, loaded from data files."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from memory.errors import CatalogInvalid

CATALOG_DIR = Path(__file__).parent / "platforms"

RiskCategory = Literal[
    "location",
    "activity_tracking",
    "advertising",
    "data_sharing",
    "ai_training",
    "visibility",
    "biometrics",
    "voice_audio",
    "contacts",
    "messaging",
    "account_security",
    "children",
]


class Option(BaseModel):
    """One choice of a select setting; exposure 0 is the most private, 1 the most exposed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: str = Field(min_length=1, max_length=80)
    label: str = Field(min_length=1, max_length=120)
    exposure: float = Field(ge=0.0, le=1.0)


class Explanation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    controls: str = Field(min_length=20)
    exposure: str = Field(min_length=20, description="what leaks while the exposed value is set")
    tradeoff: str = Field(min_length=10, description="what the user loses with the protective value")


class SettingDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    label: str = Field(min_length=2, max_length=160)
    section: str = Field(min_length=2, max_length=120)
    type: Literal["toggle", "select"]
    options: tuple[Option, ...] = ()
    default: str
    protective: str
    recommended: str | None = None
    risk: RiskCategory
    weight: int = Field(ge=1, le=10)
    explanation: Explanation
    deep_link: str = Field(pattern=r"^https://")

    @model_validator(mode="after")
    def _check_values(self) -> SettingDef:
        if self.type == "toggle":
            if self.options:
                raise ValueError(f"{self.key}: toggles take no options (their values are 'on' and 'off')")
            allowed = {"on", "off"}
        else:
            if len(self.options) < 2:
                raise ValueError(f"{self.key}: a select needs at least two options")
            allowed = {o.value for o in self.options}
            if len(allowed) != len(self.options):
                raise ValueError(f"{self.key}: option values must be unique")
        for name in ("default", "protective", "recommended"):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"{self.key}: {name} {value!r} is not one of {sorted(allowed)}")
        return self

    @property
    def values(self) -> tuple[str, ...]:
        return ("on", "off") if self.type == "toggle" else tuple(o.value for o in self.options)

    @property
    def recommended_value(self) -> str:
        return self.recommended or self.protective

    def exposure_of(self, value: str) -> float:
        """0.0 for the protective value, 1.0 for the most exposed one."""
        if self.type == "toggle":
            return 0.0 if value == self.protective else 1.0
        for option in self.options:
            if option.value == value:
                return option.exposure
        raise KeyError(value)


class PlatformDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    name: str
    privacy_url: str = Field(pattern=r"^https://")
    policy_url: str = Field(pattern=r"^https://")
    catalog_version: str = Field(min_length=1, max_length=40)
    settings: tuple[SettingDef, ...]

    @field_validator("settings")
    @classmethod
    def _unique_keys(cls, settings: tuple[SettingDef, ...]) -> tuple[SettingDef, ...]:
        seen: set[str] = set()
        labels: set[tuple[str, str]] = set()
        for s in settings:
            if s.key in seen:
                raise ValueError(f"duplicate setting key {s.key!r}")
            seen.add(s.key)
            label = (s.section.casefold(), s.label.casefold())
            if label in labels:
                raise ValueError(f"duplicate label {s.label!r} in section {s.section!r}")
            labels.add(label)
        return settings

    def setting(self, key: str) -> SettingDef:
        for s in self.settings:
            if s.key == key:
                return s
        raise KeyError(key)


def structure_hash(settings: list[dict] | tuple[SettingDef, ...]) -> str:
    """Hash of what a settings page shows (keys, labels, sections, types, options, defaults)."""
    rows = []
    for s in settings:
        d = s.model_dump() if isinstance(s, SettingDef) else s
        options = [o["value"] if isinstance(o, dict) else o for o in d.get("options") or ()]
        rows.append([d["key"], d["label"], d["section"], d["type"], options, d["default"]])
    rows.sort()
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def load_platform_file(path: Path) -> PlatformDef:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogInvalid(f"{path.name}: cannot read: {exc}") from exc
    try:
        return PlatformDef.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogInvalid(f"{path.name}: {where}: {first['msg']}") from exc


@lru_cache(maxsize=4)
def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, PlatformDef]:
    """Every platform file in the directory, validated; raises CatalogInvalid on the first bad file."""
    platforms: dict[str, PlatformDef] = {}
    for path in sorted(directory.glob("*.yaml")):
        platform = load_platform_file(path)
        if platform.slug in platforms:
            raise CatalogInvalid(f"{path.name}: platform {platform.slug!r} is defined twice")
        platforms[platform.slug] = platform
    return platforms
