"""Outcomes and money: meetings, pipeline value and costs, from the summary columns.

Nothing here is simulated: every figure is derived from a replication's
``summary.parquet`` row and the scenario's ``[economics]`` section, so it is exact
arithmetic on simulated counts (expected meetings, not drawn ones).

Per strategy x replication (:data:`ECONOMICS_COLUMNS`, also ``economics.parquet``):

- ``meetings`` = p_outbound x outbound_connects + p_inbound x inbound_connects
  + p_return x return_connects (expected meetings), not counting the conversations
  with confused or annoyed callers (``confused_*_connects``: a message's
  ``genuine_callback_share_by_message``);
- ``pipeline_value`` = meetings x value_per_meeting; with
  ``value_per_meeting_by_segment`` each segment's meetings (from its conversations
  in ``breakdown.parquet``) x its value, summed;
- ``telephony_minutes`` = 60 x (dialling + talking + voicemail + overtime hours):
  the rep's line time; plus, for recorded drops, their message lengths
  (the dialer plays the message after the rep has moved on). On parallel and
  predictive dialers the extra lines that ring while the rep waits are not counted
  (the summary has no line-time counter): a lower bound there;
- costs: reps x paid hours x rep cost, telephony minutes x cost per minute,
  recorded drops x fee, reps x days x seat cost;
- ``net_value`` = pipeline_value - cost_total.

The objectives of ``--objective`` map to one metric each (:data:`OBJECTIVES`).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)

from sim.errors import UserError

# name, arrow type, unit, description (docs/results.md "economics.parquet" is checked against it)
ECONOMICS_COLUMNS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("meetings", pa.float64(), "count", "expected meetings: each kind of conversation x its p_meeting_per_* (outbound, callback, return call)"),
    ("meetings_per_rep_hour", pa.float64(), "1/h", "meetings / paid rep hours"),
    ("pipeline_value", pa.float64(), "currency", "meetings x value_per_meeting (per segment, with value_per_meeting_by_segment)"),
    ("telephony_minutes", pa.float64(), "min", "60 x (dialling + talking + voicemail + overtime + recorded_drop hours)"),
    ("cost_reps", pa.float64(), "currency", "rep_hours x rep_cost_per_paid_hour"),
    ("cost_telephony", pa.float64(), "currency", "telephony_minutes x telephony_cost_per_minute"),
    ("cost_drops", pa.float64(), "currency", "recorded_drops x fee_per_voicemail_drop (live messages pay no fee)"),
    ("cost_seats", pa.float64(), "currency", "reps x days x seat_cost_per_rep_per_day"),
    ("cost_total", pa.float64(), "currency", "cost_reps + cost_telephony + cost_drops + cost_seats"),
    ("cost_per_connect", pa.float64(), "currency", "cost_total / connects (NaN with no connect)"),
    ("cost_per_meeting", pa.float64(), "currency", "cost_total / meetings (NaN with no meeting)"),
    ("net_value", pa.float64(), "currency", "pipeline_value - cost_total"),
    ("net_value_per_rep_hour", pa.float64(), "currency/h", "net_value / paid rep hours"),
)
ECONOMICS_NAMES = tuple(name for name, *_ in ECONOMICS_COLUMNS)
ECONOMICS_FILE = "economics.parquet"
ECONOMICS_SCHEMA = pa.schema(
    [pa.field("strategy", pa.string(), metadata={"unit": "", "description": "voicemail strategy"}),
     pa.field("replication", pa.int32(), metadata={"unit": "", "description": "replication index"})]
    + [pa.field(name, dtype, metadata={"unit": unit, "description": desc})
       for name, dtype, unit, desc in ECONOMICS_COLUMNS]
)

# --objective name -> (metric ranked, words for the verdict)
OBJECTIVES = {
    "connects": ("connects_per_rep_hour", "connects per rep-hour"),
    "meetings": ("meetings_per_rep_hour", "meetings per rep-hour"),
    "value": ("net_value_per_rep_hour", "net value per rep-hour (pipeline value minus cost)"),
}


def objective_metric(objective: str, scenario) -> tuple[str, str]:
    """(metric, words) for ``--objective``; a UserError if the scenario cannot rank it."""
    if objective not in OBJECTIVES:
        raise UserError(f"--objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    econ = scenario.economics
    if objective != "connects" and econ is None:
        raise UserError(f"--objective {objective}: the scenario has no [economics] section "
                        "(meeting probabilities, value per meeting, costs); add one")
    if objective == "meetings" and not _any_meeting(econ):
        raise UserError("--objective meetings: economics.p_meeting_per_* are all 0, so every "
                        "strategy books 0 meetings; set them")
    if objective == "value" and not (_any_meeting(econ) and _any_value(econ)):
        raise UserError("--objective value: economics.value_per_meeting (or a segment's) and a "
                        "p_meeting_per_* must be above 0 for meetings to be worth anything")
    return OBJECTIVES[objective]


def _any_value(econ) -> bool:
    return econ.value_per_meeting > 0 or any(
        v > 0 for v in (econ.value_per_meeting_by_segment or {}).values())


def _any_meeting(econ) -> bool:
    return any(p > 0 for p in (econ.p_meeting_per_outbound_connect,
                               econ.p_meeting_per_inbound_connect,
                               econ.p_meeting_per_return_connect))


def _col(summary: pa.Table, name: str) -> np.ndarray:
    return summary.column(name).to_numpy(zero_copy_only=False).astype(float)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full_like(a, math.nan)
    np.divide(a, b, out=out, where=b > 0)
    return out


def _meetings(econ, table: pa.Table) -> np.ndarray:
    """Expected meetings per row of a table with the three kinds of conversation; a
    conversation with a confused or annoyed caller books none (results written before
    those counters existed have none)."""
    def genuine(kind: str) -> np.ndarray:
        confused = f"confused_{kind}_connects"
        counts = _col(table, f"{kind}_connects")
        return counts - _col(table, confused) if confused in table.column_names else counts

    return (econ.p_meeting_per_outbound_connect * _col(table, "outbound_connects")
            + econ.p_meeting_per_inbound_connect * genuine("inbound")
            + econ.p_meeting_per_return_connect * genuine("return"))


def needs_breakdown(scenario) -> bool:
    """Meetings are worth different amounts by segment and there is more than one
    segment: the pipeline value needs the segment counts of ``breakdown.parquet``."""
    econ = getattr(scenario, "economics", None)
    return bool(econ is not None and econ.value_per_meeting_by_segment
                and len(scenario.prospects.segments) > 1)


def _pipeline_value(summary: pa.Table, scenario, breakdown: pa.Table | None,
                    meetings: np.ndarray) -> np.ndarray:
    econ = scenario.economics
    by_segment = econ.value_per_meeting_by_segment or {}
    segments = [segment.name for segment in scenario.prospects.segments]
    if not needs_breakdown(scenario):
        return meetings * by_segment.get(segments[0], econ.value_per_meeting)
    if breakdown is None:
        raise UserError("economics.value_per_meeting_by_segment with several segments needs "
                        "the run's segment breakdown (breakdown.parquet), which this results "
                        "folder lacks: re-run the scenario")
    rows = breakdown.filter(pa.compute.equal(breakdown.column("dimension"), "segment"))
    worth = np.array([by_segment.get(name, econ.value_per_meeting)
                      for name in rows.column("group").to_pylist()], dtype=float)
    value_of = {}
    for key, value in zip(zip(rows.column("strategy").to_pylist(),
                              rows.column("replication").to_pylist()),
                          _meetings(econ, rows) * worth):
        value_of[key] = value_of.get(key, 0.0) + value
    keys = zip(summary.column("strategy").to_pylist(), summary.column("replication").to_pylist())
    return np.array([value_of[key] for key in keys], dtype=float)


def economics_columns(summary: pa.Table, scenario,
                      breakdown: pa.Table | None = None) -> dict[str, np.ndarray]:
    """Every :data:`ECONOMICS_COLUMNS` value per summary row (``scenario.economics`` set);
    ``breakdown`` when :func:`needs_breakdown`."""
    econ = scenario.economics
    if econ is None:
        raise ValueError("the scenario has no [economics] section")
    meetings = _meetings(econ, summary)
    rep_hours = _col(summary, "rep_hours")
    # each strategy leaves its messages live or as recorded drops (and may differ by
    # segment): the model counts the recorded drops and their line time
    drops = _col(summary, "recorded_drops")
    minutes = 60.0 * (_col(summary, "dialling_hours") + _col(summary, "talking_hours")
                      + _col(summary, "voicemail_hours") + _col(summary, "overtime_hours")
                      + _col(summary, "recorded_drop_hours"))
    seats = scenario.team.reps * scenario.calendar.days * econ.seat_cost_per_rep_per_day
    cost_reps = rep_hours * econ.rep_cost_per_paid_hour
    cost_telephony = minutes * econ.telephony_cost_per_minute
    cost_drops = drops * econ.fee_per_voicemail_drop
    cost_seats = np.full_like(rep_hours, seats)
    cost_total = cost_reps + cost_telephony + cost_drops + cost_seats
    value = _pipeline_value(summary, scenario, breakdown, meetings)
    return {
        "meetings": meetings,
        "meetings_per_rep_hour": _ratio(meetings, rep_hours),
        "pipeline_value": value,
        "telephony_minutes": minutes,
        "cost_reps": cost_reps,
        "cost_telephony": cost_telephony,
        "cost_drops": cost_drops,
        "cost_seats": cost_seats,
        "cost_total": cost_total,
        "cost_per_connect": _ratio(cost_total, _col(summary, "connects")),
        "cost_per_meeting": _ratio(cost_total, meetings),
        "net_value": value - cost_total,
        "net_value_per_rep_hour": _ratio(value - cost_total, rep_hours),
    }


def economics_table(summary: pa.Table, scenario, breakdown: pa.Table | None = None) -> pa.Table:
    """``economics.parquet``: strategy, replication and :data:`ECONOMICS_COLUMNS`."""
    columns = economics_columns(summary, scenario, breakdown)
    data = {"strategy": summary.column("strategy"), "replication": summary.column("replication")}
    data.update({name: pa.array(columns[name], pa.float64()) for name in ECONOMICS_NAMES})
    return pa.table(data, schema=ECONOMICS_SCHEMA)


def with_economics(summary: pa.Table, scenario, breakdown: pa.Table | None = None) -> pa.Table:
    """``summary`` plus the :data:`ECONOMICS_COLUMNS` (unchanged if no [economics])."""
    if scenario is None or getattr(scenario, "economics", None) is None:
        return summary
    columns = economics_columns(summary, scenario, breakdown)
    for field in ECONOMICS_SCHEMA:
        if field.name in ECONOMICS_NAMES and field.name not in summary.column_names:
            summary = summary.append_column(field, pa.array(columns[field.name], pa.float64()))
    return summary
