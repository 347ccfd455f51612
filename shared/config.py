"""The service's one settings model, read from the environment and validated at cold start.

Logic never reads ``os.environ``: handlers call :func:`get_settings` once per container and pass
what they need to the code they construct. Environment variable names are the field names in
upper case (``table_name`` is ``TABLE_NAME``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

DEFAULT_SCOPES = (
    "openid profile email offline_access "
    "accounting.invoices accounting.payments accounting.contacts accounting.settings"
)


def _base_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _scope_list(value: str) -> str:
    scopes = value.split()
    if "offline_access" not in scopes:
        raise ValueError("must include offline_access, or Xero issues no refresh token")
    return " ".join(scopes)


def _invoice_url(value: str) -> str:
    if value and "{invoice_id}" not in value:
        raise ValueError("must contain {invoice_id}, where the invoice's id goes")
    return value


def _origins(value: str) -> str:
    origins = value.split()
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("https", "http") or not rest or "/" in rest or any(c in origin for c in ";,'\"*"):
            raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
    return " ".join(origins)


BaseUrl = Annotated[str, AfterValidator(_base_url)]


class SettingsError(RuntimeError):
    """The environment does not describe a usable deployment; raised at cold start."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # AWS resources, named by template.yaml
    table_name: str = Field(min_length=3)
    token_key_id: str = Field(min_length=1, description="KMS key that encrypts Xero tokens at rest")
    xero_app_secret_arn: str = Field(min_length=1, description='Secret holding {"client_id", "client_secret"}')
    connect_link_secret_arn: str = Field(
        min_length=1, description="Secret the platform signs connect and settings links with"
    )
    queue_url: str = ""
    flush_queue_url: str = Field(default="", description="The FIFO queue of flush tickets, one group per organisation")
    wake_queue_url: str = Field(default="", description="Delayed wake-ups of organisations whose events wait")
    dead_letter_queue_url: str = ""
    reconcile_queue_url: str = Field(default="", description="Reconciliation runs (FIFO), one group per organisation")
    alert_sender: str = ""

    # Xero endpoints: real Xero by default, the local sandbox when overridden
    xero_login_url: BaseUrl = "https://login.xero.com"
    xero_identity_url: BaseUrl = "https://identity.xero.com"
    xero_api_url: BaseUrl = "https://api.xero.com"
    xero_scopes: Annotated[str, AfterValidator(_scope_list)] = DEFAULT_SCOPES
    xero_redirect_uri: str = Field(
        default="",
        description="Callback URL registered at Xero; derived from the request when empty",
    )

    # Product behaviour
    brand_name: str = "Invoice Sync"
    platform_return_url: str = Field(default="", description="Where the callback sends the user afterwards")
    connect_link_max_age_seconds: int = Field(default=900, ge=60, le=3600)
    oauth_state_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    token_refresh_margin_seconds: int = Field(default=120, ge=0, le=1500)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    inactivity_days: int = Field(default=60, ge=2)
    inactivity_warning_days: int = Field(default=7, ge=1)
    secret_cache_seconds: int = Field(default=300, ge=0)
    xero_cache_seconds: int = Field(
        default=300, ge=0, le=3600, description="How long Xero accounts/tax rates are reused"
    )

    # Alerts and the inactivity sweep (ALERT_SENDER above is the SES From address)
    platform_settings_url: str = Field(
        default="", description="Where the owner manages or reconnects the integration; the emails' reconnect link"
    )
    platform_invoice_url: Annotated[str, AfterValidator(_invoice_url)] = Field(
        default="", description="Link to retry an invoice, with an {invoice_id} placeholder"
    )
    sweep_clock_override: bool = Field(
        default=False,
        description="Local stack and demo only: the sweep runs for its event's detail.now, not the schedule's time",
    )

    # The drop-in settings page and the platform's sync-status events
    status_event_bus_name: str = Field(default="", description="EventBridge bus of the sync-status events")
    settings_frame_ancestors: Annotated[str, AfterValidator(_origins)] = Field(
        default="", description="Origins allowed to embed the settings page in a frame (space-separated)"
    )
    settings_session_idle_seconds: int = Field(default=1800, ge=60, le=86400)
    settings_session_max_seconds: int = Field(default=28800, ge=300, le=86400)

    queue_max_receives: int = Field(default=8, ge=1, description="Tries of an event before it fails")
    push_coalesce_seconds: float = Field(
        default=20.0, ge=0, le=80, description="How long a flush waits for more events to fill a batch of 50"
    )
    alert_queue_url: str = Field(default="", description="Alert emails waiting to be sent (AlertQueue)")
    alert_dead_letter_queue_url: str = Field(default="", description="Alert emails that could not be sent")
    alert_queue_max_receives: int = Field(
        default=10, ge=1, description="Receives of a queued alert before it goes to the DLQ with its reason"
    )
    alert_retry_base_seconds: int = Field(
        default=30, ge=0, le=900, description="A failed alert's first wait; each next wait doubles"
    )
    alert_retry_max_seconds: int = Field(default=3600, ge=0, le=43_200, description="The longest wait between tries")
    xero_calls_per_minute: int = Field(default=55, ge=1, le=60, description="Budget per organisation (Xero: 60)")
    xero_day_limit: int = Field(
        default=5000,
        ge=100,
        le=5000,
        description="Xero's day limit per organisation for this app's tier (Starter: 1,000; others 5,000). "
        "Xero's X-DayLimit-Remaining header rules over it once seen",
    )

    @property
    def scopes(self) -> list[str]:
        return self.xero_scopes.split()


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping, with one readable error for every problem."""
    fields = Settings.model_fields
    values = {name: environ[name.upper()] for name in fields if environ.get(name.upper(), "") != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors())
        raise SettingsError(f"invalid configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(os.environ)
