"""Fetch stage: the raw bytes of a policy from a URL (bounded in time, size and redirects) or a local file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from ingest.errors import DocumentTooLarge, FetchFailed, UnsupportedDocument

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(15.0, connect=5.0)

# Content types we can extract; anything else is refused before its body is read.
KINDS = {
    "text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf",
    "text/markdown": "markdown", "text/x-markdown": "markdown", "text/plain": "text",
}
SUFFIXES = {".html": "html", ".htm": "html", ".pdf": "pdf", ".md": "markdown", ".markdown": "markdown",
            ".txt": "text", ".text": "text"}


@dataclass(frozen=True)
class Fetched:
    source: str          # the URL finally answered (after redirects) or the resolved file path
    kind: str            # html, pdf, markdown or text
    data: bytes
    url: str | None      # what a citation links to

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def fetch(source: str | Path, *, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS,
          timeout: httpx.Timeout = TIMEOUT) -> Fetched:
    if is_url(source):
        return fetch_url(str(source), max_bytes=max_bytes, max_redirects=max_redirects, timeout=timeout)
    return read_file(Path(source), max_bytes=max_bytes)


def read_file(path: Path, *, max_bytes: int = MAX_BYTES) -> Fetched:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedDocument(f"{path.name}: unsupported file type '{path.suffix or '(none)'}' "
                                  f"(use .html, .pdf, .md or .txt)")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentTooLarge(f"{path.name} is {size} bytes; the limit is {max_bytes}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise FetchFailed(f"no such file: {path}") from None
    except IsADirectoryError:
        raise FetchFailed(f"{path} is a directory, not a document") from None
    except OSError as exc:
        raise FetchFailed(f"cannot read {path}: {exc.strerror}") from exc
    return Fetched(source=str(path.resolve()), kind=kind, data=data, url=None)


def _kind_of(content_type: str, url: str) -> str:
    mime = content_type.split(";")[0].strip().lower()
    if mime in KINDS:
        return KINDS[mime]
    # Some servers label Markdown or text as octet-stream; the path suffix is the better witness then.
    if mime in ("", "application/octet-stream"):
        suffix = Path(httpx.URL(url).path).suffix.lower()
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
    raise UnsupportedDocument(f"{url}: unsupported content type '{mime or '(none)'}'")


def fetch_url(url: str, *, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS,
              timeout: httpx.Timeout = TIMEOUT) -> Fetched:
    headers = {"User-Agent": "PrivyLoop-policy-ingest/0.1", "Accept": ", ".join(KINDS)}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=max_redirects,
                          headers=headers) as client, client.stream("GET", url) as resp:
            if resp.status_code >= 400:
                raise FetchFailed(f"{url}: the server answered HTTP {resp.status_code}")
            final = str(resp.url)
            kind = _kind_of(resp.headers.get("content-type", ""), final)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DocumentTooLarge(f"{url} is {declared} bytes; the limit is {max_bytes}")
            body = bytearray()
            # Counted while streaming: a missing or lying Content-Length cannot make us read more.
            for part in resp.iter_bytes():
                body.extend(part)
                if len(body) > max_bytes:
                    raise DocumentTooLarge(f"{url} is larger than the limit of {max_bytes} bytes")
    except httpx.TooManyRedirects:
        raise FetchFailed(f"{url}: more than {max_redirects} redirects") from None
    except httpx.TimeoutException:
        raise FetchFailed(f"{url}: timed out") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{url}: unreachable ({type(exc).__name__}: {exc})") from None
    return Fetched(source=final, kind=kind, data=bytes(body), url=final)
