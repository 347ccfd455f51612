"""The sandbox's own control and inspection endpoints, under ``/_sandbox`` (not part of Xero)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from local.xero_sandbox.faults import FaultPlan, FaultRule
from local.xero_sandbox.state import ConsentPolicy, SandboxState


def control_blueprint(state: SandboxState, faults: FaultPlan) -> Blueprint:
    bp = Blueprint("control", __name__, url_prefix="/_sandbox")

    @bp.post("/apps")
    def register_app() -> Any:
        body = request.get_json(force=True)
        app = state.add_app(body["client_id"], body["client_secret"], set(body.get("redirect_uris", [])))
        return jsonify({"client_id": app.client_id, "redirect_uris": sorted(app.redirect_uris)})

    @bp.post("/consent")
    def consent() -> Any:
        body = request.get_json(force=True)
        with state.lock:
            state.consent = ConsentPolicy(
                tenant_ids=body.get("tenant_ids"),
                deny=bool(body.get("deny", False)),
                user_id=body.get("user_id"),
            )
        return jsonify({"ok": True})

    @bp.post("/clock")
    def clock() -> Any:
        body = request.get_json(force=True)
        if "advance_seconds" in body:
            state.clock.advance(float(body["advance_seconds"]))
        if "speed" in body:
            state.clock.set_speed(float(body["speed"]))
        return jsonify({"now": state.clock.now(), "speed": state.clock.speed})

    @bp.post("/faults")
    def set_faults() -> Any:
        body = request.get_json(force=True)
        faults.set([FaultRule(**rule) for rule in body.get("rules", [])], seed=body.get("seed"))
        return jsonify({"rules": faults.describe()})

    @bp.get("/faults")
    def get_faults() -> Any:
        return jsonify({"rules": faults.describe(), "injected": dict(faults.injected)})

    @bp.get("/stats")
    def stats() -> Any:
        with state.lock:
            return jsonify(dict(state.stats))

    @bp.get("/connections")
    def connections() -> Any:
        with state.lock:
            return jsonify(
                [
                    {
                        "grant_id": grant.grant_id,
                        "client_id": grant.client_id,
                        "revoked": grant.revoked,
                        "scopes": grant.scopes,
                        "tenants": sorted(grant.connections),
                    }
                    for grant in state.grants.values()
                ]
            )

    _inspection_routes(bp, state)
    return bp


def _inspection_routes(bp: Blueprint, state: SandboxState) -> None:
    """What the sandbox issued, so a scan can look for it anywhere; and revocation as a user does it at Xero."""

    @bp.get("/issued")
    def issued() -> Any:
        with state.lock:
            return jsonify(
                {
                    "refresh_tokens": sorted(state.refresh_tokens),
                    "access_token_ids": sorted(state.access_tokens),
                    "authorization_codes": sorted(state.codes),
                    "grant_ids": sorted(state.grants),
                    "client_secrets": sorted(app.client_secret for app in state.apps.values()),
                }
            )

    @bp.post("/grants/<grant_id>/revoke")
    def revoke(grant_id: str) -> Any:
        with state.lock:
            if grant_id not in state.grants:
                return jsonify({"error": "unknown grant"}), 404
            state.revoke_grant(grant_id)
        return jsonify({"grant_id": grant_id, "revoked": True})
