"""Designed evaluations: a list of points chosen by code, run as a resumable sweep.

``dialsim sensitivity``, ``map`` and ``optimise`` choose their points themselves
(a Morris or Sobol design, a grid refined near boundaries, the candidates of a
policy search). Each batch of points is a :class:`~sim.experiment.sweep.Sweep`
built here instead of from a sweep file, and runs through
:func:`~sim.experiment.sweep.run_sweep`: the same executors (local processes or
Dask), the same common random numbers (every point uses one seed, so nearby points
and the strategies within a point are paired), the same resumable dataset (a point
whose file carries its hash is never run twice) and the same atomic writes.

Ranges are given on the command line as ``KEY=LOW:HIGH`` (``KEY=LOW:HIGH:log`` for
a log scale), ``KEY`` a scenario key path exactly as ``--set`` takes it.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.experiment.sweep import FIXED_KEYS, Parameter, Sweep, SweepSpec, point_path
from sim.experiment.sweep.design import _fingerprint, _make_point
from sim.experiment.sweep.spec import _lookup_problem, _value_at
from sim.scenario.schema import Scenario, load_scenario
from sim.store.results import MANIFEST, RESULTS_SCHEMA_VERSION, command_line, environment_versions

from sim.analysis.compare import values_by_strategy  # noqa: F401 (re-exported)
@dataclass(frozen=True)
class Range:
    """One varied key: ``low`` to ``high`` on a linear or log scale."""

    key: str
    low: float
    high: float
    scale: str = "linear"
    integer: bool = False

    def value(self, u: float) -> float | int:
        """The value at ``u`` in [0, 1] of the range (6 significant digits)."""
        u = min(1.0, max(0.0, float(u)))
        if self.scale == "log":
            raw = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            raw = self.low + u * (self.high - self.low)
        if self.integer:
            return int(min(self.high, max(self.low, round(raw))))
        return min(self.high, max(self.low, float(f"{raw:.6g}")))

    def unit(self, value: float) -> float:
        """Inverse of :meth:`value`: where ``value`` sits in the range, 0 to 1."""
        if self.scale == "log":
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def parameter(self) -> Parameter:
        return Parameter(self.key, "sample", pa.int64() if self.integer else pa.float64(),
                         low=self.low, high=self.high, scale=self.scale, integer=self.integer)

    def describe(self) -> dict:
        return {"key": self.key, "low": self.low, "high": self.high, "scale": self.scale,
                "integer": self.integer}


def parse_range(text: str, option: str, base: dict) -> Range:
    """``KEY=LOW:HIGH[:log]`` checked against the resolved base scenario, or a UserError."""
    where = f"{option} {text}"
    if "=" not in text:
        raise UserError(f"{where}: expected KEY=LOW:HIGH (e.g. callbacks.p_callback=0.001:0.05)")
    key, spec = (part.strip() for part in text.split("=", 1))
    parts = key.split(".")
    if not key:
        raise UserError(f"{where}: no key before '='")
    if parts[0] in FIXED_KEYS:
        raise UserError(f"{where}: {parts[0]} {FIXED_KEYS[parts[0]]}; it cannot be varied")
    problem = _lookup_problem(base, parts)
    if problem:
        raise UserError(f"{where}: unknown key path: {problem}")
    current = _value_at(base, parts)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise UserError(f"{where}: the scenario's value {current!r} is not a number; only "
                        "numeric keys can be given a range")
    bits = spec.split(":")
    if len(bits) not in (2, 3) or (len(bits) == 3 and bits[2] not in ("log", "linear")):
        raise UserError(f"{where}: expected LOW:HIGH or LOW:HIGH:log after '='")
    try:
        low, high = float(bits[0]), float(bits[1])
    except ValueError:
        raise UserError(f"{where}: LOW and HIGH must be numbers") from None
    scale = bits[2] if len(bits) == 3 else "linear"
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UserError(f"{where}: LOW and HIGH must be finite numbers")
    if low >= high:
        raise UserError(f"{where}: LOW ({low:g}) must be below HIGH ({high:g})")
    if scale == "log" and low <= 0:
        raise UserError(f"{where}: a log scale needs LOW > 0")
    integer = type(current) is int
    if integer and not (low.is_integer() and high.is_integer()):
        raise UserError(f"{where}: {key} takes whole numbers; LOW and HIGH must be whole numbers")
    return Range(key, low, high, scale, integer)


def parse_ranges(texts: list[str], option: str, base: dict) -> list[Range]:
    ranges = [parse_range(text, option, base) for text in texts]
    seen: set[str] = set()
    for rng in ranges:
        if rng.key in seen:
            raise UserError(f"{option} {rng.key}: given twice; vary each key once")
        seen.add(rng.key)
    return ranges


@dataclass
class Base:
    """The scenario a designed evaluation starts from, resolved, with its run settings."""

    scenario: Scenario
    source: Path
    resolved: dict  # seed and replications filled in
    overrides: tuple[str, ...]
    strategies: tuple[str, ...]
    seed: int
    replications: int


def load_base(path: Path, overrides: list[str] | tuple[str, ...], strategies: list[str] | None,
              replications: int | None, seed: int | None, min_strategies: int = 1) -> Base:
    """Read and check the scenario and the run options (every problem a UserError)."""
    scenario = load_scenario(path, tuple(overrides or ()))
    available = scenario.strategy_names()
    if strategies:
        for name in strategies:
            if name not in available:
                raise UserError(f"--strategy {name}: not a strategy of {path}; choose from: "
                                f"{', '.join(available)}")
        if len(set(strategies)) != len(strategies):
            raise UserError("--strategy: a name is given twice")
        chosen = tuple(name for name in available if name in strategies)
    else:
        chosen = tuple(available)
    if len(chosen) < min_strategies:
        raise UserError(f"--strategy: needs at least {min_strategies} strategies to compare "
                        f"(got {', '.join(chosen)})")
    resolved = scenario.resolved()
    seed = scenario.experiment.seed if seed is None else seed
    replications = scenario.experiment.replications if replications is None else replications
    resolved["experiment"]["seed"] = seed
    resolved["experiment"]["replications"] = replications
    return Base(scenario, Path(path), resolved, tuple(overrides or ()), chosen, seed, replications)


def designed_sweep(name: str, base: Base, parameters: list[Parameter], rows: list[dict],
                   description: str = "", replications: int | None = None,
                   strategies: tuple[str, ...] | None = None, resolved: dict | None = None) -> Sweep:
    """A sweep over explicit ``rows`` (key path -> value) of ``base``; nothing is run.

    ``resolved`` replaces the base scenario (e.g. with a candidate's strategy list).
    """
    replications = base.replications if replications is None else replications
    strategies = base.strategies if strategies is None else strategies
    start = copy.deepcopy(resolved if resolved is not None else base.resolved)
    start["experiment"]["replications"] = replications
    start["experiment"]["seed"] = base.seed
    spec = SweepSpec.model_construct(
        schema_version=1, name=name, description=description, base=str(base.source),
        replications=replications, seed=base.seed, strategies=list(strategies), set={},
        grid={}, sample=None)
    points = [_make_point(i, values, start, strategies) for i, values in enumerate(rows)]
    sweep = Sweep(spec, Path(base.source), Path(base.source), start, base.overrides, base.seed,
                  replications, strategies, parameters, points, 0)
    sweep.fingerprint = _fingerprint(sweep)
    return sweep


def first_invalid(sweep: Sweep, option: str) -> None:
    """A design point the scenario validator rejects is a bad option: say which, exit 2."""
    for point in sweep.points:
        if point.error is not None:
            raise UserError(f"{option}: the point {point.label()} is not a valid scenario: "
                            f"{point.error}; narrow the range")


def point_rows(out_dir: Path, point_id: int, columns: list[str] | None) -> pa.Table:
    """The summary rows of one finished point (one row per strategy x replication;
    ``columns=None``: all of them)."""
    return pq.read_table(point_path(out_dir, point_id), columns=columns)


def check_results_dir(out_dir: Path, kind: str, restart: bool) -> None:
    """``out_dir`` must be new, empty, or hold results of this ``kind`` (never anything else)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: exists and is not a folder")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    manifest = out_dir / MANIFEST
    if not manifest.exists():
        raise UserError(f"--out {out_dir}: not empty and not a dialsim {kind} results folder; "
                        "choose another --out")
    try:
        found = json.loads(manifest.read_text()).get("kind")
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{manifest}: unreadable manifest: {exc}") from None
    if found != kind:
        raise UserError(f"--out {out_dir}: holds a dialsim {found}, not a {kind}; "
                        "choose another --out")


def jsonable(value: Any) -> Any:
    """NaN and infinities as None, numpy scalars as Python numbers (for manifests)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def designed_manifest(kind: str, base: Base, executor, label: str, **specific) -> dict:
    """The manifest a designed evaluation (map, optimise, sensitivity) writes as it
    starts: what every kind records (scenario, overrides, seed, versions, command,
    executor, start time) around what is ``specific`` to the kind."""
    import datetime

    from sim.experiment.engine import select

    return {
        "results_schema_version": RESULTS_SCHEMA_VERSION,
        "kind": kind,
        "status": "running",
        "scenario": base.scenario.name,
        "scenario_source": str(base.source),
        "overrides": list(base.overrides),
        **specific,
        "seed": base.seed,
        "versions": environment_versions(select(warn=False).name),
        "command": command_line(),
        "executor": label,
        "workers": executor.workers,
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def run_design_points(sweep: Sweep, folder: Path, executor, restart: bool, label: str):
    """Run a designed evaluation's points as a sweep in ``folder`` (the default runner
    of map, optimise and sensitivity; tests pass their own)."""
    from sim.experiment.sweep import run_sweep

    return run_sweep(sweep, folder, executor, restart=restart, executor_label=label)


def begin_designed_run(out_dir: Path, manifest: dict, restart: bool = False,
                       discard: tuple[str, ...] = ()) -> dict:
    """Start a designed evaluation in ``out_dir`` (already checked): choose the kernel
    build (a bad DIALSIM_ENGINE fails here, before anything is written), make the
    folder, on ``restart`` remove what an earlier run of it wrote (``discard``: names
    inside it), and write ``manifest`` as running. Returns the manifest."""
    import shutil

    from sim.experiment.engine import select
    from sim.store.atomic import write_json_atomic

    select()
    out_dir.mkdir(parents=True, exist_ok=True)
    if restart:
        for name in discard:
            path = out_dir / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    write_json_atomic(jsonable(manifest), out_dir / MANIFEST)
    return manifest
