"""Secrets nobody typed: generated once per data folder outside production.

No value in the source code may ever authenticate. A secret setting left unset is
therefore, in ``dev`` and ``test``, read from ``<data dir>/secrets.json``: created on
first use (mode 0600, 256 random bits per name, under a file lock so that processes
starting together agree), and shared by every process using that data folder (the
API, the ingest worker, the demo's children). In ``production`` an unset or weak
secret is refused instead, before anything starts.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

__all__ = [
    "MIN_SECRET_LENGTH",
    "PRODUCTION",
    "InsecureSecretError",
    "dev_secret",
    "is_weak",
    "resolve_secret",
    "reveal",
]

PRODUCTION = "production"
MIN_SECRET_LENGTH = 32
#: Fragments of the placeholders earlier versions shipped, and of obvious ones.
_PLACEHOLDER_MARKERS = ("dev-only", "change-me", "changeme", "placeholder", "secret")
FILE_NAME = "secrets.json"


class InsecureSecretError(ValueError):
    """A secret that production refuses: unset, short or a known placeholder."""


def is_weak(value: str) -> bool:
    """Too short to be random, or containing a placeholder fragment."""
    lowered = value.lower()
    return len(value) < MIN_SECRET_LENGTH or any(
        marker in lowered for marker in _PLACEHOLDER_MARKERS
    )


def dev_secret(name: str, data_dir: Path) -> SecretStr:
    """The folder's random secret called ``name``, created on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    with open(data_dir / (FILE_NAME + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known: dict[str, str] = {}
        if path.exists():
            known = json.loads(path.read_text(encoding="utf-8"))
        if name not in known:
            known[name] = secrets.token_urlsafe(32)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(known, out, indent=2, sort_keys=True)
            os.replace(tmp, path)
        return SecretStr(known[name])


def resolve_secret(
    value: SecretStr | None,
    *,
    name: str,
    env_var: str,
    environment: str,
    data_dir: Path,
) -> SecretStr:
    """``value`` if set (and strong, in production); else the folder's dev secret.

    Raises :class:`InsecureSecretError` in production for an unset or weak value.
    """
    if environment == PRODUCTION:
        if value is None or is_weak(value.get_secret_value()):
            raise InsecureSecretError(
                f"{env_var} must be set to a random value of >= {MIN_SECRET_LENGTH} "
                "characters in production"
            )
        return value
    if value is None:
        return dev_secret(name, data_dir)
    return value


def reveal(value: SecretStr | None, env_var: str) -> str:
    """The value; :class:`InsecureSecretError` if the settings were not resolved."""
    if value is None:
        raise InsecureSecretError(
            f"{env_var} is unset (the settings were not resolved)"
        )
    return value.get_secret_value()
