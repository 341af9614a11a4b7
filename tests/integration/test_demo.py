"""``rxdispatch demo`` end to end: real extract, real solver, the console script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

RXDISPATCH = Path(sys.executable).parent / "rxdispatch"


def run_demo(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RXDISPATCH), "demo", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")


def test_demo_plans_a_small_problem_and_accounts_for_every_order(
    data_dir: Path,
) -> None:
    """The plan passes the independent check and every order is served or explained."""
    done = run_demo(
        "--orders", "12", "--riders", "4", "--pharmacies", "6", "--time-limit", "2",
        data_dir=data_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "OpenStreetMap contributors" in out
    assert "0 violations" in out
    served = re.search(r"served (\d+)/12 orders", out)
    assert served is not None
    unassigned = re.search(r"unassigned (\d+):", out)
    missing = int(unassigned.group(1)) if unassigned else 0
    assert int(served.group(1)) + missing == 12
    assert int(served.group(1)) > 0
    assert re.search(r"r\d{3} \((bike|scooter|car)\): pick o\d{4} at ", out)


def test_second_run_reads_the_cached_city(data_dir: Path) -> None:
    """After one run the parsed city comes from the .npz cache in the data folder."""
    run_demo("--orders", "3", "--riders", "2", "--time-limit", "1", data_dir=data_dir)
    done = run_demo(
        "--orders", "3", "--riders", "2", "--time-limit", "1", data_dir=data_dir
    )
    assert done.returncode == 0, done.stderr
    assert "(from cache in" in done.stdout
    assert list((data_dir / "cache").glob("city-*.npz"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--time-limit", "-1"), "time_limit_s"),
        (("--pharmacies", "500"), "served pharmacies"),
    ],
)
def test_bad_options_exit_with_a_clear_error(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    """Impossible options give exit code 1 and a one-line error, not a traceback."""
    done = run_demo(*args, data_dir=data_dir)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
