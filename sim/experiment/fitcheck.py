"""Simulate a fitted scenario back and read its calls as a call log (for the fit report).

The fitted scenario is run under the strategy the log shows, with ``--calls``, and
its calls.parquet is read through the same adapter and estimators' helpers as the
team's log, so the two are compared rate for rate.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from sim.calibration.calllog import CallLog
from sim.calibration.pipeline import FitOutcome, load_log
from sim.scenario.schema import build_scenario


def simulate_fitted(outcome: FitOutcome, replications: int = 2, seed: int = 1,
                    workers: int | None = 1) -> CallLog:
    """The calls of the fitted scenario under the log's strategy (else its first)."""
    from sim.experiment.runs import execute_run

    scenario = build_scenario(copy.deepcopy(outcome.scenario), "the fitted scenario")
    strategy = outcome.strategy["name"] if outcome.strategy else scenario.strategy_names()[0]
    with tempfile.TemporaryDirectory(prefix="dialsim-fitcheck-") as folder:
        run = Path(folder) / "run"
        execute_run(scenario, out_dir=run, seed=seed, replications=replications,
                    strategies=(strategy,), workers=workers, calls=True)
        return load_log(run / "calls.parquet", "dialsim", strategy).log
