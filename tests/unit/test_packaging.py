"""The five top-level packages are ours, and every setting is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "dispatch", "routing", "simulator", "telemetry")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_inside_the_repo(name: str) -> None:
    """A same-named installed distribution must not shadow our package."""
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO)


def _settings_classes() -> list[type[BaseSettings]]:
    found: dict[str, type[BaseSettings]] = {}
    for pkg in ("api", "dispatch", "telemetry"):
        package = importlib.import_module(pkg)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{pkg}."):
            if not info.name.rsplit(".", 1)[-1].startswith("settings"):
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseSettings) and obj.__module__ == module.__name__:
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_setting_has_a_description() -> None:
    """Each settings field says what it is (the README table is built from them)."""
    classes = _settings_classes()
    assert classes, "no settings classes found"
    missing = [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, field in cls.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == []


def test_readme_configuration_table_is_current() -> None:
    """README's configuration table is what ``python -m api.settings_doc`` prints."""
    from api.settings_doc import settings_table

    readme = (REPO / "README.md").read_text()
    start = "<!-- settings-table:start -->\n"
    end = "<!-- settings-table:end -->"
    current = readme[readme.index(start) + len(start) : readme.index(end)]
    assert current == settings_table()


def test_demo_data_ships_in_the_wheel() -> None:
    """``rxdispatch demo`` needs no clone: the bundled scenarios are package data
    of ``simulator`` and the wheel force-includes the city extract (with its
    licence) as ``simulator/data/city``, where the simulator looks first."""
    import tomllib

    from api.cli.demo import _scenario_file

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert "simulator" in wheel["packages"]
    assert wheel["force-include"]["data/city"] == "simulator/data/city"
    assert {"LICENSE.md", "SOURCE.md"} <= {
        p.name for p in (REPO / "data/city").iterdir()
    }
    bundled = REPO / "simulator" / "scenarios"
    assert {"short.toml", "standard.toml"} <= {p.name for p in bundled.glob("*.toml")}
    assert _scenario_file(Path("short")) == bundled / "short.toml"
