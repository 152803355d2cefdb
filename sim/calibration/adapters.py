"""Call-log formats other than the generic schema, turned into it.

- ``dialsim``: the ``calls.parquet`` a ``dialsim run --calls`` writes (a round trip:
  simulate, export, fit). Time 0 of the campaign becomes :data:`DIALSIM_EPOCH`
  (UTC, the team's clock); each replication is a separate set of prospects and reps
  (ids ``replication * 10_000_000 + index``), so replications pool into one log.

Every adapter returns an Arrow table in the generic schema
(:data:`sim.calibration.calllog.COLUMNS`) whose rows are the file's rows in order,
so errors found later still name the file's own rows.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.errors import UserError

DIALSIM_EPOCH = _dt.datetime(2026, 1, 5, tzinfo=_dt.timezone.utc)  # a Monday, 00:00 UTC
DIALSIM_COLUMNS = ("strategy", "replication", "time_s", "rep", "prospect", "attempt",
                   "direction", "outcome", "message_id", "ring_s", "talk_s", "rep_busy_s")
ID_STRIDE = 10_000_000  # > the largest list (prospects.count <= 5,000,000)
FORMATS = ("auto", "generic", "dialsim")


def detect_format(path: Path, table: pa.Table) -> str:
    """``dialsim`` when the table has calls.parquet's columns, else ``generic``."""
    if all(name in table.column_names for name in ("time_s", "prospect", "outcome", "replication")):
        return "dialsim"
    return "generic"


def from_dialsim(table: pa.Table, path: Path, strategy: str | None = None) -> tuple[pa.Table, dict]:
    """A dialsim ``calls.parquet`` as a generic call log, plus what its run says.

    Returns (table, context): ``context`` has ``log_end_s`` (the campaign's end, so
    callbacks are censored where the simulation stopped) and, when the results folder's
    manifest is beside the file, ``scenario`` (the resolved scenario that made it).
    Wrap-up times are recovered when the manifest shows fixed research and setup times.
    """
    import pyarrow.compute as pc

    missing = [c for c in DIALSIM_COLUMNS if c not in table.column_names]
    if missing:
        raise UserError(f"{path}: column {missing[0]}: required column of dialsim's calls.parquet is missing")
    strategies = pc.unique(table.column("strategy").combine_chunks().cast(pa.string())).to_pylist()
    if strategy is None:
        if len(strategies) != 1:
            raise UserError(f"{path}: the log holds {len(strategies)} strategies "
                            f"({', '.join(strategies)}); choose one with --strategy")
        strategy = strategies[0]
    elif strategy not in strategies:
        raise UserError(f"--strategy {strategy!r}: not in {path}; it holds {', '.join(strategies)}")
    keep = pc.equal(table.column("strategy").cast(pa.string()), strategy)
    rows = np.flatnonzero(np.asarray(keep.to_numpy(zero_copy_only=False)))
    table = table.take(pa.array(rows))

    def num(name):
        return table.column(name).combine_chunks().to_numpy(zero_copy_only=False)

    replication = num("replication").astype(np.int64)
    outcome = table.column("outcome").combine_chunks().cast(pa.string())
    direction = table.column("direction").combine_chunks().cast(pa.string())
    time_s = num("time_s")
    epoch_us = int(DIALSIM_EPOCH.timestamp() * 1e6)
    start = pa.array(epoch_us + np.round(time_s * 1e6).astype(np.int64), type=pa.timestamp("us", tz="UTC"))
    is_out = np.asarray(pc.equal(direction, "outbound").to_numpy(zero_copy_only=False))

    def outcome_in(*names):
        return np.asarray(pc.is_in(outcome, value_set=pa.array(names)).to_numpy(zero_copy_only=False))

    talking = outcome_in("connect", "gatekeeper", "inbound_connect", "return_connect")
    rings = outcome_in("connect", "gatekeeper", "abandoned", "amd_hangup", "voicemail_left",
                       "voicemail_silent", "no_answer")
    message = num("message_id").astype(np.int64)
    columns = {
        "prospect_id": pa.array(replication * ID_STRIDE + num("prospect")),
        "start_time": start,
        "direction": direction,
        "outcome": outcome,
        "rep_id": pa.array(replication * ID_STRIDE + num("rep")),
        "ring_s": pa.array(np.where(is_out & rings, num("ring_s"), np.nan), from_pandas=True),
        "talk_s": pa.array(np.where(talking, num("talk_s"), np.nan), from_pandas=True),
        "message_id": pa.array(np.where(message >= 0, message, 0), mask=message < 0),
        "attempt": pa.array(num("attempt").astype(np.int64)),
    }
    context: dict = {"strategy": strategy}
    manifest = _manifest_beside(path)
    if manifest is not None:
        scenario = manifest.get("scenario") or {}
        context["scenario"] = scenario
        days = (scenario.get("calendar") or {}).get("days")
        if days:
            context["log_end_s"] = DIALSIM_EPOCH.timestamp() + days * 86400.0
        wrap = _dialsim_wrap_s(scenario, num("rep_busy_s"), num("ring_s"), num("talk_s"),
                               outcome_in("connect"), num("line"))
        if wrap is not None:
            columns["wrap_s"] = pa.array(wrap, from_pandas=True)
    return pa.table(columns), context


def _dialsim_wrap_s(scenario: dict, busy, ring, talk, connect, line):
    """Wrap-up of each connect from the rep's busy time, when the run's pre-dial time is fixed.

    Power dialer: busy = research + setup + ring + talk + wrap; parallel and
    predictive dialers count only the rep's handling: busy = talk + wrap.
    """
    team, dialer = scenario.get("team") or {}, scenario.get("dialer") or {}
    research, setup = team.get("research_s") or {}, dialer.get("connect_setup_s") or {}
    if research.get("dist") != "fixed" or setup.get("dist") != "fixed":
        return None
    lines = int(team.get("lines_per_rep", 1))
    mode = dialer.get("mode") or ("power" if lines == 1 else "parallel")
    if mode == "power":
        wrap = busy - research["value"] - setup["value"] - ring - talk
    else:
        wrap = busy - talk
    return np.where(connect, np.maximum(wrap, 0.0), np.nan)


def _manifest_beside(path: Path) -> dict | None:
    manifest = Path(path).with_name("manifest.json")
    if not manifest.exists():
        return None
    try:
        return json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError):
        return None
