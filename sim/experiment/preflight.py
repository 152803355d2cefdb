"""Before a run starts: will it fit in memory, and are the counts sane?

:func:`memory_estimate` is the ONE place that knows what a run holds in memory; when
the model's memory use changes (the kernel rewrite makes the per-attempt draws
lazy), update it here and nowhere else. It errs on the high side for the dominant
terms, measured on the bundled baseline (docs/limits.md, "Memory"):

- each worker process: ~150 MB of interpreter and libraries, plus per replication
  the table of ``prospects dialled x max_attempts x DRAWS_PER_ATTEMPT`` float32
  values (drawn as the dialler reaches prospects, growing by doubling: bounded by
  twice the most prospects the team could dial, at one dial per line per second,
  and by the list) and ~256 bytes of other state per prospect on the list;
- the parent: ~200 MB, plus ~400 bytes per timeline row it collects (strategies x
  replications x (days + 1) x 24) and per caller-ID row (strategies x replications
  x days x numbers).

A run is refused when the estimate is above the memory the system reports as
available (``MemAvailable``), naming the estimate and the keys that drive it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import UserError

MiB = 1 << 20
GiB = 1 << 30
MAX_REPLICATIONS = 100_000  # -n, --max-replications and experiment.replications
WORKER_BASE_BYTES = 150 * MiB
PARENT_BASE_BYTES = 200 * MiB
DRAWS_PER_ATTEMPT = 20  # float32 values pre-drawn per prospect and attempt (sim.model.streams)
PROSPECT_STATE_BYTES = 256
MIN_DIAL_S = 1.0  # no dial resolves faster: the bound on prospects reached in a run
DRAW_BLOCK = 4096  # prospects drawn at least at a time (sim.model.streams.DrawTable)
TIMELINE_ROW_BYTES = 400
NUMBERS_ROW_BYTES = 400


def max_local_workers() -> int:
    """Cap of --workers: 4 processes per core this process may use (more only thrash)."""
    from sim.experiment.executors import default_workers

    return 4 * default_workers()


def check_counts(replications: int | None = None, workers: int | None = None,
                 max_replications: int | None = None) -> None:
    """-n, --workers and --max-replications within their ranges, or one clear line."""
    for option, value, high in (("--replications/-n", replications, MAX_REPLICATIONS),
                                ("--max-replications", max_replications, MAX_REPLICATIONS),
                                ("--workers", workers, max_local_workers())):
        if value is None:
            continue
        low = 2 if option == "--max-replications" else 1
        if not low <= value <= high:
            extra = " (4 per core here)" if option == "--workers" else ""
            raise UserError(f"{option} {value}: must be from {low} to {high:,}{extra}")


@dataclass(frozen=True)
class MemoryEstimate:
    total_bytes: int
    per_worker_bytes: int
    parent_bytes: int
    workers: int
    drivers: str  # the keys that drive it, with their values

    def describe(self) -> str:
        return (f"~{self.total_bytes / GiB:.1f} GiB ({self.workers} x "
                f"{self.per_worker_bytes / GiB:.2f} GiB per worker + "
                f"{self.parent_bytes / GiB:.2f} GiB for the results; driven by {self.drivers})")


def memory_estimate(scenario, *, replications: int, strategies: int, workers: int,
                    keeps_timelines: bool = True) -> MemoryEstimate:
    """Peak memory of a run of ``scenario`` (a validated Scenario), on the high side.

    ``workers`` processes each hold one replication at a time (1 = serial: the
    parent does the work and holds one replication too). ``keeps_timelines`` is off
    for sweeps, whose parent keeps only summary rows.
    """
    n = scenario.prospects.count
    attempts = scenario.cadence.max_attempts
    days = scenario.calendar.days
    lines = scenario.team.reps * scenario.team.lines_per_rep
    reachable = days * lines * scenario.calendar.paid_hours_per_day() * 3600.0 / MIN_DIAL_S
    drawn = min(n, max(DRAW_BLOCK, int(2 * reachable)))
    per_worker = (WORKER_BASE_BYTES + drawn * attempts * DRAWS_PER_ATTEMPT * 4
                  + n * PROSPECT_STATE_BYTES)
    parent = PARENT_BASE_BYTES
    drivers = [f"prospects.count={n:,}", f"cadence.max_attempts={attempts}"]
    if drawn < n:  # the team, not the list, bounds the draws
        drivers += [f"team.reps={scenario.team.reps:,}", f"calendar.days={days:,}"]
    if keeps_timelines:
        rows = strategies * replications * (days + 1) * 24
        parent += rows * TIMELINE_ROW_BYTES
        drivers += [f"calendar.days={days:,}", f"replications={replications:,}",
                    f"strategies={strategies}"]
        if scenario.caller_id.enabled:
            pools = scenario.team.reps if scenario.caller_id.pool == "per_rep" else 1
            numbers = pools * scenario.caller_id.numbers_per_pool
            parent += strategies * replications * days * numbers * NUMBERS_ROW_BYTES
            drivers.append(f"caller_id numbers={numbers:,}")
    if workers > 1:
        drivers.append(f"workers={workers}")
        total = parent + workers * per_worker
    else:
        total = parent + per_worker - WORKER_BASE_BYTES  # one process does both
    drivers = list(dict.fromkeys(drivers))  # each key once
    return MemoryEstimate(int(total), int(per_worker), int(parent), workers, ", ".join(drivers))


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping (psutil's ``available``), or None."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with dask[distributed]
        return None
    return int(psutil.virtual_memory().available)


def check_memory(estimate: MemoryEstimate, label: str, available: int | None = None) -> None:
    """Refuse a run whose estimate is above the available memory (one line)."""
    available = available_memory_bytes() if available is None else available
    if available is None or estimate.total_bytes <= available:
        return
    raise UserError(f"{label}: needs {estimate.describe()}, more than the "
                    f"{available / GiB:.1f} GiB of memory available; lower those keys or "
                    "--workers")
