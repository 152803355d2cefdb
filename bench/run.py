"""dialsim performance benchmark: the model against the bare simpy floor.

Run it with ``make bench`` (or ``.venv/bin/python bench/run.py``); ``--quick`` runs
the same measurements on small workloads (a smoke test, not numbers to quote).
It prints one table and writes ``bench/results.json``; docs/performance.md says
what each line means and records the numbers with the machine they came from.

Measurements (all on fixed workloads, so runs are comparable):

- model: every strategy of scenarios/baseline.toml over a few replications, run as
  ``dialsim run`` runs them (``run_replication``: world, campaigns, metrics);
  simulated dials and rep-hours per CPU second;
- floor: in the same process, a bare simpy loop placing the same number of dials
  across the same number of rep processes, ONE ``env.timeout`` per dial and nothing
  else: the least any simpy model of this workload can cost. Model and floor are
  timed alternately, ``--repeats`` times, and the best of each is kept, so a busy
  machine slows both alike; the headline is the ratio of their rates;
- large: one replication (every strategy) of 200 reps x 60 days x 100,000
  prospects, in a fresh process: wall time, CPU time and peak RSS;
- memory: peak RSS at 6 and at 60 days of the same team, without and with the
  per-call log, each in its own fresh processes (same imports, same code path; the
  median of 3), and the part of it that is not draws: the draws follow the prospects
  and attempts the team reaches (issue 10), the rest must not grow with calls;
- every fresh process turns transparent huge pages off for itself (with them, one
  process's peak moved by ~15 MB: a byte written can commit a 2 MB page);
- every dialer mode: the same model-vs-floor ratio on the parallel (3 lines) and
  predictive (20 reps) example scenarios, and the wall time of
  ``dialsim run scenarios/predictive_dialer.toml`` (20 replications, local workers);
- scaling: CPU per dial at 4,000 reps against 40 (200 prospects a rep, 2 days), and
  at 400 reps on 400,000 prospects against 40 on 40,000 (5 days); peak RSS of the
  baseline team on a 1,000,000-prospect list; each in a fresh process;
- sweep: points per second of a fixed sweep with 1 and with 2 local workers, after
  an untimed warm-up so neither pays the lazy imports; the best of 2 timed runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
PARALLEL = ROOT / "scenarios" / "parallel_dialer.toml"
PREDICTIVE = ROOT / "scenarios" / "predictive_dialer.toml"
RESULTS = Path(__file__).resolve().parent / "results.json"

# Fixed workloads: (full, quick).
MODEL_REPLICATIONS = (4, 1)
REPEATS = (5, 1)  # best of 5: the floor alone varies by ~10% from run to run here
LARGE = ({"team.reps": 200, "calendar.days": 60, "prospects.count": 100_000},
         {"team.reps": 20, "calendar.days": 6, "prospects.count": 10_000})
# Memory growth: a team that never runs out of prospects, so calls grow with days.
MEMORY_TEAM = ({"team.reps": 10, "prospects.count": 100_000},
               {"team.reps": 4, "prospects.count": 10_000})
MEMORY_DAYS = ((6, 60), (2, 20))
MEMORY_STRATEGY = "always"
PEAK_RUNS = (3, 1)  # fresh processes per peak-RSS figure (the median is kept)
# 120 points: ~10 s with one worker (the kernel made 40 points too short: a spawned
# worker's ~0.6 s of imports then weighed half of the second core's gain).
SWEEP = ({"points": 120, "replications": 2}, {"points": 4, "replications": 1})
SWEEP_STRATEGIES = ("never", "always", "rotate")

# every dialer mode: (scenario, overrides, replications) (full, quick)
MODES = {
    "parallel": ((PARALLEL, {}, 1), (PARALLEL, {"calendar.days": 1}, 1)),
    "predictive": ((PREDICTIVE, {"calendar.days": 2}, 1),
                   (PREDICTIVE, {"calendar.days": 1, "team.reps": 10, "prospects.count": 10_000}, 1)),
}
# scaling: (reps, prospects, days) pairs whose CPU per dial is compared (full, quick)
SCALING = {
    "reps": (((40, 8_000, 2), (4_000, 800_000, 2)), ((10, 2_000, 1), (400, 80_000, 1))),
    "list": (((40, 40_000, 5), (400, 400_000, 5)), ((10, 10_000, 2), (40, 40_000, 2))),
}
MILLION = ({"prospects.count": 1_000_000}, {"prospects.count": 100_000})

TARGETS = {"ratio": 0.5, "ratio_power": 0.64, "large_wall_s": 120.0, "memory_ratio": 1.2,
           "sweep_speedup": 1.8, "predictive_run_s": 120.0, "scaling_reps": 1.5,
           "scaling_list": 1.3, "million_prospects_mb": 250.0}


# --------------------------------------------------------------------------- floor
def floor_run(reps: int, dials: int, dial_s: float) -> int:
    """A bare simpy loop: ``reps`` processes placing ``dials`` dials, one timeout each.

    Returns the number of dials placed (each process returns its count when done).
    """
    import simpy

    env = simpy.Environment()
    timeout = env.timeout

    def rep(k):
        for _ in range(k):
            yield timeout(dial_s)
        return k

    per, extra = divmod(dials, reps)
    procs = [env.process(rep(per + (r < extra))) for r in range(reps)]
    env.run()
    return sum(proc.value for proc in procs)


# --------------------------------------------------------------------------- model
def load(overrides: dict | None = None, path: Path = BASELINE):
    from sim.scenario.schema import load_scenario

    # key=value overrides as `dialsim run --set` takes them (JSON scalars are TOML values)
    return load_scenario(path, [f"{key}={json.dumps(value)}" for key, value in (overrides or {}).items()])


def model_vs_floor(scenario, replications: int, repeats: int, seed: int = 7,
                   engine: str | None = None) -> dict:
    """Time the full model and the floor on the same dials, alternately; keep the best.

    ``engine``: the kernel build (sim.experiment.engine: "compiled" or "python"; None = the default)."""
    from sim.experiment.engine import ENV_VAR
    from sim.experiment.replications import make_tasks, run_replication

    tasks = make_tasks(scenario, seed, range(replications), tuple(scenario.strategy_names()))
    model_cpu, model_wall, floor_cpu = [], [], []
    rows = []
    for _ in range(repeats):
        before = os.environ.get(ENV_VAR)
        if engine is not None:
            os.environ[ENV_VAR] = engine
        try:
            cpu, wall = time.process_time(), time.perf_counter()
            rows = [row for task in tasks for row in run_replication(task).rows]
            model_cpu.append(time.process_time() - cpu)
            model_wall.append(time.perf_counter() - wall)
        finally:
            if before is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = before
        cpu = time.process_time()
        placed = 0
        for row in rows:  # one floor run per campaign: same reps, same dials
            mean_dial_s = row["rep_hours"] * 3600.0 / max(1, row["dials"])
            placed += floor_run(scenario.team.reps, row["dials"], mean_dial_s)
        floor_cpu.append(time.process_time() - cpu)
    dials = sum(row["dials"] for row in rows)
    rep_hours = sum(row["rep_hours"] for row in rows)
    best_model, best_floor = min(model_cpu), min(floor_cpu)
    from sim.experiment.engine import select

    return {
        "engine": select(engine, warn=False).name,
        "campaigns": len(rows),
        "reps": scenario.team.reps,
        "dials": dials,
        "floor_dials": placed,
        "rep_hours": rep_hours,
        "model_cpu_s": best_model,
        "model_wall_s": min(model_wall),
        "floor_cpu_s": best_floor,
        "model_dials_per_s": dials / best_model,
        "model_rep_hours_per_s": rep_hours / best_model,
        "floor_dials_per_s": dials / best_floor,
        "ratio": best_floor / best_model,
        "repeats": repeats,
    }


# --------------------------------------------------------------------------- fresh processes
def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _no_huge_pages() -> bool:
    """Turn transparent huge pages off for this process (Linux prctl PR_SET_THP_DISABLE),
    so its peak RSS counts the pages it writes: with them on, one touched byte can commit
    a 2 MB page, and the same run peaked at 120 or at 136 MB from one process to the next."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: RSS as the system gives it
        return False


