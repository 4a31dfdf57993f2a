"""Storage secrets sealed with the KMS key of template.yaml before they are stored, opened only by the
function about to use them. The encryption context binds a sealed secret to its account and storage,
so a ciphertext copied to another record does not open."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class KmsClient(Protocol):
    """The two calls of boto3's KMS client used here (typed without the kms stubs)."""

    def encrypt(self, *, KeyId: str, Plaintext: bytes, EncryptionContext: Mapping[str, str]) -> Any: ...  # noqa: N803

    def decrypt(self, *, CiphertextBlob: bytes, EncryptionContext: Mapping[str, str]) -> Any: ...  # noqa: N803


def _context(account: str, storage_id: int) -> dict[str, str]:
    return {"pixelport:account": account, "pixelport:storage": str(storage_id)}


class SecretBox:
    def __init__(self, kms: KmsClient, key_id: str):
        self._kms = kms
        self._key_id = key_id

    def seal(self, secret: str, *, account: str, storage_id: int) -> bytes:
        out = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=_context(account, storage_id)
        )
        return bytes(out["CiphertextBlob"])

    def open(self, sealed: bytes, *, account: str, storage_id: int) -> str:
        out = self._kms.decrypt(CiphertextBlob=sealed, EncryptionContext=_context(account, storage_id))
        return bytes(out["Plaintext"]).decode()
