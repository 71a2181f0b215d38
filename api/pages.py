"""The few HTML pages the server itself serves: a landing page and the API docs, both under a strict CSP."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PrivyLoop</title></head>
<body><h1>PrivyLoop API</h1>
<p>The server is running. Sign in from the chat UI or the browser extension.</p>
<p><a href="/docs">API documentation</a> · <a href="/openapi.json">OpenAPI</a></p>
</body></html>"""

SWAGGER_CDN = "https://cdn.jsdelivr.net"


def router(*, with_docs: bool) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/", response_class=HTMLResponse)
    async def landing() -> HTMLResponse:
        return HTMLResponse(LANDING)

    if with_docs:
        @r.get("/docs", response_class=HTMLResponse)
        async def docs(request: Request) -> HTMLResponse:
            # Swagger UI starts from one inline script: allow exactly that one through a per-response nonce.
            nonce = secrets.token_urlsafe(16)
            html = get_swagger_ui_html(openapi_url="/openapi.json", title="PrivyLoop API").body.decode()
            html = html.replace("<script>", f'<script nonce="{nonce}">')
            csp = (f"default-src 'none'; script-src 'nonce-{nonce}' {SWAGGER_CDN}; style-src {SWAGGER_CDN}; "
                   f"img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; base-uri 'none'; "
                   f"form-action 'none'; frame-ancestors 'none'")
            return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    return r
