"""Routes of reconciliation against Xero: queue a run, read the report, act on a difference.

The report is what the last run found (:mod:`shared.domain.reconcile.service`). Nothing here writes
to Xero: "accept" marks a difference accepted (Xero's version stands), "resend" puts the platform's
last version of the invoice back through the push, as any event.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from shared import wiring
from shared.api.errors import responses
from shared.api.paths import catch_all, id_in_path
from shared.errors import ConnectionUnavailable, RequestRefused, UnknownAccount
from shared.models.reconcile import Difference, ReconcileRun

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

ACCOUNT = "/v1/accounts/<account_id>"
RECONCILIATION = f"{ACCOUNT}/reconciliation"
ACCEPT = f"{RECONCILIATION}/differences/<invoice_id>/accept"
RESEND = f"{RECONCILIATION}/differences/<invoice_id>/resend"
TAGS = ["Reconciliation"]
AccountId = Annotated[str, Path(min_length=1, max_length=128, description="The platform's id of the account")]
InvoiceId = Annotated[
    str,
    Path(
        min_length=1, max_length=128, description="The platform's id of the invoice, percent-encoded once in the path"
    ),
]


class RunView(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    kind: str = Field(description="full (every invoice the app created) or recent (changed since the last run)")
    state: str = Field(description="running, deferred (waiting for Xero's limits or the push) or complete")
    requested_by: str
    started_at: str
    finished_at: str | None = None
    xero_calls: int
    bytes_read: int = Field(description="Bytes read from Xero (its egress)")
    invoices_compared: int
    differences: int = Field(description="Open differences once complete")
    deferred_reason: str | None = None


class DifferenceView(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    number: str | None = None
    kind: str = Field(
        description="missing_in_xero, deleted_in_xero, voided_in_xero, totals_differ, payments_differ, edited_in_xero"
    )
    details: list[str] = Field(description="Each field that differs: what was recorded, what Xero has")
    what_to_do: str
    actions: list[str] = Field(description="accept, resend")
    state: str = Field(description="open, accepted or resent")
    xero_invoice_id: str | None = None
    xero_status: str | None = None
    found_at: str
    accepted_at: str | None = None
    resent_at: str | None = None


class ReconciliationView(BaseModel):
    model_config = ConfigDict(frozen=True)

    last_run: RunView | None = None
    differences: list[DifferenceView]


class RunQueued(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    kind: str


@router.post(
    RECONCILIATION,
    summary="Reconcile the account now",
    tags=TAGS,
    responses={
        **responses(404, 409, 503),
        202: {"description": "Queued", "content": {content_types.APPLICATION_JSON: {"model": RunQueued}}},
    },
)
def post_reconciliation(account_id: AccountId) -> Response[RunQueued]:
    """Queues a full run; answers 202 at once. The run waits when Xero's limits or the push need the
    organisation's calls first. 409 ``not_connected`` while the account cannot sync."""
    _known(account_id)
    request = wiring.reconciler().request(account_id)
    if request is None:
        connection = wiring.connections().get(account_id)
        status = connection.status.value if connection else "not_connected"
        raise ConnectionUnavailable(f"Account {account_id} is not connected to a Xero organisation now.", status)
    body = RunQueued(run_id=request.run_id, kind=request.kind)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


@router.get(RECONCILIATION, summary="The last run and its differences", tags=TAGS, responses=responses(404))
def get_reconciliation(account_id: AccountId) -> ReconciliationView:
    _known(account_id)
    run, differences = wiring.reconciler().report(account_id)
    return ReconciliationView(
        last_run=run_view(run) if run else None, differences=[difference_view(d) for d in differences]
    )


@router.post(ACCEPT, summary="Accept Xero's version", tags=TAGS, responses=responses(404))
def post_accept(account_id: AccountId, invoice_id: InvoiceId) -> DifferenceView:
    """Marks the difference accepted; nothing is written to Xero. It stays accepted while Xero holds
    what was accepted."""
    _known(account_id)
    found = wiring.reconciler().accept(account_id, invoice_id)
    if found is None:
        raise _unknown(invoice_id)
    return difference_view(found)


@router.post(catch_all(ACCEPT), include_in_schema=False)
def post_accept_any_id(account_id: AccountId) -> DifferenceView:
    return post_accept(account_id, id_in_path(router, "reconciliation/differences", "accept"))


@router.post(RESEND, summary="Send the platform's version again", tags=TAGS, responses=responses(404, 409, 503))
def post_resend(account_id: AccountId, invoice_id: InvoiceId) -> DifferenceView:
    """Queues the platform's last version of the invoice through the push. 409 ``not_resendable`` for
    a difference a resend cannot mend (voided, deleted, payments), ``nothing_to_resend`` when no
    version is kept or a newer one is on its way."""
    _known(account_id)
    found = wiring.reconciler().resend(account_id, invoice_id)  # ResendRefused: a 409
    if found is None:
        raise _unknown(invoice_id)
    return difference_view(found)


@router.post(catch_all(RESEND), include_in_schema=False)
def post_resend_any_id(account_id: AccountId) -> DifferenceView:
    return post_resend(account_id, id_in_path(router, "reconciliation/differences", "resend"))


def run_view(run: ReconcileRun) -> RunView:
    return RunView(
        run_id=run.run_id,
        kind=run.kind,
        state=run.state,
        requested_by=run.requested_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        xero_calls=run.calls,
        bytes_read=run.bytes_read,
        invoices_compared=run.compared,
        differences=run.differences,
        deferred_reason=run.deferred_reason,
    )


def difference_view(found: Difference) -> DifferenceView:
    return DifferenceView.model_validate(found.model_dump(exclude={"xero_fingerprint", "run_id"}))


def _unknown(invoice_id: str) -> RequestRefused:
    message = f"Reconciliation found no difference on invoice {invoice_id}."
    return RequestRefused("unknown_difference", message, status=404)


def _known(account_id: str) -> None:
    if wiring.connections().get(account_id) is None:
        raise UnknownAccount(f"Account {account_id} has never connected Xero.")
