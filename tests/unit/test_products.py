"""A line's product and tracking as the push sends them, and Xero's answer checked for tracking it dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.domain.products import Catalogue, dropped_tracking, line_target
from shared.errors import Rejected
from shared.models.chart import XeroTrackingCategory
from shared.models.events import InvoiceUpserted, parse_event
from shared.models.settings import AccountSettings, TrackingMapping, TrackingOptionChoice

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"
REGION = XeroTrackingCategory.model_validate(
    {"TrackingCategoryID": "c1", "Name": "Region", "Options": [{"TrackingOptionID": "o1", "Name": "North"}]}
)
SENT = {"TrackingCategoryID": "c1", "Name": "Region", "TrackingOptionID": "o1", "Option": "North"}


def invoice(tracking: dict[str, str]) -> InvoiceUpserted:
    body = json.loads((MESSAGES / "10-invoice-products.json").read_text())
    body["data"]["line_items"][0]["tracking"] = tracking
    event = parse_event(json.dumps(body))
    assert isinstance(event, InvoiceUpserted)
    return event


def to_region(dimension: str, value: str) -> TrackingMapping:
    choice = TrackingOptionChoice(option_id="o1", option_name="North")
    return TrackingMapping(
        dimension=dimension, tracking_category_id="c1", category_name="Region", options={value: choice}
    )


def test_two_dimensions_on_one_category_in_hand_made_settings_are_refused_not_half_dropped_by_xero():
    settings = AccountSettings(
        account_id="a",
        sales_account_code="200",
        tracking_mappings={"location": to_region("location", "Auckland"), "branch": to_region("branch", "A")},
    )
    event = invoice({"location": "Auckland", "branch": "A"})

    with pytest.raises(Rejected) as refused:
        line_target(event.data, 1, event.data.line_items[0], settings, Catalogue(categories={"c1": REGION}))

    assert refused.value.code == "too_many_tracking"
    assert "line 1" in refused.value.message


@pytest.mark.parametrize(
    ("answered", "dropped"),
    [
        ([{"Tracking": [SENT]}], []),
        ([{"Tracking": [{"Name": "region", "Option": "north"}]}], []),  # an answer without ids: by names
        ([{"Tracking": []}], [(1, "Region: North")]),
        ([{"Tracking": [{"TrackingOptionID": "o2", "Name": "Region", "Option": "South"}]}], [(1, "Region: North")]),
        (None, []),  # no lines answered: nothing to compare
    ],
)
def test_tracking_xero_did_not_keep_is_found_in_its_answer(answered, dropped):
    assert dropped_tracking([{"Tracking": [SENT]}], answered) == dropped
