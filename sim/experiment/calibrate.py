"""``dialsim calibrate``: adjust free parameters until simulated dashboard rates match.

For teams with only dashboard numbers (e.g. "4% of dials become conversations, 70%
reach voicemail, 0.5% of messages are returned"). Each target is an observable rate
(:mod:`sim.analysis.observables`) measured under the strategy the team used; each
has one free scenario key that moves it (:data:`DEFAULT_FREE`, or ``--free``).

The search: Gauss-Seidel sweeps of one-dimensional bracketing (Brent's method,
scipy) per target, every evaluation a run of ``replications`` replications with the
SAME seed (common random numbers: the simulated rate is then a fixed, nearly
monotone function of the parameter, so bracketing is sound), solved until every
simulated mean is within a tenth of its 95% half-width of its target (at most
MAX_SWEEPS sweeps). A target is met when it lies inside the 95% interval of its
simulated rate. A target whose free key is at
the end of its range is unreachable; targets still missed with their keys inside the
range are inconsistent with each other in this model.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from sim.analysis.observables import OBSERVABLE_NAMES, observable_rates
from sim.analysis.stats import t_interval
from sim.errors import UserError
from sim.scenario.schema import Scenario, apply_override, build_scenario

# target -> the key that moves it most directly (docs/calibration.md, "calibrate")
DEFAULT_FREE = {
    "conversation_rate": "prospects.segments.0.reachability",
    "live_answer_share": "prospects.segments.0.reachability",
    "contacts_per_prospect": "prospects.segments.0.reachability",
    "voicemail_share": "prospects.segments.0.p_voicemail_box",
    "callbacks_per_message_left": "callbacks.p_callback",
}
ALIASES = {"return_rate": "callbacks_per_message_left", "conversations_per_dial": "conversation_rate"}
MAX_SWEEPS = 4


@dataclass
class Target:
    name: str
    value: float
    key: str  # the free scenario key that moves it
    low: float  # the key's range
    high: float


@dataclass
class Achieved:
    target: Target
    key_value: float
    simulated: float
    ci_low: float
    ci_high: float
    status: str = "met"  # met | unreachable | inconsistent
    note: str = ""

    @property
    def met(self) -> bool:
        return self.ci_low <= self.target.value <= self.ci_high


@dataclass
class Calibration:
    achieved: list[Achieved]
    data: dict  # the calibrated scenario, plain data (validated)
    evaluations: int
    strategy: str
    replications: int
    seed: int
    messages: list[str] = field(default_factory=list)

    @property
    def all_met(self) -> bool:
        return all(a.met for a in self.achieved)


def parse_targets(observe: list[str], free: list[str] | None) -> list[tuple[str, float, str]]:
    """``name=value`` targets, each paired with its free key."""
    targets = []
    for text in observe:
        if "=" not in text:
            raise UserError(f"--observe {text!r}: expected name=value, e.g. conversation_rate=0.04")
        name, raw = (part.strip() for part in text.split("=", 1))
        name = ALIASES.get(name, name)
        if name not in OBSERVABLE_NAMES:
            raise UserError(f"--observe {text!r}: unknown rate {name!r}; choose from "
                            f"{', '.join(OBSERVABLE_NAMES)} (return_rate = callbacks_per_message_left)")
        try:
            value = float(raw.rstrip("%")) / (100.0 if raw.endswith("%") else 1.0)
        except ValueError:
            raise UserError(f"--observe {text!r}: {raw!r} is not a number") from None
        if not 0 <= value <= 1:
            raise UserError(f"--observe {text!r}: a rate is between 0 and 1 (or 0% and 100%)")
        if any(t[0] == name for t in targets):
            raise UserError(f"--observe {text!r}: {name} is given twice")
        targets.append((name, value))
    if not targets:
        raise UserError("--observe: give at least one rate, e.g. --observe conversation_rate=0.04")
    if free:
        if len(free) != len(targets):
            raise UserError(f"--free: give one key per --observe target, in the same order "
                            f"({len(targets)} targets, {len(free)} keys)")
        keys = list(free)
    else:
        keys = [DEFAULT_FREE[name] for name, _ in targets]
    return [(name, value, key) for (name, value), key in zip(targets, keys)]


def key_range(scenario: Scenario, key: str) -> tuple[float, float, float]:
    """(current value, lowest, highest) of a numeric scenario key, from the schema."""
    from annotated_types import Ge, Gt, Le, Lt

    node, model = scenario, None
    parts = key.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() and isinstance(node, list) else getattr(node, part, None)
        if node is None:
            raise UserError(f"--free {key}: no such scenario key")
    model = type(node)
    name = parts[-1]
    info = getattr(model, "model_fields", {}).get(name)
    value = getattr(node, name, None)
    if info is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"--free {key}: not a numeric scenario key (free keys are numbers, e.g. "
                        "prospects.segments.0.reachability)")
    low, high = 0.0, max(10.0 * abs(float(value)), 1.0)
    for meta in info.metadata:
        if isinstance(meta, Ge):
            low = float(meta.ge)
        elif isinstance(meta, Gt):
            low = float(meta.gt) + 1e-6
        elif isinstance(meta, Le):
            high = float(meta.le)
        elif isinstance(meta, Lt):
            high = float(meta.lt) - 1e-6
    return float(value), low, high


def simulate_rates(data: dict, strategy: str, replications: int, seed: int, workers: int | None = 1):
    """Observable rates of ``data`` under ``strategy``: name -> per-replication values."""
    from sim.experiment.executors import local_executor
    from sim.experiment.replications import run_experiment

    scenario = build_scenario(copy.deepcopy(data), "calibration")
    with local_executor(workers) as executor:
        result = run_experiment(scenario, seed=seed, replications=replications,
                                strategies=(strategy,), executor=executor)
    summary = result.summary_table()
    return observable_rates({c: summary.column(c).to_numpy() for c in summary.column_names})


def calibrate(data: dict, targets: list[tuple[str, float, str]], strategy: str, *,
              replications: int = 4, seed: int = 1, workers: int | None = 1,
              on_step=None) -> Calibration:
    """Search the free keys so the simulated rates under ``strategy`` hit the targets."""
    from scipy.optimize import brentq

    data = copy.deepcopy(data)
    scenario = build_scenario(copy.deepcopy(data), "scenario")
    resolved = scenario.resolved()
    for _name, _value, key in targets:
        _materialize(data, resolved, key.split("."))
    if strategy not in scenario.strategy_names():
        raise UserError(f"--under {strategy!r}: not a strategy of the scenario; choose from "
                        f"{', '.join(scenario.strategy_names())}")
    plan = []
    for name, value, key in targets:
        current, low, high = key_range(scenario, key)
        plan.append((Target(name, value, key, low, high), current))
    keys = [t.key for t, _ in plan]
    if len(set(keys)) != len(keys):
        shared = sorted({k for k in keys if keys.count(k) > 1})
        raise UserError(f"--observe: two targets would move the same key ({', '.join(shared)}); "
                        "name a different key for one of them with --free (one per target, in order)")
    values = {t.key: current for t, current in plan}
    flat: dict[str, bool] = {}  # target -> its key hardly moves it (across the whole range)
    count = [0]
    cache: dict[tuple, dict] = {}

    def run(vals: dict) -> dict:
        signature = tuple(round(vals[k], 12) for k in keys)
        if signature not in cache:
            trial = copy.deepcopy(data)
            for k, v in vals.items():
                apply_override(trial, k.split("."), float(v), f"--free {k}")
            count[0] += 1
            cache[signature] = simulate_rates(trial, strategy, replications, seed, workers)
            if on_step is not None:
                on_step(count[0])
        return cache[signature]

    def mean(rates: dict, name: str) -> float:
        finite = rates[name][np.isfinite(rates[name])]
        return float(finite.mean()) if finite.size else math.nan

    for _sweep in range(MAX_SWEEPS):
        rates = run(values)
        if all(_close(rates[t.name], t.value) for t, _ in plan):
            break
        for target, _start in plan:
            rates = run(values)
            if _close(rates[target.name], target.value):
                continue

            def gap(x, target=target):
                return mean(run({**values, target.key: x}), target.name) - target.value

            at_low, at_high = gap(target.low), gap(target.high)
            if not (np.isfinite(at_low) and np.isfinite(at_high)):
                continue
            flat[target.name] = abs(at_high - at_low) <= t_interval(rates[target.name]).half_width
            if at_low * at_high > 0:  # cannot bracket: the nearer end is as close as it gets
                values[target.key] = target.low if abs(at_low) < abs(at_high) else target.high
                continue
            span = target.high - target.low
            values[target.key] = brentq(gap, target.low, target.high, xtol=1e-4 * span, rtol=1e-6,
                                        maxiter=40)
    rates = run(values)
    achieved, messages = [], []
    for target, _start in plan:
        iv = t_interval(rates[target.name])
        item = Achieved(target, values[target.key], iv.mean, iv.low, iv.high)
        at_end = min(abs(values[target.key] - target.low), abs(values[target.key] - target.high)) \
            <= 1e-3 * (target.high - target.low)
        if not item.met:
            if flat.get(target.name):
                item.status = "inconsistent"
                item.note = (f"{target.key} barely moves {target.name}: the other targets fix it "
                             f"at {iv.mean:.4g}")
            elif at_end:
                item.status = "unreachable"
                item.note = (f"{target.key} is at the end of its range ({values[target.key]:g}); "
                             f"the nearest this model gets is {iv.mean:.4g}")
            else:
                item.status = "inconsistent"
                item.note = "cannot hold together with the other targets in this model"
        achieved.append(item)
    if any(a.status == "inconsistent" for a in achieved):
        messages.append("the targets are inconsistent: no setting of the free keys gives all of them "
                        "at once in this model (check that they were measured under the same "
                        "strategy and period, or free other keys with --free)")
    if any(a.status == "unreachable" for a in achieved):
        messages.append("some targets are unreachable with their free keys (see each line)")
    final = copy.deepcopy(data)
    for k, v in values.items():
        apply_override(final, k.split("."), float(v), f"--free {k}")
    build_scenario(copy.deepcopy(final), "the calibrated scenario")
    return Calibration(achieved, final, count[0], strategy, replications, seed, messages)


def _materialize(raw: dict, resolved: dict, path: list[str]) -> None:
    """Give ``raw`` the lists on ``path`` that it leaves at their defaults (from ``resolved``),
    so a key inside them (``prospects.segments.0.reachability``) can be set."""
    node, full = raw, resolved
    for part in path[:-1]:
        if isinstance(full, list):
            index = int(part)
            node, full = node[index], full[index]
            if isinstance(node, str):  # a built-in strategy named by a string
                return
            continue
        child = full.get(part) if isinstance(full, dict) else None
        if isinstance(child, list) and part not in node:
            node[part] = copy.deepcopy(child)
        elif part not in node:
            node[part] = {}
        node, full = node[part], child


def _close(values: np.ndarray, target: float) -> bool:
    """Solved: the simulated mean is within a tenth of its interval's half-width of the target."""
    iv = t_interval(values)
    return bool(np.isfinite(iv.mean) and abs(iv.mean - target) <= 0.1 * iv.half_width)


def calibrated_toml(cal: Calibration, source: str) -> str:
    """The calibrated scenario: the user's file with the free keys set, and a header
    saying what was matched, to what, and how well."""
    import tomli_w

    from sim.scenario.schema import toml_data

    lines = [f"# Calibrated by `dialsim calibrate` from {source}, under the strategy "
             f"{cal.strategy!r}",
             f"# ({cal.replications} replications, seed {cal.seed}, common random numbers; "
             f"{cal.evaluations} runs).",
             "# target: observed -> simulated [95% interval], by setting its free key:"]
    for a in cal.achieved:
        lines.append(f"#   {a.target.name}: {a.target.value:.4g} -> {a.simulated:.4g} "
                     f"[{a.ci_low:.4g}, {a.ci_high:.4g}] {a.status}; {a.target.key} = {a.key_value:.4g}")
        if a.note:
            lines.append(f"#     {a.note}")
    for message in cal.messages:
        lines.append(f"# NOTE: {message}")
    lines.append("")
    return "\n".join(lines) + tomli_w.dumps(toml_data(cal.data, digits=6))


# keys whose null means something other than their default: TOML spells it "none"
