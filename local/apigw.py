"""API Gateway (HTTP API, payload 2.0) on loopback: the routes template.yaml declares, served as WSGI and
dispatched to the real handlers as the events API Gateway would send them.

Routes come from each function's ``HttpApi`` events (path, method, ``AWS_IAM`` auth). An IAM route
only reaches its handler when ``authorize`` (the local stack's SigV4 check) accepts the request, and
then carries the caller in ``requestContext.authorizer.iam`` as API Gateway does.

The path, as an HTTP API hands it over: percent-decoded once (UTF-8), in ``rawPath`` and
``requestContext.http.path`` alike, and routes and ``pathParameters`` are matched on that decoded
path, so ``/a%2Fb`` arrives as ``/a/b`` and ``/gst%2515`` as ``/gst%15``. Live captures show it:
``/capture/space%20value`` arrives as ``"rawPath": "/capture/space value"`` (hotsock/voker's
API Gateway v2 fixture), ``/a%2Fb`` as ``"rawPath": "/a/b"`` (fastify/aws-lambda-fastify#169),
``/RSC/%40id%2Fassets%2Frsf0.js%23save.txt`` as ``/RSC/@id/assets/rsf0.js#save.txt``
(honojs/hono#2156); AWS's guide says "API Gateway decodes URL-encoded request parameters before
passing them to your backend integration". The query string stays as sent in ``rawQueryString`` and
is decoded in ``queryStringParameters``. The signature is checked on the path as the client sent it.
"""

from __future__ import annotations

import base64
import importlib
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from local.template import load_template

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# Given the request (method, path, query string, headers, body), the IAM caller or None to refuse.
Authorizer = Callable[[str, str, str, dict[str, str], bytes], dict[str, Any] | None]


@dataclass(frozen=True)
class Route:
    function: str
    handler_path: str
    method: str
    path: str
    iam: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def template_routes() -> list[Route]:
    resources = load_template()["Resources"]
    routes = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            auth = props.get("Auth", {}).get("Authorizer")
            routes.append(
                Route(
                    name, resource["Properties"]["Handler"], props["Method"].upper(), props["Path"], auth == "AWS_IAM"
                )
            )
    # Literal paths before greedy ones, as API Gateway prefers the most specific route.
    return sorted(routes, key=lambda r: ("{proxy+}" in r.path, r.method == "ANY"))


def load_handler(handler_path: str) -> Handler:
    module, _, function = handler_path.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), function)
    return handler


def gateway_path(sent: str) -> str:
    """The path an HTTP API gives the function for a request path ``sent`` percent-encoded."""
    return unquote(sent, encoding="utf-8", errors="replace")


def http_api_event(
    *,
    method: str,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    route: Route | None = None,
    path_parameters: dict[str, str] | None = None,
    domain: str = "127.0.0.1",
    iam: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    text_body = _is_text(headers.get("content-type", ""))
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key if route else "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".", maxsplit=1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key if route else "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body) and not text_body,
    }
    if params:
        event["queryStringParameters"] = params
    if cookies:
        event["cookies"] = cookies
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        encoded = not text_body
        if text_body:
            try:
                event["body"] = body.decode()
            except UnicodeDecodeError:  # labelled as text but not UTF-8: passed on base64-encoded, as binary
                encoded = True
        if encoded:
            event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = encoded
    if iam is not None:
        event["requestContext"]["authorizer"] = {"iam": iam}
    return event


def _is_text(content_type: str) -> bool:
    return (
        content_type.startswith(("text/", "application/json", "application/x-www-form-urlencoded")) or not content_type
    )


class HttpApi:
    """A WSGI application that behaves like the deployed HTTP API in front of the handlers."""

    def __init__(
        self,
        routes: list[Route] | None = None,
        *,
        authorize: Authorizer | None = None,
        context_factory: Callable[[Route], Any] | None = None,
    ) -> None:
        self.routes = routes if routes is not None else template_routes()
        self._authorize = authorize
        self._context = context_factory or (lambda route: None)
        self._handlers: dict[str, Handler] = {}

    def invoke(self, method: str, sent: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """The handler's answer to one request, or API Gateway's own 404/403.

        ``sent`` is the request's path as the client sent it, percent-encoded; the function gets it
        decoded (:func:`gateway_path`), as from API Gateway.
        """
        path = gateway_path(sent)
        for route in self.routes:
            params = route.match(method, path)
            if params is None:
                continue
            iam = None
            if route.iam:
                iam = self._authorize(method, sent, query, headers, body) if self._authorize else None
                if iam is None:
                    return {
                        "statusCode": 403,
                        "body": '{"message":"Forbidden"}',
                        "headers": {"content-type": "application/json"},
                    }
            host = headers.get("host") or headers.get("Host") or "127.0.0.1"
            event = http_api_event(
                method=method,
                path=path,
                query=query,
                headers=headers,
                body=body,
                route=route,
                path_parameters=params or None,
                domain=host,
                iam=iam,
            )
            handler = self._handlers.get(route.handler_path) or load_handler(route.handler_path)
            self._handlers[route.handler_path] = handler
            return handler(event, self._context(route))
        return {"statusCode": 404, "body": '{"message":"Not Found"}', "headers": {"content-type": "application/json"}}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        answer = self.invoke(
            environ["REQUEST_METHOD"], _sent_path(environ), environ.get("QUERY_STRING", ""), headers, body
        )
        return _wsgi_answer(answer, start_response)


def _sent_path(environ: dict[str, Any]) -> str:
    """The request path as the client sent it: WSGI's PATH_INFO is already decoded (and as latin-1).

    Characters a client should have encoded but sent raw (a space, UTF-8 bytes) are encoded here, as
    an HTTP client library would have; what was already percent-encoded is left exactly as it was.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return quote(urlsplit(raw).path.encode("latin-1", "replace"), safe=_PATH_SAFE + "%") or "/"
    decoded: str = environ.get("PATH_INFO", "/")
    return quote(decoded.encode("latin-1", "replace"), safe=_PATH_SAFE)


_PATH_SAFE = "/-_.~!$&'()*+,;=:@"


def _wsgi_answer(answer: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    status = int(answer.get("statusCode", 200))
    raw = answer.get("body") or ""
    payload = base64.b64decode(raw) if answer.get("isBase64Encoded") else str(raw).encode()
    headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (answer.get("headers") or {}).items()]
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers += [(name, str(v)) for v in values]
    headers += [("Set-Cookie", cookie) for cookie in answer.get("cookies", [])]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(len(payload))))
    start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
    return [payload]


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
