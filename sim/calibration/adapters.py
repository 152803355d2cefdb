"""Call-log formats other than the generic schema, turned into it.

- ``vicidial``: VICIdial's ``vicidial_log`` (statuses through :data:`VICIDIAL_STATUSES`);
- ``hubspot``: a CRM call export with HubSpot-style dispositions
  (:data:`HUBSPOT_OUTCOMES`); both tables can be extended with ``--mapping FILE``;
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
FORMATS = ("auto", "generic", "dialsim", "vicidial", "hubspot")


def detect_format(path: Path, table: pa.Table) -> str:
    """``dialsim`` when the table has calls.parquet's columns, else ``generic``."""
    if all(name in table.column_names for name in ("time_s", "prospect", "outcome", "replication")):
        return "dialsim"
    if all(name in table.column_names for name in ("lead_id", "status", "start_epoch")):
        return "vicidial"
    if "Call outcome" in table.column_names:
        return "hubspot"
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

    talking = outcome_in("connect", "gatekeeper", "inbound_connect", "return_connect",
                         "reply_connect")
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


# ------------------------------------------------------------------ dialer and CRM exports
# Each table maps the export's status (or disposition) to a generic outcome, and says
# which ones are opt-outs. Users extend or override them with ``--mapping FILE``
# (docs/calibration.md). Statuses not in the table are an error that lists them.
VICIDIAL_STATUSES: dict[str, tuple[str, bool, str]] = {
    # status: (outcome, opt-out, VICIdial's description)
    "SALE": ("connect", False, "Sale Made"),
    "NI": ("connect", False, "Not Interested"),
    "NP": ("connect", False, "No Pitch No Price"),
    "CALLBK": ("connect", False, "Call Back"),
    "CBHOLD": ("connect", False, "Call Back Hold"),
    "XFER": ("connect", False, "Call Transferred"),
    "PU": ("connect", False, "Call Picked Up"),
    "DNC": ("connect", True, "DO NOT CALL (asked on the call)"),
    "DROP": ("abandoned", False, "Agent Not Available"),
    "PDROP": ("abandoned", False, "Outbound Pre-Routing Drop"),
    "A": ("voicemail_silent", False, "Answering Machine"),
    "AA": ("voicemail_silent", False, "Answering Machine Auto"),
    "AM": ("voicemail_left", False, "Answering Machine SentToMesg"),
    "AL": ("voicemail_left", False, "Answering Machine Msg Played"),
    "PM": ("voicemail_left", False, "Played Message"),
    "N": ("no_answer", False, "No Answer"),
    "NA": ("no_answer", False, "No Answer AutoDial"),
    "B": ("no_answer", False, "Busy (the model has no busy line: a ring-out without voicemail)"),
    "AB": ("no_answer", False, "Busy Auto"),
    "DC": ("bad_number", False, "Disconnected Number"),
    "ADC": ("bad_number", False, "Disconnected Number Auto"),
    "ADCT": ("bad_number", False, "Disconnected Number Temporary"),
    "AFAX": ("bad_number", False, "Fax Machine Auto"),
}
HUBSPOT_OUTCOMES: dict[str, tuple[str, bool, str]] = {
    # outbound disposition: (outcome, opt-out, meaning); inbound calls map Connected to
    # inbound_connect and anything else to inbound_missed
    "Connected": ("connect", False, "talked to the contact"),
    "Left voicemail": ("voicemail_left", False, "a message on the contact's voicemail"),
    "Left live message": ("gatekeeper", False, "a message with a person who was not the contact"),
    "No answer": ("no_answer", False, "rang out, or the rep hung up at voicemail (not told apart)"),
    "Busy": ("no_answer", False, "busy (the model has no busy line)"),
    "Wrong number": ("bad_number", False, "not the contact's number"),
}
# export column -> generic column
HUBSPOT_COLUMNS = {"prospect_id": "Contact ID", "start_time": "Activity date",
                   "direction": "Call direction", "outcome": "Call outcome",
                   "talk_s": "Call duration (seconds)", "rep_id": "Activity assigned to"}
VICIDIAL_COLUMNS = {"prospect_id": "lead_id", "start_epoch": "start_epoch", "local_time": "call_date",
                    "outcome": "status", "talk_s": "length_in_sec", "rep_id": "user"}


