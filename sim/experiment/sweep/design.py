"""A sweep's design: parameters, points and the hashes that name their results.

A point is the base scenario with the point's values applied and validated. A point's
hash (its resolved scenario, seed, replications and strategies) names its results, so
a re-run skips finished points, and a fingerprint of the whole design keeps a changed
sweep from being mixed with old results. ``[grid]`` values combine in full factorial,
``[sample]`` ranges are drawn by a seeded Latin hypercube (scipy.stats.qmc); with
both, every grid combination meets every sampled row.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from sim import __version__
from sim.errors import UserError
from sim.analysis.constraints import WINDOW_COLUMNS
from sim.analysis.metrics import SUMMARY_SCHEMA
from sim.store.results import RESULTS_SCHEMA_VERSION
from sim.scenario.schema import apply_override, build_scenario

if TYPE_CHECKING:
    from sim.experiment.sweep.spec import SweepSpec

MAX_POINTS = 100_000
POINT_ID = pa.field("point_id", pa.int32(), metadata={"description": "the point, 0..N-1 in design order"})
POINT_HASH = pa.field("point_hash", pa.string(), metadata={
    "description": "sha256 of the point's resolved scenario, seed, replications and strategies"})
WINDOW_FIELDS = [pa.field(name, dtype, metadata={"unit": unit, "description": description})
                 for name, dtype, unit, description in WINDOW_COLUMNS]


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
