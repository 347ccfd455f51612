"""Xero's answer shapes: the envelope, batch answers, and its error bodies."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, g, request

from local.xero_sandbox.contacts import ElementResult
from local.xero_sandbox.formats import envelope_timestamp, to_json
from local.xero_sandbox.state import Organisation, SandboxState

NOT_FOUND = "The resource you're looking for cannot be found"


def api_error(status: int, title: str, detail: str) -> Response:
    return json_response({"Type": None, "Title": title, "Status": status, "Detail": detail}, status)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(to_json(body), status=status, mimetype="application/json")


def validation_exception(elements: list[dict[str, Any]]) -> Response:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }
    return json_response(body, 400)


def post_data_invalid(message: str) -> Response:
    return json_response({"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}, 400)


def query_parse_exception(message: str) -> Response:
    return json_response({"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}, 400)


def envelope(state: SandboxState, key: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    app = state.apps.get(str(g.get("client_id", "")))
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": app.name if app else "",
        "DateTimeUTC": envelope_timestamp(state.clock.now()),
    }
    body.update(extra)
    body[key] = items
    return body


def batch_answer(state: SandboxState, org: Organisation, key: str, results: list[ElementResult]) -> Response:
    for result in results:
        org.stats[f"{key} {'written' if result.ok else 'refused'}"] += 1
    org.stats["largest batch"] = max(org.stats["largest batch"], len(results))
    if summarize_errors() and any(not r.ok for r in results):
        return validation_exception([r.body for r in results if not r.ok])
    items = [r.body | {"StatusAttributeString": "OK"} if r.ok else r.body for r in results]
    return json_response(envelope(state, key, items))


def summarize_errors() -> bool:
    return request.args.get("summarizeErrors", "true").strip().lower() != "false"


def elements(key: str) -> list[dict[str, Any]] | Response:
    body = g.body
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return post_data_invalid(f"The request must carry a non-empty {key} array.")
    return items
