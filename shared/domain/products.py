"""An invoice line's product and dimensions as Xero takes them: its ``ItemCode``, ``AccountCode`` and
``Tracking``, checked against what Xero holds now (a :class:`Catalogue` the push read minutes ago at most).

Xero drops a tracking option it does not know, or no longer has active, without a word (XeroAPI/xero-node#86,
calcinai/xero-php#84): the invoice is saved, the books look fine and are wrong. So nothing here relies on
Xero to notice. A line is refused, naming the line and the fix, when its product's item is no longer
listed, has another code or is no longer sold, when its dimension or value is not mapped, or when the
option it maps to is archived, deleted or renamed in Xero since the mapping was saved (a rename may
mean another thing: the owner confirms it by saving the mapping again).

The line's account is, first to last: the line's own ``account_code``, the product mapping's account,
the mapped item's own sales account, the account's sales account. An unmapped product goes to the sales
account. The money is always the line's own: ``UnitAmount`` and ``Quantity`` are sent, never the item's
price. Tracking is sent with Xero's ids and current names both (``LineItemTracking`` takes the four).
A dimension no mapping names is refused, or left off and reported (``left_off``) when the account's
``unmapped_dimensions`` is ``ignore``; a value a mapped dimension does not map is always refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import Rejected
from shared.models.chart import XeroItem, XeroTrackingCategory
from shared.models.events import Invoice, LineItem
from shared.models.settings import AccountSettings, ProductMapping, TrackingMapping

MAX_TRACKING_PER_LINE = 2  # Xero's LineItem.Tracking
SETTINGS_FIX = "in the integration settings"


@dataclass(frozen=True)
class Catalogue:
    """What Xero holds now of the items and tracking categories the mappings name."""

    items: Mapping[str, XeroItem | None] = field(default_factory=dict)  # by ItemID; None: no longer listed
    categories: Mapping[str, XeroTrackingCategory] | None = None  # the active ones by id; None: not read


NOTHING_READ = Catalogue()


@dataclass(frozen=True)
class Needs:
    """What a batch's lines need read from Xero: the mapped items (by ItemID), and tracking or not."""

    item_ids: frozenset[str]
    tracking: bool


def needs(settings: AccountSettings, invoices: Iterable[Invoice]) -> Needs:
    item_ids: set[str] = set()
    tracking = False
    for invoice in invoices:
        for line in invoice.line_items:
            mapping = settings.product_mappings.get(line.product_id) if line.product_id else None
            if mapping is not None and mapping.item_id:
                item_ids.add(mapping.item_id)
            tracking = tracking or any(d in settings.tracking_mappings for d in line.tracking)
    return Needs(frozenset(item_ids), tracking)


@dataclass(frozen=True)
class LineTarget:
    """Where a line goes in Xero: the fields to send, and what was left off on purpose."""

    fields: dict[str, Any]
    left_off: tuple[str, ...] = ()


def line_target(
    invoice: Invoice, index: int, line: LineItem, settings: AccountSettings, catalogue: Catalogue
) -> LineTarget:
    """The line's ``ItemCode``, ``AccountCode`` and ``Tracking``; raises :class:`Rejected` naming the line."""
    where = f"Invoice {invoice.number} line {index}"
    mapping = settings.product_mappings.get(line.product_id) if line.product_id else None
    item = _item(where, mapping, catalogue) if mapping is not None and mapping.item_id else None
    account = (
        line.account_code
        or (mapping.account_code if mapping else None)
        or (item.sales_account_code if item else None)
        or settings.sales_account_code
    )
    if not account:
        raise Rejected(
            "no_sales_account",
            f"{where} has no account code and no sales account is set.",
            "Choose the Xero sales account for invoice lines in the integration settings.",
        )
    tracking, left_off = _tracking(where, line, settings, catalogue)
    fields: dict[str, Any] = {"ItemCode": item.code if item else None, "AccountCode": account}
    if tracking:
        fields["Tracking"] = tracking
    return LineTarget(fields, tuple(left_off))


def _item(where: str, mapping: ProductMapping, catalogue: Catalogue) -> XeroItem:
    assert mapping.item_id is not None
    if mapping.item_id not in catalogue.items:
        raise RuntimeError("the push did not read the items its lines map to")  # pragma: no cover - a bug
    product = mapping.platform_product_id
    item = catalogue.items[mapping.item_id]
    remap = (
        f"map the product '{product}' to another item (or to an account only) {SETTINGS_FIX}, then retry the invoice."
    )
    if item is None:
        raise Rejected(
            "item_unavailable",
            f"{where}: the product '{product}' is mapped to the Xero item '{mapping.item_code}', which Xero no longer "
            "lists (archived or deleted).",
            f"Restore the item in Xero, or {remap}",
        )
    if item.code != mapping.item_code:
        raise Rejected(
            "item_changed",
            f"{where}: the product '{product}' is mapped to the Xero item '{mapping.item_code}', whose code is now "
            f"'{item.code}' in Xero.",
            f"Map the product '{product}' again {SETTINGS_FIX} (to '{item.code}' or another item), then retry the "
            "invoice.",
        )
    if not item.is_sold:
        raise Rejected(
            "item_not_sold",
            f"{where}: the product '{product}' is mapped to the Xero item '{item.code}', which is no longer sold in "
            "Xero.",
            f"In Xero, tick \"I sell this item\" on '{item.code}', or {remap}",
        )
    return item


