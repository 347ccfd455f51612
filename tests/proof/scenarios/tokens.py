"""Tokens under concurrency: many invocations around one expiring token, a refresh whose answer is lost,
and a grant the user revoked at Xero.

Each caller is its own container: a :class:`~shared.domain.tokens.TokenManager` built by the wiring
(so with its own lock owner) on the wiring's shared AWS and Xero clients, all released at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shared import wiring
from shared.domain.tokens import Access, TokenManager
from shared.errors import ConnectionUnavailable, SyncError, XeroAuthLost
from shared.models.xero import jwt_claims
from tests.proof.accounts import connect_business
from tests.proof.framework import Run, scenario

EXPIRING = "proof-tokens-expiring"
DROPPED = "proof-tokens-dropped"
REVOKED = "proof-tokens-revoked"
REFUSED_LOG = "refresh token refused: connection needs reconnecting"


@dataclass(frozen=True)
class RevokedConnection:
    """A connection whose grant was revoked at Xero, already marked ``needs_reconnect``."""

    account_id: str
    grant_id: str


RevokedFollowUp = Callable[[Run, RevokedConnection], None]
REVOKED_CONNECTION_FOLLOW_UPS: list[RevokedFollowUp] = []


def after_revocation(check: RevokedFollowUp) -> RevokedFollowUp:
    """Register more checks on a revoked connection (the push adds: its messages parked, one reconnect email)."""
    REVOKED_CONNECTION_FOLLOW_UPS.append(check)
    return check


def new_container() -> TokenManager:
    """The token manager one more Lambda container would build (its own lock owner)."""
    manager: TokenManager = wiring.token_manager.__wrapped__()
    return manager


def concurrent_access(account_id: str, callers: int) -> list[Access | SyncError]:
    """``callers`` containers ask for the account's access token at the same instant."""
    managers = [new_container() for _ in range(callers)]
    barrier = threading.Barrier(callers)

    def call(manager: TokenManager) -> Access | SyncError:
        barrier.wait()
        try:
            return manager.access(account_id)
        except SyncError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=callers) as pool:
        return list(pool.map(call, managers))


def errors(results: list[Access | SyncError]) -> list[SyncError]:
    return [r for r in results if isinstance(r, SyncError)]


@scenario("tokens", "concurrent invocations around an expiring token; a lost answer; a revoked grant")
def tokens(run: Run) -> None:
    callers = run.size.pick(short=12, full=50)
    _expiring_token(run, callers)
    _refresh_answer_lost(run, callers)
    _revoked_grant(run, callers)


def _expiring_token(run: Run, callers: int) -> None:
    stack = run.stack
    connect_business(stack, EXPIRING)
    before = wiring.token_manager().access(EXPIRING)
    stack.set_access_expiry(EXPIRING, int(time.time()) + 30)  # inside the refresh margin: about to expire
    token_calls = stack.control.token_calls()

    results = concurrent_access(EXPIRING, callers)

    refreshed = stack.control.token_calls() - token_calls
    failed = errors(results)
    stack.evidence.errors.extend(f"{type(e).__name__}: {e}" for e in failed)
    tokens = {r.access_token for r in results if isinstance(r, Access)}
    versions = {r.connection.token_version for r in results if isinstance(r, Access)}
    run.tally.events += callers
    run.check(
        f"{callers} concurrent callers around an expiring token: one call to the token endpoint",
        refreshed == 1,
        f"{refreshed} calls",
    )
    run.check(
        "zero invalid_grant",
        not any(isinstance(e, XeroAuthLost) for e in failed),
        f"{sum(isinstance(e, XeroAuthLost) for e in failed)}",
    )
    run.check("every caller got a token", not failed, ", ".join(sorted({e.code for e in failed})))
    run.check(
        "every caller uses the one new token",
        len(tokens) == 1 and before.access_token not in tokens and versions == {before.connection.token_version + 1},
        f"{len(tokens)} distinct tokens, versions {sorted(versions)}",
    )
    if tokens:
        granted = wiring.xero().list_connections(next(iter(tokens)))
        run.check("Xero accepts the new token", bool(granted), f"{len(granted)} tenants")


