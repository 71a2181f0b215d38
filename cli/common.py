"""What every command shares: opening the database, printing for people or as JSON, clear errors."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console

from memory.db import Database, open_database
from memory.errors import PrivyLoopError
from memory.settings import get_settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long
T = TypeVar("T")

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def run(body: Callable[[Database], Awaitable[T]], *, migrate: bool = True) -> T:
    """Open the configured database (embedded by default), run the body, map our errors to one line."""

    async def main() -> T:
        async with open_database(get_settings(), migrate=migrate) as db:
            return await body(db)

    try:
        return asyncio.run(main())
    except PrivyLoopError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
