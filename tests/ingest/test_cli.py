"""The ingest, search and reembed commands through typer's runner, against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from memory.settings import get_settings


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_ingest_then_search_json_returns_exact_spans(cli: CliRunner, acme_policy: Path) -> None:
    out = cli.invoke(app, ["ingest", str(acme_policy), "--platform", "acme", "--json"])
    assert out.exit_code == 0, out.output
    stored = json.loads(out.stdout)
    assert stored["version"] == 1 and stored["chunks"] == 6 and stored["created"] is True

    out = cli.invoke(app, ["search", "who gets my data for ads", "--platform", "acme", "--k", "3", "--json"])
    assert out.exit_code == 0, out.output
    hits = json.loads(out.stdout)
    assert len(hits) == 3 and hits[0]["section"] == "Sharing with advertisers"
    text = acme_policy.read_text(encoding="utf-8").strip()   # a clean Markdown file normalises to itself
    for h in hits:
        assert text[h["start"]:h["end"]] == h["text"]
        assert {"text", "start", "end", "section", "document", "platform", "version", "score"} <= h.keys()

    again = cli.invoke(app, ["ingest", str(acme_policy), "--platform", "acme"])
    assert again.exit_code == 0 and "Unchanged" in again.stdout


def test_bad_input_is_one_error_line_and_a_non_zero_exit(cli: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("")
    out = cli.invoke(app, ["ingest", str(empty), "--platform", "acme"])
    assert out.exit_code == 1
    assert out.stderr.strip().splitlines() == ["error: the document is empty"]
    out = cli.invoke(app, ["ingest", "http://127.0.0.1:9/policy", "--platform", "acme"])
    assert out.exit_code == 1 and "unreachable" in out.stderr and "Traceback" not in out.output
    out = cli.invoke(app, ["search", "location", "--platform", "nosuch"])
    assert out.exit_code == 1 and "no platform 'nosuch'" in out.stderr


def test_reembed_rewrites_every_vector_with_one_model(cli: CliRunner, acme_policy: Path) -> None:
    assert cli.invoke(app, ["ingest", str(acme_policy), "--platform", "acme"]).exit_code == 0
    out = cli.invoke(app, ["reembed", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {"model": "all-MiniLM-L6-v2", "dim": 384, "chunks": 6}
    out = cli.invoke(app, ["reembed", "--model", "nonsense"])
    assert out.exit_code == 1 and "unknown embedding model" in out.stderr
