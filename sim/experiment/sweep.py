"""Sweeps: many what-if points over one base scenario, run anywhere, resumable.

A sweep file (TOML, see docs/sweeps.md) names a base scenario and the keys to vary,
by key path: ``[grid]`` lists values (full factorial), ``[sample]`` gives ranges
sampled by a seeded Latin hypercube (scipy.stats.qmc); with both, every grid
combination meets every sampled row. Each point is the base scenario with the
point's values applied and validated. A point's hash (its resolved scenario, seed,
replications and strategies) names its results, so a re-run skips finished points,
and a fingerprint of the whole design keeps a changed sweep from being mixed with
old results.

Results folder::

    manifest.json            kind "sweep", parameters, expected points, fingerprint
    points.parquet           point id -> hash, parameter values, status, error
    sweep_summary.parquet    per point x strategy: connects/rep-h, winner, paired margin
    data/point-NNNNNN.parquet  one file per point: parameters as typed columns + metrics

Every point uses the same seed, so points share common random numbers too and the
curves across a swept parameter are smooth rather than noisy.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import itertools
import difflib
import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim import __version__
from sim.experiment.engine import select as select_engine
from sim.errors import UserError
from sim.experiment.executors import Executor
from sim.experiment.replications import ReplicationBatch, run_replications
from sim.analysis.compare import decide
from sim.analysis.constraints import WINDOW_COLUMNS
from sim.analysis.metrics import SUMMARY_SCHEMA
from sim.store.results import (
    MANIFEST,
    RESULTS_SCHEMA_VERSION,
    check_out_location,
    command_line,
    environment_versions,
    os_error_message,
    pid_alive,
    read_manifest,
    remove_stale_temporaries,
    write_json_atomic,
    write_parquet_atomic,
)
from sim.scenario.schema import (
    Label,
    Scenario,
    apply_override,
    build_scenario,
    capped_lines,
    one_line,
    parse_override,
    read_input_file,
    read_scenario_file,
    validation_message,
)
from sim.analysis.stats import paired_difference, t_interval

SWEEP_SCHEMA_VERSION = 1
MAX_POINTS = 100_000
DATA_DIR = "data"
POINTS_FILE = "points.parquet"
SUMMARY_FILE = "sweep_summary.parquet"
LOCK_FILE = ".lock"
PLOTS_DIR = "plots"
# sim.present.sweep_plots names its charts PREFIX_<key...>.png in PLOTS_DIR; --restart
# removes exactly those (and the point files), never anything else a user put there.
SWEEP_CHART_PREFIXES = {"lines": "sweep_lines", "margin": "sweep_margin",
                        "marginal": "sweep_marginal"}
_SWEEP_CHART = re.compile(r"^(sweep_lines|sweep_margin|sweep_marginal)_[A-Za-z0-9_.-]+\.png$")
_POINT_FILE = re.compile(r"^point-\d{6}\.parquet$")
HASH_KEY = b"dialsim.point_hash"
HEADLINE = "connects_per_rep_hour"
POINT_ID = pa.field("point_id", pa.int32(), metadata={"description": "the point, 0..N-1 in design order"})
POINT_HASH = pa.field("point_hash", pa.string(), metadata={
    "description": "sha256 of the point's resolved scenario, seed, replications and strategies"})
WINDOW_FIELDS = [pa.field(name, dtype, metadata={"unit": unit, "description": description})
                 for name, dtype, unit, description in WINDOW_COLUMNS]
# Top-level scenario keys a sweep may not vary: not model parameters, or set per sweep.
FIXED_KEYS = {
    "schema_version": "is the file format, not a parameter",
    "name": "is a label, not a parameter",
    "description": "is a label, not a parameter",
    "experiment": "is set by the sweep file (replications, seed)",
}
# A sweep compares the same strategies at every point: it may vary a strategy's settings
# (strategies.2.n_messages) but not the list, an entry or a name.
STRATEGY_SETTINGS = ("kind", "n_messages", "n", "sequence", "then")


# ---------------------------------------------------------------------------------
# The sweep file


class _Strict(BaseModel):
    # strict: no bool or string taken for a number; allow_inf_nan off: finite numbers only
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _flatten(table: Any, is_leaf: Callable[[dict], bool], prefix: str = "") -> Any:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, so unquoted dotted TOML keys work too."""
    if not isinstance(table, dict):
        return table
    flat: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        parts = _flatten(value, is_leaf, path) if isinstance(value, dict) and not is_leaf(value) \
            else {path: value}
        for sub, item in parts.items():
            if sub in flat:
                raise ValueError(f"{sub}: given twice (as a dotted key and as a table)")
            flat[sub] = item
    return flat


def _non_empty(values: list) -> list:
    if not values:
        raise ValueError("empty list; give at least one value")
    for value in values:
        if not _all_finite(value):
            raise ValueError(f"{value!r}: every number must be finite (no nan or inf)")
    return values


def _all_finite(value: Any) -> bool:
    """No NaN or infinity anywhere in the value (tables and lists included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


class RangeSpec(_Strict):
    """A continuous (or, for an integer key, whole-number) range for the Latin hypercube."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _ordered(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g}); "
                             "to fix a value, put it under [set]")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"scale = 'log' needs low > 0 (got {self.low:g})")
        return self


