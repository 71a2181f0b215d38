"""The scan pipeline on the real embedded Postgres: values, deltas, events, attribution, scores."""

from __future__ import annotations

import asyncio

import pytest

from ingest.scans import submit_scan
from memory import state
from memory.catalog_store import load_platform
from memory.errors import Conflict, ScanRejected
from memory.users import create_user
from tests.memory.helpers import DEFAULTS, T0, acme, acme_with, days, scan


@pytest.fixture
async def alice(conn):
    await load_platform(conn, acme(), at=T0 - days(30))
    return (await create_user(conn, "alice@example.com"))["id"]


async def test_first_scan_is_a_baseline_with_a_score(conn, settings, alice):
    result = await submit_scan(conn, alice, scan(DEFAULTS), settings)
    assert result["changes"] == []
    # exposure: location 10*1 + ads 6*1 + audience 4*1 + two_step 2*1 = 22 of 22 -> 0
    assert result["score"] == 0
    assert result["template_version"] == 1


async def test_a_user_change_is_attributed_to_the_user_with_impact(conn, settings, alice):
    await submit_scan(conn, alice, scan(DEFAULTS), settings)
    result = await submit_scan(conn, alice, scan({**DEFAULTS, "location_history": "off"}, at=T0 + days(1)),
                               settings)
    [event] = result["changes"]
    assert event["key"] == "location_history"
    assert (event["before"], event["after"]) == ("on", "off")
    assert event["attribution"] == "user"
    assert event["direction"] == "less_exposed" and event["impact"] == "low"
    assert result["score"] == round(100 * 10 / 22)  # 45
    worse = await submit_scan(conn, alice, scan(DEFAULTS, at=T0 + days(2)), settings)
    assert worse["changes"][0]["direction"] == "more_exposed"
    assert worse["changes"][0]["impact"] == "high"  # weight 10


async def test_select_values_match_by_option_label(conn, settings, alice):
    await submit_scan(conn, alice, scan(DEFAULTS), settings)
    result = await submit_scan(conn, alice, scan({**DEFAULTS, "post_audience": "Friends"}, at=T0 + days(1)),
                               settings)
    assert result["changes"][0]["after"] == "friends"


async def test_same_idempotency_key_gives_one_result(conn, settings, alice):
    payload = scan(DEFAULTS, key="scan-0001")
    first = await submit_scan(conn, alice, payload, settings)
    again = await submit_scan(conn, alice, payload, settings)
    assert again["scan_id"] == first["scan_id"] and again["replayed"] is True
    rows = await (await conn.execute("SELECT count(*) AS n FROM scans")).fetchone()
    assert rows["n"] == 1
    with pytest.raises(Conflict):
        await submit_scan(conn, alice, scan({**DEFAULTS, "two_step": "on"}, key="scan-0001"), settings)


async def test_concurrent_scans_of_one_user_serialize(db, settings, alice):
    async def one(i: int):
        async with db.connection() as c:
            return await submit_scan(c, alice, scan({**DEFAULTS, "two_step": "on" if i % 2 else "off"},
                                                    at=T0 + days(1), key=f"parallel-{i:04d}"), settings)

    results = await asyncio.gather(*(one(i) for i in range(6)))
    assert len({r["scan_id"] for r in results}) == 6
    async with db.connection() as c:
        seqs = await (await c.execute("SELECT seq FROM settings_history ORDER BY seq")).fetchall()
    assert [r["seq"] for r in seqs] == list(range(1, len(seqs) + 1))


async def test_empty_scan_is_refused_and_nothing_is_written(conn, settings, alice):
    payload = scan(DEFAULTS)
    payload["settings"] = []
    with pytest.raises(ScanRejected, match="no settings"):
        await submit_scan(conn, alice, payload, settings)
    assert (await (await conn.execute("SELECT count(*) AS n FROM scans")).fetchone())["n"] == 0


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.pop("platform"), "'platform' is a required property"),
    (lambda p: p.update(scanned_at="yesterday"), "scanned_at"),
    (lambda p: p.update(platform="nope"), "unknown platform"),
    (lambda p: p["settings"][0].pop("value"), "settings/0"),
])
async def test_invalid_scans_say_what_is_wrong(conn, settings, alice, mutate, message):
    payload = scan(DEFAULTS)
    mutate(payload)
    with pytest.raises(ScanRejected, match=message):
        await submit_scan(conn, alice, payload, settings)
    assert (await (await conn.execute("SELECT count(*) AS n FROM current_settings")).fetchone())["n"] == 0


