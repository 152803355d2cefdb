"""Charts a manager reads right: linear funnel, working-hour axes, the pacing cap, and
sweep maps whose colours, text and boundaries say who wins (ties as ties)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from typer.testing import CliRunner

from cli import app
from sim.present import plots, sweep_plots
from sim.present.plots import load_run

from .conftest import SCENARIOS

runner = CliRunner()
SMALL = ["--set", "prospects.count=400", "--set", "calendar.days=2", "--set", "team.reps=2",
         "--workers", "1", "-q", "-n", "3"]


def draw(drawer, data) -> Figure:
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    drawer(fig, data, plots._colours(data.strategies))
    fig.canvas.draw()
    return fig


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory):
    """A small run on a 3-line parallel dialer (so it has a pacing chart)."""
    out = tmp_path_factory.mktemp("charts") / "run"
    result = runner.invoke(app, ["run", str(SCENARIOS / "parallel_dialer.toml"), *SMALL,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return load_run(out)


def test_funnel_is_linear_and_says_how_many_callbacks_reach_a_rep(parallel_run):
    fig = draw(plots._chart_funnel, parallel_run)
    axes = fig.axes
    assert [ax.get_xscale() for ax in axes] == ["linear"] * 3
    received = sum(parallel_run.values("callbacks_received")[n].mean() for n in parallel_run.strategies)
    answered = sum(parallel_run.values("inbound_connects")[n].mean() for n in parallel_run.strategies)
    assert f"only {answered / received:.0%} of callbacks" in axes[2].get_xlabel()


def test_cumulative_chart_runs_over_working_hours_only(parallel_run):
    fig = draw(plots._chart_cumulative, parallel_run)
    ax = fig.axes[0]
    worked = plots.worked_hours(parallel_run)
    cal = parallel_run.scenario.calendar
    assert worked.size == cal.days * cal.paid_hours_per_day()  # 7 paid hours a day
    assert ax.get_xlim() == (0, worked.size)
    curves = [np.asarray(line.get_ydata()) for line in ax.get_lines()
              if line.get_label() in {plots._label(parallel_run, n) for n in parallel_run.strategies}]
    assert len(curves) == len(parallel_run.strategies)
    for y in curves:  # from 0, rising from the first working hour (not flat until 09:00)
        assert y.size == worked.size + 1 and y[0] == 0 and y[1] > 0 and np.all(np.diff(y) >= 0)


def test_pacing_chart_draws_the_cap(parallel_run):
    fig = draw(plots._chart_pacing, parallel_run)
    cap = parallel_run.scenario.team.lines_per_rep
    flat = [line for line in fig.axes[0].get_lines()
            if np.allclose(line.get_ydata(), cap) and "cap" in line.get_label()]
    assert flat, "no cap line at team.lines_per_rep"


def test_text_on_a_cell_stays_readable():
    assert sweep_plots._text_colour(sweep_plots._cell_colour("#2ca02c", 1.0)) == "white"
    assert sweep_plots._text_colour(sweep_plots._cell_colour("#2ca02c", 0.0)) == "black"
    assert sweep_plots._text_colour((0.85, 0.85, 0.85)) == "black"  # a tie


def test_boundaries_run_between_clear_winners_only():
    fig = Figure()
    ax = fig.subplots()
    winners = np.array([["rotate", "never"],  # a clear change: one line between them
                        ["", "never"]], dtype=object)  # a tie: no line along it
    sweep_plots._grid_boundaries(ax, winners)
    segments = sorted((tuple(line.get_xdata()), tuple(line.get_ydata())) for line in ax.get_lines())
    assert segments == [((0.5, 0.5), (-0.5, 0.5))]


def test_keys_get_human_labels():
    assert sweep_plots.key_label("callbacks.p_callback") == "P(callback | a fresh message heard)"
    assert sweep_plots.key_label("team.lines_per_rep") == "lines each rep's dialer has"
    assert sweep_plots.key_label("team.reps") == "reps"  # no description: the key in words
