"""Contacts, with Xero's rules.

- ``Name`` is required and unique among ACTIVE contacts (archived ones free their name).
- ``ContactNumber`` is at most 50 characters and unique across all contacts. On POST, an element
  without ``ContactID`` whose ``ContactNumber`` belongs to an existing contact updates it.
- ``IsSupplier`` / ``IsCustomer`` are Xero's to set (from AP / AR invoices): ignored on write.
- ``EmailAddress`` must look like an address. Addresses, phones and the other fields are stored.

Messages marked *Xero's* are Xero's own words; the others are the sandbox's (Xero's were not found).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from local.xero_sandbox.formats import ms_timestamp
from local.xero_sandbox.state import Organisation

MAX_CONTACT_NUMBER = 50
# Fields Xero computes or never takes from a request.
READ_ONLY = frozenset(
    {
        "ContactID",
        "IsSupplier",
        "IsCustomer",
        "UpdatedDateUTC",
        "HasValidationErrors",
        "ValidationErrors",
        "StatusAttributeString",
        "Balances",
        "Website",
        "Discount",
        "HasAttachments",
        "Attachments",
        "MergedToContactID",
    }
)
# Contact's scalar fields (xero_accounting.yaml), all of which where= can compare.
WHERE_FIELDS = frozenset(
    {
        "AccountNumber",
        "AccountsPayableTaxType",
        "AccountsReceivableTaxType",
        "BankAccountDetails",
        "CompanyNumber",
        "ContactID",
        "ContactNumber",
        "ContactStatus",
        "DefaultCurrency",
        "EmailAddress",
        "FirstName",
        "IsCustomer",
        "IsSupplier",
        "LastName",
        "Name",
        "PurchasesDefaultAccountCode",
        "PurchasesDefaultLineAmountType",
        "SalesDefaultAccountCode",
        "SalesDefaultLineAmountType",
        "TaxNumber",
        "TaxNumberType",
        "Website",
        "XeroNetworkKey",
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


SEARCHED_FIELDS = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")


def matches_search(contact: dict[str, Any], term: str) -> bool:
    """``searchTerm``: "a case-insensitive text search across the Name, FirstName, LastName, ContactNumber
    and EmailAddress fields" (Xero's OpenAPI, getContacts); ``term`` is casefolded already."""
    return any(term in str(contact.get(name) or "").casefold() for name in SEARCHED_FIELDS)


def name_taken(name: str) -> str:  # Xero's
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


def number_taken(number: str) -> str:  # Xero's
    return (
        f"The contact number {number} is already assigned to another contact. "
        "The contact number must be unique across all contacts."
    )


EMAIL_INVALID = "Email address must be valid."  # Xero's
NAME_REQUIRED = "The contact name must be specified."
NUMBER_TOO_LONG = f"The Contact Number must not be more than {MAX_CONTACT_NUMBER} characters long."


def not_found(contact_id: str) -> str:
    return f"The contact with ContactID {contact_id} could not be found."


def already_exists(contact_id: str) -> str:
    return f"A contact with ContactID {contact_id} already exists: PUT only creates contacts, POST updates them."


@dataclass
class ElementResult:
    ok: bool
    body: dict[str, Any]


def write_contact(
    org: Organisation, element: dict[str, Any], *, create_only: bool, now: float, target_id: str | None = None
) -> ElementResult:
    """Create or update one contact from one element of ``{"Contacts": [...]}``, or explain why not."""
    errors: list[str] = []
    existing = _target(org, element, create_only=create_only, target_id=target_id, errors=errors)
    if errors:
        return failed(element, errors)
    merged = dict(existing or {})
    merged.update({k: v for k, v in element.items() if k not in READ_ONLY})
    contact_id = existing["ContactID"] if existing else str(uuid.uuid4())
    errors.extend(rule_errors(org, merged, contact_id))
    if errors:
        return failed(element, errors)
    merged["ContactID"] = contact_id
    merged.setdefault("ContactStatus", "ACTIVE")
    merged.setdefault("IsSupplier", False)
    merged.setdefault("IsCustomer", False)
    merged["UpdatedDateUTC"] = ms_timestamp(now)
    org.contacts[contact_id] = merged
    return ElementResult(True, contact_json(merged))


