"""Secrets generated once per data folder; production refuses unset or weak ones."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from dispatch.dev_secrets import (
    InsecureSecretError,
    dev_secret,
    is_weak,
    resolve_secret,
    reveal,
)

#: What earlier versions shipped as defaults (public: they were in the source).
OLD_PLACEHOLDERS = [
    "dev-only-jwt-secret-change-me-00000000000000000",
    "dev-only-data-key-change-me-000000000000000",
    "dev-only-otp-pepper-change-me",
    "dev-only-webhook-secret-change-me",
]


def test_a_folder_secret_is_random_private_and_stable(tmp_path: Path) -> None:
    """Created once (mode 0600), the same on every later read, different per
    folder and per name, and strong."""
    first = dev_secret("jwt", tmp_path / "a").get_secret_value()
    assert dev_secret("jwt", tmp_path / "a").get_secret_value() == first
    assert dev_secret("jwt", tmp_path / "b").get_secret_value() != first
    assert dev_secret("data_key", tmp_path / "a").get_secret_value() != first
    assert not is_weak(first)
    mode = stat.S_IMODE((tmp_path / "a" / "secrets.json").stat().st_mode)
    assert mode == 0o600


def test_processes_starting_together_agree_on_a_secret(tmp_path: Path) -> None:
    """Concurrent first uses (the demo's children) get one value, not several."""
    seen: list[str] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        seen.append(dev_secret("jwt", tmp_path).get_secret_value())

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    assert len(set(seen)) == 1


@pytest.mark.parametrize("placeholder", [None, "short", *OLD_PLACEHOLDERS])
def test_production_refuses_unset_short_and_placeholder_secrets(
    tmp_path: Path, placeholder: str | None
) -> None:
    """No secret from the source code (or none at all) runs in production."""
    value = None if placeholder is None else SecretStr(placeholder)
    with pytest.raises(InsecureSecretError, match="DISPATCH_DATA_KEY"):
        resolve_secret(
            value,
            name="data_key",
            env_var="DISPATCH_DATA_KEY",
            environment="production",
            data_dir=tmp_path,
        )
    assert not (tmp_path / "secrets.json").exists()


def test_set_secrets_are_kept_and_unset_ones_come_from_the_folder(
    tmp_path: Path,
) -> None:
    """Outside production a set value wins; an unset one is the folder's."""
    strong = SecretStr("q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8")
    kept = resolve_secret(
        strong, name="jwt", env_var="X", environment="production", data_dir=tmp_path
    )
    assert kept is strong
    generated = resolve_secret(
        None, name="jwt", env_var="X", environment="dev", data_dir=tmp_path
    )
    assert (
        generated.get_secret_value() == dev_secret("jwt", tmp_path).get_secret_value()
    )
    with pytest.raises(InsecureSecretError, match="not resolved"):
        reveal(None, "X")
