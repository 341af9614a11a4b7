"""benchmarks/README.md's results tables are what the committed JSON says, and every
committed result records the run that made it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import _report, results_tables

RESULTS = results_tables.RESULTS
STEMS = sorted(p.stem for p in RESULTS.glob("*.json"))


def test_readme_tables_are_generated_from_the_committed_json() -> None:
    """``python -m benchmarks.results_tables`` would change nothing."""
    text = results_tables.README.read_text(encoding="utf-8")
    assert results_tables.rewrite(text) == text, (
        "benchmarks/README.md is out of step with benchmarks/results/: "
        "run python -m benchmarks.results_tables"
    )


def test_every_result_has_one_table_and_every_table_a_result() -> None:
    text = results_tables.README.read_text(encoding="utf-8")
    marked = [m.group("name") for m in results_tables.MARKER.finditer(text)]
    assert sorted(marked) == STEMS
    assert len(set(marked)) == len(marked)
    assert set(STEMS) == set(results_tables.TABLES)


@pytest.mark.parametrize("stem", STEMS)
def test_a_result_records_machine_load_date_commit_command(stem: str) -> None:
    meta = json.loads((RESULTS / f"{stem}.json").read_text(encoding="utf-8"))["meta"]
    assert meta["machine"]["cpu_model"]
    assert meta["machine"]["nproc"] >= 1
    for when in ("start", "end"):
        assert len(meta["load_avg"][when]) == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", meta["started_at"])
    assert re.fullmatch(r"[0-9a-f]{40}", meta["git"]["commit"])
    assert meta["command"].startswith(f"python -m benchmarks.{stem}")
    assert f"--json benchmarks/results/{stem}.json" in meta["command"]
    assert meta["variant"] in {"full", "quick", "reduced"}
    assert meta["baseline"]


def test_write_json_adds_the_run_metadata(tmp_path: Path) -> None:
    target = tmp_path / "out" / "x.json"
    _report.write_json(target, {"figure": 1.5}, baseline="the other one")
    body = json.loads(target.read_text(encoding="utf-8"))
    assert body["figure"] == 1.5
    meta = body["meta"]
    assert meta["baseline"] == "the other one"
    assert meta["machine"]["nproc"] >= 1
    assert len(meta["load_avg"]["start"]) == 3
    assert len(meta["load_avg"]["end"]) == 3
    assert meta["command"].startswith("python ")
    assert meta["wall_s"] >= 0


@pytest.mark.parametrize(
    ("argv", "variant"),
    [
        (["python", "-m", "benchmarks.x"], "full"),
        (["python", "-m", "benchmarks.x", "--json", "f.json"], "full"),
        (["python", "-m", "benchmarks.x", "--quick"], "quick"),
        (["python", "-m", "benchmarks.x", "--instances", "C101"], "reduced"),
        (["python", "-m", "benchmarks.x", "--duration=5"], "reduced"),
    ],
)
def test_variant_names_quick_and_narrowed_runs(argv: list[str], variant: str) -> None:
    assert _report.variant(argv) == variant


def test_rewrite_replaces_only_what_is_between_the_markers(tmp_path: Path) -> None:
    runs = [
        {
            "phase": phase,
            "clients": clients,
            "submitted": 80,
            "accepted": 80,
            "refused": 0,
            "orders_per_s": rate,
            "over_allocated_lots": 0,
            "books_balanced": True,
        }
        for phase, clients, rate in (("plenty", 1, 40.0), ("plenty", 8, 100.0))
    ]
    _report.write_json(
        tmp_path / "sourcing_throughput.json", {"runs": runs}, baseline="one client"
    )
    text = (
        "before\n<!-- results:sourcing_throughput:start -->\nstale\n"
        "<!-- results:sourcing_throughput:end -->\nafter\n"
    )
    new = results_tables.rewrite(text, tmp_path)
    assert "stale" not in new
    assert new.startswith("before\n")
    assert new.endswith("after\n")
    assert "| plenty | 8 | 80 | 80 | 0 | 100.00 | 2.500 | 0 | yes |" in new
    assert "Baseline: one client." in new
    assert results_tables.rewrite(new, tmp_path) == new
