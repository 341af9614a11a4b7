"""Application-level encryption of patient data (AES-256-GCM, cryptography).

The 256-bit key is derived with HKDF-SHA256 from ``DispatchSettings.data_key``.
Each ciphertext is ``version byte | 12-byte nonce | ciphertext+tag`` and is bound
to its owner (e.g. the order id) as associated data, so a ciphertext copied onto
another order does not decrypt.
"""

from __future__ import annotations

import os

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dispatch.errors import UndecryptableData
from dispatch.orders.order import PatientContact

__all__ = ["PatientDataCipher", "UndecryptableData"]

_VERSION = b"\x01"
_INFO = b"rxdispatch patient data v1"


class PatientDataCipher:
    """Encrypts and decrypts patient contact data and other small secrets."""

    def __init__(self, key_material: str) -> None:
        if len(key_material) < 16:
            raise ValueError("data key must be at least 16 characters")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            key_material.encode()
        )
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, *, owner: str) -> bytes:
        """Ciphertext of ``plaintext`` bound to ``owner``."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, owner.encode())

    def decrypt(self, blob: bytes, *, owner: str) -> bytes:
        """Plaintext, or :class:`UndecryptableData`."""
        if blob[:1] != _VERSION or len(blob) < 13 + 16:
            raise UndecryptableData("unknown ciphertext format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], owner.encode())
        except InvalidTag as exc:
            raise UndecryptableData("ciphertext failed authentication") from exc

    def encrypt_contact(self, contact: PatientContact, *, owner: str) -> bytes:
        """Encrypted name, phone and address."""
        payload = {
            "name": contact.name,
            "phone": contact.phone,
            "address": contact.address,
        }
        return self.encrypt(orjson.dumps(payload), owner=owner)

    def decrypt_contact(self, blob: bytes, *, owner: str) -> PatientContact:
        """The patient contact encrypted by :meth:`encrypt_contact`."""
        data = orjson.loads(self.decrypt(blob, owner=owner))
        return PatientContact(
            name=data["name"], phone=data["phone"], address=data["address"]
        )
