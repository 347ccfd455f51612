"""Accounts the proof's scenarios push for: connected to one sandbox organisation and configured."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping
from tests.proof.stack import ProofStack

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"


def connect_business(stack: ProofStack, account_id: str, tenant_ids: list[str] | None = None) -> None:
    """Connect ``account_id`` as a business of its own: its own Xero user, so its own grant (revoking it
    touches no other account), granting ``tenant_ids`` (None: every organisation)."""
    from local.xero_sandbox.state import ConsentPolicy

    state = stack.sandbox.sandbox.state
    with state.lock:
        user = state.add_user(f"owner@{account_id}.example")
        state.consent = ConsentPolicy(tenant_ids=tenant_ids, user_id=user.user_id)
    answer = stack.connect_account(account_id)
    if answer.status_code not in (200, 302):
        raise AssertionError(f"connecting {account_id} answered {answer.status_code}")


def configured_account(stack: ProofStack, account_id: str, tenant_id: str = NZ_TENANT) -> str:
    """Connect ``account_id`` to ``tenant_id`` only, and set its payment account, sales account and tax map."""
    connect_business(stack, account_id, [tenant_id])
    access = wiring.token_manager().access(account_id)
    accounts = wiring.xero().get(access.access_token, tenant_id, "Accounts")["Accounts"]
    bank = next(a for a in accounts if a["Type"] == "BANK" and a.get("Status") == "ACTIVE")
    repo = wiring.account_settings()
    current = repo.get(account_id)
    tax = next(a["TaxType"] for a in accounts if a.get("Code") == "200")
    rates = wiring.xero().get(access.access_token, tenant_id, "TaxRates")["TaxRates"]
    rate = next(r for r in rates if r["TaxType"] == tax)
    settings = AccountSettings(
        account_id=account_id,
        payment_account=PaymentAccount(account_id=bank["AccountID"], code=bank.get("Code"), type="BANK"),
        sales_account_code="200",
        tax_mappings={  # as the settings API saves a mapping: with Xero's name and rate
            "gst-15": TaxMapping(
                platform_tax_id="gst-15",
                tax_type=tax,
                tax_name=rate["Name"],
                effective_rate=Decimal(str(rate["EffectiveRate"])),
            )
        },
        default_tax_type=tax,
        version=current.version,
    )
    repo.save(settings, now=datetime.now(UTC))
    return account_id


def invoice_body(account_id: str, n: int, *, version: int = 1, status: str = "sent", **changes: Any) -> str:
    """A valid ``invoice.upserted`` message, numbered ``n``, without totals (Xero's own rates apply)."""
    body: dict[str, Any] = json.loads((MESSAGES / "03-invoice-sent.json").read_text())
    data = body["data"]
    data.pop("totals", None)
    data.update(
        invoice_id=f"inv-{n}",
        number=f"P-{account_id[-6:]}-{n:05d}",
        version=version,
        status=status,
        reference=f"v{version}",
        **changes,
    )
    data["contact"] = {**data["contact"], "contact_id": f"cus-{n % 25}", "name": f"Customer {n % 25}"}
    body.update(account_id=account_id, event_id=f"evt-{uuid.uuid4().hex[:16]}")
    return json.dumps(body)
