"""Fault injection: Xero's failures on demand, so the service's handling of each can be shown.

Kinds: ``status`` (answer with a status, e.g. 500, before doing anything), ``offline`` (503,
organisation offline), ``slow`` (sleep, then do the work and answer: past the client's timeout the
write is committed but the client never hears), ``drop`` (do the work, then close the connection
without answering). Rules match on method, path prefix and tenant; each fires with a probability,
a number of times or forever. The random source is seeded so runs repeat.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "offline", "slow", "drop"]
WILL_DROP = "sandbox.will_drop"
SOCKET = "sandbox.socket"
SLOW_DELAY = "sandbox.slow_delay"
ACCOUNTING_PREFIX = "/api.xro/2.0"
# Xero's answer while an organisation is offline (maintenance, or a large import), as a 503.
OFFLINE_BODY = b"The Xero organisation is offline. Please try again later."


@dataclass
class FaultRule:
    kind: FaultKind
    path: str = ""
    method: str | None = None
    tenant_id: str | None = None
    status: int = 500
    delay: float = 0.0
    times: int | None = None
    probability: float = 1.0
    retry_after: int | None = None  # a Retry-After header on status/offline answers
    fired: int = 0

    def matches(self, method: str, path: str, tenant_id: str | None) -> bool:
        return (
            path.startswith(self.path)
            and (self.method is None or self.method.upper() == method)
            and (self.tenant_id is None or self.tenant_id == tenant_id)
            and (self.times is None or self.fired < self.times)
        )


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 7
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)

    def set(self, rules: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            self.rules = rules
            if seed is not None:
                self._random = random.Random(seed)

    def pick(self, method: str, path: str, tenant_id: str | None) -> FaultRule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, tenant_id) and self._random.random() < rule.probability:
                    rule.fired += 1
                    self.injected[rule.kind if rule.kind != "status" else f"status {rule.status}"] += 1
                    return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self.rules]


class FaultMiddleware:
    """WSGI middleware applying the plan around the sandbox application."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        plan: FaultPlan,
        skip_prefix: str = "/_sandbox",
        on_fault: Callable[[FaultRule, str | None], None] | None = None,
    ) -> None:
        self._app = app
        self._plan = plan
        self._skip = skip_prefix
        self._on_fault = on_fault

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(self._skip):
            return self._app(environ, start_response)
        tenant = environ.get("HTTP_XERO_TENANT_ID")
        rule = self._plan.pick(environ.get("REQUEST_METHOD", "GET"), path, tenant)
        if rule is None:
            return self._app(environ, start_response)
        if self._on_fault is not None:
            self._on_fault(rule, tenant)
        extra = [("Retry-After", str(rule.retry_after))] if rule.retry_after is not None else []
        if rule.kind == "status":
            body = b'{"Title":"Injected fault","Status":%d}' % rule.status
            return _answer(start_response, rule.status, body, extra=extra)
        if rule.kind == "offline":
            return _answer(start_response, 503, OFFLINE_BODY, content_type="text/plain", extra=extra)
        if rule.kind == "slow":
            if path.startswith(ACCOUNTING_PREFIX):
                # The accounting API sleeps inside the call, holding its concurrency slot as Xero would.
                environ[SLOW_DELAY] = rule.delay
            else:
                time.sleep(rule.delay)
            return self._app(environ, start_response)
        # drop: commit the work, then hang up without answering
        environ[WILL_DROP] = True
        for _ in self._app(environ, lambda *a, **k: None):
            pass
        sock = environ.get(SOCKET)
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("sandbox dropped the connection after committing")


def _answer(
    start_response: Callable[..., Any],
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    reason = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    start_response(
        f"{status} {reason.get(status, 'Error')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra or [])],
    )
    return [body]
