"""A short-lived, shared cache of an organisation's Xero reference data (accounts, tax rates).

One item per organisation and kind (``TENANT#<tenant id>`` / ``CACHE#accounts``), so every container
and every platform account connected to the same organisation spares the same rate limit. The
item's ``expires_at`` decides freshness; ``ttl`` lets DynamoDB delete it some time after. The cache
is an optimisation only: when DynamoDB fails, callers read Xero instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import to_attr
from shared.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# DynamoDB items stop at 400 KB; a chart of accounts that large is simply not cached.
MAX_CACHED_BYTES = 350_000
TTL_SLACK_SECONDS = 3600


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


class XeroReadCache:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        max_age: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self.max_age = max_age
        self._clock = clock

    def _key(self, tenant_id: str, kind: str) -> dict[str, Any]:
        return {"pk": to_attr(tenant_pk(tenant_id)), "sk": to_attr(f"CACHE#{kind}")}

    def read(self, tenant_id: str, kind: str) -> list[dict[str, Any]] | None:
        """The cached list, or None when absent, expired or unreadable."""
        try:
            answer = self._client.get_item(TableName=self._table, Key=self._key(tenant_id, kind))
        except (ClientError, BotoCoreError) as exc:
            logger.warning("xero cache unreadable", extra={"tenant_id": tenant_id, "kind": kind, "error": str(exc)})
            return None
        item = answer.get("Item")
        if not item or int(item.get("expires_at", {}).get("N", "0")) <= self._clock():
            return None
        try:
            loaded = json.loads(item["body"]["S"])
        except (KeyError, ValueError):
            return None
        return loaded if isinstance(loaded, list) else None

    def write(self, tenant_id: str, kind: str, values: list[dict[str, Any]]) -> None:
        body = json.dumps(values, separators=(",", ":"))
        if len(body) > MAX_CACHED_BYTES:
            logger.info("xero data too large to cache", extra={"tenant_id": tenant_id, "kind": kind})
            return
        expires_at = int(self._clock()) + self.max_age
        item = self._key(tenant_id, kind) | {
            "body": to_attr(body),
            "expires_at": to_attr(expires_at),
            "ttl": to_attr(expires_at + TTL_SLACK_SECONDS),
        }
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("xero cache not written", extra={"tenant_id": tenant_id, "kind": kind, "error": str(exc)})
