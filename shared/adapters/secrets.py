"""Secrets from Secrets Manager through Powertools' parameters utility, cached for a while.

Every value read is registered with :func:`shared.redaction.register_secret`, so no log line shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import ValidationError

from shared.errors import XeroConfigError
from shared.models.xero import ClientCredentials
from shared.redaction import register_secret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class Secrets:
    def __init__(self, client: SecretsManagerClient, *, max_age: int) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age = max_age

    def json(self, secret_id: str) -> dict[str, Any]:
        try:
            value = self._provider.get(secret_id, max_age=self._max_age, transform="json")
        except (GetParameterError, TransformParameterError) as exc:
            # Powertools' message names the secret only; the value is never part of it.
            raise XeroConfigError(f"the secret {secret_id} could not be read as JSON") from exc
        if not isinstance(value, dict):
            raise XeroConfigError(f"the secret {secret_id} is not a JSON object")
        for field in value.values():  # every string of a secret is kept out of the logs
            if isinstance(field, str):
                register_secret(field)
        return value

    def text(self, secret_id: str) -> str:
        try:
            value = self._provider.get(secret_id, max_age=self._max_age)
        except GetParameterError as exc:
            raise XeroConfigError(f"the secret {secret_id} could not be read") from exc
        if not isinstance(value, str) or not value:
            raise XeroConfigError(f"the secret {secret_id} is empty")
        register_secret(value)
        return value

    def xero_credentials(self, secret_id: str) -> ClientCredentials:
        try:
            return ClientCredentials.model_validate(self.json(secret_id))
        except ValidationError:
            raise XeroConfigError(
                f'the secret {secret_id} must hold {{"client_id": "...", "client_secret": "..."}}'
            ) from None
