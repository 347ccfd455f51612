"""Write an example of every alert email: ``python -m shared.emails.render docs/emails``.

The examples use fixed, made-up values so the files change only when the emails do (a test checks
that the committed files match what this renders).
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from shared.adapters.mailer import OutgoingEmail
from shared.emails import messages
from shared.emails.messages import EmailContext
from shared.models.alerts import DigestItem

EXAMPLE_CONTEXT = EmailContext(
    brand="Acme Invoicing",
    settings_url="https://app.acme-invoicing.example/settings/integrations/xero",
    invoice_url="https://app.acme-invoicing.example/invoices/{invoice_id}",
)


def examples(ctx: EmailContext = EXAMPLE_CONTEXT) -> dict[str, OutgoingEmail]:
    return {
        "inactivity_warning": messages.inactivity_warning(
            ctx, organisation="Harbour Cafe Ltd", last_active=date(2026, 1, 7), disconnect_on=date(2026, 3, 8)
        ),
        "disconnected": messages.disconnected(
            ctx, organisation="Harbour Cafe Ltd", last_active=date(2026, 1, 7), revoked_at_xero=True
        ),
        "sync_failed": messages.sync_failed(
            ctx,
            invoice_id="inv_8f2c41",
            invoice_number="INV-0042",
            code="xero_validation",
            message="Xero rejected the invoice.",
            fix="Correct the points Xero raised (listed above) in the invoice or your Xero settings.",
            xero_messages=(
                "The TaxType code OUTPUT3 does not exist or cannot be used for this type of transaction.",
                "Account code '205' is not a valid code for this document.",
            ),
        ),
        "sync_failed_payment": messages.sync_failed(
            ctx,
            subject_kind="payment",
            invoice_id="inv_8f2c41",
            invoice_number="INV-0042",
            payment_id="pay_31d7",
            amount=Decimal("1250.00"),
            currency="NZD",
            code="no_payment_account",
            message="No Xero account is chosen for payments.",
            fix="Choose a payment account (a bank account, or one with payments enabled) in the integration settings.",
        ),
        "sync_failed_contact": messages.sync_failed(
            ctx,
            subject_kind="contact",
            invoice_id="",
            invoice_number=None,
            contact_id="cust_0193",
            contact_name="Harbour Cafe Ltd",
            code="xero_validation",
            message="Xero refused the contact.",
            fix="Correct the points Xero raised (listed above) in the contact, then save it again.",
            xero_messages=("Email address must be valid.",),
        ),
        "sync_failed_credit_note": messages.sync_failed(
            ctx,
            subject_kind="credit_note",
            invoice_id="",
            invoice_number=None,
            credit_note_id="cn_5a10",
            credit_note_number="CN-0007",
            code="credit_exceeds_invoice_due",
            message="Credit note CN-0007 applies NZD 80.00 to invoice INV-0042, which has only NZD 50.00 due in Xero.",
            fix="Apply at most the invoice's amount due, then save the credit note again.",
        ),
        "reconciliation_digest": messages.reconciliation_digest(
            ctx,
            organisation="Harbour Cafe Ltd",
            compared=1284,
            total=3,
            items=(
                DigestItem(
                    invoice_id="inv_8f2c41",
                    number="INV-0042",
                    kind="voided_in_xero",
                    details=("Status: recorded AUTHORISED, Xero VOIDED",),
                    what_to_do=(
                        "Someone voided invoice INV-0042 in Xero, and Xero cannot un-void it. If the void was right, "
                        "void it on the platform too and accept; if not, issue it again on the platform under a new "
                        "number, then accept."
                    ),
                ),
                DigestItem(
                    invoice_id="inv_8f2c57",
                    number="INV-0058",
                    kind="totals_differ",
                    details=(
                        "Total: recorded NZD 194.93, Xero NZD 224.25",
                        "Amount due: recorded NZD 194.93, Xero NZD 224.25",
                    ),
                    what_to_do=(
                        "Invoice INV-0058 was changed in Xero and its amounts no longer match the platform. Resend to "
                        "put the platform's version back in Xero, or change the invoice on the platform to match Xero "
                        "and accept."
                    ),
                ),
                DigestItem(
                    invoice_id="inv_8f2c60",
                    number="INV-0061",
                    kind="payments_differ",
                    details=(
                        "Amount due: recorded NZD 120.00, Xero NZD 70.00",
                        "Paid or credited: recorded NZD 0.00, Xero NZD 50.00",
                    ),
                    what_to_do=(
                        "Xero shows other payments on invoice INV-0061 than the platform sent (a payment added or "
                        "removed in Xero by hand). Record the payment on the platform and accept, or remove it in Xero."
                    ),
                ),
            ),
        ),
        "reconnect_needed": messages.reconnect_needed(
            ctx,
            organisation="Harbour Cafe Ltd",
            reason="Someone removed the connection in Xero, or its access expired.",
        ),
    }


def write(directory: Path, ctx: EmailContext = EXAMPLE_CONTEXT) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, email in examples(ctx).items():
        for suffix, content in ((".html", email.html), (".txt", f"Subject: {email.subject}\n\n{email.text}")):
            path = directory / f"{name}{suffix}"
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path("docs/emails")
    for path in write(target):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
