"""Fetch stage against a real local HTTP server: redirects bounded, content type and size checked."""

from __future__ import annotations

import pytest

from ingest.errors import DocumentTooLarge, FetchFailed, UnsupportedDocument
from ingest.fetch import fetch_url

HTML = b"<html><body><article><h1>Policy</h1><p>" + b"We collect data. " * 20 + b"</p></article></body></html>"


def test_follows_a_few_redirects_and_reports_the_final_url(http_server) -> None:
    base, routes = http_server
    routes["/old"] = (301, {"Location": "/policy"}, b"")
    routes["/policy"] = (200, {"Content-Type": "text/html; charset=utf-8"}, HTML)
    got = fetch_url(f"{base}/old")
    assert got.kind == "html" and got.url == f"{base}/policy" and got.data == HTML


def test_redirect_loops_stop_at_the_limit(http_server) -> None:
    base, routes = http_server
    for i in range(10):
        routes[f"/r{i}"] = (302, {"Location": f"/r{i + 1}"}, b"")
    with pytest.raises(FetchFailed, match="more than 3 redirects"):
        fetch_url(f"{base}/r0", max_redirects=3)


def test_unsupported_content_type_is_refused(http_server) -> None:
    base, routes = http_server
    routes["/img"] = (200, {"Content-Type": "image/png"}, b"\x89PNG....")
    with pytest.raises(UnsupportedDocument, match="image/png"):
        fetch_url(f"{base}/img")


def test_too_large_is_refused_by_header_and_while_streaming(http_server) -> None:
    base, routes = http_server
    routes["/big"] = (200, {"Content-Type": "text/plain"}, b"x" * 5000)
    with pytest.raises(DocumentTooLarge):
        fetch_url(f"{base}/big", max_bytes=1000)
    # A server that does not declare its length: counting while streaming still stops it.
    routes["/undeclared"] = (200, {"Content-Type": "text/plain", "Content-Length": "omit", "Connection": "close"},
                             b"y" * 5000)
    with pytest.raises(DocumentTooLarge, match="larger than the limit"):
        fetch_url(f"{base}/undeclared", max_bytes=4999)


def test_http_errors_and_unreachable_hosts_name_the_problem(http_server) -> None:
    base, _ = http_server
    with pytest.raises(FetchFailed, match="HTTP 404"):
        fetch_url(f"{base}/missing")
    with pytest.raises(FetchFailed, match="unreachable"):
        fetch_url("http://127.0.0.1:9/policy")
