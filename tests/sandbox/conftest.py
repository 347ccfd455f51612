"""The Xero sandbox on its own: a small client over the Flask test client (fast) or real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.xero_sandbox import Sandbox, SandboxServer, create_sandbox
from local.xero_sandbox.formats import from_json, to_json
from local.xero_sandbox.seed import NZ_TENANT
from local.xero_sandbox.state import SandboxState

ALL_SCOPES = (
    "openid",
    "accounting.settings",
    "accounting.contacts",
    "accounting.invoices",
    "accounting.payments",
)
START = 1_780_000_000.0  # 2026-05-28T20:26:40Z: tests run on a fixed sandbox clock


@dataclass
class Answer:
    status: int
    raw: bytes
    headers: dict[str, str]

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def exact(self) -> Any:
        """The body with every non-integer number as the exact Decimal the sandbox wrote."""
        return from_json(self.raw) if self.raw else None

    def items(self, key: str) -> list[dict[str, Any]]:
        body = self.body
        assert isinstance(body, dict), (self.status, body)
        assert key in body, (self.status, body)
        found: list[dict[str, Any]] = body[key]
        return found

    def one(self, key: str) -> dict[str, Any]:
        found = self.items(key)
        assert len(found) == 1, found
        return found[0]

    def messages(self) -> list[str]:
        body = self.body
        elements = body.get("Elements", []) if isinstance(body, dict) else []
        return [e["Message"] for element in elements for e in element.get("ValidationErrors", [])]


Send = Callable[[str, str, dict[str, str], dict[str, str], bytes | None], Answer]


class Api:
    """Calls ``/api.xro/2.0`` as one app for one organisation."""

    def __init__(self, send: Send, token: str, tenant_id: str = NZ_TENANT) -> None:
        self._send = send
        self.token = token
        self.tenant_id = tenant_id

    def as_tenant(self, tenant_id: str) -> Api:
        return Api(self._send, self.token, tenant_id)

    def with_token(self, token: str) -> Api:
        return Api(self._send, token, self.tenant_id)

    def call(
        self,
        method: str,
        resource: str,
        body: Any = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}", "xero-tenant-id": self.tenant_id} | (headers or {})
        if key is not None:
            headers["Idempotency-Key"] = key
        data = None if body is None else to_json(body).encode()
        query = {name: str(value) for name, value in params.items()}
        return self._send(method, f"/api.xro/2.0/{resource}", headers, query, data)

    def get(self, resource: str, **params: Any) -> Answer:
        return self.call("GET", resource, **params)

    def put(self, resource: str, body: Any, key: str | None = None, **params: Any) -> Answer:
        return self.call("PUT", resource, body, key, **params)

    def post(self, resource: str, body: Any, key: str | None = None, **params: Any) -> Answer:
        return self.call("POST", resource, body, key, **params)


def flask_sender(sandbox: Sandbox) -> Send:
    client = sandbox.flask.test_client()

    def send(method: str, path: str, headers: dict[str, str], query: dict[str, str], data: bytes | None) -> Answer:
        if data is not None:
            headers = headers | {"Content-Type": "application/json"}
        response = client.open(path, method=method, headers=headers, query_string=query, data=data)
        return Answer(response.status_code, response.get_data(), dict(response.headers))

    return send


def http_sender(base_url: str, timeout: float = 5.0) -> Send:
    def send(method: str, path: str, headers: dict[str, str], query: dict[str, str], data: bytes | None) -> Answer:
        if data is not None:
            headers = headers | {"Content-Type": "application/json"}
        response = httpx.request(method, base_url + path, headers=headers, params=query, content=data, timeout=timeout)
        return Answer(response.status_code, response.content, dict(response.headers))

    return send


@pytest.fixture
def sandbox_app() -> Iterator[Sandbox]:
    """A fresh seeded sandbox on a fixed clock, driven in-process; spec violations fail the test."""
    from local.xero_sandbox.clock import SandboxClock
    from local.xero_sandbox.seed import seeded_state

    app = create_sandbox(seeded_state(SandboxState(clock=SandboxClock(start=START, speed=1e-9))))
    yield app
    violations = app.spec.take()
    if violations:
        pytest.fail(f"request bodies the Xero OpenAPI spec rejects: {[v.as_json() for v in violations]}")


@pytest.fixture
def xero(sandbox_app: Sandbox) -> Api:
    """The NZ organisation, every accounting scope (granular)."""
    return Api(flask_sender(sandbox_app), sandbox_app.state.grant_access(ALL_SCOPES))


@pytest.fixture
def xero_http(sandbox: SandboxServer) -> Api:
    """The same, over real HTTP to the sandbox served on loopback."""
    return Api(http_sender(sandbox.url), sandbox.sandbox.state.grant_access(ALL_SCOPES))


# --- builders -----------------------------------------------------------------------------------------


def contact(name: str = "Acme Ltd", **fields: Any) -> dict[str, Any]:
    return {"Name": name} | fields


def line(
    amount: str | int = "100.00", quantity: str | int = 1, account: str = "200", tax: str = "OUTPUT2", **extra: Any
) -> dict[str, Any]:
    return {
        "Description": "Consulting",
        "Quantity": Decimal(str(quantity)),
        "UnitAmount": Decimal(str(amount)),
        "AccountCode": account,
        "TaxType": tax,
    } | extra


def invoice(
    contact_id: str, number: str | None = "INV-100", status: str = "AUTHORISED", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-05-01",
        "DueDate": "2026-05-31",
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": [line()],
    }
    if number is not None:
        body["InvoiceNumber"] = number
    return body | fields


def create_contact(api: Api, name: str = "Acme Ltd", **fields: Any) -> str:
    answer = api.put("Contacts", {"Contacts": [contact(name, **fields)]})
    assert answer.status == 200, answer.body
    return str(answer.one("Contacts")["ContactID"])


def create_invoice(api: Api, contact_id: str, number: str | None = "INV-100", **fields: Any) -> dict[str, Any]:
    answer = api.put("Invoices", {"Invoices": [invoice(contact_id, number, **fields)]})
    assert answer.status == 200, answer.body
    return answer.one("Invoices")


def pay(api: Api, invoice_id: str, amount: str, code: str = "090", **fields: Any) -> Answer:
    body = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": code}, "Date": "2026-05-10"}
    return api.put("Payments", {"Payments": [body | {"Amount": Decimal(amount)} | fields]})
