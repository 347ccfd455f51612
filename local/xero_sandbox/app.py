"""The sandbox as a WSGI application: Xero's endpoints, the control endpoints, and fault injection."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from local.xero_sandbox.accounting import accounting_blueprint
from local.xero_sandbox.control import control_blueprint
from local.xero_sandbox.faults import FaultMiddleware, FaultPlan
from local.xero_sandbox.identity import identity_blueprint
from local.xero_sandbox.seed import seeded_state
from local.xero_sandbox.state import SandboxState


@dataclass
class Sandbox:
    state: SandboxState
    faults: FaultPlan
    flask: Flask
    wsgi: FaultMiddleware


def create_sandbox(state: SandboxState | None = None, faults: FaultPlan | None = None) -> Sandbox:
    state = state or seeded_state()
    faults = faults or FaultPlan()
    flask = Flask("xero_sandbox")
    flask.json.sort_keys = False  # type: ignore[attr-defined]
    flask.register_blueprint(identity_blueprint(state))
    flask.register_blueprint(accounting_blueprint(state))
    flask.register_blueprint(control_blueprint(state, faults))
    return Sandbox(state=state, faults=faults, flask=flask, wsgi=FaultMiddleware(flask.wsgi_app, faults))
