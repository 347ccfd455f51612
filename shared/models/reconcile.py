"""Reconciliation against Xero: a run request, a run's figures, and one difference found.

A run compares what the account's invoices are in Xero (``GET /Invoices?createdByMyApp=true&
summaryOnly=true``, paged) with what the push recorded of them (:mod:`shared.models.records`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunKind = Literal["full", "recent"]
RunState = Literal["running", "deferred", "complete"]
RequestedBy = Literal["schedule", "owner"]
DifferenceKind = Literal[
    "missing_in_xero",
    "deleted_in_xero",
    "voided_in_xero",
    "totals_differ",
    "payments_differ",
    "edited_in_xero",
]
DifferenceState = Literal["open", "accepted", "resent"]
Action = Literal["accept", "resend"]


class ReconcileRequest(BaseModel):
    """The body of a message on the reconcile queue: run (or go on with) one account's reconciliation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(min_length=1, max_length=128)
    kind: RunKind = "full"
    run_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9:._-]+$")
    requested_by: RequestedBy = "schedule"


class ReconcileRun(BaseModel):
    """An account's latest run: its progress while under way, its figures once complete."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    kind: RunKind
    requested_by: RequestedBy = "schedule"
    state: RunState = "running"
    tenant_id: str | None = None
    started_at: str = Field(description="When the run began (UTC, ISO 8601)")
    finished_at: str | None = None
    modified_since: str | None = Field(default=None, description="The If-Modified-Since of a recent run")
    next_page: int = 1
    calls: int = 0
    bytes_read: int = 0
    compared: int = 0
    differences: int = Field(default=0, description="Open differences once the run completed")
    invocations: int = 0
    deferred_reason: str | None = None
    deferrals: int = 0
    last_complete_started_at: str | None = Field(
        default=None, description="The start of the last complete run: the next recent run's If-Modified-Since"
    )


class Difference(BaseModel):
    """One invoice whose Xero version differs from what the service recorded, and what to do."""

    model_config = ConfigDict(extra="ignore")

    invoice_id: str = Field(description="The platform's invoice id")
    number: str | None = None
    kind: DifferenceKind
    details: list[str] = Field(default_factory=list, description="Each field that differs: recorded, then Xero")
    what_to_do: str
    actions: list[Action] = Field(default_factory=list)
    xero_invoice_id: str | None = None
    xero_status: str | None = None
    xero_fingerprint: str = Field(description="Of what Xero holds: an accepted difference stays accepted while equal")
    found_at: str
    run_id: str
    state: DifferenceState = "open"
    accepted_at: str | None = None
    resent_at: str | None = None