class SampleSpec(_Strict):
    size: int = Field(ge=1, le=MAX_POINTS, description="Latin hypercube points")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the design (not the simulation)")
    ranges: dict[str, RangeSpec] = Field(min_length=1)

    @field_validator("ranges", mode="before")
    @classmethod
    def _flat(cls, value):
        return _flatten(value, lambda t: not any(isinstance(v, dict) for v in t.values()))


class SweepSpec(_Strict):
    """The sweep file, as written. Key paths are scenario paths (``callbacks.p_callback``)."""

    schema_version: Literal[1]
    name: Label
    description: str = Field("", max_length=10_000)
    base: str = Field(min_length=1, description="base scenario, relative to the sweep file")
    replications: int | None = Field(None, ge=1, le=100_000, description="per point")
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    strategies: list[Label] | None = Field(None, min_length=1, max_length=50)
    set: dict[str, Any] = Field(default_factory=dict, description="fixed overrides of the base")
    grid: dict[str, Annotated[list[Any], Field(max_length=MAX_POINTS),
                              AfterValidator(_non_empty)]] = Field(default_factory=dict)
    sample: SampleSpec | None = None

    @field_validator("set", mode="before")
    @classmethod
    def _flat_set(cls, value):
        return _flatten(value, lambda t: "dist" in t)  # a distribution table is one value

    @field_validator("set")
    @classmethod
    def _finite_set(cls, value):
        for key, item in value.items():
            if not _all_finite(item):
                raise ValueError(f"{key}: every number must be finite (no nan or inf)")
        return value

    @field_validator("grid", mode="before")
    @classmethod
    def _flat_grid(cls, value):
        return _flatten(value, lambda t: False)

    @model_validator(mode="after")
    def _something_varies(self):
        if not self.grid and self.sample is None:
            raise ValueError("nothing to vary: add a [grid] table of lists or a [sample] table")
        return self


@dataclass(frozen=True)
class Parameter:
    """One varied key: where its values come from and its column type in the dataset."""

    key: str
    source: Literal["grid", "sample"]
    arrow_type: pa.DataType
    values: tuple = ()  # grid
    low: float | None = None  # sample
    high: float | None = None
    scale: str = "linear"
    integer: bool = False

    def describe(self) -> dict:
        """Plain data for the manifest and the fingerprint."""
        if self.source == "grid":
            return {"key": self.key, "source": "grid", "type": str(self.arrow_type),
                    "values": list(self.values)}
        return {"key": self.key, "source": "sample", "type": str(self.arrow_type),
                "low": self.low, "high": self.high, "scale": self.scale, "integer": self.integer}

    def column_value(self, value: Any) -> Any:
        """The value as stored in its typed column (tables as JSON text)."""
        if pa.types.is_string(self.arrow_type) and not isinstance(value, str):
            return _canonical(value)
        if pa.types.is_floating(self.arrow_type):
            return float(value)
        return value

    def field(self) -> pa.Field:
        return pa.field(self.key, self.arrow_type,
                        metadata={"description": f"swept scenario key ({self.source})"})


@dataclass
class Point:
    """One design point: its values, its validated scenario (or why it is invalid)."""

    point_id: int
    values: dict[str, Any]  # key path -> value as applied
    scenario: dict | None = None  # resolved
    hash: str | None = None
    error: str | None = None

    def label(self) -> str:
        return ", ".join(f"{key}={format_value(value)}" for key, value in self.values.items())


@dataclass
class Sweep:
    """A loaded, validated sweep: the design and everything needed to run it."""

    spec: SweepSpec
    source: Path
    base_source: Path
    base: dict  # resolved base scenario, [set] and --set applied
    overrides: tuple[str, ...]
    seed: int
    replications: int
    strategies: tuple[str, ...]
    parameters: list[Parameter]
    points: list[Point]
    duplicates_dropped: int
    fingerprint: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def valid_points(self) -> list[Point]:
        return [p for p in self.points if p.error is None]

    def point_schema(self) -> pa.Schema:
        """Schema of every data/point-*.parquet file."""
        return pa.schema([
            POINT_ID, POINT_HASH, *[p.field() for p in self.parameters], *SUMMARY_SCHEMA,
            *WINDOW_FIELDS,
        ])


