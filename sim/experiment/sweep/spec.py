"""The sweep file (TOML, see docs/sweeps.md): its schema, and loading it into a Sweep.

A sweep file names a base scenario and the keys to vary, by key path. Every problem
with the file is a UserError raised here, before any work starts.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import UserError
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
from sim.experiment.sweep.design import (
    MAX_POINTS,
    Parameter,
    Sweep,
    _design,
    _fingerprint,
    _make_point,
)

SWEEP_SCHEMA_VERSION = 1
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
