from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.connect_link import ConnectLinkError, connect_signature, sign_connect_link, verify_connect_link

SECRET = "s3cret-shared-with-the-platform"
NOW = 1_800_000_000


def verify(account: str | None, expires: str | None, signature: str | None) -> str:
    return verify_connect_link(SECRET, account, expires, signature, now=NOW, max_age=900)


def test_a_link_the_platform_signed_names_its_account():
    signature = connect_signature(SECRET, "acct_42", NOW + 300)

    assert verify("acct_42", str(NOW + 300), signature) == "acct_42"
    assert verify("acct_42", str(NOW + 300), signature.upper()) == "acct_42"


def test_sign_connect_link_builds_a_url_that_verifies():
    url = sign_connect_link("https://api.example.com/xero/connect", SECRET, "acct_42", ttl_seconds=120)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    assert (
        verify_connect_link(
            SECRET,
            query["account_id"],
            query["expires"],
            query["signature"],
            now=int(query["expires"]) - 120,
            max_age=900,
        )
        == "acct_42"
    )


@pytest.mark.parametrize(
    ("account", "expires", "signature", "why"),
    [
        ("acct_42", str(NOW + 300), None, "not signed"),
        (None, str(NOW + 300), "ab", "not signed"),
        ("acct_42", str(NOW + 300), connect_signature("other-secret", "acct_42", NOW + 300), "does not match"),
        ("acct_43", str(NOW + 300), connect_signature(SECRET, "acct_42", NOW + 300), "does not match"),
        ("acct_42", str(NOW - 1), connect_signature(SECRET, "acct_42", NOW - 1), "expired"),
        ("acct_42", str(NOW + 3600), connect_signature(SECRET, "acct_42", NOW + 3600), "longer than"),
        ("acct_42", "tomorrow", "ab", "Unix time"),
        ("bad account/id", str(NOW + 300), "ab", "invalid account"),
    ],
)
def test_refusals_say_why(account, expires, signature, why):
    with pytest.raises(ConnectLinkError, match=why):
        verify(account, expires, signature)


def test_signing_refuses_an_invalid_account_id():
    with pytest.raises(ConnectLinkError):
        sign_connect_link("https://x/xero/connect", SECRET, "has spaces")


def test_a_settings_link_verifies_as_a_settings_link_only():
    from shared.connect_link import settings_signature, sign_settings_link, verify_settings_link

    url = sign_settings_link("https://api.example.com/xero/settings/open", SECRET, "acct_42", ttl_seconds=120)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    now = int(query["expires"]) - 120

    assert verify_settings_link(SECRET, "acct_42", query["expires"], query["signature"], now=now, max_age=900)
    # The purpose is signed: a settings link never starts consent, and a connect link never opens settings.
    with pytest.raises(ConnectLinkError, match="connect link's signature does not match"):
        verify("acct_42", query["expires"], query["signature"])
    connect = connect_signature(SECRET, "acct_42", NOW + 300)
    with pytest.raises(ConnectLinkError, match="settings link's signature does not match"):
        verify_settings_link(SECRET, "acct_42", str(NOW + 300), connect, now=NOW, max_age=900)
    assert settings_signature(SECRET, "acct_42", NOW + 300) != connect