async def test_older_scan_than_the_latest_is_refused(conn, settings, alice):
    await submit_scan(conn, alice, scan(DEFAULTS, at=T0 + days(2)), settings)
    with pytest.raises(ScanRejected, match="older"):
        await submit_scan(conn, alice, scan(DEFAULTS, at=T0 + days(1)), settings)


async def test_unknown_settings_are_kept_and_flagged(conn, settings, alice):
    extra = [{"label": "Share data with Acme Labs", "section": "Research", "value": "on"}]
    result = await submit_scan(conn, alice, scan(DEFAULTS, extra=extra), settings)
    assert [u["label"] for u in result["unknown_settings"]] == ["Share data with Acme Labs"]
    [current] = await state.privacy_state(conn, alice, "acme")
    assert current["unknown"][0]["value"] == "on"
    assert result["template_version"] == 1  # one page does not fork the template


async def test_a_setting_missing_from_one_page_is_not_shown_not_removed(conn, settings, alice):
    await submit_scan(conn, alice, scan(DEFAULTS), settings)
    partial = {k: v for k, v in DEFAULTS.items() if k != "ad_personalization"}
    result = await submit_scan(conn, alice, scan(partial, at=T0 + days(1)), settings)
    assert result["not_shown"] == ["ad_personalization"]
    assert result["template_version"] == 1
    [event] = result["changes"]
    assert event["kind"] == "setting_not_shown"
    # The score covers what the page showed: 10 + 4 + 2 exposed of 16.
    assert result["score"] == 0


async def test_quorum_of_users_turns_a_new_setting_into_a_template_version(conn, settings, alice):
    extra = [{"label": "Share data with Acme Labs", "section": "Research", "value": "on"}]
    users = [alice] + [(await create_user(conn, f"u{i}@example.com"))["id"] for i in range(3)]
    for u in users:
        await submit_scan(conn, u, scan(DEFAULTS, at=T0), settings)
    versions = []
    for i, u in enumerate(users[:3]):
        r = await submit_scan(conn, u, scan(DEFAULTS, at=T0 + days(1) + i * days(0.01), extra=extra), settings)
        versions.append(r["template_version"])
    assert versions == [1, 1, 2]  # the third agreeing user of four makes the quorum
    events = await state.changes(conn, users[3])  # a user who never saw it is told too
    assert [e["kind"] for e in events] == ["platform_setting_added"]
    assert events[0]["attribution"] == "platform"
    total = await (await conn.execute(
        "SELECT count(*) AS n FROM change_events WHERE kind = 'platform_setting_added'")).fetchone()
    assert total["n"] == 4


async def test_catalog_default_change_is_computed_once_and_fanned_out(conn, settings, alice):
    bob = (await create_user(conn, "bob@example.com"))["id"]
    await submit_scan(conn, alice, scan({**DEFAULTS, "ad_personalization": "off"}), settings)
    await submit_scan(conn, bob, scan({**DEFAULTS, "ad_personalization": "off"}), settings)
    result = await load_platform(conn, acme_with(ad_personalization={"default": "off", "weight": 8}),
                                 at=T0 + days(1))
    assert result.created and result.version == 2
    rows = await (await conn.execute("SELECT count(*) AS n FROM template_changes")).fetchone()
    assert rows["n"] == 1
    for user in (alice, bob):
        [event] = await state.changes(conn, user)
        assert event["kind"] == "platform_default_changed" and event["attribution"] == "platform"
    # Scores moved to the new weights without a scan: 10 + 4 + 2 exposed of 24.
    summary = await state.scores(conn, alice, "acme")
    assert summary["platforms"][0]["score"] == round(100 * (1 - 16 / 24))
    again = await load_platform(conn, acme_with(ad_personalization={"default": "off", "weight": 8}))
    assert not again.created


