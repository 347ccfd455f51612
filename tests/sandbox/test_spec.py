"""Request bodies are checked against Xero's own OpenAPI file, strictly, and violations are kept."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local.xero_sandbox import SandboxServer
from local.xero_sandbox.spec import SERVED_OPERATIONS, SpecChecker, SpecMissing, _validators, load_spec, spec_dir
from tests.conftest import assert_no_spec_violations
from tests.sandbox.conftest import Api, contact, create_contact, invoice, line


def spec_example(method: str, path: str) -> Any:
    operation = load_spec()["paths"][path][method.lower()]
    return operation["requestBody"]["content"]["application/json"]["example"]


@pytest.mark.parametrize(("method", "path"), SERVED_OPERATIONS)
def test_the_specs_own_request_examples_pass(method: str, path: str):
    assert SpecChecker().check(method, path, spec_example(method, path)) == []


def test_the_bodies_these_tests_send_pass(xero: Api):
    customer = create_contact(xero, "Conforming", Addresses=[{"AddressType": "STREET", "City": "Auckland"}])
    body = {"Invoices": [invoice(customer, LineItems=[line("9.99", 3, DiscountRate=Decimal(5))])]}

    assert SpecChecker().check("PUT", "/Invoices", json.loads(json.dumps(body, default=float))) == []


def test_decimals_are_json_numbers_to_the_checker_and_strings_are_not(sandbox_app):
    exact = {"Invoices": [invoice("c1", LineItems=[line("100000000000000.01", 1, DiscountAmount=Decimal("0.01"))])]}
    as_text = {"Invoices": [invoice("c1", LineItems=[line("1", 1) | {"UnitAmount": "10.00"}])]}

    assert SpecChecker().check("PUT", "/Invoices", exact) == []
    assert SpecChecker().check("PUT", "/Invoices", as_text)[0]["message"] == "'10.00' is not of type 'number'"


@pytest.mark.parametrize(
    ("element", "where", "says"),
    [
        ({"Name": "Typo", "EmailAdress": "a@b.test"}, "Contacts/0", "EmailAdress"),
        ({"Name": 42}, "Contacts/0/Name", "not of type 'string'"),
        ({"Name": "Bad Enum", "ContactStatus": "DORMANT"}, "Contacts/0/ContactStatus", "not one of the allowed"),
        ({"Name": "Deep", "Phones": [{"PhoneType": "MOBILE", "Extension": "9"}]}, "Contacts/0/Phones/0", "Extension"),
    ],
)
def test_unknown_field_wrong_type_and_bad_enum_are_refused_and_recorded(
    sandbox_app, xero: Api, element: dict[str, Any], where: str, says: str
):
    answer = xero.put("Contacts", {"Contacts": [element]})

    assert answer.status == 400
    assert answer.body["Type"] == "PostDataInvalidException"
    assert where in answer.body["Message"]
    assert says in answer.body["Message"]
    assert xero.get("Contacts").items("Contacts") == []
    recorded = sandbox_app.flask.test_client().get("/_sandbox/spec-violations").get_json()
    assert recorded["strict"] is True
    assert recorded["violations"][0]["method"] == "PUT"
    assert recorded["violations"][0]["path"] == "/api.xro/2.0/Contacts"
    assert recorded["violations"][0]["errors"][0]["path"] == where
    assert len(sandbox_app.spec.take()) == 1


def test_invoice_line_violations_name_the_line(sandbox_app, xero: Api):
    customer = create_contact(xero, "Lines")
    body = {"Invoices": [invoice(customer, LineItems=[line(), line() | {"Quantity": "two"}])]}

    answer = xero.put("Invoices", body)

    assert answer.status == 400
    assert "Invoices/0/LineItems/1/Quantity" in answer.body["Message"]
    assert sandbox_app.spec.take()


def test_lenient_mode_records_but_lets_xeros_own_rules_answer(sandbox_app, xero: Api):
    control = sandbox_app.flask.test_client()
    assert control.post("/_sandbox/spec", json={"strict": False}).get_json() == {"strict": False}

    answer = xero.put("Contacts", {"Contacts": [contact("Lenient", Nickname="Len")]})

    assert answer.status == 200
    assert control.get("/_sandbox/spec-violations").get_json()["violations"][0]["errors"][0]["path"] == "Contacts/0"
    assert control.delete("/_sandbox/spec-violations").get_json() == {"cleared": 1}
    assert sandbox_app.spec.take() == []


def test_a_body_that_is_not_json_is_refused(xero: Api):
    answer = xero._send(
        "PUT",
        "/api.xro/2.0/Contacts",
        {"Authorization": f"Bearer {xero.token}", "xero-tenant-id": xero.tenant_id},
        {},
        b"{not json",
    )

    assert answer.status == 400
    assert answer.body["Type"] == "PostDataInvalidException"


def test_payment_posts_take_the_single_form_the_schema_declares_or_the_array_its_example_sends():
    checker = SpecChecker()
    single = {"Invoice": {"InvoiceID": "00000000-0000-0000-0000-000000000000"}, "Account": {"Code": "090"}, "Amount": 1}

    assert checker.check("POST", "/Payments", single) == []
    assert checker.check("POST", "/Payments", {"Payments": [single]}) == []
    assert checker.check("POST", "/Payments/{PaymentID}", {"Status": "DELETED"}) == []
    wrapped = checker.check("POST", "/Payments", {"Payments": [single | {"Amout": 1}]})
    assert [e["path"] for e in wrapped] == ["Payments/0"]


def test_the_fast_check_agrees_with_jsonschema():
    bodies: list[Any] = [
        spec_example("PUT", "/Invoices"),
        {"Invoices": [{"Type": "ACCREC", "LineItems": [{"Quantity": 1.5, "UnitAmount": 2}]}]},
        {"Invoices": [{"Type": "ACCREC", "LineItems": [{"Quantity": True}]}]},
        {"Invoices": [{"Type": "NOPE"}]},
        {"Invoices": [{"InvoiceNumber": "x" * 256}]},
        {"Invoices": [{"Contact": {"Name": "A", "Addresses": [{"AddressType": "STREET", "Bogus": 1}]}}]},
        {"Invoices": "not an array"},
        {"Invoices": [{"Status": None}]},
        {"Contacts": [{"PaymentTerms": {"Bills": {"Day": 15.0, "Type": "OFCURRENTMONTH"}}}]},
        {"Contacts": [{"PaymentTerms": {"Bills": {"Day": "15"}}}]},
    ]
    validators = _validators(str(SpecChecker().path))
    for body in bodies:
        for key in (("PUT", "/Invoices"), ("PUT", "/Contacts")):
            for validator in validators[key]:
                assert validator.fast is not None
                assert validator.fast(body) == validator.jsonschema.is_valid(body), (key, body)


def test_a_missing_spec_fails_loudly(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("XERO_OPENAPI_DIR", str(tmp_path))

    with pytest.raises(SpecMissing, match=r"xero_accounting\.yaml"):
        SpecChecker()


def test_the_spec_directory_can_be_named_by_the_environment(monkeypatch):
    real = spec_dir()
    monkeypatch.setenv("XERO_OPENAPI_DIR", str(real))

    assert SpecChecker().path == real / "xero_accounting.yaml"


def test_a_test_that_leaves_violations_fails():
    with SandboxServer() as server:
        server.sandbox.spec.record("PUT", "/api.xro/2.0/Contacts", None, [{"path": "Contacts/0", "message": "x"}], 0)

        with pytest.raises(pytest.fail.Exception, match="Contacts/0"):
            assert_no_spec_violations(server)
        assert_no_spec_violations(server)  # taken: a second look finds none