def _target(
    org: Organisation, element: dict[str, Any], *, create_only: bool, target_id: str | None, errors: list[str]
) -> dict[str, Any] | None:
    contact_id = target_id or element.get("ContactID")
    if contact_id:
        found = find_contact(org, str(contact_id))
        if create_only and found is not None:
            errors.append(already_exists(found["ContactID"]))
        elif not create_only and found is None:
            errors.append(not_found(str(contact_id)))
        return None if create_only else found
    number = element.get("ContactNumber")
    if not create_only and isinstance(number, str) and number:
        return next((c for c in org.contacts.values() if c.get("ContactNumber") == number), None)
    return None


def rule_errors(org: Organisation, contact: dict[str, Any], contact_id: str) -> list[str]:
    errors = []
    name = str(contact.get("Name") or "").strip()
    if not name:
        errors.append(NAME_REQUIRED)
    elif contact.get("ContactStatus", "ACTIVE") == "ACTIVE" and any(
        other["ContactID"] != contact_id
        and other.get("ContactStatus", "ACTIVE") == "ACTIVE"
        and str(other.get("Name", "")).strip().casefold() == name.casefold()
        for other in org.contacts.values()
    ):
        errors.append(name_taken(name))
    number = contact.get("ContactNumber")
    if isinstance(number, str) and number:
        if len(number) > MAX_CONTACT_NUMBER:
            errors.append(NUMBER_TOO_LONG)
        elif any(
            other["ContactID"] != contact_id and other.get("ContactNumber") == number for other in org.contacts.values()
        ):
            errors.append(number_taken(number))
    email = contact.get("EmailAddress")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        errors.append(EMAIL_INVALID)
    return errors


def find_contact(org: Organisation, id_or_number: str) -> dict[str, Any] | None:
    """By ContactID (any case) or, as Xero's ``GET /Contacts/{ContactNumber}`` allows, by number."""
    found = org.contacts.get(id_or_number) or org.contacts.get(id_or_number.lower())
    if found is not None:
        return found
    wanted = id_or_number.lower()
    return next(
        (
            c
            for c in org.contacts.values()
            if c["ContactID"].lower() == wanted or c.get("ContactNumber") == id_or_number
        ),
        None,
    )


# What summaryOnly=true leaves out of a contact: the lists and the heavier details.
SUMMARY_OMITS = frozenset(
    {
        "Addresses",
        "Phones",
        "ContactPersons",
        "ContactGroups",
        "Balances",
        "BatchPayments",
        "PaymentTerms",
        "BrandingTheme",
        "SalesTrackingCategories",
        "PurchasesTrackingCategories",
        "TrackingCategoryName",
        "TrackingCategoryOption",
        "TaxNumber",
        "TaxNumberType",
        "AccountsReceivableTaxType",
        "AccountsPayableTaxType",
        "SalesDefaultAccountCode",
        "PurchasesDefaultAccountCode",
        "Website",
        "Discount",
        "XeroNetworkKey",
        "Attachments",
        "HasAttachments",
    }
)


def contact_json(contact: dict[str, Any], *, summary: bool = False) -> dict[str, Any]:
    """The contact as Xero answers it; ``summary`` (``summaryOnly=true``) without :data:`SUMMARY_OMITS`."""
    if summary:
        return {k: v for k, v in contact_json(contact).items() if k not in SUMMARY_OMITS}
    body = {
        "ContactID": contact["ContactID"],
        "ContactStatus": contact.get("ContactStatus", "ACTIVE"),
    }
    body.update({k: v for k, v in contact.items() if k not in body})
    for listed in ("Addresses", "Phones", "ContactGroups", "ContactPersons"):
        body.setdefault(listed, [])
    body["HasValidationErrors"] = False
    return body


def contact_summary(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as embedded in an invoice."""
    summary = {"ContactID": contact["ContactID"], "Name": contact.get("Name", "")}
    for optional in ("ContactNumber", "ContactStatus", "EmailAddress"):
        if optional in contact:
            summary[optional] = contact[optional]
    summary["HasValidationErrors"] = False
    return summary


def failed(element: dict[str, Any], errors: list[str], *, flag: str = "HasValidationErrors") -> ElementResult:
    """An element Xero refused: echoed back with ``StatusAttributeString: ERROR`` and its messages."""
    body = dict(element)
    body["StatusAttributeString"] = "ERROR"
    body[flag] = True
    body["ValidationErrors"] = [{"Message": message} for message in errors]
    return ElementResult(False, body)
