"""Shared fixtures for the simulator's unit tests."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from simulator.city import CityData, load_city
from simulator.scenario import Scenario
from simulator.scenario_loader import BUNDLED_DIR, load_scenario

SCENARIOS = BUNDLED_DIR


@pytest.fixture(scope="session")
def short_toml() -> dict[str, Any]:
    """The parsed TOML of the bundled ``short.toml`` (copy before mutating)."""
    return tomllib.loads((SCENARIOS / "short.toml").read_text(encoding="utf-8"))


@pytest.fixture
def short_data(short_toml: dict[str, Any]) -> dict[str, Any]:
    """A private, mutable copy of the short scenario's TOML document."""
    return copy.deepcopy(short_toml)


@pytest.fixture(scope="session")
def short_scenario() -> Scenario:
    """The validated short scenario."""
    return load_scenario(SCENARIOS / "short.toml")


@pytest.fixture(scope="session")
def standard_scenario() -> Scenario:
    """The validated standard (benchmark) scenario."""
    return load_scenario(SCENARIOS / "standard.toml")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder shared by the session (the city cache is parsed once)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def city(data_dir: Path) -> CityData:
    """The bundled Malta extract, parsed once per session into ``data_dir/city``."""
    return load_city(cache_dir=data_dir / "city")
