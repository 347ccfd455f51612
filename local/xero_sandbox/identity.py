"""Xero's identity service, with its rules: authorize, token, revocation, connections.

- Authorisation codes are single-use, live five minutes, and are bound to the client, the redirect
  URI and the PKCE challenge.
- Refresh tokens rotate on every use. The old one keeps working for 30 minutes only if its answer
  never reached the client (the fault plan dropped it); otherwise reuse is ``invalid_grant``.
  A refresh token unused for 60 days expires.
- Revoking a refresh token removes its grant's connections.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from local.xero_sandbox.faults import WILL_DROP
from local.xero_sandbox.state import (
    CODE_SECONDS,
    REFRESH_GRACE_SECONDS,
    REFRESH_TOKEN_IDLE_SECONDS,
    VALID_SCOPES,
    AuthCode,
    Grant,
    RefreshRecord,
    SandboxState,
    TenantLink,
)


def identity_blueprint(state: SandboxState) -> Blueprint:
    bp = Blueprint("identity", __name__)

    @bp.get("/identity/connect/authorize")
    def authorize() -> Any:
        args = request.args
        app = state.apps.get(args.get("client_id", ""))
        redirect_uri = args.get("redirect_uri", "")
        if app is None:
            return _page(400, "Unknown client_id: this app is not registered with the sandbox.")
        if redirect_uri not in app.redirect_uris:
            return _page(400, f"Invalid redirect_uri: {redirect_uri!r} is not registered for this app.")
        state_param = args.get("state")

        def back(**params: str) -> Any:
            if state_param is not None:
                params["state"] = state_param
            return redirect(f"{redirect_uri}?{urlencode(params)}", code=302)

        if args.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scopes = args.get("scope", "").split()
        if not scopes or any(s not in VALID_SCOPES for s in scopes):
            return back(error="invalid_scope")
        challenge = args.get("code_challenge")
        if challenge and args.get("code_challenge_method", "plain") != "S256":
            return back(error="invalid_request", error_description="code_challenge_method must be S256")
        with state.lock:
            state.stats["GET /identity/connect/authorize"] += 1
            policy = state.consent
            if policy.deny:
                return back(error="access_denied")
            chosen = policy.tenant_ids if policy.tenant_ids is not None else list(state.organisations)
            chosen = [t for t in chosen if t in state.organisations]
            user = state.default_user()
            code = AuthCode(
                code=secrets.token_urlsafe(32),
                client_id=app.client_id,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                scopes=scopes,
                user_id=user.user_id,
                tenant_ids=chosen,
                auth_event_id=str(uuid.uuid4()),
                expires_at=state.clock.now() + CODE_SECONDS,
            )
            state.codes[code.code] = code
        return back(code=code.code, scope=" ".join(scopes), session_state=secrets.token_urlsafe(16))

    @bp.post("/connect/token")
    def token() -> Any:
        client_id = _client(state)
        if client_id is None:
            return _oauth_error(401, "invalid_client")
        grant_type = request.form.get("grant_type")
        with state.lock:
            state.stats[f"POST /connect/token {grant_type}"] += 1
            if grant_type == "authorization_code":
                return _exchange_code(state, client_id)
            if grant_type == "refresh_token":
                return _refresh(state, client_id)
        return _oauth_error(400, "unsupported_grant_type")

    @bp.post("/connect/revocation")
    def revocation() -> Any:
        client_id = _client(state)
        if client_id is None:
            return _oauth_error(401, "invalid_client")
        token_value = request.form.get("token", "")
        with state.lock:
            state.stats["POST /connect/revocation"] += 1
            record = state.refresh_tokens.get(token_value)
            if record is not None and state.grants[record.grant_id].client_id == client_id:
                state.revoke_grant(record.grant_id)
        return Response(status=200)  # RFC 7009: unknown tokens are not an error

    @bp.get("/connections")
    def connections() -> Any:
        grant = _bearer_grant(state)
        if grant is None:
            return _unauthorized()
        wanted = request.args.get("authEventId")
        with state.lock:
            state.stats["GET /connections"] += 1
            links = [link for link in grant.connections.values() if not wanted or link.auth_event_id == wanted]
            return jsonify([_connection_json(state, link) for link in links])

    @bp.delete("/connections/<connection_id>")
    def delete_connection(connection_id: str) -> Any:
        grant = _bearer_grant(state)
        if grant is None:
            return _unauthorized()
        with state.lock:
            state.stats["DELETE /connections"] += 1
            for tenant_id, link in list(grant.connections.items()):
                if link.id == connection_id:
                    del grant.connections[tenant_id]
                    return Response(status=204)
        return Response(status=404)

    return bp


def _exchange_code(state: SandboxState, client_id: str) -> Any:
    form = request.form
    code = state.codes.get(form.get("code", ""))
    now = state.clock.now()
    if code is None or code.used or code.expires_at <= now or code.client_id != client_id:
        return _oauth_error(400, "invalid_grant")
    if form.get("redirect_uri") != code.redirect_uri:
        return _oauth_error(400, "invalid_grant")
    if code.code_challenge is not None:
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != code.code_challenge:
            return _oauth_error(400, "invalid_grant")
    code.used = True
    grant = next(
        (g for g in state.grants.values() if g.client_id == client_id and g.user_id == code.user_id and not g.revoked),
        None,
    )
    if grant is None:
        grant = Grant(grant_id=str(uuid.uuid4()), client_id=client_id, user_id=code.user_id, scopes=code.scopes)
        state.grants[grant.grant_id] = grant
    grant.scopes = code.scopes
    for tenant_id in code.tenant_ids:
        link = grant.connections.get(tenant_id)
        if link is None:
            grant.connections[tenant_id] = TenantLink(str(uuid.uuid4()), tenant_id, code.auth_event_id, now, now)
        else:
            link.auth_event_id, link.updated = code.auth_event_id, now
    return _token_answer(state, grant, code.auth_event_id, state.issue_refresh_token(grant))


def _refresh(state: SandboxState, client_id: str) -> Any:
    token_value = request.form.get("refresh_token", "")
    record = state.refresh_tokens.get(token_value)
    now = state.clock.now()
    if record is None or record.revoked:
        return _oauth_error(400, "invalid_grant")
    grant = state.grants[record.grant_id]
    if grant.client_id != client_id or grant.revoked:
        return _oauth_error(400, "invalid_grant")
    if now - record.issued_at > REFRESH_TOKEN_IDLE_SECONDS:
        return _oauth_error(400, "invalid_grant")
    if record.rotated_to is not None:
        in_grace = (
            not record.answered and record.rotated_at is not None and now - record.rotated_at <= REFRESH_GRACE_SECONDS
        )
        if not in_grace:
            return _oauth_error(400, "invalid_grant")
        # The client never saw the rotated token: retire it and rotate again from this one.
        state.refresh_tokens[record.rotated_to].revoked = True
    successor = state.issue_refresh_token(grant)
    record.rotated_to, record.rotated_at = successor.token, now
    record.answered = not request.environ.get(WILL_DROP, False)
    last_event = (
        max(grant.connections.values(), key=lambda link: link.updated).auth_event_id if grant.connections else ""
    )
    return _token_answer(state, grant, last_event, successor)


def _token_answer(state: SandboxState, grant: Grant, auth_event_id: str, refresh: RefreshRecord) -> Any:
    access, _ = state.issue_access_token(grant, auth_event_id)
    body: dict[str, Any] = {
        "access_token": access,
        "expires_in": 1800,
        "token_type": "Bearer",
        "refresh_token": refresh.token,
        "scope": " ".join(grant.scopes),
    }
    if "openid" in grant.scopes:
        body["id_token"] = state.issue_id_token(grant)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _client(state: SandboxState) -> str | None:
    """The authenticated client id (HTTP Basic, or client_id/client_secret in the form), or None."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username or "", auth.password or ""
    else:
        client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    app = state.apps.get(client_id)
    if app is None or not secrets.compare_digest(app.client_secret, secret):
        return None
    return client_id


def _bearer_grant(state: SandboxState) -> Grant | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    record = state.access_record(header.removeprefix("Bearer "))
    return state.grants.get(record.grant_id) if record else None


def _connection_json(state: SandboxState, link: TenantLink) -> dict[str, Any]:
    org = state.organisations[link.tenant_id]
    return {
        "id": link.id,
        "authEventId": link.auth_event_id,
        "tenantId": link.tenant_id,
        "tenantType": "ORGANISATION",
        "tenantName": org.name,
        "createdDateUtc": _iso(link.created),
        "updatedDateUtc": _iso(link.updated),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _oauth_error(status: int, error: str) -> Any:
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _unauthorized() -> Any:
    response = jsonify({"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _page(status: int, message: str) -> Response:
    return Response(
        f"<!doctype html><title>Xero sandbox</title><p>{escape(message)}</p>",
        status=status,
        mimetype="text/html",
    )
