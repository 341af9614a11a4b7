"""``rxdispatch solve`` end to end on a real instance file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import app

DATA = Path(__file__).parents[2] / "data" / "routing"


def test_solve_writes_a_complete_vrplib_solution(tmp_path: Path) -> None:
    """Every customer of C101 appears exactly once; a cost line closes the file.

    One worker: a second one is a spawned process, which on a loaded host starts
    after the 1 s deadline, and whose engine then has no time for a first solution.
    """
    out = tmp_path / "C101.sol"
    result = CliRunner().invoke(
        app,
        [
            "solve",
            str(DATA / "C101.txt"),
            "--time-limit",
            "1",
            "--seed",
            "1",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    routes = [line for line in lines if line.startswith("Route #")]
    ids = sorted(int(i) for line in routes for i in line.split(":")[1].split())
    assert ids == list(range(1, 101))
    assert lines[-1].startswith("Cost ")
    assert float(lines[-1].split()[1]) >= 827.3  # the proven optimum


def test_solve_reports_a_malformed_file_with_its_line() -> None:
    """A broken instance exits 1 with the file and line, no traceback."""
    path = DATA / "broken" / "solomon_RowMissingColumn.txt"
    result = CliRunner().invoke(app, ["solve", str(path), "--time-limit", "1"])
    assert result.exit_code == 1
    assert f"{path}:13" in result.output
    assert "Traceback" not in result.output
