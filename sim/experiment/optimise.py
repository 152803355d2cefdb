"""Policy search: the best voicemail policy and cadence for a team's own world.

The space file (TOML, docs/optimise.md) lists voicemail policies (every message
sequence over a set of labels up to a length, and/or explicit sequences, each with
what follows it) and a grid of scenario keys (drop mode, max attempts, retry gap,
...). A **candidate** is one policy with one grid combination: the scenario with
those values and the policy as its only strategy.

Selection, with common random numbers throughout (every candidate runs on the same
seed, so replication r of every candidate sees the same prospects and draws):

1. **Successive halving**: every candidate runs ``first_replications``; the best
   ``1/eta`` by mean objective (compliant candidates only) go on with ``eta`` times
   the replications; repeated until at most ``finalists`` are left.
2. **Ranking and selection** among the finalists: a two-stage indifference-zone
   procedure with paired differences and Bonferroni's inequality (Clark and Yang
   1986; Nelson and Matejcik 1995, procedure B). With ``n0`` replications, the
   sample variance ``S2_ij`` of each paired difference and
   ``t = t(1 - (1 - pcs) / (k - 1), n0 - 1)``, every finalist runs
   ``N = max(n0, ceil(t^2 max S2_ij / delta^2))`` replications; the highest mean
   wins. If the best finalist's true mean is at least ``delta`` above every other
   finalist's, it is selected with probability at least ``pcs``. (The guarantee is
   among the finalists: halving may drop a candidate within noise of the best.)

The best built-in strategies of the scenario run on the same ``N`` replications and
seed; the selected policy's paired margin over the best compliant built-in is
reported with its 95% interval.
"""

from __future__ import annotations

import copy
import datetime as _dt
import itertools
import json
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.analysis.objective import Objective
from sim.analysis.stats import paired_difference, t_interval, t_quantile
from sim.errors import UserError
from sim.experiment.designs import (
    Base,
    begin_designed_run,
    check_results_dir,
    designed_manifest,
    designed_sweep,
    jsonable,
    load_base,
    point_rows,
    run_design_points,
    values_by_strategy,
)
from sim.experiment.sweep import Parameter, check_out_dir
from sim.experiment.sweep.spec import _check_keys, _flatten, _grid_type, _non_empty
from sim.scenario.schema import validation_message
from sim.store.results import MANIFEST, write_json_atomic, write_parquet_atomic

SPACE_SCHEMA_VERSION = 1
POLICY = "optimised"
MAX_CANDIDATES = 5000
ROUNDS = "rounds"
CANDIDATES_FILE = "candidates.parquet"
STRATEGIES_KEY = "strategies"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicySpace(_Strict):
    """Voicemail policies: generated sequences and/or explicit ones."""

    labels: list[str] = Field(default_factory=list, description="message labels; '-' is silence")
    length: int = Field(0, ge=0, le=6, description="generate every sequence of this length")
    sequences: list[Annotated[list[str], AfterValidator(_non_empty)]] = Field(default_factory=list)
    then: list[Literal["cycle", "repeat_last", "silent"]] = Field(
        default_factory=lambda: ["cycle"], min_length=1)

    @field_validator("labels", "sequences")
    @classmethod
    def _no_blank(cls, value):
        flat = [x for item in value for x in (item if isinstance(item, list) else [item])]
        if any(not str(x).strip() for x in flat):
            raise ValueError("labels must be non-empty text ('-' for silence)")
        return value


class SearchSpec(_Strict):
    eta: int = Field(3, ge=2, le=10, description="keep the best 1/eta each halving round")
    first_replications: int = Field(2, ge=2, le=1000)
    finalists: int = Field(4, ge=2, le=50)
    pcs: float = Field(0.95, gt=0.5, lt=1, description="probability of correct selection")
    indifference: float = Field(0.05, gt=0, description="delta, in the objective's unit")
    max_replications: int = Field(200, ge=2, le=100_000)


class SpaceSpec(_Strict):
    schema_version: Literal[1]
    policy: PolicySpace
    grid: dict[str, Annotated[list[Any], AfterValidator(_non_empty)]] = Field(default_factory=dict)
    search: SearchSpec = Field(default_factory=SearchSpec)

    @field_validator("grid", mode="before")
    @classmethod
    def _flat_grid(cls, value):
        return _flatten(value, lambda t: False)


