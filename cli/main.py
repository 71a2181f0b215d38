"""The `privyloop` command."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import typer
from rich.progress import Progress
from rich.table import Table

from cli.common import JsonOption, console, err_console, fail, print_json, run
from cli.render import render_changes, render_scores, render_state
from memory import state
from memory.catalog import load_catalog
from memory.catalog_store import load_platform
from memory.db import Conn, Database, resolve_database_url, upgrade_schema
from memory.settings import get_settings
from memory.templates import list_platforms
from memory.users import create_user, erase_user, export_user, user_by_email

app = typer.Typer(help="PrivyLoop: remembers your privacy settings, tells you what changed, scores them.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
catalog_app = typer.Typer(help="The platform catalog.", no_args_is_help=True)
users_app = typer.Typer(help="Users.", no_args_is_help=True)
scan_app = typer.Typer(help="Settings scans.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(users_app, name="users")
app.add_typer(scan_app, name="scan")

T = TypeVar("T")
EmailOption = typer.Option(..., "--user", "-u", help="The user's email.")


def run_for_user(email: str, read: Callable[[Conn, UUID], Awaitable[T]]) -> T:
    """Run `read` on one connection for the user with this email (a clear error if there is none)."""

    async def body(db: Database) -> T:
        async with db.connection() as conn:
            user = await user_by_email(conn, email)
            return await read(conn, user["id"])

    return run(body)


def parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        value = datetime.fromisoformat(since)
    except ValueError:
        raise fail(f"--since {since!r} is not a date (use YYYY-MM-DD or an ISO date-time)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@db_app.command("upgrade")
def db_upgrade(as_json: bool = JsonOption) -> None:
    """Apply the database migrations."""
    settings = get_settings()
    url, embedded = resolve_database_url(settings)
    try:
        upgrade_schema(url)
    finally:
        if embedded is not None:
            embedded.stop()
    print_json({"status": "upgraded"}) if as_json else console.print("Database schema is up to date.")


@db_app.command("prune")
def db_prune(keep_days: int = typer.Option(None, help="Keep scan records this many days (default: settings)."),
             as_json: bool = JsonOption) -> None:
    """Delete per-scan idempotency records past their retention (history and events are kept)."""
    from datetime import timedelta

    from memory.retention import prune_scan_records

    days = keep_days or get_settings().scan_record_retention_days
    if days < 1:
        raise fail("--keep-days must be at least 1")

    async def body(db: Database) -> int:
        async with db.connection() as conn:
            return await prune_scan_records(conn, datetime.now(UTC) - timedelta(days=days))

    n = run(body)
    print_json({"pruned": n, "keep_days": days}) if as_json else console.print(
        f"Pruned {n} scan records older than {days} days.")


@catalog_app.command("load")
def catalog_load(as_json: bool = JsonOption) -> None:
    """Load the platform catalog; a changed platform gets a new template version."""

    async def body(db: Database) -> list[Any]:
        async with db.connection() as conn:
            return [await load_platform(conn, p) for p in load_catalog().values()]

    results = run(body)
    if as_json:
        print_json([r.__dict__ for r in results])
        return
    table = Table("platform", "version", "result")
    for r in results:
        table.add_row(r.slug, str(r.version), f"new version, {r.changes} changes" if r.created else "unchanged")
    console.print(table)


@catalog_app.command("analyse")
def catalog_analyse(as_json: bool = JsonOption) -> None:
    """Analyse each platform's current template version that has not been (one model call each at most)."""
    from ingest.analysis import analyse_platform, gemini_model
    from ingest.reembed import configured_embedder
    from memory.analyses import platforms_with_policies
    from memory.errors import TemplateNotFound

    async def body(db: Database) -> list[dict[str, Any]]:
        settings = get_settings()
        embedder, model = configured_embedder(settings), gemini_model(settings)
        rows = []
        async with db.connection() as conn:
            for slug in await platforms_with_policies(conn):
                try:
                    o = await analyse_platform(conn, slug, embedder=embedder, model=model)
                except TemplateNotFound:
                    continue
                rows.append({"platform": slug, "template_version": o.template_version, "source": o.source,
                             "model_called": o.model_called, "rubric_score": o.analysis.get("rubric_score")})
        return rows

    rows = run(body)
    if as_json:
        print_json(rows)
        return
    table = Table("platform", "template", "analysis", "policy rubric score")
    for r in rows:
        table.add_row(r["platform"], f"v{r['template_version']}",
                      "already done" if r["source"] == "cache" else f"new ({r['source']})",
                      f"{(r['rubric_score'] or {}).get('score', '-')} / 10")
    console.print(table)


@catalog_app.command("list")
def catalog_list(as_json: bool = JsonOption) -> None:
    """The platforms known to the database, with their current template version."""

    async def body(db: Database) -> list[dict[str, Any]]:
        async with db.connection() as conn:
            return await list_platforms(conn)

    rows = run(body)
    if as_json:
        print_json(rows)
        return
    table = Table("platform", "name", "version", "settings")
    for r in rows:
        table.add_row(r["slug"], r["name"], str(r["version"]), str(r["settings"]))
    console.print(table)


