"""Named random streams and the pre-drawn world every strategy of a replication shares.

Rules (so strategy differences are paired and nothing shifts when the code grows):

- a stream is keyed by (seed, replication, stable hash of its purpose name,
  attempt), never by the order in which code happens to draw;
- per-prospect draws are indexed by prospect and attempt: the value prospect ``p``
  meets on its ``a``-th dial is ``table[p, a, PURPOSE]`` whatever happened before, so
  two strategies see the same world until their histories diverge, and adding a
  strategy, a rep, a purpose or a metric moves no one else's numbers;
- a stream draws prospects in order, so a longer list keeps the shorter list's values;
- per-attempt draws are made on demand, a block of prospects at a time as the dialler
  reaches them (:class:`DrawTable`): memory follows the prospects actually dialled,
  not the length of the list, and the values are those one draw of the whole list
  would give.
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
    "genuine",  # uniform: is a message's callback (or the return call to it) from interest?
)
COL = {name: i for i, name in enumerate(ATTEMPT_PURPOSES)}
N_PURPOSES = len(ATTEMPT_PURPOSES)

# Per (prospect, attempt) purposes of the other channels (email and text touches placed
# after that attempt), in a table of their own made only when a scenario uses them:
# the table above, its columns and its values are the same with or without them.
CHANNEL_PURPOSES = (
    "email_reply",  # uniform: does the prospect reply to the email?
    "email_reply_delay_s",
    "email_opt_out",  # uniform: does the email end in do-not-contact?
    "text_reply",  # uniform: does the prospect reply to the text?
    "text_reply_delay_s",
    "text_opt_out",  # uniform: does the text end in do-not-contact?
)
CHANNEL_COL = {name: i for i, name in enumerate(CHANNEL_PURPOSES)}
N_CHANNEL_PURPOSES = len(CHANNEL_PURPOSES)


def stream_key(name: str) -> int:
    """Stable 32-bit key for a purpose name (crc32: same on every machine and Python)."""
    return zlib.crc32(name.encode("utf-8"))


def named_rng(seed: int, replication: int, name: str, *more: int) -> np.random.Generator:
    """The generator for purpose ``name`` of ``replication`` (and optional sub-keys)."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(replication, stream_key(name), *more))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass
class World:
    """Everything random about one replication, shared by every strategy of it.

    ``draws``: a :class:`DrawTable`, the float32 values (prospect, attempt, purpose),
    made as far as the furthest prospect any strategy has dialled.
    Per-prospect attributes: ``segment``, ``bad_number``, ``reachability``,
    ``p_pickup``, ``p_voicemail_box``, ``p_right_party``, ``callback_propensity``,
    ``utc_offset_s``, ``voicemail_line`` (the draw deciding whether its line has a box).
    """

    seed: int
    replication: int
    draws: "DrawTable"
    segment: np.ndarray
    bad_number: np.ndarray
    reachability: np.ndarray
    p_pickup: np.ndarray
    p_voicemail_box: np.ndarray
    p_right_party: np.ndarray
    callback_propensity: np.ndarray
    utc_offset_s: np.ndarray
    voicemail_line: np.ndarray  # uniform per prospect: its line has a box if below p_voicemail_box
    habit_shift_h: np.ndarray  # int16 per prospect: its availability profile, shifted by hours
    time_zone: np.ndarray  # int16 per prospect: index into prospects.time_zones
    # the other channels (scenario.channels): None unless a scenario uses them
    channel_draws: "DrawTable | None" = None
    channel_address: np.ndarray | None = None  # uint8 per prospect: bit 1 email, bit 2 text
    second_number: np.ndarray | None = None  # uint8 per prospect: 1 = it has a second number
    voicemail_line_2: np.ndarray | None = None  # uniform per prospect: the second line's box


