"""Named random streams and the pre-drawn world every strategy of a replication shares.

Rules (so strategy differences are paired and nothing shifts when the code grows):

- a stream is keyed by (seed, replication, stable hash of its purpose name,
  attempt), never by the order in which code happens to draw;
- per-prospect draws are indexed by prospect and attempt: the value prospect ``p``
  meets on its ``a``-th dial is ``table[p, a, PURPOSE]`` whatever happened before, so
  two strategies see the same world until their histories diverge, and adding a
  strategy, a rep, a purpose or a metric moves no one else's numbers;
- a stream draws prospects in order, so a longer list keeps the shorter list's values.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import Scenario

# Per (prospect, attempt) purposes, in table-column order. Names are the stream keys:
# renaming one changes its numbers, reordering does not.
ATTEMPT_PURPOSES = (
    "available",  # uniform: is the prospect at the phone?
    "pickup",  # uniform: does it pick up given caller ID?
    "ring_delay_s",  # ringing before a live pick-up
    "voicemail_box",  # uniform: does an unanswered call reach voicemail?
    "amd_error",  # uniform: does AMD misclassify this answer?
    "right_party",  # uniform: is the live answer the prospect?
    "talk_s",
    "wrap_s",
    "gatekeeper_talk_s",
    "listen",  # uniform: is the message heard?
    "callback",  # uniform: does a heard message / missed call trigger a callback?
    "callback_delay_s",
    "callback_message",  # uniform: does a missed caller leave a message?
    "return_answer",  # uniform: is the return call answered?
    "return_ring_delay_s",
    "inbound_talk_s",
    "opt_out",  # uniform: does this touch end in do-not-call?
    "research_s",
    "connect_setup_s",
    "follow_up",  # uniform: does a connect leave the prospect on the list?
)
COL = {name: i for i, name in enumerate(ATTEMPT_PURPOSES)}


def stream_key(name: str) -> int:
    """Stable 32-bit key for a purpose name (crc32: same on every machine and Python)."""
    return zlib.crc32(name.encode("utf-8"))


def named_rng(seed: int, replication: int, name: str, *more: int) -> np.random.Generator:
    """The generator for purpose ``name`` of ``replication`` (and optional sub-keys)."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(replication, stream_key(name), *more))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass
class World:
    """Everything random about one replication, drawn before any strategy runs.

    ``draws``: float32 array (prospects, max_attempts, purposes).
    Per-prospect attributes: ``segment``, ``bad_number``, ``reachability``,
    ``p_pickup``, ``p_voicemail_box``, ``p_right_party``, ``callback_propensity``,
    ``utc_offset_s``.
    """

    seed: int
    replication: int
    draws: np.ndarray
    segment: np.ndarray
    bad_number: np.ndarray
    reachability: np.ndarray
    p_pickup: np.ndarray
    p_voicemail_box: np.ndarray
    p_right_party: np.ndarray
    callback_propensity: np.ndarray
    utc_offset_s: np.ndarray


def build_world(scenario: Scenario, seed: int, replication: int) -> World:
    """Draw the replication's prospects and every per-attempt value, in batches."""
    n = scenario.prospects.count
    attempts = scenario.cadence.max_attempts
    dists = {
        "ring_delay_s": scenario.dialer.ring_delay_s,
        "talk_s": scenario.conversation.talk_s,
        "wrap_s": scenario.conversation.wrap_s,
        "gatekeeper_talk_s": scenario.conversation.gatekeeper_talk_s,
        "callback_delay_s": scenario.callbacks.delay_h,  # hours, converted below
        "return_ring_delay_s": scenario.dialer.ring_delay_s,
        "inbound_talk_s": scenario.conversation.inbound_talk_s,
        "research_s": scenario.team.research_s,
        "connect_setup_s": scenario.dialer.connect_setup_s,
    }
    draws = np.empty((n, attempts, len(ATTEMPT_PURPOSES)), dtype=np.float32)
    for name, col in COL.items():
        dist = dists.get(name)
        scale = 3600.0 if name == "callback_delay_s" else 1.0
        for attempt in range(attempts):
            rng = named_rng(seed, replication, name, attempt)
            values = dist.sample(rng, n) * scale if dist is not None else rng.random(n)
            draws[:, attempt, col] = values

    segments = scenario.prospects.segments
    weights = np.array([s.weight for s in segments], dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    segment = np.searchsorted(cumulative, named_rng(seed, replication, "segment").random(n), side="right")
    segment = np.minimum(segment, len(segments) - 1)

    def per_segment(attr):
        return np.array([getattr(s, attr) for s in segments], dtype=float)[segment]

    bad_number = named_rng(seed, replication, "bad_number").random(n) < per_segment("p_bad_number")

    mean_reach = per_segment("reachability")
    concentration = np.array(
        [s.reachability_concentration or 0.0 for s in segments], dtype=float
    )[segment]
    reach_rng = named_rng(seed, replication, "reachability")
    reachability = mean_reach.copy()
    heterogeneous = (concentration > 0) & (mean_reach > 0) & (mean_reach < 1)
    if heterogeneous.any():
        # Draw for everyone (keeps alignment by prospect), keep where heterogeneous.
        a = np.where(heterogeneous, mean_reach * concentration, 1.0)
        b = np.where(heterogeneous, (1 - mean_reach) * concentration, 1.0)
        beta = reach_rng.beta(a, b)
        reachability = np.where(heterogeneous, beta, mean_reach)

    sigma = per_segment("callback_propensity_sigma")
    z = named_rng(seed, replication, "callback_propensity").standard_normal(n)
    propensity = np.exp(sigma * z - 0.5 * sigma**2)  # log-normal with mean 1

    return World(
        seed=seed,
        replication=replication,
        draws=draws,
        segment=segment.astype(np.int16),
        bad_number=bad_number,
        reachability=reachability,
        p_pickup=per_segment("p_pickup"),
        p_voicemail_box=per_segment("p_voicemail_box"),
        p_right_party=per_segment("p_right_party"),
        callback_propensity=propensity,
        utc_offset_s=_time_zone_offsets_s(scenario, seed, replication, n),
    )


def _time_zone_offsets_s(scenario: Scenario, seed: int, replication: int, n: int) -> np.ndarray:
    """Each prospect's clock minus the team's, seconds, drawn from the time-zone mix."""
    zones = scenario.prospects.time_zones
    offsets = np.array([z.utc_offset_h * 3600.0 for z in zones])
    if len(zones) == 1:
        return np.full(n, offsets[0])
    weights = np.array([z.weight for z in zones], dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    index = np.searchsorted(cumulative, named_rng(seed, replication, "time_zone").random(n), side="right")
    return offsets[np.minimum(index, len(zones) - 1)]


def spam_label_draws(seed: int, replication: int, days: int, n_numbers: int) -> np.ndarray:
    """Uniforms (days, numbers) deciding spam labels; one stream per day, numbers in order."""
    return np.stack([named_rng(seed, replication, "spam_label", day).random(n_numbers)
                     for day in range(days)]) if n_numbers else np.empty((days, 0))
