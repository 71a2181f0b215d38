"""`privyloop serve`: registered on the CLI; its startup loads the demo person, who can then sign in."""

from __future__ import annotations

from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli_app
from cli.serve_commands import DEMO_PASSWORD, _demo_hook, _ready_banner
from memory.catalog import load_catalog
from tests.api.conftest import client_for


def test_serve_is_a_cli_command():
    result = CliRunner().invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--demo" in result.output and "--port" in result.output


async def test_serve_startup_loads_the_demo_and_the_demo_person_can_sign_in(api_settings, capsys):
    app = create_app(api_settings, optional_modules=(),
                     on_ready=[_demo_hook("127.0.0.1", 8123), _ready_banner("127.0.0.1", 8123)])
    async with app.router.lifespan_context(app), client_for(app) as c:
        r = await c.post("/api/auth/login", json={"email": "demo@privyloop.local", "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        dash = (await c.get("/api/privacy/dashboard")).json()
        if load_catalog():  # the demo history needs the platform catalog (memory/platforms/*.yaml)
            assert dash["overall_score"] is not None and dash["recent_changes"]
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