@dataclass(frozen=True)
class Candidate:
    cid: int
    sequence: tuple[str, ...]
    then: str
    values: dict  # grid key -> value

    def strategy(self) -> dict:
        return {"name": POLICY, "kind": "sequence", "sequence": list(self.sequence),
                "then": self.then}

    def label(self) -> str:
        seq = " ".join(self.sequence)
        rest = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"[{seq}] then {self.then}" + (f"; {rest}" if rest else "")


@dataclass
class OptimisePlan:
    base: Base
    space: SpaceSpec
    source: Path
    objective: Objective
    candidates: list[Candidate]
    parameters: list[Parameter]
    dropped_duplicates: int


def _read(path: Path) -> dict:
    if not path.exists():
        raise UserError(f"--space {path}: no such file")
    if path.is_dir():
        raise UserError(f"--space {path}: is a folder, expected a .toml file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None


def plan_optimise(scenario: Path, space_path: Path, *, overrides: list[str] | None = None,
                  seed: int | None = None, objective: Objective | None = None) -> OptimisePlan:
    """Read and check the scenario and space file, list the candidates; nothing is run."""
    space_path = Path(space_path)
    data = _read(space_path)
    if data.get("schema_version") != SPACE_SCHEMA_VERSION:
        raise UserError(f"{space_path}: schema_version: this dialsim reads space files of "
                        f"version {SPACE_SCHEMA_VERSION}, the file says "
                        f"{data.get('schema_version', 'missing')!r}")
    try:
        space = SpaceSpec.model_validate(data)
    except ValidationError as exc:
        raise UserError(validation_message(str(space_path), exc)) from None
    base = load_base(scenario, overrides or [], None, None, seed)
    if STRATEGIES_KEY in space.grid or any(k.startswith("strategies.") for k in space.grid):
        raise UserError(f"{space_path}: grid.strategies: the policies come from [policy]")
    _check_keys(space_path, base.resolved, [("grid", key) for key in space.grid])
    policies = _policies(space, space_path)
    combos = [dict(zip(space.grid, combo)) for combo in itertools.product(*space.grid.values())]
    candidates, seen, dropped = [], set(), 0
    horizon = _horizon(base, space)
    for values in combos:
        for sequence, then in policies:
            key = (_canonical_policy(sequence, then, horizon), json.dumps(values, sort_keys=True))
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            candidates.append(Candidate(len(candidates), sequence, then, values))
    if len(candidates) > MAX_CANDIDATES:
        raise UserError(f"{space_path}: {len(candidates):,} candidates is more than "
                        f"{MAX_CANDIDATES:,}; shorten [policy] or the [grid]")
    parameters = [Parameter(STRATEGIES_KEY, "grid", pa.string(), values=())]
    parameters += [Parameter(k, "grid", _grid_type(v), values=tuple(v)) for k, v in space.grid.items()]
    plan = OptimisePlan(base, space, space_path, objective or Objective(), candidates,
                        parameters, dropped)
    sweep = _sweep(plan, "check", candidates, 1)
    for point, cand in zip(sweep.points, candidates):
        if point.error is not None:
            raise UserError(f"{space_path}: candidate {cand.label()} is not a valid scenario: "
                            f"{point.error}")
    return plan


def _policies(space: SpaceSpec, path: Path) -> list[tuple[tuple[str, ...], str]]:
    policy = space.policy
    if policy.length and not policy.labels:
        raise UserError(f"{path}: policy.labels: give the labels to build sequences of "
                        f"length {policy.length} from (e.g. [\"A\", \"B\", \"-\"])")
    if policy.labels and not policy.length:
        raise UserError(f"{path}: policy.length: give the sequence length (1-6) for the labels")
    sequences = [tuple(s) for s in policy.sequences]
    if policy.length:
        sequences += list(itertools.product(policy.labels, repeat=policy.length))
    if not sequences:
        raise UserError(f"{path}: policy: no policies; give labels and length, or sequences")
    return [(seq, then) for seq in dict.fromkeys(sequences) for then in policy.then]


def _horizon(base: Base, space: SpaceSpec) -> int:
    attempts = [base.resolved["cadence"]["max_attempts"]]
    attempts += [v for v in space.grid.get("cadence.max_attempts", []) if isinstance(v, int)]
    return max(attempts)


def _canonical_policy(sequence, then, horizon: int) -> tuple:
    """What a policy does over ``horizon`` encounters, messages renamed by first use."""
    from sim.model.strategies import SequencePolicy

    policy = SequencePolicy("p", tuple(sequence), then)
    names: dict[int, int] = {}
    out = []
    for e in range(horizon):
        m = policy.message_at(e)
        out.append(-1 if m < 0 else names.setdefault(m, len(names)))
    return tuple(out)


def _sweep(plan: OptimisePlan, name: str, candidates: list[Candidate], replications: int):
    start = copy.deepcopy(plan.base.resolved)
    start["experiment"]["baseline"] = None
    rows = [{STRATEGIES_KEY: [c.strategy()], **c.values} for c in candidates]
    return designed_sweep(f"{plan.base.scenario.name}-optimise-{name}", plan.base,
                          plan.parameters, rows, replications=replications,
                          strategies=(POLICY,), resolved=start,
                          description=f"policy search {name}")


@dataclass
class Score:
    cid: int
    replications: int
    values: np.ndarray  # objective per replication
    compliant: bool

    @property
    def mean(self) -> float:
        return float(np.nanmean(self.values))


@dataclass
class OptimiseOutcome:
    out_dir: Path
    status: str
    best: Candidate | None = None
    best_interval: object = None
    builtin: str | None = None
    builtin_interval: object = None
    margin: object = None
    replications: int = 0
    stage2_capped: bool = False
    scores: dict[int, Score] = field(default_factory=dict)
    eliminated: dict[int, str] = field(default_factory=dict)
    finalists: list[int] = field(default_factory=list)
    scenario: dict | None = None
    wall_s: float = 0.0
    sweep_outcome: object = None
    message: str = ""


def check_optimise_dir(plan: OptimisePlan, out_dir: Path, restart: bool) -> None:
    """Refuse other results, or a search with another space or objective, before any work."""
    check_results_dir(out_dir, "optimise", restart)
    manifest = out_dir / MANIFEST
    if manifest.exists() and not restart:
        old = json.loads(manifest.read_text())
        mine = jsonable({"objective": plan.objective.describe(),
                         "space": plan.space.model_dump(mode="json")})
        changed = [key for key, value in mine.items() if old.get(key) != value]
        if changed:
            raise UserError(f"--out {out_dir}: holds a search with another "
                            f"{' and '.join(changed)}; use another --out, or --restart to "
                            "discard it")
    first = _sweep(plan, "round-0", plan.candidates, plan.space.search.first_replications)
    check_out_dir(out_dir / ROUNDS / "round-0", first, restart)


def run_optimise(plan: OptimisePlan, out_dir: Path, executor, *, restart: bool = False,
                 run_points=None, executor_label: str = "local") -> OptimiseOutcome:
    out_dir = Path(out_dir)
    started = time.perf_counter()
    check_optimise_dir(plan, out_dir, restart)
    manifest = begin_designed_run(out_dir, _manifest(plan, executor, executor_label), restart,
                                  (ROUNDS,))
    run_points = run_points or run_design_points
    search = plan.space.search
    outcome = OptimiseOutcome(out_dir, "interrupted")
    by_id = {c.cid: c for c in plan.candidates}

    def evaluate(name: str, ids: list[int], reps: int) -> bool:
        sweep = _sweep(plan, name, [by_id[i] for i in ids], reps)
        folder = out_dir / ROUNDS / name
        result = run_points(sweep, folder, executor, False, executor_label)
        outcome.sweep_outcome = result
        if not result.ok:
            return False
        for point, cid in zip(sweep.points, ids):
            rows = point_rows(folder, point.point_id,
                              ["strategy", "replication", *plan.objective.metrics()])
            per = {m: values_by_strategy(rows, m, (POLICY,))[POLICY]
                   for m in plan.objective.metrics()}
            outcome.scores[cid] = Score(cid, reps, per[plan.objective.metric],
                                        plan.objective.compliant(per))
        return True

    try:
        alive = [c.cid for c in plan.candidates]
        reps = search.first_replications
        k = 0
        while True:
            if not evaluate(f"round-{k}", alive, reps):
                outcome.status = "failed"
                break
            for cid in alive:
                if not outcome.scores[cid].compliant:
                    outcome.eliminated[cid] = f"round {k}: breaks a constraint"
            ok = sorted((c for c in alive if outcome.scores[c].compliant),
                        key=lambda c: (-outcome.scores[c].mean, c))
            if not ok:
                outcome.status = "no_compliant"
                outcome.message = ("no candidate meets the constraints ("
                                   + "; ".join(c.describe() for c in plan.objective.constraints)
                                   + ")")
                break
            if len(ok) <= search.finalists or reps >= search.max_replications:
                alive = ok[:search.finalists]
                for cid in ok[search.finalists:]:
                    outcome.eliminated[cid] = f"round {k}: not among the finalists"
                break
            keep = max(search.finalists, math.ceil(len(ok) / search.eta))
            for cid in ok[keep:]:
                outcome.eliminated[cid] = f"round {k}: halved out"
            alive = ok[:keep]
            reps = min(search.max_replications, reps * search.eta)
            k += 1
        if outcome.status == "interrupted":
            _select(plan, outcome, alive, reps, evaluate)
        if outcome.status == "complete":
            _against_builtins(plan, outcome, out_dir, executor, run_points, executor_label)
    except BaseException:
        manifest["status"] = "interrupted"
        write_json_atomic(jsonable(manifest), out_dir / MANIFEST)
        raise
    outcome.wall_s = time.perf_counter() - started
    write_parquet_atomic(candidates_table(plan, outcome), out_dir / CANDIDATES_FILE)
    manifest.update(jsonable({
        "status": outcome.status,
        "message": outcome.message,
        "finalists": [by_id[c].label() for c in outcome.finalists],
        "selection_replications": outcome.replications,
        "selection_capped": outcome.stage2_capped,
        "best": _describe(outcome),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings_s": {"this_run": round(outcome.wall_s, 3)},
    }))
    write_json_atomic(manifest, out_dir / MANIFEST)
    return outcome


def _select(plan: OptimisePlan, outcome: OptimiseOutcome, finalists: list[int], n0: int,
            evaluate) -> None:
    """Two-stage indifference-zone selection among the finalists (paired, Bonferroni)."""
    search = plan.space.search
    outcome.finalists = list(finalists)
    k = len(finalists)
    if k == 1:
        n = n0
    else:
        t = t_quantile(1 - 2 * (1 - search.pcs) / (k - 1), n0 - 1)  # one-sided 1-(1-pcs)/(k-1)
        worst = max(float(np.var(outcome.scores[a].values[:n0] - outcome.scores[b].values[:n0],
                                 ddof=1)) for a, b in itertools.combinations(finalists, 2))
        n = max(n0, math.ceil(t * t * worst / search.indifference ** 2))
    if n > search.max_replications:
        n, outcome.stage2_capped = search.max_replications, True
    outcome.replications = n
    if n > n0 and not evaluate("selection", finalists, n):
        outcome.status = "failed"
        return
    compliant = [c for c in finalists if outcome.scores[c].compliant]
    for cid in finalists:
        if cid not in compliant:
            outcome.eliminated[cid] = "selection: breaks a constraint"
    if not compliant:
        outcome.status = "no_compliant"
        outcome.message = "no finalist meets the constraints with the selection's replications"
        return
    best = max(compliant, key=lambda c: (outcome.scores[c].mean, -c))
    outcome.best = next(c for c in plan.candidates if c.cid == best)
    outcome.best_interval = t_interval(outcome.scores[best].values)
    outcome.status = "complete"


def _against_builtins(plan, outcome, out_dir, executor, run_points, label) -> None:
    """Run the scenario's own strategies on the same replications; the paired margin."""
    n = outcome.replications
    sweep = designed_sweep(f"{plan.base.scenario.name}-optimise-builtins", plan.base, [], [{}],
                           replications=n)
    folder = out_dir / ROUNDS / "builtins"
    result = run_points(sweep, folder, executor, False, label)
    if not result.ok:
        outcome.status = "failed"
        return
    rows = point_rows(folder, 0, ["strategy", "replication", *plan.objective.metrics()])
    per = {m: values_by_strategy(rows, m, plan.base.strategies) for m in plan.objective.metrics()}
    ok = [s for s in plan.base.strategies
          if plan.objective.compliant({m: per[m][s] for m in per})]
    best_values = outcome.scores[outcome.best.cid].values
    if ok:
        builtin = max(ok, key=lambda s: float(np.nanmean(per[plan.objective.metric][s])))
        outcome.builtin = builtin
        outcome.builtin_interval = t_interval(per[plan.objective.metric][builtin])
        outcome.margin = paired_difference(best_values, per[plan.objective.metric][builtin])
    outcome.scenario = best_scenario(plan, outcome)


def best_scenario(plan: OptimisePlan, outcome: OptimiseOutcome) -> dict:
    """The scenario file to run: the best policy beside the best built-in, its grid values."""
    from sim.scenario.schema import apply_override, build_scenario

    data = copy.deepcopy(plan.base.resolved)
    for key, value in outcome.best.values.items():
        apply_override(data, key.split("."), copy.deepcopy(value), "optimise")
    strategies = [outcome.best.strategy()]
    specs = {s["name"]: s for s in data["strategies"]}
    if outcome.builtin is not None:
        strategies.append({k: v for k, v in specs[outcome.builtin].items() if v is not None})
    data["strategies"] = strategies
    data["name"] = f"{plan.base.scenario.name}-optimised"
    data["description"] = (f"dialsim optimise {plan.source.name}: best policy "
                           f"{outcome.best.label()}"
                           + (f", compared with {outcome.builtin}" if outcome.builtin else ""))
    data["experiment"]["baseline"] = outcome.builtin
    data["experiment"]["replications"] = max(outcome.replications, 2)
    build_scenario(data, "optimised scenario")  # must be valid as written
    return data


def _describe(outcome: OptimiseOutcome) -> dict | None:
    if outcome.best is None:
        return None
    out = {"policy": {"sequence": list(outcome.best.sequence), "then": outcome.best.then},
           "values": outcome.best.values, "label": outcome.best.label(),
           "mean": outcome.best_interval.mean, "ci95_half_width": outcome.best_interval.half_width}
    if outcome.margin is not None:
        out["best_builtin"] = outcome.builtin
        out["builtin_mean"] = outcome.builtin_interval.mean
        out["margin"] = {"mean": outcome.margin.mean, "ci95_low": outcome.margin.low,
                         "ci95_high": outcome.margin.high}
    return out


def _manifest(plan: OptimisePlan, executor, label: str) -> dict:
    return designed_manifest(
        "optimise", plan.base, executor, label,
        space_source=str(plan.source), space=plan.space.model_dump(mode="json"),
        objective=plan.objective.describe(), candidates=len(plan.candidates),
        duplicate_policies_dropped=plan.dropped_duplicates,
        builtins=list(plan.base.strategies))


CANDIDATE_COLUMNS = (
    ("candidate", pa.int32(), "", "candidate id, in the order of the space file"),
    ("sequence", pa.string(), "", "voicemail sequence, labels separated by spaces ('-' = silent)"),
    ("then", pa.string(), "", "after the sequence: cycle, repeat_last or silent"),
    ("values", pa.string(), "", "the [grid] values of this candidate (JSON)"),
    ("replications", pa.int32(), "", "replications of its last evaluation"),
    ("objective_mean", pa.float64(), "the objective's unit (1/h for rates)", "mean over those replications"),
    ("objective_ci95_half_width", pa.float64(), "as the mean", "Student-t 95% half-width"),
    ("compliant", pa.bool_(), "", "met every constraint at its last evaluation"),
    ("status", pa.string(), "", "selected, finalist, or why it was dropped"),
)


def candidates_table(plan: OptimisePlan, outcome: OptimiseOutcome) -> pa.Table:
    schema = pa.schema([pa.field(n, t, metadata={"unit": u, "description": d})
                        for n, t, u, d in CANDIDATE_COLUMNS])
    cols: dict[str, list] = {name: [] for name in schema.names}
    for cand in plan.candidates:
        score = outcome.scores.get(cand.cid)
        iv = t_interval(score.values) if score else None
        status = ("selected" if outcome.best is not None and cand.cid == outcome.best.cid
                  else outcome.eliminated.get(cand.cid)
                  or ("finalist" if cand.cid in outcome.finalists else "not run"))
        cols["candidate"].append(cand.cid)
        cols["sequence"].append(" ".join(cand.sequence))
        cols["then"].append(cand.then)
        cols["values"].append(json.dumps(cand.values, sort_keys=True))
        cols["replications"].append(score.replications if score else 0)
        cols["objective_mean"].append(iv.mean if iv else math.nan)
        cols["objective_ci95_half_width"].append(iv.half_width if iv else math.nan)
        cols["compliant"].append(score.compliant if score else None)
        cols["status"].append(status)
    return pa.table(cols, schema=schema)
