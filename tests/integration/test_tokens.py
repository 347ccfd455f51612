"""Token refresh under a lock, against moto and the Xero sandbox's rotating refresh tokens."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest

from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.seed import NZ_TENANT
from shared.adapters.connections import ConnectionRepository, InactivityPolicy
from shared.adapters.kms import TokenCipher
from shared.adapters.secrets import Secrets
from shared.adapters.xero import XeroClient
from shared.config import get_settings
from shared.domain.tokens import TokenManager
from shared.errors import ConnectionUnavailable, XeroAuthLost
from shared.models.connection import ConnectionStatus
from tests.support import flows

ACCOUNT = "acct_tokens"
REFRESHES = "POST /connect/token refresh_token"


def new_container() -> TokenManager:
    """What one Lambda container builds: its own AWS clients, Xero client and token manager."""
    settings = get_settings()
    repo = ConnectionRepository(boto3.client("dynamodb"), settings.table_name, InactivityPolicy())
    secrets = Secrets(boto3.client("secretsmanager"), max_age=300)
    xero = XeroClient(settings, credentials=lambda: secrets.xero_credentials(settings.xero_app_secret_arn))
    return TokenManager(repo, TokenCipher(boto3.client("kms"), settings.token_key_id), xero)


def expire_access_token(table: str, account_id: str = ACCOUNT) -> None:
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "CONNECTION"}},
        UpdateExpression="SET access_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 5)}},
    )


@pytest.fixture
def connected(service_env, resources, sandbox) -> dict[str, Any]:
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    result = flows.connect_account(service_env, ACCOUNT)
    assert result.callback is not None
    assert result.callback["statusCode"] == 200
    return service_env


def test_fresh_access_token_is_used_without_refreshing(connected, resources, sandbox):
    access = new_container().access(ACCOUNT)

    assert access.connection.tenant_id == NZ_TENANT
    assert access.access_token.startswith("eyJ")
    assert sandbox.sandbox.state.stats[REFRESHES] == 0
    assert "eyJ" not in repr(access)


def test_twenty_concurrent_invocations_refresh_an_expired_token_exactly_once(connected, resources, sandbox):
    expire_access_token(resources.table_name)
    containers = [new_container() for _ in range(20)]
    barrier = threading.Barrier(len(containers))
    results: list[str] = []
    errors: list[BaseException] = []

    def invoke(manager: TokenManager) -> None:
        barrier.wait()
        try:
            results.append(manager.access(ACCOUNT).access_token)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=invoke, args=(m,)) for m in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sandbox.sandbox.state.stats[REFRESHES] == 1, "exactly one call to Xero's token endpoint"
    assert len(results) == 20
    assert len(set(results)) == 1, "everyone uses the one refreshed token"
    connection = new_container()._repo.get(ACCOUNT)
    assert connection is not None
    assert connection.token_version == 2
    assert connection.refresh_lock_owner is None
    assert connection.status == ConnectionStatus.CONNECTED


def test_the_refreshed_token_works_at_xero_and_the_old_refresh_token_is_dead(connected, resources, sandbox):
    expire_access_token(resources.table_name)
    manager = new_container()

    access = manager.access(ACCOUNT)
    organisation = manager._xero.get(access.access_token, NZ_TENANT, "Organisation")

    assert organisation["Organisations"][0]["Name"] == "Demo Company (NZ)"
    rotated = [r for r in sandbox.sandbox.state.refresh_tokens.values() if r.rotated_to is not None]
    assert len(rotated) == 1
    with pytest.raises(XeroAuthLost):
        manager._xero.refresh(rotated[0].token)


def test_invalid_grant_marks_the_connection_for_reconnection_once_with_no_retry_storm(connected, resources, sandbox):
    state = sandbox.sandbox.state
    state.revoke_grant(next(iter(state.grants)))
    expire_access_token(resources.table_name)
    manager = new_container()

    with pytest.raises(XeroAuthLost):
        manager.access(ACCOUNT)
    for _ in range(3):
        with pytest.raises(ConnectionUnavailable) as refused:
            new_container().access(ACCOUNT)

    assert refused.value.status == "needs_reconnect"
    assert state.stats[REFRESHES] == 1, "once lost, nobody calls Xero again"
    connection = manager._repo.get(ACCOUNT)
    assert connection is not None
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert connection.status_reason is not None
    assert "invalid_grant" in connection.status_reason
    assert connection.refresh_lock_owner is None


def test_an_unanswered_refresh_is_retried_with_the_same_token_inside_xeros_grace(connected, resources, sandbox):
    sandbox.sandbox.faults.set([FaultRule(kind="drop", path="/connect/token", times=1)])
    expire_access_token(resources.table_name)

    access = new_container().access(ACCOUNT)

    assert sandbox.sandbox.state.stats[REFRESHES] == 2, "the dropped refresh, then its retry"
    assert access.connection.token_version == 2
    assert access.connection.status == ConnectionStatus.CONNECTED


def test_a_refresh_that_keeps_failing_leaves_the_connection_usable_later(connected, resources, sandbox):
    sandbox.sandbox.faults.set([FaultRule(kind="drop", path="/connect/token", times=2)])
    expire_access_token(resources.table_name)
    manager = new_container()

    with pytest.raises(Exception, match="connection to Xero failed"):
        manager.access(ACCOUNT)
    stuck = manager._repo.get(ACCOUNT)
    later = new_container().access(ACCOUNT)

    assert stuck is not None
    assert stuck.refresh_lock_owner is None, "the lock is released"
    assert stuck.refresh_unanswered_at is not None
    assert later.connection.token_version == 2, "the old refresh token still worked within 30 minutes"


def test_a_refresh_token_unused_for_60_days_has_expired(connected, resources, sandbox):
    sandbox.sandbox.state.clock.advance(61 * 24 * 3600)
    expire_access_token(resources.table_name)

    with pytest.raises(XeroAuthLost):
        new_container().access(ACCOUNT)

    connection = new_container()._repo.get(ACCOUNT)
    assert connection is not None
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT


def test_a_401_forces_one_refresh_unless_someone_already_refreshed(connected, resources, sandbox):
    manager = new_container()
    first = manager.access(ACCOUNT)

    refreshed = manager.access(ACCOUNT, stale_version=first.connection.token_version)
    again = new_container().access(ACCOUNT, stale_version=first.connection.token_version)

    assert refreshed.connection.token_version == first.connection.token_version + 1
    assert again.connection.token_version == refreshed.connection.token_version
    assert sandbox.sandbox.state.stats[REFRESHES] == 1


def test_no_token_secret_or_code_appears_in_any_log_line(service_env, resources, sandbox, log_lines):
    result = flows.connect_account(service_env, ACCOUNT)
    expire_access_token(resources.table_name)
    new_container().access(ACCOUNT)
    flows.callback(result.callback_query, result.cookie)  # a replay, logged as refused

    logs = log_lines.getvalue()
    state = sandbox.sandbox.state
    secrets = [
        *state.refresh_tokens,
        result.callback_query["code"],
        result.callback_query["state"],
        state.apps[next(iter(state.apps))].client_secret,
        flows.link_secret(service_env),
    ]
    assert "consent started" in logs
    assert "tokens refreshed" in logs
    assert '"message":"xero call"' in logs, "debug lines are included in the scan"
    for secret in secrets:
        assert secret not in logs
    assert "eyJ" not in logs, "no JWT (access or id token) in any log line"


def test_rotated_tokens_are_kept_when_the_lock_ran_out_but_nobody_stored_newer_ones(connected, resources):
    from shared.adapters.connections import EncryptedTokens
    from shared.errors import StorageError

    repo = ConnectionRepository(boto3.client("dynamodb"), resources.table_name, InactivityPolicy())
    before = repo.get(ACCOUNT)
    assert before is not None
    now = int(time.time())
    assert repo.try_lock_refresh(ACCOUNT, owner="slow", now=now, seconds=1, version=before.token_version)
    # The lock runs out while "slow" waits for Xero; another container takes it over.
    assert repo.try_lock_refresh(ACCOUNT, owner="other", now=now + 2, seconds=60, version=before.token_version)
    tokens = EncryptedTokens(access_token_ct=b"a", refresh_token_ct=b"r", access_expires_at=now + 1800)

    stored = repo.store_refreshed(ACCOUNT, owner="slow", tokens=tokens, version=before.token_version)

    assert stored.token_version == before.token_version + 1
    # The other container's refresh (with the old refresh token) must not overwrite them.
    with pytest.raises(StorageError):
        repo.store_refreshed(ACCOUNT, owner="other", tokens=tokens, version=before.token_version)
