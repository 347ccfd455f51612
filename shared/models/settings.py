"""An account's sync settings: what the owner chose after connecting. Kept across disconnects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
        return self.model_copy(
            update={
                "payment_account": None,
                "sales_account_code": None,
                "tax_mappings": {},
                "default_tax_type": None,
                "organisation_changed_at": now if had_any else self.organisation_changed_at,
            }
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


# Settings that name things inside one organisation; they do not carry over to another.
ORGANISATION_SETTINGS = ("payment_account", "sales_account_code", "tax_mappings", "default_tax_type")
