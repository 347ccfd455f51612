from __future__ import annotations

import pytest

from shared.config import DEFAULT_SCOPES, SettingsError, load_settings

REQUIRED = {
    "TABLE_NAME": "sync-table",
    "TOKEN_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/abc",
    "XERO_APP_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:app",
    "CONNECT_LINK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:link",
}


def test_defaults_point_at_real_xero_with_granular_scopes():
    settings = load_settings(REQUIRED)

    assert settings.xero_login_url == "https://login.xero.com"
    assert settings.xero_identity_url == "https://identity.xero.com"
    assert settings.xero_api_url == "https://api.xero.com"
    assert settings.xero_scopes == DEFAULT_SCOPES
    assert {"openid", "email", "offline_access", "accounting.invoices", "accounting.payments"} <= set(settings.scopes)


def test_xero_urls_and_scopes_are_settings():
    settings = load_settings(
        REQUIRED
        | {
            "XERO_API_URL": "http://127.0.0.1:8080/",
            "XERO_SCOPES": "offline_access   accounting.transactions accounting.contacts accounting.settings",
        }
    )

    assert settings.xero_api_url == "http://127.0.0.1:8080"
    assert settings.scopes == [
        "offline_access",
        "accounting.transactions",
        "accounting.contacts",
        "accounting.settings",
    ]


def test_every_problem_is_named_in_one_error():
    with pytest.raises(SettingsError) as error:
        load_settings({"XERO_API_URL": "ftp://nope", "XERO_SCOPES": "openid", "CONNECT_LINK_MAX_AGE_SECONDS": "5"})

    message = str(error.value)
    for name in ("TABLE_NAME", "TOKEN_KEY_ID", "XERO_API_URL", "XERO_SCOPES", "CONNECT_LINK_MAX_AGE_SECONDS"):
        assert name in message
    assert "offline_access" in message


def test_empty_variables_mean_the_default():
    settings = load_settings(REQUIRED | {"PLATFORM_RETURN_URL": "", "XERO_LOGIN_URL": ""})

    assert settings.platform_return_url == ""
    assert settings.xero_login_url == "https://login.xero.com"