@users_app.command("add")
def users_add(email: str, name: str = typer.Option(None, help="Display name."),
              tier: str = typer.Option("free", help="free, pro, premium or enterprise."),
              as_json: bool = JsonOption) -> None:
    """Create a user."""

    async def body(db: Database) -> dict[str, Any]:
        async with db.connection() as conn:
            return await create_user(conn, email, name=name, tier=tier)

    user = run(body)
    print_json(user) if as_json else console.print(f"Created user {user['email']} ({user['id']}).")


@scan_app.command("submit")
def scan_submit(files: list[Path] = typer.Argument(..., help="Scan JSON files (ingest/schemas/scan.schema.json), "
                                                      "stored in the order given."),
                email: str = EmailOption, as_json: bool = JsonOption) -> None:
    """Store scans for a user and print what changed (several files: a progress bar, one line per failure)."""
    from ingest.scans import submit_scan
    from memory.errors import PrivyLoopError

    payloads = [(f, _read_json(f)) for f in files]

    async def body(db: Database) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async with db.connection() as conn:
            user = await user_by_email(conn, email)
            with Progress(console=err_console, transient=True, disable=len(payloads) < 2) as progress:
                task = progress.add_task("Storing scans", total=len(payloads))
                for f, payload in payloads:
                    # Each scan is its own transaction: one bad file does not undo or block the others.
                    try:
                        out.append({"file": str(f), **await submit_scan(conn, user["id"], payload, get_settings())})
                    except PrivyLoopError as exc:
                        if len(payloads) == 1:
                            raise
                        out.append({"file": str(f), "error": {"code": exc.code, "message": str(exc)}})
                    progress.advance(task)
        return out

    results = run(body)
    failed = [r for r in results if "error" in r]
    if as_json:
        print_json(results if len(files) > 1 else results[0])
    else:
        for result in results:
            if "error" in result:
                err_console.print(f"[bold red]error:[/] {result['file']}: {result['error']['message']}",
                                  highlight=False)
                continue
            note = " (already stored; same result)" if result["replayed"] else ""
            console.print(f"Scan stored for {result['platform']} (template v{result['template_version']}){note}. "
                          f"Score: {result['score']} (was {result['previous_score']}).")
            render_changes([{**c, "platform": result["platform"]} for c in result["changes"]])
            for u in result["unknown_settings"]:
                console.print(f"[yellow]Not in the template (kept, flagged):[/] {u['label']}")
    if failed:
        raise typer.Exit(1)


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{file} is not JSON: {exc.msg} at line {exc.lineno}") from None


@app.command("state")
def state_cmd(email: str = EmailOption, platform: str = typer.Option(None, "--platform", "-p"),
              as_json: bool = JsonOption) -> None:
    """The user's current settings against the recommended values."""

    rows = run_for_user(email, lambda conn, uid: state.privacy_state(conn, uid, platform))
    print_json(rows) if as_json else render_state(rows)


@app.command("changes")
def changes_cmd(email: str = EmailOption, since: str = typer.Option(None, help="Only changes after this date."),
                platform: str = typer.Option(None, "--platform", "-p"), as_json: bool = JsonOption) -> None:
    """What changed, and who changed it."""
    after = parse_since(since)

    rows = run_for_user(email, lambda conn, uid: state.changes(conn, uid, since=after, platform=platform))
    print_json(rows) if as_json else render_changes(rows)


@app.command("score")
def score_cmd(email: str = EmailOption, platform: str = typer.Option(None, "--platform", "-p"),
              as_json: bool = JsonOption) -> None:
    """Privacy scores with their breakdown."""

    data = run_for_user(email, lambda conn, uid: state.scores(conn, uid, platform))
    print_json(data) if as_json else render_scores(data)


@app.command("export")
def export_cmd(email: str = EmailOption, output: Path = typer.Option(None, "--output", "-o")) -> None:
    """All of a user's data as one JSON document."""

    doc = run_for_user(email, lambda conn, uid: export_user(conn, uid))
    if output is None:
        print_json(doc)
    else:
        from cli.common import to_jsonable

        output.write_text(json.dumps(to_jsonable(doc), indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"Wrote {output}.")


@app.command("erase")
def erase_cmd(email: str = EmailOption, yes: bool = typer.Option(False, "--yes", help="Do not ask."),
              as_json: bool = JsonOption) -> None:
    """Delete every row of a user."""
    if not yes and not typer.confirm(f"Erase every record of {email}? This cannot be undone"):
        raise fail("not erased")

    counts = run_for_user(email, lambda conn, uid: erase_user(conn, uid))
    print_json(counts) if as_json else console.print(f"Erased {sum(counts.values())} rows of {email}.")


@app.command("demo")
def demo_cmd(as_json: bool = JsonOption) -> None:
    """Load the catalog and a demo user with a few weeks of scans, then show what changed and the scores."""
    from cli.demo import load_demo

    data = run(load_demo)
    if as_json:
        print_json(data)
        return
    console.rule(f"Demo user {data['email']}")
    render_changes(data["changes"])
    render_scores(data["scores"])


def _register_optional() -> None:
    """Command groups that live with their own feature."""
    import importlib

    for module in ("cli.policy_commands", "cli.chat_commands", "cli.serve_commands"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(app)


_register_optional()
