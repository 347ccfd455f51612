"""An organisation's chart of accounts, tax rates, items and tracking categories, as read from Xero
(``GET /Accounts``, ``GET /TaxRates``, ``GET /Items``, ``GET /TrackingCategories``).

Only the fields the service decides with are kept, which also keeps the shared cache item small.
"""

from __future__ import annotations

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field

ACTIVE = "ACTIVE"
BANK = "BANK"


class XeroAccount(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    account_id: str = Field(alias="AccountID")
    code: str | None = Field(default=None, alias="Code")
    name: str = Field(default="", alias="Name")
    type: str = Field(default="", alias="Type")
    status: str = Field(default=ACTIVE, alias="Status")
    account_class: str | None = Field(default=None, alias="Class")
    enable_payments: bool = Field(default=False, alias="EnablePaymentsToAccount")
    bank_account_number: str | None = Field(default=None, alias="BankAccountNumber")
    currency_code: str | None = Field(default=None, alias="CurrencyCode")
    system_account: str | None = Field(default=None, alias="SystemAccount")

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def takes_payments(self) -> bool:
        """Xero accepts payments to BANK accounts and to accounts with payments enabled."""
        return self.type == BANK or self.enable_payments


class XeroTaxRate(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    tax_type: str = Field(alias="TaxType")
    name: str = Field(default="", alias="Name")
    status: str = Field(default=ACTIVE, alias="Status")
    can_apply_to_revenue: bool = Field(default=False, alias="CanApplyToRevenue")
    effective_rate: float | None = Field(default=None, alias="EffectiveRate")
    display_tax_rate: float | None = Field(default=None, alias="DisplayTaxRate")

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def usable_on_sales(self) -> bool:
        return self.active and self.can_apply_to_revenue


class XeroItem(BaseModel):
    """An item (product or service) as ``GET /Items`` lists it: what a product mapping names and checks."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    item_id: str = Field(alias="ItemID")
    code: str = Field(alias="Code")
    name: str = Field(default="", alias="Name")
    is_sold: bool = Field(default=True, alias="IsSold")
    sales_account_code: str | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("SalesDetails", "AccountCode"), "SalesAccountCode"),
        serialization_alias="SalesAccountCode",
    )


class XeroTrackingOption(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    option_id: str = Field(alias="TrackingOptionID")
    name: str = Field(default="", alias="Name")
    status: str = Field(default=ACTIVE, alias="Status")

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


class XeroTrackingCategory(BaseModel):
    """A tracking category with its options, as ``GET /TrackingCategories`` lists it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    tracking_category_id: str = Field(alias="TrackingCategoryID")
    name: str = Field(default="", alias="Name")
    status: str = Field(default=ACTIVE, alias="Status")
    options: tuple[XeroTrackingOption, ...] = Field(default=(), alias="Options")

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def option(self, option_id: str) -> XeroTrackingOption | None:
        return next((o for o in self.options if o.option_id == option_id), None)
