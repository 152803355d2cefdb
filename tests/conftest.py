"""Shared helpers: small scenarios built in code, and an in-memory call recorder."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sim.experiment.engine import select as select_engine
from sim.model.campaign import Campaign
from sim.scenario.schema import build_scenario, with_overrides
from sim.model.strategies import voicemail_plan
from sim.model.streams import build_world

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

# A deliberately small, fast scenario: override what a test is about.
SMALL = {
    "schema_version": 1,
    "name": "small",
    "calendar": {"days": 2},
    "team": {"reps": 2},
    "prospects": {"count": 400},
    "strategies": ["never", "always", {"name": "rotate", "kind": "rotate", "n_messages": 3}],
    "experiment": {"replications": 3, "seed": 11},
}


def make_scenario(*overrides: str, base: dict | None = None):
    """A validated scenario: SMALL (or ``base``) with ``key.path=value`` overrides."""
    data = with_overrides(copy.deepcopy(base or SMALL), overrides)
    return build_scenario(data, "test")


class Recorder:
    """Stands in for CallLogWriter: keeps rows in memory (tests only)."""

    FIELDS = ("time_s", "rep", "line", "prospect", "attempt", "direction", "outcome",
              "message_id", "ring_s", "talk_s", "rep_busy_s", "phone_number")

    def __init__(self):
        self.rows: list[dict] = []

    def append(self, *values):
        self.rows.append(dict(zip(self.FIELDS, values)))

    def outbound(self):
        return [r for r in self.rows if r["direction"] == "outbound"]


def run_campaign(scenario, strategy: str = "never", replication: int = 0, seed: int = 1,
                 record: bool = False, kernel=None):
    """Run one strategy on one replication; returns (metrics, campaign, recorder).
    ``kernel``: a build of sim.model.kernel (default: the one dialsim would choose)."""
    world = build_world(scenario, seed, replication)
    recorder = Recorder() if record else None
    campaign = Campaign(scenario, world, voicemail_plan(scenario, strategy), call_log=recorder,
                        kernel=kernel or select_engine(warn=False).module)
    return campaign.run(), campaign, recorder


@pytest.fixture
def small():
    return make_scenario()
