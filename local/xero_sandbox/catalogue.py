"""Items and tracking categories, and what an invoice line's ``ItemCode`` and ``Tracking`` become.

Items (``GET /Items``): ``Code`` at most 30 characters, ``Name`` at most 50 (xero_accounting.yaml, Item).
An archived item is not listed, and a line naming it, or a code no item has, is refused with Xero's
"Item code 'X' is not valid." (as integrations quote it: magento2-support.fooman.co.nz article 1706,
helpdesk.digitalzest.co.uk "Xero Errors"). That archived items are left out of the list is the
sandbox's assumption: Xero-NetStandard#460 reports Xero listing them with nothing to tell them apart.
A line takes its ``Description``, ``UnitAmount``, ``AccountCode`` and ``TaxType`` from the item's
``SalesDetails`` (``PurchaseDetails`` on a bill) only where it leaves them out (Xero's Items docs: an
item holds "enough detail to populate an invoice line item").

Tracking categories (``GET /TrackingCategories``): active categories with their active options;
``includeArchived=true`` adds the archived ones (xero_accounting.yaml). At most 2 categories are active
in an organisation, and a line carries at most 2 ``Tracking`` entries (LineItem.Tracking); more are
refused (the sandbox's words). Each entry names its category by ``TrackingCategoryID`` or ``Name`` and
its option by ``TrackingOptionID`` or ``Option``. An entry that matches no active category and active
option of it is **dropped without a word**, as Xero does (XeroAPI/xero-node#86, calcinai/xero-php#84,
XeroAPI/xero-node#516): the invoice is saved without it. An entry whose ids and names disagree (an
option renamed after it was read) is dropped too: which one Xero believes is not published, so the
sandbox takes the reading that loses the most. Two entries of one category: the last one is kept
(help.merge.dev, "Posting expenses to Xero": Xero "will instead choose the last one").
"""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Any

from local.xero_sandbox.formats import decimal, four_dp, money
from local.xero_sandbox.state import Organisation

ITEM_CODE_MAX = 30
ITEM_NAME_MAX = 50
MAX_TRACKING_PER_LINE = 2
MAX_ACTIVE_CATEGORIES = 2
# What ``where=`` compares on items; Xero filters on the rest of Item too, the sandbox does not.
ITEM_WHERE_FIELDS = frozenset({"ItemID", "Code", "Name", "IsSold", "IsPurchased", "IsTrackedAsInventory"})
ITEM_KNOWN_FIELDS = frozenset(
    {"Description", "PurchaseDescription", "InventoryAssetAccountCode", "QuantityOnHand", "TotalCostPool"}
)
ACTIVE = "ACTIVE"
ARCHIVED = "ARCHIVED"
TOO_MANY_TRACKING = "A line item can have at most 2 tracking categories."


def item_invalid(code: str) -> str:  # Xero's
    return f"Item code '{code}' is not valid."


# --- items -------------------------------------------------------------------------------------------


def item(code: str, name: str, *, sales: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """An item as Xero answers it (seed and tests)."""
    if len(code) > ITEM_CODE_MAX or len(name) > ITEM_NAME_MAX:
        raise ValueError(f"Xero's items hold a code of {ITEM_CODE_MAX} and a name of {ITEM_NAME_MAX} characters")
    body: dict[str, Any] = {
        "ItemID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-item-{code}")),
        "Code": code,
        "Name": name,
        "Description": fields.pop("Description", name),
        "IsSold": sales is not None,
        "IsPurchased": "PurchaseDetails" in fields,
        "IsTrackedAsInventory": False,
        "SalesDetails": sales or {},
        "PurchaseDetails": fields.pop("PurchaseDetails", {}),
        "UpdatedDateUTC": "/Date(1767225600000+0000)/",
    }
    return body | fields


def listed_items(org: Organisation) -> list[dict[str, Any]]:
    return [i for i in org.items if i["ItemID"] not in org.archived_items]


def find_item(org: Organisation, code: str) -> dict[str, Any] | None:
    """A listed (not archived) item by its Code, as a line names it."""
    return next((i for i in listed_items(org) if i["Code"] == code), None)


def item_by_id_or_code(org: Organisation, wanted: str) -> dict[str, Any] | None:
    """``GET /Items/{ItemID or Code}``."""
    return find_item(org, wanted) or next((i for i in listed_items(org) if i["ItemID"].lower() == wanted.lower()), None)


def item_json(found: dict[str, Any], unitdp: int) -> dict[str, Any]:
    body = copy.deepcopy(found)
    for details in ("SalesDetails", "PurchaseDetails"):
        price = decimal(body[details].get("UnitPrice"))
        if price is not None:
            body[details]["UnitPrice"] = four_dp(price) if unitdp == 4 else money(price)
    return body


