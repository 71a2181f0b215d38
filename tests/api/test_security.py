"""Security: user B's ids with user A's credentials are 404 with no data, on every user-scoped route;
extension tokens stay in their lane; CORS and security headers."""

from __future__ import annotations

import json
import uuid

import pytest

from memory.scan_requests import request_scan
from tests.api.conftest import CHAT_ORIGIN, EXTENSION_ID, client_for, pair
from tests.memory.helpers import DEFAULTS, T0, scan

PUBLIC = {("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("POST", "/api/auth/extension/pair"),
          ("POST", "/api/auth/extension/refresh")}


@pytest.fixture
async def bob_world(app, bob):
    """Bob's rows of every kind, and the strings that must never reach anyone else."""
    tokens = await pair(bob)
    async with client_for(app, headers={"Authorization": f"Bearer {tokens['access_token']}"}) as ext:
        submitted = (await ext.post("/api/extension/scans", json=scan(DEFAULTS, at=T0, key="bob-secret-key-1"))).json()
    async with app.state.db.connection() as conn:
        req = await request_scan(conn, uuid.UUID(bob.user_id), "acme", note="bob-note")
    token_id = (await bob.client.get("/api/auth/tokens")).json()[0]["id"]
    ids = {"scan_id": submitted["scan_id"], "device_id": tokens["device_id"], "token_id": token_id,
           "request_id": str(req["id"])}
    return {"ids": ids, "secrets": [bob.email, bob.user_id, "bob-secret-key-1", *ids.values()]}


def _fill(path: str, ids: dict[str, str]) -> str:
    return path.format(platform="acme", key="location_history", **ids)


# Every user-scoped route: method, path, body. Ids are Bob's; the caller is Alice.
MATRIX = [
    ("GET", "/api/auth/me", None),
    ("GET", "/api/auth/tokens", None), ("POST", "/api/auth/tokens", {"name": "a"}),
    ("DELETE", "/api/auth/tokens/{token_id}", None),
    ("POST", "/api/auth/pairing-codes", {}), ("GET", "/api/auth/devices", None),
    ("DELETE", "/api/auth/devices/{device_id}", None),
    ("POST", "/api/extension/scans", None), ("GET", "/api/extension/scans/{scan_id}", None),
    ("GET", "/api/extension/scan-requests", None),
    ("POST", "/api/extension/scan-requests/{request_id}", {"status": "done"}),
    ("GET", "/api/extension/platforms", None),
    ("GET", "/api/privacy/dashboard", None), ("GET", "/api/privacy/history", None),
    ("GET", "/api/privacy/replay?platform=acme&at=2030-01-01T00:00:00Z", None),
    ("GET", "/api/privacy/changes", None), ("GET", "/api/privacy/platforms/{platform}/settings/{key}", None),
    ("GET", "/api/privacy/fix-plan", None), ("GET", "/api/privacy/policies/search?q=location", None),
    ("GET", "/api/privacy/platforms", None), ("POST", "/api/privacy/platforms/{platform}/connection", None),
    ("DELETE", "/api/privacy/platforms/{platform}/connection", None),
    ("GET", "/api/privacy/notifications", None), ("PUT", "/api/privacy/notifications", {"frequency": "never"}),
    ("GET", "/api/privacy/export", None),
    ("POST", "/api/privacy/erase", {"password": "wrong password", "confirm": "erase my account"}),
    ("POST", "/api/auth/logout", None),  # last: it ends Alice's session
]
NOT_FOUND_FOR_OTHERS = {"/api/auth/tokens/{token_id}", "/api/auth/devices/{device_id}",
                        "/api/extension/scans/{scan_id}", "/api/extension/scan-requests/{request_id}",
                        "/api/privacy/platforms/{platform}/connection"}


def test_the_matrix_covers_every_route_of_the_spec(app):
    spec = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    covered = {(m, p.split("?")[0]) for m, p, _ in MATRIX}
    assert spec - PUBLIC == covered


async def test_cross_user_matrix_never_leaks(app, alice, bob_world):
    ids = bob_world["ids"]
    for method, path, body in MATRIX:
        if path == "/api/extension/scans":
            body = scan(DEFAULTS, key="alice-key-000001")
        if path == "/api/privacy/platforms/{platform}/connection" and method == "DELETE":
            continue  # checked below, before Alice connects acme herself
        r = await alice.client.request(method, _fill(path, ids), json=body)
        text = r.text
        for secret in bob_world["secrets"]:
            assert secret not in text, (method, path, secret)
        if path in NOT_FOUND_FOR_OTHERS and method != "POST" or path.endswith("{request_id}"):
            assert r.status_code == 404, (method, path, r.status_code, text)
            assert r.json()["error"]["code"].endswith("not_found")
        else:
            assert r.status_code < 500, (method, path, text)


async def test_platform_routes_where_only_bob_has_data_are_404(app, alice, bob_world):
    r = await alice.client.delete("/api/privacy/platforms/acme/connection")
    assert r.status_code == 404
    replay = await alice.client.get("/api/privacy/replay", params={"platform": "acme", "at": "2030-01-01T00:00:00Z"})
    assert replay.status_code == 404 and bob_world["ids"]["scan_id"] not in replay.text
    async with app.state.db.connection() as conn:
        row = await (await conn.execute("SELECT status FROM connections WHERE user_id = %s",
                                        (uuid.UUID(bob_world["secrets"][1]),))).fetchone()
    assert row["status"] == "connected"


async def test_bobs_rows_survive_alices_attempts(app, alice, bob, bob_world):
    ids = bob_world["ids"]
    await alice.client.delete(f"/api/auth/tokens/{ids['token_id']}")
    await alice.client.delete(f"/api/auth/devices/{ids['device_id']}")
    async with client_for(app, headers=bob.bearer) as b:
        assert (await b.get("/api/auth/me")).status_code == 200
        assert (await b.get("/api/auth/devices")).json()[0]["revoked_at"] is None


async def test_extension_tokens_reach_only_extension_routes(app, alice):
    tokens = await pair(alice)
    async with client_for(app, headers={"Authorization": f"Bearer {tokens['access_token']}"}) as ext:
        for method, path, body in MATRIX:
            r = await ext.request(method, _fill(path, {k: str(uuid.uuid4()) for k in
                                                       ("scan_id", "device_id", "token_id", "request_id")}),
                                  json=body if path != "/api/extension/scans" else scan(DEFAULTS))
            if path.startswith("/api/extension/"):
                assert r.status_code != 403, (method, path)
            else:
                assert r.status_code == 403, (method, path, r.status_code)


async def test_cors_allows_only_the_chat_ui_and_the_extension(client):
    for origin, allowed in [(CHAT_ORIGIN, True), (f"chrome-extension://{EXTENSION_ID}", True),
                            ("https://evil.example", False), ("chrome-extension://someoneelse", False)]:
        r = await client.options("/api/privacy/dashboard", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert (r.headers.get("access-control-allow-origin") == origin) is allowed, origin
        g = await client.get("/api/auth/me", headers={"Origin": origin})
        assert (g.headers.get("access-control-allow-origin") == origin) is allowed, origin


async def test_security_headers_and_strict_csp_on_pages(client):
    page = await client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    docs = await client.get("/docs")
    assert "'nonce-" in docs.headers["content-security-policy"] and "unsafe" not in docs.headers[
        "content-security-policy"]
    for r in (page, docs, await client.get("/api/auth/me")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "max-age=" in r.headers["strict-transport-security"]  # env=test is not development


async def test_no_hsts_in_development(api_settings):
    import httpx

    from api.app import create_app

    app = create_app(api_settings.model_copy(update={"env": "development"}), optional_modules=())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/")  # the landing page needs no database
    assert "strict-transport-security" not in r.headers


async def test_errors_never_carry_tracebacks(client):
    r = await client.post("/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "Traceback" not in r.text
    assert set(json.loads(r.text)["error"]) == {"code", "message", "details"}
