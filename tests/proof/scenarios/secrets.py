"""No token or secret anywhere the service writes: log lines, what it printed (metrics), pages, error
messages, emails, and DynamoDB items (tokens are stored only as KMS ciphertext).

Runs after every other scenario and scans what they all produced; it first walks the flows that
handle secrets itself, so that it proves something when run alone too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from shared import wiring
from shared.errors import SyncError
from tests.proof.framework import Run, scenario
from tests.proof.scanner import KnownSecrets, find_in, scan
from tests.proof.stack import ProofStack

ACCOUNT = "proof-secrets"


def _produce(run: Run) -> str:
    """Connect, refresh, replay the callback, fail a callback at Xero: the paths that touch secrets."""
    stack = run.stack
    consent = stack.start_consent(ACCOUNT)
    cookie = dict(consent.browser.cookies)
    consent.browser.get(consent.callback_url)
    replay = consent.browser.get(consent.callback_url, cookies=cookie)  # refused, and logged
    run.tally.refusals += replay.status_code == 400
    stack.set_access_expiry(ACCOUNT, int(time.time()) - 5)
    access = wiring.token_manager().access(ACCOUNT)
    failing = stack.start_consent(f"{ACCOUNT}-xero-down")
    stack.control.faults([{"kind": "status", "status": 500, "path": "/connect/token"}])
    try:
        failing.browser.get(failing.callback_url)
        try:
            wiring.xero().exchange_code(code="not-a-code", redirect_uri=stack.api_url, code_verifier="v" * 43)
        except SyncError as exc:
            stack.evidence.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        stack.control.faults([])
    run.tally.events += 7  # connect, callback, replay, refresh, connect, failed callback, failed exchange
    return access.access_token


def texts(stack: ProofStack) -> Iterator[tuple[str, str]]:
    for line in stack.evidence.log_text().splitlines():
        yield "log line", line
    yield "stdout", stack.evidence.stdout.getvalue()
    for page in stack.evidence.pages:
        yield "page", page
    for error in stack.evidence.errors:
        yield "error", error
    for email in stack.emails():
        yield "email", email
    for item in stack.items():
        yield "stored item", json.dumps(item, default=lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v))


@scenario("secrets", "no token or secret in logs, pages, errors, emails or stored items", final=True)
def secrets_scan(run: Run) -> None:
    stack = run.stack
    live_access_token = _produce(run)
    known = KnownSecrets.from_sandbox(
        stack.control.issued(),
        client_secret=stack.client_secret(),
        connect_link_secret=stack.link_secret(),
    )
    issued = stack.control.issued()
    canary = f"refresh={issued['refresh_tokens'][-1]} bearer {live_access_token}"
    run.check(
        "the scan finds a planted refresh token and a live access token",
        sorted(find_in(canary, known)) == ["access token", "refresh token"],
    )
    scanned, findings = scan(texts(stack), known)
    logs = len(stack.evidence.log_text().splitlines())
    run.check(
        "there was material to scan",
        logs > 0 and bool(stack.evidence.pages) and bool(stack.evidence.errors),
        f"{logs} log lines, {len(stack.evidence.pages)} pages, {len(stack.evidence.errors)} errors",
    )
    run.tally.secrets += len(findings)
    where = sorted({f"{f.what} in {f.where}" for f in findings})
    run.check(
        f"{scanned} texts scanned for {len(known.literals)} secrets and every issued token: none found",
        not findings,
        "; ".join(where),
    )
