"""The golden cases: small fixed-seed runs that pin the model's behaviour value for value.

Every bundled scenario (shrunk where a full run is slow) and a few scenarios built to
switch on every rule at once (AMD, callbacks and return calls, follow-ups, opt-outs,
time zones and calling windows, caller-ID numbers, embargoes, live drops, both list
orders). ``compute(case)`` returns plain data (JSON-ready): each strategy's summary
row, the hourly timeline, the per-number table when there is one, and a sample of the
call log. ``tests/test_golden.py`` compares it with ``tests/golden/<case>.json``;
``python -m tests.golden.update`` regenerates the files on purpose and prints what moved.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from sim.experiment.replications import ReplicationTask, run_replication
from sim.scenario.schema import build_scenario, load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = Path(__file__).resolve().parent
SEED = 20261130
CALLS_HEAD = 25  # first rows of each strategy's call log kept whole
CALLS_EVERY = 211  # then every 211th row (the digest pins the rest)

_SMALL = {
    "schema_version": 1,
    "name": "golden_small",
    "calendar": {"days": 3},
    "team": {"reps": 3},
    "prospects": {"count": 900},
    "strategies": ["never", "always", {"name": "rotate", "kind": "rotate", "n_messages": 3},
                   {"name": "first2", "kind": "first_n", "n": 2}],
}

# switches on (nearly) every rule of the power dialer at once
_EVERY_RULE = [
    "dialer.amd.enabled=true", "dialer.amd.false_machine=0.08", "dialer.amd.false_human=0.2",
    "conversation.p_follow_up_after_connect=0.3",
    "callbacks.p_callback=0.25", "callbacks.p_callback_missed_call=0.05",
    "callbacks.p_message_on_missed_callback=0.8", "callbacks.repeat_message_mult=0.6",
    "opt_out.p_per_heard_voicemail=0.05", "opt_out.growth_per_touch=1.7",
    "opt_out.p_per_connect=0.1",
    "screening.answer_mult_per_silent_miss=0.7", "screening.answer_mult_per_voicemail=1.2",
    "cadence.min_gap_h=3", "cadence.max_attempts_per_day=2", "cadence.max_attempts=7",
    'prospects.time_zones=[{name="east", utc_offset_h=0, weight=0.6}, '
    '{name="west", utc_offset_h=-3, weight=0.4}]',
    'prospects.calling_window_start="09:00"', 'prospects.calling_window_end="17:30"',
    "prospects.hourly_availability=[0,0,0,0,0,0,0,0.3,0.9,1.2,1.0,0.9,0.5,0.8,1.1,1.2,1.0,0.7,0.4,0.2,0,0,0,0]",
]


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # a scenario file under scenarios/, or "small"
    overrides: tuple[str, ...] = ()
    replications: tuple[int, ...] = (0,)
    python_engine: bool = True  # also checked with the interpreted engine (tests/test_golden.py)

    def scenario(self):
        if self.source == "small":
            return build_scenario(with_overrides(copy.deepcopy(_SMALL), self.overrides), self.name)
        return load_scenario(ROOT / "scenarios" / self.source, self.overrides)


CASES = (
    Case("baseline", "baseline.toml", replications=(0, 1)),
    Case("warm_accounts", "warm_accounts.toml", replications=(0, 1)),
    Case("drop_advocate", "drop_advocate.toml"),
    Case("drop_skeptic", "drop_skeptic.toml"),
    Case("live_vs_recorded", "live_vs_recorded.toml"),
    Case("two_offices", "two_offices.toml", ("calendar.days=2", "prospects.count=5000")),
    Case("call_email_text", "call_email_text.toml", ("calendar.days=3", "prospects.count=3000")),
    Case("parallel_dialer", "parallel_dialer.toml", ("calendar.days=2",), python_engine=False),
    Case("predictive_dialer", "predictive_dialer.toml",
         ("calendar.days=2", "prospects.count=15000", "team.reps=10"), python_engine=False),
    Case("every_rule_power", "small", tuple(_EVERY_RULE)),
    Case("every_rule_power_live_fresh_first", "small", tuple(_EVERY_RULE) + (
        'voicemail.drop_mode="live"', 'cadence.list_order="fresh_first"',
        'team.inbound_routing="any_rep"', "calendar.break_start=null", "calendar.break_end=null")),
    Case("every_rule_numbers", "small", tuple(_EVERY_RULE) + (
        "caller_id.enabled=true", "caller_id.numbers_per_pool=3", 'caller_id.rotation="round_robin"',
        "caller_id.free_short_calls_per_day=20", "caller_id.hazard_per_short_call=0.05",
        'screening.scope="number"')),
    Case("every_rule_parallel", "small", tuple(_EVERY_RULE) + (
        "team.lines_per_rep=3", "cadence.min_gap_after_abandon_h=30", "dialer.dial_level=2.4",
        "prospects.count=2500")),
    Case("every_rule_predictive", "small", tuple(_EVERY_RULE) + (
        "team.reps=8", "team.lines_per_rep=4", 'dialer.mode="predictive"',
        "dialer.predictive.warmup_live_answers=10", "prospects.count=6000",
        'team.inbound_routing="any_rep"')),
)
CASES_BY_NAME = {case.name: case for case in CASES}


def compute(case: Case) -> dict:
    """The case's results as plain data (floats kept exactly; NaN stays NaN)."""
    scenario = case.scenario()
    out: dict = {"case": case.name, "source": case.source, "overrides": list(case.overrides),
                 "seed": SEED, "replications": []}
    with tempfile.TemporaryDirectory(prefix="dialsim-golden-") as tmp:
        for replication in case.replications:
            task = ReplicationTask(scenario.resolved(), SEED, replication,
                                   tuple(scenario.strategy_names()), tmp)
            result = run_replication(task)
            calls = {}
            for strategy, part in zip(task.strategies, result.calls_parts):
                rows = pq.read_table(part).to_pylist()
                keep = [row for i, row in enumerate(rows)
                        if i < CALLS_HEAD or i % CALLS_EVERY == 0]
                digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
                calls[strategy] = {"rows": len(rows), "sha256": digest, "sample": keep}
            out["replications"].append({
                "replication": replication,
                "summary": result.rows,
                "timeline": result.timeline,
                "numbers": result.numbers,
                "calls": calls,
            })
    return out


def differences(expected, actual, path: str = "", limit: int = 20) -> list[str]:
    """Where ``actual`` differs from ``expected``, as 'path: expected -> actual' lines."""
    found: list[str] = []
    _diff(expected, actual, path, found, limit)
    return found


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _diff(expected, actual, path, found, limit):
    if len(found) >= limit:
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in actual:
                found.append(f"{path}.{key}: missing now")
            elif key not in expected:
                found.append(f"{path}.{key}: new (not in the golden file)")
            else:
                _diff(expected[key], actual[key], f"{path}.{key}", found, limit)
            if len(found) >= limit:
                return
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            found.append(f"{path}: {len(expected)} items -> {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            _diff(e, a, f"{path}[{i}]", found, limit)
            if len(found) >= limit:
                return
    elif not _same(expected, actual):
        found.append(f"{path}: {expected!r} -> {actual!r}")
