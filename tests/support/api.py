"""Calling the management API as the platform backend does: through the local HTTP API (routes and IAM
gate from template.yaml), as a signed caller unless told otherwise."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from local.apigw import HttpApi
from tests.support.events import FakeContext

PLATFORM_CALLER = {"accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:role/platform-backend"}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None


class ManagementApi:
    def __init__(self, *, signed: bool = True) -> None:
        self.http = HttpApi(
            authorize=(lambda *request: PLATFORM_CALLER) if signed else None,
            context_factory=lambda route: FakeContext(),
        )

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, query: str = "") -> Answer:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        headers = {"host": "127.0.0.1:3000", "content-type": "application/json"}
        answer = self.http.invoke(method, path, query, headers, payload)
        text = answer.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Answer(
            int(answer["statusCode"]), parsed, {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        )

    def get(self, path: str, *, query: str = "") -> Answer:
        return self.call("GET", path, query=query)

    def put(self, path: str, body: Any) -> Answer:
        return self.call("PUT", path, body)

    def patch(self, path: str, body: Any) -> Answer:
        return self.call("PATCH", path, body)

    def post(self, path: str, body: Any = None) -> Answer:
        return self.call("POST", path, body)

    def delete(self, path: str) -> Answer:
        return self.call("DELETE", path)