def format_value(value: Any) -> str:
    """A parameter value for tables and labels (floats to 6 significant digits)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return _canonical(value)
    return str(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _read_toml(path: Path) -> dict:
    return read_input_file(path, "sweep")


def load_sweep(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> Sweep:
    """Read and check a sweep file and build its design; every problem is a UserError.

    Nothing is run or written: a bad file is caught here, before any work starts.
    ``overrides`` (``key.path=value``, like ``dialsim run --set``) apply to the base
    after the file's ``[set]``.
    """
    path = Path(path)
    data = _read_toml(path)
    if "base" not in data and set(data) & set(Scenario.model_fields) - {"schema_version", "name",
                                                                       "description"}:
        raise UserError(f"{path}: this is a scenario file, not a sweep: run it with "
                        f"`dialsim run {path}` (a sweep file names its base scenario)")
    if type(data.get("schema_version")) is not int or data["schema_version"] != SWEEP_SCHEMA_VERSION:
        given = data.get("schema_version", "missing")
        raise UserError(f"{path}: schema_version: this dialsim reads sweep files of version "
                        f"{SWEEP_SCHEMA_VERSION}, the file says {given!r}")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise UserError(validation_message(str(path), exc, SweepSpec)) from None

    base_path = path.parent / spec.base
    if not base_path.is_file():
        raise UserError(f"{path}: base: no such scenario file {base_path}")
    base = build_scenario(read_scenario_file(base_path), str(base_path)).resolved()

    varied = [("grid", key) for key in spec.grid]
    varied += [("sample.ranges", key) for key in (spec.sample.ranges if spec.sample else {})]
    fixed = [("set", key) for key in spec.set]
    cli = [parse_override(text) for text in overrides]
    _check_keys(path, base, varied + fixed + [("--set", ".".join(p)) for p, _ in cli])

    for key, value in spec.set.items():
        apply_override(base, key.split("."), value, f"{path}: set.{key}")
    for (parts, value), text in zip(cli, overrides):
        apply_override(base, parts, value, f"--set {one_line(text)}")
    base_sc = build_scenario(base, f"{path}: base {spec.base} with [set]/--set")
    strategies = _strategies(path, spec, base_sc.strategy_names())
    seed = base_sc.experiment.seed if spec.seed is None else spec.seed
    replications = base_sc.experiment.replications if spec.replications is None else spec.replications
    base = base_sc.resolved()
    base["experiment"]["seed"] = seed
    base["experiment"]["replications"] = replications

    parameters = _parameters(path, spec, base)
    rows, dropped = _design(spec, parameters)
    points = [_make_point(i, values, base, strategies) for i, values in enumerate(rows)]
    sweep = Sweep(spec, path, base_path, base, tuple(overrides), seed, replications, strategies,
                  parameters, points, dropped)
    sweep.fingerprint = _fingerprint(sweep)
    return sweep


def _check_keys(path: Path, base: dict, keys: list[tuple[str, str]]) -> None:
    """Every key path must name something in the (resolved) base scenario, once."""
    problems = []
    seen: dict[str, str] = {}
    for section, key in keys:
        where = f"{path}: {section}.{key}" if section != "--set" else f"--set {key}"
        parts = key.split(".")
        if parts[0] in FIXED_KEYS:
            problems.append(f"{where}: {parts[0]} {FIXED_KEYS[parts[0]]}; it cannot be varied")
            continue
        if parts[0] == "strategies" and section in ("grid", "sample.ranges") and (
                len(parts) < 3 or parts[2] not in STRATEGY_SETTINGS):
            problems.append(f"{where}: the strategies (their list and names) are the same at "
                            "every point; vary a strategy's settings (strategies.N.n_messages) "
                            "or list strategies in the sweep file")
            continue
        problem = _lookup_problem(base, parts)
        if problem:
            problems.append(f"{where}: unknown key path: {problem}")
            continue
        for other, other_section in seen.items():
            if key == other or key.startswith(other + ".") or other.startswith(key + "."):
                if not (section == "--set" and other_section in ("set", "--set")):
                    problems.append(f"{where}: overlaps {other_section}.{other}; set each key once")
        seen[key] = section
    if problems:
        raise UserError(capped_lines(problems))


def _lookup_problem(node: Any, parts: list[str]) -> str | None:
    """None if ``parts`` names an existing key of ``node``, else what is wrong."""
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the scenario"
        if isinstance(node, dict):
            if part not in node:
                close = difflib.get_close_matches(part, list(map(str, node)), n=1, cutoff=0.6)
                if close:
                    return f"{here} has no key {part!r}; did you mean {'.'.join([*parts[:depth], close[0]])}?"
                return f"{here} has no key {part!r} (it has: {', '.join(map(str, node))})"
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"{here} is a list of {len(node)} items; {part!r} is not an index of it"
            node = node[int(part)]
        else:
            return f"{here} is a value, not a table"
    return None


def _value_at(node: Any, parts: list[str]) -> Any:
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _strategies(path: Path, spec: SweepSpec, available: list[str]) -> tuple[str, ...]:
    if spec.strategies is None:
        return tuple(available)
    unknown = [name for name in spec.strategies if name not in available]
    if unknown:
        raise UserError(f"{path}: strategies: {unknown[0]!r} is not a strategy of {spec.base}; "
                        f"choose from: {', '.join(available)}")
    if len(set(spec.strategies)) != len(spec.strategies):
        raise UserError(f"{path}: strategies: a name is listed twice")
    return tuple(name for name in available if name in spec.strategies)


def _grid_type(values: list[Any]) -> pa.DataType:
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(type(v) is int for v in values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()  # text, or tables/mixed values stored as JSON text


def _parameters(path: Path, spec: SweepSpec, base: dict) -> list[Parameter]:
    params = [Parameter(key, "grid", _grid_type(values), values=tuple(values))
              for key, values in spec.grid.items()]
    for key, rng in (spec.sample.ranges if spec.sample else {}).items():
        current = _value_at(base, key.split("."))
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise UserError(f"{path}: sample.ranges.{key}: the base value {current!r} is not a "
                            "number; list the values under [grid] instead")
        integer = type(current) is int
        if integer and not (float(rng.low).is_integer() and float(rng.high).is_integer()):
            raise UserError(f"{path}: sample.ranges.{key}: a whole-number key; low and high "
                            f"must be whole numbers (got {rng.low:g}, {rng.high:g})")
        if integer and rng.scale == "log":
            raise UserError(f"{path}: sample.ranges.{key}: scale = 'log' needs a real-valued key")
        params.append(Parameter(key, "sample", pa.int64() if integer else pa.float64(),
                                low=rng.low, high=rng.high, scale=rng.scale, integer=integer))
    return params


def _design(spec: SweepSpec, parameters: list[Parameter]) -> tuple[list[dict], int]:
    """Point values in order: grid combinations (file order) x Latin hypercube rows."""
    grid = [p for p in parameters if p.source == "grid"]
    sampled = [p for p in parameters if p.source == "sample"]
    n_grid = math.prod(len(p.values) for p in grid)
    total = n_grid * (spec.sample.size if spec.sample else 1)
    if total > MAX_POINTS:
        raise UserError(f"sweep {spec.name!r}: {total:,} points is more than {MAX_POINTS:,}; "
                        "use fewer values or a [sample] of the ranges")
    samples = [{}]
    if sampled:
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(sampled), rng=np.random.default_rng(spec.sample.seed)
                                  ).random(spec.sample.size)
        samples = [{p.key: _scale(p, u) for p, u in zip(sampled, row)} for row in unit]
    rows, seen, dropped = [], set(), 0
    for combo in itertools.product(*(p.values for p in grid)):
        for sample in samples:
            values = {p.key: v for p, v in zip(grid, combo)} | sample
            identity = _canonical(values)
            if identity in seen:  # integer ranges can repeat a combination
                dropped += 1
                continue
            seen.add(identity)
            rows.append(values)
    return rows, dropped


def _scale(param: Parameter, u: float) -> float | int:
    """Map a unit-interval draw to the parameter's range (6 significant digits)."""
    if param.integer:
        low, high = int(param.low), int(param.high)
        return min(high, low + int(math.floor(u * (high - low + 1))))
    if param.scale == "log":
        value = math.exp(math.log(param.low) + u * (math.log(param.high) - math.log(param.low)))
    else:
        value = param.low + u * (param.high - param.low)
    return min(param.high, max(param.low, float(f"{value:.6g}")))


