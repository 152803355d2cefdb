"""CLI conventions: -h, --version, readable help, examples that run, helpful mistakes."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
from cli import EXAMPLES, app

from .conftest import SCENARIOS

runner = CliRunner()
COMMANDS = ("run", "validate", "new", "plot", "report", "sweep", "fit", "calibrate",
            "sensitivity", "map", "optimise")
# added to every example that simulates, so the whole help runs in seconds
SMALL = ["--set", "calendar.days=1", "--set", "prospects.count=300", "--set", "team.reps=2"]


def invoke(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], prog_name="dialsim", **kwargs)


def help_text(*command: str) -> str:
    result = invoke(*command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def examples_in_help(command: str) -> list[str]:
    """The example lines as a user reads them in ``dialsim COMMAND --help``."""
    return [line.split("$ ", 1)[1].strip(" │")
            for line in help_text(command).splitlines() if "$ dialsim " in line]


def test_short_help_and_version():
    assert invoke("-h").stdout == invoke("--help").stdout
    assert "Usage: dialsim run" in invoke("run", "-h").stdout
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"dialsim {sim.__version__}"


def test_shell_completion_is_offered():
    text = help_text()
    assert "--install-completion" in text and "<bool>" not in text


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_examples_and_readable_placeholders(command):
    text = help_text(command)
    assert examples_in_help(command) == list(EXAMPLES[command])
    assert not re.search(r"<(list\[|bool|str|int)", text), text  # typer's type names


def test_every_example_in_the_help_runs(tmp_path, monkeypatch):
    """Each command's examples, read from its help text, in the order a user would try them."""
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    shutil.copytree(SCENARIOS.parent / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for command in COMMANDS:
        for line in examples_in_help(command):
            args = shlex.split(line)[1:]
            if args[0] in ("run", "validate", "sweep", "calibrate", "sensitivity", "map",
                           "optimise"):
                args += SMALL
            if args[0] == "run":
                args += ["-n", "2", "--workers", "1"]
            result = invoke(*args)
            assert result.exit_code == 0, f"{line}: {result.output}"
    assert (tmp_path / "my_team.toml").exists()
    assert (tmp_path / "team.toml").exists() and (tmp_path / "calibrated.toml").exists()
    assert (tmp_path / "results" / "baseline" / "report.html").exists()
    assert (tmp_path / "results" / "ten_reps" / "summary.parquet").exists()
    assert (tmp_path / "results" / "callback_vs_screening" / "sweep_report.html").exists()


def test_misspelled_keys_get_a_suggestion(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = 1\n[team]\nrep = 3\n[conversation.talk_s]\n"
                   "dist = 'lognormal'\nmedian = 80\nsigm = 0.5\n")
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert f"{bad}: team.rep: unknown key; did you mean team.reps?" in result.stderr
    assert "conversation.talk_s.sigm: unknown key; did you mean conversation.talk_s.sigma?" \
        in result.stderr
    result = invoke("validate", SCENARIOS / "baseline.toml", "--set", "dialer.amd.enabeld=true")
    assert result.exit_code == 2
    assert "did you mean dialer.amd.enabled?" in result.stderr
    far = invoke("validate", SCENARIOS / "baseline.toml", "--set", "team.xyzzy=1")
    assert far.exit_code == 2 and "did you mean" not in far.stderr
    sweep = invoke("sweep", SCENARIOS / "sweep_callback_vs_screening.toml", "--dry-run",
                   "--set", "team.rep=3")
    assert sweep.exit_code == 2 and "did you mean team.reps?" in sweep.stderr


def test_the_wrong_kind_of_file_names_the_right_command(tmp_path):
    sweep_file = SCENARIOS / "sweep_callback_vs_screening.toml"
    result = invoke("run", sweep_file, "--out", tmp_path / "r")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and f"dialsim sweep {sweep_file}" in result.stderr
    result = invoke("sweep", SCENARIOS / "baseline.toml", "--out", tmp_path / "s")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert f"dialsim run {SCENARIOS / 'baseline.toml'}" in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_path_without_toml_is_resolved_or_suggested(tmp_path):
    result = invoke("validate", SCENARIOS / "baseline")
    assert result.exit_code == 0 and "valid" in result.stdout
    result = invoke("run", SCENARIOS / "baselin", "--out", tmp_path / "r")
    assert result.exit_code == 2
    assert f"did you mean {SCENARIOS / 'baseline.toml'}?" in result.stderr
    result = invoke("sweep", SCENARIOS / "sweep_callback_vs_screening", "--dry-run")
    assert result.exit_code == 0, result.output


def test_sweep_json_is_one_document_with_every_point(tmp_path):
    result = invoke("sweep", SCENARIOS / "sweep_callback_vs_screening.toml", "--json",
                    "--out", tmp_path / "s", "--workers", "1", *SMALL)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["points_done"] == data["points_total"] == len(data["points"]) == 20
    strategies = set(data["strategies"])
    for point in data["points"]:
        assert point["winner"] in strategies
        assert set(point["connects_per_rep_hour"]) == strategies
        margin = point["margin"]
        assert margin["ci95_low"] <= margin["mean"] <= margin["ci95_high"]
        assert point["tie"] == (margin["ci95_low"] <= 0 <= margin["ci95_high"])
