"""The platform catalog: real platforms, real settings, every one explained; bad files named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.catalog import CATALOG_DIR, load_catalog, load_platform_file
from memory.errors import CatalogInvalid


def test_catalog_has_enough_platforms_and_settings():
    catalog = load_catalog(CATALOG_DIR)
    assert len(catalog) >= 8
    for slug, platform in catalog.items():
        assert len(platform.settings) >= 15, slug
        assert {s.type for s in platform.settings} == {"toggle", "select"}, slug
        assert len({s.weight for s in platform.settings}) > 2, f"{slug}: weights should differ"


def test_every_setting_is_explained_and_linked():
    for platform in load_catalog(CATALOG_DIR).values():
        for s in platform.settings:
            assert s.explanation.controls and s.explanation.exposure and s.explanation.tradeoff
            assert s.deep_link.startswith("https://")
            assert s.exposure_of(s.protective) == 0.0 or s.type == "select"


def test_a_bad_file_is_named_with_the_field(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "slug: bad\nname: Bad\nprivacy_url: https://x\npolicy_url: https://x\ncatalog_version: '1'\n"
        "settings:\n  - key: a_b\n    label: Ab\n    section: Sec\n    type: toggle\n    default: maybe\n"
        "    protective: 'off'\n    risk: location\n    weight: 3\n"
        "    explanation: {controls: 'controls something long enough', exposure: 'exposes something long enough',"
        " tradeoff: 'you lose a thing'}\n    deep_link: https://x\n"
    )
    with pytest.raises(CatalogInvalid, match=r"bad.yaml: settings.0: .*default 'maybe' is not one of"):
        load_platform_file(bad)
