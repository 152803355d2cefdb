"""plot and report on damaged results folders: one line and exit code 2, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app

from .conftest import SCENARIOS
from .sweep_support import write_sweep

runner = CliRunner()
FAST = ["--set", "calendar.days=1", "--set", "prospects.count=200", "--set", "team.reps=2",
        "--workers", "1", "-n", "2", "-q"]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("good")
    run = root / "run"
    assert runner.invoke(app, ["run", str(SCENARIOS / "baseline.toml"), *FAST,
                               "--out", str(run)]).exit_code == 0
    sweep_file = write_sweep(root, grid={"callbacks.p_callback": [0.01, 0.05],
                                         "screening.answer_mult_per_silent_miss": [0.8, 1.0]})
    sweep = root / "sweep"
    assert runner.invoke(app, ["sweep", str(sweep_file), "--out", str(sweep), "--workers", "1",
                               "-q"]).exit_code == 0
    return {"run": run, "sweep": sweep}


def _manifest(change):
    def apply(folder: Path):
        path = folder / "manifest.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
    return apply


def _set(key, value):
    return _manifest(lambda m: {**m, key: value})


def _table(name, change):
    def apply(folder: Path):
        pq.write_table(change(pq.read_table(folder / name)), folder / name)
    return apply


def _replace_with_folder(name):
    def apply(folder: Path):
        (folder / name).unlink()
        (folder / name).mkdir()
    return apply


RUN_DAMAGE = {
    "manifest []": (_manifest(lambda m: []), "expected a JSON object"),
    "manifest null": (_manifest(lambda m: None), "expected a JSON object"),
    "manifest not UTF-8": (lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe"), "unreadable"),
    "manifest a folder": (_replace_with_folder("manifest.json"), "is not a file"),
    "strategies a number": (_set("strategies", 5), "'strategies' should be a list"),
    "strategy not in the data": (_set("strategies", ["never", "ghost"]), "no rows for strategy ghost"),
    "baseline a number": (_set("baseline", 3), "'baseline' should be"),
    "scenario text": (_set("scenario", "x"), "its scenario"),
    "versions a list": (_set("versions", [1]), None),  # not needed: report still written
    "summary a folder": (_replace_with_folder("summary.parquet"), "not a file"),
    "summary not parquet": (lambda d: (d / "summary.parquet").write_bytes(b"x"), "unreadable"),
    "summary column missing": (_table("summary.parquet", lambda t: t.drop(["connects_per_rep_hour"])),
                               "connects_per_rep_hour missing"),
    "summary column retyped": (_table("summary.parquet", lambda t: t.set_column(
        t.column_names.index("dials"), "dials", pa.array(["x"] * t.num_rows))), "dials is string"),
    "summary strategy missing": (_table("summary.parquet", lambda t: t.filter(
        pc.not_equal(t.column("strategy"), "rotate"))), "no rows for strategy rotate"),
    "timeline negative day": (_table("timeline.parquet", lambda t: t.set_column(
        t.column_names.index("day"), t.schema.field("day"),
        pa.array([-1] * t.num_rows, t.schema.field("day").type))), "column day holds -1"),
}
SWEEP_DAMAGE = {
    "manifest []": (_manifest(lambda m: []), "expected a JSON object"),
    "parameters text": (_set("parameters", "x"), "parameters should be a list"),
    "strategies a number": (_set("strategies", 3), "strategies should be a list"),
    "parameter not in the data": (_manifest(lambda m: {**m, "parameters": [{"key": "ghost"}]}),
                                  "missing columns ghost"),
    "summary column missing": (_table("sweep_summary.parquet", lambda t: t.drop(["winner"])),
                               "missing columns winner"),
    "plots a file": (lambda d: (d / "plots").write_text("x"), "plots: cannot create"),
}


def _damaged(good, kind, damage, tmp_path) -> Path:
    folder = tmp_path / "damaged"
    shutil.copytree(good[kind], folder)
    damage(folder)
    return folder


@pytest.mark.parametrize("case", RUN_DAMAGE)
@pytest.mark.parametrize("command", ["plot", "report"])
def test_a_damaged_run_folder_is_one_line(good, tmp_path, case, command):
    damage, expected = RUN_DAMAGE[case]
    folder = _damaged(good, "run", damage, tmp_path)
    result = runner.invoke(app, [command, str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if expected is None:
        assert result.exit_code == 0
        return
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and expected in result.output
    assert not list(folder.glob("*.png")) and not (folder / "report.html").exists()


@pytest.mark.parametrize("case", SWEEP_DAMAGE)
def test_a_damaged_sweep_folder_is_one_line(good, tmp_path, case):
    damage, expected = SWEEP_DAMAGE[case]
    folder = _damaged(good, "sweep", damage, tmp_path)
    result = runner.invoke(app, ["plot", str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and expected in result.output


def test_a_file_given_as_the_results_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    result = runner.invoke(app, ["plot", str(tmp_path / "f")])
    assert result.exit_code == 2 and "is a file, not a results folder" in result.output


def test_names_with_dollars_are_drawn_as_plain_text(tmp_path):
    """matplotlib reads $...$ as math; '$\\bad{$' used to fail the chart."""
    out = tmp_path / "run"
    name = "deals over $5k $\\bad{$ <b>"
    result = runner.invoke(app, ["run", str(SCENARIOS / "baseline.toml"), *FAST, "--out", str(out),
                                 "--set", f"name={json.dumps(name)}",
                                 "--set", 'strategies.0.name="$never$"',
                                 "--set", 'experiment.baseline="$never$"'])
    assert result.exit_code == 0, result.output
    plotted = runner.invoke(app, ["plot", str(out)])
    assert plotted.exit_code == 0, plotted.output
    assert (out / "connects_per_rep_hour.png").stat().st_size > 10_000
    sweep_file = write_sweep(tmp_path, name="sweep $\\bad{$", grid={"callbacks.p_callback": [0.01, 0.02]})
    sweep = tmp_path / "sweep"
    assert runner.invoke(app, ["sweep", str(sweep_file), "--out", str(sweep), "-q",
                               "--workers", "1"]).exit_code == 0
    plotted = runner.invoke(app, ["plot", str(sweep)])
    assert plotted.exit_code == 0, plotted.output
