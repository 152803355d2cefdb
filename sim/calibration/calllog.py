"""The generic call-log schema (one row per call) and its strict, columnar reader.

A call log is a CSV or Parquet file with the columns of :data:`COLUMNS` (the
optional ones optional; other columns are ignored). docs/calibration.md documents
the schema; the tests check the page against :data:`COLUMNS`.

Reading never looks at one row at a time in Python: columns are parsed and checked
with pyarrow.compute and numpy. A problem is a :class:`sim.errors.UserError` naming
the file, the row (CSV: the line number; Parquet: the 1-based row) and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.errors import UserError

DIRECTIONS = ("outbound", "inbound", "return")

# outcome -> the direction it belongs to (the vocabulary of dialsim's calls.parquet)
OUTCOMES: dict[str, str] = {
    "bad_number": "outbound",
    "connect": "outbound",
    "gatekeeper": "outbound",
    "abandoned": "outbound",
    "amd_hangup": "outbound",
    "voicemail_left": "outbound",
    "voicemail_silent": "outbound",
    "no_answer": "outbound",
    "cancelled": "outbound",
    "inbound_connect": "inbound",
    "inbound_missed": "inbound",
    "reply_connect": "inbound",  # a prospect calling in reply to an email or a text
    "reply_missed": "inbound",
    "return_connect": "return",
    "return_no_answer": "return",
}
OUTCOME_NAMES = tuple(OUTCOMES)
OUTCOME_CODE = {name: i for i, name in enumerate(OUTCOME_NAMES)}

# Outbound outcomes where a person picked up (docs/model.md "One dial", step 3).
LIVE_OUTCOMES = ("connect", "gatekeeper", "abandoned", "amd_hangup")
# Outbound outcomes the prospect sees as a missed call with no message (Screening).
SILENT_MISS_OUTCOMES = ("voicemail_silent", "no_answer", "abandoned", "amd_hangup", "cancelled")
VOICEMAIL_OUTCOMES = ("voicemail_left", "voicemail_silent")
# Outcomes that reach the prospect (a live conversation ends its dialling).
REACH_OUTCOMES = ("connect", "inbound_connect", "return_connect", "reply_connect")

# name, required, accepted types, meaning (docs/calibration.md is checked against this)
COLUMNS: tuple[tuple[str, bool, str, str], ...] = (
    ("prospect_id", True, "string or integer", "who was called (or called in): one id per prospect"),
    ("start_time", True, "ISO 8601 text with a UTC offset (2026-03-02T09:15:00-05:00, or Z), or a Parquet timestamp with a time zone",
     "when the call started; its offset is the team's clock"),
    ("direction", True, "text", "outbound (a dial), inbound (a prospect calling back) or return (a rep returning a missed callback)"),
    ("outcome", True, "text", "one of the outcomes below, matching the direction"),
    ("rep_id", False, "string or integer", "the rep who placed or took the call"),
    ("ring_s", False, "seconds", "ringing until a person answered, or until the dialer gave up (ring timeout)"),
    ("talk_s", False, "seconds", "conversation length (connects, gatekeepers, inbound and return connects)"),
    ("wrap_s", False, "seconds", "after-call work following a conversation"),
    ("message_id", False, "string or integer", "which recorded message was left (voicemail_left rows)"),
    ("caller_id_number", False, "string or integer", "the number shown to the prospect"),
    ("segment", False, "text", "the list segment of the prospect (e.g. cold, warm)"),
    ("prospect_utc_offset_h", False, "hours", "the prospect's local clock minus UTC (e.g. -5 for New York in winter)"),
    ("opt_out", False, "true/false", "the prospect asked not to be called again on this call"),
    ("attempt", False, "integer >= 1", "outbound: the prospect's attempt number; inbound/return: the attempt that caused it. Counted from the times when absent"),
)
COLUMN_NAMES = tuple(name for name, *_ in COLUMNS)
REQUIRED = tuple(name for name, required, *_ in COLUMNS if required)

_ZONED = (r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?(?P<frac>\.\d+)?"
          r"(?P<zone>Z|[+-]\d{2}:?\d{2})$")
_NAIVE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?$"
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


@dataclass
class CallLog:
    """A validated call log as columns (numpy), sorted by prospect, then start time.

    Times are seconds since 1970-01-01 UTC. ``team_offset_s`` is the UTC offset each
    start time was written in (the team's clock). Optional columns are None when the
    log does not carry them; ``row`` is each call's 0-based row in the file.
    """

    source: str
    prospect: np.ndarray  # int64 codes, 0..n_prospects-1
    prospect_ids: pa.Array  # code -> the file's id
    t_s: np.ndarray
    team_offset_s: np.ndarray
    direction: np.ndarray  # int8 index into DIRECTIONS
    outcome: np.ndarray  # int8 index into OUTCOME_NAMES
    attempt: np.ndarray  # int32 (see COLUMNS)
    row: np.ndarray
    rep: np.ndarray | None = None
    ring_s: np.ndarray | None = None
    talk_s: np.ndarray | None = None
    wrap_s: np.ndarray | None = None
    message: np.ndarray | None = None  # int32 codes, -1 where no message
    segment: np.ndarray | None = None  # int32 codes
    segment_names: list[str] | None = None
    prospect_offset_s: np.ndarray | None = None
    opt_out: np.ndarray | None = None
    caller_id: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.prospect.size)

    @property
    def n_prospects(self) -> int:
        return len(self.prospect_ids)

    def is_callback(self) -> np.ndarray:
        """Mask of inbound rows that are callbacks (not replies to an email or a text)."""
        return (self.direction == 1) & ~self.is_outcome("reply_connect", "reply_missed")

    def is_outcome(self, *names: str) -> np.ndarray:
        """Mask of rows whose outcome is one of ``names``."""
        codes = np.array([OUTCOME_CODE[n] for n in names], dtype=np.int8)
        return np.isin(self.outcome, codes)

    def local_offset_s(self) -> np.ndarray:
        """Each call's prospect clock minus UTC: the prospect's zone, else the team's."""
        return self.prospect_offset_s if self.prospect_offset_s is not None else self.team_offset_s

    def group_starts(self) -> np.ndarray:
        """Index of each row's prospect's first row (rows are sorted by prospect)."""
        first = np.r_[True, self.prospect[1:] != self.prospect[:-1]]
        return np.maximum.accumulate(np.where(first, np.arange(first.size), 0))

    def count_before(self, mask: np.ndarray) -> np.ndarray:
        """Per row: how many earlier rows of the same prospect have ``mask`` true."""
        cum = np.cumsum(mask, dtype=np.int64) - mask
        start = self.group_starts()
        return cum - cum[start]


class _Where:
    """Names rows the way the user sees them: CSV line numbers or Parquet rows."""

    def __init__(self, path: Path, csv: bool):
        self.path, self.csv = path, csv

    def row(self, index: int) -> str:
        return f"line {index + 2}" if self.csv else f"row {index + 1}"

    def fail(self, index: int | None, column: str | None, message: str):
        parts = [str(self.path)]
        if index is not None:
            parts.append(self.row(int(index)))
        if column is not None:
            parts.append(f"column {column}")
        raise UserError(": ".join([", ".join(parts), message]))


def read_table(path: Path) -> tuple[pa.Table, bool]:
    """The file as an Arrow table (CSV: every column as text) and whether it is CSV."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such call log")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, expected a call log (.csv or .parquet)")
    suffixes = "".join(path.suffixes[-2:]).lower()
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path), False
        if path.suffix.lower() == ".csv" or suffixes.endswith(".csv.gz"):
            if path.stat().st_size == 0:
                raise UserError(f"{path}: the file is empty (expected a header line and calls)")
            names = _csv_header(path)
            invalid = []

            def on_invalid(row):  # called only for malformed rows; the first one is reported
                invalid.append(row)
                return "skip"

            table = pcsv.read_csv(
                path,
                parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
                read_options=pcsv.ReadOptions(use_threads=False),  # so malformed rows know their line
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
            if invalid:
                row = invalid[0]
                line = f", line {row.number}" if row.number and row.number > 0 else ""
                raise UserError(f"{path}{line}: expected {row.expected_columns} fields, "
                                f"found {row.actual_columns}")
            return table, True
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    raise UserError(f"{path}: expected a .csv or .parquet call log")


def _csv_header(path: Path) -> list[str]:
    import csv
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def read_call_log(path: str | Path) -> CallLog:
    """Read and validate a generic call log (CSV or Parquet)."""
    path = Path(path)
    table, is_csv = read_table(path)
    return call_log_from_table(table, path, is_csv)


def call_log_from_table(table: pa.Table, path: Path | str, is_csv: bool = False) -> CallLog:
    """Validate an Arrow table in the generic schema (see :data:`COLUMNS`)."""
    import pyarrow.compute as pc

    where = _Where(Path(path), is_csv)
    missing = [name for name in REQUIRED if name not in table.column_names]
    if missing:
        where.fail(None, missing[0], f"required column is missing (a call log needs "
                   f"{', '.join(REQUIRED)}; found: {', '.join(table.column_names) or 'none'})")
    if table.num_rows == 0:
        where.fail(None, None, "the call log has no calls (only a header)")
    table = table.combine_chunks() if table.num_columns else table

    def text(name: str) -> pa.Array:
        column = table.column(name).combine_chunks()
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            column = pc.cast(column, pa.string())
        column = pc.fill_null(pc.utf8_trim_whitespace(column), "")
        empty = pc.equal(column, "")
        return column, np.asarray(empty.to_numpy(zero_copy_only=False))

    def required_text(name: str) -> pa.Array:
        column, empty = text(name)
        if empty.any():
            where.fail(int(np.flatnonzero(empty)[0]), name, "is empty (every call needs one)")
        return column

    prospect_text = required_text("prospect_id")
    prospect_codes = pc.dictionary_encode(prospect_text)
    prospect = prospect_codes.indices.to_numpy().astype(np.int64)
    prospect_ids = prospect_codes.dictionary

    t_s, team_offset_s = _parse_times(table.column("start_time").combine_chunks(), where)

    direction = _vocabulary(required_text("direction"), DIRECTIONS, "direction", where)
    outcome = _vocabulary(required_text("outcome"), OUTCOME_NAMES, "outcome", where)
    expected_dir = np.array([DIRECTIONS.index(OUTCOMES[o]) for o in OUTCOME_NAMES], dtype=np.int8)
    wrong = expected_dir[outcome] != direction
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        where.fail(i, "outcome", f"{OUTCOME_NAMES[outcome[i]]!r} is not an outcome of a "
                   f"{DIRECTIONS[direction[i]]} call (its direction is {OUTCOMES[OUTCOME_NAMES[outcome[i]]]})")

    def optional_number(name: str, low: float = 0.0, high: float = np.inf) -> np.ndarray | None:
        if name not in table.column_names:
            return None
        return _parse_number(table.column(name).combine_chunks(), name, where, low, high)

    log = CallLog(
        source=str(path), prospect=prospect, prospect_ids=prospect_ids, t_s=t_s,
        team_offset_s=team_offset_s, direction=direction, outcome=outcome,
        attempt=np.zeros(len(prospect), dtype=np.int32), row=np.arange(len(prospect)),
        ring_s=optional_number("ring_s"), talk_s=optional_number("talk_s"),
        wrap_s=optional_number("wrap_s"),
    )
    offset_h = optional_number("prospect_utc_offset_h", -24.0, 24.0)
    if offset_h is not None:
        if np.isnan(offset_h).any():
            where.fail(int(np.flatnonzero(np.isnan(offset_h))[0]), "prospect_utc_offset_h",
                       "is empty (give every row its prospect's offset, or drop the column)")
        log.prospect_offset_s = offset_h * 3600.0
    for name, attr in (("rep_id", "rep"), ("caller_id_number", "caller_id")):
        if name in table.column_names:
            column, empty = text(name)
            codes = pc.dictionary_encode(column).indices.to_numpy().astype(np.int32)
            setattr(log, attr, np.where(empty, -1, codes))
    if "message_id" in table.column_names:
        column, empty = text("message_id")
        codes = pc.dictionary_encode(column).indices.to_numpy().astype(np.int32)
        log.message = np.where(empty, -1, codes)
    if "segment" in table.column_names:
        column = required_text("segment")
        encoded = pc.dictionary_encode(column)
        log.segment = encoded.indices.to_numpy().astype(np.int32)
        log.segment_names = encoded.dictionary.to_pylist()
    if "opt_out" in table.column_names:
        log.opt_out = _parse_bool(table.column("opt_out").combine_chunks(), where)
    given_attempt = optional_number("attempt", 1.0, 1e6)
    if given_attempt is not None and np.isnan(given_attempt).any():
        where.fail(int(np.flatnonzero(np.isnan(given_attempt))[0]), "attempt", "is empty")
    _order_and_check(log, given_attempt, where)
    if not (log.direction == 0).any():
        where.fail(None, "direction", "the log has no outbound dials (nothing to fit a dialer from)")
    return log


def _vocabulary(column: pa.Array, names: tuple[str, ...], label: str, where: _Where) -> np.ndarray:
    import pyarrow.compute as pc

    lowered = pc.utf8_lower(column)
    index = pc.index_in(lowered, value_set=pa.array(names))
    unknown = np.asarray(pc.is_null(index).to_numpy(zero_copy_only=False))
    if unknown.any():
        bad = pc.unique(pc.filter(column, pa.array(unknown))).to_pylist()
        shown = ", ".join(repr(v) for v in bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
        where.fail(int(np.flatnonzero(unknown)[0]), label,
                   f"unknown {label} {shown} (expected one of: {', '.join(names)})")
    return index.to_numpy(zero_copy_only=False).astype(np.int8)


def _parse_number(column: pa.Array, name: str, where: _Where, low: float, high: float) -> np.ndarray:
    """Floats (NaN where empty); text that is not a number, or out of range, fails."""
    import pyarrow.compute as pc

    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    else:
        text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
        empty = np.asarray(pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False))
        ok = np.asarray(pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
                        .to_numpy(zero_copy_only=False))
        bad = ~ok & ~empty
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where.fail(i, name, f"{text[i].as_py()!r} is not a number")
        values = np.full(len(text), np.nan)
        if ok.any():
            values[ok] = pc.cast(pc.filter(text, pa.array(ok)), pa.float64()).to_numpy()
    values = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(values)
    out = finite & ((values < low) | (values > high) | ~np.isfinite(values))
    if out.any():
        i = int(np.flatnonzero(out)[0])
        span = f">= {low:g}" if high == np.inf else f"between {low:g} and {high:g}"
        where.fail(i, name, f"{float(values[i])!r} is out of range (expected {span})")
    return values


def _parse_bool(column: pa.Array, where: _Where) -> np.ndarray:
    import pyarrow.compute as pc

    if pa.types.is_boolean(column.type):
        nulls = np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False))
        return np.where(nulls, False, np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False)))
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(column, pa.string())))
    truthy = pa.array(["true", "yes", "1", "y", "t"])
    falsy = pa.array(["false", "no", "0", "n", "f", ""])
    is_true = np.asarray(pc.fill_null(pc.is_in(text, value_set=truthy), False).to_numpy(zero_copy_only=False))
    is_false = np.asarray(pc.fill_null(pc.is_in(text, value_set=falsy), True).to_numpy(zero_copy_only=False))
    bad = ~is_true & ~is_false
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where.fail(i, "opt_out", f"{text[i].as_py()!r} is not true/false")
    return is_true


def _parse_times(column: pa.Array, where: _Where) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch (UTC) and each time's own UTC offset, in seconds."""
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            where.fail(None, "start_time", "the timestamps have no time zone (store them "
                       "with one, e.g. UTC, so local hours are known)")
        if column.null_count:
            where.fail(int(np.flatnonzero(np.asarray(pc.is_null(column)))[0]), "start_time", "is empty")
        utc_s = pc.cast(column, pa.timestamp("us", tz=column.type.tz)).cast(pa.int64()).to_numpy() / 1e6
        local = pc.local_timestamp(column)
        local_s = pc.cast(pc.cast(local, pa.timestamp("us")), pa.int64()).to_numpy() / 1e6
        return utc_s.astype(np.float64), (local_s - utc_s).astype(np.float64)
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    zoned = np.asarray(pc.fill_null(pc.match_substring_regex(text, _ZONED), False).to_numpy(zero_copy_only=False))
    naive = np.asarray(pc.fill_null(pc.match_substring_regex(text, _NAIVE), False).to_numpy(zero_copy_only=False))
    bad = ~zoned & ~naive
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where.fail(i, "start_time", f"{text[i].as_py()!r} is not a time "
                   "(expected e.g. 2026-03-02T09:15:00-05:00)")
    if naive.any():
        i = int(np.flatnonzero(naive)[0])
        if zoned.any():
            j = int(np.flatnonzero(zoned)[0])
            where.fail(i, "start_time", f"mixed time-zone forms: {text[i].as_py()!r} has no "
                       f"UTC offset but {where.row(j)} has one ({text[j].as_py()!r})")
        where.fail(i, "start_time", f"{text[i].as_py()!r} has no UTC offset "
                   "(write e.g. 2026-03-02T09:15:00-05:00 or ...Z)")
    parts = pc.extract_regex(text, _ZONED)
    field = {name: parts.field(name) for name in ("date", "hm", "sec", "frac", "zone")}
    zone = field["zone"]
    zone = pc.if_else(pc.equal(zone, "Z"), "+00:00", zone)
    zone = pc.replace_substring_regex(zone, r"^([+-]\d{2})(\d{2})$", r"\1:\2")
    sec = pc.if_else(pc.equal(field["sec"], ""), ":00", field["sec"])
    joined = pc.binary_join_element_wise(field["date"], pa.scalar("T"), field["hm"], sec, zone, "")
    stamps = pc.strptime(joined, format="%Y-%m-%dT%H:%M:%S%z", unit="s", error_is_null=True)
    if stamps.null_count:
        i = int(np.flatnonzero(np.asarray(pc.is_null(stamps).to_numpy(zero_copy_only=False)))[0])
        where.fail(i, "start_time", f"{text[i].as_py()!r} is not a valid date and time")
    # strptime rolls impossible dates over (02-30 -> 03-02): written back, they differ
    sign = np.where(np.asarray(pc.starts_with(zone, "-").to_numpy(zero_copy_only=False)), -1.0, 1.0)
    hours = pc.cast(pc.utf8_slice_codeunits(zone, 1, 3), pa.float64()).to_numpy(zero_copy_only=False)
    minutes = pc.cast(pc.utf8_slice_codeunits(zone, 4, 6), pa.float64()).to_numpy(zero_copy_only=False)
    offset_s = sign * (hours * 3600.0 + minutes * 60.0)
    utc_s = stamps.cast(pa.int64()).to_numpy().astype(np.float64)
    local = pa.array(((utc_s + offset_s) * 1e6).astype(np.int64), type=pa.timestamp("us"))
    written = pc.strftime(local, format="%Y-%m-%dT%H:%M")
    given = pc.binary_join_element_wise(field["date"], pa.scalar("T"), field["hm"], "")
    rolled = np.asarray(pc.not_equal(written, given).to_numpy(zero_copy_only=False))
    if rolled.any():
        i = int(np.flatnonzero(rolled)[0])
        where.fail(i, "start_time", f"{text[i].as_py()!r} is not a valid date and time")
    frac = field["frac"]
    has_frac = np.asarray(pc.not_equal(frac, "").to_numpy(zero_copy_only=False))
    if has_frac.any():
        fraction = pc.cast(pc.binary_join_element_wise(pa.scalar("0"), frac, ""), pa.float64()).to_numpy(
            zero_copy_only=False)
        utc_s = utc_s + np.where(has_frac, np.nan_to_num(fraction), 0.0)
    return utc_s, offset_s


def _order_and_check(log: CallLog, given_attempt: np.ndarray | None, where: _Where) -> None:
    """Sort by prospect then time; reject duplicate calls and out-of-order attempts."""
    order = np.lexsort((log.direction, log.t_s, log.prospect))
    for name in ("prospect", "t_s", "team_offset_s", "direction", "outcome", "row", "rep", "ring_s",
                 "talk_s", "wrap_s", "message", "segment", "prospect_offset_s", "opt_out", "caller_id"):
        value = getattr(log, name)
        if value is not None:
            setattr(log, name, value[order])
    same = ((log.prospect[1:] == log.prospect[:-1]) & (log.t_s[1:] == log.t_s[:-1])
            & (log.direction[1:] == log.direction[:-1]))
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = sorted((int(log.row[k]), int(log.row[k + 1])))
        where.fail(second, None, f"duplicate call: the same prospect, start time and direction "
                   f"as {where.row(first)}")
    outbound = log.direction == 0
    counted = log.count_before(outbound) + outbound
    if given_attempt is None:
        log.attempt = counted.astype(np.int32)
        return
    attempt = given_attempt[order].astype(np.int64)
    # outbound attempts must be 1, 2, 3, ... in time order within each prospect
    out_rows = np.flatnonzero(outbound)
    wrong = attempt[out_rows] != counted[out_rows]
    if wrong.any():
        k = out_rows[np.flatnonzero(wrong)[0]]
        where.fail(int(log.row[k]), "attempt", f"attempt {attempt[k]} is out of order: by start "
                   f"time it is this prospect's dial number {counted[k]} (times must increase "
                   "with the attempt)")
    other = np.flatnonzero(~outbound)
    late = attempt[other] > counted[other]
    if late.any():
        k = other[np.flatnonzero(late)[0]]
        where.fail(int(log.row[k]), "attempt", f"a {DIRECTIONS[log.direction[k]]} call caused by "
                   f"attempt {attempt[k]} starts before that attempt was dialled")
    log.attempt = attempt.astype(np.int32)
