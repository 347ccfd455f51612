"""The organisations a fresh sandbox holds: a New Zealand and an Australian company, each with a chart
of accounts that has bank accounts, payment-enabled accounts and accounts that take no payments, and
tax rates that are active, archived, usable on revenue or only on expenses."""

from __future__ import annotations

import uuid
from typing import Any

from local.xero_sandbox.catalogue import ARCHIVED, category, item
from local.xero_sandbox.limits import STANDARD
from local.xero_sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Organisation, SandboxState

NZ_TENANT = "4a1f3f5e-7c1d-4c1e-9a57-1d3f6b2e8c01"
AU_TENANT = "9b2e4d6f-1a3c-4e5b-8d7f-2c4e6a8b0d02"
SANDBOX_USER_EMAIL = "owner@example.com"
UPDATED = "/Date(1767225600000+0000)/"


def _account(code: str, name: str, type_: str, class_: str, tax: str, **extra: Any) -> dict[str, Any]:
    account = {
        "AccountID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-account-{code}-{name}")),
        "Code": code,
        "Name": name,
        "Type": type_,
        "Class": class_,
        "Status": "ACTIVE",
        "TaxType": tax,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "HasAttachments": False,
        "AddToWatchlist": False,
        "ReportingCode": "",
        "UpdatedDateUTC": UPDATED,
    }
    account.update(extra)
    return account


