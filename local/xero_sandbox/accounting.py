"""Xero's accounting API under ``/api.xro/2.0``: authorisation of each call, and the settings reads
(Organisation, Accounts, TaxRates). Contacts, invoices and payments are added beside these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, g, jsonify, request

from local.xero_sandbox.state import Organisation, SandboxState

PREFIX = "/api.xro/2.0"
SETTINGS_SCOPES = ("accounting.settings", "accounting.settings.read")


def api_error(status: int, title: str, detail: str) -> Any:
    response = jsonify({"Type": None, "Title": title, "Status": status, "Detail": detail})
    response.status_code = status
    return response


def authorise(state: SandboxState, scopes: tuple[str, ...]) -> Organisation | Any:
    """The organisation this call may reach, or Xero's 401/403 answer."""
    header = request.headers.get("Authorization", "")
    record = state.access_record(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
    if record is None:
        return api_error(401, "Unauthorized", "AuthenticationUnsuccessful")
    tenant_id = request.headers.get("xero-tenant-id", "")
    grant = state.grants[record.grant_id]
    if tenant_id not in grant.connections or tenant_id not in state.organisations:
        return api_error(403, "Forbidden", "AuthorizationUnsuccessful")
    if not any(s in record.scopes for s in scopes):
        return api_error(403, "Forbidden", "AuthorizationUnsuccessful: insufficient scope")
    g.tenant_id = tenant_id
    return state.organisations[tenant_id]


def guarded(state: SandboxState, scopes: tuple[str, ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator: authorise, count, then call the view with the organisation, under the lock."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            with state.lock:
                org = authorise(state, scopes)
                if not isinstance(org, Organisation):
                    return org
                state.stats[f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"] += 1
                return view(org, **kwargs)

        wrapper.__name__ = view.__name__
        return wrapper

    return decorate


def accounting_blueprint(state: SandboxState) -> Blueprint:
    bp = Blueprint("accounting", __name__, url_prefix=PREFIX)

    @bp.get("/Organisation")
    @guarded(state, SETTINGS_SCOPES)
    def organisation(org: Organisation) -> Any:
        return jsonify({"Status": "OK", "Organisations": [org.profile]})

    @bp.get("/Accounts")
    @guarded(state, SETTINGS_SCOPES)
    def accounts(org: Organisation) -> Any:
        return jsonify({"Status": "OK", "Accounts": org.accounts})

    @bp.get("/Accounts/<account_id>")
    @guarded(state, SETTINGS_SCOPES)
    def account(org: Organisation, account_id: str) -> Any:
        found = [a for a in org.accounts if a["AccountID"] == account_id]
        if not found:
            return api_error(404, "Not Found", "The resource you're looking for cannot be found")
        return jsonify({"Status": "OK", "Accounts": found})

    @bp.get("/TaxRates")
    @guarded(state, SETTINGS_SCOPES)
    def tax_rates(org: Organisation) -> Any:
        return jsonify({"Status": "OK", "TaxRates": org.tax_rates})

    return bp
