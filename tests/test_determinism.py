"""Same scenario + same seed = identical results, run after run and on any executor."""

from __future__ import annotations

import numpy as np

from sim.experiment.executors import LocalProcessExecutor, SerialExecutor
from sim.experiment.replications import run_experiment
from sim.model.streams import build_world

from .conftest import make_scenario


def _run(scenario, seed, executor=None, replications=3):
    return run_experiment(scenario, seed=seed, replications=replications,
                          strategies=tuple(scenario.strategy_names()),
                          executor=executor or SerialExecutor())


def test_same_seed_gives_identical_summaries():
    scenario = make_scenario("team.lines_per_rep=2", "dialer.amd.enabled=true")
    first = _run(scenario, 42).summary_table()
    second = _run(scenario, 42).summary_table()
    assert first.equals(second)
    assert _run(scenario, 42).timeline_table().equals(_run(scenario, 42).timeline_table())


def test_different_seed_gives_different_results():
    scenario = make_scenario()
    a = _run(scenario, 1).summary_table().column("dials").to_pylist()
    b = _run(scenario, 2).summary_table().column("dials").to_pylist()
    assert a != b


def test_serial_equals_parallel_processes():
    scenario = make_scenario()
    serial = _run(scenario, 7, replications=4).summary_table()
    with LocalProcessExecutor(2) as pool:
        parallel = _run(scenario, 7, pool, replications=4).summary_table()
    assert serial.equals(parallel)


def test_replications_use_independent_streams():
    scenario = make_scenario()
    w0, w1 = build_world(scenario, 5, 0), build_world(scenario, 5, 1)
    assert not np.array_equal(w0.draws.upto(), w1.draws.upto())
    # the same replication index is the same world however many replications run
    assert np.array_equal(build_world(scenario, 5, 1).draws.upto(), w1.draws.upto())


def test_adding_a_strategy_changes_no_other_strategy():
    two = make_scenario('strategies=["never", "always"]')
    three = make_scenario('strategies=["never", "always", "rotate"]')
    t2 = _run(two, 3).summary_table().to_pylist()
    t3 = [row for row in _run(three, 3).summary_table().to_pylist() if row["strategy"] != "rotate"]
    assert t2 == t3


def test_longer_list_keeps_first_prospects_draws():
    short = build_world(make_scenario("prospects.count=100"), 8, 0)
    long = build_world(make_scenario("prospects.count=300"), 8, 0)
    assert np.array_equal(short.draws.upto(), long.draws.upto(100))
    assert np.array_equal(short.reachability, long.reachability[:100])


def test_more_reps_do_not_change_the_world():
    assert np.array_equal(build_world(make_scenario("team.reps=2"), 8, 0).draws.upto(),
                          build_world(make_scenario("team.reps=9"), 8, 0).draws.upto())


def test_draws_made_in_blocks_are_the_draws_of_the_whole_list():
    """The table grows as prospects are dialled; the values never depend on how."""
    scenario = make_scenario("prospects.count=10000")
    whole = build_world(scenario, 8, 0).draws.upto()
    grown = build_world(scenario, 8, 0).draws
    for count in (1, 5, 4097, 4098, 9000, 10000):
        grown.ensure(count)
        assert grown.drawn >= count
    np.testing.assert_array_equal(grown.upto(), whole)
    assert build_world(scenario, 8, 0).draws.drawn == 0  # nothing drawn until asked
