"""Token encryption at rest with KMS, each ciphertext bound to its account by the encryption context."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import StorageError
from shared.redaction import register_secret

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


class TokenCipher:
    """Encrypts and decrypts token strings.

    Decryptions are cached per container (bounded, keyed by ciphertext): an access token is used by
    many batches in its 30 minutes, and each KMS call costs latency and money. Every token it
    encrypts or decrypts is registered with :func:`shared.redaction.register_secret` (no log shows it).
    """

    def __init__(self, client: KMSClient, key_id: str, cache_size: int = 256) -> None:
        self._client = client
        self._key_id = key_id
        self._cache: OrderedDict[bytes, str] = OrderedDict()
        self._cache_size = cache_size

    def encrypt(self, plaintext: str, *, account_id: str, purpose: str) -> bytes:
        register_secret(plaintext)  # a token just received from Xero: never in a log from now on
        try:
            answer = self._client.encrypt(
                KeyId=self._key_id,
                Plaintext=plaintext.encode(),
                EncryptionContext={"account_id": account_id, "purpose": purpose},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"KMS could not encrypt the {purpose}: {_reason(exc)}") from exc
        return answer["CiphertextBlob"]

    def decrypt(self, ciphertext: bytes, *, account_id: str, purpose: str) -> str:
        cached = self._cache.get(ciphertext)
        if cached is not None:
            self._cache.move_to_end(ciphertext)
            return cached
        try:
            answer = self._client.decrypt(
                KeyId=self._key_id,
                CiphertextBlob=ciphertext,
                EncryptionContext={"account_id": account_id, "purpose": purpose},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"KMS could not decrypt the {purpose}: {_reason(exc)}") from exc
        plaintext = answer["Plaintext"].decode()
        register_secret(plaintext)
        self._cache[ciphertext] = plaintext
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return plaintext


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
