"""Progress within replications: reports arrive, in order, from here and from local
workers, reach the end of every replication, and never change a result."""

from __future__ import annotations

import io

from rich.console import Console

from sim.experiment.executors import LocalProcessExecutor, SerialExecutor
from sim.experiment.replications import run_experiment
from sim.present.progress import RunProgress

from .conftest import make_scenario


def _run(executor, on_progress=None):
    scenario = make_scenario("calendar.days=3")
    return run_experiment(scenario, seed=4, replications=3, strategies=("never", "always"),
                          executor=executor, on_progress=on_progress)


def _check_reports(reports, replications=3, strategies=2, days=3):
    by_rep = {}
    for rep, share in reports:
        by_rep.setdefault(rep, []).append(share)
    assert sorted(by_rep) == list(range(replications))
    for shares in by_rep.values():
        assert shares == sorted(shares) and shares[-1] == 1.0
        assert len(shares) == strategies * days  # after every simulated day of each strategy


def test_reports_in_this_process_and_results_unchanged():
    reports = []
    with_progress = _run(SerialExecutor(), lambda rep, share: reports.append((rep, share)))
    _check_reports(reports)
    assert with_progress.summary_table().equals(_run(SerialExecutor()).summary_table())


def test_reports_from_local_workers():
    reports = []
    with LocalProcessExecutor(2) as pool:
        result = _run(pool, lambda rep, share: reports.append((rep, share)))
    _check_reports(reports)
    assert result.summary_table().equals(_run(SerialExecutor()).summary_table())


def test_piped_output_is_a_plain_line_now_and_then():
    out = io.StringIO()
    console = Console(file=out, width=100)
    with RunProgress(console, "baseline", total=4, every_s=3600.0) as shown:
        assert not shown.interactive
        shown.plan(4)  # always shown: the total may have changed
        for share in (0.25, 0.5, 0.75):
            shown.partial(0, share)  # within the hour: not shown
        shown.done(replication=0)
    lines = out.getvalue().splitlines()
    assert lines == ["baseline: 0% (0/4 replications, 0 s)"]
    assert shown.completed == 1.0


def test_the_completed_count_includes_running_shares():
    shown = RunProgress(Console(file=io.StringIO()), "x", total=10, every_s=0.0)
    shown.partial(3, 0.5)
    shown.partial(4, 0.25)
    shown.done(replication=1)
    assert shown.completed == 1.75
    shown.done(replication=3)
    assert shown.completed == 2.25
    shown.partial(3, 0.9)  # a report that arrives after its replication ended
    assert shown.completed == 2.25