def _make_point(point_id: int, values: dict, base: dict, strategies: tuple[str, ...]) -> Point:
    """Apply the values to the base and validate; a rejected point keeps its reason."""
    point = Point(point_id, values)
    data = copy.deepcopy(base)
    label = f"point {point_id}"
    try:
        for key, value in values.items():
            apply_override(data, key.split("."), copy.deepcopy(value), label)
        scenario = build_scenario(data, label).resolved()
    except UserError as exc:
        point.error = "; ".join(line.removeprefix(f"{label}: ") for line in str(exc).splitlines())
        return point
    point.scenario = scenario
    point.hash = point_hash(scenario, strategies)
    return point


def point_hash(resolved: dict, strategies: tuple[str, ...]) -> str:
    """sha256 of everything that can change a point's numbers (labels left out)."""
    material = {k: v for k, v in resolved.items() if k not in ("name", "description")}
    blob = _canonical({"scenario": material, "strategies": list(strategies),
                       "results_schema_version": RESULTS_SCHEMA_VERSION})
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _fingerprint(sweep: Sweep) -> str:
    """sha256 of the design: parameters, every point's values and hash, dialsim version."""
    blob = _canonical({
        "dialsim": __version__,
        "parameters": [p.describe() for p in sweep.parameters],
        "points": [[p.point_id, _canonical(p.values), p.hash, p.error] for p in sweep.points],
        "strategies": list(sweep.strategies),
        "seed": sweep.seed,
        "replications": sweep.replications,
    })
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class SweepTask:
    point_id: int
    batch: ReplicationBatch


@dataclass
class SweepTaskResult:
    point_id: int
    rows: list[dict]
    error: str | None = None
    wall_s: float = 0.0


def run_sweep_task(task: SweepTask) -> SweepTaskResult:
    """Run one batch of a point on a worker; an exception becomes the point's error."""
    started = time.perf_counter()
    try:
        rows = run_replications(task.batch)
    except Exception as exc:  # reported with the point's parameters; the sweep goes on
        return SweepTaskResult(task.point_id, [], f"{type(exc).__name__}: {exc}",
                               time.perf_counter() - started)
    return SweepTaskResult(task.point_id, rows, None, time.perf_counter() - started)


def replications_per_task(replications: int, points: int, workers: int) -> int:
    """Whole points per task when there are plenty; else split so every worker has work."""
    wanted_tasks = 4 * max(1, workers)
    if points >= wanted_tasks:
        return replications
    splits = math.ceil(wanted_tasks / max(1, points))
    return max(1, math.ceil(replications / splits))


@dataclass
class SweepOutcome:
    """What a ``run_sweep`` call did; ``failed`` lists (point, error) of this run."""

    out_dir: Path
    status: str
    points: int
    done: int
    skipped: int
    ran: int
    failed: list[tuple[Point, str]] = field(default_factory=list)
    invalid: list[Point] = field(default_factory=list)
    wall_s: float = 0.0
    summary: pa.Table | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.invalid and self.done == self.points


