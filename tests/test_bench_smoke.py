"""The benchmark's own machinery, on tiny workloads (behaviour only, never timings)."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"
TINY = {"calendar.days": 1, "prospects.count": 300, "team.reps": 3}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("dialsim_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_floor_places_exactly_the_dials_it_is_given(bench):
    assert bench.floor_run(reps=3, dials=10, dial_s=60.0) == 10
    assert bench.floor_run(reps=4, dials=0, dial_s=60.0) == 0


def test_floor_places_the_same_dials_as_the_model(bench):
    result = bench.model_vs_floor(bench.load(TINY), replications=1, repeats=1)
    assert result["dials"] > 0
    assert result["floor_dials"] == result["dials"]
    assert result["reps"] == 3
    assert result["campaigns"] == len(bench.load(TINY).strategies)
    assert result["ratio"] > 0


def test_fresh_process_measurement_reports_the_call_log(bench):
    out = bench.in_fresh_process({"overrides": TINY, "calls": True, "strategies": ["always"]})
    assert out["campaigns"] == 1
    assert out["dials"] > 0
    assert out["call_log_rows"] >= out["dials"]  # every dial, plus inbound and return calls
    assert out["peak_rss_mb"] >= out["rss_ready_mb"] > 0
    assert 0 < out["draws_mb"] < out["peak_rss_mb"]  # the world's draws, weighed after the run
    assert isinstance(out["huge_pages_off"], bool)


def test_peak_rss_is_the_median_of_fresh_processes(bench, monkeypatch):
    peaks = iter([130.0, 110.0, 150.0])
    monkeypatch.setattr(bench, "in_fresh_process",
                        lambda spec: {"peak_rss_mb": next(peaks), "spec": spec})
    out = bench.peak_of_fresh_processes({"overrides": TINY}, 3)
    assert out["peak_rss_mb"] == 130.0  # the median, not the first or the least
    assert out["peak_rss_mb_runs"] == [110.0, 130.0, 150.0]


def test_versus_measures_a_tree_with_its_own_bench():
    spec = importlib.util.spec_from_file_location("dialsim_versus", BENCH.parent / "versus.py")
    versus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(versus)
    import sys

    out = versus.measure(BENCH.parent.parent, Path(sys.executable), replications=1, repeats=1)
    assert out["dials"] > 0 and out["ratio"] > 0
    assert out["model_cpu_s"] > 0 and out["floor_cpu_s"] > 0
