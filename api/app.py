"""The app factory: one FastAPI app per Settings, with everything opened in the lifespan (nothing at import).

Pieces that live with their own feature (Redis, the agent graph, the LangGraph-protocol routes, health and
metrics) are attached when their module exists, so each can land on its own.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from types import ModuleType

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import errors, pages
from api.auth import CSRF_HEADER
from api.middleware import BodyLimit, SecurityHeaders
from api.routes import accounts, extension, privacy
from memory.db import open_database
from memory.settings import Settings

log = logging.getLogger(__name__)

# Modules owned by the streaming/operations side; each may offer `router`, `lifespan(app)`, `install(app)`.
OPTIONAL_MODULES = ("api.routes.threads", "api.observability", "api.redis_state", "api.housekeeping")


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


StartupHook = Callable[[FastAPI], Awaitable[None]]


def create_app(settings: Settings, *, optional_modules: Sequence[str] = OPTIONAL_MODULES,
               on_ready: Sequence[StartupHook] = ()) -> FastAPI:
    """`optional_modules` narrows the attached features (tests of accounts need no agent graph);
    `on_ready` hooks run once everything is open (the serve command loads demo data there)."""
    modules = [m for m in (_optional(n) for n in optional_modules) if m is not None]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.db = await stack.enter_async_context(open_database(settings))
            # Redis, events and the agent graph (app.state.redis / .graph) come from their owners' hooks.
            for module in modules:
                hook = getattr(module, "lifespan", None)
                if hook is not None:
                    await stack.enter_async_context(hook(app))
            for ready in on_ready:
                await ready(app)
            yield

    docs = settings.env != "production"
    app = FastAPI(title="PrivyLoop API", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json" if docs else None)
    app.state.settings = settings
    app.state.db = None
    errors.install(app)

    app.include_router(accounts.router)
    app.include_router(extension.router)
    app.include_router(privacy.router)
    app.include_router(pages.router(with_docs=docs))
    for module in modules:
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
        install = getattr(module, "install", None)
        if install is not None:
            install(app)  # middleware, metrics, logging

    # Added last = outermost: CORS answers preflights before limits; headers land on every response.
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.allowed_origins, allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", CSRF_HEADER, "Last-Event-ID"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders, settings=settings)
    return app
