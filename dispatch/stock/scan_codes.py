"""Lot scan codes: the unguessable code printed on a lot's label and scanned (or
typed) by the rider at pickup, distinct from the lot's internal id.

120 random bits (``secrets``) in RFC 4648 base32: 24 characters of ``A-Z2-7``,
easy to type from a label and to encode as a barcode. A rider who did not see the
label cannot produce it (internal lot ids are small sequential numbers).
"""

from __future__ import annotations

import base64
import secrets

__all__ = ["SCAN_CODE_LENGTH", "new_scan_code", "normalize_scan_code"]

_CODE_BYTES = 15  # 120 bits
SCAN_CODE_LENGTH = 24


def new_scan_code() -> str:
    """A fresh random code (CSPRNG), 24 base32 characters, no padding."""
    return base64.b32encode(secrets.token_bytes(_CODE_BYTES)).decode("ascii")


def normalize_scan_code(value: str) -> str:
    """A scanned or typed code in canonical form: upper case, without the spaces
    and hyphens a label groups it with."""
    return "".join(c for c in value.upper() if c not in " -")
