"""The privyloop command: human and --json output, one-line errors, non-zero exits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from memory.settings import get_settings
from tests.memory.helpers import DEFAULTS, T0, days, scan

runner = CliRunner()


@pytest.fixture
def cli_env(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PRIVYLOOP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _load_acme(database_url: str) -> None:
    """The small test platform, loaded outside the CLI (which runs its own event loop)."""
    import psycopg
    from psycopg.rows import dict_row

    from memory.catalog_store import load_platform
    from tests.memory.helpers import acme

    async def body() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True, row_factory=dict_row) as c:
            await load_platform(c, acme(), at=T0 - days(1))

    asyncio.run(body())


def test_full_cycle_through_the_cli(cli_env, database_url, tmp_path: Path):
    _load_acme(database_url)
    r = invoke("users", "add", "cli@example.com", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["email"] == "cli@example.com"
    first, second = tmp_path / "s1.json", tmp_path / "s2.json"
    first.write_text(json.dumps(scan(DEFAULTS)))
    second.write_text(json.dumps(scan({**DEFAULTS, "location_history": "off"}, at=T0 + days(1))))
    assert invoke("scan", "submit", str(first), "--user", "cli@example.com").exit_code == 0
    r = invoke("scan", "submit", str(second), "--user", "cli@example.com", "--json")
    assert json.loads(r.stdout)["changes"][0]["attribution"] == "user"
    r = invoke("changes", "--user", "cli@example.com", "--json")
    assert [c["setting_key"] for c in json.loads(r.stdout)] == ["location_history"]
    r = invoke("changes", "--user", "cli@example.com")
    assert "Location History changed" in r.stdout and "you" in r.stdout
    r = invoke("score", "--user", "cli@example.com", "--json")
    assert json.loads(r.stdout)["overall"] == 45
    r = invoke("state", "--user", "cli@example.com", "--json")
    assert json.loads(r.stdout)[0]["platform"] == "acme"
    r = invoke("export", "--user", "cli@example.com")
    assert len(json.loads(r.stdout)["scans"]) == 2
    r = invoke("erase", "--user", "cli@example.com", "--yes", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["users"] == 1


@pytest.mark.parametrize("args, message", [
    (["state", "--user", "nobody@example.com"], "no user with email nobody@example.com"),
    (["changes", "--user", "x@example.com", "--since", "last tuesday"], "is not a date"),
    (["scan", "submit", "/nonexistent.json", "--user", "x@example.com"], "cannot read /nonexistent.json"),
])
def test_errors_are_one_line_and_non_zero(cli_env, args, message):
    r = runner.invoke(app, args)
    assert r.exit_code == 1
    assert message in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_an_invalid_scan_file_says_what_is_wrong(cli_env, database_url, tmp_path: Path):
    _load_acme(database_url)
    invoke("users", "add", "bad@example.com")
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    r = runner.invoke(app, ["scan", "submit", str(f), "--user", "bad@example.com"])
    assert r.exit_code == 1 and "is not JSON" in r.stderr
    payload = scan(DEFAULTS)
    payload["settings"] = []
    f.write_text(json.dumps(payload))
    r = runner.invoke(app, ["scan", "submit", str(f), "--user", "bad@example.com"])
    assert r.exit_code == 1 and "no settings" in r.stderr


def test_bulk_submit_stores_good_files_and_names_the_bad_one(cli_env, database_url, tmp_path: Path):
    _load_acme(database_url)
    invoke("users", "add", "bulk@example.com")
    files = []
    for i, values in enumerate([DEFAULTS, {**DEFAULTS, "two_step": "on"}, {**DEFAULTS, "two_step": "off"}]):
        f = tmp_path / f"s{i}.json"
        f.write_text(json.dumps(scan(values, at=T0 + days(i))))
        files.append(str(f))
    bad = tmp_path / "empty.json"
    payload = scan(DEFAULTS, at=T0 + days(5))
    payload["settings"] = []
    bad.write_text(json.dumps(payload))
    r = runner.invoke(app, ["scan", "submit", files[0], files[1], str(bad), files[2], "--user",
                            "bulk@example.com", "--json"])
    assert r.exit_code == 1
    results = json.loads(r.stdout)
    assert [("error" in x) for x in results] == [False, False, True, False]
    assert "no settings" in results[2]["error"]["message"]
    r = invoke("changes", "--user", "bulk@example.com", "--json")
    assert len(json.loads(r.stdout)) == 2  # two_step on, then off again
