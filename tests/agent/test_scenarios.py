"""Scenarios on the keyless model: a user's history, a question, and the answer checked against the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ingest.scans import submit_scan
from memory import state as st
from memory.catalog import PlatformDef
from memory.catalog_store import load_platform
from memory.scan_requests import open_requests
from tests.agent.conftest import ACME_POLICY, Chat, add_policy
from tests.memory.helpers import DEFAULTS, T0, acme, acme_with, days, scan

ALICE_NOW = {**DEFAULTS, "location_history": "off"}


async def test_what_changed_names_the_setting_and_who_changed_it(chat, conn, world):
    turn = await chat("What changed?")
    [event] = await st.changes(conn, world["alice"])
    assert turn.route == "fast" and turn.llm_calls == 0
    assert f"{event['setting_label']}: {event['before']} → {event['after']} — changed by you" in turn.text
    assert "less exposed, impact low" in turn.text


async def test_score_with_its_breakdown_matches_the_store(chat, conn, world):
    turn = await chat("what's my privacy score?")
    stored = await st.scores(conn, world["alice"])
    assert f"overall privacy score is {stored['overall']}/100" in turn.text
    top = stored["platforms"][0]["breakdown"]["top_risks"][0]
    assert f"{top['label']} is '{top['value']}' (recommended '{top['recommended']}'): costs {top['points_lost']:g} points" \
        in turn.text
    assert "Fixing the top risks would bring it to" in turn.text


async def test_platform_default_flip_is_attributed_to_the_platform(chat, conn):
    await load_platform(conn, acme_with(ad_personalization={"default": "off"}), at=T0 + days(2))
    turn = await chat("anything new on acme?")
    assert "Personalized ads: the platform's default changed from 'on' to 'off' — changed by the platform" in turn.text


async def test_a_new_setting_added_by_the_platform(chat, conn):
    p = acme().model_dump()
    p["catalog_version"] = "test-3"
    p["settings"] = [*p["settings"], {**p["settings"][1], "key": "face_recognition", "label": "Face recognition",
                          "section": "Photos", "risk": "biometrics"}]
    await load_platform(conn, PlatformDef.model_validate(p), at=T0 + days(2))
    turn = await chat("what changed?")
    assert "Face recognition (Photos) was added" in turn.text and "changed by the platform" in turn.text


async def test_a_weight_change_moves_the_score_and_shows_the_previous_one(chat, conn):
    await load_platform(conn, acme_with(two_step={"weight": 3}), at=T0 + days(2))
    turn = await chat("what is my score now")
    assert "overall privacy score is 43/100" in turn.text and "43/100, was 45" in turn.text


async def test_explain_a_setting_by_its_label(chat):
    turn = await chat("Explain Personalized ads")
    s = acme().setting("ad_personalization")
    assert s.explanation.controls in turn.text and s.explanation.tradeoff in turn.text
    assert "Yours is 'on'; the recommended value is 'off'" in turn.text and s.deep_link in turn.text


async def test_explain_finds_a_setting_said_differently(chat):
    turn = await chat("what does personalised ads mean?")
    assert turn.intent == "explain" and "Personalized ads (acme, Ads)" in turn.text


async def test_a_setting_not_in_the_template_is_not_invented(chat):
    turn = await chat("explain the telepathy broadcast setting")
    assert "I can't find a setting matching" in turn.text
    assert not any(label in turn.text for label in ("Location History", "Personalized ads", "Two-step"))


async def test_fix_plan_orders_by_gain_with_deep_links(chat):
    turn = await chat("how do I fix my settings?")
    lines = [line for line in turn.text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert "Personalized ads: 'on' → 'off' (+28 points). https://acme.example/settings/ads" in lines[0]
    assert "(+10 points)" in lines[1] and "(+10 points)" in lines[2]
    assert "Location History" not in turn.text  # already at the recommended value


async def test_a_remembered_preference_shapes_a_later_fix_plan(graph, db, world):
    first = Chat(graph, db, world["alice"])
    said = await first("Remember that I don't mind personalized ads")
    assert "Noted" in said.text
    later = Chat(graph, db, world["alice"])  # a new conversation
    turn = await later("what should I change?")
    assert "1. Acme Social — Personalized ads" not in turn.text
    assert "Left as they are because you told me so: Personalized ads" in turn.text


async def test_scan_request_is_recorded_and_reported_honestly(chat, conn, world):
    turn = await chat("please rescan acme")
    [row] = await open_requests(conn, world["alice"])
    assert row["platform"] == "acme" and row["status"] == "pending" and row["kind"] == "settings"
    assert "No scan has run yet" in turn.text and "last scan of Acme Social was on 2026-10-02" in turn.text
    again = await chat("scan acme again")
    assert "already requested" in again.text and len(await open_requests(conn, world["alice"])) == 1


async def test_scan_without_a_platform_asks_which(chat, conn, world):
    turn = await chat("can you scan my settings?")
    assert "Which platform should I scan?" in turn.text and turn.tool_calls == []
    assert await open_requests(conn, world["alice"]) == []


async def test_policy_request_refresh(chat, conn, world):
    turn = await chat("refresh the acme privacy policy")
    [row] = await open_requests(conn, world["alice"], kind="policy")
    assert row["platform"] == "acme" and "refresh of Acme Social's privacy policy" in turn.text


async def test_policy_question_is_answered_with_a_cited_passage(chat, conn, embedder, tmp_path):
    await add_policy(conn, embedder, tmp=tmp_path)
    turn = await chat("Does acme sell my personal data?")
    assert "We do not sell your personal information." in turn.text
    assert turn.citations and all(f"[{c['citation_id']}]" in turn.text for c in turn.citations)
    for c in turn.citations:  # every cited passage is stored policy text
        assert " ".join(c["text"].split())[:60] in " ".join(ACME_POLICY.split())


async def test_policy_question_without_a_policy_says_it_cannot_tell(chat):
    turn = await chat("Does acme sell my data?")
    assert "I found nothing about that in the stored policy text, so I can't tell." in turn.text
    assert turn.citations == []


async def test_a_policy_update_shows_in_what_changed(chat, conn, embedder, tmp_path):
    await add_policy(conn, embedder, tmp=tmp_path)
    await add_policy(conn, embedder, ACME_POLICY.replace("18 months", "36 months"), tmp=tmp_path, name="v2.md")
    turn = await chat("what changed?")
    events = [e for e in await st.changes(conn, chat.context.user_id) if e["kind"] == "platform_policy_updated"]
    assert events and events[0]["summary"] in turn.text and "Data retention" in turn.text


async def test_a_platform_not_connected_cannot_be_told(chat, conn):
    p = acme().model_dump()
    p.update(slug="globex", name="Globex")
    await load_platform(conn, PlatformDef.model_validate(p))
    turn = await chat("what changed on Globex?")
    assert "You have not connected globex yet" in turn.text and "can't tell" in turn.text


async def test_state_counts_settings_at_the_recommended_value(chat):
    turn = await chat("show me my current settings")
    assert "1 of 4 settings at the recommended value" in turn.text
    assert "- Personalized ads is 'on' (recommended 'off')." in turn.text


async def test_turning_a_setting_back_on_is_high_impact(chat, conn, settings, world):
    await submit_scan(conn, world["alice"], scan(DEFAULTS, at=T0 + days(3)), settings)
    turn = await chat("what changed?")
    assert "Location History: off → on — changed by you; more exposed, impact high" in turn.text


async def test_a_setting_missing_from_the_page(chat, conn, settings, world):
    values = {k: v for k, v in ALICE_NOW.items() if k != "two_step"}
    await submit_scan(conn, world["alice"], scan(values, at=T0 + days(3)), settings)
    turn = await chat("what changed?")
    assert "Two-step verification was not shown on your settings page" in turn.text


async def test_a_question_beyond_the_fast_path_is_said_plainly(chat):
    turn = await chat("Write me a poem about cats")
    assert "beyond what I can answer without the AI model" in turn.text and turn.tool_calls == []


async def test_help(chat):
    turn = await chat("hi")
    assert "I can tell you what changed" in turn.text


async def test_since_last_visit_only_shows_newer_changes(graph, db, conn, settings, world):
    first = Chat(graph, db, world["alice"])
    await first("what's my score?")
    await submit_scan(conn, world["alice"], scan({**ALICE_NOW, "two_step": "on"}, at=datetime.now(UTC)), settings)
    turn = await Chat(graph, db, world["alice"])("what changed since my last visit?")
    assert "Two-step verification: off → on" in turn.text and "Location History" not in turn.text


async def test_popup_channel_answers_the_same_facts(graph, db, world):
    turn = await Chat(graph, db, world["alice"], channel="popup")("what changed?")
    assert "Location History: on → off — changed by you" in turn.text and turn.llm_calls == 0


async def test_another_users_data_never_appears(chat, world):
    # Bob's two-step is on and his audience is friends; Alice's are not.
    for q in ("what changed?", "show my settings", "what's my score?"):
        text = (await chat(q)).text
        assert "Two-step verification is 'on'" not in text and "is 'friends'" not in text


async def test_the_conversation_is_remembered_within_a_thread(chat, memory):
    checkpointer, _ = memory
    await chat("what changed?")
    await chat("what's my score?")
    saved = await checkpointer.aget_tuple({"configurable": {"thread_id": str(chat.thread_id)}})
    humans = [m.content for m in saved.checkpoint["channel_values"]["messages"] if m.type == "human"]
    assert humans == ["what changed?", "what's my score?"]


async def test_unknown_thread_of_another_user_is_refused(graph, db, world):
    alice = Chat(graph, db, world["alice"])
    await alice("hi")
    intruder = Chat(graph, db, world["bob"])
    intruder.thread_id = alice.thread_id
    try:
        await intruder("what changed?")
    except Exception as exc:  # noqa: BLE001
        assert type(exc).__name__ == "NotFound"
    else:
        raise AssertionError("bob used alice's thread")
    assert uuid.UUID(str(alice.thread_id))