def _tracking(
    where: str, line: LineItem, settings: AccountSettings, catalogue: Catalogue
) -> tuple[list[dict[str, str]], list[str]]:
    entries: list[dict[str, str]] = []
    left_off: list[str] = []
    for dimension, value in line.tracking.items():
        mapping = settings.tracking_mappings.get(dimension)
        if mapping is None:
            if settings.unmapped_dimensions == "ignore":
                left_off.append(f"{dimension}={value}")
                continue
            raise Rejected(
                "unmapped_dimension",
                f"{where} has the dimension '{dimension}' ('{value}'), which is not mapped to a Xero tracking "
                "category.",
                f"Map '{dimension}' to a Xero tracking category {SETTINGS_FIX}, or choose there to leave unmapped "
                "dimensions off invoices, then retry the invoice.",
            )
        entries.append(_entry(where, mapping, value, catalogue))
    categories = [e["TrackingCategoryID"] for e in entries]
    if len(entries) > MAX_TRACKING_PER_LINE or len(set(categories)) != len(categories):
        raise Rejected(  # the management API keeps one dimension per category, so only a hand-made setting gets here
            "too_many_tracking",
            f"{where} would carry {len(entries)} tracking entries; Xero takes one option of each of at most "
            f"{MAX_TRACKING_PER_LINE} categories, and keeps only the last of a category given twice.",
            f"Map each dimension to its own Xero tracking category {SETTINGS_FIX}, then retry the invoice.",
        )
    return entries, left_off


def _entry(where: str, mapping: TrackingMapping, value: str, catalogue: Catalogue) -> dict[str, str]:
    if catalogue.categories is None:
        raise RuntimeError("the push did not read the tracking categories its lines map to")  # pragma: no cover
    dimension = mapping.dimension
    choice = mapping.options.get(value)
    if choice is None:
        raise Rejected(
            "unmapped_dimension_value",
            f"{where}: {dimension} '{value}' is not mapped to an option of the Xero tracking category "
            f"'{mapping.category_name}'.",
            f"Map '{value}' to an option of '{mapping.category_name}' {SETTINGS_FIX}, then retry the invoice.",
        )
    category = catalogue.categories.get(mapping.tracking_category_id)
    if category is None:
        raise Rejected(
            "tracking_category_unavailable",
            f"{where}: {dimension} goes to the Xero tracking category '{mapping.category_name}', which Xero no longer "
            "has active (archived or deleted).",
            f"Restore '{mapping.category_name}' in Xero, or map '{dimension}' to an active category {SETTINGS_FIX}, "
            "then retry the invoice.",
        )
    option = category.option(choice.option_id)
    mapped = f"'{mapping.category_name}: {choice.option_name}'"
    if option is None or not option.active:
        raise Rejected(
            "tracking_option_unavailable",
            f"{where}: {dimension} '{value}' is mapped to {mapped}, an option Xero no longer has active (archived "
            "or deleted); Xero would drop it from the invoice without a word.",
            f"Restore the option in Xero, or map '{value}' to an active option {SETTINGS_FIX}, then retry the invoice.",
        )
    if (category.name, option.name) != (mapping.category_name, choice.option_name):
        raise Rejected(
            "tracking_renamed",
            f"{where}: {dimension} '{value}' is mapped to {mapped}, which is now called "
            f"'{category.name}: {option.name}' in Xero.",
            f"If '{value}' still belongs there, save its mapping again {SETTINGS_FIX} (or map it to another option), "
            "then retry the invoice.",
        )
    return {
        "TrackingCategoryID": category.tracking_category_id,
        "Name": category.name,
        "TrackingOptionID": option.option_id,
        "Option": option.name,
    }


def dropped_tracking(sent: Iterable[dict[str, Any]], answered: Any) -> list[tuple[int, str]]:
    """The tracking Xero did not keep, by line (1-based) and as ``Category: Option``, comparing what was
    sent with the lines Xero answered (empty when Xero answered no lines to compare)."""
    if not isinstance(answered, list):
        return []
    dropped = []
    for index, (line, booked) in enumerate(zip(sent, answered, strict=False), start=1):
        kept = [t for t in (booked.get("Tracking") or []) if isinstance(t, dict)] if isinstance(booked, dict) else []
        kept_ids = {str(t["TrackingOptionID"]).lower() for t in kept if t.get("TrackingOptionID")}
        kept_names = {(str(t.get("Name", "")).casefold(), str(t.get("Option", "")).casefold()) for t in kept}
        for entry in line.get("Tracking") or []:
            named = (entry["Name"].casefold(), entry["Option"].casefold())
            if entry["TrackingOptionID"].lower() not in kept_ids and named not in kept_names:
                dropped.append((index, f"{entry['Name']}: {entry['Option']}"))
    return dropped
