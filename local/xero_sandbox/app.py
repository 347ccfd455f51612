"""The sandbox as a WSGI application: Xero's endpoints, the control endpoints, and fault injection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.json.provider import JSONProvider

from local.xero_sandbox.accounting import accounting_blueprint
from local.xero_sandbox.control import control_blueprint
from local.xero_sandbox.faults import FaultMiddleware, FaultPlan, FaultRule
from local.xero_sandbox.formats import from_json, to_json
from local.xero_sandbox.gateway import Gateway
from local.xero_sandbox.identity import identity_blueprint
from local.xero_sandbox.limits import Limits
from local.xero_sandbox.seed import seeded_state
from local.xero_sandbox.spec import SpecChecker
from local.xero_sandbox.state import SandboxState


class ExactJSON(JSONProvider):
    """Every JSON the sandbox writes (``jsonify`` included) carries Decimals as exact numbers, and every
    JSON it reads keeps non-integer numbers as Decimals."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return to_json(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return from_json(s)


@dataclass
class Sandbox:
    state: SandboxState
    faults: FaultPlan
    flask: Flask
    wsgi: Gateway
    spec: SpecChecker


def create_sandbox(
    state: SandboxState | None = None,
    faults: FaultPlan | None = None,
    *,
    strict: bool = True,
    limits: Limits | None = None,
    spec: SpecChecker | None = None,
) -> Sandbox:
    """A seeded sandbox. ``strict`` refuses request bodies Xero's OpenAPI file rejects (they are
    recorded either way); ``limits`` replaces Xero's default rate limits."""
    state = state or seeded_state()
    if limits is not None:
        state.limiter.configure(limits)
    faults = faults or FaultPlan()
    spec = spec or SpecChecker(strict=strict)
    flask = Flask("xero_sandbox")
    flask.json = ExactJSON(flask)
    flask.register_blueprint(identity_blueprint(state))
    flask.register_blueprint(accounting_blueprint(state, spec))
    flask.register_blueprint(control_blueprint(state, faults, spec))

    def count_fault(rule: FaultRule, tenant_id: str | None) -> None:
        label = rule.kind if rule.kind != "status" else f"status {rule.status}"
        with state.lock:
            state.stats[f"fault {label}"] += 1
            org = state.organisations.get(tenant_id or "")
            if org is not None:
                org.stats["faults"] += 1
                org.stats[f"fault {label}"] += 1

    def count_refusal(kind: str, tenant_id: str | None) -> None:
        with state.lock:
            state.stats[f"refused: {kind}"] += 1
            org = state.organisations.get(tenant_id or "")
            if org is not None:
                org.stats[f"refused: {kind}"] += 1

    # Xero's front door comes first on both ways in: the served one (faults, then the API) and the
    # Flask test client's (the API alone).
    api = flask.wsgi_app
    flask.wsgi_app = Gateway(api, on_refusal=count_refusal)  # type: ignore[method-assign]
    wsgi = Gateway(FaultMiddleware(api, faults, on_fault=count_fault), on_refusal=count_refusal)
    return Sandbox(state=state, faults=faults, flask=flask, wsgi=wsgi, spec=spec)
