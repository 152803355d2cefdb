"""Starter files that ``dialsim new`` writes."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sim.errors import UserError


def starter_text() -> str:
    return files(__package__).joinpath("starter.toml").read_text(encoding="utf-8")


def check_starter_path(path: Path, force: bool = False) -> None:
    """Where ``dialsim new`` may write: a .toml path, not an existing file unless ``force``.

    The CLI then writes :func:`starter_text` there with ``sim.store``'s atomic writer.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name such as my_team.toml")
    if path.exists() and not force:
        raise UserError(f"{path}: already exists (use --force to overwrite)")
    if path.suffix != ".toml":
        raise UserError(f"{path}: scenario files end in .toml")
