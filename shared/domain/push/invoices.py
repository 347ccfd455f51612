"""Invoices: checked before anything is written for them, then created, changed, voided or deleted in
Xero 50 (and at most 3 MB) a call.

1. :func:`prepare` checks every claimed invoice against the account's settings, Xero's items and
   tracking categories as they are now (:mod:`shared.domain.push.catalogue`, read only when lines are
   mapped to them) and Xero's arithmetic (:mod:`shared.domain.money`), and holds its number in the
   organisation (:mod:`shared.adapters.org_registry`), before its contact is looked at: an invoice
   refused here costs no Xero write.
2. :func:`send` finds what an unfinished earlier attempt created (by every number it sent), decides
   each invoice's request, and sends creates (``PUT``) and changes (``POST``); after Xero answers, the
   totals Xero booked (and the tracking it kept) are compared with the prediction, and a difference
   fails loudly.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from shared.adapters.org_registry import Holder
from shared.adapters.sync_records import keep_event
from shared.domain.mapping import (
    check_booked,
    content_fingerprint,
    invoice_element,
    prepare_invoice,
    status_element,
    target_status,
)
from shared.domain.push import calls, catalogue
from shared.domain.push.context import TAX_RATE_CACHE_SECONDS
from shared.domain.push.ledger import synced
from shared.domain.push.model import Fate, InvoiceWork, Outcome
from shared.domain.push.outcomes import alert
from shared.errors import Rejected
from shared.models.events import AmountsAre, InvoiceUpserted
from shared.models.records import InvoiceRecord
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun
    from shared.models.settings import AccountSettings

NUMBER_TAKEN = "must be unique"
PAID_LIKE = frozenset({"AUTHORISED", "PAID"})
# A history invoice whose number Xero already has (made by hand, or by another tool): matched.
ADOPTED_UPDATED, ADOPTED_KEPT = "updated", "kept"
EDITABLE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})


# --- 1. before anything is written -------------------------------------------------------------


def prepare(run: AccountRun, work: list[InvoiceWork]) -> None:
    upserts = [w for w in work if w.live and isinstance(w.event, InvoiceUpserted)]
    if not upserts:
        return
    rates = tax_rates(run, _tax_types(upserts, run.account_settings))
    known = catalogue.read(run, upserts)
    url = run.parts.invoice_url
    for w in upserts:
        assert isinstance(w.event, InvoiceUpserted)
        try:
            w.prepared = prepare_invoice(
                w.event.data,
                settings=run.account_settings,
                tax_rates=rates,
                invoice_url=url.replace("{invoice_id}", w.invoice_id) if url else None,
                catalogue=known,
            )
        except Rejected as failure:
            run.fail(w.message, failure)
            continue
        if w.prepared.left_off:
            _note_left_off(run, w, w.prepared.left_off)
    _hold_numbers(run, [w for w in upserts if w.live])


def tax_rates(run: AccountRun, needed: set[str]) -> dict[str, Decimal]:
    """The effective rates of the tax types the invoices need.

    Each tax mapping keeps the rate Xero had when it was saved (the management API checks it against
    Xero then), so the push reads nothing for them: Xero charges for what is read, and an
    organisation's rates change once in years. If a rate did change in Xero meanwhile, Xero books
    other totals than predicted and the push fails the invoice loudly (``xero_totals_differ``), saying
    to map the tax rate again. Only a tax type without a saved rate is read from Xero (``GET
    /TaxRates``, kept a few minutes per organisation); an unknown or archived one is simply absent.
    """
    if not needed:
        return {}
    saved = {
        m.tax_type: m.effective_rate
        for m in run.account_settings.tax_mappings.values()
        if m.effective_rate is not None and m.tax_type in needed
    }
    missing = needed - set(saved)
    if not missing:
        return saved
    return {**_read_rates(run, missing), **saved}


def _read_rates(run: AccountRun, needed: set[str]) -> dict[str, Decimal]:
    parts = run.parts
    cached = parts.tax_rates.get(run.tenant_id)
    if cached is None or cached[0] < parts.clock() or needed - set(cached[1]):
        answer = run.xero.get("TaxRates")
        active = {
            str(r["TaxType"]): Decimal(str(r.get("EffectiveRate", r.get("DisplayTaxRate", 0))))
            for r in answer.get("TaxRates", [])
            if r.get("Status") == "ACTIVE"
        }
        cached = (parts.clock() + TAX_RATE_CACHE_SECONDS, active)
        parts.tax_rates[run.tenant_id] = cached
    return cached[1]


def _note_left_off(run: AccountRun, w: InvoiceWork, left_off: tuple[str, ...]) -> None:
    """Dimensions no mapping names, sent without tracking because the account chose to ignore them:
    never silently, each one is logged with its invoice and line, and counted."""
    logger.warning(
        "invoice sent without unmapped dimensions",
        extra={
            "account_id": run.account_id,
            "invoice_id": w.invoice_id,
            "number": w.number,
            "left_off": list(left_off),
            "setting": "unmapped_dimensions=ignore",
        },
    )
    metrics.add_metric(name="TrackingLeftOff", unit="Count", value=len(left_off))


def _hold_numbers(run: AccountRun, items: list[InvoiceWork]) -> None:
    """Each invoice number is held for one platform invoice per organisation before it is sent."""
    wanted = {w.number: Holder(run.account_id, w.invoice_id) for w in items if w.number}
    holders = run.parts.registry.hold_all(run.tenant_id, "INVOICE", wanted) if wanted else {}
    for w in items:
        holder = holders.get(w.number or "")
        if w.number and holder is not None and holder != Holder(run.account_id, w.invoice_id):
            run.fail(w.message, _number_held(w.number, holder, run.account_id))


def _number_held(number: str, holder: Holder, account_id: str) -> Rejected:
    who = (
        f"invoice {holder.object_id} of this account"
        if holder.account_id == account_id
        else "an invoice of another account connected to the same Xero organisation"
    )
    return Rejected(
        "duplicate_invoice_number",
        f"Invoice number {number} is already used in this Xero organisation by {who}.",
        "Give the invoice a number that is not in use in this Xero organisation, then retry.",
        [f"Invoice # must be unique ({number})"],
    )


# --- 2. to Xero ------------------------------------------------------------------------------


def send(run: AccountRun, work: list[InvoiceWork]) -> None:
    live = [w for w in work if w.live]
    _adopt_earlier_attempts(run, [w for w in live if w.claim.uncertain and not w.record.xero_invoice_id])
    creates: list[InvoiceWork] = []
    changes: list[InvoiceWork] = []
    for w in live:
        try:
            if _decide(run, w):
                (changes if w.record.xero_invoice_id else creates).append(w)
        except Rejected as failure:
            run.fail(w.message, failure)
    _send(run, "PUT", creates)
    _send(run, "POST", changes)


def _decide(run: AccountRun, w: InvoiceWork) -> bool:
    """Build the request for ``w``; False when Xero already holds what this version says."""
    record = w.record
    current = record.xero_status
    if record.adopted == ADOPTED_KEPT:
        # Matched in Xero and left as it is there (paid, voided, someone else's contact): never written.
        _keep(run, w, None, record.adopted_reason or "it is kept as Xero has it")
        return False
    if not isinstance(w.event, InvoiceUpserted):
        w.status = _removal_status(record)
        if w.status is None:
            _complete(run, w, {})
            return False
        assert record.xero_invoice_id is not None
        w.element = status_element(record.xero_invoice_id, w.status)
        return True
    assert w.prepared is not None
    status = target_status(w.event.data, current)
    if status is None:
        _complete(run, w, {})
        return False
    if status == "VOIDED":
        _refuse_paid_void(record)
    contact_id = run.contact_ids.get(w.event.data.contact.contact_id)
    if contact_id is None:
        raise Rejected(
            "contact_missing",
            f"Invoice {w.number} was not synced: its contact could not be found or created in Xero.",
            "Check the contact on the platform, then retry the invoice.",
        )
    element = invoice_element(
        w.prepared, xero_contact_id=contact_id, xero_invoice_id=record.xero_invoice_id, status=status
    )
    w.contact_id, w.status, w.fingerprint = contact_id, status, content_fingerprint(element)
    same = bool(record.xero_invoice_id) and record.fingerprint == w.fingerprint
    if same and (current == status or (current == "PAID" and status == "AUTHORISED")):
        _complete(run, w, {})
        return False
    w.element = status_element(str(record.xero_invoice_id), status) if same else element
    return True


def _removal_status(record: InvoiceRecord) -> str | None:
    """Void or delete: DELETED for a draft, VOIDED for an approved invoice, nothing if never in Xero."""
    current = record.xero_status
    if current is None or current in ("VOIDED", "DELETED") or not record.xero_invoice_id:
        return None
    if current in ("DRAFT", "SUBMITTED"):
        return "DELETED"
    _refuse_paid_void(record)
    return "VOIDED"


def _refuse_paid_void(record: InvoiceRecord) -> None:
    """Xero does not void an invoice with payments or credit notes allocated to it. Removing them would
    take money received (or credit given) out of the books without the platform saying so, so the
    service refuses and says what to do instead."""
    if record.xero_status == "PAID" or record.amount_paid > 0:
        raise Rejected(
            "invoice_has_payments",
            f"Invoice {record.number or record.invoice_id} has {record.amount_paid} paid or credited in Xero "
            "(payments, or credit notes allocated to it), and Xero does not void an invoice with either.",
            "Refund the payments on the platform, or take the credit note off the invoice (remove its allocation "
            "in Xero), then retry the invoice.",
        )


def _send(run: AccountRun, method: Literal["PUT", "POST"], items: list[InvoiceWork]) -> None:
    duplicates: list[InvoiceWork] = []
    for batch in calls.by_size(items, lambda w: w.element or {}):
        run.sending(invoices={w.invoice_id: w.number for w in batch})
        results = calls.write(
            run.xero,
            method,
            "Invoices",
            [w.element or {} for w in batch],
            [f"invoice:{w.invoice_id}@{w.version}" for w in batch],
            calls.INVOICE_PARAMS,
        )
        for w, (result, messages) in zip(batch, results, strict=True):
            if result is not None:
                _complete(run, w, result)
            elif method == "PUT" and any(NUMBER_TAKEN in m for m in messages):
                duplicates.append(w)
            else:
                run.fail(w.message, refused("invoice", w.number or w.invoice_id, messages))
    if duplicates:
        _number_in_xero(run, duplicates)


def _number_in_xero(run: AccountRun, items: list[InvoiceWork]) -> None:
    """Xero already has these numbers. Ours only if an earlier attempt of this invoice may have created
    it (then it is updated); anything else in Xero under the number is not touched."""
    again = [w for w in items if w.claim.uncertain]
    _adopt_earlier_attempts(run, again)
    _adopt_history(run, [w for w in items if not w.record.xero_invoice_id and w.event.history])
    retry: list[InvoiceWork] = []
    for w in items:
        if not w.live:
            continue  # adopted and kept as Xero has it
        if not w.record.xero_invoice_id:
            run.fail(
                w.message,
                Rejected(
                    "duplicate_invoice_number",
                    f"Invoice number {w.number} is already used by another invoice in Xero.",
                    "Give the invoice a number that is not in use in Xero, or remove the other invoice in Xero.",
                    [f"Invoice # must be unique ({w.number})"],
                ),
            )
            continue
        try:
            if _decide(run, w):
                retry.append(w)
        except Rejected as failure:
            run.fail(w.message, failure)
    _send(run, "POST", retry)


def _adopt_history(run: AccountRun, items: list[InvoiceWork]) -> None:
    """History invoices whose numbers Xero already has: an invoice made before the service (by hand, by
    another tool). This account holds the number in the organisation (no other account of the service
    does), so the invoice in Xero is matched: its InvoiceID recorded, then made the platform's version
    only when that is clearly safe (:func:`_unsafe_to_update`); otherwise kept as it is and reported."""
    found = by_numbers(run, sorted({w.number for w in items if w.number}))
    for w in items:
        invoice = found.get(w.number or "")
        if invoice is None:
            continue  # not a sales invoice we can see (or another spelling): refused as a duplicate below
        record = w.record.model_copy(
            update={"xero_invoice_id": str(invoice["InvoiceID"]), "xero_status": invoice.get("Status")}
        )
        w.claim = replace(w.claim, record=record)
        assert isinstance(w.event, InvoiceUpserted)
        why = _unsafe_to_update(invoice, run.contact_ids.get(w.event.data.contact.contact_id))
        if why is None:
            w.adopted = ADOPTED_UPDATED
            logger.info(
                "history invoice matched in Xero; updated",
                extra={"account_id": run.account_id, "invoice_id": w.invoice_id, "number": w.number},
            )
        else:
            _keep(run, w, invoice, why)


def _unsafe_to_update(invoice: dict[str, Any], contact_id: str | None) -> str | None:
    """Why an invoice found in Xero must not be overwritten with the platform's version (None: it may):
    money was received or credited against it, it is closed, or it is another customer's invoice."""
    status = str(invoice.get("Status") or "")
    if status not in EDITABLE:
        return f"it is {status or 'in another state'} in Xero"
    if Decimal(str(invoice.get("AmountPaid") or 0)) > 0 or Decimal(str(invoice.get("AmountCredited") or 0)) > 0:
        return "it has payments or credit notes in Xero"
    if contact_id is None or invoice.get("Contact", {}).get("ContactID") != contact_id:
        return "it is for another contact in Xero"
    return None