def read_mapping(path: Path | None, statuses: dict, columns: dict) -> tuple[dict, dict]:
    """The default tables, overridden by a TOML file's ``[statuses]`` and ``[columns]``.

    ``[statuses]`` maps a status to an outcome (``SALE = "connect"``) or to a table
    (``DNC = {outcome = "connect", opt_out = true}``); ``[columns]`` renames columns.
    """
    import tomllib

    from sim.calibration.calllog import OUTCOME_NAMES

    statuses, columns = dict(statuses), dict(columns)
    if path is None:
        return statuses, columns
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--mapping {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"--mapping {path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"statuses", "columns"}
    if unknown:
        raise UserError(f"--mapping {path}: unknown table {sorted(unknown)[0]!r} (expected statuses, columns)")
    for status, value in (data.get("statuses") or {}).items():
        outcome, opt_out = (value, False) if isinstance(value, str) else (value.get("outcome"), bool(value.get("opt_out", False)))
        if outcome not in OUTCOME_NAMES:
            raise UserError(f"--mapping {path}: statuses.{status}: {outcome!r} is not an outcome "
                            f"(expected one of: {', '.join(OUTCOME_NAMES)})")
        statuses[str(status)] = (outcome, opt_out, "from " + path.name)
    for generic, column in (data.get("columns") or {}).items():
        if generic not in columns:
            raise UserError(f"--mapping {path}: columns.{generic}: not a column this format maps "
                            f"(expected one of: {', '.join(columns)})")
        columns[generic] = str(column)
    return statuses, columns


def _map_statuses(column: pa.Array, statuses: dict, path: Path, label: str, is_csv: bool):
    """(outcome, opt-out) arrays from a status column; unknown statuses are listed."""
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    keys = list(statuses)
    index = pc.index_in(text, value_set=pa.array(keys))
    unknown = np.asarray(pc.is_null(index).to_numpy(zero_copy_only=False))
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        bad = pc.unique(pc.filter(text, pa.array(unknown))).to_pylist()
        where = f"line {first + 2}" if is_csv else f"row {first + 1}"
        shown = ", ".join(repr(v) for v in bad[:8]) + (f" and {len(bad) - 8} more" if len(bad) > 8 else "")
        raise UserError(f"{path}, {where}, column {label}: unknown status {shown} (map it in a "
                        "--mapping file: docs/calibration.md)")
    codes = index.to_numpy(zero_copy_only=False)
    outcomes = pa.array([statuses[k][0] for k in keys]).take(pa.array(codes))
    opt_out = np.array([statuses[k][1] for k in keys])[codes]
    return outcomes, opt_out


def _need(table: pa.Table, columns: dict, names: tuple[str, ...], path: Path, fmt: str) -> None:
    for name in names:
        if columns[name] not in table.column_names:
            raise UserError(f"{path}, column {columns[name]}: required column of a {fmt} export is "
                            f"missing (rename it with [columns] {name} = \"...\" in a --mapping file)")


def from_vicidial(table: pa.Table, path: Path, is_csv: bool, mapping: Path | None = None) -> pa.Table:
    """A VICIdial ``vicidial_log`` export (outbound calls) as a generic call log.

    ``start_epoch`` (UTC seconds) gives the time; ``call_date`` (the server's local
    wall clock) gives the team's UTC offset. ``length_in_sec`` is the talk time of
    connects. Inbound calls (``vicidial_closer_log``) are not read yet.
    """
    import pyarrow.compute as pc

    from sim.calibration.calllog import _parse_number, _Where

    statuses, columns = read_mapping(mapping, VICIDIAL_STATUSES, VICIDIAL_COLUMNS)
    _need(table, columns, ("prospect_id", "start_epoch", "local_time", "outcome"), path, "VICIdial")
    where = _Where(path, is_csv)
    epoch = _parse_number(table.column(columns["start_epoch"]).combine_chunks(), columns["start_epoch"],
                          where, 0.0, 4e9)
    local = pc.utf8_trim_whitespace(pc.cast(table.column(columns["local_time"]).combine_chunks(), pa.string()))
    local_ts = pc.strptime(pc.replace_substring(local, "T", " "), format="%Y-%m-%d %H:%M:%S", unit="s",
                           error_is_null=True)
    bad = np.asarray(pc.is_null(local_ts).to_numpy(zero_copy_only=False)) | np.isnan(epoch)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where.fail(i, columns["local_time"] if not np.isnan(epoch[i]) else columns["start_epoch"],
                   "not a time (call_date 'YYYY-MM-DD HH:MM:SS' and start_epoch seconds are both needed)")
    offset_s = local_ts.cast(pa.int64()).to_numpy() - epoch
    offset_s = np.round(offset_s / 900.0) * 900.0  # zones are whole quarter hours
    outcomes, opt_out = _map_statuses(table.column(columns["outcome"]).combine_chunks(), statuses,
                                      path, columns["outcome"], is_csv)
    out = {
        "prospect_id": table.column(columns["prospect_id"]),
        "start_time": _zoned_text(epoch, offset_s),
        "direction": pa.array(["outbound"] * table.num_rows),
        "outcome": outcomes,
        "opt_out": pa.array(opt_out),
    }
    if columns["talk_s"] in table.column_names:
        talk = _parse_number(table.column(columns["talk_s"]).combine_chunks(), columns["talk_s"], where, 0.0, np.inf)
        talking = np.asarray(pc.is_in(outcomes, value_set=pa.array(["connect", "gatekeeper"])).to_numpy(
            zero_copy_only=False))
        out["talk_s"] = pa.array(np.where(talking, talk, np.nan), from_pandas=True)
    if columns["rep_id"] in table.column_names:
        out["rep_id"] = table.column(columns["rep_id"])
    return pa.table(out)


def from_hubspot(table: pa.Table, path: Path, is_csv: bool, mapping: Path | None = None,
                 time_zone: str | None = None) -> tuple[pa.Table, dict]:
    """A CRM call export with HubSpot-style dispositions as a generic call log.

    Times without a UTC offset need ``time_zone`` (``--time-zone -05:00``). "No answer"
    does not tell a ring-out from a voicemail hung up on, so the voicemail box is not
    estimated from such an export (the context says so).
    """
    import pyarrow.compute as pc

    from sim.calibration.calllog import _parse_number, _Where

    statuses, columns = read_mapping(mapping, HUBSPOT_OUTCOMES, HUBSPOT_COLUMNS)
    _need(table, columns, ("prospect_id", "start_time", "outcome"), path, "HubSpot-style")
    where = _Where(path, is_csv)
    outcomes, opt_out = _map_statuses(table.column(columns["outcome"]).combine_chunks(), statuses,
                                      path, columns["outcome"], is_csv)
    direction = pa.array(["outbound"] * table.num_rows)
    if columns["direction"] in table.column_names:
        raw = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(table.column(columns["direction"]).combine_chunks(),
                                                            pa.string())))
        inbound = np.asarray(pc.equal(raw, "inbound").to_numpy(zero_copy_only=False))
        outbound = np.asarray(pc.equal(raw, "outbound").to_numpy(zero_copy_only=False))
        if not (inbound | outbound).all():
            i = int(np.flatnonzero(~(inbound | outbound))[0])
            where.fail(i, columns["direction"], f"{raw[i].as_py()!r} is not Inbound or Outbound")
        direction = pa.array(np.where(inbound, "inbound", "outbound"))
        connected = np.asarray(pc.equal(outcomes, "connect").to_numpy(zero_copy_only=False))
        outcomes = pa.array(np.where(inbound, np.where(connected, "inbound_connect", "inbound_missed"),
                                     np.asarray(outcomes.to_pylist(), dtype=object)).astype(str))
    start = pc.utf8_trim_whitespace(pc.cast(table.column(columns["start_time"]).combine_chunks(), pa.string()))
    if time_zone is not None:
        if not re_zone(time_zone):
            raise UserError(f"--time-zone {time_zone!r}: expected a UTC offset such as -05:00 or +01:00")
        has_zone = np.asarray(pc.match_substring_regex(start, r"(Z|[+-]\d{2}:?\d{2})$").to_numpy(
            zero_copy_only=False))
        start = pa.array(np.where(has_zone, np.asarray(start.to_pylist(), dtype=object),
                                  np.char.add(np.asarray(start.to_pylist(), dtype=str), time_zone)))
    out = {"prospect_id": table.column(columns["prospect_id"]), "start_time": start,
           "direction": direction, "outcome": outcomes}
    if opt_out.any():
        out["opt_out"] = pa.array(opt_out)
    if columns["talk_s"] in table.column_names:
        talk = _parse_number(table.column(columns["talk_s"]).combine_chunks(), columns["talk_s"], where, 0.0, np.inf)
        talking = np.asarray(pc.is_in(outcomes, value_set=pa.array(["connect", "gatekeeper", "inbound_connect"]))
                             .to_numpy(zero_copy_only=False))
        out["talk_s"] = pa.array(np.where(talking, talk, np.nan), from_pandas=True)
    if columns["rep_id"] in table.column_names:
        out["rep_id"] = table.column(columns["rep_id"])
    return pa.table(out), {"voicemail_box_known": False}


def re_zone(text: str) -> bool:
    import re

    return re.fullmatch(r"[+-]\d{2}:\d{2}|Z", text) is not None


def _zoned_text(epoch_s: np.ndarray, offset_s: np.ndarray) -> pa.Array:
    """ISO 8601 text with the given UTC offsets (the generic reader's form)."""
    import pyarrow.compute as pc

    local = pa.array(((epoch_s + offset_s) * 1e6).astype(np.int64), type=pa.timestamp("us"))
    text = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S")
    sign = np.where(offset_s < 0, "-", "+")
    minutes = (np.abs(offset_s) // 60).astype(np.int64)
    zone = np.char.add(sign, np.char.add(np.char.zfill((minutes // 60).astype(str), 2),
                                         np.char.add(":", np.char.zfill((minutes % 60).astype(str), 2))))
    return pc.binary_join_element_wise(text, pa.array(zone), "")
