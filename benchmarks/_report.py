"""Shared output helpers for benchmark scripts: a text table and a JSON file.

Every JSON file a benchmark writes carries a ``meta`` block (:func:`run_meta`):
the machine (CPU model, nproc), the load average at the start and at the end of
the run, the date, the git commit, the exact command, whether it was the full
protocol or a quick or reduced variant, and what the in-run baseline is. The
start is taken when this module is first imported, which every benchmark script
does before its own work begins.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
#: Options that make a run smaller than its script's full protocol.
NARROWING = (
    "--instances",
    "--families",
    "--scenarios",
    "--faults",
    "--only",
    "--policy",
    "--duration",
    "--orders",
    "--riders",
    "--repeat",
)


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _cpu_s() -> float:
    """CPU time of this process and of the children it has waited for (servers,
    workers, pools); not of services it merely talks to."""
    usage = map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return sum(u.ru_utime + u.ru_stime for u in usage)


_START_LOAD = _load()
_START_WALL = time.time()
_START_CLOCK = time.perf_counter()
_START_CPU = _cpu_s()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-" if value is None else str(value)


def print_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> None:
    """Print ``rows`` under ``headers`` as an aligned plain-text table."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=False)))


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (else what ``platform`` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_state() -> dict[str, Any]:
    """HEAD's commit, and whether tracked code differs from it (results and
    Markdown files aside, which change while the benchmarks are being run)."""
    commit = _git("rev-parse", "HEAD")
    changed = _git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":(exclude)benchmarks/results",
        ":(exclude)*.md",
    )
    return {"commit": commit, "dirty": bool(changed) if changed is not None else None}


#: The code this run started from (taken at import, before anything can change).
_START_GIT = git_state()


def command() -> str:
    """The command line as typed, with the interpreter spelled ``python``."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    return shlex.join(["python", *argv[1:]])


def variant(argv: list[str]) -> str:
    """``quick`` (``--quick``), ``reduced`` (a narrowing option) or ``full``."""
    if "--quick" in argv:
        return "quick"
    if any(a.split("=", 1)[0] in NARROWING for a in argv):
        return "reduced"
    return "full"


def _service(name: str) -> str | None:
    """A service URL's scheme, host and port (no credentials), or None if unset."""
    url = os.environ.get(name)
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def run_meta(baseline: str | None = None) -> dict[str, Any]:
    """Machine, load at start and end, dates, commit and command of this run."""
    return {
        "command": command(),
        "variant": variant(list(getattr(sys, "orig_argv", sys.argv))),
        "started_at": datetime.fromtimestamp(_START_WALL, UTC).isoformat(
            timespec="seconds"
        ),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.perf_counter() - _START_CLOCK, 1),
        "cpu_s": round(_cpu_s() - _START_CPU, 1),
        "git": _START_GIT,
        "machine": {
            "cpu_model": cpu_model(),
            "nproc": len(os.sched_getaffinity(0)),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_avg": {"start": _START_LOAD, "end": _load()},
        "services": {
            "DATABASE_URL": _service("DATABASE_URL"),
            "MQTT_URL": _service("MQTT_URL"),
        },
        "baseline": baseline,
    }


def write_json(path: str | Path, obj: dict[str, Any], *, baseline: str) -> None:
    """Write ``obj`` and this run's ``meta`` as indented JSON (creating parent
    folders). ``baseline`` says what the in-run baseline in ``obj`` is."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {**obj, "meta": run_meta(baseline)}
    target.write_text(
        json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