def _refresh_answer_lost(run: Run, callers: int) -> None:
    """Xero rotates the token, then the answer is lost: the holder retries with the same refresh token."""
    stack = run.stack
    connect_business(stack, DROPPED)
    stack.set_access_expiry(DROPPED, int(time.time()) - 5)
    token_calls, injected = stack.control.token_calls(), stack.control.faults_injected()
    stack.control.faults([{"kind": "drop", "path": "/connect/token", "times": 1}])
    try:
        results = concurrent_access(DROPPED, callers)
    finally:
        stack.control.faults([])

    refreshed = stack.control.token_calls() - token_calls
    faults = stack.control.faults_injected() - injected
    failed = errors(results)
    stack.evidence.errors.extend(f"{type(e).__name__}: {e}" for e in failed)
    run.tally.events += callers
    run.tally.retries += max(refreshed - 1, 0)
    run.check("the refresh's answer was dropped once", faults == 1, f"{faults} faults")
    run.check(
        "a lost refresh answer is retried once, with the same refresh token, and accepted",
        refreshed == 2 and not failed,
        f"{refreshed} token calls, errors: {', '.join(sorted({e.code for e in failed})) or 'none'}",
    )
    run.check("zero invalid_grant after a lost answer", not any(isinstance(e, XeroAuthLost) for e in failed))


def _revoked_grant(run: Run, callers: int) -> None:
    stack = run.stack
    connect_business(stack, REVOKED)
    grant_id = str(jwt_claims(wiring.token_manager().access(REVOKED).access_token)["global_session_id"])
    stack.control.revoke_grant(grant_id)
    stack.set_access_expiry(REVOKED, int(time.time()) - 5)
    token_calls, refused_logs = stack.control.token_calls(), stack.evidence.log_count(REFUSED_LOG)

    results = concurrent_access(REVOKED, callers)

    refreshed = stack.control.token_calls() - token_calls
    failed = errors(results)
    stack.evidence.errors.extend(f"{type(e).__name__}: {e}" for e in failed)
    auth_lost = [e for e in failed if isinstance(e, XeroAuthLost)]
    unavailable = [e for e in failed if isinstance(e, ConnectionUnavailable)]
    connection = stack.connection(REVOKED) or {}
    run.tally.events += callers
    run.tally.refusals += len(failed)
    run.check("a revoked grant costs one call to the token endpoint", refreshed == 1, f"{refreshed} calls")
    run.check(
        "the connection is marked needs_reconnect once",
        len(auth_lost) == 1 and stack.evidence.log_count(REFUSED_LOG) - refused_logs == 1,
        f"{len(auth_lost)} callers saw invalid_grant",
    )
    run.check(
        "the other callers are told to reconnect, without calling Xero",
        len(unavailable) == callers - 1,
        f"{len(unavailable)} of {callers - 1}",
    )
    run.check(
        "status needs_reconnect, with the reason",
        connection.get("status") == "needs_reconnect" and bool(connection.get("status_reason")),
        str(connection.get("status")),
    )
    try:
        new_container().access(REVOKED)
        later: SyncError | None = None
    except SyncError as exc:
        later = exc
    run.check(
        "nothing calls Xero for it again until the user reconnects",
        isinstance(later, ConnectionUnavailable) and stack.control.token_calls() - token_calls == 1,
    )
    revoked = RevokedConnection(account_id=REVOKED, grant_id=grant_id)
    for follow_up in REVOKED_CONNECTION_FOLLOW_UPS:
        follow_up(run, revoked)
    if not REVOKED_CONNECTION_FOLLOW_UPS:
        run.note(
            "revoked connection: no follow-up checks registered yet (the push registers 'messages parked, "
            "one reconnect email' with tokens.after_revocation)"
        )