def _keep(run: AccountRun, w: InvoiceWork, invoice: dict[str, Any] | None, why: str) -> None:
    """Matched and left as Xero has it: recorded (its InvoiceID, status and amounts), synced, reported."""
    record = w.record
    found = invoice or {}
    values: dict[str, Any] = {
        "tenant_id": run.tenant_id,
        "number": w.number or record.number,
        "xero_invoice_id": found.get("InvoiceID") or record.xero_invoice_id,
        "xero_status": found.get("Status") or record.xero_status,
        "xero_contact_id": found.get("Contact", {}).get("ContactID") or record.xero_contact_id,
        "currency": found.get("CurrencyCode") or record.currency,
        "total": _money(found.get("Total"), record.total),
        "amount_due": _money(found.get("AmountDue"), record.amount_due),
        "last_version": max(w.version, record.last_version),
        "adopted": ADOPTED_KEPT,
        "adopted_reason": why,
        "updated_at": run.now.isoformat(),
        "last_event": w.message.body if keep_event(w.message.body) else None,
    }
    run.ledger.put(record.model_copy(update=synced(**values)))
    w.message.synced = run.ledger.invoice(w.invoice_id)
    logger.warning(
        "history invoice matched in Xero and kept as it is there",
        extra={"account_id": run.account_id, "invoice_id": w.invoice_id, "number": w.number, "why": why},
    )
    w.message.finish(Outcome(Fate.SYNCED, "adopted_kept", f"Invoice {w.number} is kept as Xero has it: {why}"))


