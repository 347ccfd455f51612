"""Xero's front door: two limits applied before a request reaches any API, whatever it asks for.

- A URL longer than :data:`MAX_URL_LENGTH` characters (the whole URL as the client sends it: scheme,
  host, path and query) is answered ``404`` "The resource you're looking for cannot be found" - not a
  400, so a client cannot tell it from a missing resource (XeroAPI/Xero-NetStandard#471: 404 "with a
  total URL length of >2091"; XeroAPI/xero-node#404: 52 contact IDs answered, 53 a 404;
  XeroAPI/Xero-OpenAPI#534: 52 invoice IDs answered, 53 a 404). The body is the message as plain text,
  which is how the SDKs quote it (the sandbox's reading; the exact bytes are not published).
- A write body over :data:`MAX_BODY_BYTES` is answered ``413`` with the problem body Xero's gateway
  gives an oversized upload (XeroAPI/Xero-Java#349) and nothing is done. Xero documents the 3.5 MB
  limit (developer.xero.com/documentation/auth-and-limits/xero-api-limits) but not the answer, and
  not whether a MB is 10^6 or 2^20 bytes: the sandbox takes the stricter 3,500,000.

Neither refusal counts against the rate limits (the request never reaches the API) or is kept for an
``Idempotency-Key``. The control endpoints (``/_sandbox``) are exempt.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

MAX_URL_LENGTH = 2091
MAX_BODY_BYTES = 3_500_000
NOT_FOUND_TEXT = b"The resource you're looking for cannot be found"
WRITE_METHODS = ("POST", "PUT", "PATCH")
_CHUNK = 64 * 1024

Refusal = Callable[[str, str | None], None]  # (kind, tenant id)


def request_url(environ: dict[str, Any]) -> str:
    """The URL as the client sent it: ``scheme://host/path?query``, percent-encoding and all."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if not target:
        target = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING", "")
    if query and "?" not in target:
        target = f"{target}?{query}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{target}"


class Gateway:
    """WSGI middleware refusing over-long URLs (404) and oversized write bodies (413)."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], skip_prefix: str = "/_sandbox", on_refusal: Refusal | None = None
    ) -> None:
        self._app = app
        self._skip = skip_prefix
        self._on_refusal = on_refusal

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(self._skip):
            return self._app(environ, start_response)
        tenant = environ.get("HTTP_XERO_TENANT_ID")
        if len(request_url(environ)) > MAX_URL_LENGTH:
            self._refused("url too long", tenant)
            return _answer(start_response, "404 Not Found", NOT_FOUND_TEXT, "text/plain; charset=utf-8")
        if environ.get("REQUEST_METHOD", "GET") in WRITE_METHODS and _body_too_large(environ):
            self._refused("body too large", tenant)
            body = {
                "Title": "RequestEntityTooLarge",
                "Status": 413,
                "Detail": "PayloadTooLarge",
                "Instance": str(uuid.uuid4()),
                "Extensions": {},
            }
            return _answer(
                start_response, "413 Request Entity Too Large", json.dumps(body).encode(), "application/json"
            )
        return self._app(environ, start_response)

    def _refused(self, kind: str, tenant: str | None) -> None:
        if self._on_refusal is not None:
            self._on_refusal(kind, tenant)


def _body_too_large(environ: dict[str, Any]) -> bool:
    """Whether the body passes the limit. A declared length is trusted (the body is read and dropped so
    the connection stays usable); a body without one is read up to the limit and handed on intact."""
    stream = environ.get("wsgi.input")
    try:
        declared = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        declared = -1
    if declared >= 0:
        if declared <= MAX_BODY_BYTES:
            return False
        remaining = declared
        while stream is not None and remaining > 0:
            chunk = stream.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
        return True
    if stream is None or not environ.get("wsgi.input_terminated"):
        return False
    data = stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        while stream.read(_CHUNK):
            pass
        return True
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    return False


def _answer(start_response: Callable[..., Any], status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
