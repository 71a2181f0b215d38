"""`privyloop chat`: talk to the agent in the terminal, with its tool steps and citations shown."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import typer
from langchain_core.messages import AIMessageChunk

from cli.common import console, run
from memory.db import Database
from memory.settings import get_settings
from memory.users import user_by_email

QUIT = {"exit", "quit", ":q", "bye"}


async def _turn(graph: Any, db: Database, context: Any, thread_id: uuid.UUID, question: str) -> None:
    from agent.run import stream_turn

    streamed = False
    async for mode, payload in stream_turn(graph, thread_id=thread_id, message=question, context=context, db=db):
        if mode == "messages":
            chunk, meta = payload
            if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "agent" and chunk.text:
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
                streamed = True
        elif mode == "custom":
            event = payload.get("event")
            if event == "tool_start":
                args = ", ".join(f"{k}={v!r}" for k, v in payload["args"].items())
                console.print(f"[dim]→ {payload['tool']}({args})[/]", highlight=False)
            elif event == "tool_end":
                console.print(f"[dim]  {'done' if payload['ok'] else 'failed'} in {payload['ms']:.0f} ms[/]")
            elif event == "citations" and payload["citations"]:
                if streamed:
                    sys.stdout.write("\n")
                for c in payload["citations"]:
                    console.print(f"[cyan][{c['citation_id']}][/] {c['platform']} {c.get('section') or ''} "
                                  f"{c.get('url') or ''}", highlight=False)
            elif event == "answer_done" and payload.get("fallback"):
                console.print(f"[yellow](answered without the AI model: {payload['fallback']})[/]")
            elif event == "error":
                console.print(f"[red]{payload['message']}[/]")
    sys.stdout.write("\n")


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat(question: str = typer.Argument(None, help="Ask one question; omit it for an interactive session."),
             email: str = typer.Option(..., "--user", "-u", help="The user's email."),
             thread: str = typer.Option(None, "--thread", help="Continue a conversation by its id.")) -> None:
        """Ask the agent about your settings, changes, score and the platforms' policies."""
        from agent.context import Context
        from agent.graph import build_graph
        from agent.memory import open_memory
        from agent.models import gemini

        async def body(db: Database) -> None:
            async with db.connection() as conn:
                user = await user_by_email(conn, email)
            checkpointer, store = await open_memory(db)
            graph = build_graph(db=db, checkpointer=checkpointer, store=store, model=gemini(get_settings()))
            context = Context(user_id=user["id"], tier=user["tier"], channel="chat")
            thread_id = uuid.UUID(thread) if thread else uuid.uuid4()
            if question:
                await _turn(graph, db, context, thread_id, question)
                return
            console.print(f"[dim]Conversation {thread_id}. Ask away; 'exit' to stop.[/]")
            while True:
                try:
                    line = (await asyncio.to_thread(input, "you> ")).strip()
                except EOFError:
                    break
                if line.lower() in QUIT:
                    break
                if line:
                    await _turn(graph, db, context, thread_id, line)

        run(body)
