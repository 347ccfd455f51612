"""Product and tracking mappings as the management API saves them: each checked against what Xero holds
when it is saved, so that a mapping names only an item Xero lists and sells, an account invoice lines
may use, and an active tracking category and option.

A product maps to a Xero item (its ``Code`` becomes the line's ``ItemCode``), an account code, or both:
the account code then overrides the item's own sales account. A platform dimension (``location``) maps
to one Xero tracking category, value by value; two dimensions never share a category (a line would carry
that category twice, and Xero keeps only the last one). Xero allows at most 2 active categories, so at
most 2 dimensions are mapped. Categories and options are named by their Xero id or their name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from shared.errors import RequestRefused
from shared.models import api
from shared.models.chart import XeroAccount, XeroItem, XeroTrackingCategory, XeroTrackingOption
from shared.models.settings import AccountSettings, ProductMapping, TrackingMapping, TrackingOptionChoice

_Named = TypeVar("_Named", XeroTrackingCategory, XeroTrackingOption)

# --- products ------------------------------------------------------------------------------------


def sold_item(items: Iterable[XeroItem], code: str) -> XeroItem:
    found = next((i for i in items if i.code == code), None)
    if found is None:
        raise RequestRefused(
            "unknown_item_code",
            f"Xero lists no item with the code {code!r} in this organisation (an archived item is not listed).",
        )
    if not found.is_sold:
        raise RequestRefused(
            "item_not_sold",
            f"The Xero item {code!r} ('{found.name}') is not sold: in Xero, tick \"I sell this item\" on it, or map "
            "the product to another item.",
        )
    return found


def product_mapping(product_id: str, item: XeroItem | None, account: XeroAccount | None) -> ProductMapping:
    return ProductMapping(
        platform_product_id=product_id,
        item_code=item.code if item else None,
        item_id=item.item_id if item else None,
        item_name=item.name if item else "",
        account_code=account.code if account else None,
        account_name=account.name if account else "",
    )


def items_view(account_id: str, items: Iterable[XeroItem]) -> api.ItemsView:
    sold = sorted((i for i in items if i.is_sold), key=lambda i: i.code)
    return api.ItemsView(
        account_id=account_id,
        items=[
            api.ItemView(item_id=i.item_id, code=i.code, name=i.name, sales_account_code=i.sales_account_code)
            for i in sold
        ],
    )


def product_view(mapping: ProductMapping) -> api.ProductMappingView:
    return api.ProductMappingView(
        platform_product_id=mapping.platform_product_id,
        item_code=mapping.item_code,
        item_name=mapping.item_name,
        account_code=mapping.account_code,
        account_name=mapping.account_name,
    )


def products_view(settings: AccountSettings) -> api.ProductMappingsView:
    return api.ProductMappingsView(
        account_id=settings.account_id,
        mappings=[product_view(m) for _, m in sorted(settings.product_mappings.items())],
    )


# --- tracking ------------------------------------------------------------------------------------


def tracking_mapping(
    dimension: str,
    body: api.SetTrackingMapping,
    categories: Iterable[XeroTrackingCategory],
    others: Mapping[str, TrackingMapping],
) -> TrackingMapping:
    """``dimension`` mapped as ``body`` says; ``others`` are the account's other dimensions' mappings."""
    category = _category(list(categories), body.category)
    taken = next(
        (
            m
            for m in others.values()
            if m.dimension != dimension and m.tracking_category_id == category.tracking_category_id
        ),
        None,
    )
    if taken is not None:
        raise RequestRefused(
            "tracking_category_taken",
            f"The dimension {taken.dimension!r} already goes to the Xero tracking category '{category.name}'; a line "
            "can carry one option of each category. Map each dimension to its own category.",
        )
    options = {value: _option(category, ref) for value, ref in body.options.items()}
    return TrackingMapping(
        dimension=dimension,
        tracking_category_id=category.tracking_category_id,
        category_name=category.name,
        options={v: TrackingOptionChoice(option_id=o.option_id, option_name=o.name) for v, o in options.items()},
    )


def _category(categories: list[XeroTrackingCategory], ref: str) -> XeroTrackingCategory:
    found = _by_id_or_name(categories, ref, lambda c: c.tracking_category_id)
    if found is None:
        raise RequestRefused(
            "unknown_tracking_category", f"Xero has no tracking category {ref!r} in this organisation."
        )
    if not found.active:
        raise RequestRefused(
            "tracking_category_archived",
            f"The tracking category '{found.name}' is {found.status.lower()} in Xero; restore it there, or map the "
            "dimension to an active category.",
        )
    return found


def _option(category: XeroTrackingCategory, ref: str) -> XeroTrackingOption:
    found = _by_id_or_name(list(category.options), ref, lambda o: o.option_id)
    if found is None:
        raise RequestRefused(
            "unknown_tracking_option", f"The tracking category '{category.name}' has no option {ref!r} in Xero."
        )
    if not found.active:
        raise RequestRefused(
            "tracking_option_archived",
            f"The option '{found.name}' of '{category.name}' is {found.status.lower()} in Xero, and Xero drops an "
            "archived option from an invoice without a word; restore it in Xero, or choose an active option.",
        )
    return found


def _by_id_or_name(candidates: list[_Named], ref: str, id_of: Callable[[_Named], str]) -> _Named | None:
    """By Xero's id, else by name ignoring case (an active one before an archived one of the same name)."""
    wanted = ref.strip().casefold()
    by_id = [c for c in candidates if id_of(c).casefold() == wanted]
    by_name = sorted((c for c in candidates if c.name.casefold() == wanted), key=lambda c: not c.active)
    found = by_id or by_name
    return found[0] if found else None


def categories_view(account_id: str, categories: Iterable[XeroTrackingCategory]) -> api.TrackingCategoriesView:
    return api.TrackingCategoriesView(
        account_id=account_id,
        tracking_categories=[
            api.TrackingCategoryView(
                tracking_category_id=c.tracking_category_id,
                name=c.name,
                options=[api.TrackingOptionView(option_id=o.option_id, name=o.name) for o in c.options if o.active],
            )
            for c in categories
            if c.active
        ],
    )


def tracking_view(mapping: TrackingMapping) -> api.TrackingMappingView:
    return api.TrackingMappingView(
        dimension=mapping.dimension,
        tracking_category_id=mapping.tracking_category_id,
        category_name=mapping.category_name,
        options=[
            api.TrackingOptionMappingView(value=value, option_id=o.option_id, option_name=o.option_name)
            for value, o in sorted(mapping.options.items())
        ],
    )


def trackings_view(settings: AccountSettings) -> api.TrackingMappingsView:
    return api.TrackingMappingsView(
        account_id=settings.account_id,
        mappings=[tracking_view(m) for _, m in sorted(settings.tracking_mappings.items())],
        unmapped_dimensions=settings.unmapped_dimensions,
    )