def _adopt_earlier_attempts(run: AccountRun, items: list[InvoiceWork]) -> None:
    """An earlier attempt may have created these: look in Xero by every number any attempt sent."""
    numbers = sorted({n for w in items for n in (*w.record.numbers_sent, w.number) if n})
    if not numbers:
        return
    found = by_numbers(run, numbers)
    holders = run.parts.registry.holders(run.tenant_id, "INVOICE", [n for n in numbers if n in found])
    for w in items:
        mine = Holder(run.account_id, w.invoice_id)
        expected = (
            run.contact_ids.get(w.event.data.contact.contact_id) if isinstance(w.event, InvoiceUpserted) else None
        )
        ours = [
            found[n]
            for n in (*w.record.numbers_sent, w.number)
            if n and n in found and _may_adopt(holders.get(n), mine, found[n], expected)
        ]
        if ours:
            invoice = ours[0]
            record = w.record.model_copy(
                update={"xero_invoice_id": str(invoice["InvoiceID"]), "xero_status": invoice.get("Status")}
            )
            w.claim = replace(w.claim, record=record)
            logger.info(
                "invoice found in Xero from an earlier attempt",
                extra={"account_id": run.account_id, "invoice_id": w.invoice_id},
            )


def _may_adopt(holder: Holder | None, mine: Holder, invoice: dict[str, Any], contact_id: str | None) -> bool:
    """An invoice in Xero is ours to take over only if this invoice holds its number in the organisation,
    or (a number sent before numbers were held) nobody holds it and it is for our contact."""
    if holder is not None:
        return holder == mine
    return contact_id is not None and invoice.get("Contact", {}).get("ContactID") == contact_id


