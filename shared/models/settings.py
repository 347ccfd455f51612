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
    updated_at: datetime | None = None
    version: int = Field(default=0, description="Optimistic-locking counter, bumped by every write")
