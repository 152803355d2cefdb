"""Start-up: the `dialsim` command reaches its work without importing what it does not use."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from .conftest import ROOT, SCENARIOS

HEAVY = ("scipy.stats", "pandas", "matplotlib", "dask", "distributed")
SMALL_RUN = ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "--workers", "1", "-q",
             "--set", "calendar.days=1", "--set", "prospects.count=200", "--set", "team.reps=2"]


def modules_loaded_by(*args: str, tmp_path=None) -> list[str]:
    """Run the installed command's entry point (cli.main) in a fresh interpreter and say
    which heavy modules it imported by the time it finished."""
    code = ("import json, sys\n"
            f"sys.argv = ['dialsim', *{list(args)!r}]\n"
            "import cli\n"
            "try:\n    cli.main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "else:\n    code = 0\n"
            f"print('MODULES=' + json.dumps([m for m in {HEAVY!r} if m in sys.modules]), "
            "file=sys.stderr)\n"
            "sys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path or ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(re.search(r"MODULES=(.*)", proc.stderr).group(1))


@pytest.mark.parametrize("args", [["--version"], ["run", "--help"],
                                  ["validate", str(SCENARIOS / "baseline.toml")]])
def test_light_commands_import_nothing_heavy(args):
    assert modules_loaded_by(*args) == []


def test_a_run_imports_neither_scipy_stats_nor_pandas(tmp_path):
    """scipy.stats (1.1 s) for a t quantile, pandas (0.3 s) through pyarrow: both avoidable."""
    loaded = modules_loaded_by(*SMALL_RUN, "--out", str(tmp_path / "r"), tmp_path=tmp_path)
    assert "scipy.stats" not in loaded and "pandas" not in loaded, loaded
    assert (tmp_path / "r" / "summary.parquet").exists()


def test_importing_the_cli_stays_well_under_half_a_second():
    """Cumulative import time of cli (typer, rich, sim.errors), by -X importtime: it was
    ~0.08 s on the 2-core machine; 0.5 s leaves room for a loaded CI machine."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import cli"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    line = next(line for line in proc.stderr.splitlines() if line.rstrip().endswith("| cli"))
    cumulative_us = int(line.split("|")[1])
    assert cumulative_us < 500_000, line


def test_importing_sim_reads_no_package_metadata():
    code = "import sys, sim; print('importlib.metadata' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
