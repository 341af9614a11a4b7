"""The command line prints a scenario's world and writes reports from run logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.__main__ import main
from simulator.city import CityData
from simulator.scenario_loader import BUNDLED_DIR
from tests.unit.simulator.test_report import make_log

SCENARIOS = BUNDLED_DIR


def test_world_command(
    data_dir: Path, city: CityData, capsys: pytest.CaptureFixture[str]
) -> None:
    """`world` summarises the short scenario from the city cached in the data dir."""
    code = main(["--data-dir", str(data_dir), "world", str(SCENARIOS / "short.toml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "pharmacies 4" in out
    assert "orders 10" in out
    assert "OpenStreetMap" in out
    assert list((data_dir / "city").glob("*.npz"))


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`report` with two logs writes the side-by-side KPI files."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    make_log("engine").save(a)
    make_log("greedy", leg_factor=2.0).save(b)
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    assert "engine/greedy" in capsys.readouterr().out
    assert (tmp_path / "out" / "kpis.png").exists()


def test_bad_scenario_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken scenario prints the typed error and exits with status 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 'x'\n", encoding="utf-8")
    assert main(["--data-dir", str(tmp_path), "world", str(bad)]) == 2
    assert "error [scenario_invalid]" in capsys.readouterr().err
