"""The public surface of ``dispatch`` that the API and telemetry build on."""

from __future__ import annotations

import importlib

import pytest

import dispatch


def test_every_exported_name_resolves_from_its_module():
    """Each name in ``__all__`` loads lazily from the module it is documented in."""
    assert set(dispatch.__all__) == set(dispatch._EXPORTS)
    for name, module in dispatch._EXPORTS.items():
        assert getattr(dispatch, name) is getattr(importlib.import_module(module), name)


def test_unknown_names_raise_attribute_error():
    """A typo is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError, match="does_not_exist"):
        dispatch.does_not_exist  # noqa: B018