def child(spec: dict) -> dict:
    """One measurement in this (fresh) process: one replication; time, peak RSS and the
    bytes of draws made (they follow the prospects and attempts reached, not calls)."""
    thp_off = _no_huge_pages()
    import sim.experiment.replications as replications
    from sim.experiment.replications import make_tasks, run_replication

    worlds = []
    build_world = replications.build_world  # keep the world, to weigh its draws after the run

    def keep_world(*args, **kwargs):
        worlds.append(build_world(*args, **kwargs))
        return worlds[-1]

    replications.build_world = keep_world
    scenario = load(spec["overrides"], Path(spec.get("scenario", BASELINE)))
    strategies = tuple(spec.get("strategies") or scenario.strategy_names())
    with tempfile.TemporaryDirectory(prefix="dialsim-bench-") as calls_dir:
        task = make_tasks(scenario, spec.get("seed", 7), [0], strategies,
                          Path(calls_dir) if spec.get("calls") else None)[0]
        rss_ready = _rss_mb()  # imports and scenario loaded, nothing simulated yet
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_replication(task)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        log_rows = 0
        if spec.get("calls"):
            import pyarrow.parquet as pq

            log_rows = sum(pq.ParquetFile(part).metadata.num_rows for part in result.calls_parts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    draws = sum(table.nbytes for world in worlds
                for table in (world.draws, world.channel_draws) if table is not None)
    return {
        "huge_pages_off": thp_off,
        "draws_mb": draws / 2**20,
        "wall_s": wall,
        "cpu_s": cpu,
        "dials": sum(row["dials"] for row in result.rows),
        "campaigns": len(result.rows),
        "call_log_rows": log_rows,
        "rss_ready_mb": rss_ready,
        "peak_rss_mb": peak,
    }


def in_fresh_process(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_of_fresh_processes(spec: dict, times: int) -> dict:
    """The run of ``spec`` with the median peak RSS of ``times`` fresh processes (one
    process's peak is not a measurement: with huge pages on it moved by ~15 MB here,
    enough to move a ratio of two peaks by 0.1; they are off in each child now)."""
    runs = sorted((in_fresh_process(spec) for _ in range(times)), key=lambda run: run["peak_rss_mb"])
    return {**runs[len(runs) // 2], "peak_rss_mb_runs": [run["peak_rss_mb"] for run in runs]}


def memory_growth(team: dict, days: tuple[int, int], times: int) -> dict:
    out = {}
    for calls in (False, True):
        runs = [peak_of_fresh_processes({"overrides": {**team, "calendar.days": d}, "calls": calls,
                                         "strategies": [MEMORY_STRATEGY]}, times) for d in days]
        out["with_log" if calls else "without_log"] = {
            "days": list(days),
            "dials": [run["dials"] for run in runs],
            "call_log_rows": [run["call_log_rows"] for run in runs],
            "peak_rss_mb": [run["peak_rss_mb"] for run in runs],  # median of `times` processes
            "peak_rss_mb_runs": [run["peak_rss_mb_runs"] for run in runs],
            "rss_ready_mb": [run["rss_ready_mb"] for run in runs],
            "draws_mb": [run["draws_mb"] for run in runs],
            "wall_s": [run["wall_s"] for run in runs],
            "ratio": runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"],
            # the growth that would come from calls: the draws grow with the prospects and
            # attempts reached (at most list x attempts x 84 bytes), by design
            "ratio_without_draws": ((runs[1]["peak_rss_mb"] - runs[1]["draws_mb"])
                                    / (runs[0]["peak_rss_mb"] - runs[0]["draws_mb"])),
        }
    return out


def scaling(pairs, quick: bool) -> dict:
    """CPU per dial of the baseline team at two sizes (fresh processes, one strategy)."""
    runs = []
    for reps, prospects, days in pairs:
        run = in_fresh_process({"overrides": {"team.reps": reps, "prospects.count": prospects,
                                              "calendar.days": days}, "strategies": ["never"]})
        runs.append({"reps": reps, "prospects": prospects, "days": days, "dials": run["dials"],
                     "cpu_s": run["cpu_s"], "us_per_dial": 1e6 * run["cpu_s"] / max(1, run["dials"]),
                     "peak_rss_mb": run["peak_rss_mb"]})
    return {"runs": runs, "ratio": runs[1]["us_per_dial"] / runs[0]["us_per_dial"]}


def predictive_run(quick: bool) -> dict:
    """Wall time of `dialsim run scenarios/predictive_dialer.toml` as a user runs it."""
    dialsim = Path(sys.executable).with_name("dialsim")
    extra = ["-n", "2", "--set", "calendar.days=1"] if quick else []
    with tempfile.TemporaryDirectory(prefix="dialsim-bench-") as tmp:
        started = time.perf_counter()
        subprocess.run([str(dialsim), "run", str(PREDICTIVE), "--quiet", "--out",
                        str(Path(tmp) / "out"), *extra], check=True, capture_output=True, cwd=ROOT)
        wall = time.perf_counter() - started
    return {"wall_s": wall, "replications": 2 if quick else 20, "command_extra": extra}


# --------------------------------------------------------------------------- sweep
def sweep_throughput(points: int, replications: int, workers: int, warm_up: bool = True,
                     timed_runs: int = 2) -> dict:
    """Points per second of a fixed sweep (grid over callbacks.p_callback), timed with
    warm imports: the same workers first run a small untimed sweep (every worker
    imports dialsim and builds a scenario before the clock starts), so 1 and 2 workers
    are timed alike, on the sweep's own work; the best of ``timed_runs`` runs counts."""
    from sim.experiment.executors import local_executor
    from sim.experiment.sweep import load_sweep, run_sweep

    def sweep_file(folder: Path, values: list[float], reps: int) -> Path:
        path = folder / f"bench_sweep_{len(values)}.toml"
        path.write_text(
            f'schema_version = 1\nname = "bench"\nbase = "{BASELINE}"\n'
            f"replications = {reps}\nseed = 1\n"
            f"strategies = {json.dumps(list(SWEEP_STRATEGIES))}\n"
            f'[grid]\n"callbacks.p_callback" = {json.dumps(values)}\n')
        return path

    values = [round(0.01 + 0.002 * i, 4) for i in range(points)]
    with tempfile.TemporaryDirectory(prefix="dialsim-bench-") as tmp:
        folder = Path(tmp)
        cpu_before = _cpu_self_and_children()
        block_started = time.perf_counter()
        with local_executor(workers) as executor:
            if warm_up:  # one point per worker, twice: every worker started and warm
                warm = [round(0.5 + 0.01 * i, 4) for i in range(2 * workers)]
                run_sweep(load_sweep(sweep_file(folder, warm, 1)), folder / "warm", executor)
            sweep = load_sweep(sweep_file(folder, values, replications))
            walls = []
            for run in range(timed_runs):  # the best of a few, as for model and floor
                started = time.perf_counter()
                outcome = run_sweep(sweep, folder / f"out{run}", executor)
                walls.append(time.perf_counter() - started)
                if not outcome.ok:
                    raise RuntimeError(f"bench sweep failed: {outcome.failed}")
            wall = min(walls)
            api = "run_sweep"
    # CPU of this process and its workers (counted once joined), warm-up included
    cpu = _cpu_self_and_children() - cpu_before
    block_wall = time.perf_counter() - block_started
    return {"workers": workers, "points": points, "replications": replications,
            "wall_s": wall, "wall_s_runs": walls, "points_per_s": points / wall, "api": api,
            "cpu_s": cpu, "cores_busy": cpu / block_wall}


def _cpu_self_and_children() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


# --------------------------------------------------------------------------- report
def machine() -> dict:
    import Cython
    import numpy
    import simpy

    from sim.experiment.engine import select

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "sim"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = "unknown", False
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "numpy": numpy.__version__,
        "cython": Cython.__version__,
        "kernel": select(warn=False).name,  # what the model, large, memory and sweep ran
        "platform": platform.platform(),
        "git_commit": commit + ("+dirty" if dirty else ""),
        "load_average_at_start": list(os.getloadavg()),
    }


def rows_for_table(r: dict) -> list[tuple[str, str, str]]:
    m, lg, mem, sw = r["model_vs_floor"], r["large"], r["memory"], r["sweep"]
    t = r["targets"]
    ok = {True: "met", False: "MISSED"}
    py = r.get("model_vs_floor_python")
    rows = [
        ("model: dials / CPU s", f"{m['model_dials_per_s']:,.0f}", f"{m['dials']:,} dials, {m['campaigns']} campaigns"),
        ("model: rep-hours / CPU s", f"{m['model_rep_hours_per_s']:,.0f}", ""),
        ("floor: dials / CPU s", f"{m['floor_dials_per_s']:,.0f}", f"{m['reps']} rep processes, 1 timeout per dial"),
        ("ratio model / floor, power", f"{m['ratio']:.2f}",
         f"{m['engine']} kernel; >= {t['ratio_power']} (the issue-6 code on 2026-11-23; "
         f"bench/versus.py measures both in one session): {ok[m['ratio'] >= t['ratio_power']]}"),
        *[(f"ratio model / floor, {mode}", f"{r['modes'][mode]['ratio']:.2f}",
           f"{r['modes'][mode]['dials']:,} dials, {r['modes'][mode]['reps']} reps; "
           f"target >= {t['ratio']}: {ok[r['modes'][mode]['ratio'] >= t['ratio']]}")
          for mode in r.get("modes", {})],
        *([("dialsim run predictive_dialer: wall s", f"{r['predictive_run']['wall_s']:.0f}",
            f"{r['predictive_run']['replications']} replications; target < {t['predictive_run_s']:.0f}: "
            f"{ok[r['predictive_run']['wall_s'] < t['predictive_run_s']]}")] if "predictive_run" in r else []),
        *[(f"scaling {kind}: CPU per dial", f"x{r['scaling'][kind]['ratio']:.2f}",
           " -> ".join(f"{x['reps']} reps/{x['prospects']:,}: {x['us_per_dial']:.2f} us"
                       for x in r['scaling'][kind]['runs'])
           + f"; target <= {t['scaling_' + kind]}: {ok[r['scaling'][kind]['ratio'] <= t['scaling_' + kind]]}")
          for kind in r.get("scaling", {})],
        *([("1M-prospect list: peak RSS MB", f"{r['million']['peak_rss_mb']:.0f}",
            f"{r['million']['dials']:,} dials; target < {t['million_prospects_mb']:.0f}: "
            f"{ok[r['million']['peak_rss_mb'] < t['million_prospects_mb']]}")] if "million" in r else []),
        *([("ratio, pure-Python kernel", f"{py['ratio']:.2f}",
             f"{py['model_dials_per_s']:,.0f} dials / CPU s: without a C compiler")] if py else []),
        ("large: wall s", f"{lg['wall_s']:.1f}", f"target < {t['large_wall_s']:.0f}: {ok[lg['wall_s'] < t['large_wall_s']]}"),
        ("large: CPU s", f"{lg['cpu_s']:.1f}", f"{lg['dials']:,} dials, {lg['campaigns']} campaigns"),
        ("large: peak RSS MB", f"{lg['peak_rss_mb']:.0f}", f"{lg['rss_ready_mb']:.0f} MB before simulating"),
    ]
    for key, label in (("without_log", "no call log"), ("with_log", "call log")):
        g = mem[key]
        d0, d1 = g["days"]
        rows.append((f"memory {d0} -> {d1} days, {label}",
                     f"{g['peak_rss_mb'][0]:.0f} -> {g['peak_rss_mb'][1]:.0f} MB",
                     f"x{g['ratio']:.2f} for x{g['dials'][1] / max(1, g['dials'][0]):.1f} dials, of which "
                     f"draws {g['draws_mb'][0]:.0f} -> {g['draws_mb'][1]:.0f} MB; the rest "
                     f"x{g['ratio_without_draws']:.2f}, target <= {t['memory_ratio']}: "
                     f"{ok[g['ratio_without_draws'] <= t['memory_ratio']]}"))
    one, two = sw["1"], sw["2"]
    rows += [
        ("sweep: points / s, 1 worker", f"{one['points_per_s']:.2f}",
         f"{one['points']} points x {one['replications']} reps ({one['api']}); "
         f"{one['cores_busy']:.2f} cores busy"),
        ("sweep: points / s, 2 workers", f"{two['points_per_s']:.2f}",
         f"x{sw['speedup']:.2f}, {two['cores_busy']:.2f} cores busy; "
         f"target >= {t['sweep_speedup']}: {ok[sw['speedup'] >= t['sweep_speedup']]}"),
    ]
    return rows


def print_table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    info = results["machine"]
    table = Table(title=f"dialsim benchmark{' (quick)' if results['quick'] else ''}",
                  caption=f"{info['cpu']}, {info['nproc']} cores, Python {info['python']}, "
                          f"load {info['load_average_at_start'][0]:.1f} at start")
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_column("notes")
    for row in rows_for_table(results):
        table.add_row(*row)
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workloads (smoke test)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results JSON (default {RESULTS.relative_to(ROOT)}; --quick: none)")
    parser.add_argument("--repeats", type=int, default=None, help="model/floor repeats")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    q = 1 if args.quick else 0
    results = {"quick": args.quick, "machine": machine(), "targets": TARGETS}
    step = lambda text: print(f"... {text}", file=sys.stderr, flush=True)  # noqa: E731
    step("model vs floor")
    results["model_vs_floor"] = model_vs_floor(load(), MODEL_REPLICATIONS[q], args.repeats or REPEATS[q])
    if results["model_vs_floor"]["engine"] == "compiled":
        step("model vs floor, pure-Python kernel (the fallback)")
        results["model_vs_floor_python"] = model_vs_floor(
            load(), MODEL_REPLICATIONS[q], args.repeats or REPEATS[q], engine="python")
    results["modes"] = {}
    for mode, specs in MODES.items():
        path, overrides, reps = specs[q]
        step(f"model vs floor, {mode} dialer")
        results["modes"][mode] = {"scenario": path.name, "overrides": overrides,
                                  **model_vs_floor(load(overrides, path), reps,
                                                   args.repeats or REPEATS[q])}
    step("dialsim run scenarios/predictive_dialer.toml")
    results["predictive_run"] = predictive_run(args.quick)
    step("scaling (fresh processes)")
    results["scaling"] = {kind: scaling(pairs[q], args.quick) for kind, pairs in SCALING.items()}
    step("1M-prospect list (fresh process)")
    results["million"] = {"overrides": MILLION[q],
                          **peak_of_fresh_processes({"overrides": MILLION[q]}, PEAK_RUNS[q])}
    step("large campaign (fresh process)")
    results["large"] = {"overrides": LARGE[q], **in_fresh_process({"overrides": LARGE[q]})}
    step("memory growth (fresh processes)")
    results["memory"] = {"team": MEMORY_TEAM[q], "strategy": MEMORY_STRATEGY,
                         **memory_growth(MEMORY_TEAM[q], MEMORY_DAYS[q], PEAK_RUNS[q])}
    step("sweep throughput")
    sweep = {str(w): sweep_throughput(workers=w, **SWEEP[q]) for w in (1, 2)}
    sweep["speedup"] = sweep["2"]["points_per_s"] / sweep["1"]["points_per_s"]
    results["sweep"] = sweep
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    print_table(results)
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if out is not None:
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
