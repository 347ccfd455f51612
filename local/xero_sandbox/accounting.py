"""Xero's accounting API under ``/api.xro/2.0``: every call authorised (token, tenant, scope) and
rate-limited; every write checked against the OpenAPI spec and honouring ``Idempotency-Key``.

Served: Organisation, Accounts, TaxRates, Items, TrackingCategories (reads); Contacts, Invoices, Payments,
CreditNotes (reads and writes) and credit note Allocations (writes).
Write bodies are ``{"Contacts": [...]}`` / ``{"Invoices": [...]}`` / ``{"Payments": [...]}``, processed
element by element. With ``summarizeErrors`` (the default) any failed element makes the answer a
400 ``ValidationException`` listing the failed elements, while the valid ones are still saved, as
at Xero. With ``summarizeErrors=false`` the answer is 200 with every element, failed ones carrying
``StatusAttributeString: ERROR`` and their ``ValidationErrors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from local.xero_sandbox import catalogue, contacts, credit_notes, invoices, payments
from local.xero_sandbox.answers import (
    NOT_FOUND,
    api_error,
    batch_answer,
    elements,
    envelope,
    json_response,
    post_data_invalid,
)
from local.xero_sandbox.faults import SLOW_DELAY
from local.xero_sandbox.formats import from_json, ms_date, parse_ms_timestamp
from local.xero_sandbox.idempotency import MAX_KEY_LENGTH, StoredAnswer, conflict_body, fingerprint
from local.xero_sandbox.reads import flag, id_list, modified_since, paged, unitdp, where_clause
from local.xero_sandbox.spec import SpecChecker
from local.xero_sandbox.state import Organisation, SandboxState
from local.xero_sandbox.where import where_matches

PREFIX = "/api.xro/2.0"
SETTINGS_SCOPES = ("accounting.settings", "accounting.settings.read")
CONTACTS_READ = ("accounting.contacts", "accounting.contacts.read")
CONTACTS_WRITE = ("accounting.contacts",)
INVOICES_READ = (
    "accounting.invoices",
    "accounting.invoices.read",
    "accounting.transactions",
    "accounting.transactions.read",
)
INVOICES_WRITE = ("accounting.invoices", "accounting.transactions")
PAYMENTS_READ = (
    "accounting.payments",
    "accounting.payments.read",
    "accounting.transactions",
    "accounting.transactions.read",
)
PAYMENTS_WRITE = ("accounting.payments", "accounting.transactions")
WRITE_METHODS = ("PUT", "POST")


def authorise(state: SandboxState, scopes: tuple[str, ...]) -> Organisation | Any:
    """The organisation this call may reach, or Xero's 401/403 answer."""
    header = request.headers.get("Authorization", "")
    record = state.access_record(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
    if record is None:
        return api_error(401, "Unauthorized", "AuthenticationUnsuccessful")
    tenant_id = request.headers.get("xero-tenant-id", "")
    grant = state.grants[record.grant_id]
    if tenant_id not in grant.connections or tenant_id not in state.organisations:
        return api_error(403, "Forbidden", "AuthorizationUnsuccessful")
    if not any(s in record.scopes for s in scopes):
        return api_error(403, "Forbidden", "AuthorizationUnsuccessful: insufficient scope")
    g.tenant_id = tenant_id
    g.client_id = grant.client_id
    return state.organisations[tenant_id]


def guarded(
    state: SandboxState,
    scopes: tuple[str, ...],
    spec: SpecChecker | None = None,
    spec_path: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator: authorise, count, apply the rate limits, then (writes) honour the
    Idempotency-Key and check the body against the spec, and call the view under the state lock.

    Every answer past authorisation carries the remaining-limit headers. A slow fault sleeps while
    the call holds its concurrency slot, outside the lock, so other calls go on meanwhile.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            route = f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
            with state.lock:
                org = authorise(state, scopes)
                if not isinstance(org, Organisation):
                    return org
                state.stats[route] += 1
                org.stats["calls"] += 1
                org.stats[route] += 1
                admission = state.limiter.admit(org.tenant_id, g.client_id, state.clock.now())
                if admission.problem is not None:
                    state.stats["429"] += 1
                    org.stats["429"] += 1
                    org.stats[f"429 {admission.problem}"] += 1
                    refused = api_error(429, "Too Many Requests", f"Rate limit exceeded: {admission.problem}")
                    refused.headers["X-Sandbox-Clock-Speed"] = str(state.clock.speed)
                    return _count_read(state, org, _with_headers(refused, admission.headers))
            try:
                delay = request.environ.get(SLOW_DELAY)
                if delay:
                    time.sleep(float(delay))
                with state.lock:
                    response = _call(state, org, view, kwargs, spec, spec_path)
            finally:
                state.limiter.release(admission)
            return _count_read(state, org, _with_headers(response, admission.headers))

        wrapper.__name__ = view.__name__
        return wrapper

    return decorate


def _call(
    state: SandboxState,
    org: Organisation,
    view: Callable[..., Any],
    kwargs: dict[str, Any],
    spec: SpecChecker | None,
    spec_path: str | None,
) -> Response:
    if request.method not in WRITE_METHODS:
        response: Response = view(org, **kwargs)
        return response
    now = state.clock.now()
    key = request.headers.get("Idempotency-Key")
    raw = request.get_data()
    fp = ""
    if key is None:
        org.stats["writes without Idempotency-Key"] += 1
    else:
        if not key or len(key) > MAX_KEY_LENGTH:
            return post_data_invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters long.")
        fp = fingerprint(request.method, request.path, request.query_string.decode(), raw)
        stored = state.idempotency.lookup(g.client_id, org.tenant_id, key, now)
        if stored is not None:
            if stored.fingerprint != fp:
                state.stats["idempotency conflicts"] += 1
                org.stats["idempotency conflicts"] += 1
                return json_response(conflict_body(len(key)), 409)
            state.stats["idempotent replays"] += 1
            org.stats["idempotent replays"] += 1
            return Response(stored.body, status=stored.status, content_type=stored.content_type)
    response = _checked_write(state, org, view, kwargs, raw, spec, spec_path)
    if key is not None and response.status_code < 500:
        state.idempotency.store(
            g.client_id,
            org.tenant_id,
            key,
            StoredAnswer(fp, response.status_code, response.get_data(), response.content_type or "", now),
        )
    return response


def _checked_write(
    state: SandboxState,
    org: Organisation,
    view: Callable[..., Any],
    kwargs: dict[str, Any],
    raw: bytes,
    spec: SpecChecker | None,
    spec_path: str | None,
) -> Response:
    try:
        body = from_json(raw)
    except ValueError:
        return post_data_invalid("Invalid Json data")
    if spec is not None and spec_path is not None:
        violations = spec.check(request.method, spec_path, body)
        if violations:
            spec.record(request.method, request.path, org.tenant_id, violations, state.clock.now())
            state.stats["spec violations"] += 1
            if spec.strict:
                detail = "; ".join(f"{v['path']}: {v['message']}" for v in violations)
                return post_data_invalid(f"The request does not match Xero's OpenAPI schema: {detail}")
    g.body = body
    response: Response = view(org, **kwargs)
    return response


def _count_read(state: SandboxState, org: Organisation, response: Response) -> Response:
    """Egress, which Xero charges apps for since March 2026: the body bytes of every GET answered."""
    if request.method == "GET":
        size = len(response.get_data())
        with state.lock:
            state.stats["bytes read"] += size
            org.stats["bytes read"] += size
    return response


def _with_headers(response: Any, headers: dict[str, str]) -> Any:
    for name, value in headers.items():
        response.headers[name] = value
    return response


# --- routes ----------------------------------------------------------------------------------------


def accounting_blueprint(state: SandboxState, spec: SpecChecker | None = None) -> Blueprint:
    bp = Blueprint("accounting", __name__, url_prefix=PREFIX)

    @bp.get("/Organisation")
    @guarded(state, SETTINGS_SCOPES)
    def organisation(org: Organisation) -> Any:
        profile = dict(org.profile)  # lock dates are "shown if set" (xero_accounting.yaml, Organisation)
        if org.period_lock_date is not None:
            profile["PeriodLockDate"] = ms_date(org.period_lock_date)
        if org.end_of_year_lock_date is not None:
            profile["EndOfYearLockDate"] = ms_date(org.end_of_year_lock_date)
        return jsonify({"Status": "OK", "Organisations": [profile]})

    @bp.get("/Accounts")
    @guarded(state, SETTINGS_SCOPES)
    def accounts(org: Organisation) -> Any:
        return jsonify({"Status": "OK", "Accounts": org.accounts})

    @bp.get("/Accounts/<account_id>")
    @guarded(state, SETTINGS_SCOPES)
    def account(org: Organisation, account_id: str) -> Any:
        found = [a for a in org.accounts if a["AccountID"] == account_id]
        if not found:
            return api_error(404, "Not Found", NOT_FOUND)
        return jsonify({"Status": "OK", "Accounts": found})

    @bp.get("/TaxRates")
    @guarded(state, SETTINGS_SCOPES)
    def tax_rates(org: Organisation) -> Any:
        return jsonify({"Status": "OK", "TaxRates": org.tax_rates})

    # --- items and tracking categories (catalogue.py) --------------------------------------------

    @bp.get("/Items")
    @guarded(state, SETTINGS_SCOPES)
    def list_items(org: Organisation) -> Any:
        clause = where_clause(catalogue.ITEM_WHERE_FIELDS, "Item", catalogue.ITEM_KNOWN_FIELDS)
        if isinstance(clause, Response):
            return clause
        found = [i for i in catalogue.listed_items(org) if clause is None or where_matches(clause, i)]
        body = [catalogue.item_json(i, unitdp()) for i in found]
        return json_response(envelope(state, "Items", body))

    @bp.get("/Items/<item_id>")
    @guarded(state, SETTINGS_SCOPES)
    def get_item(org: Organisation, item_id: str) -> Any:
        found = catalogue.item_by_id_or_code(org, item_id)
        if found is None:
            return api_error(404, "Not Found", NOT_FOUND)
        return json_response(envelope(state, "Items", [catalogue.item_json(found, unitdp())]))

    @bp.get("/TrackingCategories")
    @guarded(state, SETTINGS_SCOPES)
    def list_tracking_categories(org: Organisation) -> Any:
        body = catalogue.categories_json(org, include_archived=flag("includeArchived"))
        return json_response(envelope(state, "TrackingCategories", body))

    @bp.get("/TrackingCategories/<category_id>")
    @guarded(state, SETTINGS_SCOPES)
    def get_tracking_category(org: Organisation, category_id: str) -> Any:
        shown = catalogue.categories_json(org, include_archived=True)
        found = [c for c in shown if c["TrackingCategoryID"].lower() == category_id.lower()]
        if not found:
            return api_error(404, "Not Found", NOT_FOUND)
        return json_response(envelope(state, "TrackingCategories", found))

    # --- contacts ------------------------------------------------------------------------------

    @bp.get("/Contacts")
    @guarded(state, CONTACTS_READ)
    def list_contacts(org: Organisation) -> Any:
        clause = where_clause(contacts.WHERE_FIELDS, "Contact")
        if isinstance(clause, Response):
            return clause
        since = modified_since()
        if isinstance(since, Response):
            return since
        ids = id_list("IDs")
        archived = request.args.get("includeArchived", "false").lower() == "true"
        term = (request.args.get("searchTerm") or "").casefold()
        found = []
        for contact in org.contacts.values():
            if ids is not None and contact["ContactID"].lower() not in ids:
                continue
            if term and not contacts.matches_search(contact, term):
                continue
            if not archived and ids is None and contact.get("ContactStatus", "ACTIVE") == "ARCHIVED":
                continue
            if since is not None and (parse_ms_timestamp(contact.get("UpdatedDateUTC")) or 0) <= since:
                continue
            if clause is not None and not where_matches(clause, contact):
                continue
            found.append(contact)
        summary = flag("summaryOnly")
        page, extra = paged(found, always=summary)  # a summary is always paged
        body = [contacts.contact_json(c, summary=summary) for c in page]
        return json_response(envelope(state, "Contacts", body, **extra))

    @bp.get("/Contacts/<contact_id>")
    @guarded(state, CONTACTS_READ)
    def get_contact(org: Organisation, contact_id: str) -> Any:
        found = contacts.find_contact(org, contact_id)
        if found is None:
            return api_error(404, "Not Found", NOT_FOUND)
        return json_response(envelope(state, "Contacts", [contacts.contact_json(found)]))

    def write_contacts(org: Organisation, *, create_only: bool, target_id: str | None = None) -> Response:
        items = elements("Contacts")
        if isinstance(items, Response):
            return items
        now = state.clock.now()
        results = [
            contacts.write_contact(org, item, create_only=create_only, now=now, target_id=target_id) for item in items
        ]
        return batch_answer(state, org, "Contacts", results)

    @bp.put("/Contacts")
    @guarded(state, CONTACTS_WRITE, spec, "/Contacts")
    def create_contacts(org: Organisation) -> Any:
        return write_contacts(org, create_only=True)

    @bp.post("/Contacts")
    @guarded(state, CONTACTS_WRITE, spec, "/Contacts")
    def upsert_contacts(org: Organisation) -> Any:
        return write_contacts(org, create_only=False)

    @bp.post("/Contacts/<contact_id>")
    @guarded(state, CONTACTS_WRITE, spec, "/Contacts/{ContactID}")
    def update_contact(org: Organisation, contact_id: str) -> Any:
        return write_contacts(org, create_only=False, target_id=contact_id)

    # --- invoices ------------------------------------------------------------------------------

    @bp.get("/Invoices")
    @guarded(state, INVOICES_READ)
    def list_invoices(org: Organisation) -> Any:
        clause = where_clause(invoices.WHERE_FIELDS, "Invoice", invoices.KNOWN_FIELDS)
        if isinstance(clause, Response):
            return clause
        since = modified_since()
        if isinstance(since, Response):
            return since
        ids, contact_ids = id_list("IDs"), id_list("ContactIDs")
        numbers = set(request.args["InvoiceNumbers"].split(",")) if request.args.get("InvoiceNumbers") else None
        statuses = set(request.args["Statuses"].split(",")) if request.args.get("Statuses") else None
        mine = flag("createdByMyApp")
        found = []
        for invoice in org.invoices.values():
            if ids is not None and invoice.invoice_id.lower() not in ids:
                continue
            if numbers is not None and invoice.number not in numbers:
                continue
            if contact_ids is not None and invoice.contact_id.lower() not in contact_ids:
                continue
            if statuses is not None and invoice.status not in statuses:
                continue
            if since is not None and invoice.updated <= since:
                continue
            if mine and invoice.created_by != g.client_id:
                continue
            if clause is not None and not where_matches(clause, invoices.filter_fields(org, invoice)):
                continue
            found.append(invoice)
        summary = flag("summaryOnly")
        page, extra = paged(found, always=summary)  # a summary is always paged
        # As at Xero: a list carries line items only when paged (a summary never); a single invoice always.
        with_lines = "page" in request.args
        body = [invoices.invoice_json(org, i, unitdp=unitdp(), with_lines=with_lines, summary=summary) for i in page]
        return json_response(envelope(state, "Invoices", body, **extra))

    @bp.get("/Invoices/<invoice_id>")
    @guarded(state, INVOICES_READ)
    def get_invoice(org: Organisation, invoice_id: str) -> Any:
        found = invoices.find_invoice(org, invoice_id)
        if found is None:
            return api_error(404, "Not Found", NOT_FOUND)
        return json_response(envelope(state, "Invoices", [invoices.invoice_json(org, found, unitdp=unitdp())]))

    def write_invoices(org: Organisation, *, create_only: bool, target_id: str | None = None) -> Response:
        items = elements("Invoices")
        if isinstance(items, Response):
            return items
        now, dp = state.clock.now(), unitdp()
        results = [
            invoices.write_invoice(
                org, item, create_only=create_only, unitdp=dp, now=now, target_id=target_id, client_id=g.client_id
            )
            for item in items
        ]
        return batch_answer(state, org, "Invoices", results)

    @bp.put("/Invoices")
    @guarded(state, INVOICES_WRITE, spec, "/Invoices")
    def create_invoices(org: Organisation) -> Any:
        return write_invoices(org, create_only=True)

    @bp.post("/Invoices")
    @guarded(state, INVOICES_WRITE, spec, "/Invoices")
    def upsert_invoices(org: Organisation) -> Any:
        return write_invoices(org, create_only=False)

    @bp.post("/Invoices/<invoice_id>")
    @guarded(state, INVOICES_WRITE, spec, "/Invoices/{InvoiceID}")
    def update_invoice(org: Organisation, invoice_id: str) -> Any:
        if invoices.find_invoice(org, invoice_id) is None:
            return api_error(404, "Not Found", NOT_FOUND)
        return write_invoices(org, create_only=False, target_id=invoice_id)

    # --- payments ------------------------------------------------------------------------------

    @bp.get("/Payments")
    @guarded(state, PAYMENTS_READ)
    def list_payments(org: Organisation) -> Any:
        clause = where_clause(payments.WHERE_FIELDS, "Payment", payments.KNOWN_FIELDS)
        if isinstance(clause, Response):
            return clause
        found = [p for p in org.payments.values() if clause is None or where_matches(clause, payments.filter_fields(p))]
        page, extra = paged(found)
        return json_response(envelope(state, "Payments", [payments.payment_json(org, p) for p in page], **extra))

    @bp.get("/Payments/<payment_id>")
    @guarded(state, PAYMENTS_READ)
    def get_payment(org: Organisation, payment_id: str) -> Any:
        found = payments.find_payment(org, payment_id)
        if found is None:
            return api_error(404, "Not Found", NOT_FOUND)
        return json_response(envelope(state, "Payments", [payments.payment_json(org, found)]))

    def payment_elements() -> list[dict[str, Any]] | Response:
        body = g.body
        if isinstance(body, dict) and "Payments" not in body and body:
            return [body]  # POST /Payments and POST /Payments/{id} take a single payment too
        return elements("Payments")

    @bp.put("/Payments")
    @guarded(state, PAYMENTS_WRITE, spec, "/Payments")
    def create_payments(org: Organisation) -> Any:
        items = elements("Payments")
        if isinstance(items, Response):
            return items
        now = state.clock.now()
        return batch_answer(state, org, "Payments", [payments.create_payment(org, i, now=now) for i in items])

    @bp.post("/Payments")
    @guarded(state, PAYMENTS_WRITE, spec, "/Payments")
    def create_payment(org: Organisation) -> Any:
        items = payment_elements()
        if isinstance(items, Response):
            return items
        now = state.clock.now()
        return batch_answer(state, org, "Payments", [payments.create_payment(org, i, now=now) for i in items])

    @bp.post("/Payments/<payment_id>")
    @guarded(state, PAYMENTS_WRITE, spec, "/Payments/{PaymentID}")
    def delete_payment(org: Organisation, payment_id: str) -> Any:
        if payments.find_payment(org, payment_id) is None:
            return api_error(404, "Not Found", NOT_FOUND)
        items = payment_elements()
        if isinstance(items, Response):
            return items
        now = state.clock.now()
        results = [payments.delete_payment(org, payment_id, item, now=now) for item in items[:1]]
        return batch_answer(state, org, "Payments", results)

    credit_note_routes(bp, state, spec)
    return bp


def credit_note_routes(bp: Blueprint, state: SandboxState, spec: SpecChecker | None) -> None:
    """``/CreditNotes`` (reads and writes, the invoices scope) and their allocations (the payments
    scope: an allocation is money applied, as a payment is)."""

    @bp.get("/CreditNotes")
    @guarded(state, INVOICES_READ)
    def list_credit_notes(org: Organisation) -> Any:
        clause = where_clause(credit_notes.WHERE_FIELDS, "CreditNote", credit_notes.KNOWN_FIELDS)
        if isinstance(clause, Response):
            return clause
        found = [
            n
            for n in credit_notes.credit_notes_of(org).values()
            if clause is None or where_matches(clause, credit_notes.filter_fields(n))
        ]
        page, extra = paged(found)
        body = [credit_notes.credit_note_json(org, n, unitdp=unitdp()) for n in page]
        return json_response(envelope(state, "CreditNotes", body, **extra))

    @bp.get("/CreditNotes/<credit_note_id>")
    @guarded(state, INVOICES_READ)
    def get_credit_note(org: Organisation, credit_note_id: str) -> Any:
        found = credit_notes.find_credit_note(org, credit_note_id)
        if found is None:
            return api_error(404, "Not Found", NOT_FOUND)
        body = [credit_notes.credit_note_json(org, found, unitdp=unitdp())]
        return json_response(envelope(state, "CreditNotes", body))

    def write(org: Organisation, *, create_only: bool, target_id: str | None = None) -> Response:
        items = elements("CreditNotes")
        if isinstance(items, Response):
            return items
        now, dp = state.clock.now(), unitdp()
        results = [
            credit_notes.write_credit_note(org, item, create_only=create_only, unitdp=dp, now=now, target_id=target_id)
            for item in items
        ]
        return batch_answer(state, org, "CreditNotes", results)

    @bp.put("/CreditNotes")
    @guarded(state, INVOICES_WRITE, spec, "/CreditNotes")
    def create_credit_notes(org: Organisation) -> Any:
        return write(org, create_only=True)

    @bp.post("/CreditNotes")
    @guarded(state, INVOICES_WRITE, spec, "/CreditNotes")
    def upsert_credit_notes(org: Organisation) -> Any:
        return write(org, create_only=False)

    @bp.post("/CreditNotes/<credit_note_id>")
    @guarded(state, INVOICES_WRITE, spec, "/CreditNotes/{CreditNoteID}")
    def update_credit_note(org: Organisation, credit_note_id: str) -> Any:
        if credit_notes.find_credit_note(org, credit_note_id) is None:
            return api_error(404, "Not Found", NOT_FOUND)
        return write(org, create_only=False, target_id=credit_note_id)

    @bp.put("/CreditNotes/<credit_note_id>/Allocations")
    @guarded(state, PAYMENTS_WRITE, spec, "/CreditNotes/{CreditNoteID}/Allocations")
    def allocate_credit_note(org: Organisation, credit_note_id: str) -> Any:
        note = credit_notes.find_credit_note(org, credit_note_id)
        if note is None:
            return api_error(404, "Not Found", NOT_FOUND)
        items = elements("Allocations")
        if isinstance(items, Response):
            return items
        now = state.clock.now()
        return batch_answer(state, org, "Allocations", [credit_notes.allocate(org, note, i, now=now) for i in items])
