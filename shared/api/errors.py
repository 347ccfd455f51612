"""Error bodies of the management API: ``{"error": {"code": ..., "message": ...}}`` with the right status.

Every route module reuses :func:`error_response` and the :data:`ERROR_RESPONSES` documentation;
:func:`register_error_handlers` turns the domain's errors into those bodies, once, on the app.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from shared.adapters.settings import SettingsConflict
from shared.errors import (
    ConnectionUnavailable,
    OrganisationNotChosen,
    RequestRefused,
    StorageError,
    SyncError,
    TokenRefreshBusy,
    UnknownAccount,
    XeroAuthLost,
    XeroConfigError,
    XeroError,
    XeroRateLimited,
    XeroUnavailable,
)
from shared.models.api import ErrorBody, ErrorDetail
from shared.observability import logger

MAX_PROBLEMS = 5
TOKEN_BUSY_RETRY_AFTER = 5
STORAGE_RETRY_AFTER = 2


def error_response(
    status: int, code: str, message: str, *, retry_after: int | None = None, details: list[str] | None = None
) -> Response[str]:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, retry_after=retry_after, details=details))
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(exclude_none=True),
        headers=headers,
    )


def _documented(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}}}


# What each status means on this API; routes pick the ones they can answer.
ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    404: _documented(
        "unknown_account (never connected), unknown_tax_mapping, unknown_product_mapping, unknown_tracking_mapping, "
        "not_found"
    ),
    409: _documented("not_connected, organisation_not_chosen, settings_conflict"),
    422: _documented(
        "invalid_request, or a refused value (tenant_not_granted, unknown_tax_type, unknown_item_code, ...)"
    ),
    502: _documented("xero_error: Xero answered something unexpected"),
    503: _documented("xero_unavailable (with retry_after when known), storage_unavailable"),
}


def responses(*statuses: int, success: str = "Success") -> dict[int, OpenAPIResponse]:
    """A route's documented answers: 200 (its return type's schema) and the given error statuses."""
    documented: dict[int, OpenAPIResponse] = {200: {"description": success}}
    return documented | {status: ERROR_RESPONSES[status] for status in statuses}


def summarise(errors: list[dict[str, Any]]) -> list[str]:
    """Pydantic's problems as ``where: what`` lines; never the rejected input itself."""
    lines = []
    for error in errors[:MAX_PROBLEMS]:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        message = str(error.get("msg") or error.get("type") or "invalid")
        lines.append(f"{location}: {message.removeprefix('Value error, ')}")
    if len(errors) > MAX_PROBLEMS:
        lines.append(f"and {len(errors) - MAX_PROBLEMS} more")
    return lines


def sync_error_response(exc: SyncError) -> Response[str]:  # noqa: PLR0911 - one answer per kind of error
    """The API answer for a domain error (most specific class first)."""
    match exc:
        case RequestRefused():
            return error_response(exc.status, exc.code, exc.message)
        case UnknownAccount():
            return error_response(404, exc.code, exc.message)
        case ConnectionUnavailable() | OrganisationNotChosen() | SettingsConflict():
            return error_response(409, exc.code, exc.message)
        case XeroRateLimited():
            message = f"Xero's {exc.problem} rate limit for this organisation is used up; try again later."
            return error_response(503, "xero_unavailable", message, retry_after=exc.retry_after)
        case XeroUnavailable():
            message = f"Xero is unavailable right now ({exc.message}); try again later."
            return error_response(503, "xero_unavailable", message, retry_after=exc.retry_after)
        case TokenRefreshBusy():
            message = "The Xero connection is being renewed; try again in a few seconds."
            return error_response(503, "xero_unavailable", message, retry_after=TOKEN_BUSY_RETRY_AFTER)
        case XeroConfigError():
            logger.error("xero app misconfigured", extra={"error": exc.message})
            return error_response(500, "service_misconfigured", "The service's Xero app is not set up correctly.")
        case XeroAuthLost():
            return error_response(409, "not_connected", f"Xero refused access for this account: {exc.message}")
        case XeroError():
            return error_response(502, "xero_error", f"Xero answered unexpectedly: {exc.message}")
        case StorageError():
            logger.warning("storage unavailable", extra={"error": exc.message})
            message = "The service's storage is unavailable right now; try again shortly."
            return error_response(503, "storage_unavailable", message, retry_after=STORAGE_RETRY_AFTER)
    logger.error("unhandled domain error", extra={"error": exc.code})
    return error_response(500, "internal_error", "Something went wrong on our side.")


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid(exc: RequestValidationError) -> Response[str]:
        details = summarise(list(exc.errors()))
        return error_response(
            422, "invalid_request", "The request is not valid: " + "; ".join(details), details=details
        )

    @app.exception_handler(UnicodeDecodeError)  # type: ignore[untyped-decorator]
    def not_text(exc: UnicodeDecodeError) -> Response[str]:
        detail = "body: not UTF-8 text (a JSON body must be UTF-8)"
        return error_response(422, "invalid_request", f"The request is not valid: {detail}", details=[detail])

    @app.exception_handler(NotFoundError)  # type: ignore[untyped-decorator]
    def no_route(exc: NotFoundError) -> Response[str]:
        return error_response(404, "not_found", "No such route on this API.")

    @app.exception_handler(SyncError)  # type: ignore[untyped-decorator]
    def refused(exc: SyncError) -> Response[str]:
        return sync_error_response(exc)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error in the management API")
        return error_response(500, "internal_error", "Something went wrong on our side.")
