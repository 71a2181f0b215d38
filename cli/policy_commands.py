"""`privyloop ingest`, `privyloop search` and `privyloop reembed`: policy documents in and passages out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import JsonOption, console, err_console, print_json, run
from memory.db import Database
from memory.settings import get_settings


def _bar() -> Progress:
    # On stderr so `--json` stays parseable; transient and terminal-only so errors stay one line.
    return Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True, disable=not err_console.is_terminal)


def ingest_cmd(source: str = typer.Argument(..., help="A URL or a file (.html, .pdf, .md, .txt)."),
               platform: str = typer.Option(..., "--platform", "-p", help="Platform slug; created if missing."),
               name: str = typer.Option(None, "--name", help="Display name (for a new platform and the title)."),
               as_json: bool = JsonOption) -> None:
    """Store a policy document as the platform's next version (unchanged content changes nothing)."""
    from ingest.pipeline import ingest_policy
    from ingest.reembed import configured_embedder

    async def body(db: Database) -> Any:
        with _bar() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            embedder = configured_embedder(get_settings())
            async with db.connection() as conn:
                result = await ingest_policy(conn, source, platform=platform, name=name, embedder=embedder,
                                             progress=progress)
                progress("analyse", 0, 1)
                analysed = await _analyse(conn, platform, embedder)
                progress("analyse", 1, 1)
                return result, analysed

    result, analysed = run(body)
    if as_json:
        print_json({**{k: v for k, v in asdict(result).items() if k != "stages"}, "analysis": analysed})
        return
    if not result.created:
        console.print(f"Unchanged: {platform} policy v{result.version} ({result.chunks} chunks) already has "
                      "this content.")
        return
    console.print(f"Stored {platform} policy v{result.version}: {result.chunks} chunks from '{result.title}'.")
    if result.summary:
        console.print(f"{result.summary} ({result.users_notified} connected users notified).")
    if analysed:
        console.print(f"Policy rubric score {analysed['rubric_score']} / 10 (template v{analysed['template_version']},"
                      f" {analysed['source']}).")


async def _analyse(conn: Any, platform: str, embedder: Any) -> dict[str, Any] | None:
    """The template version's analysis (at most one model call; none if inputs are unchanged)."""
    from ingest.analysis import analyse_platform, gemini_model
    from memory.errors import TemplateNotFound

    try:
        out = await analyse_platform(conn, platform, embedder=embedder, model=gemini_model(get_settings()))
    except TemplateNotFound:
        return None   # a platform with a policy but no settings template yet: nothing to analyse
    return {"template_version": out.template_version, "source": out.source, "model_called": out.model_called,
            "rubric_score": out.analysis["rubric_score"]["score"]}


def search_cmd(query: str = typer.Argument(..., help="A question or keywords."),
               platform: str = typer.Option(None, "--platform", "-p", help="Only this platform's policy."),
               k: int = typer.Option(5, "--k", min=1, max=50, help="How many passages."),
               version: int = typer.Option(None, "--version", help="A policy version (default: latest)."),
               as_json: bool = JsonOption) -> None:
    """The policy passages that best answer the query (hybrid: vectors + full-text)."""
    from ingest.reembed import configured_embedder
    from ingest.retrieval import hybrid_search
    from memory.templates import platform_by_slug

    async def body(db: Database) -> list[Any]:
        async with db.connection() as conn:
            if platform:
                await platform_by_slug(conn, platform)   # a typo should say so, not return nothing
            return await hybrid_search(conn, query, platform=platform, k=k, version=version,
                                       embedder=configured_embedder(get_settings()))

    hits = run(body)
    if as_json:
        print_json([{"text": h.text, "start": h.start, "end": h.end, "section": h.section,
                     "document": h.document, "platform": h.platform, "version": h.version,
                     "score": round(h.score, 6), "url": h.url, "chunk_id": h.chunk_id} for h in hits])
        return
    if not hits:
        console.print("No passages found (has a policy been ingested for this platform?).")
        return
    table = Table("score", "where", "passage", show_lines=True)
    for h in hits:
        where = f"{h.platform} v{h.version}\n{h.section}\n[{h.start}:{h.end}]"
        table.add_row(f"{h.score:.4f}", where, h.text if len(h.text) < 600 else h.text[:600] + "…")
    console.print(table)


def reembed_cmd(model: str = typer.Option(None, "--model", help="Embedding model (default: the configured one)."),
                as_json: bool = JsonOption) -> None:
    """Re-embed every stored policy chunk with one model, so searches never mix vectors of two models."""
    from ingest.reembed import configured_embedder, reembed

    try:
        embedder = configured_embedder(get_settings(), model)
    except ValueError as exc:
        raise typer.Exit(_fail(str(exc))) from None

    async def body(db: Database) -> dict[str, Any]:
        with _bar() as bar:
            task = bar.add_task("reembed", total=None)
            async with db.connection() as conn:
                return await reembed(conn, embedder,
                                     lambda done, total: bar.update(task, completed=done, total=total))

    out = run(body)
    print_json(out) if as_json else console.print(f"Re-embedded {out['chunks']} chunks with {out['model']} "
                                                  f"({out['dim']} dims).")


def _fail(message: str) -> int:
    from cli.common import fail

    return fail(message).exit_code


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("search")(search_cmd)
    app.command("reembed")(reembed_cmd)
