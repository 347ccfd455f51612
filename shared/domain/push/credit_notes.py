"""Credit notes, their allocations to invoices, and refunds out of them.

1. :func:`claim` takes the newest version of each credit note in the flush; an older version than
   the one Xero holds is skipped (the same version again is not: its allocations may still wait).
2. :func:`prepare` checks it as an invoice is checked (mappings, tax, Xero's arithmetic) and checks
   the amount rules (:mod:`shared.domain.credit_rules`) before anything is written.
3. :func:`send` creates (``PUT /CreditNotes``) or changes (``POST``) credit notes 50 a call
   (``summarizeErrors=false``, an Idempotency-Key per request); then allocates what each one applies
   to invoices (``PUT /CreditNotes/{id}/Allocations``) once both are AUTHORISED in Xero (until then
   the event waits, as a payment waits for its invoice); then refunds (``PUT /Payments`` against the
   credit note, to the account's payment account), 50 a call.

Status: draft → DRAFT, issued → AUTHORISED, void → DELETED (a draft in Xero) or VOIDED (approved).
A credit note with allocations or refunds in Xero is never voided or edited by the sync: Xero refuses
both, and removing allocations or refunds would change the customer's balance without the platform
saying so. The event fails with what to do (see the README, "Credit notes and refunds").

Crash safety: before a write whose answer matters, the record is marked ``sending`` (written at
once); a later attempt that finds the mark looks in Xero first (the credit note by number and
contact, its allocations and refunds by reading it) and records what is there instead of writing
it again. Within Xero's idempotency window the same request also replays the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from shared.domain import credit_rules
from shared.domain.mapping import PreparedInvoice, check_booked, content_fingerprint, prepare_invoice
from shared.domain.products import NOTHING_READ
from shared.domain.push import calls, catalogue
from shared.domain.push.invoices import refused, tax_rates
from shared.domain.push.ledger import synced
from shared.domain.push.model import Fate, Message, Outcome
from shared.errors import Rejected
from shared.models.events import (
    AmountsAre,
    Contact,
    CreditNote,
    CreditNoteStatus,
    CreditNoteUpserted,
    Invoice,
    InvoiceEvent,
    InvoiceStatus,
    RefundRecorded,
)
from shared.models.records import CreditNoteRecord, InvoiceRecord, RefundRecord

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun

WAIT = 60
CREDIT_NOTE_PARAMS = {"summarizeErrors": "false", "unitdp": "4"}
REFERENCE_LENGTH = 255
LINE_AMOUNT_TYPES = {"tax_exclusive": "Exclusive", "tax_inclusive": "Inclusive", "no_tax": "NoTax"}
APPROVED = frozenset({"AUTHORISED", "PAID"})
CLOSED = frozenset({"VOIDED", "DELETED"})
# What Xero does not let change on a credit note with allocations or refunds.
MONEY_FIELDS = frozenset({"Contact", "Date", "CurrencyCode", "LineAmountTypes", "LineItems"})


@dataclass
class NoteWork:
    message: Message
    event: CreditNoteUpserted
    record: CreditNoteRecord
    prepared: PreparedInvoice | None = None
    element: dict[str, Any] | None = None
    status: str | None = None
    fingerprint: str | None = None
    money_fingerprint: str | None = None
    waiting: list[str] = field(default_factory=list)  # invoices whose allocation waits

    @property
    def note(self) -> CreditNote:
        return self.event.data

    @property
    def credit_note_id(self) -> str:
        return self.event.data.credit_note_id

    @property
    def live(self) -> bool:
        return self.message.outcome is None


# --- 1. claim ------------------------------------------------------------------------------------


def claim(run: AccountRun) -> list[NoteWork]:
    newest: dict[str, Message] = {}
    for message in run.live():
        event = message.event
        if not isinstance(event, CreditNoteUpserted):
            continue
        other = newest.get(event.data.credit_note_id)
        if other is None:
            newest[event.data.credit_note_id] = message
        elif _event(other).data.version < event.data.version:
            run.skip(other)
            newest[event.data.credit_note_id] = message
        else:
            run.skip(message)
    records = run.ledger.credit_notes(list(newest))
    work: list[NoteWork] = []
    for credit_note_id, message in newest.items():
        event = _event(message)
        record = records.get(credit_note_id) or CreditNoteRecord(credit_note_id=credit_note_id, tenant_id=run.tenant_id)
        if record.last_version > event.data.version:
            run.ledger.put(
                record.model_copy(
                    update={"last_skipped_version": event.data.version, "skipped_count": record.skipped_count + 1}
                )
            )
            run.skip(message)
            continue
        work.append(NoteWork(message, event, record))
    return work


def contacts(work: list[NoteWork]) -> list[Contact]:
    """The contacts the credit notes need in Xero (resolved with the invoices' contacts)."""
    return [w.note.contact for w in work if w.live and w.note.status != CreditNoteStatus.VOID]


def _event(message: Message) -> CreditNoteUpserted:
    assert isinstance(message.event, CreditNoteUpserted)
    return message.event


# --- 2. before anything is written ----------------------------------------------------------------


def prepare(run: AccountRun, work: list[NoteWork]) -> None:
    live = [w for w in work if w.live]
    if not live:
        return
    shims = {w.credit_note_id: _as_invoice(w.note) for w in live}
    rates = tax_rates(run, _tax_types(run, list(shims.values())))
    known = catalogue.read_for(run, shims.values()) if shims else NOTHING_READ
    invoices = run.ledger.invoices(sorted({a.invoice_id for w in live for a in w.note.applied_to}))
    for w in live:
        try:
            w.prepared = _prepare_one(w.note, shims[w.credit_note_id], run, rates, known)
            applied = {a.invoice_id: a.amount for a in w.note.applied_to}
            credit_rules.check_applied(
                w.note.number,
                w.note.currency,
                w.prepared.totals.total,
                applied,
                w.record.allocated,
                w.record.refunded,
            )
            for invoice_id, amount in applied.items():
                invoice = invoices.get(invoice_id)
                adding = amount - w.record.allocated.get(invoice_id, Decimal(0))
                if invoice is not None and invoice.xero_invoice_id and adding > 0:
                    due = invoice.amount_due if invoice.xero_status in APPROVED else None
                    credit_rules.check_invoice(
                        w.note.number,
                        w.note.currency,
                        adding,
                        credit_rules.InvoiceDue(invoice.number or invoice_id, invoice.currency, due),
                    )
        except Rejected as failure:
            run.fail(w.message, failure)


def _prepare_one(
    note: CreditNote, shim: Invoice, run: AccountRun, rates: dict[str, Decimal], known: Any
) -> PreparedInvoice:
    try:
        return prepare_invoice(shim, settings=run.account_settings, tax_rates=rates, catalogue=known)
    except Rejected as failure:
        # The invoice checks speak of "Invoice <number>": here it is a credit note.
        text = failure.message.replace(f"invoice {note.number}", f"credit note {note.number}")
        text = text.replace(f"Invoice {note.number}", f"Credit note {note.number}")
        raise Rejected(failure.code, text, failure.fix, failure.xero_messages) from None


def _as_invoice(note: CreditNote) -> Invoice:
    """The credit note's lines and totals seen as an invoice's, for the shared checks (validated already)."""
    return Invoice.model_construct(
        invoice_id=note.credit_note_id,
        number=note.number,
        version=note.version,
        status=InvoiceStatus.SENT,
        currency=note.currency,
        issue_date=note.issue_date,
        due_date=None,
        reference=note.reference,
        amounts_are=note.amounts_are,
        contact=note.contact,
        line_items=note.line_items,
        totals=note.totals,
    )


def _tax_types(run: AccountRun, documents: list[Invoice]) -> set[str]:
    settings = run.account_settings
    types: set[str] = set()
    for document in documents:
        if document.amounts_are == AmountsAre.NO_TAX:
            continue
        for line in document.line_items:
            mapping = settings.tax_mappings.get(line.tax_id) if line.tax_id else None
            tax_type = mapping.tax_type if mapping else (None if line.tax_id else settings.default_tax_type)
            if tax_type:
                types.add(tax_type)
    return types


# --- 3. to Xero -------------------------------------------------------------------------------------


def send(run: AccountRun, work: list[NoteWork]) -> None:
    live = [w for w in work if w.live]
    _adopt_earlier_attempts(run, [w for w in live if w.record.sending and not w.record.xero_credit_note_id])
    creates: list[NoteWork] = []
    changes: list[NoteWork] = []
    for w in live:
        try:
            if _decide(run, w):
                (changes if w.record.xero_credit_note_id else creates).append(w)
        except Rejected as failure:
            run.fail(w.message, failure)
    if creates:
        run.ledger.stage_now([w.record.model_copy(update={"sending": True}) for w in creates])
    _write(run, "PUT", creates)
    _write(run, "POST", changes)
    allocate(run, [w for w in work if w.live])
    refund(run)


def _target_status(note: CreditNote, current: str | None) -> str | None:
    if current in CLOSED:
        if note.status == CreditNoteStatus.VOID:
            return None
        raise Rejected(
            "credit_note_closed_in_xero",
            f"Credit note {note.number} is {current} in Xero and can no longer change.",
            "Issue a new credit note on the platform for any further change.",
        )
    if note.status == CreditNoteStatus.VOID:
        if current is None:
            return None
        return "DELETED" if current in ("DRAFT", "SUBMITTED") else "VOIDED"
    if note.status == CreditNoteStatus.DRAFT:
        if current not in (None, "DRAFT", "SUBMITTED"):
            raise Rejected(
                "invalid_transition",
                f"Credit note {note.number} is already approved in Xero and Xero does not let it go back to draft.",
                "Void it on the platform and issue a new one, or keep it as issued.",
            )
        return current or "DRAFT"
    return "AUTHORISED"


def _decide(run: AccountRun, w: NoteWork) -> bool:
    """Build the request for ``w``; False when Xero already holds what this version says."""
    record, note = w.record, w.note
    current = record.xero_status
    status = _target_status(note, current)
    if status is None:
        _complete(run, w, {})
        return False
    used = bool(record.allocated) or record.refunded > 0
    if status == "VOIDED" and used:
        raise Rejected(
            "credit_note_used",
            f"Credit note {note.number} has {_amount(sum(record.allocated.values(), Decimal(0)), note.currency)} "
            f"allocated to invoices and {_amount(record.refunded, note.currency)} refunded in Xero, and Xero does not "
            "void a credit note that has been used.",
            "Remove its allocations and refunds in Xero (or issue an invoice for the amount on the platform), then "
            "retry the credit note.",
        )
    if status in {"VOIDED", "DELETED"}:
        assert record.xero_credit_note_id is not None
        w.status, w.element = status, {"CreditNoteID": record.xero_credit_note_id, "Status": status}
        return True
    contact_id = run.contact_ids.get(note.contact.contact_id)
    if contact_id is None:
        raise Rejected(
            "contact_missing",
            f"Credit note {note.number} was not synced: its contact could not be found or created in Xero.",
            "Check the contact on the platform, then retry the credit note.",
        )
    assert w.prepared is not None
    element = _element(note, w.prepared, contact_id, record.xero_credit_note_id, status)
    content = {k: v for k, v in element.items() if k not in ("Status", "CreditNoteID")}
    w.status, w.fingerprint = status, content_fingerprint(content)
    w.money_fingerprint = content_fingerprint({k: v for k, v in content.items() if k in MONEY_FIELDS})
    same = bool(record.xero_credit_note_id) and record.fingerprint == w.fingerprint
    if same and (current == status or (current == "PAID" and status == "AUTHORISED")):
        _complete(run, w, {})
        return False
    if not same and used and record.money_fingerprint != w.money_fingerprint:
        raise Rejected(
            "credit_note_used",
            f"Credit note {note.number} has allocations or refunds in Xero, and Xero does not let its lines, date, "
            "currency or contact change.",
            "Issue a new credit note on the platform for the difference (its reference and number may still change).",
        )
    w.element = {"CreditNoteID": record.xero_credit_note_id, "Status": status} if same else element
    return True


def _element(
    note: CreditNote, prepared: PreparedInvoice, contact_id: str, xero_id: str | None, status: str
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "CreditNoteID": xero_id,
        "Type": "ACCRECCREDIT",
        "CreditNoteNumber": note.number,
        "Contact": {"ContactID": contact_id},
        "Date": note.issue_date.isoformat(),
        "Reference": note.reference,
        "CurrencyCode": note.currency,
        "LineAmountTypes": LINE_AMOUNT_TYPES[note.amounts_are.value],
        "Status": status,
        "LineItems": list(prepared.lines),
    }
    return {k: v for k, v in element.items() if v is not None}


def _write(run: AccountRun, method: Literal["PUT", "POST"], items: list[NoteWork]) -> None:
    for batch in calls.by_size(items, lambda w: w.element or {}):
        results = calls.write(
            run.xero,
            method,
            "CreditNotes",
            [w.element or {} for w in batch],
            [f"credit-note:{w.credit_note_id}@{w.note.version}" for w in batch],
            CREDIT_NOTE_PARAMS,
        )
        for w, (result, messages) in zip(batch, results, strict=True):
            if result is not None:
                _complete(run, w, result)
            else:
                run.fail(w.message, refused("credit note", w.note.number, messages))


def _adopt_earlier_attempts(run: AccountRun, items: list[NoteWork]) -> None:
    """An earlier attempt may have created these: look in Xero by number, for our contact only."""
    for w in items:
        if not calls.plain(w.note.number):
            continue
        where = calls.where_equals("CreditNoteNumber", [w.note.number])
        contact_id = run.contact_ids.get(w.note.contact.contact_id)
        for found in run.xero.get("CreditNotes", {"where": where}).get("CreditNotes", []):
            ours = found.get("Type") == "ACCRECCREDIT" and found.get("Contact", {}).get("ContactID") == contact_id
            if ours and found.get("Status") != "DELETED":
                w.record = w.record.model_copy(
                    update={"xero_credit_note_id": str(found["CreditNoteID"]), "xero_status": found.get("Status")}
                )
                break


def _complete(run: AccountRun, w: NoteWork, result: dict[str, Any]) -> None:
    record = w.record
    total = result.get("Total")
    values: dict[str, Any] = {
        "tenant_id": run.tenant_id,
        "number": w.note.number,
        "xero_credit_note_id": result.get("CreditNoteID") or record.xero_credit_note_id,
        "xero_status": result.get("Status") or w.status or record.xero_status,
        "xero_contact_id": run.contact_ids.get(w.note.contact.contact_id) or record.xero_contact_id,
        "fingerprint": w.fingerprint or record.fingerprint,
        "money_fingerprint": w.money_fingerprint or record.money_fingerprint,
        "currency": w.note.currency,
        "total": Decimal(str(total)) if total is not None else (record.total or _predicted(w)),
        "applied": {a.invoice_id: a.amount for a in w.note.applied_to},
        "sending": False,
        "last_version": w.note.version,
        "last_pushed_at": run.now.isoformat(),
        "updated_at": run.now.isoformat(),
        "last_event": w.message.body,
    }
    mismatch = check_booked(w.prepared, result, w.note.number) if w.prepared is not None and result else None
    w.record = record.model_copy(update=synced(**values))
    run.ledger.put(w.record)
    if mismatch is not None:
        run.fail(w.message, mismatch)


def _predicted(w: NoteWork) -> Decimal | None:
    return w.prepared.totals.total if w.prepared is not None else None


# --- allocations ---------------------------------------------------------------------------------------


def allocate(run: AccountRun, work: list[NoteWork]) -> None:
    """What each credit note applies to invoices and Xero does not have yet; the event is done once
    every allocation is in Xero, and waits (retried, boundedly) while an invoice is not approved."""
    invoices = run.ledger.invoices(sorted({a.invoice_id for w in work for a in w.note.applied_to}))
    for w in work:
        if not w.live:
            continue
        record = w.record
        if w.note.status == CreditNoteStatus.VOID or not w.note.applied_to:
            run.done(w.message)
            continue
        if record.sending and record.xero_credit_note_id:
            record = w.record = _allocations_in_xero(run, record, invoices)
        wanted = {a.invoice_id: a.amount - record.allocated.get(a.invoice_id, Decimal(0)) for a in w.note.applied_to}
        wanted = {i: amount for i, amount in wanted.items() if amount > 0}
        if not wanted:
            run.ledger.put(record)
            run.done(w.message)
            continue
        if record.xero_status not in APPROVED:
            run.ledger.put(record)
            run.done(w.message)  # a draft credit note: its allocations go once it is issued (a new version)
            continue
        ready: dict[str, tuple[InvoiceRecord, Decimal]] = {}
        for invoice_id, amount in wanted.items():
            invoice = invoices.get(invoice_id)
            problem = _not_ready(run, w, invoice_id, invoice)
            if problem is not None:
                w.waiting.append(invoice_id)
                w.message.finish(problem)
                continue
            assert invoice is not None
            try:
                due = invoice.amount_due
                credit_rules.check_invoice(
                    w.note.number,
                    w.note.currency,
                    amount,
                    credit_rules.InvoiceDue(invoice.number or invoice_id, invoice.currency, due),
                )
            except Rejected as failure:
                run.fail(w.message, failure)
                break
            ready[invoice_id] = (invoice, amount)
        if w.message.outcome is not None and w.message.outcome.fate == Fate.FAILED:
            continue
        if ready:
            _send_allocations(run, w, ready)
        if w.live:
            run.done(w.message)


def _not_ready(run: AccountRun, w: NoteWork, invoice_id: str, invoice: InvoiceRecord | None) -> Outcome | None:
    status = invoice.xero_status if invoice else None
    if invoice is not None and invoice.xero_invoice_id and status == "AUTHORISED":
        return None
    if status in CLOSED or status == "PAID":
        run.fail(
            w.message,
            Rejected(
                "invoice_closed" if status != "PAID" else "credit_exceeds_invoice_due",
                f"Credit note {w.note.number} applies credit to invoice {invoice.number if invoice else invoice_id}, "
                f"which is {status} in Xero.",
                "Apply the credit to another invoice (or refund it), then save the credit note again.",
            ),
        )
        return w.message.outcome
    if invoice is not None and invoice.xero_invoice_id:
        return Outcome(Fate.RETRIED, "invoice_not_approved", f"invoice {invoice_id} is still a draft in Xero", WAIT)
    if any(
        isinstance(m.event, InvoiceEvent)
        and m.event.data.invoice_id == invoice_id
        and (m.outcome is None or not m.outcome.fate.settled)
        for m in run.messages
    ):
        return Outcome(Fate.DEFERRED, "invoice_pending", f"invoice {invoice_id} is on its way to Xero", WAIT)
    return Outcome(Fate.RETRIED, "invoice_not_synced", f"invoice {invoice_id} has not reached Xero yet", WAIT)


def _send_allocations(run: AccountRun, w: NoteWork, ready: dict[str, tuple[InvoiceRecord, Decimal]]) -> None:
    record = w.record
    assert record.xero_credit_note_id is not None
    order = sorted(ready)
    elements = [
        {
            "Invoice": {"InvoiceID": ready[i][0].xero_invoice_id},
            "Amount": ready[i][1],
            "Date": w.note.issue_date.isoformat(),
        }
        for i in order
    ]
    run.ledger.stage_now([record.model_copy(update={"sending": True})])
    resource = f"CreditNotes/{record.xero_credit_note_id}/Allocations"
    results = calls.write(
        run.xero,
        "PUT",
        resource,
        elements,
        [f"allocation:{w.credit_note_id}:{i}:{ready[i][1]}" for i in order],
        {"summarizeErrors": "false"},
        key="Allocations",
    )
    allocated = dict(record.allocated)
    problems: list[str] = []
    for invoice_id, (result, messages) in zip(order, results, strict=True):
        invoice, amount = ready[invoice_id]
        if result is None:
            problems += messages
            continue
        allocated[invoice_id] = allocated.get(invoice_id, Decimal(0)) + amount
        answered = result.get("Invoice") or {}
        due = answered.get("AmountDue")
        amount_due = Decimal(str(due)) if due is not None else max((invoice.amount_due or amount) - amount, Decimal(0))
        status = answered.get("Status") or ("PAID" if amount_due == 0 else invoice.xero_status)
        current = run.ledger.invoice(invoice_id) or invoice
        # updated_at: the service's last write to the invoice in Xero (reconciliation compares it).
        update = {"amount_due": amount_due, "xero_status": status, "updated_at": run.now.isoformat()}
        run.ledger.put(current.model_copy(update=update))
    w.record = record.model_copy(update={"allocated": allocated, "sending": False, "updated_at": run.now.isoformat()})
    run.ledger.put(w.record)
    if problems:
        run.fail(w.message, refused("the allocation of credit note", w.note.number, problems))


def _allocations_in_xero(
    run: AccountRun, record: CreditNoteRecord, invoices: dict[str, InvoiceRecord]
) -> CreditNoteRecord:
    """After an unanswered attempt: what Xero holds of this credit note's allocations and refunds."""
    found = run.xero.get(f"CreditNotes/{record.xero_credit_note_id}").get("CreditNotes", [])
    if not found:
        return record.model_copy(update={"sending": False})
    by_xero_id = {str(r.xero_invoice_id): i for i, r in invoices.items() if r.xero_invoice_id}
    allocated: dict[str, Decimal] = {}
    for allocation in found[0].get("Allocations", []):
        invoice_id = by_xero_id.get(str((allocation.get("Invoice") or {}).get("InvoiceID")))
        if invoice_id is not None:
            allocated[invoice_id] = allocated.get(invoice_id, Decimal(0)) + Decimal(str(allocation.get("Amount", 0)))
    return record.model_copy(
        update={"allocated": allocated, "xero_status": found[0].get("Status") or record.xero_status, "sending": False}
    )


# --- refunds ------------------------------------------------------------------------------------------


def refund(run: AccountRun) -> None:
    messages = _once_each(run, [m for m in run.live() if isinstance(m.event, RefundRecorded)])
    if not messages:
        return
    notes = run.ledger.credit_notes([_refund(m).data.credit_note_id for m in messages])
    records = run.ledger.refunds([_refund(m).data.refund_id for m in messages])
    ready: list[tuple[Message, RefundRecorded, CreditNoteRecord, dict[str, Any]]] = []
    for message in messages:
        event = _refund(message)
        note = notes.get(event.data.credit_note_id)
        if not _refundable(run, message, event, note):
            continue
        assert note is not None
        record = records.get(event.data.refund_id)
        if record is not None and record.xero_payment_id:
            _already_sent(run, message, event, record)
            continue
        if record is not None and record.sending and _adopt_refund(run, event, note):
            run.done(message)
            continue
        try:
            credit_rules.check_refund(
                event.data.refund_id,
                note.number or note.credit_note_id,
                note.currency,
                event.data.amount,
                credit_rules.left_for_refunds(note.total or Decimal(0), note.applied, note.allocated, note.refunded),
            )
            element = _refund_element(run, event, note)
        except Rejected as failure:
            run.fail(message, failure)
            continue
        # Counted at once: a second refund of the same credit note in this batch is checked against what is left.
        notes[note.credit_note_id] = note.model_copy(update={"refunded": note.refunded + event.data.amount})
        ready.append((message, event, note, element))
    if ready:
        run.ledger.stage_now(
            [
                (records.get(e.data.refund_id) or RefundRecord(refund_id=e.data.refund_id)).model_copy(
                    update={"sending": True, "credit_note_id": e.data.credit_note_id}
                )
                for _, e, _, _ in ready
            ]
        )
    for batch in calls.by_size(ready, lambda item: item[3]):
        results = calls.write(
            run.xero,
            "PUT",
            "Payments",
            [element for *_, element in batch],
            [f"refund:{e.data.refund_id}" for _, e, _, _ in batch],
        )
        for (message, event, note, _), (result, problems) in zip(batch, results, strict=True):
            if result is not None:
                _refunded(run, event, str(result["PaymentID"]), result.get("CreditNote"))
                run.done(message)
            else:
                run.fail(message, refused("refund", f"{event.data.refund_id} of credit note {note.number}", problems))


def _refund(message: Message) -> RefundRecorded:
    assert isinstance(message.event, RefundRecorded)
    return message.event


def _once_each(run: AccountRun, messages: list[Message]) -> list[Message]:
    first: dict[str, Message] = {}
    for message in messages:
        event = _refund(message)
        seen = first.get(event.data.refund_id)
        if seen is None:
            first[event.data.refund_id] = message
        elif _refund(seen).data == event.data:
            run.skip(message)
        else:
            message.finish(Outcome(Fate.DEFERRED, "refund_pending", "another event for this refund goes first", 1))
    return list(first.values())


def _refundable(run: AccountRun, message: Message, event: RefundRecorded, note: CreditNoteRecord | None) -> bool:
    status = note.xero_status if note else None
    if note is not None and note.xero_credit_note_id and status in APPROVED:
        return True
    credit_note_id = event.data.credit_note_id
    if status in CLOSED:
        run.fail(
            message,
            Rejected(
                "credit_note_voided",
                f"Refund {event.data.refund_id} was not synced: its credit note is {status} in Xero.",
                "Record the refund against the credit note that replaced it.",
            ),
        )
    elif note is not None and note.state == "failed" and not note.xero_credit_note_id:
        run.fail(
            message,
            Rejected(
                "credit_note_not_synced",
                f"Refund {event.data.refund_id} was not synced because its credit note could not be: "
                f"{note.error_message or 'see the credit note'}",
                "Fix the credit note and save it again, then publish the refund again.",
            ),
        )
    elif note is not None and note.xero_credit_note_id:
        message.finish(Outcome(Fate.RETRIED, "credit_note_not_issued", "its credit note is a draft in Xero", WAIT))
    elif any(
        isinstance(m.event, CreditNoteUpserted)
        and m.event.data.credit_note_id == credit_note_id
        and (m.outcome is None or not m.outcome.fate.settled)
        for m in run.messages
    ):
        message.finish(Outcome(Fate.DEFERRED, "credit_note_pending", "its credit note is on its way to Xero", WAIT))
    else:
        message.finish(Outcome(Fate.RETRIED, "credit_note_not_synced", "its credit note has not reached Xero", WAIT))
    return False


def refund_reference(event: RefundRecorded) -> str:
    """The refund's reference in Xero carries the platform's refund id: how a refund found in Xero is
    known to be this one."""
    marker = f"[{event.data.refund_id}]"
    if not event.data.reference:
        return marker
    return f"{event.data.reference[: REFERENCE_LENGTH - len(marker) - 1]} {marker}"


def _refund_element(run: AccountRun, event: RefundRecorded, note: CreditNoteRecord) -> dict[str, Any]:
    account = run.account_settings.payment_account
    if account is None:
        raise Rejected(
            "no_payment_account",
            f"Refund {event.data.refund_id} was not synced: no Xero account is chosen for payments.",
            "Choose a payment account (a bank account, or one with payments enabled) in the integration settings.",
        )
    return {
        "CreditNote": {"CreditNoteID": note.xero_credit_note_id},
        "Account": {"AccountID": account.account_id},
        "Date": event.data.date.isoformat(),
        "Amount": event.data.amount,
        "Reference": refund_reference(event),
    }


def _already_sent(run: AccountRun, message: Message, event: RefundRecorded, record: RefundRecord) -> None:
    if record.amount is None or record.amount == event.data.amount:
        run.skip(message)
        return
    run.fail(
        message,
        Rejected(
            "refund_changed",
            f"Refund {event.data.refund_id} is already in Xero for {record.amount}; this event says "
            f"{event.data.amount}. A refund in Xero is never changed by the sync.",
            "Record the difference as a new refund on the platform; to correct the refund itself, remove it in Xero "
            "and publish it again.",
        ),
    )


def _adopt_refund(run: AccountRun, event: RefundRecorded, note: CreditNoteRecord) -> bool:
    """After an unanswered attempt: is this refund on the credit note in Xero? Then record it."""
    found = run.xero.get(f"CreditNotes/{note.xero_credit_note_id}").get("CreditNotes", [])
    reference = refund_reference(event)
    for payment in found[0].get("Payments", []) if found else []:
        if payment.get("Reference") == reference and Decimal(str(payment.get("Amount", 0))) == event.data.amount:
            _refunded(run, event, str(payment["PaymentID"]), None)
            return True
    return False


def _refunded(run: AccountRun, event: RefundRecorded, xero_payment_id: str, answered: dict[str, Any] | None) -> None:
    current = run.ledger.refunds([event.data.refund_id]).get(event.data.refund_id)
    run.ledger.put(
        (current or RefundRecord(refund_id=event.data.refund_id)).model_copy(
            update=synced(
                credit_note_id=event.data.credit_note_id,
                xero_payment_id=xero_payment_id,
                amount=event.data.amount,
                date=event.data.date.isoformat(),
                sending=False,
                updated_at=run.now.isoformat(),
                last_event=None,
            )
        )
    )
    note = run.ledger.credit_notes([event.data.credit_note_id]).get(event.data.credit_note_id)
    if note is None:
        return
    status = (answered or {}).get("Status") or note.xero_status
    run.ledger.put(
        note.model_copy(
            update={
                "refunded": note.refunded + event.data.amount,
                "xero_status": status,
                "updated_at": run.now.isoformat(),
            }
        )
    )


def _amount(value: Decimal, currency: str | None) -> str:
    return credit_rules.money(value, currency)
