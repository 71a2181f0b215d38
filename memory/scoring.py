"""The settings score: 0 (fully exposed) to 100 (fully private), from template weights and user values.

docs/scoring.md states the same rubric so anyone can recompute a score by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from memory.structure import Structure

TOP_RISKS = 5
TOP_FIXES = 3


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


@dataclass(frozen=True)
class Contribution:
    key: str
    label: str
    value: str
    recommended: str | None
    weight: int
    exposure: float
    points_lost: float  # 100 * weight * exposure / total weight
    deep_link: str | None


@dataclass
class ScoreResult:
    score: int | None
    total_weight: int
    contributions: list[Contribution] = field(default_factory=list)
    unscored: list[str] = field(default_factory=list)  # shown but not rated (unknown setting or value)
    top_risks: list[Contribution] = field(default_factory=list)
    score_if_top_fixed: int | None = None
    score_if_all_fixed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _score(weighted_exposure: float, total_weight: int) -> int | None:
    if total_weight == 0:
        return None
    return round_half_up(100.0 * (1.0 - weighted_exposure / total_weight))


def score_settings(structure: Structure, values: Mapping[str, str]) -> ScoreResult:
    """Score = round(100 * (1 - sum(weight * exposure) / sum(weight))) over the rated settings shown."""
    rated: list[tuple[int, float, float, Contribution]] = []
    unscored: list[str] = []
    for key, value in values.items():
        setting = structure.get(key)
        exposure = setting.exposure_of(value) if setting else None
        if setting is None or exposure is None or setting.weight == 0:
            unscored.append(key)
            continue
        rec = setting.recommended_value
        rec_exposure = setting.exposure_of(rec)
        rated.append((setting.weight, exposure, exposure if rec_exposure is None else min(exposure, rec_exposure),
                      Contribution(key, setting.label, value, rec, setting.weight, exposure, 0.0, setting.deep_link)))
    total = sum(w for w, *_ in rated)
    contributions = [
        Contribution(**{**asdict(c), "points_lost": round(100.0 * w * e / total, 2) if total else 0.0})
        for w, e, _, c in rated
    ]
    contributions.sort(key=lambda c: (-c.points_lost, c.key))
    risks = [c for c in contributions if c.points_lost > 0 and c.value != c.recommended][:TOP_RISKS]
    exposure_now = sum(w * e for w, e, _, _ in rated)
    fixed_gain = {c.key: c.weight * (c.exposure - (structure.get(c.key).exposure_of(c.recommended) or 0.0))
                  for c in risks if c.recommended is not None}
    top = sorted(fixed_gain.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FIXES]
    all_fixed = sum(w * f for w, _, f, _ in rated)
    return ScoreResult(
        score=_score(exposure_now, total),
        total_weight=total,
        contributions=contributions,
        unscored=sorted(unscored),
        top_risks=risks,
        score_if_top_fixed=_score(exposure_now - sum(g for _, g in top), total),
        score_if_all_fixed=_score(all_fixed, total),
    )


def overall_score(platform_scores: Iterable[int | None]) -> int | None:
    """The mean of the platform scores that exist, rounded half up."""
    scores = [s for s in platform_scores if s is not None]
    return round_half_up(sum(scores) / len(scores)) if scores else None
