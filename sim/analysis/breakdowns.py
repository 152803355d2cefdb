"""Breakdowns of a run that ``timeline.parquet`` already allows: by hour of day.

``timeline.parquet`` counts per campaign hour on the **team's clock**: outbound
dials, live answers (a person picked up: connects, gatekeepers, abandoned) and all
connects. Per strategy and clock hour :func:`by_hour` gives:

- ``dials_per_day``: outbound dials placed in that hour, per campaign day (mean over
  replications);
- ``answers_per_100_dials``: live answers per 100 outbound dials in that hour,
  pooled over the campaign's days within a replication, then mean and 95% interval
  over replications (hours with no dial in some replication are left out there).

This is the "when do people pick up" view: the best hours to call. It describes
the run as dialled: who is dialled at each hour differs (fresh leads early, retries
later), so it is not a controlled experiment on the hour alone. With prospects in
several time zones the hour here is still the team's; ``breakdown.parquet`` has the
split by zone and the prospect's local hour (``--by local_hour``), by segment and by
rep group.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sim.analysis.stats import t_interval

BY_HOUR_SCHEMA = pa.schema([
    pa.field("strategy", pa.string(), metadata={"unit": "", "description": "voicemail strategy"}),
    pa.field("hour", pa.int8(), metadata={"unit": "", "description": "hour of day on the team's clock (0-23)"}),
    pa.field("dials_per_day", pa.float64(), metadata={
        "unit": "count", "description": "outbound dials in this hour per campaign day, mean over replications"}),
    pa.field("answers_per_100_dials", pa.float64(), metadata={
        "unit": "%", "description": "live answers per 100 outbound dials in this hour (pooled over days), mean over replications"}),
    pa.field("answers_per_100_dials_ci95_low", pa.float64(), metadata={"unit": "%", "description": "95% Student-t interval over replications"}),
    pa.field("answers_per_100_dials_ci95_high", pa.float64(), metadata={"unit": "%", "description": ""}),
])


def by_hour(timeline: pa.Table, strategies=None) -> pa.Table:
    """Per strategy x clock hour with at least one dial: dials and answer rate (BY_HOUR_SCHEMA)."""
    strategy = np.asarray(timeline.column("strategy").to_pylist(), dtype=object)
    replication = timeline.column("replication").to_numpy(zero_copy_only=False)
    hour = timeline.column("hour").to_numpy(zero_copy_only=False).astype(int)
    day = timeline.column("day").to_numpy(zero_copy_only=False)
    dials = timeline.column("dials").to_numpy(zero_copy_only=False).astype(float)
    answers = timeline.column("live_answers").to_numpy(zero_copy_only=False).astype(float)
    names = list(dict.fromkeys(strategy.tolist())) if strategies is None else list(strategies)
    out = {name: [] for name in BY_HOUR_SCHEMA.names}
    for name in names:
        mine = strategy == name
        reps = np.unique(replication[mine])
        days = int(day[mine].max()) + 1 if mine.any() else 1
        dial_h = np.zeros((reps.size, 24))
        answer_h = np.zeros((reps.size, 24))
        for i, r in enumerate(reps):
            rows = mine & (replication == r)
            dial_h[i] = np.bincount(hour[rows], weights=dials[rows], minlength=24)
            answer_h[i] = np.bincount(hour[rows], weights=answers[rows], minlength=24)
        for h in range(24):
            if not dial_h[:, h].any():
                continue
            has = dial_h[:, h] > 0
            rate = t_interval(100.0 * answer_h[has, h] / dial_h[has, h])
            out["strategy"].append(name)
            out["hour"].append(h)
            out["dials_per_day"].append(float(dial_h[:, h].mean() / days))
            out["answers_per_100_dials"].append(rate.mean)
            out["answers_per_100_dials_ci95_low"].append(rate.low)
            out["answers_per_100_dials_ci95_high"].append(rate.high)
    return pa.table(out, schema=BY_HOUR_SCHEMA)


def best_hours(table: pa.Table, strategy: str, k: int = 3) -> list[int]:
    """The ``k`` clock hours whose answer rate is highest *with confidence* for
    ``strategy``: ranked by the low end of the 95% interval, so a thinly dialled hour
    with a lucky mean does not top the list."""
    rows = [r for r in table.to_pylist() if r["strategy"] == strategy]
    rows.sort(key=lambda r: -np.nan_to_num(r["answers_per_100_dials_ci95_low"], nan=-np.inf))
    return [r["hour"] for r in rows[:k]]
