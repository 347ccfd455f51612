"""The management API's request and response bodies: the one definition of its contract (and of its
OpenAPI document). Requests forbid unknown fields so that a typo is refused, not silently ignored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.models.fields import DimensionName, DimensionValue, Identifier
from shared.models.settings import EmailAddress, UnmappedDimensions

ConnectionState = Literal["connected", "needs_reconnect", "disconnected", "not_connected"]
TaxType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
PLATFORM_TAX_ID_MAX = 128
PlatformTaxId = Annotated[str, StringConstraints(min_length=1, max_length=PLATFORM_TAX_ID_MAX)]
AccountCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
MAX_TAX_MAPPINGS = 500
ItemCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
# A Xero tracking category or option, by its id or its name.
TrackingRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_PRODUCT_MAPPINGS = 2000
MAX_TRACKING_VALUES = 500
MAX_TRACKING_MAPPINGS = 2  # Xero: at most 2 active tracking categories, so at most 2 per line
MAX_ALERT_RECIPIENTS = 10


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- errors ----------------------------------------------------------------------------------


class ErrorDetail(_Answer):
    code: str = Field(description="Stable snake_case code, e.g. unknown_account, not_connected, xero_unavailable")
    message: str = Field(description="What happened, in plain words")
    retry_after: int | None = Field(default=None, description="Seconds to wait before retrying, when known")
    details: list[str] | None = Field(default=None, description="For invalid_request: each problem, where and what")


class ErrorBody(_Answer):
    error: ErrorDetail


# --- connection and organisations ------------------------------------------------------------


class Organisation(_Answer):
    tenant_id: str
    name: str
    tenant_type: str = "ORGANISATION"
    chosen: bool = False


class ConnectionView(_Answer):
    account_id: str
    status: ConnectionState
    status_reason: str | None = None
    organisation: Organisation | None = Field(default=None, description="The organisation invoices are pushed to")
    organisations: list[Organisation] = Field(default_factory=list, description="Every organisation granted")
    scopes: list[str] = Field(default_factory=list, description="Scopes granted at consent")
    connected_email: str | None = Field(default=None, description="The Xero user who connected")
    connected_at: datetime | None = None
    last_activity_at: datetime | None = None
    warn_on: date | None = Field(default=None, description="When the owner is warned of inactivity")
    disconnect_on: date | None = Field(default=None, description="When the inactivity sweep disconnects")
    organisation_changed_at: datetime | None = Field(
        default=None,
        description="The account moved to another Xero organisation: its events wait until settings_needed are chosen",
    )
    settings_needed: list[str] = Field(
        default_factory=list, description="What to choose for the new organisation before events go to it"
    )


class OrganisationsView(_Answer):
    account_id: str
    chosen_tenant_id: str | None = None
    organisations: list[Organisation]


class ChooseOrganisation(_Request):
    tenant_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class OrganisationChoice(_Answer):
    account_id: str
    organisation: Organisation
    cleared_settings: list[str] = Field(
        default_factory=list,
        description="Settings checked against the previously chosen organisation, now cleared",
    )


# --- payment account -------------------------------------------------------------------------


class PaymentAccountOption(_Answer):
    xero_account_id: str
    code: str | None = None
    name: str
    type: str
    bank_account_number: str | None = None
    chosen: bool = False


class PaymentAccountsView(_Answer):
    account_id: str
    accounts: list[PaymentAccountOption]
    chosen_account_id: str | None = None
    help: str = Field(description="Why an account may be missing and how to enable payments on it in Xero")


class ChoosePaymentAccount(_Request):
    account_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = Field(
        default=None, description="Xero's AccountID"
    )
    code: AccountCode | None = Field(default=None, description="The account's code in Xero")

    @model_validator(mode="after")
    def _exactly_one(self) -> ChoosePaymentAccount:
        if (self.account_id is None) == (self.code is None):
            raise ValueError("give exactly one of account_id or code")
        return self


class PaymentAccountView(_Answer):
    xero_account_id: str
    code: str | None = None
    name: str
    type: str


# --- tax -------------------------------------------------------------------------------------


class TaxRateView(_Answer):
    tax_type: str
    name: str
    effective_rate: float | None = None
    display_tax_rate: float | None = None


class TaxRatesView(_Answer):
    account_id: str
    tax_rates: list[TaxRateView]


class TaxMappingIn(_Request):
    platform_tax_id: PlatformTaxId
    tax_type: TaxType


class ReplaceTaxMappings(_Request):
    mappings: list[TaxMappingIn] = Field(max_length=MAX_TAX_MAPPINGS)
    default_tax_type: TaxType | None = Field(default=None, description="TaxType for lines with no platform tax id")

    @model_validator(mode="after")
    def _unique_ids(self) -> ReplaceTaxMappings:
        ids = [m.platform_tax_id for m in self.mappings]
        if len(ids) != len(set(ids)):
            raise ValueError("each platform_tax_id may appear only once")
        return self


class SetTaxMapping(_Request):
    tax_type: TaxType


class TaxMappingView(_Answer):
    platform_tax_id: str
    tax_type: str
    tax_name: str = ""
    effective_rate: float | None = None


class TaxMappingsView(_Answer):
    account_id: str
    mappings: list[TaxMappingView]
    default_tax_type: str | None = None


# --- products (Xero items) ------------------------------------------------------------------------


class ItemView(_Answer):
    item_id: str
    code: str
    name: str = ""
    sales_account_code: str | None = Field(default=None, description="The item's own sales account in Xero")


class ItemsView(_Answer):
    account_id: str
    items: list[ItemView] = Field(description="Xero's items that are sold (archived items are not listed)")


class _ProductTarget(_Request):
    item_code: ItemCode | None = Field(default=None, description="The Xero item's Code, sent as the line's ItemCode")
    account_code: AccountCode | None = Field(
        default=None, description="The Xero account for the line; without it, the item's own sales account"
    )

    @model_validator(mode="after")
    def _something(self) -> _ProductTarget:
        if self.item_code is None and self.account_code is None:
            raise ValueError("give an item_code, an account_code, or both")
        return self


class SetProductMapping(_ProductTarget):
    pass


class ProductMappingIn(_ProductTarget):
    platform_product_id: Identifier


class ReplaceProductMappings(_Request):
    mappings: list[ProductMappingIn] = Field(max_length=MAX_PRODUCT_MAPPINGS)

    @model_validator(mode="after")
    def _unique_ids(self) -> ReplaceProductMappings:
        ids = [m.platform_product_id for m in self.mappings]
        if len(ids) != len(set(ids)):
            raise ValueError("each platform_product_id may appear only once")
        return self


class ProductMappingView(_Answer):
    platform_product_id: str
    item_code: str | None = None
    item_name: str = ""
    account_code: str | None = None
    account_name: str = ""


class ProductMappingsView(_Answer):
    account_id: str
    mappings: list[ProductMappingView]


# --- tracking ------------------------------------------------------------------------------------


class TrackingOptionView(_Answer):
    option_id: str
    name: str


class TrackingCategoryView(_Answer):
    tracking_category_id: str
    name: str
    options: list[TrackingOptionView] = Field(description="The category's active options")


class TrackingCategoriesView(_Answer):
    account_id: str
    tracking_categories: list[TrackingCategoryView] = Field(description="Xero's active tracking categories (2 at most)")


class SetTrackingMapping(_Request):
    category: TrackingRef = Field(description="The Xero tracking category, by its TrackingCategoryID or its name")
    options: dict[DimensionValue, TrackingRef] = Field(
        min_length=1,
        max_length=MAX_TRACKING_VALUES,
        description="Each platform value and the option it becomes, by TrackingOptionID or name",
    )


class TrackingMappingIn(SetTrackingMapping):
    dimension: DimensionName = Field(description="The platform's dimension, as invoice lines name it (location)")


class ReplaceTrackingMappings(_Request):
    mappings: list[TrackingMappingIn] = Field(max_length=MAX_TRACKING_MAPPINGS)
    unmapped_dimensions: UnmappedDimensions | None = Field(
        default=None, description="refuse (default) or ignore a line's dimension no mapping names; null keeps it"
    )

    @model_validator(mode="after")
    def _unique_dimensions(self) -> ReplaceTrackingMappings:
        names = [m.dimension for m in self.mappings]
        if len(names) != len(set(names)):
            raise ValueError("each dimension may appear only once")
        return self


class TrackingOptionMappingView(_Answer):
    value: str = Field(description="The platform's value")
    option_id: str
    option_name: str


class TrackingMappingView(_Answer):
    dimension: str
    tracking_category_id: str
    category_name: str
    options: list[TrackingOptionMappingView]


class TrackingMappingsView(_Answer):
    account_id: str
    mappings: list[TrackingMappingView]
    unmapped_dimensions: UnmappedDimensions


# --- settings --------------------------------------------------------------------------------


class SettingsPatch(_Request):
    sales_account_code: AccountCode | None = Field(
        default=None, description="AccountCode for invoice lines; null clears it"
    )
    default_tax_type: TaxType | None = Field(default=None, description="TaxType for untaxed lines; null clears it")
    alert_recipients: list[EmailAddress] | None = Field(
        default=None,
        max_length=MAX_ALERT_RECIPIENTS,
        description="Who receives alerts; empty (or null) means the Xero user who connected",
    )
    unmapped_dimensions: UnmappedDimensions | None = Field(
        default=None,
        description="A line's dimension that no tracking mapping names: refuse the invoice (default) or send it "
        "without that dimension, noted in the log",
    )

    @model_validator(mode="after")
    def _something(self) -> SettingsPatch:
        if not self.model_fields_set:
            raise ValueError(
                "give at least one of sales_account_code, default_tax_type, alert_recipients, unmapped_dimensions"
            )
        return self


class SettingsView(_Answer):
    account_id: str
    tenant_id: str | None = Field(default=None, description="The chosen organisation")
    payment_account: PaymentAccountView | None = None
    sales_account_code: str | None = None
    default_tax_type: str | None = None
    tax_mapping_count: int = 0
    product_mapping_count: int = 0
    tracking_mapping_count: int = 0
    unmapped_dimensions: UnmappedDimensions = "refuse"
    alert_recipients: list[str] = Field(default_factory=list, description="As configured (empty: the default)")
    effective_alert_recipients: list[str] = Field(
        default_factory=list, description="Who actually receives this account's alerts"
    )
    version: int = 0
    updated_at: datetime | None = None


# --- disconnect ------------------------------------------------------------------------------


class DisconnectView(_Answer):
    account_id: str
    status: ConnectionState
    was_connected: bool = Field(description="False when the account was already disconnected")
    revoked_at_xero: bool
    problems: list[str] = Field(default_factory=list, description="What Xero did not confirm (it is gone here)")
