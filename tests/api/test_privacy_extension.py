"""Extension and privacy endpoints end to end, on the real database."""

from __future__ import annotations

import uuid

from memory.scan_requests import request_scan
from tests.api.conftest import PASSWORD, client_for, pair
from tests.memory.helpers import DEFAULTS, T0, days, scan


async def _ext(app, account):
    tokens = await pair(account)
    return client_for(app, headers={"Authorization": f"Bearer {tokens['access_token']}"})


async def test_scan_submission_is_validated_idempotent_and_queryable(app, alice):
    async with await _ext(app, alice) as ext:
        payload = scan(DEFAULTS, key="key-one-0001")
        first = await ext.post("/api/extension/scans", json=payload)
        assert first.status_code == 201, first.text
        again = await ext.post("/api/extension/scans", json=payload)
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["scan_id"] == first.json()["scan_id"]

        status = await ext.get(f"/api/extension/scans/{first.json()['scan_id']}")
        assert status.status_code == 200 and status.json()["platform"] == "acme"

        bad = await ext.post("/api/extension/scans", json={**payload, "settings": "nope", "idempotency_key": "key-two-0002"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "scan_rejected"
        conflict = await ext.post("/api/extension/scans", json={**scan({"two_step": "on"}), "idempotency_key": "key-one-0001"})
        assert conflict.status_code == 409

        platforms = (await ext.get("/api/extension/platforms")).json()
        acme = next(p for p in platforms if p["slug"] == "acme")
        assert acme["connection"] == "connected" and acme["scraper_version"] == "test"
        assert acme["scraper_status"] in {"ok", "stale"} and acme["last_scan_id"] == uuid.UUID(
            first.json()["scan_id"]).__str__()


async def test_oversized_scan_is_413_in_the_error_format(app, alice, api_settings):
    async with await _ext(app, alice) as ext:
        payload = scan(DEFAULTS)
        payload["settings"][0]["label"] = "x" * (api_settings.max_scan_bytes + 10)
        r = await ext.post("/api/extension/scans", json=payload)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

        # A body streamed without Content-Length is counted as it arrives.
        async def chunks():
            yield b'{"platform": "acme", "pad": "'
            for _ in range(api_settings.max_scan_bytes // 1000 + 2):
                yield b"y" * 1000
            yield b'"}'

        streamed = await ext.post("/api/extension/scans", content=chunks(),
                                  headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"


async def test_pending_scan_requests_long_poll_and_complete(app, alice):
    async with await _ext(app, alice) as ext:
        empty = await ext.get("/api/extension/scan-requests", params={"timeout": 0.6})
        assert empty.status_code == 200 and empty.json()["requests"] == []
        async with app.state.db.connection() as conn:
            req = await request_scan(conn, uuid.UUID(alice.user_id), "acme")
        got = (await ext.get("/api/extension/scan-requests", params={"timeout": 1})).json()["requests"]
        assert [r["id"] for r in got] == [str(req["id"])]
        picked = await ext.post(f"/api/extension/scan-requests/{req['id']}", json={"status": "picked_up"})
        assert picked.status_code == 200 and picked.json()["status"] == "picked_up"
        assert (await ext.post("/api/extension/scans", json=scan(DEFAULTS))).status_code == 201
        assert (await ext.get("/api/extension/scan-requests")).json()["requests"] == []


async def test_dashboard_history_changes_replay_fix_plan(app, alice):
    async with client_for(app, headers=alice.bearer) as c:
        await c.post("/api/extension/scans", json=scan(DEFAULTS, at=T0))
        await c.post("/api/extension/scans", json=scan({**DEFAULTS, "location_history": "off"}, at=T0 + days(2)))
        dash = (await c.get("/api/privacy/dashboard")).json()
        assert dash["platforms"][0]["platform"] == "acme" and dash["overall_score"] is not None
        assert dash["recent_changes"][0]["setting_key"] == "location_history"
        assert dash["top_risks"] and dash["top_risks"][0]["key"] == "ad_personalization"

        hist = (await c.get("/api/privacy/history", params={"platform": "acme"})).json()
        assert [h["score"] for h in hist] == sorted(h["score"] for h in hist) and len(hist) == 2
        ch = (await c.get("/api/privacy/changes", params={"since": (T0 + days(1)).isoformat()})).json()
        assert ch[0]["attribution"] == "user"
        then = (await c.get("/api/privacy/replay", params={"platform": "acme", "at": (T0 + days(1)).isoformat()}))
        assert then.json()["values"]["location_history"] == "on"
        before = await c.get("/api/privacy/replay", params={"platform": "acme", "at": (T0 - days(1)).isoformat()})
        assert before.status_code == 404

        plan = (await c.get("/api/privacy/fix-plan")).json()["steps"]
        gains = [s["points_gained"] for s in plan]
        assert gains == sorted(gains, reverse=True) and plan[0]["key"] == "ad_personalization"
        assert all(s["deep_link"].startswith("https://acme.example/") for s in plan)

        ex = (await c.get("/api/privacy/platforms/acme/settings/post_audience")).json()
        assert ex["your_value"] == "public" and ex["recommended"] == "friends" and ex["explanation"]["controls"]
        assert (await c.get("/api/privacy/platforms/acme/settings/nope")).status_code == 404


async def test_connect_disconnect_and_notification_preferences(app, alice):
    c = alice.client
    assert (await c.post("/api/privacy/platforms/acme/connection")).json()["status"] == "connected"
    assert (await c.delete("/api/privacy/platforms/acme/connection")).json()["status"] == "disconnected"
    assert (await c.post("/api/privacy/platforms/nope/connection")).status_code == 404
    prefs = await c.put("/api/privacy/notifications", json={"frequency": "daily", "email_enabled": False})
    assert prefs.json()["frequency"] == "daily" and prefs.json()["email_enabled"] is False
    assert (await c.get("/api/privacy/notifications")).json()["frequency"] == "daily"
    assert (await c.put("/api/privacy/notifications", json={"frequency": "hourly"})).status_code == 422


async def test_export_and_erase_with_reauthentication(app, alice):
    c = alice.client
    await c.post("/api/extension/scans", json=scan(DEFAULTS))
    doc = (await c.get("/api/privacy/export")).json()
    assert doc["user"]["email"] == alice.email and len(doc["scans"]) == 1
    assert all("token_hash" not in row for row in doc["api_tokens"])
    wrong = await c.post("/api/privacy/erase", json={"password": "not it", "confirm": "erase my account"})
    assert wrong.status_code == 401
    assert (await c.get("/api/privacy/dashboard")).status_code == 200
    ok = await c.post("/api/privacy/erase", json={"password": PASSWORD, "confirm": "erase my account"})
    assert ok.status_code == 204
    assert (await c.get("/api/privacy/dashboard")).status_code == 401
    async with app.state.db.connection() as conn:
        left = await (await conn.execute("SELECT count(*) AS n FROM users WHERE email = %s", (alice.email,))).fetchone()
    assert left["n"] == 0
