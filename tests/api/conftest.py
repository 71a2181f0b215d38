"""API fixtures: the real app (create_app) on the test database, driven in-process through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from memory.catalog_store import load_platform
from memory.settings import Settings
from tests.memory.helpers import T0, acme, days

PASSWORD = "correct horse battery staple"
EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"
CHAT_ORIGIN = "http://chat.test"


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"chat_ui_origin": CHAT_ORIGIN, "extension_id": EXTENSION_ID,
                                       "longpoll_max_seconds": 2.0})


@pytest.fixture
async def app(api_settings: Settings) -> AsyncIterator[FastAPI]:
    # The Redis/agent side has its own tests (test_redis*, test_streaming*); these need only the core.
    application = create_app(api_settings, optional_modules=())
    async with application.router.lifespan_context(application):
        async with application.state.db.connection() as conn:
            await load_platform(conn, acme(), at=T0 - days(5))
        yield application


def client_for(app: FastAPI, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", **kw)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


@dataclass
class Account:
    """A registered person with a logged-in client (session cookie + CSRF header) and an API token."""

    email: str
    user_id: str
    client: httpx.AsyncClient
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(app: FastAPI, email: str) -> Account:
    c = client_for(app)
    r = await c.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": email[:3]})
    assert r.status_code == 201, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    t = await c.post("/api/auth/tokens", json={"name": "script"})
    assert t.status_code == 201, t.text
    return Account(email=email, user_id=r.json()["id"], client=c, token=t.json()["token"])


async def pair(account: Account) -> dict[str, Any]:
    code = (await account.client.post("/api/auth/pairing-codes", json={})).json()["code"]
    r = await account.client.post("/api/auth/extension/pair", json={"code": code, "device_name": "Chrome"})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def alice(app: FastAPI) -> AsyncIterator[Account]:
    a = await register(app, "alice@example.com")
    yield a
    await a.client.aclose()


@pytest.fixture
async def bob(app: FastAPI) -> AsyncIterator[Account]:
    b = await register(app, "bob@example.com")
    yield b
    await b.client.aclose()