class SweepProgress:
    """Callbacks of a running sweep (override what you need)."""

    def start(self, to_run: int, skipped: int, invalid: list[Point]) -> None:
        pass

    def point_done(self, point: Point, error: str | None) -> None:
        pass


def point_path(out_dir: Path, point_id: int) -> Path:
    return Path(out_dir) / DATA_DIR / f"point-{point_id:06d}.parquet"


def run_sweep(sweep: Sweep, out_dir: Path, executor: Executor, *, restart: bool = False,
              progress: SweepProgress | None = None, executor_label: str = "local") -> SweepOutcome:
    """Run every point not already finished in ``out_dir``; write the dataset.

    Each point's file appears atomically when all its replications are in. On any
    interruption (Ctrl-C, SIGTERM raised as KeyboardInterrupt, a crash) the workers
    are stopped, finished points stay, the manifest says "interrupted", and the
    exception propagates; running again resumes.
    """
    out_dir = Path(out_dir)
    progress = progress or SweepProgress()
    started = time.perf_counter()
    check_out_dir(out_dir, sweep, restart)  # before anything is written
    select_engine()  # likewise a bad DIALSIM_ENGINE
    with _locked(out_dir):
        try:
            if check_out_dir(out_dir, sweep, restart) == "restart":
                _clear(out_dir)
            (out_dir / DATA_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(os_error_message(out_dir, exc, "cannot prepare")) from None
        remove_stale_temporaries(out_dir / DATA_DIR)  # left by a killed run
        remove_stale_temporaries(out_dir)
        done = {p.point_id for p in sweep.valid_points if _finished(out_dir, p)}
        manifest = _manifest(sweep, executor, executor_label)
        write_json_atomic(manifest, out_dir / MANIFEST)

        to_run = [p for p in sweep.valid_points if p.point_id not in done]
        invalid = [p for p in sweep.points if p.error is not None]
        outcome = SweepOutcome(out_dir, "running", len(sweep.points), 0, len(done), 0,
                               invalid=invalid)
        failed: dict[int, str] = {}
        status = "interrupted"
        try:
            progress.start(len(to_run), len(done), invalid)
            _execute(sweep, out_dir, executor, to_run, done, failed, progress)
            status = "complete" if len(done) == len(sweep.points) else "failed"
        except BaseException:
            executor.abort()
            raise
        finally:
            by_id = {p.point_id: p for p in sweep.points}
            outcome.failed = [(by_id[i], e) for i, e in sorted(failed.items())]
            outcome.done = len(done)
            outcome.ran = len(done) - outcome.skipped
            outcome.status = status
            outcome.wall_s = time.perf_counter() - started
            outcome.summary = _finalize(sweep, out_dir, manifest, done, failed, status,
                                        outcome.wall_s)
    return outcome


def _execute(sweep: Sweep, out_dir: Path, executor: Executor, to_run: list[Point],
             done: set[int], failed: dict[int, str], progress: SweepProgress) -> None:
    per_task = replications_per_task(sweep.replications, len(to_run), executor.workers)
    reps = list(range(sweep.replications))
    batches_per_point = math.ceil(sweep.replications / per_task)
    by_id = {p.point_id: p for p in to_run}

    def tasks() -> Iterator[SweepTask]:
        for point in to_run:
            for start in range(0, sweep.replications, per_task):
                batch = ReplicationBatch(point.scenario, sweep.seed,
                                         tuple(reps[start:start + per_task]), sweep.strategies)
                yield SweepTask(point.point_id, batch)

    rows: dict[int, list[dict]] = {}
    remaining: dict[int, int] = {}
    for _task, result in executor.map_unordered(run_sweep_task, tasks(),
                                                max_in_flight=2 * executor.workers):
        pid = result.point_id
        remaining[pid] = remaining.get(pid, batches_per_point) - 1
        if result.error is not None and pid not in failed:
            failed[pid] = result.error
        elif pid not in failed:
            rows.setdefault(pid, []).extend(result.rows)
        if remaining[pid] == 0:
            del remaining[pid]
            point_rows = rows.pop(pid, [])
            if pid not in failed:
                _write_point(sweep, out_dir, by_id[pid], point_rows)
                done.add(pid)
            progress.point_done(by_id[pid], failed.get(pid))


def _write_point(sweep: Sweep, out_dir: Path, point: Point, rows: list[dict]) -> None:
    order = {name: i for i, name in enumerate(sweep.strategies)}
    rows.sort(key=lambda row: (row["replication"], order[row["strategy"]]))
    n = len(rows)
    columns: dict[str, list] = {"point_id": [point.point_id] * n, "point_hash": [point.hash] * n}
    for param in sweep.parameters:
        columns[param.key] = [param.column_value(point.values[param.key])] * n
    for name in (*SUMMARY_SCHEMA.names, *(f.name for f in WINDOW_FIELDS)):
        columns[name] = [row[name] for row in rows]
    schema = sweep.point_schema().with_metadata({HASH_KEY: point.hash.encode()})
    write_parquet_atomic(pa.table(columns, schema=schema), point_path(out_dir, point.point_id))


def _finished(out_dir: Path, point: Point) -> bool:
    """The point's file exists and was written for exactly this point (same hash)."""
    path = point_path(out_dir, point.point_id)
    if not path.exists():
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return metadata.get(HASH_KEY) == point.hash.encode()


def check_out_dir(out_dir: Path, sweep: Sweep, restart: bool) -> str:
    """"new", "resume" or "restart"; a folder we must not touch is a UserError."""
    check_out_location(out_dir)
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise UserError(f"--out {out_dir}: exists and is not a folder")
    if not out_dir.exists():
        return "new"
    manifest_path = out_dir / MANIFEST
    if not manifest_path.exists():
        try:
            entries = [p for p in out_dir.iterdir() if p.name != LOCK_FILE]
        except OSError as exc:
            raise UserError(os_error_message(out_dir, exc, "cannot read")) from None
        if entries:
            raise UserError(f"--out {out_dir}: not empty and not a sweep results folder; "
                            "choose another --out")
        return "new"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(os_error_message(manifest_path, exc, "cannot read")) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"{manifest_path}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{manifest_path}: not a dialsim manifest (a JSON "
                        f"{type(manifest).__name__}); choose another --out")
    if manifest.get("kind") != "sweep":
        raise UserError(f"--out {out_dir}: holds a dialsim {manifest.get('kind', 'run')}, "
                        "not a sweep; choose another --out")
    if manifest.get("fingerprint") == sweep.fingerprint and \
            manifest.get("results_schema_version") == RESULTS_SCHEMA_VERSION:
        return "restart" if restart else "resume"
    if restart:
        return "restart"
    raise UserError(
        f"--out {out_dir}: holds results of a different sweep (the sweep file, its base "
        f"scenario or dialsim changed: fingerprint {str(manifest.get('fingerprint'))[:12]} "
        f"there, {sweep.fingerprint[:12]} now); use another --out, or --restart to discard "
        "those results")


