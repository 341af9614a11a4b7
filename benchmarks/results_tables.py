"""The results tables of benchmarks/README.md, built from the committed JSON.

``python -m benchmarks.results_tables`` rewrites every table between its markers
``<!-- results:NAME:start -->`` and ``<!-- results:NAME:end -->`` from
``benchmarks/results/NAME.json``; ``--check`` only reports whether the README is
in step (exit 1 if not). A unit test keeps them in step.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
MARKER = re.compile(
    r"(<!-- results:(?P<name>[a-z_]+):start -->\n)(?P<body>.*?)"
    r"(<!-- results:(?P=name):end -->)",
    re.DOTALL,
)
Rows = list[Sequence[object]]


def num(value: object, digits: int = 2) -> str:
    """A cell: ``-`` for missing or NaN, floats to ``digits``, thousands grouped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}"
        return text.removeprefix("-") if float(text.replace(",", "")) == 0 else text
    return str(value)


def markdown(headers: Sequence[str], rows: Rows) -> list[str]:
    """A Markdown table: text columns left-aligned, figures right-aligned."""
    cells = [[c if isinstance(c, str) else num(c) for c in row] for row in rows]
    align = [
        "---" if i == 0 or all(_is_text(row[i]) for row in rows) else "---:"
        for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return lines


def fixed(value: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` decimals (ratios, sub-millisecond times)."""
    return num(value, digits) if isinstance(value, int | float) else num(value)


def _is_text(cell: object) -> bool:
    return isinstance(cell, str) and not re.match(r"[-+]?[\d.]", cell)


def provenance(meta: dict[str, Any]) -> str:
    """One line: command, date, commit, machine, load at start and end, time."""
    git = meta["git"]
    commit = (git["commit"] or "unknown")[:7]
    if git["dirty"]:
        commit += " (+ local changes)"
    machine = meta["machine"]
    start, end = meta["load_avg"]["start"][0], meta["load_avg"]["end"][0]
    cores = meta["cpu_s"] / meta["wall_s"] if meta["wall_s"] else 0.0
    return (
        f"{meta['variant'].capitalize()} run: `{meta['command']}` — "
        f"{meta['started_at'][:16].replace('T', ' ')} UTC, "
        f"commit {commit}, {machine['cpu_model']} × {machine['nproc']}, "
        f"load (1 min) {start:.2f} → {end:.2f}, {meta['wall_s']:,.0f} s wall, "
        f"{meta['cpu_s']:,.0f} s CPU ({cores:.2f} cores on average). "
        f"Baseline: {meta['baseline']}."
    )


# -- one function per benchmark: (headers, rows) from its JSON ------------------------


def routing_quality(data: dict[str, Any]) -> tuple[list[str], Rows]:
    summary = data["summary"]
    ours, base = summary["ours"], summary.get("ortools", {})
    rows: Rows = []
    for family in ("solomon", "homberger200", "lilim100"):
        key = f"all {family}"
        if key not in ours:
            continue
        o, b = ours[key], base.get(key)
        ratio = (
            o["mean_gap_pct"] / b["mean_gap_pct"]
            if b and b["mean_gap_pct"] and family != "lilim100"
            else None
        )
        at_bks = family == "lilim100"
        rows.append(
            [
                family,
                int(o["runs"]),
                _gap(o, at_bks),
                _gap(b, at_bks) if b else "-",
                fixed(ratio),
                f"{o['feasible_pct']:.0f} / "
                + (f"{b['feasible_pct']:.0f}" if b else "-"),
                f"+{o['max_extra_vehicles']:.0f} / "
                + (f"+{b['max_extra_vehicles']:.0f}" if b else "-"),
            ]
        )
    headers = [
        "family",
        "runs",
        "ours gap %",
        "plain OR-Tools gap %",
        "ours / plain",
        "feasible % (ours / plain)",
        "max vehicles over BKS (ours / plain)",
    ]
    return headers, rows


def _gap(s: dict[str, float], at_bks_vehicles: bool) -> str:
    gap = num(s["mean_gap_pct"])
    if at_bks_vehicles:  # Li & Lim: distance gap over the runs at the BKS fleet
        return f"{gap} ({int(s['gap_runs'])} at BKS vehicles)"
    return gap


def dispatch_scale(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            r["case"],
            r["limit_s"],
            r["wall_s"],
            f"{r['served']}/{r['orders']}",
            r["on_time_pct"],
            r["objective"],
            r["violations"],
            r["status"] + (", warm" if r["warm_started"] else ""),
        ]
        for r in data["rows"]
    ]
    headers = [
        "case",
        "limit s",
        "wall s",
        "served",
        "on time %",
        "objective",
        "violations",
        "status",
    ]
    return headers, rows


def sourcing_throughput(data: dict[str, Any]) -> tuple[list[str], Rows]:
    by = {(r["phase"], r["clients"]): r for r in data["runs"]}
    rows: Rows = [
        [
            r["phase"],
            r["clients"],
            r["submitted"],
            r["accepted"],
            r["refused"],
            r["orders_per_s"],
            fixed(r["orders_per_s"] / by[(r["phase"], 1)]["orders_per_s"]),
            r["over_allocated_lots"],
            r["books_balanced"],
        ]
        for r in data["runs"]
    ]
    headers = [
        "phase",
        "clients",
        "orders",
        "accepted",
        "refused",
        "orders/s",
        "vs 1 client",
        "over-allocated lots",
        "books balanced",
    ]
    return headers, rows


def replan_latency(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            "warm" if r["warm_start"] else "cold (baseline)",
            r["rounds"],
            r["p50_s"],
            r["p95_s"],
            r["max_s"],
            r["stale_plans"],
            r["failed_rounds"],
            r["mean_assigned"],
        ]
        for r in data["runs"]
    ]
    headers = ["re-plan", "rounds", "p50 s", "p95 s", "max s", "stale", "failed"]
    return [*headers, "orders assigned (mean)"], rows


def joint_vs_nearest(data: dict[str, Any]) -> tuple[list[str], Rows]:
    runs = {(r["seed"], r["policy"]): r for r in data["runs"]}
    seeds = sorted({seed for seed, _ in runs})
    rows: Rows = []
    for seed, ratio in zip(
        seeds, data["ratio_travel_per_order_joint_vs_nearest"], strict=True
    ):
        near, joint = runs[(seed, "nearest")], runs[(seed, "joint")]
        rows.append(
            [
                str(seed),
                f"{near['served']} / {joint['served']}",
                near["travel_s_per_order"],
                joint["travel_s_per_order"],
                fixed(ratio),
                f"{num(near['feasible'])} / {num(joint['feasible'])}",
            ]
        )
    rows.append(["mean", "", "", "", fixed(data["mean_ratio"]), ""])
    headers = [
        "seed",
        "served (nearest / joint)",
        "nearest s/order",
        "joint s/order",
        "joint / nearest",
        "feasible",
    ]
    return headers, rows


def api_throughput(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            "orders" if p["kind"] == "orders" else "health (baseline)",
            p["clients"],
            p["requests"],
            p["errors"],
            p["requests_per_s"],
            p["p50_ms"],
            p["p95_ms"],
            p["p99_ms"],
        ]
        for p in data["phases"]
    ]
    ratios = data["ratios"]
    rows.append(
        [
            "orders / health",
            "",
            "",
            "",
            fixed(ratios["throughput_orders_vs_health"]),
            "",
            "",
            fixed(ratios["p99_orders_vs_health"]),
        ]
    )
    headers = ["phase", "clients", "requests", "errors", "req/s"]
    return [*headers, "p50 ms", "p95 ms", "p99 ms"], rows


def ws_fanout(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            s["scenario"],
            s["dispatch_clients"],
            s["positions_sent"],
            s["coverage_pct"],
            s["p50_ms"],
            s["p95_ms"],
            s["p99_ms"],
            s["max_ms"],
            fixed(s["p99_vs_baseline"]),
            str((s["stalled_client"] or {}).get("close_code") or "-"),
        ]
        for s in data["scenarios"]
    ]
    headers = ["scenario", "clients", "positions sent", "coverage %", "p50 ms"]
    headers += ["p95 ms", "p99 ms", "max ms", "p99 / baseline", "stalled client closed"]
    return headers, rows


def live_map(data: dict[str, Any]) -> tuple[list[str], Rows]:
    """One row per page: ours, then the naive baselines."""
    rows: Rows = [
        [
            p["page"],
            p["first_map_s"],
            p["updates_drawn"],
            p["p50_ms"],
            p["p95_ms"],
            p["max_ms"],
            fixed(p["p95_vs_ours"]),
            p["long_tasks_per_min"],
            p["longest_task_ms"],
            p["js_heap_mb"],
            p["bytes_per_rider_update"],
        ]
        for p in data["pages"]
    ]
    headers = ["page", "first map s", "updates timed", "p50 ms", "p95 ms", "max ms"]
    headers += ["p95 / ours", "long tasks / min", "longest task ms", "JS heap MB"]
    headers += ["bytes / rider update"]
    return headers, rows


def rider_route_view(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            r["case"],
            r["calls"],
            fixed(r["median_ms"]),
            fixed(r["max_ms"]),
            r["audit_rows"],
        ]
        for r in data["rows"]
    ]
    return ["case", "calls", "median ms", "max ms", "audit rows (all calls)"], rows


def ingest_throughput(data: dict[str, Any]) -> tuple[list[str], Rows]:
    """One row per scenario: ours, then each baseline that ran it."""
    pipelines = ("batched", "naive", "naive-insert")
    by: dict[str, dict[str, dict[str, Any]]] = {}
    for r in data["results"]:
        scenario = r["scenario"]
        if scenario == "drain":
            scenario = f"drain ({r['readings_per_message']}/msg)"
        by.setdefault(scenario, {})[r["pipeline"]] = r
    rows: Rows = []
    for scenario, runs in by.items():
        drain = scenario.startswith("drain")
        row: list[object] = [scenario]
        for name in pipelines:
            r = runs.get(name)
            if r is None:
                row += ["-", "-", "-"]
                continue
            lost = "not drained" if r["lost"] is None else num(r["lost"])
            row += [
                _round(r["readings_per_s"]),
                f"{lost} / {r['duplicates']}",
                # a drain's latencies are the backlog's age: not shown
                "-" if drain else _round(r["p99_publish_to_commit_ms"]),
            ]
        ours = runs.get("batched")
        row.append(_round(ours["p99_publish_to_alert_ms"]) if ours else "-")
        loads = [r["extra"] for r in runs.values()]
        row.append(
            f"{loads[0]['loadavg_1m_before']:.1f}-{loads[-1]['loadavg_1m_after']:.1f}"
        )
        rows.append(row)
    headers = ["scenario"]
    for name in ("ours", "naive", "naive-insert"):
        headers += [f"{name} readings/s", "lost / dup", "p99 commit ms"]
    return [*headers, "ours p99 alert ms", "load"], rows


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def ingest_faults(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            r["fault"],
            r["published"],
            r["stored"],
            "not drained" if r["lost"] is None else r["lost"],
            r["duplicates"],
            r["outage_s"],
            r["recovery_s"],
        ]
        for r in data["results"]
    ]
    headers = ["fault", "published", "stored", "lost", "duplicates", "outage s"]
    return [*headers, "recovery s (lag < 1 s)"], rows


def ingest_scaleout(data: dict[str, Any]) -> tuple[list[str], Rows]:
    rows: Rows = [
        [
            r["transport"],
            r["workers"],
            r["fault"],
            r["published"],
            r["readings_per_s"],
            r.get("drain_readings_per_s"),
            "not drained" if r["lost"] is None else r["lost"],
            r["duplicates"],
            r["recovery_s"],
        ]
        for r in data["results"]
    ]
    headers = ["transport", "workers", "fault", "published", "readings/s", "drain/s"]
    return [*headers, "lost", "duplicates", "recovery s (lag < 1 s)"], rows


CITY_KPIS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("delivered / orders", ("delivered", "orders")),
    ("on time %", ("on_time_pct",)),
    ("order-to-door p50 / p95 min", ("order_to_door_p50_min", "order_to_door_p95_min")),
    (
        "onto a rider's route p50 / p95 min",
        ("assignment_p50_min", "assignment_p95_min"),
    ),
    (
        "rider km / min per delivered order",
        ("travel_km_per_order", "travel_min_per_order"),
    ),
    ("orders per rider-hour", ("orders_per_rider_hour",)),
    ("unassigned / open at the end", ("unassigned", "open_at_end")),
    ("excursions injected / detected", ("excursions_injected", "excursions_detected")),
    ("false alarms / OTP failures", ("false_alarms", "otp_failures")),
    (
        "cold-chain delivered after an excursion",
        ("cold_chain_delivered_after_excursion",),
    ),
)
"""(label, KPI keys): one row each; a pair shares a cell as ``a / b``."""
RATIO_ROWS = {"on time %", "order-to-door p50 / p95 min"}
RATIO_ROWS |= {
    "onto a rider's route p50 / p95 min",
    "rider km / min per delivered order",
}
RATIO_ROWS |= {"orders per rider-hour"}


def city_day(data: dict[str, Any]) -> tuple[list[str], Rows]:
    policies = data["policies"]
    names = list(policies)
    paired = len(names) == 2
    rows: Rows = []
    for label, keys in CITY_KPIS:
        cells = [" / ".join(num(policies[p][k], 1) for k in keys) for p in names]
        ratio = ""
        if paired and label in RATIO_ROWS:
            ratio = " / ".join(fixed(data["ratios"].get(k)) for k in keys)
        rows.append([label, *cells, *([ratio] if paired else [])])
    counts = data.get("replan_rounds", {})
    rounds = [
        f"{counts[p]['applied']} / {counts[p]['rounds']}"
        if {"applied", "rounds"} <= set(counts.get(p, {}))
        else "-"
        for p in names
    ]
    rows.append(["re-plan rounds applied / total", *rounds, *([""] if paired else [])])
    return ["KPI", *names, *([f"{names[0]} / {names[1]}"] if paired else [])], rows


TABLES: dict[str, Callable[[dict[str, Any]], tuple[list[str], Rows]]] = {
    "routing_quality": routing_quality,
    "dispatch_scale": dispatch_scale,
    "replan_latency": replan_latency,
    "joint_vs_nearest": joint_vs_nearest,
    "sourcing_throughput": sourcing_throughput,
    "api_throughput": api_throughput,
    "ws_fanout": ws_fanout,
    "live_map": live_map,
    "rider_route_view": rider_route_view,
    "ingest_throughput": ingest_throughput,
    "ingest_faults": ingest_faults,
    "ingest_scaleout": ingest_scaleout,
    "city_day": city_day,
}


def render(name: str, results: Path = RESULTS) -> str:
    """The Markdown block for one benchmark: its table, then where it came from."""
    data = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
    headers, rows = TABLES[name](data)
    return "\n".join([*markdown(headers, rows), "", provenance(data["meta"])]) + "\n"


def rewrite(text: str, results: Path = RESULTS) -> str:
    """``text`` with every marked table rebuilt from ``results``."""
    return MARKER.sub(
        lambda m: m.group(1) + render(m.group("name"), results) + m.group(4), text
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = rewrite(text)
    if new == text:
        return 0
    if args.check:
        print(f"{README} is out of step: run python -m benchmarks.results_tables")
        return 1
    README.write_text(new, encoding="utf-8")
    print(f"rewrote the results tables in {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
