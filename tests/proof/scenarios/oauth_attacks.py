"""Attacks on the consent flow, over HTTP through the template's routes to the real OAuth handler.

Every attack must be refused with a 4xx and a page that says what happened, store nothing in
DynamoDB (items may only disappear: a consumed state) and make no request to Xero's token endpoint.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx

from tests.proof.framework import Run, scenario
from tests.proof.stack import ProofStack, items_fingerprint

LINK_REFUSED = "This connect link is not valid"
STATE_UNKNOWN = "already used or is not one we issued"
OTHER_BROWSER = "started in a different browser"
STATE_EXPIRED = "This sign-in link has expired"
CANCELLED = "You cancelled the connection at Xero"
NEEDS_STATE = "needs the link Xero sends you back with"
XERO_ERROR = "Xero could not complete the connection"
CODE_REFUSED = "Xero did not accept the authorisation"


@dataclass(frozen=True)
class Attempt:
    """What one attack request did."""

    status: int
    body: str
    content_type: str
    items_added: int
    token_calls: int


def attempt(stack: ProofStack, send: Callable[[], httpx.Response]) -> Attempt:
    before, calls = items_fingerprint(stack.items()), stack.control.token_calls()
    response = send()
    after = items_fingerprint(stack.items())
    return Attempt(
        status=response.status_code,
        body=response.text,
        content_type=response.headers.get("content-type", ""),
        items_added=len(after - before),
        token_calls=stack.control.token_calls() - calls,
    )


def judge(
    run: Run,
    name: str,
    result: Attempt,
    phrase: str,
    *,
    statuses: tuple[int, ...] = (400,),
    token_calls: int = 0,
) -> None:
    """Refused (the status), clearly (an HTML page with the phrase), harmlessly (nothing stored, no token call)."""
    problems = []
    if result.status not in statuses:
        problems.append(f"status {result.status}")
    if not result.content_type.startswith("text/html") or phrase not in result.body or "Traceback" in result.body:
        problems.append("page does not say what happened")
    if result.items_added:
        problems.append(f"{result.items_added} items stored")
    if result.token_calls != token_calls:
        problems.append(f"{result.token_calls} token requests")
    run.tally.events += 1
    run.tally.refusals += 400 <= result.status < 500
    run.check(f"{name}: refused, nothing stored", not problems, "; ".join(problems))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _flip(hex_text: str) -> str:
    position = secrets.randbelow(len(hex_text))
    replacement = "0" if hex_text[position] != "0" else "1"
    return hex_text[:position] + replacement + hex_text[position + 1 :]


@scenario("oauth-attacks", "forged, replayed, expired state; bad connect links; a cookie replayed across accounts")
def oauth_attacks(run: Run) -> None:
    rounds = run.size.pick(short=1, full=5)
    for round_ in range(rounds):
        _bad_links(run, f"acct-link-{round_}")
        _forged_states(run)
    _replayed_state(run)
    _expired_state(run)
    _cookie_across_accounts(run)
    _code_from_another_consent(run)
    _xero_says_no(run)


def _bad_links(run: Run, account: str) -> None:
    stack = run.stack
    browser = stack.browser()
    good = _query(stack.connect_link(account))
    other_secret = secrets.token_hex(32)
    links = {
        "unsigned link": {k: v for k, v in good.items() if k != "signature"},
        "link without parameters": {},
        "link with a tampered signature": good | {"signature": _flip(good["signature"])},
        "link signed for another account": good | {"account_id": f"{account}-victim"},
        "link with its expiry pushed back": good | {"expires": str(int(good["expires"]) + 60)},
        "link signed with another secret": _query(stack.connect_link(account, secret=other_secret)),
        "expired link": _query(stack.connect_link(account, ttl=-1)),
        "link valid for a day": _query(stack.connect_link(account, ttl=24 * 3600)),
        "link with a malformed account id": good | {"account_id": "../../admin"},
    }
    for name, query in links.items():
        judge(run, name, attempt(stack, partial(browser.get, stack.connect_url(query))), LINK_REFUSED)
    run.check(f"no connection stored for {account}", stack.connection(account) is None)


def _forged_states(run: Run) -> None:
    stack = run.stack
    browser = stack.browser()
    forged = {"state": secrets.token_urlsafe(32), "code": secrets.token_urlsafe(32)}
    cookie = {"xero_connect": secrets.token_urlsafe(32)}
    judge(
        run,
        "forged state",
        attempt(stack, lambda: browser.get(stack.callback_url(forged), cookies=cookie)),
        STATE_UNKNOWN,
    )
    judge(
        run,
        "callback without a state",
        attempt(stack, lambda: browser.get(stack.callback_url({"code": forged["code"]}), cookies=cookie)),
        NEEDS_STATE,
    )
    judge(
        run,
        "access_denied with a forged state",
        attempt(stack, lambda: browser.get(stack.callback_url({"state": forged["state"], "error": "access_denied"}))),
        STATE_UNKNOWN,
    )


def _replayed_state(run: Run) -> None:
    stack = run.stack
    consent = stack.start_consent("acct-replay")
    cookie = dict(consent.browser.cookies)
    first = consent.browser.get(consent.callback_url)
    run.tally.events += 1
    run.check("the genuine callback connects", first.status_code == 200 and stack.connection("acct-replay") is not None)
    judge(
        run,
        "replayed state (same browser cookie)",
        attempt(stack, lambda: consent.browser.get(consent.callback_url, cookies=cookie)),
        STATE_UNKNOWN,
    )


def _expired_state(run: Run) -> None:
    stack = run.stack
    consent = stack.start_consent("acct-expired-state")
    pending = next(i for i in stack.items() if i.get("account_id") == "acct-expired-state" and "expires_at" in i)
    boto3.client("dynamodb").update_item(
        TableName=stack.resources.table_name,
        Key={"pk": {"S": pending["pk"]}, "sk": {"S": pending["sk"]}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    judge(run, "expired state", attempt(stack, lambda: consent.browser.get(consent.callback_url)), STATE_EXPIRED)
    run.check("no connection stored after an expired state", stack.connection("acct-expired-state") is None)


def _cookie_across_accounts(run: Run) -> None:
    """A's browser cookie replayed on B's callback, B's on A's, and a callback with no cookie at all."""
    stack = run.stack
    a = stack.start_consent("acct-a")
    b = stack.start_consent("acct-b")
    judge(
        run,
        "account A's session cookie replayed on account B's callback",
        attempt(stack, lambda: b.browser.get(b.callback_url, cookies=a.browser.cookies)),
        OTHER_BROWSER,
    )
    judge(
        run,
        "account A's callback opened in account B's browser",
        attempt(stack, lambda: b.browser.get(a.callback_url)),
        OTHER_BROWSER,
    )
    c = stack.start_consent("acct-c")
    judge(
        run,
        "callback without the session cookie",
        attempt(stack, lambda: c.browser.get(c.callback_url, cookies={})),
        OTHER_BROWSER,
    )
    run.check(
        "no account bound through another's cookie",
        all(stack.connection(account) is None for account in ("acct-a", "acct-b", "acct-c")),
    )


def _code_from_another_consent(run: Run) -> None:
    """B's state with A's code: Xero refuses the exchange (PKCE), so one token call is expected."""
    stack = run.stack
    a = stack.start_consent("acct-code-a")
    b = stack.start_consent("acct-code-b")
    swapped = b.callback_query | {"code": a.callback_query["code"]}
    judge(
        run,
        "a code from another consent (PKCE mismatch)",
        attempt(stack, lambda: b.browser.get(stack.callback_url(swapped))),
        CODE_REFUSED,
        token_calls=1,
    )
    run.check("no connection from a swapped code", stack.connection("acct-code-b") is None)


def _xero_says_no(run: Run) -> None:
    stack = run.stack
    stack.control.consent(deny=True)
    try:
        denied = stack.start_consent("acct-denied")
    finally:
        stack.control.consent()
    # The user's own choice, not an attack: a 200 page that says nothing changed (see the OAuth handler).
    judge(
        run,
        "user declined at Xero (access_denied)",
        attempt(stack, lambda: denied.browser.get(denied.callback_url)),
        CANCELLED,
        statuses=(200,),
    )
    other = stack.start_consent("acct-xero-error")
    failed = other.callback_query | {"error": "server_error"}
    failed.pop("code", None)
    judge(
        run,
        "Xero answered with an error",
        attempt(stack, lambda: other.browser.get(stack.callback_url(failed))),
        XERO_ERROR,
    )