def _clear(out_dir: Path) -> None:
    """Remove what a sweep wrote (only called on a folder whose manifest says sweep).

    The manifest, points and summary tables, ``data/point-NNNNNN.parquet`` and the
    sweep's charts in ``plots/``; a folder left empty goes too. Anything else (a
    user's notes in ``plots/``, files beside the results) stays where it is.
    """
    for name in (MANIFEST, POINTS_FILE, SUMMARY_FILE):
        (out_dir / name).unlink(missing_ok=True)
    for folder, pattern in ((DATA_DIR, _POINT_FILE), (PLOTS_DIR, _SWEEP_CHART)):
        path = out_dir / folder
        if not path.is_dir() or path.is_symlink():
            continue
        for entry in path.iterdir():
            if pattern.match(entry.name) and entry.is_file() and not entry.is_symlink():
                entry.unlink()
        remove_stale_temporaries(path)
        if not any(path.iterdir()):
            path.rmdir()


@contextmanager
def _locked(out_dir: Path):
    """One sweep at a time per folder (an advisory lock, released if the process dies)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create: {exc.strerror}") from None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        handle = open(out_dir / LOCK_FILE, "a+")
    except OSError as exc:  # a read-only folder
        raise UserError(os_error_message(out_dir / LOCK_FILE, exc, "cannot write")) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"--out {out_dir}: another dialsim sweep is writing there; wait "
                            "for it to finish or choose another --out") from None
        yield


def _manifest(sweep: Sweep, executor: Executor, executor_label: str) -> dict:
    return {
        "results_schema_version": RESULTS_SCHEMA_VERSION,
        "kind": "sweep",
        "status": "running",
        "pid": os.getpid(),  # while "running": the process writing it (see sweep_status)
        "host": socket.gethostname(),
        "sweep_name": sweep.name,
        "sweep_source": str(sweep.source),
        "base_source": str(sweep.base_source),
        "fingerprint": sweep.fingerprint,
        "sweep": sweep.spec.model_dump(mode="json"),
        "overrides": list(sweep.overrides),
        "base_scenario": sweep.base,
        "seed": sweep.seed,
        "replications": sweep.replications,
        "strategies": list(sweep.strategies),
        "parameters": [p.describe() for p in sweep.parameters],
        "points_expected": len(sweep.points),
        "duplicate_points_dropped": sweep.duplicates_dropped,
        "points": [{"point_id": p.point_id, "hash": p.hash} for p in sweep.points],
        "versions": environment_versions(select_engine(warn=False).name),
        "command": command_line(),
        "executor": executor_label,
        "workers": executor.workers,
        "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _finalize(sweep: Sweep, out_dir: Path, manifest: dict, done: set[int],
              failed: dict[int, str], status: str, wall_s: float) -> pa.Table:
    """Write points.parquet, sweep_summary.parquet (from the files on disk) and the manifest."""
    points = points_table(sweep, done, failed)
    write_parquet_atomic(points, out_dir / POINTS_FILE)
    summary = summary_table(sweep, out_dir, done)
    write_parquet_atomic(summary, out_dir / SUMMARY_FILE)
    manifest = dict(manifest)
    manifest.update({
        "status": status,
        "points_done": len(done),
        "points_failed": len(failed),
        "points_invalid": sum(p.error is not None for p in sweep.points),
        "failures": [{"point_id": p.point_id, "values": p.values,
                      "status": "invalid" if p.error else "failed",
                      "error": p.error or failed[p.point_id]}
                     for p in sweep.points if p.error or p.point_id in failed],
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings_s": {"this_run": round(wall_s, 3)},
        "files": {POINTS_FILE: points.num_rows, SUMMARY_FILE: summary.num_rows,
                  DATA_DIR: len(done)},
    })
    write_json_atomic(manifest, out_dir / MANIFEST)
    return summary


def points_table(sweep: Sweep, done: set[int], failed: dict[int, str]) -> pa.Table:
    """One row per point: id, hash, parameter values, status (done/failed/invalid/pending)."""
    schema = pa.schema([
        POINT_ID,
        POINT_HASH,
        *[p.field() for p in sweep.parameters],
        pa.field("status", pa.string(), metadata={"description": "done, failed, invalid or pending"}),
        pa.field("error", pa.string()),
    ])
    columns: dict[str, list] = {name: [] for name in schema.names}
    for point in sweep.points:
        status = ("invalid" if point.error else "done" if point.point_id in done
                  else "failed" if point.point_id in failed else "pending")
        columns["point_id"].append(point.point_id)
        columns["point_hash"].append(point.hash)
        for param in sweep.parameters:
            columns[param.key].append(param.column_value(point.values[param.key]))
        columns["status"].append(status)
        columns["error"].append(point.error or failed.get(point.point_id))
    return pa.table(columns, schema=schema)


# name, type, unit, description: the per point x strategy columns of sweep_summary.parquet
SUMMARY_COLUMNS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("strategy", pa.string(), "", "voicemail strategy"),
    ("replications", pa.int32(), "", "replications behind the numbers"),
    ("connects_per_rep_hour_mean", pa.float64(), "1/h", "mean over replications"),
    ("connects_per_rep_hour_ci95_low", pa.float64(), "1/h", "Student-t 95% interval; NaN with one replication"),
    ("connects_per_rep_hour_ci95_high", pa.float64(), "1/h", ""),
    ("outbound_connects_per_rep_hour_mean", pa.float64(), "1/h", "outbound connects only"),
    ("abandon_rate_with_amd_mean", pa.float64(), "ratio", "(abandoned + AMD hang-ups) / (live answers + AMD hang-ups) over the campaign, as regulators count; mean"),
    ("abandon_rate_with_amd_ci95_high", pa.float64(), "ratio", "high end of its 95% interval"),
    ("complies", pa.bool_(), "", "holds every [constraints] cap by the high end of the 95% interval (true when the scenario sets none)"),
    ("broken_caps", pa.string(), "", "the caps it breaks, with the capped rate's mean and 95% interval; null if it complies"),
    ("rank", pa.int16(), "", "1 = most connects per rep-hour among the strategies that comply; those that break a cap rank after them"),
    ("is_winner", pa.bool_(), "", "rank 1 and complies"),
    ("winner", pa.string(), "", "the point's best strategy that complies; null if none complies"),
    ("runner_up", pa.string(), "", "the next strategy that complies; null if there is none"),
    ("margin_mean", pa.float64(), "1/h", "winner minus runner-up, paired by replication"),
    ("margin_ci95_low", pa.float64(), "1/h", "95% interval of the paired difference"),
    ("margin_ci95_high", pa.float64(), "1/h", ""),
    ("margin_clear", pa.bool_(), "", "the point's verdict (as dialsim run gives it) separates the winner from every other strategy that complies"),
)


def summary_schema(parameters: list[Parameter]) -> pa.Schema:
    """Schema of sweep_summary.parquet: point id, swept values, SUMMARY_COLUMNS."""
    fields = [pa.field(name, dtype, metadata={"unit": unit, "description": description})
              for name, dtype, unit, description in SUMMARY_COLUMNS]
    return pa.schema([POINT_ID, *[p.field() for p in parameters], *fields])


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def summarise_point(rows: pa.Table, strategies: tuple[str, ...],
                    scenario: dict | None = None) -> list[dict]:
    """Per strategy: mean and 95% CI of connects/rep-h, abandon rate, the point's caps
    (``scenario``'s ``[constraints]``); the winner and its paired margin.

    The winner, which strategies comply and whether the winner is clear are the
    verdict of :func:`sim.analysis.compare.decide`, as ``dialsim run`` and the report
    give it; the per-day caps are judged from the worst-window columns the point rows
    keep (a sweep keeps no timeline).
    """
    data = rows.select(["strategy", "replication", HEADLINE, "outbound_" + HEADLINE,
                        "abandon_rate_with_amd"]).to_pylist()
    data.sort(key=lambda r: r["replication"])
    values = {s: [r[HEADLINE] for r in data if r["strategy"] == s] for s in strategies}
    outbound = {s: [r["outbound_" + HEADLINE] for r in data if r["strategy"] == s] for s in strategies}
    abandon = {s: t_interval([r["abandon_rate_with_amd"] for r in data if r["strategy"] == s])
               for s in strategies}
    intervals = {s: t_interval(values[s]) for s in strategies}
    verdict = decide(rows, strategies, scenario, metric=HEADLINE)
    ranked = sorted(strategies, key=lambda s: (s in verdict.breaking,
                                               -np.nan_to_num(intervals[s].mean, nan=-np.inf),
                                               strategies.index(s)))
    winner = verdict.best
    eligible = [s for s in ranked if s not in verdict.breaking]
    runner_up = eligible[1] if len(eligible) > 1 else None
    margin = paired_difference(values[winner], values[runner_up]) if runner_up else None
    out = []
    for strategy in strategies:
        iv = intervals[strategy]
        out.append({
            "strategy": strategy,
            "replications": iv.n,
            "connects_per_rep_hour_mean": iv.mean,
            "connects_per_rep_hour_ci95_low": _finite(iv.low),
            "connects_per_rep_hour_ci95_high": _finite(iv.high),
            "outbound_connects_per_rep_hour_mean": float(np.mean(outbound[strategy])),
            "abandon_rate_with_amd_mean": abandon[strategy].mean,
            "abandon_rate_with_amd_ci95_high": _finite(abandon[strategy].high),
            "complies": strategy not in verdict.breaking,
            "broken_caps": (verdict.breaking[strategy].describe()
                            if strategy in verdict.breaking else None),
            "rank": ranked.index(strategy) + 1,
            "is_winner": strategy == winner,
            "winner": winner,
            "runner_up": runner_up,
            "margin_mean": margin.mean if margin else math.nan,
            "margin_ci95_low": _finite(margin.low) if margin else math.nan,
            "margin_ci95_high": _finite(margin.high) if margin else math.nan,
            "margin_clear": runner_up is not None and verdict.separated,
        })
    return out


def summary_table(sweep: Sweep, out_dir: Path, done: set[int]) -> pa.Table:
    """sweep_summary.parquet, computed from the point files on disk (so resume-proof)."""
    schema = summary_schema(sweep.parameters)
    columns: dict[str, list] = {name: [] for name in schema.names}
    for point in sweep.points:
        if point.point_id not in done:
            continue
        rows = pq.read_table(point_path(out_dir, point.point_id))
        for row in summarise_point(rows, sweep.strategies, point.scenario):
            columns["point_id"].append(point.point_id)
            for param in sweep.parameters:
                columns[param.key].append(param.column_value(point.values[param.key]))
            for name, value in row.items():
                columns[name].append(value)
    return pa.table(columns, schema=schema)


def read_sweep(run_dir: Path) -> tuple[dict, pa.Table, pa.Table]:
    """(manifest, points table, summary table) of a sweep results folder, checked."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("kind") != "sweep":
        raise UserError(f"{run_dir}: holds a dialsim {manifest.get('kind')}, not a sweep")
    _check_sweep_manifest(run_dir / MANIFEST, manifest)
    manifest["status"] = sweep_status(manifest)
    keys = [p["key"] for p in manifest["parameters"]]
    tables = []
    for name, columns in ((POINTS_FILE, ["point_id", *keys, "status"]),
                          (SUMMARY_FILE, ["point_id", *keys, *(c[0] for c in SUMMARY_COLUMNS)])):
        path = run_dir / name
        if not path.exists():
            raise UserError(f"{run_dir}: no {name}; the sweep never finished a pass, run it again")
        if not path.is_file():
            raise UserError(f"{path}: not a file; damaged sweep folder: run it with --restart")
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{path}: unreadable ({reason}); run the sweep again") from None
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise UserError(f"{path}: missing columns {', '.join(missing[:3])}; damaged or "
                            "from another version: run the sweep with --restart")
        tables.append(table)
    points, summary = tables
    wrong = [c for c, t, _u, _d in SUMMARY_COLUMNS if summary.schema.field(c).type != t]
    if wrong:
        raise UserError(f"{run_dir / SUMMARY_FILE}: columns of the wrong type "
                        f"({', '.join(wrong[:3])}); damaged: run the sweep with --restart")
    unknown = set(summary.column("strategy").to_pylist()) - set(manifest["strategies"])
    if unknown:
        raise UserError(f"{run_dir / SUMMARY_FILE}: strategies {', '.join(sorted(unknown)[:3])} "
                        "are not in the manifest; damaged: run the sweep with --restart")
    return manifest, points, summary


def sweep_status(manifest: dict) -> str:
    """The manifest's status, but "interrupted" for a "running" sweep whose process is gone.

    A sweep killed with SIGKILL (or by a power cut) cannot write "interrupted"; its
    manifest keeps "running" with the pid and host that wrote it, so readers check
    that process. On another host the recorded status is taken as it is.
    """
    status = manifest.get("status")
    if status == "running" and manifest.get("host") == socket.gethostname() \
            and not pid_alive(manifest.get("pid")):
        return "interrupted"
    return status


def _check_sweep_manifest(path: Path, manifest: dict) -> None:
    """The manifest fields plots and tables read, with the types they need."""
    params = manifest.get("parameters")
    strategies = manifest.get("strategies")
    problems = []
    if not isinstance(manifest.get("sweep_name"), str):
        problems.append("sweep_name should be text")
    if not (isinstance(params, list) and params and all(
            isinstance(p, dict) and isinstance(p.get("key"), str) for p in params)):
        problems.append("parameters should be a list of {key = ...} tables")
    if not (isinstance(strategies, list) and strategies and all(
            isinstance(s, str) for s in strategies)):
        problems.append("strategies should be a list of names")
    if problems:
        raise UserError(f"{path}: damaged sweep manifest ({'; '.join(problems)}); run the "
                        "sweep with --restart")