def by_numbers(run: AccountRun, numbers: list[str]) -> dict[str, dict[str, Any]]:
    """Sales invoices in Xero by number (not deleted). Numbers with a comma cannot go in
    ``InvoiceNumbers``: they are looked up with ``where`` when they have no quote either."""
    found: dict[str, dict[str, Any]] = {}
    listed = [n for n in numbers if "," not in n]

    def listing(group: list[str]) -> dict[str, str]:
        # Measured as sent: the groups are cut by the length of this very URL, summaryOnly included.
        return {"InvoiceNumbers": ",".join(group), "summaryOnly": "true"}

    queries = [listing(g) for g in calls.fitting(run.xero, "Invoices", listed, listing)]
    queries += [
        {"where": calls.where_equals("InvoiceNumber", [n]), "summaryOnly": "true"}
        for n in numbers
        if "," in n and calls.plain(n)
    ]
    for params in queries:
        for invoice in run.xero.get("Invoices", params).get("Invoices", []):
            if invoice.get("Type") == "ACCREC" and invoice.get("Status") != "DELETED":
                found[str(invoice.get("InvoiceNumber"))] = invoice
    return found


def _complete(run: AccountRun, w: InvoiceWork, result: dict[str, Any]) -> None:
    record = w.record
    xero_id = result.get("InvoiceID") or record.xero_invoice_id
    values: dict[str, Any] = {
        "tenant_id": run.tenant_id,
        "number": w.number or record.number,
        "xero_invoice_id": xero_id,
        "xero_status": result.get("Status") or w.status or record.xero_status,
        "xero_contact_id": w.contact_id or record.xero_contact_id,
        "fingerprint": w.fingerprint or record.fingerprint,
        "currency": result.get("CurrencyCode") or record.currency,
        "total": _money(result.get("Total"), record.total),
        "amount_due": _money(result.get("AmountDue"), record.amount_due),
        # What reconciliation compares with Xero's summary later (shared.domain.reconcile).
        "sub_total": _money(result.get("SubTotal"), record.sub_total),
        "total_tax": _money(result.get("TotalTax"), record.total_tax),
        "reference": result.get("Reference", record.reference) if result else record.reference,
        "date": _day(result.get("DateString")) or record.date,
        "due_date": _day(result.get("DueDateString")) or record.due_date,
        "numbers_sent": record.numbers_sent | ({w.number} if w.number and w.element else set()),
        "last_version": w.version,
        "last_pushed_at": run.now.isoformat(),
        "updated_at": run.now.isoformat(),
        "last_event": w.message.body if keep_event(w.message.body) else None,
        "adopted": w.adopted or record.adopted,
    }
    mismatch = check_booked(w.prepared, result, w.number) if w.prepared is not None and result else None
    if mismatch is None:
        run.ledger.put(record.model_copy(update=synced(**values)))
    else:  # Xero holds this version, booked otherwise: recorded as pushed (a retry updates it) and failed
        run.ledger.put(record.model_copy(update=values))
        run.ledger.fail_invoice(run.account_id, w.invoice_id, w.version, mismatch, run.now, {})
    w.message.synced = run.ledger.invoice(w.invoice_id)
    _release_old_number(run, record, w)
    if mismatch is not None:
        logger.error(
            "xero booked other totals than predicted",
            extra={"account_id": run.account_id, "invoice_id": w.invoice_id, "xero_id": xero_id},
        )
        w.message.failure = alert(w.invoice_id, w.number, mismatch)
        w.message.finish(Outcome(Fate.FAILED, mismatch.code, mismatch.message))
        return
    run.done(w.message)
    logger.debug(
        "invoice synced",
        extra={"account_id": run.account_id, "invoice_id": w.invoice_id, "version": w.version, "xero_id": xero_id},
    )


