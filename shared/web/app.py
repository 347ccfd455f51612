"""The settings page's routes (``/xero/settings...``): sessions, forms, headers and cookies.

| route | what it does |
| --- | --- |
| ``GET /xero/settings/open`` | the platform's signed settings link: opens a session, sets its cookie, redirects |
| ``GET /xero/settings`` | the page (``?confirm=disconnect`` asks before disconnecting) |
| ``GET /xero/settings/activity`` | the sync activity section alone, for the page's script to refresh it |
| ``GET /xero/settings/assets/<name>`` | the page's stylesheet and script (no inline script or style anywhere) |
| ``POST /xero/settings/<action>`` | one form: checks the CSRF token, changes one thing, redirects back (303) |

Every request but the link and the assets needs the session cookie; no request names an account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from shared import wiring
from shared.adapters.page_sessions import PageSession
from shared.domain.settings_page import SettingsPage, user_message
from shared.errors import RequestRefused, SyncError
from shared.models.connection import utc_now
from shared.observability import logger, metrics
from shared.web.page import PageContext, activity_section, render_message, render_page

BASE = "/xero/settings"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ASSET_TYPES = {"settings.css": "text/css; charset=utf-8", "settings.js": "text/javascript; charset=utf-8"}
ASSETS = {name: (ASSETS_DIR / name).read_text() for name in ASSET_TYPES}
ASSET_VERSION = hashlib.sha256("".join(ASSETS.values()).encode()).hexdigest()[:12]
MAX_FORM_BYTES = 16_384

app = APIGatewayHttpResolver()


# --- routes -------------------------------------------------------------------------------------


@app.get(f"{BASE}/open")
def open_link() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    opened = _page_service().open(query.get("account_id"), query.get("expires"), query.get("signature"))
    metrics.add_metric(name="SettingsOpened", unit="Count", value=1)
    # The link (and its signature) leaves the address bar at once: the page's own URL carries nothing.
    return Response(
        303,
        headers={"Location": _base(), **_headers()},
        cookies=[_session_cookie(opened.session_id, wiring.settings().settings_session_max_seconds)],
    )


@app.get(BASE)
def page() -> Response[str]:
    session = _session()
    query = app.current_event.query_string_parameters or {}
    metrics.add_metric(name="SettingsShown", unit="Count", value=1)
    return _render(
        session,
        notice=query.get("notice"),
        confirm_disconnect=query.get("confirm") == "disconnect",
        watch=query.get("invoice") if query.get("notice") == "retry" else None,
        since=query.get("since"),
    )


@app.get(f"{BASE}/activity")
def activity() -> Response[str]:
    session = _session()
    query = app.current_event.query_string_parameters or {}
    watch, since = query.get("watch"), query.get("since")
    metrics.add_metric(name="SettingsActivityShown", unit="Count", value=1)
    view = _page_service().activity(session.account_id, watch=watch, since=since)
    ctx = _context(session, watch=watch, since=since)
    return _html(200, activity_section(view, ctx))


@app.get(f"{BASE}/assets/<name>")
def asset(name: str) -> Response[str]:
    if name not in ASSETS:
        return _html(404, "")
    return Response(
        200,
        content_type=ASSET_TYPES[name],
        body=ASSETS[name],
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


@app.post(f"{BASE}/<action>")
def form(action: str) -> Response[str]:
    session = _session()
    fields = _form_fields()
    _same_origin_post()
    _page_service().check_csrf(session, fields.get("csrf_token"))
    handler = ACTIONS.get(action)
    if handler is None:
        raise RequestRefused("not_found", "There is no such form.", status=404)
    try:
        answer = handler(session, fields)
    except SyncError as exc:
        if isinstance(exc, RequestRefused) and exc.status in (401, 403):
            raise
        logger.info("settings form refused", extra={"action": action, "error": exc.code})
        status = exc.status if isinstance(exc, RequestRefused) else (503 if exc.retryable else 409)
        return _render(session, error=user_message(exc), status=status)
    metrics.add_metric(name="SettingsChanged", unit="Count", value=1)
    return answer


# --- the forms ----------------------------------------------------------------------------------

Form = dict[str, str]


def _done(notice: str, section: str, **extra: str) -> Response[str]:
    query = urlencode({"notice": notice, **extra})
    return Response(303, headers={"Location": f"{_base()}?{query}#{section}", **_headers()})


def _choose_organisation(session: PageSession, fields: Form) -> Response[str]:
    _page_service().choose_organisation(session.account_id, fields.get("tenant_id", ""))
    return _done("organisation", "organisation")


def _payment_account(session: PageSession, fields: Form) -> Response[str]:
    _page_service().choose_payment_account(session.account_id, fields.get("account_id", ""))
    return _done("payment_account", "payment-account")


def _sales_account(session: PageSession, fields: Form) -> Response[str]:
    _page_service().set_sales_account(session.account_id, fields.get("code", ""))
    return _done("sales_account", "sales-account")


def _default_tax(session: PageSession, fields: Form) -> Response[str]:
    _page_service().set_default_tax_type(session.account_id, fields.get("tax_type", ""))
    return _done("default_tax", "tax")


def _map_tax(session: PageSession, fields: Form) -> Response[str]:
    _page_service().map_tax(session.account_id, fields.get("platform_tax_id", ""), fields.get("tax_type", ""))
    return _done("tax_mapped", "tax")


def _unmap_tax(session: PageSession, fields: Form) -> Response[str]:
    _page_service().unmap_tax(session.account_id, fields.get("platform_tax_id", ""))
    return _done("tax_unmapped", "tax")


def _map_product(session: PageSession, fields: Form) -> Response[str]:
    _page_service().map_product(
        session.account_id, fields.get("product_id", ""), fields.get("item_code", ""), fields.get("account_code", "")
    )
    return _done("product_mapped", "products")


def _unmap_product(session: PageSession, fields: Form) -> Response[str]:
    _page_service().unmap_product(session.account_id, fields.get("product_id", ""))
    return _done("product_unmapped", "products")


def _map_tracking(session: PageSession, fields: Form) -> Response[str]:
    _page_service().map_tracking(
        session.account_id, fields.get("dimension", ""), fields.get("value", ""), fields.get("option", "")
    )
    return _done("tracking_mapped", "tracking")


def _unmap_tracking(session: PageSession, fields: Form) -> Response[str]:
    _page_service().unmap_tracking(session.account_id, fields.get("dimension", ""), fields.get("value", ""))
    return _done("tracking_unmapped", "tracking")


def _tracking_policy(session: PageSession, fields: Form) -> Response[str]:
    _page_service().set_unmapped_dimensions(session.account_id, fields.get("policy", ""))
    return _done("tracking_policy", "tracking")


def _alerts(session: PageSession, fields: Form) -> Response[str]:
    _page_service().set_alert_recipients(session.account_id, fields.get("recipients", ""))
    return _done("alerts", "alerts")


def _retry(session: PageSession, fields: Form) -> Response[str]:
    invoice_id = fields.get("invoice_id", "")
    _page_service().retry(session.account_id, invoice_id)
    return _done("retry", "activity", invoice=invoice_id, since=utc_now().isoformat())


def _check_now(session: PageSession, fields: Form) -> Response[str]:
    _page_service().check_now(session.account_id)
    return _done("reconcile_queued", "reconciliation")


def _accept_difference(session: PageSession, fields: Form) -> Response[str]:
    _page_service().accept_difference(session.account_id, fields.get("invoice_id", ""))
    return _done("difference_accepted", "reconciliation")


def _resend_difference(session: PageSession, fields: Form) -> Response[str]:
    _page_service().resend_difference(session.account_id, fields.get("invoice_id", ""))
    return _done("difference_resent", "reconciliation")


def _disconnect(session: PageSession, fields: Form) -> Response[str]:
    _page_service().disconnect(session.account_id)
    return _done("disconnected", "connection")


def _connect(session: PageSession, fields: Form) -> Response[str]:
    link = _page_service().connect_link(session.account_id, f"{_origin()}{_prefix()}/xero/connect")
    return Response(303, headers={"Location": link, **_headers()})


def _sign_out(session: PageSession, fields: Form) -> Response[str]:
    _page_service().end(session)
    settings = wiring.settings()
    body = render_message(
        settings.brand_name,
        "Signed out",
        "You have left the Xero settings. Open them again from your account settings.",
        asset_version=ASSET_VERSION,
        base=_base(),
        link=settings.platform_settings_url,
    )
    return _html(200, body, cookies=[_session_cookie("", 0)])


ACTIONS: dict[str, Callable[[PageSession, Form], Response[str]]] = {
    "organisation": _choose_organisation,
    "payment-account": _payment_account,
    "sales-account": _sales_account,
    "default-tax": _default_tax,
    "tax-map": _map_tax,
    "tax-unmap": _unmap_tax,
    "product-map": _map_product,
    "product-unmap": _unmap_product,
    "tracking-map": _map_tracking,
    "tracking-unmap": _unmap_tracking,
    "tracking-policy": _tracking_policy,
    "alerts": _alerts,
    "retry": _retry,
    "reconcile": _check_now,
    "difference-accept": _accept_difference,
    "difference-resend": _resend_difference,
    "disconnect": _disconnect,
    "connect": _connect,
    "sign-out": _sign_out,
}


# --- refusals -----------------------------------------------------------------------------------


@app.exception_handler(RequestRefused)  # type: ignore[untyped-decorator]
def refused(exc: RequestRefused) -> Response[str]:
    logger.warning("settings page refused", extra={"error": exc.code, "path": app.current_event.path})
    metrics.add_metric(name="SettingsRefused", unit="Count", value=1)
    titles = {401: "Your settings session has ended", 403: "This cannot be opened", 404: "Not found"}
    settings = wiring.settings()
    text = exc.message
    if exc.status in (401, 403):
        text += f" Open the Xero settings again from your {settings.brand_name} account settings."
    body = render_message(
        settings.brand_name,
        titles.get(exc.status, "Not accepted"),
        text,
        asset_version=ASSET_VERSION,
        base=_base(),
        link=settings.platform_settings_url,
    )
    cookies = [_session_cookie("", 0)] if exc.status == 401 else []
    return _html(exc.status, body, cookies=cookies)


@app.exception_handler(SyncError)  # type: ignore[untyped-decorator]
def failed(exc: SyncError) -> Response[str]:
    logger.warning("settings page failed", extra={"error": exc.code, "retryable": exc.retryable})
    settings = wiring.settings()
    body = render_message(
        settings.brand_name,
        "Something went wrong",
        user_message(exc) if exc.retryable else "Something went wrong on our side. Please try again later.",
        asset_version=ASSET_VERSION,
        base=_base(),
    )
    return _html(503 if exc.retryable else 500, body)


# --- plumbing -----------------------------------------------------------------------------------


def _page_service() -> SettingsPage:
    service: SettingsPage = wiring.settings_page()
    return service


def _session() -> PageSession:
    cookies = app.current_event.resolved_cookies_field
    return _page_service().session(cookies.get(_cookie_name()))


def _render(
    session: PageSession,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    confirm_disconnect: bool = False,
    watch: str | None = None,
    since: str | None = None,
) -> Response[str]:
    view = _page_service().view(session.account_id, watch=watch, since=since)
    ctx = _context(session, notice=notice, error=error, confirm_disconnect=confirm_disconnect, watch=watch, since=since)
    return _html(status, render_page(view, ctx))


def _context(session: PageSession, **values: Any) -> PageContext:
    return PageContext(
        brand=wiring.settings().brand_name,
        base=_base(),
        csrf_token=session.csrf_token,
        asset_version=ASSET_VERSION,
        **values,
    )


def _form_fields() -> dict[str, str]:
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise RequestRefused("invalid_request", "The settings forms send form data only.", status=415)
    raw = event.decoded_body or ""
    if len(raw) > MAX_FORM_BYTES:
        raise RequestRefused("invalid_request", "That form is too large.", status=413)
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def _same_origin_post() -> None:
    """A second line behind the CSRF token: browsers say where a form came from; it must be this page."""
    headers = app.current_event.headers
    fetch_site = (headers.get("sec-fetch-site") or "").lower()
    if fetch_site and fetch_site not in ("same-origin", "none"):
        raise RequestRefused("csrf_refused", "This form was not sent by the settings page.", status=403)
    origin = headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != _host():
        raise RequestRefused("csrf_refused", "This form was not sent by the settings page.", status=403)


def _host() -> str:
    return str(app.current_event.request_context.domain_name)


def _secure() -> bool:
    return _host().split(":")[0] not in LOOPBACK_HOSTS and not _host().startswith("[::1]")


def _origin() -> str:
    return f"{'https' if _secure() else 'http'}://{_host()}"


def _prefix() -> str:
    """Anything before /xero/settings in the path (a custom domain's base path)."""
    return app.current_event.raw_path.split(BASE, 1)[0]


def _base() -> str:
    return f"{_prefix()}{BASE}"


def _cookie_name() -> str:
    # __Host- cookies must be Secure, path=/ and host-only: no subdomain can plant or read one.
    return "__Host-xero_settings" if _secure() else "xero_settings"


def _session_cookie(value: str, max_age: int) -> Cookie:
    framed = bool(wiring.settings().settings_frame_ancestors) and _secure()
    return Cookie(
        name=_cookie_name(),
        value=value,
        path="/",
        secure=_secure(),
        http_only=True,
        max_age=max_age,
        # Embedded in the platform's frame the cookie is third-party: SameSite=None, and Partitioned so
        # that it lives only under the platform's site. Top-level, Lax keeps it off cross-site requests.
        same_site=SameSite.NONE_MODE if framed else SameSite.LAX_MODE,
        custom_attributes=["Partitioned"] if framed else None,
    )


def _headers() -> dict[str, str]:
    settings = wiring.settings()
    ancestors = settings.settings_frame_ancestors or "'none'"
    xero_login = urlsplit(settings.xero_login_url)
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            # The Connect button posts here, then goes on to Xero's consent page.
            f"form-action 'self' {xero_login.scheme}://{xero_login.netloc}",
            f"frame-ancestors {ancestors}",
            "base-uri 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }
    if not settings.settings_frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    if _secure():
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def _html(status: int, body: str, *, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(
        status,
        content_type=f"{content_types.TEXT_HTML}; charset=utf-8",
        body=body,
        headers=_headers(),
        cookies=cookies or [],
    )