def with_item_defaults(org: Organisation, type_: str, raw: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """The line with what its item fills in where the line says nothing; an unknown item is an error."""
    code = raw.get("ItemCode")
    if not code:
        return raw
    found = find_item(org, str(code))
    if found is None:
        errors.append(item_invalid(str(code)))
        return raw
    details = found["SalesDetails"] if type_ == "ACCREC" else found["PurchaseDetails"]
    description = found.get("Description") if type_ == "ACCREC" else found.get("PurchaseDescription")
    defaults = {
        "Description": description,
        "UnitAmount": details.get("UnitPrice"),
        "AccountCode": details.get("AccountCode"),
        "TaxType": details.get("TaxType"),
    }
    filled = dict(raw)
    for name, value in defaults.items():
        if filled.get(name) in (None, "") and value not in (None, ""):
            filled[name] = Decimal(str(value)) if name == "UnitAmount" else value
    return filled


def archive_item(org: Organisation, code: str) -> None:
    """As the owner does in Xero (Products and services > Archive); the API has no way to."""
    found = find_item(org, code)
    assert found is not None, f"no listed item {code}"
    org.archived_items.add(found["ItemID"])


# --- tracking categories -----------------------------------------------------------------------------


def category(name: str, options: dict[str, str], status: str = ACTIVE) -> dict[str, Any]:
    """A tracking category as Xero answers it (seed and tests); ``options``: name -> status."""
    category_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-tracking-{name}"))
    return {
        "TrackingCategoryID": category_id,
        "Name": name,
        "Status": status,
        "Options": [
            {
                "TrackingOptionID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-tracking-{name}-{option}")),
                "Name": option,
                "Status": option_status,
            }
            for option, option_status in options.items()
        ],
    }


def categories_json(org: Organisation, *, include_archived: bool) -> list[dict[str, Any]]:
    """``GET /TrackingCategories``: active categories and options, or every one with ``includeArchived``."""
    shown = []
    for found in org.tracking_categories:
        if found["Status"] != ACTIVE and not include_archived:
            continue
        body = copy.deepcopy(found)
        body["Options"] = [o for o in body["Options"] if include_archived or o["Status"] == ACTIVE]
        shown.append(body)
    return shown


def find_category(org: Organisation, category_id: str) -> dict[str, Any] | None:
    wanted = category_id.lower()
    return next((c for c in org.tracking_categories if c["TrackingCategoryID"].lower() == wanted), None)


def line_tracking(org: Organisation, given: Any, errors: list[str]) -> list[dict[str, Any]]:
    """What Xero keeps of a line's ``Tracking``: see the module's description."""
    entries = [e for e in given if isinstance(e, dict)] if isinstance(given, list) else []
    if len(entries) > MAX_TRACKING_PER_LINE:
        errors.append(TOO_MANY_TRACKING)
        return []
    kept: dict[str, dict[str, Any]] = {}
    for entry in entries:
        matched = _match(org, entry)
        if matched is not None:
            kept[matched["TrackingCategoryID"]] = matched  # a second entry of one category replaces the first
    return list(kept.values())


def _match(org: Organisation, entry: dict[str, Any]) -> dict[str, Any] | None:
    active = [c for c in org.tracking_categories if c["Status"] == ACTIVE]
    found = _one(active, "TrackingCategoryID", entry.get("TrackingCategoryID"), entry.get("Name"))
    if found is None:
        return None
    options = [o for o in found["Options"] if o["Status"] == ACTIVE]
    option = _one(options, "TrackingOptionID", entry.get("TrackingOptionID"), entry.get("Option"))
    if option is None:
        return None
    return {
        "Name": found["Name"],
        "Option": option["Name"],
        "TrackingCategoryID": found["TrackingCategoryID"],
        "TrackingOptionID": option["TrackingOptionID"],
    }


def _one(candidates: list[dict[str, Any]], id_field: str, given_id: Any, given_name: Any) -> dict[str, Any] | None:
    """By id when one is given, else by name (ignoring case); a given name must then agree with the id's."""
    if given_id:
        found = next((c for c in candidates if c[id_field].lower() == str(given_id).lower()), None)
    elif given_name:
        found = next((c for c in candidates if _same(c["Name"], given_name)), None)
    else:
        return None
    if found is not None and given_name and not _same(found["Name"], given_name):
        return None
    return found


def _same(name: str, given: Any) -> bool:
    return name.casefold() == str(given).strip().casefold()


def rename_option(org: Organisation, category_name: str, option_name: str, new_name: str) -> None:
    """As the owner does in Xero (Settings > Tracking categories); tests and ``make local``."""
    _, option = _named(org, category_name, option_name)
    option["Name"] = new_name


def archive_option(org: Organisation, category_name: str, option_name: str) -> None:
    _, option = _named(org, category_name, option_name)
    option["Status"] = ARCHIVED


def _named(org: Organisation, category_name: str, option_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    found = next(c for c in org.tracking_categories if c["Name"] == category_name)
    return found, next(o for o in found["Options"] if o["Name"] == option_name)
