"""OAuth function: ``GET /xero/connect`` starts consent at Xero, ``GET /xero/callback`` finishes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.errors import OAuthRefused, SyncError, XeroConfigError
from shared.models.connection import Connection
from shared.observability import logger, metrics
from shared.pages import SECURITY_HEADERS, render_page

app = APIGatewayHttpResolver()
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@app.get("/xero/connect")
def connect() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    flow = wiring.connect_flow()
    start = flow.start(
        account_id=query.get("account_id"),
        expires=query.get("expires"),
        signature=query.get("signature"),
        redirect_uri=_callback_url(),
    )
    metrics.add_metric(name="ConsentStarted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=302,
        headers={"Location": start.authorize_url, **SECURITY_HEADERS},
        cookies=[_binding_cookie(start.browser_binding, start.max_age)],
    )


@app.get("/xero/callback")
def callback() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    cookies = app.current_event.resolved_cookies_field
    connection = wiring.connect_flow().finish(
        state=query.get("state"),
        code=query.get("code"),
        error=query.get("error"),
        browser_binding=cookies.get(_cookie_name()),
    )
    metrics.add_metric(name="Connected", unit=MetricUnit.Count, value=1)
    if connection.tenant_id is not None:
        _release_parked(connection.account_id)
    return _connected_page(connection)


def _release_parked(account_id: str) -> None:
    """Events held while the account could not sync go back on the queue now that it can."""
    try:
        wiring.requeue().release_parked(account_id)
    except SyncError:
        # They stay parked; the next reconnect or organisation choice releases them.
        logger.exception("could not release parked events", extra={"account_id": account_id})


@app.exception_handler(OAuthRefused)  # type: ignore[untyped-decorator]
def refused(exc: OAuthRefused) -> Response[str]:
    logger.warning("consent refused", extra={"reason": exc.reason, "path": app.current_event.path})
    metrics.add_metric(name="ConsentRefused", unit=MetricUnit.Count, value=1)
    status = 200 if exc.reason == "denied" else 400
    title = "Connection cancelled" if exc.reason == "denied" else "Xero was not connected"
    return _page(status, title, [exc.message], outcome="cancelled" if status == 200 else "refused")


@app.exception_handler(SyncError)  # type: ignore[untyped-decorator]
def failed(exc: SyncError) -> Response[str]:
    if isinstance(exc, XeroConfigError):
        logger.error("xero app misconfigured", extra={"error": exc.message})
    else:
        logger.warning("consent failed", extra={"error": exc.code, "retryable": exc.retryable})
    metrics.add_metric(name="ConsentFailed", unit=MetricUnit.Count, value=1)
    status = 503 if exc.retryable else 500
    message = (
        "Xero or our service is unavailable right now. Please try again in a few minutes."
        if exc.retryable
        else "The Xero connection is not set up correctly on our side. Please contact support."
    )
    return _page(status, "Xero was not connected", [message], outcome="error")


def _connected_page(connection: Connection) -> Response[str]:
    names = ", ".join(t.tenant_name or t.tenant_id for t in connection.tenants)
    paragraphs = [f"Your account is now connected to Xero ({names})."]
    if connection.tenant_id is None:
        paragraphs.append("You granted more than one organisation: choose the one to sync in your settings.")
    return _page(200, "Xero connected", paragraphs, outcome="connected", account_id=connection.account_id)


def _page(
    status: int, title: str, paragraphs: list[str], *, outcome: str, account_id: str | None = None
) -> Response[str]:
    settings = wiring.settings()
    clear = [_binding_cookie("", 0)]
    if settings.platform_return_url:
        params = {"xero": outcome} | ({"account_id": account_id} if account_id else {})
        separator = "&" if "?" in settings.platform_return_url else "?"
        location = f"{settings.platform_return_url}{separator}{urlencode(params)}"
        return Response(302, headers={"Location": location, **SECURITY_HEADERS}, cookies=clear)
    return Response(
        status,
        content_type=f"{content_types.TEXT_HTML}; charset=utf-8",
        body=render_page(settings.brand_name, title, paragraphs, link=_settings_link()),
        headers=SECURITY_HEADERS,
        cookies=clear,
    )


def _settings_link() -> tuple[str, str] | None:
    """Back to the settings page, for a user who came from it (its session cookie is in this browser)."""
    cookies = app.current_event.resolved_cookies_field
    if not any(cookies.get(name) for name in ("__Host-xero_settings", "xero_settings")):
        return None
    base = app.current_event.raw_path.rsplit("/", 1)[0]  # /xero/callback or /xero/connect: /xero
    return ("Back to the Xero settings", f"{base}/settings")


def _callback_url() -> str:
    configured = wiring.settings().xero_redirect_uri
    if configured:
        return configured
    event = app.current_event
    host = event.request_context.domain_name
    scheme = "http" if host.split(":")[0] in LOOPBACK_HOSTS else "https"
    base = event.raw_path.rsplit("/connect", 1)[0]
    return f"{scheme}://{host}{base}/callback"


def _secure() -> bool:
    return not _callback_url().startswith("http://")


def _cookie_name() -> str:
    # __Host- cookies must be Secure, path=/ and host-only: no subdomain can plant or read one.
    return "__Host-xero_connect" if _secure() else "xero_connect"


def _binding_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        name=_cookie_name(),
        value=value,
        path="/",
        secure=_secure(),
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
