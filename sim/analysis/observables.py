"""Observable rates: what a team's dashboard shows, derived from the summary counters.

Each rate is a ratio of two sums of ``summary.parquet`` counters, so a team can hold
the model against its own dashboard (and ``dialsim fit`` computes the same ratios
from a call log). Written once here; docs/results.md documents each column and the
tests check the page against :data:`OBSERVABLES`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# name, unit, description, numerator counters, denominator counters (a counter written
# "-name" is subtracted)
OBSERVABLES: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("conversation_rate", "ratio",
     "(outbound_connects + gatekeeper_answers) / dials: dials on which a rep talked to a person",
     ("outbound_connects", "gatekeeper_answers"), ("dials",)),
    ("live_answer_share", "ratio", "live_answers / dials: dials a person picked up",
     ("live_answers",), ("dials",)),
    ("voicemail_share", "ratio", "voicemails_reached / dials: dials that reached a greeting",
     ("voicemails_reached",), ("dials",)),
    ("callbacks_per_message_left", "ratio",
     "(callbacks_received - reply_calls_received) / voicemails_left: phone callbacks per message left (includes who-called-me callbacks after silent misses, not replies to emails or texts; null if no message)",
     ("callbacks_received", "-reply_calls_received"), ("voicemails_left",)),
    ("contacts_per_prospect", "ratio",
     "prospects_reached / prospects_dialled: share of dialled prospects with a conversation",
     ("prospects_reached",), ("prospects_dialled",)),
)
OBSERVABLE_NAMES = tuple(name for name, *_ in OBSERVABLES)


def observable_rates(columns) -> dict[str, np.ndarray]:
    """Each observable rate, row by row, from a mapping of counter name -> values."""
    out = {}
    for name, _unit, _desc, num, den in OBSERVABLES:
        top = sum(_signed(columns, c) for c in num)
        bottom = sum(_signed(columns, c) for c in den)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
    return out


def _signed(columns, counter: str):
    """A counter's values; a subtracted one missing from ``columns`` (results written
    before it existed, which had no email or text replies) counts 0."""
    name = counter.lstrip("-")
    if counter.startswith("-"):
        return -np.asarray(columns[name], dtype=float) if name in columns else 0.0
    return np.asarray(columns[name], dtype=float)


def counters_of(observable: str) -> tuple[str, ...]:
    """The counters an observable rate is computed from (signs dropped)."""
    for name, _unit, _desc, num, den in OBSERVABLES:
        if name == observable:
            return tuple(c.lstrip("-") for c in (*num, *den))
    raise KeyError(observable)


def add_observable_rates(summary: pa.Table) -> pa.Table:
    """``summary`` with the observable-rate columns appended (units in field metadata)."""
    data = {c: summary.column(c).to_numpy(zero_copy_only=False)
            for name in OBSERVABLE_NAMES for c in counters_of(name) if c in summary.column_names}
    rates = observable_rates(data)
    for name, unit, desc, _num, _den in OBSERVABLES:
        if name in summary.column_names:
            continue
        field = pa.field(name, pa.float64(), metadata={"unit": unit, "description": desc})
        values = rates[name]  # undefined (nothing to divide by) is null, not NaN
        summary = summary.append_column(field, pa.array(values, type=pa.float64(), mask=np.isnan(values)))
    return summary
