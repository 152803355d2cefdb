"""Live-answer share of a call log by attempt number, local hour and earlier silent misses.

The fit report draws these for the log beside a simulation of the fitted scenario:
where the two part, the fitted model misses a pattern of the team's data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.calibration.calllog import LIVE_OUTCOMES, SILENT_MISS_OUTCOMES, CallLog

DAY_S = 86400.0
MAX_MISSES = 5  # 5 or more earlier silent misses are pooled


@dataclass
class Profile:
    """Per group: dials, live answers, share and its exact 95% interval."""

    by: str
    groups: np.ndarray
    dials: np.ndarray
    live: np.ndarray
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _profile(by: str, key: np.ndarray, live: np.ndarray, min_dials: int) -> Profile:
    from scipy.stats import beta

    groups, inverse = np.unique(key, return_inverse=True)
    dials = np.bincount(inverse).astype(float)
    hits = np.bincount(inverse, weights=live.astype(float))
    keep = dials >= min_dials
    groups, dials, hits = groups[keep], dials[keep], hits[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(hits > 0, beta.ppf(0.025, hits, dials - hits + 1), 0.0)
        high = np.where(hits < dials, beta.ppf(0.975, hits + 1, dials - hits), 1.0)
    return Profile(by, groups, dials, hits, hits / dials, low, high)


def live_answer_profiles(log: CallLog, min_dials: int = 30) -> dict[str, Profile]:
    """Share of dials a person picked up, by attempt, by local hour, by earlier silent misses."""
    out = log.direction == 0
    observed = out & ~log.is_outcome("bad_number", "cancelled")
    live = log.is_outcome(*LIVE_OUTCOMES)
    misses = log.count_before(out & log.is_outcome(*SILENT_MISS_OUTCOMES))
    hour = np.floor(((log.t_s + log.local_offset_s()) % DAY_S) / 3600.0).astype(np.int64)
    rows = np.flatnonzero(observed)
    return {
        "attempt": _profile("attempt", log.attempt[rows], live[rows], min_dials),
        "hour": _profile("hour", hour[rows], live[rows], min_dials),
        "silent_misses": _profile("silent_misses", np.minimum(misses[rows], MAX_MISSES), live[rows], min_dials),
    }
