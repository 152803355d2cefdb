"""Benchmark: `dialsim fit` on a 1,000,000-call log (target: under 60 s and 2 GB on 2 cores).

    .venv/bin/python bench/fit.py [--calls 1000000] [--keep DIR]

Makes the log with dialsim itself (one replication of a large team, strategy
`first_n`, so messages, silent misses and callbacks all occur), then times
`dialsim fit --no-report` on it in a fresh process pinned to two cores, and again
with the report (which also simulates the fitted scenario), and reports each wall
time and peak memory (max RSS). Writes bench/fit_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALLS_PER_PROSPECT = 5.0  # about, for the scenario below (measured)


def make_log(folder: Path, calls: int) -> Path:
    """A dialsim calls.parquet with about ``calls`` rows."""
    from sim.experiment.runs import execute_run
    from sim.scenario.schema import build_scenario

    prospects = int(calls / CALLS_PER_PROSPECT)
    scenario = build_scenario({
        "schema_version": 1, "name": "bench-fit",
        "calendar": {"days": 20}, "team": {"reps": max(10, prospects // 1300)},
        "prospects": {"count": prospects},
        "strategies": [{"name": "first_n", "kind": "first_n", "n": 2}],
    }, "bench")
    out = folder / "run"
    execute_run(scenario, out_dir=out, seed=1, replications=1, strategies=("first_n",),
                workers=1, calls=True)
    return out / "calls.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the log and fitted scenario in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dialsim-bench-fit-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log = make_log(folder, args.calls)
    made_s = time.perf_counter() - started
    import pyarrow.parquet as pq

    rows = pq.read_metadata(log).num_rows
    pin = ["taskset", "-c", "0,1"] if os.path.exists("/usr/bin/taskset") and os.cpu_count() >= 2 else []
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    result = {"calls": rows}
    for label, extra in (("fit", ["--no-report"]), ("fit_and_report", [])):
        out = folder / f"{label}.toml"
        for stale in (out, folder / f"{label}-fit.html", folder / f"{label}-fit.png"):
            stale.unlink(missing_ok=True)
        command = [sys.executable, "-m", "cli", "fit", str(log), "-o", str(out), "-s", "first_n", *extra]
        # a fresh child each time: RUSAGE_CHILDREN's max RSS covers the largest child so far,
        # and the report's run (the larger one) goes second
        started = time.perf_counter()
        proc = subprocess.run(pin + command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall_s = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if proc.returncode != 0:
            sys.exit(f"dialsim fit failed:\n{proc.stderr}")
        result[f"{label}_wall_s"] = round(wall_s, 1)
        result[f"{label}_peak_rss_mb"] = round(peak_kb / 1024, 0)
    result.update({"cores": 2 if pin else os.cpu_count(), "log_made_in_s": round(made_s, 1),
                   "python": platform.python_version(), "machine": platform.platform()})
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "fit_results.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
