"""Template analysis: one model call per template version, none per scan, none on re-ingest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI

from ingest.analysis import analyse_platform
from ingest.pipeline import ingest_policy
from ingest.scans import submit_scan
from memory.catalog_store import load_platform
from memory.db import Conn
from memory.settings import Settings
from memory.users import create_user
from tests.fakes.gemini import FakeGemini, Reply
from tests.memory.helpers import acme, acme_with, scan


def analysis_reply(body: dict) -> Reply:
    return Reply(json={
        "settings": [{"key": "location_history", "explanation": "ignored: curated", "risk_weight": 3}],
        "recommendations": ["Turn off Location History."],
        "rubric": [{"id": "sells_data", "answer": "Does not sell (model)", "points": 99}],
    })


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini(default=analysis_reply) as fake:
        yield fake


async def test_one_call_per_template_version_none_per_scan_none_on_reingest(
        conn: Conn, acme_policy: Path, embedder, gemini: FakeGemini, settings: Settings) -> None:
    model = ChatGoogleGenerativeAI(model="gemini-2.5-pro", base_url=gemini.url, api_key="test", max_retries=0)
    await load_platform(conn, acme())
    await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder)

    first = await analyse_platform(conn, "acme", embedder=embedder, model=model)
    assert first.model_called and gemini.count("generateContent") == 1
    body = gemini.requests[0][1]
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert "We do not sell your personal information" in body["contents"][0]["parts"][0]["text"]

    # Scans of many users cost no call, nor does asking again, nor re-ingesting the same policy.
    for i in range(3):
        user = await create_user(conn, f"u{i}@example.com")
        await submit_scan(conn, user["id"], scan({"location_history": "on", "ad_personalization": "off",
                                                      "post_audience": "friends", "two_step": "on"}),
                          settings)
    assert not (await analyse_platform(conn, "acme", embedder=embedder, model=model)).model_called
    assert not (await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder)).created
    assert not (await analyse_platform(conn, "acme", embedder=embedder, model=model)).model_called
    assert gemini.count() == 1

    # A new template version: exactly one more call.
    await load_platform(conn, acme_with(ad_personalization={"weight": 9}))
    second = await analyse_platform(conn, "acme", embedder=embedder, model=model)
    assert second.model_called and second.template_version == 2 and gemini.count() == 2

    stored = await (await conn.execute("SELECT version, analysis FROM templates ORDER BY version")).fetchall()
    assert all(r["analysis"] and r["analysis"]["source"] == "gemini:gemini-2.5-pro" for r in stored)
    a = stored[1]["analysis"]
    sells = next(r for r in a["rubric"] if r["id"] == "sells_data")
    assert sells["answer"] == "Does not sell (model)" and sells["points"] == 10   # clamped to the maximum
    location = next(s for s in a["settings"] if s["key"] == "location_history")
    assert location["source"] == "catalog" and location["weight"] == 10        # curated data wins
    assert a["recommendations"] == ["Turn off Location History."]


async def test_without_a_key_the_rubric_is_answered_by_rules_with_citations(
        conn: Conn, acme_policy: Path, embedder) -> None:
    await load_platform(conn, acme())
    await ingest_policy(conn, acme_policy, platform="acme", embedder=embedder, at=datetime(2026, 10, 1, tzinfo=UTC))
    out = await analyse_platform(conn, "acme", embedder=embedder)
    assert not out.model_called and out.source == "rules"
    rubric = {r["id"]: r for r in out.analysis["rubric"]}
    assert len(rubric) == 12
    assert (rubric["sells_data"]["answer"], rubric["sells_data"]["points"]) == ("Does not sell personal data", 10)
    assert rubric["retention_periods"]["answer"] == "Gives specific retention periods"
    assert rubric["deletion"]["answer"] == "Deletion with a stated deadline"
    assert rubric["children"]["answer"] == "Addresses children with an age limit"
    doc = await (await conn.execute("SELECT text FROM policy_documents")).fetchone()
    for r in rubric.values():
        c = r["citation"]
        if c:
            assert doc["text"][c["start"]:c["end"]] == c["quote"]
    assert 0 <= out.analysis["rubric_score"]["score"] <= 10
    # Catalog explanations are kept as they are.
    assert out.analysis["settings"][0]["source"] == "catalog"
