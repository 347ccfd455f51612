"""The local HTTP API: routes from template.yaml, events as API Gateway sends them, IAM enforced."""

from __future__ import annotations

import base64
import io
from typing import Any
from urllib.parse import unquote

import pytest

from local.apigw import HttpApi, Route, http_api_event, template_routes


def test_routes_are_read_from_the_template_with_their_auth():
    routes = {r.route_key: r for r in template_routes()}

    assert routes["GET /xero/connect"].function == "OAuthFunction"
    assert not routes["GET /xero/callback"].iam
    assert routes["ANY /v1/{proxy+}"].iam
    assert routes["ANY /v1/{proxy+}"].handler_path == "functions.management.handler.lambda_handler"


def test_greedy_and_named_path_parameters_match():
    proxy = Route("F", "h.h", "ANY", "/v1/{proxy+}", iam=True)
    named = Route("F", "h.h", "GET", "/v1/accounts/{account_id}/status", iam=False)

    assert proxy.match("POST", "/v1/accounts/a1/disconnect") == {"proxy": "accounts/a1/disconnect"}
    assert named.match("GET", "/v1/accounts/a1/status") == {"account_id": "a1"}
    assert named.match("POST", "/v1/accounts/a1/status") is None
    assert named.match("GET", "/v1/accounts/a1/b/status") is None


def test_event_shape_matches_api_gateway_payload_2():
    event = http_api_event(
        method="POST",
        path="/v1/x",
        query="a=1&a=2&b=",
        headers={"Cookie": "k=v; z=1", "Content-Type": "application/json"},
        body=b'{"x": 1}',
        iam={"userArn": "arn:aws:iam::123456789012:user/platform"},
    )

    assert event["version"] == "2.0"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["k=v", "z=1"]
    assert event["body"] == '{"x": 1}'
    assert not event["isBase64Encoded"]
    assert event["requestContext"]["authorizer"]["iam"]["userArn"].endswith("user/platform")
    binary = http_api_event(method="POST", path="/", headers={"content-type": "application/octet-stream"}, body=b"\0")
    assert binary["isBase64Encoded"]
    assert base64.b64decode(binary["body"]) == b"\0"


def wsgi_call(app: HttpApi, method: str, path: str) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b""),
        "HTTP_HOST": "127.0.0.1:3000",
    }
    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def test_iam_routes_refuse_unsigned_requests_before_the_handler_runs():
    calls: list[dict[str, Any]] = []
    app = HttpApi([Route("F", "h.h", "ANY", "/v1/{proxy+}", iam=True)], authorize=lambda *a: None)

    def handler(event: dict[str, Any], ctx: object) -> dict[str, Any]:
        calls.append(event)
        return {"statusCode": 200}

    app._handlers["h.h"] = handler

    status, _, _ = wsgi_call(app, "GET", "/v1/accounts")

    assert status.startswith("403")
    assert calls == []


def test_answers_carry_status_headers_and_cookies():
    app = HttpApi([Route("F", "h.h", "GET", "/xero/connect", iam=False)])
    app._handlers["h.h"] = lambda event, ctx: {
        "statusCode": 302,
        "headers": {"Location": "https://x"},
        "cookies": ["a=b; Path=/"],
        "body": "",
    }

    status, headers, _ = wsgi_call(app, "GET", "/xero/connect")
    missing, _, _ = wsgi_call(app, "GET", "/nowhere")

    assert status == "302 Found"
    assert ("Location", "https://x") in headers
    assert ("Set-Cookie", "a=b; Path=/") in headers
    assert missing.startswith("404")


def test_a_body_labelled_json_that_is_not_utf8_is_passed_on_base64_encoded():
    event = http_api_event(method="PUT", path="/v1/x", headers={"Content-Type": "application/json"}, body=b"\x80{")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x80{"


def test_a_utf8_json_body_is_passed_on_as_text():
    event = http_api_event(method="PUT", path="/v1/x", headers={"Content-Type": "application/json"}, body=b'{"a":1}')

    assert (event["isBase64Encoded"], event["body"]) == (False, '{"a":1}')


# --- the path, as API Gateway hands it over ----------------------------------------------------


class Seen:
    """A handler and an authorizer that record what they were given."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.signed_paths: list[str] = []

    def handler(self, event: dict[str, Any], ctx: object) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200}

    def authorize(self, method: str, path: str, *rest: Any) -> dict[str, Any]:
        self.signed_paths.append(path)
        return {"userArn": "arn:aws:iam::123456789012:user/platform"}


def proxy_api(seen: Seen) -> HttpApi:
    app = HttpApi([Route("F", "h.h", "ANY", "/v1/{proxy+}", iam=True)], authorize=seen.authorize)
    app._handlers["h.h"] = seen.handler
    return app


def test_the_function_gets_the_path_decoded_once_and_the_signature_is_checked_on_the_sent_path():
    seen = Seen()

    proxy_api(seen).invoke("PUT", "/v1/tax-mappings/gst%2515%2Fa%20b%C3%A9%E2%82%AC%23", "", {}, b"")

    (event,) = seen.events
    decoded = "/v1/tax-mappings/gst%15/a b\u00e9\u20ac#"
    assert event["rawPath"] == decoded
    assert event["requestContext"]["http"]["path"] == decoded
    assert event["pathParameters"] == {"proxy": "tax-mappings/gst%15/a b\u00e9\u20ac#"}
    assert seen.signed_paths == ["/v1/tax-mappings/gst%2515%2Fa%20b%C3%A9%E2%82%AC%23"]


def test_named_route_segments_are_matched_on_the_decoded_path_as_api_gateway_routes():
    named = Route("F", "h.h", "GET", "/v1/things/{thing_id}", iam=False)
    app = HttpApi([named])
    app._handlers["h.h"] = Seen().handler

    assert app.invoke("GET", "/v1/things/a%20b", "", {}, b"")["statusCode"] == 200
    assert app.invoke("GET", "/v1/things/a%2Fb", "", {}, b"")["statusCode"] == 404, "%2F is a slash once decoded"


def wsgi_environ(path_info: str, raw_uri: str | None) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b""),
        "HTTP_HOST": "127.0.0.1:3000",
    }
    if raw_uri is not None:
        environ |= {"RAW_URI": raw_uri, "REQUEST_URI": raw_uri}
    return environ


@pytest.mark.parametrize(
    ("path_info", "raw_uri", "sent"),
    [
        # What werkzeug's server passes: PATH_INFO decoded (as latin-1), the request target as sent.
        ("/v1/a/b%c\u00c3\u00a9", "/v1/a%2Fb%25c%C3%A9?x=1", "/v1/a%2Fb%25c%C3%A9"),
        # A client that sent a space and UTF-8 raw: encoded as any HTTP client would have sent them.
        ("/v1/a b\u00c3\u00a9", "/v1/a b\u00c3\u00a9", "/v1/a%20b%C3%A9"),
        # A WSGI server without the raw target: PATH_INFO encoded back.
        ("/v1/a b%c\u00c3\u00a9", None, "/v1/a%20b%25c%C3%A9"),
    ],
)
def test_over_wsgi_the_path_as_sent_is_what_reaches_the_gateway(path_info: str, raw_uri: str | None, sent: str):
    seen = Seen()

    b"".join(proxy_api(seen)(wsgi_environ(path_info, raw_uri), lambda status, headers: None))

    assert seen.signed_paths == [sent]
    assert seen.events[0]["rawPath"] == unquote(sent)
