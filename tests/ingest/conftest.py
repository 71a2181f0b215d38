"""Fixtures for the policy tests: one embedder per run, a small policy corpus, a local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ingest.embeddings import MiniLMEmbedder

ACME_POLICY = """# Acme Privacy Policy

## Information we collect

We collect your name, email address and phone number when you create an account. We also collect
the content you upload, such as photos and comments.

## Location data

We use GPS signals and Wi-Fi access points to estimate where your device is. Precise location is
only collected when you turn on location services for the Acme app.

## Sharing with advertisers

We do not sell your personal information. We share aggregated, de-identified statistics with
advertising partners so they can measure how their campaigns perform.

## Data retention

We keep your search history for 18 months, after which it is anonymised. Account data is kept
until you delete your account.

## Deleting your account

You can delete your account at any time from Settings. We erase your content within 30 days,
except where the law requires us to keep it.

## Children

Acme is not directed at children under 13 and we do not knowingly collect their information.
"""


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture
def acme_policy(tmp_path: Path) -> Path:
    path = tmp_path / "acme.md"
    path.write_text(ACME_POLICY, encoding="utf-8")
    return path


class _Routes(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"nope"))
        self.send_response(status)
        for k, v in headers.items():
            if v != "omit":   # "omit" lets a test send a body without declaring its length
                self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, tuple[int, dict[str, str], bytes]]]]:
    """A real HTTP server on 127.0.0.1: (base URL, routes to fill with path -> (status, headers, body))."""
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    handler = type("Handler", (_Routes,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()
