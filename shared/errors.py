"""Domain errors. Each adapter translates what it meets at its edge into one of these.

Every error carries a stable ``code`` (for API bodies, sync records and metrics) and says whether
retrying later can succeed. Messages never contain tokens or secrets.
"""

from __future__ import annotations


class SyncError(Exception):
    code = "internal_error"
    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Xero, as seen by the client -------------------------------------------------------------


class XeroError(SyncError):
    code = "xero_error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class XeroAuthLost(XeroError):
    """The connection's grant is gone (invalid_grant, revoked, tenant disconnected): reconnect."""

    code = "xero_auth_lost"


class XeroUnauthorized(XeroAuthLost):
    """A 401 on an API call: the access token was refused. One refresh may still save it."""

    code = "xero_unauthorized"


class XeroConfigError(XeroError):
    """Xero refused the app itself (invalid_client and the like): a deployment problem, not the user's."""

    code = "xero_app_misconfigured"


class XeroRateLimited(XeroError):
    code = "xero_rate_limited"
    retryable = True
    sent_nothing = False  # True: the request was refused before Xero did anything (no replay was under way)
    calls_made = 0  # calls the refused request made (429s of the concurrent limit, retried)

    def __init__(self, message: str, retry_after: int, problem: str) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after
        self.problem = problem


class XeroUnavailable(XeroError):
    """5xx, organisation offline (503), timeouts and dropped connections: try again later.

    For a write, Xero may have committed it; retry with the same Idempotency-Key.
    """

    code = "xero_unavailable"
    retryable = True

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        offline: bool = False,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.offline = offline
        self.retry_after = retry_after


class XeroValidationError(XeroError):
    code = "xero_validation_error"

    def __init__(self, messages: list[str], status: int = 400) -> None:
        super().__init__("; ".join(messages) or "Xero rejected the request", status=status)
        self.messages = messages


class XeroNotFound(XeroError):
    code = "xero_not_found"


class XeroRequestTooLarge(XeroError):
    """A request Xero would refuse for its size (URL length, body over 3.5 MB): a bug to fix here,
    never worth retrying as it is."""

    code = "xero_request_too_large"


# --- Connections -----------------------------------------------------------------------------


class ConnectionUnavailable(SyncError):
    """The account has no usable Xero connection (never connected, disconnected, needs reconnecting)."""

    code = "not_connected"

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class TokenRefreshBusy(SyncError):
    """Another invocation holds the refresh lock and has not finished in time: try again shortly."""

    code = "token_refresh_busy"
    retryable = True


# --- OAuth -----------------------------------------------------------------------------------


class OAuthRefused(SyncError):
    """A connect or callback request that must be refused; ``message`` is safe to show the user."""

    code = "oauth_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class StorageError(SyncError):
    code = "storage_error"
    retryable = True


# --- Alert emails ----------------------------------------------------------------------------


class AlertDeliveryFailed(SyncError):
    """SES did not take an alert email (throttled, 5xx, unreachable) after a few tries: try again later.

    The alert's dedupe claim has been released, so the retry sends it.
    """

    code = "alert_delivery_failed"
    retryable = True


class AlertRejected(SyncError):
    """SES refused an alert email outright (sender not verified, account paused, bad address).

    Retrying the same email will not help until the deployment is fixed; the claim is released too.
    """

    code = "alert_rejected"


# --- Management API refusals -----------------------------------------------------------------


class UnknownAccount(SyncError):
    """No connection was ever stored for this platform account."""

    code = "unknown_account"


class OrganisationNotChosen(SyncError):
    """Several organisations were granted and none has been chosen yet."""

    code = "organisation_not_chosen"


class RequestRefused(SyncError):
    """A well-formed request the service refuses; ``code`` names why (``tenant_not_granted``, ...)."""

    def __init__(self, code: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# --- Syncing ---------------------------------------------------------------------------------


class Rejected(SyncError):
    """An event that cannot be synced until someone changes something.

    ``code`` is stable (alerts, sync records, metrics); ``message`` says what is wrong in the owner's
    words; ``fix`` says what to do about it. Xero's own messages, when Xero is the one refusing, are
    in ``xero_messages``.
    """

    def __init__(self, code: str, message: str, fix: str, xero_messages: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.fix = fix
        self.xero_messages = xero_messages or []
