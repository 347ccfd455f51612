"""What the push reads of an organisation's items and tracking categories before it sends an invoice
whose lines are mapped to them, so that every product and tracking mapping is checked against Xero as
it is now (:mod:`shared.domain.products` refuses what no longer holds).

Read only when a batch's lines need it, and little: the mapped items by id (``GET /Items?where=ItemID==
guid(...)``, cut to Xero's URL length), the active tracking categories with their active options
(``GET /TrackingCategories``). Each answer is kept :data:`CATALOGUE_CACHE_SECONDS` per organisation in
the container. A kept answer that disagrees with a mapping (an item gone, an option missing or named
otherwise) is read again before anything is refused, so a mapping saved a moment ago is never refused
for what Xero looked like before it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.domain.products import Catalogue, needs
from shared.domain.push import calls
from shared.models.chart import XeroItem, XeroTrackingCategory
from shared.models.events import Invoice, InvoiceUpserted

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun, PushParts
    from shared.domain.push.model import InvoiceWork
    from shared.models.settings import AccountSettings

CATALOGUE_CACHE_SECONDS = 300


@dataclass
class _Kept:
    items: dict[tuple[str, str], tuple[float, XeroItem | None]] = field(default_factory=dict)  # (tenant, ItemID)
    categories: dict[str, tuple[float, dict[str, XeroTrackingCategory]]] = field(default_factory=dict)


# One store per PushParts (built once per container; tests and benchmarks build their own), held beside
# it rather than in it: PushParts belongs to the push's transport. Keyed by identity, checked by a weak
# reference, so a store never outlives its parts nor passes to another that reuses the address.
_STORES: dict[int, tuple[weakref.ref[PushParts], _Kept]] = {}


def _kept(parts: PushParts) -> _Kept:
    key = id(parts)
    found = _STORES.get(key)
    if found is not None and found[0]() is parts:
        return found[1]
    store = _Kept()
    _STORES[key] = (weakref.ref(parts, lambda _: _STORES.pop(key, None)), store)
    return store


def read(run: AccountRun, work: Iterable[InvoiceWork]) -> Catalogue:
    """The catalogue the lines of ``work`` need: nothing read when no line is mapped to an item or a
    tracking category."""
    return read_for(run, [w.event.data for w in work if isinstance(w.event, InvoiceUpserted)])


def read_for(run: AccountRun, documents: Iterable[Invoice]) -> Catalogue:
    """The catalogue these invoices' (or credit notes') lines need."""
    settings = run.account_settings
    wanted = needs(settings, documents)
    items = _items(run, wanted.item_ids, settings) if wanted.item_ids else {}
    categories = _categories(run, settings) if wanted.tracking else None
    return Catalogue(items, categories)


def _items(run: AccountRun, item_ids: frozenset[str], settings: AccountSettings) -> dict[str, XeroItem | None]:
    kept = _kept(run.parts).items
    now = run.parts.clock()
    found = {
        i: kept[(run.tenant_id, i)][1]
        for i in item_ids
        if (run.tenant_id, i) in kept and kept[(run.tenant_id, i)][0] > now
    }
    expected = {m.item_id: m for m in settings.product_mappings.values() if m.item_id in item_ids}
    doubtful = {
        i for i, item in found.items() if item is None or item.code != expected[i].item_code or not item.is_sold
    }
    stale = sorted((item_ids - set(found)) | doubtful)
    if stale:
        answered = _read_items(run, stale)
        for item_id in stale:
            found[item_id] = answered.get(item_id)
            kept[(run.tenant_id, item_id)] = (now + CATALOGUE_CACHE_SECONDS, found[item_id])
    return found


def _read_items(run: AccountRun, item_ids: list[str]) -> dict[str, XeroItem]:
    ids = [i for i in item_ids if calls.plain(i)]  # Xero's ItemIDs are GUIDs

    def where(group: list[str]) -> dict[str, str]:
        return {"where": " OR ".join(f'ItemID==guid("{i}")' for i in group)}

    answered: dict[str, XeroItem] = {}
    for group in calls.fitting(run.xero, "Items", ids, where):
        for row in run.xero.get("Items", where(group)).get("Items", []):
            if isinstance(row, dict):
                item = XeroItem.model_validate(row)
                answered[item.item_id.lower()] = item
    return {i: answered[i.lower()] for i in item_ids if i.lower() in answered}


def _categories(run: AccountRun, settings: AccountSettings) -> dict[str, XeroTrackingCategory]:
    kept = _kept(run.parts).categories
    now = run.parts.clock()
    cached = kept.get(run.tenant_id)
    if cached is not None and cached[0] > now and _agrees(cached[1], settings):
        return cached[1]
    answer = run.xero.get("TrackingCategories")  # active categories and active options only
    categories = {
        c.tracking_category_id: c
        for c in (XeroTrackingCategory.model_validate(row) for row in answer.get("TrackingCategories", []))
        if c.active
    }
    kept[run.tenant_id] = (now + CATALOGUE_CACHE_SECONDS, categories)
    return categories


def _agrees(categories: dict[str, XeroTrackingCategory], settings: AccountSettings) -> bool:
    """Whether every mapped option is in the kept answer under the name it was mapped with."""
    for mapping in settings.tracking_mappings.values():
        category = categories.get(mapping.tracking_category_id)
        if category is None or category.name != mapping.category_name:
            return False
        for choice in mapping.options.values():
            option = category.option(choice.option_id)
            if option is None or option.name != choice.option_name:
                return False
    return True
