"""Encryption of personal fields at rest, and masking for roles that do not need them.

AES-256-GCM with a random nonce per value; the key is stretched from the configured
secret with HKDF so operators can supply any passphrase. Values carry a version
prefix (``v1:``) so the key can be rotated later without guessing formats.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class FieldCipher:
    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sz-field-encryption",
                   info=b"v1").derive(secret.encode())
        self._aead = AESGCM(key)

    def encrypt(self, plain: str) -> str:
        if not plain:
            return ""
        nonce = os.urandom(12)
        blob = self._aead.encrypt(nonce, plain.encode(), b"v1")
        return "v1:" + base64.urlsafe_b64encode(nonce + blob).decode()

    def decrypt(self, stored: str) -> str:
        if not stored:
            return ""
        raw = base64.urlsafe_b64decode(stored.removeprefix("v1:"))
        return self._aead.decrypt(raw[:12], raw[12:], b"v1").decode()


def mask_phone(phone: str) -> str:
    """138****1234: enough for the owner to recognise, useless to anyone else."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]
