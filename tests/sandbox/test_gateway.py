"""Xero's front door: a URL past 2,091 characters is a 404, a write body past 3.5 MB a 413, before anything else."""

from __future__ import annotations

import uuid

import httpx

from local.xero_sandbox.gateway import MAX_BODY_BYTES, MAX_URL_LENGTH, NOT_FOUND_TEXT
from local.xero_sandbox.seed import NZ_TENANT
from tests.sandbox.conftest import ALL_SCOPES, Api

BASE = "http://localhost/api.xro/2.0/Contacts?padding="  # what the Flask test client sends


def test_a_url_of_2091_characters_is_answered_and_one_more_is_a_404(sandbox_app, xero: Api):
    fits = xero.get("Contacts", padding="a" * (MAX_URL_LENGTH - len(BASE)))
    too_long = xero.get("Contacts", padding="a" * (MAX_URL_LENGTH - len(BASE) + 1))
    after = xero.get("Contacts")

    assert MAX_URL_LENGTH == 2091
    assert fits.status == 200
    assert too_long.status == 404
    assert too_long.raw == NOT_FOUND_TEXT
    assert too_long.headers["Content-Type"].startswith("text/plain")
    assert "X-MinLimit-Remaining" not in too_long.headers  # refused before the API: no limit used
    assert after.headers["X-MinLimit-Remaining"] == "58"
    assert sandbox_app.state.organisations[NZ_TENANT].stats["refused: url too long"] == 1


def test_the_whole_url_counts_scheme_host_and_percent_encoding_over_http(sandbox, xero_http: Api):
    token = xero_http.token
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": NZ_TENANT}
    ids = [str(uuid.UUID(int=n)) for n in range(60)]

    def url(count: int) -> str:
        return f"{sandbox.url}/api.xro/2.0/Contacts?IDs=" + "%2C".join(ids[:count])  # commas encoded, as SDKs do

    fitting = max(n for n in range(60) if len(url(n)) <= MAX_URL_LENGTH)
    answered = httpx.get(url(fitting), headers=headers, timeout=5)
    refused = httpx.get(url(fitting + 1), headers=headers, timeout=5)

    assert fitting in (52, 53)  # at api.xero.com 52 fit and 53 do not (XeroAPI/xero-node#404)
    assert answered.status_code == 200
    assert refused.status_code == 404
    assert refused.text == NOT_FOUND_TEXT.decode()


def test_identity_routes_have_the_same_limit(sandbox_app, xero: Api):
    client = sandbox_app.flask.test_client()
    token = sandbox_app.state.grant_access(ALL_SCOPES)

    short = client.get("/connections", headers={"Authorization": f"Bearer {token}"})
    long = client.get(
        "/connections", query_string={"x": "a" * MAX_URL_LENGTH}, headers={"Authorization": f"Bearer {token}"}
    )

    assert short.status_code == 200
    assert long.status_code == 404


def _padded(body: bytes, size: int) -> bytes:
    return body + b" " * (size - len(body))  # JSON allows trailing whitespace


def test_a_write_body_over_3_5_mb_is_a_413_and_nothing_is_done(sandbox_app, xero: Api):
    token, send = xero.token, sandbox_app.flask.test_client()
    headers = {
        "Authorization": f"Bearer {token}",
        "xero-tenant-id": NZ_TENANT,
        "Content-Type": "application/json",
        "Idempotency-Key": "big-body",
    }
    body = b'{"Contacts": [{"Name": "Padded Ltd"}]}'

    refused = send.put("/api.xro/2.0/Contacts", data=_padded(body, MAX_BODY_BYTES + 1), headers=headers)
    nothing = xero.get("Contacts").items("Contacts")
    accepted = send.put("/api.xro/2.0/Contacts", data=_padded(body, MAX_BODY_BYTES), headers=headers)

    assert refused.status_code == 413
    problem = refused.get_json()
    assert (problem["Title"], problem["Status"], problem["Detail"]) == ("RequestEntityTooLarge", 413, "PayloadTooLarge")
    assert nothing == []
    assert accepted.status_code == 200  # the key was not used up by the refused body
    assert [c["Name"] for c in xero.get("Contacts").items("Contacts")] == ["Padded Ltd"]
    assert sandbox_app.state.organisations[NZ_TENANT].stats["refused: body too large"] == 1


def test_a_large_body_over_http_is_refused_and_the_connection_keeps_working(sandbox, xero_http: Api):
    headers = {
        "Authorization": f"Bearer {xero_http.token}",
        "xero-tenant-id": NZ_TENANT,
        "Content-Type": "application/json",
    }
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        refused = client.put("/api.xro/2.0/Contacts", content=_padded(b'{"Contacts": []}', MAX_BODY_BYTES + 10))
        after = client.get("/api.xro/2.0/Contacts")

    assert refused.status_code == 413
    assert after.status_code == 200
