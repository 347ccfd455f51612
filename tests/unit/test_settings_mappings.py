"""Product and tracking mappings are settings of one Xero organisation: another organisation starts without
them, and since they are optional, events never wait for them."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.models.settings import (
    ORGANISATION_SETTINGS,
    AccountSettings,
    PaymentAccount,
    ProductMapping,
    TrackingMapping,
    TrackingOptionChoice,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
REGION = TrackingMapping(
    dimension="location",
    tracking_category_id="cat-1",
    category_name="Region",
    options={"Auckland": TrackingOptionChoice(option_id="opt-1", option_name="North")},
)


def configured() -> AccountSettings:
    return AccountSettings(
        account_id="a",
        payment_account=PaymentAccount(account_id="bank"),
        sales_account_code="200",
        default_tax_type="NONE",
        product_mappings={"sku-1": ProductMapping(platform_product_id="sku-1", item_code="LOAF", item_id="item-1")},
        tracking_mappings={"location": REGION},
        unmapped_dimensions="ignore",
    )


def test_another_organisation_starts_without_the_product_and_tracking_mappings():
    moved = configured().for_another_organisation(NOW)

    assert moved.product_mappings == {}
    assert moved.tracking_mappings == {}
    assert moved.unmapped_dimensions == "ignore", "a policy, not something named in the organisation"
    assert moved.organisation_changed_at == NOW
    assert {"product_mappings", "tracking_mappings"} <= set(ORGANISATION_SETTINGS)


def test_mappings_are_optional_so_events_never_wait_for_them():
    moved = configured().for_another_organisation(NOW)
    chosen_again = moved.model_copy(
        update={
            "payment_account": PaymentAccount(account_id="bank"),
            "sales_account_code": "200",
            "default_tax_type": "NONE",
        }
    )

    assert chosen_again.missing_for_sync() == []
    assert chosen_again.resumed_if_ready().organisation_changed_at is None


def test_mappings_survive_the_trip_through_json_as_they_are_stored():
    settings = configured()

    assert AccountSettings.model_validate(settings.model_dump(mode="json")) == settings
