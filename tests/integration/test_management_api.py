"""The management API, route by route, through the local HTTP API (template routes, IAM gate), the real
handler, moto over loopback HTTP and the Xero sandbox over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest

from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.seed import AU_TENANT, NZ_TENANT, SANDBOX_USER_EMAIL
from shared import wiring
from shared.adapters.dynamo import to_attr
from shared.models.connection import ConnectionStatus
from shared.models.settings import AccountSettings
from tests.support import flows
from tests.support.api import ManagementApi

ACCOUNTS_CALL = "GET /api.xro/2.0/Accounts"
TAX_RATES_CALL = "GET /api.xro/2.0/TaxRates"


def connect(service_env, sandbox, account_id: str, tenants: list[str] | None = None) -> None:
    sandbox.sandbox.state.consent.tenant_ids = tenants
    result = flows.connect_account(service_env, account_id)
    assert result.callback is not None
    assert result.callback["statusCode"] == 200


@pytest.fixture
def api() -> ManagementApi:
    return ManagementApi()


@pytest.fixture
def nz(service_env, sandbox) -> str:
    """An account connected to the NZ organisation only (so it is chosen at callback)."""
    connect(service_env, sandbox, "acct_nz", [NZ_TENANT])
    return "/v1/accounts/acct_nz"


def xero_calls(sandbox, key: str) -> int:
    return int(sandbox.sandbox.state.stats[key])


# --- auth and the document ---------------------------------------------------------------------


def test_unsigned_requests_are_refused_by_the_gateway_before_the_function_runs():
    unsigned = ManagementApi(signed=False)

    answer = unsigned.get("/v1/accounts/acct_nz/connection")
    document = unsigned.get("/v1/openapi.json")

    assert answer.status == 403
    assert document.status == 403
    assert answer.body == {"message": "Forbidden"}


def test_openapi_document_is_served_lists_every_route_and_is_valid(api):
    from openapi_spec_validator import validate

    answer = api.get("/v1/openapi.json")

    assert answer.status == 200
    validate(answer.body)
    account = "/v1/accounts/{account_id}"
    routes = {(m.upper(), p) for p, ops in answer.body["paths"].items() for m in ops}
    assert routes == {
        ("GET", f"{account}/connection"),
        ("GET", f"{account}/organisations"),
        ("PUT", f"{account}/organisation"),
        ("GET", f"{account}/payment-accounts"),
        ("PUT", f"{account}/payment-account"),
        ("GET", f"{account}/tax-rates"),
        ("GET", f"{account}/tax-mappings"),
        ("PUT", f"{account}/tax-mappings"),
        ("PUT", f"{account}/tax-mappings/{{platform_tax_id}}"),
        ("DELETE", f"{account}/tax-mappings/{{platform_tax_id}}"),
        ("GET", f"{account}/items"),
        ("GET", f"{account}/product-mappings"),
        ("PUT", f"{account}/product-mappings"),
        ("PUT", f"{account}/product-mappings/{{product_id}}"),
        ("DELETE", f"{account}/product-mappings/{{product_id}}"),
        ("GET", f"{account}/tracking-categories"),
        ("GET", f"{account}/tracking-mappings"),
        ("PUT", f"{account}/tracking-mappings"),
        ("PUT", f"{account}/tracking-mappings/{{dimension}}"),
        ("DELETE", f"{account}/tracking-mappings/{{dimension}}"),
        ("GET", f"{account}/settings"),
        ("PATCH", f"{account}/settings"),
        ("POST", f"{account}/disconnect"),
        ("GET", f"{account}/invoices/{{invoice_id}}/sync"),
        ("GET", f"{account}/credit-notes/{{credit_note_id}}/sync"),
        ("GET", f"{account}/sync-failures"),
        ("GET", f"{account}/backfill"),
        ("POST", f"{account}/invoices/{{invoice_id}}/retry"),
        ("GET", f"{account}/reconciliation"),
        ("POST", f"{account}/reconciliation"),
        ("POST", f"{account}/reconciliation/differences/{{invoice_id}}/accept"),
        ("POST", f"{account}/reconciliation/differences/{{invoice_id}}/resend"),
    }
    assert answer.body["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_an_unknown_route_answers_a_not_found_error_body(api):
    answer = api.get("/v1/nothing/here")

    assert answer.status == 404
    assert answer.code == "not_found"


# --- connection and organisations --------------------------------------------------------------


def test_connection_status_shows_organisation_scopes_email_and_sweep_dates(service_env, api, nz):
    answer = api.get(f"{nz}/connection")

    assert answer.status == 200
    body = answer.body
    assert body["status"] == "connected"
    assert body["organisation"]["tenant_id"] == NZ_TENANT
    assert body["organisation"]["name"] == "Demo Company (NZ)"
    assert [o["tenant_id"] for o in body["organisations"]] == [NZ_TENANT]
    assert "accounting.settings" in body["scopes"]
    assert body["connected_email"] == SANDBOX_USER_EMAIL
    last = datetime.fromisoformat(body["last_activity_at"]).astimezone(UTC).date()
    assert date.fromisoformat(body["disconnect_on"]) == last + timedelta(days=60)
    assert date.fromisoformat(body["warn_on"]) == last + timedelta(days=53)
    assert "token" not in answer.body
    assert "access_token_ct" not in str(answer.body)


def test_an_account_that_never_connected_is_not_connected_and_unknown_everywhere_else(service_env, api):
    status = api.get("/v1/accounts/acct_never/connection")

    assert status.status == 200
    assert status.body["status"] == "not_connected"
    assert status.body["disconnect_on"] is None
    base = "/v1/accounts/acct_never"
    for answer in (
        api.get(f"{base}/organisations"),
        api.get(f"{base}/settings"),
        api.get(f"{base}/tax-mappings"),
        api.get(f"{base}/payment-accounts"),
        api.put(f"{base}/organisation", {"tenant_id": NZ_TENANT}),
        api.patch(f"{base}/settings", {"alert_recipients": []}),
        api.delete(f"{base}/tax-mappings/gst"),
        api.post(f"{base}/disconnect"),
    ):
        assert answer.status == 404, answer.body
        assert answer.code == "unknown_account"
        assert answer.body["error"]["message"]


def test_several_organisations_one_must_be_chosen_and_only_a_granted_one(service_env, sandbox, api):
    connect(service_env, sandbox, "acct_two")  # the sandbox grants both organisations
    base = "/v1/accounts/acct_two"

    listed = api.get(f"{base}/organisations")
    not_chosen = api.get(f"{base}/payment-accounts")
    refused = api.put(f"{base}/organisation", {"tenant_id": "00000000-0000-0000-0000-000000000000"})
    chosen = api.put(f"{base}/organisation", {"tenant_id": AU_TENANT})
    accounts = api.get(f"{base}/payment-accounts")

    assert listed.status == 200
    assert listed.body["chosen_tenant_id"] is None
    assert {o["tenant_id"] for o in listed.body["organisations"]} == {NZ_TENANT, AU_TENANT}
    assert not_chosen.status == 409
    assert not_chosen.code == "organisation_not_chosen"
    assert refused.status == 422
    assert refused.code == "tenant_not_granted"
    assert chosen.status == 200
    assert chosen.body["organisation"] == {
        "tenant_id": AU_TENANT,
        "name": "Sandbox Trading (AU)",
        "tenant_type": "ORGANISATION",
        "chosen": True,
    }
    assert api.get(f"{base}/connection").body["organisation"]["tenant_id"] == AU_TENANT
    assert [a["name"] for a in accounts.body["accounts"]] == ["Business Cheque Account"]


def test_choosing_another_organisation_clears_the_settings_checked_against_the_first(service_env, sandbox, api):
    connect(service_env, sandbox, "acct_switch")
    base = "/v1/accounts/acct_switch"
    assert api.put(f"{base}/organisation", {"tenant_id": NZ_TENANT}).status == 200
    assert api.put(f"{base}/payment-account", {"code": "877"}).status == 200
    assert api.put(f"{base}/tax-mappings/gst", {"tax_type": "OUTPUT2"}).status == 200
    assert api.patch(f"{base}/settings", {"alert_recipients": ["books@example.com"]}).status == 200

    same = api.put(f"{base}/organisation", {"tenant_id": NZ_TENANT})
    switched = api.put(f"{base}/organisation", {"tenant_id": AU_TENANT})
    settings = api.get(f"{base}/settings").body

    assert same.body["cleared_settings"] == []
    assert switched.body["cleared_settings"] == ["payment_account", "tax_mappings"]
    assert settings["tenant_id"] == AU_TENANT
    assert settings["payment_account"] is None
    assert settings["tax_mapping_count"] == 0
    assert settings["alert_recipients"] == ["books@example.com"], "recipients are not organisation settings"


# --- payment account ---------------------------------------------------------------------------


def test_when_no_account_takes_payments_the_answer_says_how_to_enable_them(service_env, sandbox, api):
    org = sandbox.sandbox.state.organisations[AU_TENANT]
    org.accounts = [a for a in org.accounts if a["Type"] != "BANK"]
    connect(service_env, sandbox, "acct_au", [AU_TENANT])

    answer = api.get("/v1/accounts/acct_au/payment-accounts")

    assert answer.status == 200
    assert answer.body["accounts"] == []
    assert "Chart of accounts" in answer.body["help"]
    assert "Enable payments to this account" in answer.body["help"]


def test_payment_accounts_offered_then_chosen_by_code_or_id_with_each_refusal(service_env, api, nz):
    answer = api.get(f"{nz}/payment-accounts")

    assert answer.status == 200
    assert [(a["code"], a["type"]) for a in answer.body["accounts"]] == [
        ("090", "BANK"),
        ("091", "BANK"),
        ("855", "CURRLIAB"),
        ("877", "CURRENT"),
    ]
    assert answer.body["chosen_account_id"] is None
    assert "Enable payments to this account" in answer.body["help"]
    listed = answer.body["accounts"]
    by_id = api.put(f"{nz}/payment-account", {"account_id": listed[0]["xero_account_id"]})
    by_code = api.put(f"{nz}/payment-account", {"code": "877"})
    missing = api.put(f"{nz}/payment-account", {"code": "999"})
    archived = api.put(f"{nz}/payment-account", {"code": "878"})
    not_enabled = api.put(f"{nz}/payment-account", {"code": "200"})

    assert by_id.status == 200
    assert by_id.body["payment_account"]["code"] == "090"
    assert by_code.status == 200
    assert by_code.body["payment_account"] == {
        "xero_account_id": next(a["xero_account_id"] for a in listed if a["code"] == "877"),
        "code": "877",
        "name": "Online Payments Clearing",
        "type": "CURRENT",
    }
    assert (missing.status, missing.code) == (422, "payment_account_not_found")
    assert (archived.status, archived.code) == (422, "payment_account_archived")
    assert "Old Clearing (archived)" in archived.body["error"]["message"]
    assert (not_enabled.status, not_enabled.code) == (422, "payment_account_not_enabled")
    assert "Enable payments to this account" in not_enabled.body["error"]["message"]
    assert (
        api.get(f"{nz}/payment-accounts").body["chosen_account_id"]
        == by_code.body["payment_account"]["xero_account_id"]
    )
    assert api.get(f"{nz}/settings").body["payment_account"]["code"] == "877", "refusals changed nothing"


def test_reads_are_cached_per_organisation_and_choices_are_checked_against_fresh_data(service_env, sandbox, api, nz):
    first = api.get(f"{nz}/payment-accounts")
    second = api.get(f"{nz}/payment-accounts")
    assert first.body == second.body
    assert xero_calls(sandbox, ACCOUNTS_CALL) == 1, "the second read came from the cache"
    item = boto3.client("dynamodb").get_item(
        TableName=service_env["TABLE_NAME"], Key={"pk": to_attr(f"TENANT#{NZ_TENANT}"), "sk": to_attr("CACHE#accounts")}
    )["Item"]
    assert 0 < int(item["expires_at"]["N"]) - datetime.now(UTC).timestamp() <= 300
    assert int(item["ttl"]["N"]) > int(item["expires_at"]["N"])

    # The owner turns payments off on 877 in Xero; the cached list still offers it for a while...
    account = next(a for a in sandbox.sandbox.state.organisations[NZ_TENANT].accounts if a["Code"] == "877")
    account["EnablePaymentsToAccount"] = False
    assert "877" in [a["code"] for a in api.get(f"{nz}/payment-accounts").body["accounts"]]
    # ...but choosing it reads Xero afresh, and a refresh shows the truth.
    refused = api.put(f"{nz}/payment-account", {"code": "877"})
    refreshed = api.get(f"{nz}/payment-accounts", query="refresh=true")

    assert refused.code == "payment_account_not_enabled"
    assert "877" not in [a["code"] for a in refreshed.body["accounts"]]
    assert xero_calls(sandbox, ACCOUNTS_CALL) == 3


# --- tax ---------------------------------------------------------------------------------------


def test_tax_rates_offered_and_mappings_replaced_listed_set_and_deleted(service_env, sandbox, api, nz):
    rates = api.get(f"{nz}/tax-rates")

    assert rates.status == 200
    assert [(r["tax_type"], r["name"], r["effective_rate"]) for r in rates.body["tax_rates"]] == [
        ("OUTPUT2", "15% GST on Income", 15.0),
        ("NONE", "No GST", 0.0),
        ("ZERORATED", "Zero Rated", 0.0),
        ("TAX001", "9% Reduced Rate", 9.0),
    ]

    replaced = api.put(
        f"{nz}/tax-mappings",
        {
            "mappings": [
                {"platform_tax_id": "gst", "tax_type": "OUTPUT2"},
                {"platform_tax_id": "zero", "tax_type": "ZERORATED"},
            ],
            "default_tax_type": "NONE",
        },
    )
    added = api.put(f"{nz}/tax-mappings/reduced%2F9", {"tax_type": "TAX001"})
    changed = api.put(f"{nz}/tax-mappings/zero", {"tax_type": "NONE"})
    deleted = api.delete(f"{nz}/tax-mappings/gst")
    listed = api.get(f"{nz}/tax-mappings")

    assert replaced.status == 200
    assert replaced.body["mappings"][0] == {
        "platform_tax_id": "gst",
        "tax_type": "OUTPUT2",
        "tax_name": "15% GST on Income",
        "effective_rate": 15.0,
    }
    assert replaced.body["default_tax_type"] == "NONE"
    assert added.status == 200
    assert added.body["platform_tax_id"] == "reduced/9", "platform ids are URL-decoded"
    assert changed.body["tax_name"] == "No GST"
    assert deleted.status == 200
    assert listed.body == {
        "account_id": "acct_nz",
        "default_tax_type": "NONE",
        "mappings": [
            {
                "platform_tax_id": "reduced/9",
                "tax_type": "TAX001",
                "tax_name": "9% Reduced Rate",
                "effective_rate": 9.0,
            },
            {"platform_tax_id": "zero", "tax_type": "NONE", "tax_name": "No GST", "effective_rate": 0.0},
        ],
    }
    stored = wiring.account_settings().get("acct_nz")
    assert set(stored.tax_mappings) == {"reduced/9", "zero"}
    assert xero_calls(sandbox, TAX_RATES_CALL) == 4, "the list was read once, every write checked Xero afresh"
    assert all(key.split()[0] == "GET" for key in sandbox.sandbox.state.stats if "TaxRates" in key), (
        "tax rates are never created in Xero"
    )


# Ids as the platform has them; each is sent percent-encoded once, as any HTTP client encodes a path
# segment. API Gateway decodes the path once; the id must then be stored exactly as the platform has it.
PLATFORM_TAX_IDS = [
    "gst%15",  # a literal percent: was decoded a second time and stored as "gst\x15"
    "100%",
    "reduced/9",  # a slash: a Powertools path segment cannot match it once API Gateway decoded "%2F"
    "a/b/c",
    "zero rated",
    " gst ",
    "tva-r\u00e9duite",
    "\u20ac-standard",  # a non-word character
    "\u65e5\u672c-\u6d88\u8cbb\u7a0e",
    "gst#15+3&x=y",
    "%2F%25",  # looks encoded, is not
]


@pytest.mark.parametrize("tax_id", PLATFORM_TAX_IDS)
def test_a_platform_tax_id_in_the_path_is_stored_exactly_as_the_platform_has_it(service_env, api, nz, tax_id):
    path = f"{nz}/tax-mappings/{quote(tax_id, safe='')}"

    put = api.put(path, {"tax_type": "OUTPUT2"})
    listed = api.get(f"{nz}/tax-mappings")
    stored = set(wiring.account_settings().get("acct_nz").tax_mappings)
    deleted = api.delete(path)
    again = api.delete(path)

    assert (put.status, put.body["platform_tax_id"]) == (200, tax_id), put.body
    assert [m["platform_tax_id"] for m in listed.body["mappings"]] == [tax_id]
    assert stored == {tax_id}
    assert deleted.status == 200
    assert deleted.body["mappings"] == []
    assert (again.status, again.code) == (404, "unknown_tax_mapping")
    assert repr(tax_id) in again.body["error"]["message"]


def test_an_id_over_the_limit_is_refused_whatever_route_takes_it(service_env, api, nz):
    long_plain = api.put(f"{nz}/tax-mappings/{'x' * 129}", {"tax_type": "OUTPUT2"})
    long_slashed = api.put(f"{nz}/tax-mappings/{quote('x/' * 65, safe='')}", {"tax_type": "OUTPUT2"})

    assert (long_plain.status, long_plain.code) == (422, "invalid_request")
    assert (long_slashed.status, long_slashed.code) == (422, "invalid_request")
    assert wiring.account_settings().get("acct_nz").tax_mappings == {}


def test_tax_mappings_to_unusable_tax_types_are_refused_in_xeros_words_and_nothing_is_written(service_env, api, nz):
    assert api.put(f"{nz}/tax-mappings/gst", {"tax_type": "OUTPUT2"}).status == 200

    unknown = api.put(f"{nz}/tax-mappings/vat", {"tax_type": "VAT20"})
    archived = api.put(f"{nz}/tax-mappings/old", {"tax_type": "OUTPUT"})
    expenses = api.put(f"{nz}/tax-mappings/in", {"tax_type": "INPUT2"})
    replace = api.put(
        f"{nz}/tax-mappings",
        {"mappings": [{"platform_tax_id": "a", "tax_type": "NONE"}, {"platform_tax_id": "b", "tax_type": "INPUT2"}]},
    )
    bad_default = api.put(f"{nz}/tax-mappings", {"mappings": [], "default_tax_type": "GSTONIMPORTS"})
    no_such = api.delete(f"{nz}/tax-mappings/never-mapped")

    assert (unknown.status, unknown.code) == (422, "unknown_tax_type")
    assert "VAT20" in unknown.body["error"]["message"]
    assert (archived.status, archived.code) == (422, "tax_type_archived")
    assert "12.5% GST (before 2010)" in archived.body["error"]["message"]
    assert (expenses.status, expenses.code) == (422, "tax_type_not_revenue")
    assert "15% GST on Expenses" in expenses.body["error"]["message"]
    assert (replace.status, replace.code) == (422, "tax_type_not_revenue")
    assert (bad_default.status, bad_default.code) == (422, "tax_type_not_revenue")
    assert (no_such.status, no_such.code) == (404, "unknown_tax_mapping")
    stored = wiring.account_settings().get("acct_nz")
    assert list(stored.tax_mappings) == ["gst"], "no refused request wrote anything"
    assert stored.version == 1


# --- settings ----------------------------------------------------------------------------------


def test_settings_default_recipient_is_the_connecting_user_and_patches_are_checked(service_env, api, nz):
    initial = api.get(f"{nz}/settings")
    patched = api.patch(f"{nz}/settings", {"sales_account_code": "200", "alert_recipients": ["Books@Example.com"]})
    default_tax = api.patch(f"{nz}/settings", {"default_tax_type": "ZERORATED"})
    reset = api.patch(f"{nz}/settings", {"alert_recipients": []})

    assert initial.status == 200
    assert initial.body["alert_recipients"] == []
    assert initial.body["effective_alert_recipients"] == [SANDBOX_USER_EMAIL]
    assert patched.status == 200
    assert patched.body["sales_account_code"] == "200"
    assert patched.body["effective_alert_recipients"] == ["Books@Example.com"]
    assert default_tax.body["default_tax_type"] == "ZERORATED"
    assert default_tax.body["sales_account_code"] == "200", "a patch changes only what it names"
    assert reset.body["alert_recipients"] == []
    assert reset.body["effective_alert_recipients"] == [SANDBOX_USER_EMAIL]
    assert reset.body["version"] == 3


def test_sales_account_codes_xero_would_refuse_are_refused_and_nothing_of_the_patch_is_written(service_env, api, nz):
    refusals = {
        "999": ("unknown_account_code", "999"),
        "299": ("account_archived", "Old Sales (archived)"),
        "090": ("account_not_for_sales", "Business Bank Account"),
        "610": ("account_not_for_sales", "Accounts Receivable"),
    }

    for code, (refusal, named) in refusals.items():
        answer = api.patch(f"{nz}/settings", {"sales_account_code": code, "alert_recipients": ["x@example.com"]})

        assert (answer.status, answer.code) == (422, refusal)
        assert named in answer.body["error"]["message"]
    assert wiring.account_settings().get("acct_nz").version == 0


def test_malformed_bodies_are_invalid_requests_with_a_summary(service_env, api, nz):
    cases = [
        api.call("PATCH", f"{nz}/settings", raw=b"{not json"),
        api.patch(f"{nz}/settings", {}),
        api.patch(f"{nz}/settings", {"alert_recipients": ["not an address"]}),
        api.patch(f"{nz}/settings", {"sales_acount_code": "200"}),
        api.put(f"{nz}/payment-account", {"account_id": "x", "code": "090"}),
        api.put(f"{nz}/organisation", {}),
        api.put(f"{nz}/tax-mappings", {"mappings": [{"platform_tax_id": "a", "tax_type": "NONE"}] * 2}),
        api.put(f"{nz}/tax-mappings/gst", {"tax_type": ""}),
        api.call("PUT", f"{nz}/organisation"),
        api.call("PUT", f"{nz}/organisation", raw=b"\x80"),  # labelled JSON, not UTF-8: arrives base64-encoded
    ]

    for answer in cases:
        assert answer.status == 422, answer.body
        assert answer.code == "invalid_request"
        assert answer.body["error"]["message"].startswith("The request is not valid")
        assert answer.body["error"]["details"]
    assert "alert_recipients.0" in cases[2].body["error"]["message"]
    assert "sales_acount_code" in cases[3].body["error"]["message"]
    assert "exactly one of account_id or code" in cases[4].body["error"]["message"]
    assert "not UTF-8" in cases[-1].body["error"]["message"]
    assert wiring.account_settings().get("acct_nz").version == 0


def test_a_settings_write_counts_as_activity(service_env, api, nz):
    table = service_env["TABLE_NAME"]
    key = {"pk": to_attr("ACCOUNT#acct_nz"), "sk": to_attr("CONNECTION")}
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET last_active_on = :old, last_activity_at = :old_at",
        ExpressionAttributeValues={":old": to_attr("2026-01-01"), ":old_at": to_attr("2026-01-01T00:00:00+00:00")},
    )
    before = api.get(f"{nz}/connection").body

    api.patch(f"{nz}/settings", {"alert_recipients": ["books@example.com"]})
    after = api.get(f"{nz}/connection").body

    assert before["disconnect_on"] == "2026-03-02"
    assert after["last_activity_at"] > before["last_activity_at"]
    assert after["disconnect_on"] > before["disconnect_on"]


def test_a_lost_optimistic_lock_is_a_settings_conflict_and_the_other_write_stands(service_env, api, nz, monkeypatch):
    repository = wiring.account_settings()
    real_get = repository.get

    def read_then_someone_else_writes(account_id: str) -> AccountSettings:
        seen = real_get(account_id)
        other = seen.model_copy(update={"alert_recipients": ("other@example.com",)})
        repository.save(other, now=datetime.now(UTC))
        return seen

    monkeypatch.setattr(repository, "get", read_then_someone_else_writes)
    answer = api.patch(f"{nz}/settings", {"alert_recipients": ["mine@example.com"]})
    monkeypatch.setattr(repository, "get", real_get)

    assert (answer.status, answer.code) == (409, "settings_conflict")
    assert repository.get("acct_nz").alert_recipients == ("other@example.com",)


# --- connection state and Xero failures --------------------------------------------------------


def test_disconnect_revokes_at_xero_keeps_settings_and_later_writes_need_a_reconnect(service_env, sandbox, api, nz):
    assert api.put(f"{nz}/tax-mappings/gst", {"tax_type": "OUTPUT2"}).status == 200

    answer = api.post(f"{nz}/disconnect")
    again = api.post(f"{nz}/disconnect")

    assert answer.status == 200
    assert answer.body == {
        "account_id": "acct_nz",
        "status": "disconnected",
        "was_connected": True,
        "revoked_at_xero": True,
        "problems": [],
    }
    assert all(g.revoked for g in sandbox.sandbox.state.grants.values())
    assert xero_calls(sandbox, "DELETE /connections") == 1
    assert again.status == 200
    assert again.body["was_connected"] is False
    status = api.get(f"{nz}/connection").body
    assert status["status"] == "disconnected"
    assert status["disconnect_on"] is None
    assert api.get(f"{nz}/tax-mappings").body["mappings"][0]["platform_tax_id"] == "gst", "settings are kept"
    recipients = api.patch(f"{nz}/settings", {"alert_recipients": ["books@example.com"]})
    assert recipients.status == 200, "settings that need no Xero check can change while disconnected"
    assert recipients.body["effective_alert_recipients"] == ["books@example.com"]
    for refused in (
        api.get(f"{nz}/payment-accounts"),
        api.put(f"{nz}/tax-mappings/vat", {"tax_type": "OUTPUT2"}),
        api.patch(f"{nz}/settings", {"sales_account_code": "200"}),
        api.put(f"{nz}/organisation", {"tenant_id": NZ_TENANT}),
    ):
        assert (refused.status, refused.code) == (409, "not_connected")
        assert "disconnected" in refused.body["error"]["message"]


def test_a_connection_that_needs_reconnecting_is_not_connected(service_env, api, nz):
    wiring.connections().mark_status(
        "acct_nz", ConnectionStatus.NEEDS_RECONNECT, reason="invalid_grant", now=datetime.now(UTC)
    )

    answer = api.get(f"{nz}/tax-rates")

    assert (answer.status, answer.code) == (409, "not_connected")
    assert "reconnected" in answer.body["error"]["message"]
    assert api.get(f"{nz}/connection").body["status"] == "needs_reconnect"


def test_xero_down_or_rate_limited_is_xero_unavailable_and_writes_nothing(service_env, sandbox, api, nz):
    faults = [
        (FaultRule(kind="offline", path="/api.xro/2.0/TaxRates"), None),
        (FaultRule(kind="status", status=429, path="/api.xro/2.0/TaxRates", retry_after=60), 60),
        # A 429 without Retry-After is Xero's concurrent limit: a moment's wait, not a minute's.
        (FaultRule(kind="status", status=429, path="/api.xro/2.0/TaxRates"), 1),
        (FaultRule(kind="status", status=500, path="/api.xro/2.0/TaxRates"), None),
    ]

    for fault, retry_after in faults:
        sandbox.sandbox.faults.set([fault])
        read = api.get(f"{nz}/tax-rates")
        write = api.put(f"{nz}/tax-mappings/gst", {"tax_type": "OUTPUT2"})

        for answer in (read, write):
            assert (answer.status, answer.code) == (503, "xero_unavailable"), fault
            assert answer.body["error"].get("retry_after") == retry_after
            assert answer.headers.get("retry-after") == (str(retry_after) if retry_after else None)
    assert wiring.account_settings().get("acct_nz").version == 0
    sandbox.sandbox.faults.set([])
    assert api.get(f"{nz}/tax-rates").status == 200, "and it recovers with Xero"


def test_token_and_secret_values_never_reach_answers_or_logs(service_env, sandbox, api, nz, log_lines):
    answers = [
        api.get(f"{nz}/connection"),
        api.get(f"{nz}/tax-rates"),
        api.patch(f"{nz}/settings", {"sales_account_code": "999"}),
    ]

    access = wiring.token_manager().access("acct_nz").access_token
    refresh = wiring.token_manager().refresh_token(wiring.connections().get("acct_nz"))
    for text in [str(a.body) for a in answers] + [log_lines.getvalue()]:
        assert access not in text
        assert refresh not in text


def test_an_access_token_xero_refuses_early_is_refreshed_once_and_the_read_goes_through(service_env, sandbox, api, nz):
    before = wiring.connections().get("acct_nz").token_version
    sandbox.sandbox.state.access_tokens.clear()  # Xero forgot our still-unexpired access token

    answer = api.get(f"{nz}/tax-rates")

    assert answer.status == 200
    assert wiring.connections().get("acct_nz").token_version == before + 1


def test_values_are_cleared_with_null_without_asking_xero_and_ids_over_the_limit_are_refused(
    service_env, sandbox, api, nz
):
    assert api.patch(f"{nz}/settings", {"sales_account_code": "200", "default_tax_type": "NONE"}).status == 200
    calls = xero_calls(sandbox, ACCOUNTS_CALL) + xero_calls(sandbox, TAX_RATES_CALL)

    cleared = api.patch(f"{nz}/settings", {"sales_account_code": None, "default_tax_type": None})
    too_long = api.put(f"{nz}/tax-mappings/{'x%20' * 65}", {"tax_type": "NONE"})

    assert cleared.status == 200
    assert cleared.body["sales_account_code"] is None
    assert cleared.body["default_tax_type"] is None
    assert xero_calls(sandbox, ACCOUNTS_CALL) + xero_calls(sandbox, TAX_RATES_CALL) == calls
    assert (too_long.status, too_long.code) == (422, "invalid_request")
