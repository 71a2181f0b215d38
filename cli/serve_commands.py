"""`privyloop serve`: the API under uvicorn; with nothing configured, embedded Postgres, local Redis and
the demo person, so one command gives a server to open."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import typer

from cli.common import console

DEMO_PASSWORD = "privyloop-demo"


def _demo_hook(host: str, port: int) -> Any:
    async def load(app: Any) -> None:
        from api.security import hash_password
        from memory.accounts import set_password_if_missing
        from memory.users import user_by_email

        try:
            demo = importlib.import_module("cli.demo")
        except ModuleNotFoundError:
            console.print("[yellow]No demo data module; starting empty.[/]")
            return
        data = await demo.load_demo(app.state.db)
        async with app.state.db.connection() as conn:
            user = await user_by_email(conn, data["email"])
            await set_password_if_missing(conn, user["id"], hash_password(DEMO_PASSWORD))
        console.print(f"Demo data loaded: sign in as [bold]{data['email']}[/] / [bold]{DEMO_PASSWORD}[/]")

    return load


def _ready_banner(host: str, port: int) -> Any:
    async def banner(app: Any) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        console.print(f"PrivyLoop is running: open [bold]http://{shown}:{port}/[/] "
                      f"(API docs at http://{shown}:{port}/docs). Ctrl+C stops it.")

    return banner


def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          demo: bool = typer.Option(True, "--demo/--no-demo",
                                    help="Load the demo person with four weeks of history (development only).")
          ) -> None:
    """Run the API server (embedded Postgres and a local Redis unless DATABASE_URL / REDIS_URL are set)."""
    import uvicorn

    from api.app import create_app
    from memory.settings import get_settings

    settings = get_settings()
    hooks = []
    if demo and settings.env != "production":
        hooks.append(_demo_hook(host, port))
    hooks.append(_ready_banner(host, port))
    app = create_app(settings, on_ready=hooks)
    # log_config=None: the API's own structured logging (api.observability) stays in charge.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, proxy_headers=True,
                            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1)
    try:
        asyncio.run(uvicorn.Server(config).serve())
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
