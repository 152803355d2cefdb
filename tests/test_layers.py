"""The package's layers (pyproject.toml [tool.importlinter]): each imports only those
below it, so the model never reaches up to choose how it is run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_the_contract_catches_an_upward_import(tmp_path):
    """The same check, on a copy of the package with one upward import added, fails."""
    import shutil

    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "sim", copy / "sim", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    campaign = copy / "sim" / "model" / "campaign.py"
    campaign.write_text(campaign.read_text() + "\nfrom sim.experiment.engine import select  # upward\n")
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=copy, capture_output=True, text=True,
                          env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "sim.model is not allowed to import sim.experiment" in done.stdout
