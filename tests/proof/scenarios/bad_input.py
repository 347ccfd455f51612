"""Hostile requests to the OAuth routes (arbitrary query strings, cookies and headers): never a 5xx, never a
crash, nothing stored, no call to Xero's token endpoint.

Requests go through :meth:`local.apigw.HttpApi.invoke`, the same dispatch the loopback server uses,
so inputs no HTTP client would send (control characters, unpaired surrogates) reach the handler too.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from urllib.parse import urlencode

from hypothesis import strategies as st

from tests.proof.explore import Exploration, explore
from tests.proof.framework import Run, scenario

OAUTH_PATHS = ("/xero/connect", "/xero/callback")
KNOWN_PARAMETERS = (
    "account_id",
    "expires",
    "signature",
    "state",
    "code",
    "error",
    "error_description",
    "scope",
    "session_state",
)
COOKIE_NAMES = ("xero_connect", "__Host-xero_connect", "session")


@dataclass(frozen=True)
class HostileRequest:
    path: str
    query: str
    headers: dict[str, str]


def _values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=80),
        st.text(alphabet=string.hexdigits, min_size=0, max_size=70),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(["", "access_denied", "null", "%00", "../..", "<script>", "x" * 5000]),
    )


def queries() -> st.SearchStrategy[str]:
    structured = st.dictionaries(
        st.one_of(st.sampled_from(KNOWN_PARAMETERS), st.text(max_size=12)), _values(), max_size=6
    ).map(urlencode)
    return st.one_of(structured, st.text(max_size=300))


def cookies() -> st.SearchStrategy[str]:
    pairs = st.lists(
        st.tuples(st.one_of(st.sampled_from(COOKIE_NAMES), st.text(max_size=10)), _values()).map("=".join),
        max_size=4,
    ).map("; ".join)
    return st.one_of(pairs, st.text(max_size=200))


def headers() -> st.SearchStrategy[dict[str, str]]:
    names = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=24)
    chosen = st.sampled_from(["host", "content-type", "user-agent", "x-forwarded-for", "authorization", "referer"])
    return st.dictionaries(st.one_of(chosen, names), st.text(max_size=200), max_size=6)


def hostile_requests() -> st.SearchStrategy[HostileRequest]:
    def build(path: str, query: str, cookie: str, extra: dict[str, str]) -> HostileRequest:
        return HostileRequest(path, query, {**extra, "cookie": cookie} if cookie else extra)

    return st.builds(build, st.sampled_from(OAUTH_PATHS), queries(), cookies(), headers())


@scenario("bad-input", "arbitrary query strings, cookies and headers on the OAuth routes: no 5xx, no crash")
def bad_input(run: Run) -> None:
    stack = run.stack
    items, token_calls = len(stack.items()), stack.control.token_calls()

    def probe(request: HostileRequest, seen: Exploration) -> str | None:
        try:
            answer = stack.api.invoke("GET", request.path, request.query, dict(request.headers), b"")
        except Exception as exc:  # the property: nothing the caller sends makes the handler raise
            return f"the handler raised {type(exc).__name__}"
        status = int(answer.get("statusCode", 0))
        body = str(answer.get("body") or "")
        stack.evidence.pages.append(body)
        if status >= 500:
            return f"answered {status}"
        if 400 <= status < 500:
            seen.count("refused")
        if "Traceback" in body:
            return "the page shows a stack trace"
        return None

    seen = explore(hostile_requests(), probe, size=run.size, short=60, full=1500)
    run.tally.events += seen.examples
    run.tally.refusals += seen.counters.get("refused", 0)
    run.check(
        f"{seen.examples} hostile requests to the OAuth routes: no 5xx, no crash, no stack trace",
        seen.failure is None,
        seen.failure or "",
    )
    run.check("nothing stored by hostile requests", len(stack.items()) <= items, f"{len(stack.items()) - items} added")
    run.check(
        "no token request made for hostile requests",
        stack.control.token_calls() == token_calls,
        f"{stack.control.token_calls() - token_calls} made",
    )
