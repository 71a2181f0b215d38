"""Accounts: registration, login, sessions with CSRF, API tokens, extension pairing and refresh."""

from __future__ import annotations

from tests.api.conftest import PASSWORD, client_for, pair


async def test_register_login_and_me(app, client):
    r = await client.post("/api/auth/register", json={"email": "c@example.com", "password": PASSWORD})
    assert r.status_code == 201
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert (await client.get("/api/auth/me")).json()["email"] == "c@example.com"

    async with client_for(app) as other:
        bad = await other.post("/api/auth/login", json={"email": "c@example.com", "password": "wrong password"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthenticated"
        ok = await other.post("/api/auth/login", json={"email": "C@example.com", "password": PASSWORD})
        assert ok.status_code == 200 and ok.json()["csrf_token"]


async def test_passwords_are_stored_as_argon2(app, alice):
    async with app.state.db.connection() as conn:
        row = await (await conn.execute("SELECT password_hash FROM users WHERE email = %s",
                                        (alice.email,))).fetchone()
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]


async def test_duplicate_registration_is_409(app, alice):
    async with client_for(app) as c:
        r = await c.post("/api/auth/register", json={"email": "ALICE@example.com", "password": PASSWORD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_login_is_rate_limited(app, alice):
    async with client_for(app) as c:
        codes = [(await c.post("/api/auth/login", json={"email": alice.email, "password": "nope nope"})).status_code
                 for _ in range(12)]
    assert codes[0] == 401 and codes[-1] == 429
    r = await client_for(app).post("/api/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_cookie_requests_that_change_state_need_the_csrf_header(app, alice):
    del alice.client.headers["X-CSRF-Token"]
    r = await alice.client.post("/api/auth/tokens", json={"name": "x"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_rejected"
    forged = await alice.client.post("/api/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    assert (await alice.client.get("/api/auth/tokens")).status_code == 200  # reads need none


async def test_api_tokens_store_only_hashes_and_can_be_revoked(app, alice):
    async with client_for(app, headers=alice.bearer) as script:
        assert (await script.get("/api/auth/me")).json()["kind"] == "token"
        listed = (await script.get("/api/auth/tokens")).json()
        assert len(listed) == 1 and "token" not in listed[0]
        async with app.state.db.connection() as conn:
            rows = await (await conn.execute("SELECT token_hash FROM api_tokens")).fetchall()
        assert all(alice.token not in r["token_hash"] for r in rows)
        assert (await alice.client.delete(f"/api/auth/tokens/{listed[0]['id']}")).status_code == 200
        assert (await script.get("/api/auth/me")).status_code == 401


async def test_logout_ends_the_session(app, alice):
    assert (await alice.client.post("/api/auth/logout")).status_code == 204
    assert (await alice.client.get("/api/auth/me")).status_code == 401


async def test_pairing_code_is_single_use_and_refresh_rotates(app, alice):
    code = (await alice.client.post("/api/auth/pairing-codes", json={"device_name": "Work laptop"})).json()["code"]
    async with client_for(app) as ext:
        first = await ext.post("/api/auth/extension/pair", json={"code": code.lower().replace("-", "")})
        assert first.status_code == 200, first.text
        again = await ext.post("/api/auth/extension/pair", json={"code": code})
        assert again.status_code == 401
        tokens = first.json()
        me = await ext.get("/api/extension/platforms", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 200

        rotated = await ext.post("/api/auth/extension/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert rotated.status_code == 200 and rotated.json()["refresh_token"] != tokens["refresh_token"]
        # The old refresh token used again means it was copied: the device is signed out entirely.
        reused = await ext.post("/api/auth/extension/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert reused.status_code == 401
        after = await ext.get("/api/extension/platforms",
                              headers={"Authorization": f"Bearer {rotated.json()['access_token']}"})
        assert after.status_code == 401
    devices = (await alice.client.get("/api/auth/devices")).json()
    assert devices[0]["name"] == "Work laptop" and devices[0]["revoked_at"] is not None


async def test_expired_pairing_code_is_refused(app, alice):
    code = (await alice.client.post("/api/auth/pairing-codes", json={})).json()["code"]
    async with app.state.db.connection() as conn:
        await conn.execute("UPDATE pairing_codes SET expires_at = now() - interval '1 second'")
    r = await client_for(app).post("/api/auth/extension/pair", json={"code": code})
    assert r.status_code == 401 and r.json()["error"]["code"] == "pairing_code_invalid"


async def test_revoking_a_device_ends_its_access_token_at_once(app, alice):
    tokens = await pair(alice)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with client_for(app, headers=headers) as ext:
        assert (await ext.get("/api/extension/platforms")).status_code == 200
        assert (await alice.client.delete(f"/api/auth/devices/{tokens['device_id']}")).status_code == 200
        assert (await ext.get("/api/extension/platforms")).status_code == 401


async def test_extension_tokens_cannot_use_person_routes(app, alice):
    tokens = await pair(alice)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with client_for(app, headers=headers) as ext:
        for method, path, body in [("GET", "/api/auth/me", None), ("GET", "/api/auth/tokens", None),
                                   ("POST", "/api/auth/tokens", {"name": "x"}),
                                   ("POST", "/api/auth/pairing-codes", {}),
                                   ("GET", "/api/auth/devices", None)]:
            r = await ext.request(method, path, json=body)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "forbidden"


async def test_unauthenticated_is_401_in_the_error_format(client):
    r = await client.get("/api/auth/me")
    assert r.status_code == 401 and set(r.json()["error"]) == {"code", "message", "details"}
