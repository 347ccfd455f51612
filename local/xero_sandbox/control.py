"""The sandbox's own control and inspection endpoints, under ``/_sandbox`` (not part of Xero)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local.xero_sandbox.faults import FaultPlan, FaultRule
from local.xero_sandbox.formats import iso_timestamp, parse_date
from local.xero_sandbox.inspection import html_page, org_snapshot, overview
from local.xero_sandbox.spec import SpecChecker
from local.xero_sandbox.state import ConsentPolicy, SandboxState

LIMIT_FIELDS = ("minute", "day", "concurrent", "app_minute")


def control_blueprint(state: SandboxState, faults: FaultPlan, spec: SpecChecker | None = None) -> Blueprint:
    bp = Blueprint("control", __name__, url_prefix="/_sandbox")

    @bp.post("/apps")
    def register_app() -> Any:
        body = request.get_json(force=True)
        app = state.add_app(body["client_id"], body["client_secret"], set(body.get("redirect_uris", [])))
        return jsonify({"client_id": app.client_id, "redirect_uris": sorted(app.redirect_uris)})

    @bp.post("/consent")
    def consent() -> Any:
        body = request.get_json(force=True)
        user_id = body.get("user_id")
        if body.get("user_email"):  # a new Xero user consents: a grant of its own
            user_id = state.add_user(str(body["user_email"])).user_id
        with state.lock:
            state.consent = ConsentPolicy(
                tenant_ids=body.get("tenant_ids"),
                deny=bool(body.get("deny", False)),
                user_id=user_id,
            )
        return jsonify({"ok": True, "user_id": user_id})

    def clock_json() -> dict[str, Any]:
        now = state.clock.now()
        return {"now": now, "iso": iso_timestamp(now) + "Z", "speed": state.clock.speed}

    @bp.get("/clock")
    def read_clock() -> Any:
        return jsonify(clock_json())

    @bp.post("/clock")
    def clock() -> Any:
        body = request.get_json(force=True)
        if "set" in body:
            state.clock.set(float(body["set"]))
        if "iso" in body:
            state.clock.set(datetime.fromisoformat(str(body["iso"]).replace("Z", "+00:00")).timestamp())
        if "advance_seconds" in body:
            state.clock.advance(float(body["advance_seconds"]))
        if "speed" in body:
            state.clock.set_speed(float(body["speed"]))
        return jsonify(clock_json())

    @bp.post("/faults")
    def set_faults() -> Any:
        body = request.get_json(force=True)
        faults.set([FaultRule(**rule) for rule in body.get("rules", [])], seed=body.get("seed"))
        return jsonify({"rules": faults.describe()})

    @bp.get("/faults")
    def get_faults() -> Any:
        return jsonify({"rules": faults.describe(), "injected": dict(faults.injected)})

    @bp.get("/limits")
    def get_limits() -> Any:
        return jsonify(state.limiter.describe(state.clock.now()))

    @bp.post("/limits")
    def set_limits() -> Any:
        body = request.get_json(force=True)
        changes = {name: int(body[name]) for name in LIMIT_FIELDS if name in body}
        if changes:
            state.limiter.configure(None, body.get("tenant_id"), **changes)
        if "tier" in body:
            if body.get("tenant_id") not in state.organisations:
                return jsonify({"error": "a tier needs the tenant_id of an organisation"}), 400
            try:
                state.limiter.set_tier(body["tenant_id"], str(body["tier"]))
            except ValueError as exc:
                return jsonify({"error": str(exc)}), 400
        if body.get("reset"):
            state.limiter.reset()
        return jsonify(state.limiter.describe(state.clock.now()))

    @bp.get("/stats")
    def stats() -> Any:
        with state.lock:
            return jsonify(dict(state.stats))

    @bp.get("/orgs")
    def orgs() -> Any:
        return jsonify(overview(state))

    @bp.get("/orgs/<tenant_id>/stats")
    def org_stats(tenant_id: str) -> Any:
        org = state.organisations.get(tenant_id)
        if org is None:
            return jsonify({"error": "no such organisation"}), 404
        with state.lock:
            return jsonify(dict(org.stats))

    @bp.post("/orgs/<tenant_id>/clones")
    def clone(tenant_id: str) -> Any:
        body = request.get_json(force=True)
        if tenant_id not in state.organisations:
            return jsonify({"error": "no such organisation"}), 404
        return jsonify({"tenant_ids": state.clone_organisation(tenant_id, int(body.get("count", 1)))})

    @bp.post("/orgs/<tenant_id>/lock-dates")
    def lock_dates(tenant_id: str) -> Any:
        """``{"PeriodLockDate": "2026-03-31" | null, "EndOfYearLockDate": ...}``: the keys given change."""
        org = state.organisations.get(tenant_id)
        if org is None:
            return jsonify({"error": "no such organisation"}), 404
        body = request.get_json(force=True)
        chosen = {"PeriodLockDate": org.period_lock_date, "EndOfYearLockDate": org.end_of_year_lock_date}
        for name in chosen:
            if name in body:
                parsed = parse_date(body[name]) if body[name] is not None else None
                if body[name] is not None and parsed is None:
                    return jsonify({"error": f"{name} must be a date (YYYY-MM-DD) or null"}), 400
                chosen[name] = parsed
        state.set_lock_dates(tenant_id, chosen["PeriodLockDate"], chosen["EndOfYearLockDate"])
        return jsonify({name: day.isoformat() if day else None for name, day in chosen.items()})

    @bp.get("/orgs/<tenant_id>")
    def org(tenant_id: str) -> Any:
        snapshot = org_snapshot(state, tenant_id)
        if snapshot is None:
            return jsonify({"error": "no such organisation"}), 404
        return jsonify(snapshot)

    @bp.get("/spec-violations")
    def spec_violations() -> Any:
        return jsonify({"strict": spec.strict if spec else False, "violations": spec.describe() if spec else []})

    @bp.delete("/spec-violations")
    def clear_spec_violations() -> Any:
        taken = spec.take() if spec else []
        return jsonify({"cleared": len(taken)})

    @bp.post("/spec")
    def spec_mode() -> Any:
        body = request.get_json(force=True)
        if spec is not None and "strict" in body:
            spec.strict = bool(body["strict"])
        return jsonify({"strict": spec.strict if spec else False})

    @bp.get("/")
    def page() -> Any:
        return Response(html_page(state, spec.describe() if spec else []), mimetype="text/html")

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
