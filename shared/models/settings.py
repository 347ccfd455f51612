"""An account's sync settings: what the owner chose after connecting. Kept across disconnects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Deliberately simple (one @, a dot in the domain, no spaces): SES is the real judge of deliverability.
EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class TaxMapping(BaseModel):
    """One platform tax id mapped to a Xero ``TaxType`` (Xero's name and rate kept for display)."""

    model_config = ConfigDict(frozen=True)

    platform_tax_id: str = Field(min_length=1, max_length=128)
    tax_type: str = Field(min_length=1, max_length=50)
    tax_name: str = ""
    effective_rate: Decimal | None = None


class PaymentAccount(BaseModel):
    """The Xero account payments are recorded against: BANK, or with ``EnablePaymentsToAccount``."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    code: str | None = None
    name: str = ""
    type: str = ""


class ProductMapping(BaseModel):
    """One platform product mapped to a Xero item (sent as the line's ``ItemCode``) and/or an account code
    (the line's ``AccountCode``). Xero's names are kept for display; ``item_id`` finds the item again if
    its code changes in Xero."""

    model_config = ConfigDict(frozen=True)

    platform_product_id: str = Field(min_length=1, max_length=128)
    item_code: str | None = Field(default=None, max_length=30)
    item_id: str | None = None
    item_name: str = ""
    account_code: str | None = Field(default=None, max_length=10)
    account_name: str = ""

    @model_validator(mode="after")
    def _names_something(self) -> ProductMapping:
        if self.item_code is None and self.account_code is None:
            raise ValueError("a product mapping names an item, an account code, or both")
        if (self.item_code is None) != (self.item_id is None):
            raise ValueError("an item is kept with both its code and its ItemID")
        return self


class TrackingOptionChoice(BaseModel):
    """The Xero tracking option a platform value becomes, with its name when it was mapped."""

    model_config = ConfigDict(frozen=True)

    option_id: str
    option_name: str


class TrackingMapping(BaseModel):
    """One platform dimension (``location``) mapped to a Xero tracking category, value by value. The names
    are Xero's when the mapping was saved: the push refuses a line whose option was renamed since."""

    model_config = ConfigDict(frozen=True)

    dimension: str = Field(min_length=1, max_length=100)
    tracking_category_id: str
    category_name: str
    options: dict[str, TrackingOptionChoice] = Field(default_factory=dict)


UnmappedDimensions = Literal["refuse", "ignore"]


class AccountSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    payment_account: PaymentAccount | None = None
    sales_account_code: str | None = Field(default=None, description="AccountCode for invoice lines without one")
    tax_mappings: dict[str, TaxMapping] = Field(default_factory=dict)
    default_tax_type: str | None = Field(default=None, description="TaxType for lines with no platform tax id")
    alert_recipients: tuple[EmailAddress, ...] = Field(
        default=(), description="Who receives alerts; empty means the Xero user who connected"
    )
    product_mappings: dict[str, ProductMapping] = Field(default_factory=dict)
    tracking_mappings: dict[str, TrackingMapping] = Field(default_factory=dict)
    unmapped_dimensions: UnmappedDimensions = Field(
        default="refuse",
        description="A line's dimension that no tracking mapping names: refuse the invoice, or send it without that "
        "dimension (the push logs what it left off)",
    )
    organisation_changed_at: datetime | None = Field(
        default=None,
        description="Set when the account moved to another Xero organisation and its settings were cleared; "
        "events wait (parked) until the owner chooses the new organisation's settings",
    )
    updated_at: datetime | None = None
    version: int = Field(default=0, description="Optimistic-locking counter, bumped by every write")

    def for_another_organisation(self, now: datetime) -> AccountSettings:
        """The settings once the account syncs to another organisation: what named things in the previous
        one is cleared, and if there was any, events wait until the owner chooses the new ones."""
        had_any = any(getattr(self, name) for name in ORGANISATION_SETTINGS)
        fields = type(self).model_fields
        cleared = {name: fields[name].get_default(call_default_factory=True) for name in ORGANISATION_SETTINGS}
        return self.model_copy(
            update=cleared | {"organisation_changed_at": now if had_any else self.organisation_changed_at}
        )

    def missing_for_sync(self) -> list[str]:
        """What an account moved to another organisation must choose again before its events go."""
        missing = []
        if not self.sales_account_code:
            missing.append("sales_account_code")
        if not self.payment_account:
            missing.append("payment_account")
        if not self.tax_mappings and not self.default_tax_type:
            missing.append("tax_mappings")
        return missing

    def resumed_if_ready(self) -> AccountSettings:
        if self.organisation_changed_at is None or self.missing_for_sync():
            return self
        return self.model_copy(update={"organisation_changed_at": None})


# Settings that name things inside one organisation; they do not carry over to another. Product and
# tracking mappings are optional: they are cleared, but never in missing_for_sync.
ORGANISATION_SETTINGS = (
    "payment_account",
    "sales_account_code",
    "tax_mappings",
    "default_tax_type",
    "product_mappings",
    "tracking_mappings",
)