def _tax(
    name: str, tax_type: str, rate: float, *, revenue: bool, expenses: bool, status: str = "ACTIVE"
) -> dict[str, Any]:
    return {
        "Name": name,
        "TaxType": tax_type,
        "Status": status,
        "ReportTaxType": "OUTPUT" if revenue and not expenses else ("INPUT" if expenses and not revenue else "NONE"),
        "CanApplyToAssets": expenses,
        "CanApplyToEquity": expenses,
        "CanApplyToExpenses": expenses,
        "CanApplyToLiabilities": expenses,
        "CanApplyToRevenue": revenue,
        "DisplayTaxRate": rate,
        "EffectiveRate": rate,
        "TaxComponents": [{"Name": "GST", "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}],
    }


def _profile(tenant_id: str, name: str, version: str, currency: str, country: str, short: str) -> dict[str, Any]:
    return {
        "OrganisationID": tenant_id,
        "APIKey": "",
        "Name": name,
        "LegalName": f"{name} Limited",
        "PaysTax": True,
        "Version": version,
        "OrganisationType": "COMPANY",
        "BaseCurrency": currency,
        "CountryCode": country,
        "IsDemoCompany": True,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "INVOICE",
        "SalesTaxPeriod": "TWOMONTHS",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Inclusive",
        "ShortCode": short,
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "Timezone": "NEWZEALANDSTANDARDTIME" if country == "NZ" else "AUSEASTERNSTANDARDTIME",
        "OrganisationEntityType": "COMPANY",
        "CreatedDateUTC": UPDATED,
    }


def nz_organisation() -> Organisation:
    accounts = [
        _account(
            "090",
            "Business Bank Account",
            "BANK",
            "ASSET",
            "NONE",
            BankAccountNumber="12-3456-7890123-00",
            BankAccountType="BANK",
            CurrencyCode="NZD",
            EnablePaymentsToAccount=False,
        ),
        _account(
            "091",
            "Business Savings Account",
            "BANK",
            "ASSET",
            "NONE",
            BankAccountNumber="12-3456-7890123-01",
            BankAccountType="BANK",
            CurrencyCode="NZD",
        ),
        _account("200", "Sales", "REVENUE", "REVENUE", "OUTPUT2"),
        _account("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT2"),
        _account("270", "Interest Income", "REVENUE", "REVENUE", "NONE"),
        _account("299", "Old Sales (archived)", "REVENUE", "REVENUE", "OUTPUT2", Status="ARCHIVED"),
        _account("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT2"),
        _account("610", "Accounts Receivable", "CURRENT", "ASSET", "NONE", SystemAccount="DEBTORS"),
        _account("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "NONE", SystemAccount="CREDITORS"),
        _account("855", "Card Payments Clearing", "CURRLIAB", "LIABILITY", "NONE", EnablePaymentsToAccount=True),
        _account("877", "Online Payments Clearing", "CURRENT", "ASSET", "NONE", EnablePaymentsToAccount=True),
        _account(
            "878",
            "Old Clearing (archived)",
            "CURRENT",
            "ASSET",
            "NONE",
            EnablePaymentsToAccount=True,
            Status="ARCHIVED",
        ),
        _account("880", "Owner A Drawings", "EQUITY", "EQUITY", "NONE"),
    ]
    tax_rates = [
        _tax("15% GST on Income", "OUTPUT2", 15.0, revenue=True, expenses=False),
        _tax("15% GST on Expenses", "INPUT2", 15.0, revenue=False, expenses=True),
        _tax("No GST", "NONE", 0.0, revenue=True, expenses=True),
        _tax("Zero Rated", "ZERORATED", 0.0, revenue=True, expenses=True),
        _tax("GST on Imports", "GSTONIMPORTS", 0.0, revenue=False, expenses=True),
        _tax("9% Reduced Rate", "TAX001", 9.0, revenue=True, expenses=True),
        _tax("12.5% GST (before 2010)", "OUTPUT", 12.5, revenue=True, expenses=False, status="ARCHIVED"),
    ]
    return Organisation(
        tenant_id=NZ_TENANT,
        name="Demo Company (NZ)",
        profile=_profile(NZ_TENANT, "Demo Company (NZ)", "NZ", "NZD", "NZ", "!nz01"),
        accounts=accounts,
        tax_rates=tax_rates,
        currencies=["AUD", "USD", "JPY"],
        items=nz_items(),
        archived_items={i["ItemID"] for i in nz_items() if i["Code"] == ARCHIVED_ITEM},
        tracking_categories=nz_tracking_categories(),
    )


ARCHIVED_ITEM = "XMAS-HAMPER-2025"


def nz_items() -> list[dict[str, Any]]:
    """Products and services: sold ones with a sales account and price (one with a 30-character code, the
    most Xero takes), one without a sales account, one only purchased, one archived."""
    return [
        item(
            "SOURDOUGH-LOAF",
            "Sourdough loaf",
            Description="Sourdough loaf, 800 g",
            sales={"UnitPrice": 7.9, "AccountCode": "200", "TaxType": "OUTPUT2"},
        ),
        item("CONSULT-HOUR", "Baking consultancy (hour)", sales={"UnitPrice": 150.0, "AccountCode": "260"}),
        item(
            "WHOLESALE-CROISSANTS-BOX-OF-12",
            "Croissants, box of 12 (wholesale)",
            sales={"UnitPrice": 30.0, "AccountCode": "200", "TaxType": "OUTPUT2"},
        ),
        item("GIFT-WRAP", "Gift wrapping", sales={"UnitPrice": 2.0}),
        item(
            "FLOUR-25KG",
            "Flour, 25 kg sack",
            PurchaseDetails={"UnitPrice": 42.0, "AccountCode": "400", "TaxType": "INPUT2"},
        ),
        item(ARCHIVED_ITEM, "Christmas hamper 2025", sales={"UnitPrice": 65.0, "AccountCode": "200"}),
    ]


def nz_tracking_categories() -> list[dict[str, Any]]:
    """Two active categories (Xero's most), one with an archived option, and an archived category."""
    return [
        category("Region", {"North": "ACTIVE", "South": "ACTIVE", "West Coast": ARCHIVED}),
        category("Department", {"Retail": "ACTIVE", "Wholesale": "ACTIVE"}),
        category("Events 2025", {"Night Market": "ACTIVE"}, status=ARCHIVED),
    ]


def au_organisation() -> Organisation:
    accounts = [
        _account(
            "090",
            "Business Cheque Account",
            "BANK",
            "ASSET",
            "BASEXCLUDED",
            BankAccountNumber="062000123456",
            BankAccountType="BANK",
            CurrencyCode="AUD",
        ),
        _account("200", "Sales", "REVENUE", "REVENUE", "OUTPUT"),
        _account("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT"),
        _account("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT"),
        _account("610", "Accounts Receivable", "CURRENT", "ASSET", "BASEXCLUDED", SystemAccount="DEBTORS"),
        _account("880", "Owner A Drawings", "EQUITY", "EQUITY", "BASEXCLUDED"),
    ]
    tax_rates = [
        _tax("GST on Income", "OUTPUT", 10.0, revenue=True, expenses=False),
        _tax("GST on Expenses", "INPUT", 10.0, revenue=False, expenses=True),
        _tax("GST Free Income", "EXEMPTOUTPUT", 0.0, revenue=True, expenses=False),
        _tax("BAS Excluded", "BASEXCLUDED", 0.0, revenue=True, expenses=True),
    ]
    return Organisation(
        tenant_id=AU_TENANT,
        name="Sandbox Trading (AU)",
        profile=_profile(AU_TENANT, "Sandbox Trading (AU)", "AU", "AUD", "AU", "!au02"),
        accounts=accounts,
        tax_rates=tax_rates,
    )


def seeded_state(state: SandboxState | None = None) -> SandboxState:
    state = state or SandboxState()
    with state.lock:
        state.add_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        state.add_user(SANDBOX_USER_EMAIL, user_id="d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6")
        for org in (nz_organisation(), au_organisation()):
            state.organisations[org.tenant_id] = org
            state.limiter.set_tier(org.tenant_id, STANDARD)  # 5,000 calls a day
    return state
