"""The push's Idempotency-Key: the same request gets the same key, any difference a new one."""

from __future__ import annotations

from shared.domain.xero_session import idempotency_key

BODY = {"Contacts": [{"Name": "Customer 3", "ContactNumber": "cus-3"}]}


def key(**changes: object) -> str:
    args: dict[str, object] = {
        "account_id": "acct-a",
        "tenant_id": "tenant-1",
        "method": "PUT",
        "resource": "Contacts",
        "identities": ["contact:cus-3"],
        "body": BODY,
    } | changes
    return idempotency_key(**args)  # type: ignore[arg-type]


def test_the_same_request_has_the_same_key_and_it_fits_xero():
    assert key() == key(body={"Contacts": [{"ContactNumber": "cus-3", "Name": "Customer 3"}]})
    assert key().startswith("push-")
    assert len(key()) <= 128


def test_two_accounts_sending_the_same_body_to_one_organisation_get_different_keys():
    # Platform ids are the account's own: the second account must not be answered the first one's reply.
    assert key(account_id="acct-a") != key(account_id="acct-b")


def test_every_part_of_the_request_changes_the_key():
    variants = [
        key(tenant_id="tenant-2"),
        key(method="POST"),
        key(resource="Invoices"),
        key(identities=["contact:cus-4"]),
        key(body={"Contacts": [{"Name": "Customer 3 (2)", "ContactNumber": "cus-3"}]}),
    ]
    assert len({key(), *variants}) == len(variants) + 1
