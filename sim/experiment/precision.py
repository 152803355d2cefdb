"""``--precision R``: add replications in rounds until the headline is known well enough.

The headline interval (connects per rep-hour) of every strategy must reach a
relative half-width of at most ``R``. Rounds continue the replication indices
(0..N1-1, then N1..N2-1, ...) and each replication depends only on (seed, index),
so the final result is exactly the plain run with the final N. Round sizes depend
only on the results so far, never on the number of workers: the same scenario and
seed stop at the same N on any machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.analysis.compare import HEADLINE
from sim.experiment.executors import Executor
from sim.experiment.replications import ReplicationResult, RunResult, run_experiment
from sim.scenario.schema import Scenario

MIN_FIRST_ROUND = 2  # an interval needs two replications
MIN_STEP = 2  # replications added per round, at least
DEFAULT_MAX_REPLICATIONS = 200


@dataclass
class PrecisionOutcome:
    """How a ``--precision`` run ended; ``relative_half_width`` per strategy at the end."""

    target: float
    max_replications: int
    reached: bool = False
    rounds: list[int] = field(default_factory=list)  # replications done after each round
    relative_half_width: dict[str, float] = field(default_factory=dict)

    @property
    def replications(self) -> int:
        return self.rounds[-1] if self.rounds else 0

    def worst(self) -> tuple[str, float]:
        name = max(self.relative_half_width, key=lambda s: _or_inf(self.relative_half_width[s]))
        return name, self.relative_half_width[name]

    def message(self) -> str:
        name, worst = self.worst()
        if self.reached:
            return (f"precision reached: connects per rep-hour within ±{self.target:.1%} for "
                    f"every strategy after {self.replications} replications "
                    f"({len(self.rounds)} round{'s' if len(self.rounds) != 1 else ''}; "
                    f"widest {name} ±{worst:.2%})")
        return (f"precision NOT reached: the cap of {self.max_replications} replications came "
                f"first; connects per rep-hour is only known to ±{_pct(worst)} for {name} "
                f"(target ±{self.target:.1%}). Raise --max-replications or relax --precision.")

    def to_manifest(self) -> dict:
        return {
            "metric": HEADLINE,
            "target_relative_half_width": self.target,
            "max_replications": self.max_replications,
            "reached": self.reached,
            "rounds": list(self.rounds),
            "relative_half_width": {k: (None if not math.isfinite(v) else round(v, 6))
                                    for k, v in self.relative_half_width.items()},
        }


def _or_inf(x: float) -> float:
    return math.inf if math.isnan(x) else x


def _pct(x: float) -> str:
    return f"{x:.2%}" if math.isfinite(x) else "nothing (interval unbounded)"


def next_total(done: int, worst_relative_half_width: float, target: float, cap: int) -> int:
    """Replications to have after the next round.

    Half-widths shrink like 1/sqrt(N), so ``N * (worst / target)^2`` is the projected
    need; a round at least adds ``MIN_STEP`` and at most doubles N (a noisy early sd
    should not launch a huge round), and never passes ``cap``.
    """
    worst = _or_inf(worst_relative_half_width)
    projected = math.ceil(done * (worst / target) ** 2) if math.isfinite(worst) else 2 * done
    return min(cap, max(done + MIN_STEP, min(projected, 2 * done)))


def run_to_precision(
    scenario: Scenario,
    *,
    seed: int,
    first_round: int,
    target: float,
    max_replications: int,
    strategies: tuple[str, ...],
    executor: Executor | None = None,
    calls_dir: Path | None = None,
    on_done: Callable[[ReplicationResult], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_progress: Callable[[int, float], None] | None = None,
) -> tuple[RunResult, PrecisionOutcome]:
    """Run rounds until every strategy's headline relative half-width is <= ``target``.

    ``on_plan(total)`` is told the planned replication count before each round (for a
    progress bar).
    """
    if not target > 0:
        raise ValueError("target must be > 0")
    started = time.perf_counter()
    outcome = PrecisionOutcome(target, max_replications)
    done: list[ReplicationResult] = []
    total = min(max(first_round, MIN_FIRST_ROUND), max_replications)
    while True:
        if on_plan is not None:
            on_plan(total)
        part = run_experiment(scenario, seed=seed, replications=range(len(done), total),
                              strategies=strategies, executor=executor, calls_dir=calls_dir,
                              on_done=on_done, on_progress=on_progress)
        done += part.replications
        result = RunResult(scenario, seed, strategies, done, time.perf_counter() - started)
        outcome.rounds.append(total)
        outcome.relative_half_width = {
            name: result.interval(name, HEADLINE).relative_half_width for name in strategies
        }
        _name, worst = outcome.worst()
        if worst <= target:
            outcome.reached = True
            return result, outcome
        if total >= max_replications:
            return result, outcome
        total = next_total(total, worst, target, max_replications)
