"""IAM authorisation for the local HTTP API, as API Gateway does it for ``AWS_IAM`` routes.

:class:`SigV4Verifier` is the ``authorize`` hook of :class:`local.apigw.HttpApi`: it recomputes the
request's Signature Version 4 with botocore for the caller's credentials and accepts the request
only when the signatures match, the scope names this region and ``execute-api``, and the request
is less than five minutes old, and only when the caller's IAM policy allows ``execute-api:Invoke`` on
the route's resource (``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``,
IAM wildcards). It then answers the caller as ``requestContext.authorizer.iam``.
:class:`SignedClient` is the other side: what the platform backend does, a SigV4-signed request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
MAX_SKEW_SECONDS = 300
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Caller:
    """An IAM principal the local stack recognises: its keys and who it is."""

    access_key: str
    secret_key: str
    session_token: str | None = None
    arn: str = "arn:aws:iam::123456789012:user/platform-backend"
    user_id: str = "AIDALOCALPLATFORMBACKEND"
    # The execute-api:Invoke resources its IAM policy allows, with IAM's wildcards (* and ?).
    invoke_resources: tuple[str, ...] = ("*",)

    def may_invoke(self, resource: str) -> bool:
        return any(_iam_pattern(allowed).fullmatch(resource) for allowed in self.invoke_resources)

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key, self.session_token)

    def iam_context(self) -> dict[str, Any]:
        """What API Gateway puts in ``requestContext.authorizer.iam`` for this caller."""
        return {
            "accessKey": self.access_key,
            "accountId": self.arn.split(":")[4],
            "callerId": self.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": self.arn,
            "userId": self.user_id,
        }


class SigV4Verifier:
    """The ``authorize`` hook: the caller's IAM context for a correctly signed request, else None."""

    def __init__(
        self,
        callers: Iterable[Caller],
        *,
        region: str,
        service: str = SERVICE,
        clock: Callable[[], float] = time.time,
        max_skew_seconds: int = MAX_SKEW_SECONDS,
        api_arn: str = "",
    ) -> None:
        self._callers = {c.access_key: c for c in callers}
        self._region = region
        self.api_arn = api_arn or local_api_arn(region)
        self._service = service
        self._clock = clock
        self._skew = max_skew_seconds
        self.last_refusal = ""

    def __call__(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> dict[str, Any] | None:
        caller, reason = self.verify(method, path, query, headers, body)
        self.last_refusal = reason
        return caller.iam_context() if caller else None

    def verify(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[Caller | None, str]:
        """The signing caller, or None and the reason for the refusal (never echoed to the client).

        ``path`` is the request's path as the client sent it (percent-encoded): the signature covers
        that form. The ``execute-api:Invoke`` resource names the path decoded, as API Gateway routes it.
        """
        headers = {k.lower(): v for k, v in headers.items()}
        found = _AUTHORIZATION.match(headers.get("authorization", "").strip())
        if not found:
            return None, "missing or malformed Authorization header"
        parts = found["credential"].split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            return None, "malformed credential scope"
        access_key, day, region, service, _ = parts
        if region != self._region or service != self._service:
            return None, f"credential scope is for {region}/{service}, not {self._region}/{self._service}"
        caller = self._callers.get(access_key)
        if caller is None:
            return None, "unknown access key"
        amz_date = headers.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None, "missing or malformed X-Amz-Date"
        if amz_date[:8] != day:
            return None, "credential scope date differs from X-Amz-Date"
        if abs(self._clock() - signed_at) > self._skew:
            return None, "signature expired"
        signed = found["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return None, "host and x-amz-date must be signed"
        if any(name not in headers for name in signed):
            return None, "a signed header is missing from the request"
        if caller.session_token is not None and not hmac.compare_digest(
            headers.get("x-amz-security-token", ""), caller.session_token
        ):
            return None, "security token does not match"
        declared = headers.get("x-amz-content-sha256")
        if declared is not None and declared != hashlib.sha256(body).hexdigest():
            return None, "x-amz-content-sha256 does not match the body"
        url = f"http://{headers['host']}{path}" + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url, headers={n: headers[n] for n in signed}, data=body)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(caller.credentials, self._service, self._region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, found["signature"]):
            return None, "signature does not match"
        resource = f"{self.api_arn}/{method}{unquote(path)}"
        if not caller.may_invoke(resource):
            return None, f"{caller.arn} is not allowed execute-api:Invoke on {resource}"
        return caller, ""

    def add(self, caller: Caller) -> None:
        """Recognise one more principal (its keys and its policy)."""
        self._callers[caller.access_key] = caller


def local_api_arn(region: str, account_id: str = "123456789012") -> str:
    """The local HTTP API's ARN up to its stage (the prefix of its ``execute-api:Invoke`` resources)."""
    return f"arn:aws:execute-api:{region}:{account_id}:local/$default"


def _iam_pattern(resource: str) -> re.Pattern[str]:
    """IAM's resource wildcards: ``*`` any run of characters (slashes too), ``?`` any one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource))


class SignedClient:
    """HTTP calls to the local API signed like the platform backend signs them (SigV4, execute-api)."""

    def __init__(
        self, base_url: str, caller: Caller, *, region: str, http: httpx.Client | None = None, timeout: float = 30
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._caller = caller
        self._region = region
        self._http = http or httpx.Client(timeout=timeout)

    def signed_headers(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(self._caller.credentials, SERVICE, self._region).add_auth(request)
        return dict(request.headers.items())

    def request(self, method: str, path: str, *, json_body: Any = None, query: str = "") -> httpx.Response:
        body = json.dumps(json_body).encode() if json_body is not None else b""
        headers = {"content-type": "application/json"} if json_body is not None else {}
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        return self._http.request(method, url, content=body, headers=self.signed_headers(method, url, body, headers))

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def put(self, path: str, json_body: Any) -> httpx.Response:
        return self.request("PUT", path, json_body=json_body)

    def patch(self, path: str, json_body: Any) -> httpx.Response:
        return self.request("PATCH", path, json_body=json_body)

    def post(self, path: str, json_body: Any = None) -> httpx.Response:
        return self.request("POST", path, json_body=json_body)

    def close(self) -> None:
        self._http.close()