def build_world(scenario: Scenario, seed: int, replication: int) -> World:
    """Draw the replication's prospects; per-attempt values follow on demand."""
    n = scenario.prospects.count
    draws = DrawTable(scenario, seed, replication)
    zone = _time_zones(scenario, seed, replication, n)
    segments = scenario.prospects.segments
    weights = np.array([s.weight for s in segments], dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    segment = np.searchsorted(cumulative, named_rng(seed, replication, "segment").random(n), side="right")
    segment = np.minimum(segment, len(segments) - 1).astype(np.int16)

    def per_segment(attr):
        return np.array([getattr(s, attr) for s in segments], dtype=float)[segment]

    bad_number = named_rng(seed, replication, "bad_number").random(n) < per_segment("p_bad_number")

    # (temporaries are dropped as soon as they are used: a long list's world is built
    # in a few arrays' worth of memory)
    reachability = per_segment("reachability")  # the segment's mean, unless drawn below
    concentration = np.array(
        [s.reachability_concentration or 0.0 for s in segments], dtype=float
    )[segment]
    reach_rng = named_rng(seed, replication, "reachability")
    heterogeneous = (concentration > 0) & (reachability > 0) & (reachability < 1)
    if heterogeneous.any():
        # Draw for everyone (keeps alignment by prospect), keep where heterogeneous.
        a = np.where(heterogeneous, reachability * concentration, 1.0)
        b = np.where(heterogeneous, (1 - reachability) * concentration, 1.0)
        del concentration
        beta = reach_rng.beta(a, b)
        del a, b
        reachability = np.where(heterogeneous, beta, reachability)
        del beta
    del heterogeneous

    sigma = per_segment("callback_propensity_sigma")
    propensity = sigma * named_rng(seed, replication, "callback_propensity").standard_normal(n)
    propensity -= 0.5 * sigma**2
    del sigma
    np.exp(propensity, out=propensity)  # log-normal with mean 1

    world = World(
        seed=seed,
        replication=replication,
        draws=draws,
        segment=segment,
        bad_number=bad_number,
        reachability=reachability,
        p_pickup=per_segment("p_pickup"),
        p_voicemail_box=per_segment("p_voicemail_box"),
        p_right_party=per_segment("p_right_party"),
        callback_propensity=propensity,
        utc_offset_s=_time_zone_offsets_s(scenario, zone),
        time_zone=zone,
        voicemail_line=named_rng(seed, replication, "voicemail_box_line").random(n),
        habit_shift_h=np.rint(scenario.prospects.habit_spread_h * named_rng(
            seed, replication, "habit_shift").standard_normal(n)).astype(np.int16),
    )
    if scenario.channels.used():
        _channel_world(world, scenario, seed, replication, n)
    return world


def _channel_world(world: World, scenario: Scenario, seed: int, replication: int, n: int) -> None:
    """The other channels' per-prospect draws (each a stream of its own name) and the
    per-attempt table of their touches."""
    ch = scenario.channels
    world.channel_draws = DrawTable(scenario, seed, replication, CHANNEL_PURPOSES)
    email = named_rng(seed, replication, "email_address").random(n) < ch.email.share_reachable
    text = named_rng(seed, replication, "text_address").random(n) < ch.text.share_reachable
    world.channel_address = (email.astype(np.uint8) | (text.astype(np.uint8) << 1))
    world.second_number = (named_rng(seed, replication, "second_number").random(n)
                           < ch.second_number.share).astype(np.uint8)
    world.voicemail_line_2 = named_rng(seed, replication, "voicemail_box_line_2").random(n)


class DrawTable:
    """Per-(prospect, attempt) draws, made a block of prospects and one attempt at a time.

    Each (purpose, attempt) has its own stream (:func:`named_rng`); a stream draws
    prospects in order, so drawing the first ``k`` prospects, then the next ones,
    gives exactly the values one draw of the whole list gives. ``ensure(count,
    attempt)`` makes attempt ``attempt``'s draws of at least the first ``count``
    prospects (every attempt's when ``attempt`` is None): the draws of an attempt
    nobody reaches (the sixth, in a two-day campaign) are never made. The values sit
    in one array, attempt by attempt (all prospects' first attempts, then all second
    attempts, ...), with room for the attempts reached so far: reaching a new attempt
    grows it by one list-long slab (copying only the draws made), the system commits
    memory as draws are written (untouched pages cost nothing), and the dialler, which
    mostly takes prospects in list order, reads it in order. ``flat()`` is that array
    as one contiguous float32 vector, row (p, a) starting at ``(a * count + p) *
    width`` (it changes when the array grows); ``drawn_by_attempt[a]`` prospects have
    attempt ``a``'s draws.
    """

    BLOCK = 4096  # prospects drawn at least at a time

    def __init__(self, scenario: Scenario, seed: int, replication: int,
                 purposes: tuple[str, ...] = ATTEMPT_PURPOSES):
        self.count = scenario.prospects.count
        self.attempts = scenario.cadence.max_attempts
        self.width = len(purposes)
        self._array = np.empty((0, self.count, self.width), dtype=np.float32)
        self.drawn_by_attempt = np.zeros(self.attempts, dtype=np.intp)
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
            "email_reply_delay_s": scenario.channels.email.reply_delay_h,  # hours
            "text_reply_delay_s": scenario.channels.text.reply_delay_h,  # hours
        }
        hours = ("callback_delay_s", "email_reply_delay_s", "text_reply_delay_s")
        # per column: (column, name, distribution or None for a uniform, scale); an
        # attempt's generators are made when it is first reached (keyed by name and
        # attempt, so making them later gives the same values)
        self._columns = [(col, name, dists.get(name), 3600.0 if name in hours else 1.0)
                         for col, name in enumerate(purposes)]
        self._seed, self._replication = seed, replication
        self._streams: list[list | None] = [None] * self.attempts

    def _streams_of(self, attempt: int) -> list:
        """Attempt ``attempt``'s (column, distribution, scale, generator) per column."""
        streams = self._streams[attempt]
        if streams is None:
            streams = self._streams[attempt] = [
                (col, dist, scale, named_rng(self._seed, self._replication, name, attempt))
                for col, name, dist, scale in self._columns]
        return streams

    @property
    def drawn(self) -> int:
        """Prospects whose draws are made for every attempt."""
        return int(self.drawn_by_attempt.min()) if self.attempts else 0

    def _room_for(self, attempts: int) -> np.ndarray:
        """The array with a slab for each of the first ``attempts`` attempts (np.empty:
        the system commits pages as they are written; only draws made are copied)."""
        if self._array.shape[0] < attempts:
            grown = np.empty((attempts, self.count, self.width), dtype=np.float32)
            for a in range(self._array.shape[0]):
                done = int(self.drawn_by_attempt[a])
                grown[a, :done] = self._array[a, :done]
            self._array = grown
        return self._array

    def ensure(self, count: int, attempt: int | None = None) -> None:
        """Make attempt ``attempt``'s draws (every attempt's if None) of the first
        ``count`` prospects, at least (a block at a time)."""
        count = min(count, self.count)
        array = self._room_for(self.attempts if attempt is None else attempt + 1)
        for a in range(self.attempts) if attempt is None else (attempt,):
            done = int(self.drawn_by_attempt[a])
            if count <= done:
                continue
            new = min(self.count, max(count, done + self.BLOCK))
            for col, dist, scale, rng in self._streams_of(a):
                size = new - done
                values = rng.random(size) if dist is None else dist.sample(rng, size)
                if scale != 1.0:  # (hours to seconds; times 1.0 would only copy)
                    values = values * scale
                array[a, done:new, col] = values
            self.drawn_by_attempt[a] = new

    def flat(self) -> memoryview:
        """The table as one contiguous float32 vector (a memoryview: its items read as
        Python floats, the exact doubles the compiled kernel sees); only rows made by
        :meth:`ensure` hold draws. Taken again after an ``ensure`` that reached a new
        attempt (the array grows then)."""
        return memoryview(self._array.reshape(-1))

    def upto(self, count: int | None = None) -> np.ndarray:
        """The (prospects, attempts, purposes) array of the first ``count`` prospects
        (default: the whole list), making what is missing."""
        count = self.count if count is None else min(count, self.count)
        self.ensure(count)
        return self._array[:, :count].transpose(1, 0, 2)

    @property
    def nbytes(self) -> int:
        """Bytes of draws made (the reserved rest costs no memory until written)."""
        row = self.width * np.dtype(np.float32).itemsize
        return int(self.drawn_by_attempt.sum()) * row


def _time_zones(scenario: Scenario, seed: int, replication: int, n: int) -> np.ndarray:
    """Each prospect's time zone (index into ``prospects.time_zones``), drawn by weight."""
    zones = scenario.prospects.time_zones
    if len(zones) == 1:
        return np.zeros(n, dtype=np.int16)
    weights = np.array([z.weight for z in zones], dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    index = np.searchsorted(cumulative, named_rng(seed, replication, "time_zone").random(n), side="right")
    return np.minimum(index, len(zones) - 1).astype(np.int16)


def _time_zone_offsets_s(scenario: Scenario, zone: np.ndarray) -> np.ndarray:
    """Each prospect's clock minus the team's, seconds."""
    offsets = np.array([z.utc_offset_h * 3600.0 for z in scenario.prospects.time_zones])
    return offsets[zone]


def spam_label_draws(seed: int, replication: int, days: int, n_numbers: int) -> np.ndarray:
    """Uniforms (days, numbers) deciding spam labels; one stream per day, numbers in order."""
    return np.stack([named_rng(seed, replication, "spam_label", day).random(n_numbers)
                     for day in range(days)]) if n_numbers else np.empty((days, 0))
