"""The digest for a user and a period: changes with attribution, score movement, top fixes, cited policy."""

from __future__ import annotations

from agent.digest import build_digest
from memory.catalog_store import load_platform
from tests.agent.conftest import ACME_POLICY, add_policy
from tests.memory.helpers import T0, acme_with, days


async def test_weekly_digest(conn, world, embedder, tmp_path):
    await add_policy(conn, embedder, tmp=tmp_path)
    await load_platform(conn, acme_with(ad_personalization={"default": "off"}), at=T0 + days(2))
    await add_policy(conn, embedder, ACME_POLICY.replace("18 months", "36 months"), tmp=tmp_path, name="v2.md")
    from datetime import UTC, datetime

    d = await build_digest(conn, world["alice"], since=T0 + days(0.5), until=datetime.now(UTC))
    acme_changes = d.changes["acme"]
    assert {(c["setting"], c["changed_by"]) for c in acme_changes} == {
        ("Location History", "you"), ("Personalized ads", "the platform")}
    assert d.score["before"] == 0 and d.score["after"] == 45
    assert [f["setting"] for f in d.fixes] == ["Personalized ads", "Who can see your future posts",
                                               "Two-step verification"]
    assert all(f["deep_link"].startswith("https://acme.example/") for f in d.fixes)
    [update] = d.policy_updates
    assert update["cited"]["section"] == "Data retention"
    assert update["cited"]["sentence"] == "We keep your search history for 36 months, after which it is anonymised."
    assert d.headline.startswith("2 setting changes (1 by the platforms), 1 policy update, score 0 → 45")
    assert f"[{update['cited']['citation_id']}]" in d.text and "Top fixes:" in d.text