async def test_value_following_a_platform_default_change_is_the_platforms_doing(conn, settings, alice):
    await load_platform(conn, acme_with(post_audience={"default": "friends"}), at=T0 - days(20))
    await submit_scan(conn, alice, scan({**DEFAULTS, "post_audience": "friends"}), settings)
    await load_platform(conn, acme(), at=T0 + days(1))  # the platform makes new posts public by default
    result = await submit_scan(conn, alice, scan(DEFAULTS, at=T0 + days(2)), settings)
    [event] = result["changes"]
    assert (event["before"], event["after"]) == ("friends", "public")
    assert event["attribution"] == "platform"
    assert "default" in event["summary"]


async def test_same_flip_for_many_users_is_a_suspected_platform_change(conn, settings, alice):
    users = [alice] + [(await create_user(conn, f"f{i}@example.com"))["id"] for i in range(3)]
    quiet = {**DEFAULTS, "ad_personalization": "off"}
    for u in users:
        await submit_scan(conn, u, scan(quiet), settings)
    results = []
    for i, u in enumerate(users[:3]):
        results.append(await submit_scan(conn, u, scan(DEFAULTS, at=T0 + days(1) + i * days(0.1)), settings))
    assert [r["changes"][0]["attribution"] for r in results] == ["user", "user", "suspected_platform"]
    # the earlier two were re-labelled once the pattern was clear
    for u in users[:3]:
        [event] = await state.changes(conn, u)
        assert event["attribution"] == "suspected_platform"
    # a flip by one user alone, outside the window, stays the user's
    late = await submit_scan(conn, users[3], scan(DEFAULTS, at=T0 + days(10)), settings)
    assert late["changes"][0]["attribution"] == "user"


async def test_score_breakdown_names_top_risks_and_fixes(conn, settings, alice):
    await submit_scan(conn, alice, scan(DEFAULTS), settings)
    summary = await state.scores(conn, alice)
    [p] = summary["platforms"]
    b = p["breakdown"]
    assert [r["key"] for r in b["top_risks"]] == ["location_history", "ad_personalization", "post_audience",
                                                    "two_step"]
    assert b["top_risks"][0]["points_lost"] == round(100 * 10 / 22, 2)
    # recommended post audience is friends (exposure 0.5): all fixed leaves 4*0.5 of 22 exposed
    assert b["score_if_all_fixed"] == round(100 * (1 - 2 / 22))
    # top three fixes: location (10), ads (6), audience (4 -> 2 gained) => 22 - 18 = 4 exposed
    assert b["score_if_top_fixed"] == round(100 * (1 - 4 / 22))
    assert summary["overall"] == p["score"]


async def test_unchanged_scan_writes_no_history_and_keeps_the_score(conn, settings, alice):
    await submit_scan(conn, alice, scan(DEFAULTS), settings)
    await submit_scan(conn, alice, scan(DEFAULTS, at=T0 + days(1)), settings)
    n = await (await conn.execute("SELECT count(*) AS n FROM settings_history")).fetchone()
    s = await (await conn.execute("SELECT count(*) AS n FROM score_history")).fetchone()
    assert (n["n"], s["n"]) == (1, 1)


async def test_pruning_scan_records_keeps_history_changes_and_scores(conn, settings, alice):
    from memory.retention import prune_scan_records

    first = scan(DEFAULTS, key="old-scan-001")
    await submit_scan(conn, alice, first, settings)
    await submit_scan(conn, alice, scan({**DEFAULTS, "location_history": "off"}, at=T0 + days(1)), settings)
    await conn.execute("UPDATE scans SET received_at = now() - interval '40 days'")
    from datetime import UTC, datetime, timedelta

    assert await prune_scan_records(conn, datetime.now(UTC) - timedelta(days=30)) == 2
    assert [c["setting_key"] for c in await state.changes(conn, alice)] == ["location_history"]
    assert (await state.replay_at(conn, alice, "acme", T0))["values"] == DEFAULTS
    # a late retry of the pruned first scan is refused as older, and changes nothing
    with pytest.raises(ScanRejected, match="older"):
        await submit_scan(conn, alice, first, settings)
