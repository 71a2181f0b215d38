"""Schemathesis over the API's OpenAPI spec against a real uvicorn: at least 1,000 generated requests,
zero server errors (5xx), every failure in the one JSON error format."""

from __future__ import annotations

import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings

from api.app import create_app
from memory.catalog_store import load_platform
from memory.db import open_pool
from tests.api.conftest import PASSWORD
from tests.api.live import serving
from tests.memory.helpers import T0, acme, days

PER_OPERATION = 55
# argon2 makes these deliberately slow (~0.1 s of CPU each): fewer examples keep the run near a minute.
SLOW_OPERATIONS = {"POST /api/auth/register": 15, "POST /api/auth/login": 15, "POST /api/privacy/erase": 15}
MIN_REQUESTS = 1000
# Routes whose success would end the test's own credentials; they are still exercised, with bodies that
# schemathesis generates (which never carry the right password or a live id).
pytestmark = pytest.mark.slow


async def _seed(database_url: str) -> None:
    pool = await open_pool(database_url, max_size=1)
    async with pool.connection() as conn:
        await load_platform(conn, acme(), at=T0 - days(5))
    await pool.close()


def test_schemathesis_finds_no_server_errors(api_settings, database_url):
    import asyncio

    asyncio.run(_seed(database_url))
    app = create_app(api_settings.model_copy(update={"rate_limit_login": "100000/minute",
                                                        "longpoll_max_seconds": 0.2}), optional_modules=())
    with serving(app) as base:
        with httpx.Client(base_url=base) as c:
            c.post("/api/auth/register", json={"email": "fuzz@example.com", "password": PASSWORD})
            csrf = c.cookies["privyloop_csrf"]
            token = c.post("/api/auth/tokens", json={"name": "fuzz"}, headers={"X-CSRF-Token": csrf}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        sent: list[int] = []
        failures: list[str] = []
        timings: list[tuple[float, str]] = []
        for result in schema.get_all_operations():
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"

            @given(case=operation.as_strategy())
            @hsettings(max_examples=SLOW_OPERATIONS.get(label, PER_OPERATION), deadline=None, database=None, derandomize=True,
                       phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=base, headers=auth, timeout=30)
                sent.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.path} -> {response.status_code}: {response.text[:200]}")
                elif response.status_code >= 400:
                    error = response.json().get("error", {})
                    if not {"code", "message", "details"} <= set(error):
                        failures.append(f"{case.method} {case.path}: not the error format: {response.text[:200]}")

            started = time.monotonic()
            run()
            timings.append((time.monotonic() - started, label))
    print(sorted(timings, reverse=True)[:5])
    print(f"schemathesis: {len(sent)} requests, {sum(s >= 500 for s in sent)} server errors")
    assert not failures, failures[:10]
    assert len(sent) >= MIN_REQUESTS