def _release_old_number(run: AccountRun, record: InvoiceRecord, w: InvoiceWork) -> None:
    if record.number and w.number and record.number.casefold() != w.number.casefold():
        run.parts.registry.release(run.tenant_id, "INVOICE", record.number, Holder(run.account_id, w.invoice_id))


def _day(value: Any) -> str | None:
    """``2026-03-01`` of Xero's ``DateString`` (``2026-03-01T00:00:00``)."""
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _money(value: Any, default: Decimal | None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    return Decimal(str(value))


def _tax_types(work: list[InvoiceWork], settings: AccountSettings) -> set[str]:
    types: set[str] = set()
    for w in work:
        if not isinstance(w.event, InvoiceUpserted) or w.event.data.amounts_are == AmountsAre.NO_TAX:
            continue
        for line in w.event.data.line_items:
            mapping = settings.tax_mappings.get(line.tax_id) if line.tax_id else None
            tax_type = mapping.tax_type if mapping else (None if line.tax_id else settings.default_tax_type)
            if tax_type:
                types.add(tax_type)
    return types


def refused(kind: str, name: str, messages: list[str]) -> Rejected:
    shown = "; ".join(messages)
    return Rejected(
        "xero_validation",
        f"Xero refused {kind} {name}: {shown}",
        "Correct what Xero names on the platform (or in Xero's settings), then retry.",
        messages,
    )
