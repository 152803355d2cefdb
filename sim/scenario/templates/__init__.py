"""Starter files that ``dialsim new`` writes."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sim.errors import UserError


def starter_text() -> str:
    return files(__package__).joinpath("starter.toml").read_text(encoding="utf-8")


def write_starter(path: Path, force: bool = False) -> None:
    """Write the commented starter scenario; never overwrite unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise UserError(f"{path}: already exists (use --force to overwrite)")
    if path.suffix != ".toml":
        raise UserError(f"{path}: scenario files end in .toml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(starter_text(), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror}") from None
