"""The kernel: every rule of a campaign, written once, for every dialer mode.

:class:`Kernel` holds a campaign's state in typed arrays (per prospect, per rep, per
hour) and has one method per step of a dial: ``next_prospect``, ``start_attempt``,
``plan_line`` (what the prospect's phone does), ``rep_handling`` (what that costs the
rep), ``account`` (rep time, overtime), ``apply`` (counters and the prospect's history:
screening, messages heard, callbacks, opt-outs), ``requeue`` (back on the list), plus
callbacks and return calls. The simpy processes below compose these steps: the power
dialer (one line, one timeout per dial), the parallel and predictive dialers (a batch
of lines, the first live answer bridged), idling, inbound callbacks and return calls.
Each rule exists here and nowhere else; docs/model.md writes every one out.

This file is plain Python that Cython compiles as it is ("pure Python mode"): the
annotations are C types when compiled and mere comments when interpreted. ``setup.py``
builds ``sim.model._kernel_compiled`` from it at install time; which of the two runs
is chosen by the caller (:mod:`sim.experiment.engine`), never by the model. Both give
the same numbers, value for value (tests/test_golden.py runs both).

Written for exactness as well as speed:

- Python's float ``//`` and ``%`` are not C's ``floor(a / b)`` and ``fmod``: compiled
  code uses :func:`_floordiv` and :func:`_mod`, which give Python's results;
- draws are float32 values read one by one (a float32 widens to the same double in C
  and Python); no expression adds two float32 values (C would add them in single
  precision);
- no state is shared between reps through the scratch fields (``resolve_s`` and the
  like) across a ``yield``: a process reads them into locals at once.
"""


import math
from array import array

import cython
import simpy

if cython.compiled:  # C's floor and exp: math.floor would be a Python call returning an int
    from cython.cimports.libc.math import NAN, exp, floor, ldexp, log, log2, pow
else:  # for a base >= 0, math.pow is C's pow, as Python's ** is
    from math import exp, floor, ldexp, log, log2, pow, nan as NAN

from sim.model import codes
from sim.model.streams import COL
from sim.model.strategies import SILENT as _SILENT_MESSAGE
from sim.model.streams import N_PURPOSES as _N_PURPOSES
from sim.model.streams import CHANNEL_COL
from sim.model.streams import N_CHANNEL_PURPOSES as _N_CH_PURPOSES

DAY_S = cython.declare(cython.double, codes.DAY_S)
INF = cython.declare(cython.double, float("inf"))
SILENT = cython.declare(cython.int, _SILENT_MESSAGE)  # a silent hang-up, no message

ACTIVE = cython.declare(cython.int, codes.ACTIVE)
REACHED = cython.declare(cython.int, codes.REACHED)
OPTED_OUT = cython.declare(cython.int, codes.OPTED_OUT)
BAD_NUMBER = cython.declare(cython.int, codes.BAD_NUMBER)
EXHAUSTED = cython.declare(cython.int, codes.EXHAUSTED)
OFF = cython.declare(cython.int, codes.OFF)
IDLE = cython.declare(cython.int, codes.IDLE)
DIALLING = cython.declare(cython.int, codes.DIALLING)
BUSY = cython.declare(cython.int, codes.BUSY)
T_DIALLING = cython.declare(cython.int, codes.T_DIALLING)
T_TALKING = cython.declare(cython.int, codes.T_TALKING)
T_VOICEMAIL = cython.declare(cython.int, codes.T_VOICEMAIL)
T_WRAPUP = cython.declare(cython.int, codes.T_WRAPUP)
T_IDLE = cython.declare(cython.int, codes.T_IDLE)
L_BAD = cython.declare(cython.int, codes.L_BAD)
L_HUMAN = cython.declare(cython.int, codes.L_HUMAN)
L_AMD_HANGUP = cython.declare(cython.int, codes.L_AMD_HANGUP)
L_MACHINE_TO_REP = cython.declare(cython.int, codes.L_MACHINE_TO_REP)
L_MACHINE_DETECTED = cython.declare(cython.int, codes.L_MACHINE_DETECTED)
L_NO_ANSWER = cython.declare(cython.int, codes.L_NO_ANSWER)
O_BAD = cython.declare(cython.int, codes.O_BAD)
O_CONNECT = cython.declare(cython.int, codes.O_CONNECT)
O_GATEKEEPER = cython.declare(cython.int, codes.O_GATEKEEPER)
O_ABANDONED = cython.declare(cython.int, codes.O_ABANDONED)
O_AMD_HANGUP = cython.declare(cython.int, codes.O_AMD_HANGUP)
O_VM_LEFT = cython.declare(cython.int, codes.O_VM_LEFT)
O_VM_SILENT = cython.declare(cython.int, codes.O_VM_SILENT)
O_NO_ANSWER = cython.declare(cython.int, codes.O_NO_ANSWER)
O_CANCELLED = cython.declare(cython.int, codes.O_CANCELLED)
N_BAD = cython.declare(cython.int, codes.N_BAD)
N_CONNECTS = cython.declare(cython.int, codes.N_CONNECTS)
N_GATEKEEPERS = cython.declare(cython.int, codes.N_GATEKEEPERS)
N_ABANDONED = cython.declare(cython.int, codes.N_ABANDONED)
N_AMD_HANGUPS = cython.declare(cython.int, codes.N_AMD_HANGUPS)
N_HEARD = cython.declare(cython.int, codes.N_HEARD)
N_SILENT = cython.declare(cython.int, codes.N_SILENT)
N_NO_ANSWER = cython.declare(cython.int, codes.N_NO_ANSWER)
N_CANCELLED = cython.declare(cython.int, codes.N_CANCELLED)
N_CB_RECEIVED = cython.declare(cython.int, codes.N_CB_RECEIVED)
N_INBOUND = cython.declare(cython.int, codes.N_INBOUND)
N_CB_MISSED = cython.declare(cython.int, codes.N_CB_MISSED)
N_CB_MESSAGES = cython.declare(cython.int, codes.N_CB_MESSAGES)
N_RETURN_CALLS = cython.declare(cython.int, codes.N_RETURN_CALLS)
N_RETURN_CONNECTS = cython.declare(cython.int, codes.N_RETURN_CONNECTS)
N_OPT_OUTS = cython.declare(cython.int, codes.N_OPT_OUTS)
N_CB_HELD = cython.declare(cython.int, codes.N_CB_HELD)
N_CB_AFTER = cython.declare(cython.int, codes.N_CB_AFTER)
N_RECORDED_DROPS = cython.declare(cython.int, codes.N_RECORDED_DROPS)
N_CONFUSED_INBOUND = cython.declare(cython.int, codes.N_CONFUSED_INBOUND)
N_CONFUSED_RETURN = cython.declare(cython.int, codes.N_CONFUSED_RETURN)
N_EMAILS = cython.declare(cython.int, codes.N_EMAILS)
N_TEXTS = cython.declare(cython.int, codes.N_TEXTS)
N_EMAIL_REPLIES = cython.declare(cython.int, codes.N_EMAIL_REPLIES)
N_TEXT_REPLIES = cython.declare(cython.int, codes.N_TEXT_REPLIES)
N_EMAIL_CONNECTS = cython.declare(cython.int, codes.N_EMAIL_CONNECTS)
N_TEXT_CONNECTS = cython.declare(cython.int, codes.N_TEXT_CONNECTS)
N_SECOND_DIALS = cython.declare(cython.int, codes.N_SECOND_DIALS)
N_SECOND_CONNECTS = cython.declare(cython.int, codes.N_SECOND_CONNECTS)
N_REPLY_CALLS = cython.declare(cython.int, codes.N_REPLY_CALLS)
CH_CALL = cython.declare(cython.int, codes.CH_CALL)
CH_EMAIL = cython.declare(cython.int, codes.CH_EMAIL)
CH_TEXT = cython.declare(cython.int, codes.CH_TEXT)
B_N = cython.declare(cython.Py_ssize_t, len(codes.BROKEN_DOWN))
B_DIALS = cython.declare(cython.Py_ssize_t, codes.B_DIALS)
B_OUTBOUND = cython.declare(cython.Py_ssize_t, codes.B_OUTBOUND)
B_INBOUND = cython.declare(cython.Py_ssize_t, codes.B_INBOUND)
B_RETURN = cython.declare(cython.Py_ssize_t, codes.B_RETURN)
B_VM_LEFT = cython.declare(cython.Py_ssize_t, codes.B_VM_LEFT)
B_OPT_OUTS = cython.declare(cython.Py_ssize_t, codes.B_OPT_OUTS)
B_CONFUSED_INBOUND = cython.declare(cython.Py_ssize_t, codes.B_CONFUSED_INBOUND)
B_CONFUSED_RETURN = cython.declare(cython.Py_ssize_t, codes.B_CONFUSED_RETURN)
OUTCOME_NAMES = codes.OUTCOME_NAMES

N_PURPOSES = cython.declare(cython.Py_ssize_t, _N_PURPOSES)
C_AVAILABLE = cython.declare(cython.Py_ssize_t, COL["available"])
C_PICKUP = cython.declare(cython.Py_ssize_t, COL["pickup"])
C_RING = cython.declare(cython.Py_ssize_t, COL["ring_delay_s"])
C_VMBOX = cython.declare(cython.Py_ssize_t, COL["voicemail_box"])
C_AMD = cython.declare(cython.Py_ssize_t, COL["amd_error"])
C_RIGHT = cython.declare(cython.Py_ssize_t, COL["right_party"])
C_TALK = cython.declare(cython.Py_ssize_t, COL["talk_s"])
C_WRAP = cython.declare(cython.Py_ssize_t, COL["wrap_s"])
C_GK = cython.declare(cython.Py_ssize_t, COL["gatekeeper_talk_s"])
C_LISTEN = cython.declare(cython.Py_ssize_t, COL["listen"])
C_CALLBACK = cython.declare(cython.Py_ssize_t, COL["callback"])
C_CB_DELAY = cython.declare(cython.Py_ssize_t, COL["callback_delay_s"])
C_CB_MSG = cython.declare(cython.Py_ssize_t, COL["callback_message"])
C_RET_ANSWER = cython.declare(cython.Py_ssize_t, COL["return_answer"])
C_RET_RING = cython.declare(cython.Py_ssize_t, COL["return_ring_delay_s"])
C_IN_TALK = cython.declare(cython.Py_ssize_t, COL["inbound_talk_s"])
C_OPT = cython.declare(cython.Py_ssize_t, COL["opt_out"])
C_RESEARCH = cython.declare(cython.Py_ssize_t, COL["research_s"])
C_SETUP = cython.declare(cython.Py_ssize_t, COL["connect_setup_s"])
C_FOLLOW = cython.declare(cython.Py_ssize_t, COL["follow_up"])
C_GENUINE = cython.declare(cython.Py_ssize_t, COL["genuine"])
# the other channels' table: touch k (0 email, 1 text) reads column k * 3 + these
N_CH_PURPOSES = cython.declare(cython.Py_ssize_t, _N_CH_PURPOSES)
CC_REPLY = cython.declare(cython.Py_ssize_t, CHANNEL_COL["email_reply"])
CC_REPLY_DELAY = cython.declare(cython.Py_ssize_t, CHANNEL_COL["email_reply_delay_s"])
CC_OPT = cython.declare(cython.Py_ssize_t, CHANNEL_COL["email_opt_out"])


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _floordiv(a: cython.double, b: cython.double) -> cython.double:
    """Python's ``a // b`` for ``b > 0`` and integer quotients below 2**52 (times here).

    C's ``floor(a / b)`` is that floor, except where ``a / b`` rounds up to an integer
    (it underflows to -0.0 for a tiny negative ``a``); then ``q * b`` (exact: an
    integer times b) is above ``a``: step back."""
    if cython.compiled:
        q: cython.double = floor(a / b)
        if q * b > a:
            q -= 1.0
        return q
    else:
        return a // b


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _mod(a: cython.double, b: cython.double) -> cython.double:
    """Python's ``a % b`` (same bounds): ``a - (a // b) * b``, one rounding of the exact
    remainder, as CPython's fmod-then-adjust gives, without the slow ``fmod``."""
    if cython.compiled:
        return a - _floordiv(a, b) * b
    else:
        return a % b


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _hour_of(t: cython.double) -> cython.Py_ssize_t:
    """``int(t // 3600.0)``: the hour index of time ``t``."""
    return cython.cast(cython.Py_ssize_t, _floordiv(t, 3600.0))


def float_ops(a: cython.double, b: cython.double) -> tuple:
    """(``a // b``, ``a % b``) as this module computes them (for tests/test_engine.py)."""
    return _floordiv(a, b), _mod(a, b)


class Inbound:
    """Interrupt cause: an inbound callback from prospect ``p`` (origin attempt ``a``);
    ``ch``: what brought it (codes.CH_CALL a call, CH_EMAIL or CH_TEXT a reply)."""

    __slots__ = ("p", "a", "ch")

    def __init__(self, p, a, ch=0):
        self.p, self.a, self.ch = p, a, ch


RESCAN = "rescan"  # interrupt cause: an idle rep should look at the list again


class _HoldEnds:
    """A simpy event callback: a caller on hold gives up (if no rep took the call)."""

    __slots__ = ("kernel", "held")

    def __init__(self, kernel, held):
        self.kernel, self.held = kernel, held

    def __call__(self, event):
        self.kernel.hold_ended(self.held, event.env.now)


class _Arrival:
    """A simpy event callback: prospect ``p`` calls back now (``ch``: see Inbound)."""

    __slots__ = ("kernel", "p", "a", "ch")

    def __init__(self, kernel, p, a, ch=0):
        self.kernel, self.p, self.a, self.ch = kernel, p, a, ch

    def __call__(self, event):
        self.kernel.inbound_arrives(self.p, self.a, self.ch)


class _TouchDue:
    """A simpy event callback: the email (``ch`` 0) or text (1) placed after prospect
    ``p``'s attempt ``a`` goes out now."""

    __slots__ = ("kernel", "p", "a", "ch")

    def __init__(self, kernel, p, a, ch):
        self.kernel, self.p, self.a, self.ch = kernel, p, a, ch

    def __call__(self, event):
        self.kernel.touch_sent(self.p, self.a, self.ch)


# ---------------------------------------------------------------------- pacing
@cython.ccall
def expected_abandon_rate(q: cython.double, level: cython.double) -> cython.double:
    """Abandoned / live answers when ``level`` lines each reach a person with prob ``q``
    and every person after the first in a batch is abandoned."""
    if q <= 0 or level <= 1:
        return 0.0
    return max(0.0, 1.0 - (1.0 - pow(1.0 - q, level)) / (level * q))  # >= 0 despite rounding


BISECTION_STEPS = cython.declare(cython.int, 40)
LATTICE_MAX_LEVEL = cython.declare(cython.double, 4096.0)  # 12 + 40 bits: exact in a double
ROUNDING_SAFETY = cython.declare(cython.double, 8.0)


@cython.ccall
def level_for_abandon_rate(q: cython.double, target: cython.double, low: cython.double,
                           high: cython.double, guess: cython.double = NAN) -> cython.double:
    """The level in [low, high] whose expected abandon rate is ``target``: 40 steps of
    bisection, each keeping the half where ``expected_abandon_rate(q, mid) < target``
    (:func:`bisect_level` is that rule written plainly), steered by the root.

    Newton's method from ``guess`` (the last level) finds the root of the rate's
    equation within rounding. A step of the bisection (or its check of the two ends)
    whose point lies clearly to one side of the root (by a margin many times the
    rounding error of the rate, over its slope) is decided by that comparison; a
    point near the root evaluates the rule itself, as bisection always would. With
    whole-number ends the steps that only compare are skipped at once: bisection's
    first points are then multiples of a power-of-two fraction of the range, exact in
    a double. The same bits as the plain bisection (tested on a million random
    inputs), for a few exponentials instead of 40 steps; a root that cannot be found
    falls back to :func:`bisect_level`."""
    if not (q > 0):
        return high
    if not (q < 1.0 and target > 0 and low >= 1.0):
        # every line reaches a person, a zero target, or ends below one line (where the
        # rate is 0 by definition): no smooth root to steer by
        return bisect_level(q, target, low, high)
    # g(n) = (1 - b^n) - (1 - target) n q, b = 1 - q as the rule rounds it: > 0 where
    # the rate is under the target; concave
    log_base: cython.double = log(1.0 - q)
    slope: cython.double = (1.0 - target) * q
    n: cython.double = guess if low < guess < high else 0.5 * (low + high)
    lo: cython.double = low
    hi: cython.double = high
    power: cython.double = 0.0
    delta: cython.double = INF
    gap: cython.double
    i: cython.int
    error: cython.double = INF  # bound on |n - root| after the last step
    g_slope: cython.double
    for i in range(50):
        power = exp(n * log_base)
        gap = (1.0 - power) - slope * n
        g_slope = -power * log_base - slope
        if not (g_slope < 0 or g_slope > 0):  # flat (or not a number): no Newton step
            return bisect_level(q, target, low, high)
        delta = gap / g_slope
        if gap > 0:  # keep a bracket: the root is above n
            lo = n
        else:
            hi = n
        n -= delta
        # Newton's error after this step: about |g'' / 2 g'| delta^2 (doubled, for safety)
        error = abs(power * log_base * log_base / g_slope) * delta * delta
        if not (lo < n < hi):
            n = 0.5 * (lo + hi)  # Newton left the bracket: bisect it
        elif error < 1e-13 * n and abs(delta) < 1e-3 * n:
            break  # within rounding of the root
    else:
        return bisect_level(q, target, low, high)
    # the rate's slope at the root, and how far from it a rounding error can flip the rule
    rate_slope: cython.double = ((1.0 - power) + n * power * log_base) / (n * n * q)
    rounding: cython.double = 8e-16 * (1.0 / (n * q) + 2.0)
    margin: cython.double = ROUNDING_SAFETY * rounding / rate_slope + 4.0 * error + 1e-13 * n
    if not (rate_slope > 0 and margin < 0.01 * n and low + margin < n < high - margin):
        return bisect_level(q, target, low, high)  # (near an end, or no clean root)
    # here rate(high) > target and rate(low) < target: bisection's own checks pass
    mid: cython.double
    below: cython.bint
    steps: cython.int = BISECTION_STEPS
    width: cython.double
    skip: cython.int
    if floor(low) == low and floor(high) == high and 0 <= low and high <= LATTICE_MAX_LEVEL:
        skip = cython.cast(cython.int, floor(log2((high - low) / (64.0 * margin))))
        skip = min(max(skip, 0), BISECTION_STEPS)
        width = ldexp(high - low, -skip)
        if floor((n - 2.0 * margin - low) / width) == floor((n + 2.0 * margin - low) / width):
            low = low + floor((n - low) / width) * width
            high = low + width
            steps = BISECTION_STEPS - skip
    for i in range(steps):
        mid = 0.5 * (low + high)
        below = mid < n
        if n - margin <= mid <= n + margin:  # near the root: the rule itself decides
            below = expected_abandon_rate(q, mid) < target
        # (conditional moves, not branches: which half is kept is a coin toss)
        low = mid if below else low
        high = high if below else mid
    return low


@cython.ccall
def bisect_level(q: cython.double, target: cython.double, low: cython.double,
                 high: cython.double) -> cython.double:
    """The pacing rule written plainly: 40 steps of bisection in [low, high], each
    keeping the half where ``expected_abandon_rate(q, mid) < target``. The reference
    :func:`level_for_abandon_rate` reproduces, and its fallback."""
    if not (q > 0) or expected_abandon_rate(q, high) <= target:
        return high
    if expected_abandon_rate(q, low) >= target:
        return low
    mid: cython.double
    i: cython.int
    for i in range(BISECTION_STEPS):
        mid = 0.5 * (low + high)
        if expected_abandon_rate(q, mid) < target:
            low = mid
        else:
            high = mid
    return low


@cython.final
@cython.cclass
class Pacer:
    """How many lines each batch dials (docs/model.md, "Pacing").

    - power: one line, always; parallel: a fixed level (a fractional level such as
      2.4 alternates 2 and 3 lines, error diffusion per rep, so the long-run average
      is exactly 2.4; no random stream is consumed);
    - predictive (``adapts``): the team's level adapts to hold the abandon rate at the
      target. Predict: ``q``, the chance a line dialled now reaches a person, is
      estimated as live answers per line over roughly the last ``answer_window_lines``
      lines (exponentially weighted, capped at 1); in a batch of ``n`` lines the first
      person is bridged and any other abandoned, so the expected abandon rate is
      ``1 - (1 - (1 - q)^n) / (n q)``; the level is the ``n`` that makes it equal the
      working target. Correct: the working target is the target times ``trim``, and
      ``trim *= exp(gain * (target - observed) / target)`` per live answer, ``observed``
      over the last ``window_live_answers`` live answers, bounded to 0.25-4.
    """

    adapts: cython.bint
    target: cython.double
    warmup: cython.Py_ssize_t
    min_level: cython.double
    max_level: cython.double
    gain: cython.double
    decay: cython.double
    decay_power: cython.double[::1]  # decay ** k for k = 0 .. max lines (the same pow)
    lines_weighted: cython.double  # exponentially weighted lines dialled
    live_weighted: cython.double  # exponentially weighted live answers
    window: cython.int[::1]  # the last live answers, 1 = abandoned (a ring)
    window_size: cython.Py_ssize_t
    window_count: cython.Py_ssize_t
    window_next: cython.Py_ssize_t
    abandoned_in_window: cython.Py_ssize_t
    answers_seen: cython.Py_ssize_t
    carry: cython.double[::1]  # per rep: the dithering carry
    # hold each day too: today's live answers and abandons (reset by new_day)
    hold_per_day: cython.bint
    day_target: cython.double
    live_today: cython.Py_ssize_t
    abandoned_today: cython.Py_ssize_t
    level = cython.declare(cython.double, visibility="readonly")
    trim = cython.declare(cython.double, visibility="readonly")

    def __init__(self, level: float, reps: int, adapts: bool = False,
                 target_abandon_rate: float = 0.03, window_live_answers: int = 200,
                 warmup_live_answers: int = 30, min_level: float = 1.0,
                 max_level: float = 1.0, gain: float = 0.01, answer_window_lines: int = 1000,
                 hold_per_day: bool = False):
        self.level = level
        self.adapts = adapts
        self.target = target_abandon_rate
        self.warmup = warmup_live_answers
        self.min_level, self.max_level = min_level, max_level
        self.gain = gain
        self.trim = 1.0  # working target = target x trim
        self.decay = 1.0 - 1.0 / answer_window_lines
        self.decay_power = array("d", [self.decay ** k for k in range(int(max_level) + 2)])
        self.lines_weighted = self.live_weighted = 0.0
        self.window = array("i", [0]) * window_live_answers
        self.window_size = window_live_answers
        self.window_count = self.window_next = self.abandoned_in_window = 0
        self.answers_seen = 0
        self.carry = array("d", [0.0]) * reps
        self.hold_per_day = hold_per_day
        self.day_target = target_abandon_rate
        self.live_today = self.abandoned_today = 0

    @cython.ccall
    def answer_rate(self) -> cython.double:
        """Estimated P(a line is answered by a person): a probability, at most 1 (AMD
        hang-ups count as live answers of lines already discounted)."""
        if not self.lines_weighted:
            return NAN
        return min(1.0, self.live_weighted / self.lines_weighted)

    @cython.ccall
    def rolling_rate(self) -> cython.double:
        """Abandoned share of the last ``window_live_answers`` live answers."""
        if not self.window_count:
            return NAN
        return self.abandoned_in_window / cython.cast(cython.double, self.window_count)

    @cython.ccall
    def lines_for(self, r: cython.Py_ssize_t) -> cython.Py_ssize_t:
        """Rep ``r``'s next batch: the level, dithered to whole lines (at least one)."""
        self.carry[r] += self.level
        n: cython.double = floor(self.carry[r] + 1e-12)
        self.carry[r] -= n
        return max(1, cython.cast(cython.Py_ssize_t, n))

    @cython.ccall
    def dialled(self, lines: cython.Py_ssize_t):
        """A batch of ``lines`` lines was dialled."""
        if not self.adapts:
            return
        weight: cython.double = self.decay_power[lines]  # decay ** lines
        self.lines_weighted = self.lines_weighted * weight + lines
        self.live_weighted *= weight

    @cython.ccall
    def record(self, abandoned: cython.bint):
        """One live answer: bridged (False) or abandoned (True); trims the working target."""
        if not self.adapts:
            return
        self.live_weighted += 1.0
        self.answers_seen += 1
        if self.window_count == self.window_size:
            self.abandoned_in_window -= self.window[self.window_next]
        else:
            self.window_count += 1
        self.live_today += 1
        self.abandoned_today += 1 if abandoned else 0
        self.window[self.window_next] = 1 if abandoned else 0
        self.window_next = (self.window_next + 1) % self.window_size
        self.abandoned_in_window += 1 if abandoned else 0
        error: cython.double
        if self.answers_seen >= self.warmup and self.target > 0:
            error = (self.target - self.rolling_rate()) / self.target
            self.trim = min(4.0, max(0.25, self.trim * exp(self.gain * error)))

    @cython.ccall
    def new_day(self):
        """A new campaign day: today's counts start again."""
        self.live_today = self.abandoned_today = 0

    @cython.ccall
    def day_at_target(self) -> cython.bint:
        """Holding each day: today's abandons have reached the target share of today's
        live answers, counted as at least ``window_live_answers`` (a day's first few
        answers are too few to judge a share by: one abandon among ten is not a 10%
        day). Then batches dial one line, which cannot abandon a person."""
        return self.hold_per_day and self.abandoned_today > 0 and (
            self.abandoned_today >= self.day_target * max(self.live_today, self.window_size))

    @cython.ccall
    def adjust(self):
        """Set the level for the next batch; call once per batch."""
        if not self.adapts or self.answers_seen < self.warmup or not self.lines_weighted:
            return
        self.level = level_for_abandon_rate(self.answer_rate(), self.target * self.trim,
                                            self.min_level, self.max_level, self.level)


def make_pacer(scenario) -> Pacer:
    """The pacer a scenario's dialer settings describe."""
    dialer, reps, lines = scenario.dialer, scenario.team.reps, scenario.team.lines_per_rep
    mode = dialer.resolved_mode(lines)
    if mode == "power":
        return Pacer(1.0, reps)
    if mode == "parallel":
        return Pacer(dialer.resolved_level(lines), reps)
    p = dialer.predictive
    return Pacer(min(p.initial_level, lines), reps, adapts=True,
                 target_abandon_rate=p.target_abandon_rate * (1.0 - p.margin),
                 window_live_answers=p.window_live_answers,
                 warmup_live_answers=p.warmup_live_answers, min_level=p.min_level,
                 max_level=float(lines), gain=p.gain, answer_window_lines=p.answer_window_lines,
                 hold_per_day=p.hold_per_day)


# ---------------------------------------------------------------------- caller ID
FIXED = cython.declare(cython.int, 0)
ROUND_ROBIN = cython.declare(cython.int, 1)
LEAST_USED = cython.declare(cython.int, 2)
_ROTATIONS = {"fixed": 0, "round_robin": 1, "least_used": 2}


@cython.final
@cython.cclass
class CallerIdNumbers:
    """Caller-ID numbers: which number each dial shows, and when a number gets a spam
    label (docs/model.md, "Caller-ID numbers and reputation").

    - the team dials from a pool: ``pool = "per_rep"`` gives every rep its own
      ``numbers_per_pool`` numbers, ``"team"`` one shared pool of ``numbers_per_pool``;
    - ``rotation``: ``fixed`` (a rep always shows the same number: its first, or in a
      team pool number ``rep mod pool size``), ``round_robin`` (each dial takes the
      next number of the pool), ``least_used`` (the pool's number with the fewest
      dials today; ties to the lowest index);
    - a dial that ends without a conversation (no answer, voicemail with no message,
      abandoned, AMD hang-up, bad number, cancelled; a voicemail message left counts
      too unless ``voicemail_left_is_completed``) is a **short call** for its number;
    - at the end of each day an unlabelled number with ``S`` short calls that day is
      labelled "spam likely" with probability ``1 - exp(-hazard_per_short_call x
      max(0, S - free_short_calls_per_day))``; a label lasts ``label_days`` days
      (null: for good). A labelled number multiplies pick-up by
      ``labelled_pickup_mult``; ``local_presence_pickup_mult`` multiplies it on
      every dial. Label draws come from their own stream, one uniform per (day, number).
    """

    per_rep: cython.bint
    pool_size: cython.Py_ssize_t
    rotation: cython.int
    cursor: cython.int[::1]  # round robin: per rep, or shared at index 0
    dials: cython.int[::1]  # today's dials per number
    short: cython.int[::1]  # today's short calls per number
    labelled_until_day: cython.longlong[::1]  # labelled while day < this
    labelled: cython.int[::1]  # 1 while labelled today
    base_mult: cython.double
    labelled_mult: cython.double
    config: object
    label_draws: object
    n_numbers = cython.declare(cython.Py_ssize_t, visibility="readonly")
    today = cython.declare(cython.Py_ssize_t, visibility="readonly")
    timeline = cython.declare(dict, visibility="readonly")
    numbers_ever_labelled = cython.declare(set, visibility="readonly")

    def __init__(self, config, reps: int, days: int, label_draws):
        self.config = config
        size: cython.Py_ssize_t = config.numbers_per_pool
        self.per_rep = config.pool == "per_rep"
        self.n_numbers = size * reps if self.per_rep else size
        self.pool_size = size
        self.rotation = _ROTATIONS[config.rotation]
        self.label_draws = label_draws  # (days, n_numbers) uniforms
        self.cursor = array("i", [0]) * reps
        self.dials = array("i", [0]) * self.n_numbers
        self.short = array("i", [0]) * self.n_numbers
        self.labelled_until_day = array("q", [-1]) * self.n_numbers
        self.labelled = array("i", [0]) * self.n_numbers
        self.timeline = {"day": [], "number": [], "dials": [], "short_calls": [],
                         "labelled": [], "labelled_today": []}
        self.today = 0
        self.base_mult = config.local_presence_pickup_mult
        self.labelled_mult = config.labelled_pickup_mult * config.local_presence_pickup_mult
        self.numbers_ever_labelled = set()

    @cython.ccall
    def number_for(self, rep: cython.Py_ssize_t) -> cython.Py_ssize_t:
        """The number the next dial of ``rep`` shows."""
        first: cython.Py_ssize_t = rep * self.pool_size if self.per_rep else 0
        if self.rotation == FIXED:
            return first if self.per_rep else rep % self.pool_size
        if self.rotation == ROUND_ROBIN:
            cursor: cython.Py_ssize_t = rep if self.per_rep else 0
            i: cython.Py_ssize_t = self.cursor[cursor]
            self.cursor[cursor] = (i + 1) % self.pool_size
            return first + i
        best: cython.Py_ssize_t = first
        n: cython.Py_ssize_t
        for n in range(first + 1, first + self.pool_size):
            if self.dials[n] < self.dials[best]:
                best = n
        return best

    @cython.ccall
    def pickup_mult(self, number: cython.Py_ssize_t) -> cython.double:
        """Pick-up multiplier of a dial showing ``number`` today."""
        return self.labelled_mult if self.labelled[number] else self.base_mult

    @cython.ccall
    def is_labelled(self, number: cython.Py_ssize_t) -> cython.bint:
        return self.labelled[number] != 0

    @cython.ccall
    def record(self, number: cython.Py_ssize_t, short: cython.bint):
        """A dial showing ``number`` ended; ``short``: without a conversation."""
        self.dials[number] += 1
        if short:
            self.short[number] += 1

    def end_of_day(self, day: int) -> None:
        """Record the day, draw new labels, reset the counts; the next day is ``day + 1``."""
        cfg = self.config
        draws = self.label_draws[day]
        tl = self.timeline
        for n in range(self.n_numbers):
            labelled_now = self.today < self.labelled_until_day[n]
            newly = False
            if not labelled_now:
                excess = max(0, self.short[n] - cfg.free_short_calls_per_day)
                p_label = 1.0 - math.exp(-cfg.hazard_per_short_call * excess)
                if excess and draws[n] < p_label:
                    newly = True
                    self.numbers_ever_labelled.add(n)
                    self.labelled_until_day[n] = (
                        10**9 if cfg.label_days is None else day + 1 + cfg.label_days
                    )
            tl["day"].append(day)
            tl["number"].append(n)
            tl["dials"].append(self.dials[n])
            tl["short_calls"].append(self.short[n])
            tl["labelled"].append(labelled_now)
            tl["labelled_today"].append(newly)
            self.dials[n] = 0
            self.short[n] = 0
        self.today = day + 1
        for n in range(self.n_numbers):
            self.labelled[n] = 1 if self.today < self.labelled_until_day[n] else 0


@cython.final
@cython.cclass
class Kernel:
    """A campaign's state and rules. Built by :class:`sim.model.campaign.Campaign`,
    which owns the arrays (the kernel holds typed views of them) and the simpy world."""

    # the simpy world and the Python-side collaborators
    env: object
    table: object  # the replication's DrawTable (grows as prospects are dialled)
    procs: list
    idle_wake: dict  # rep -> time an idle rep wakes on its own (in the order reps idled)
    idle_wake_bound: cython.double  # >= the wake of every idle rep
    return_queues: list
    call_log: object
    pacer: Pacer
    pacing_adapts: cython.bint
    pacer_day: cython.Py_ssize_t  # the day the pacer's daily counts are for
    numbers: CallerIdNumbers  # None unless the scenario models caller-ID numbers
    cid_on: cython.bint
    screen_by_number: object  # dict (prospect, number) -> multiplier, or None
    voicemail_left_is_completed: cython.bint
    any_rep: cython.bint
    # rep groups (offices, shifts): rep r is in group rep_group[r]; group g's reps are
    # group_rep_first[g] .. group_rep_first[g + 1] - 1 and its work windows are
    # windows[2 * i], windows[2 * i + 1] for i in window_first[g] .. window_first[g + 1] - 1
    n_groups: cython.Py_ssize_t
    grouped: cython.bint  # more than one group (else the totals are the group's figures)
    group_routing: cython.bint  # callbacks ring the own rep, then free reps of its group
    rep_group: cython.int[::1]
    group_rep_first: cython.int[::1]
    window_first: cython.int[::1]
    rep_lines: cython.int[::1]  # lines each rep's dialer has (its group's, else lines_per_rep)
    group_paid_per_day_s: cython.double[::1]
    by_group: cython.longlong[::1]  # group * B_N + counter (codes.BROKEN_DOWN)
    idle_by_group_s: cython.double[::1]
    overtime_by_group_s: cython.double[::1]
    # per prospect (small counts as int16: attempts <= 100, days <= 3650, reps <= 10,000)
    n: cython.Py_ssize_t
    status: cython.short[::1]
    bad: cython.const[cython.uchar][::1]
    attempts: cython.short[::1]
    vm_encounters: cython.short[::1]
    touches: cython.short[::1]
    owner: cython.short[::1]
    day_of_last: cython.short[::1]
    attempts_today: cython.short[::1]
    reached_at_attempt: cython.short[::1]
    heard: cython.short[::1]
    number_of: cython.int[::1]
    pickup: cython.double[::1]
    reach: cython.const[cython.double][::1]
    vm_box: cython.const[cython.double][::1]
    right_party: cython.const[cython.double][::1]
    propensity: cython.const[cython.double][::1]
    offset: cython.const[cython.double][::1]
    voicemail_line: cython.const[cython.double][::1]
    vm_box_per_line: cython.bint
    segment: cython.const[cython.short][::1]
    zone: cython.const[cython.short][::1]
    by_segment: cython.longlong[::1]  # segment * B_N + counter (codes.BROKEN_DOWN)
    by_zone: cython.longlong[::1]  # time zone * B_N + counter
    # several time zones: (zone * 24 + the prospect's local hour) * 2 + 0 dials, 1 connects
    zones_vary: cython.bint
    by_local_hour: cython.longlong[::1]
    tallies: cython.bint  # more than one segment or zone (else the totals are the breakdown)
    habit_shift_h: cython.const[cython.short][::1]
    habits: cython.bint
    # draws: row (p, a) starts at (a * n + p) * N_PURPOSES; made for the prospects
    # below drawn_by_attempt[a] (the table's own array: it updates it as it draws)
    draws: cython.float[::1]
    drawn_by_attempt: cython.Py_ssize_t[::1]
    n_att: cython.Py_ssize_t
    # the retry list: a sorted run (ring buffer) and a binary heap of (time, prospect)
    # (both grow as needed, doubling: memory follows the prospects waiting, not the list)
    run_times: cython.double[::1]
    run_prospects: cython.int[::1]
    run_first: cython.Py_ssize_t
    run_size: cython.Py_ssize_t
    run_capacity: cython.Py_ssize_t
    heap_times: cython.double[::1]
    heap_prospects: cython.int[::1]
    heap_size: cython.Py_ssize_t
    heap_capacity: cython.Py_ssize_t
    next_fresh: cython.Py_ssize_t
    # per rep
    reps: cython.Py_ssize_t
    lines: cython.Py_ssize_t
    power: cython.bint
    rep_state: cython.int[::1]
    ring_end: cython.double[::1]
    window_end: cython.double[::1]  # the end of the work window each rep is in (or last was)
    # a batch of lines (parallel and predictive): rep r's slots are r*lines .. +lines-1
    batch_p: cython.int[::1]
    batch_a: cython.int[::1]
    batch_kind: cython.int[::1]
    batch_order: cython.int[::1]
    batch_t: cython.double[::1]
    batch_resolve_s: cython.double[::1]
    # per hour and totals
    counts: cython.longlong[::1]
    time_s: cython.double[::1]
    overtime_s: cython.double
    dials_by_hour: cython.longlong[::1]
    connects_by_hour: cython.longlong[::1]
    vm_left_by_hour: cython.longlong[::1]
    abandoned_by_hour: cython.longlong[::1]
    amd_hangups_by_hour: cython.longlong[::1]
    live_by_hour: cython.longlong[::1]
    level_sum_by_hour: cython.double[::1]
    batches_by_hour: cython.longlong[::1]
    # calendar: ``days`` working days at calendar days ``work_day``
    days: cython.Py_ssize_t
    calendar_days: cython.Py_ssize_t
    work_day: cython.double[::1]
    work_days_before: cython.double[::1]  # per calendar day: working days before it
    weekday_mult: cython.double[::1]  # prospects' availability by weekday, mon..sun
    weekday_varies: cython.bint
    first_weekday: cython.Py_ssize_t
    windows: cython.double[::1]  # (start, end) seconds after midnight, flattened
    n_windows: cython.Py_ssize_t
    paid_per_day_s: cython.double
    end_s: cython.double
    hourly: cython.double[::1]
    cw_start: cython.double
    cw_end: cython.double
    always_in_window: cython.bint
    # the strategy and the scenario's parameters
    policy_table: cython.int[::1]
    n_messages: cython.Py_ssize_t
    max_attempts: cython.Py_ssize_t
    max_per_day: cython.Py_ssize_t
    min_gap_s: cython.double
    retry_hour_step: cython.Py_ssize_t
    embargo_after_abandon_s: cython.double
    retries_first: cython.bint
    count_amd_as_abandon: cython.bint
    bad_number_s: cython.double
    ring_timeout_s: cython.double
    vm_recognise_s: cython.double
    amd_on: cython.bint
    amd_delay_s: cython.double
    amd_false_machine: cython.double
    amd_false_human: cython.double
    live_drop: cython.bint[::1]  # per segment: the strategy speaks its messages live
    beep_wait_s: cython.double
    message_length_s: cython.double[::1]  # per segment
    callback_mult: cython.double[::1]  # per message: its callback multiplier
    # per message: the share of its callbacks from interest (the rest are confused or
    # annoyed callers); with any share under 1, the message left at each (p, attempt)
    genuine_on: cython.bint
    genuine_share: cython.double[::1]
    message_at: cython.schar[::1]
    recorded_drop_s: cython.double  # line time of the recorded drops
    p_listen: cython.double
    p_callback: cython.double
    repeat_message_mult: cython.double
    p_callback_missed_call: cython.double
    p_message_on_missed_callback: cython.double
    return_call_answer_prob: cython.double
    return_call_half_life_h: cython.double
    silent_miss_mult: cython.double
    miss_mult: cython.double[::1]  # by outcome code: a silent miss of that kind
    unheard_mult: cython.double
    heard_mult: cython.double
    fading: cython.bint  # screening fades with a half-life (else it is permanent)
    half_life_s: cython.double
    screen_mult: cython.double[::1]  # fading: each prospect's multiplier, as set at screen_t
    screen_t: cython.double[::1]
    # callbacks waiting for a free rep: (deadline, prospect, attempt)
    hold_s: cython.double
    on_hold: list
    p_opt_out_connect: cython.double
    p_opt_out_heard: cython.double
    opt_out_growth: cython.double
    p_follow_up: cython.double
    # the other channels (docs/model.md, "Other channels"); off: one bool test per dial
    channels_on: cython.bint  # touches or second numbers
    touches_on: cython.bint
    two_numbers: cython.bint
    ch_table: object  # the channels' DrawTable (None when off)
    ch_draws: cython.float[::1]
    address: cython.const[cython.uchar][::1]  # bit 1: an email address, bit 2: takes texts
    has_second: cython.const[cython.uchar][::1]
    voicemail_line_2: cython.const[cython.double][::1]
    base_pickup: cython.const[cython.double][::1]
    line_of: cython.short[::1]  # per prospect: the number dialled next, 0 first, 1 second
    line_misses: cython.short[::1]  # dials in a row on it without reaching (-1: first dead)
    line2_mult: cython.double[::1]  # the second number's screening multiplier, set at line2_t
    line2_t: cython.double[::1]
    placed: cython.short[::1]  # per prospect and channel (p * 2 + k): touches placed
    second_pickup_mult: cython.double
    second_vm_box: cython.double  # < 0: the segment's
    switch_after: cython.Py_ssize_t
    touch_flags: cython.int[::1]  # per channel: 1 after a silent miss, 2 after a message
    touch_steps: cython.int[::1]  # per channel k, attempt number n: k * 101 + n, 1 = send
    touch_delay_s: cython.double[::1]
    touch_max: cython.int[::1]
    touch_p_reply: cython.double[::1]
    touch_heard_mult: cython.double[::1]
    touch_pickup_mult: cython.double[::1]
    touch_p_opt: cython.double[::1]
    touch_rep_s: cython.double[::1]
    next_channel: cython.int  # scratch: the channel schedule_callback tags its arrival with
    # scratch: what plan_line and rep_handling decided (read at once by the caller)
    resolve_s: cython.double
    message: cython.int
    voicemail_s: cython.double
    talk_s: cython.double
    wrap_s: cython.double

    def __init__(self, campaign):
        c = campaign
        s = c.scenario
        self.env = c.env
        self.table = c.world.draws
        self.procs = c.procs
        self.idle_wake = {}
        self.idle_wake_bound = -INF
        self.return_queues = c.return_queues
        self.call_log = c.call_log
        self.pacer = c.pacer
        self.pacing_adapts = self.pacer.adapts
        self.pacer_day = 0
        self.numbers = c.callerid
        self.cid_on = c.callerid is not None
        self.screen_by_number = c.screen_by_number
        self.voicemail_left_is_completed = s.caller_id.voicemail_left_is_completed
        self.any_rep = s.team.inbound_routing == "any_rep"
        self.group_routing = s.team.inbound_routing == "group"
        self.n_groups = c.n_groups
        self.grouped = c.n_groups > 1
        self.rep_group, self.group_rep_first = c.rep_group, c.group_rep_first
        self.window_first = c.window_first
        self.rep_lines = c.rep_lines
        self.group_paid_per_day_s = c.group_paid_per_day_s
        self.by_group = c.by_group
        self.idle_by_group_s = c.idle_by_group_s
        self.overtime_by_group_s = c.overtime_by_group_s
        self.n = c.n
        self.status, self.bad, self.attempts = c.status, c.bad, c.attempts
        self.vm_encounters, self.touches, self.owner = c.vm_encounters, c.touches, c.owner
        self.day_of_last, self.attempts_today = c.day_of_last, c.attempts_today
        self.reached_at_attempt, self.heard = c.reached_at_attempt, c.heard
        self.number_of = c.number_of
        self.pickup, self.reach, self.vm_box = c.pickup, c.reach, c.vm_box
        self.right_party, self.propensity, self.offset = c.right_party, c.propensity, c.offset
        self.voicemail_line = c.voicemail_line
        self.segment = c.segment
        self.zone = c.zone
        self.by_segment, self.by_zone = c.by_segment, c.by_zone
        self.by_local_hour = c.by_local_hour
        self.zones_vary = len(s.prospects.time_zones) > 1
        self.tallies = len(s.prospects.segments) > 1 or len(s.prospects.time_zones) > 1
        self.habit_shift_h = c.habit_shift_h
        self.habits = s.prospects.habit_spread_h > 0
        self.vm_box_per_line = s.prospects.voicemail_box == "line"
        self.n_att = s.cadence.max_attempts
        self.draws = self.table.flat()  # (taken again when a new attempt grows it)
        self.drawn_by_attempt = self.table.drawn_by_attempt
        self.channels_init(c)
        self.run_capacity = self.heap_capacity = min(self.n, 1024)
        self.run_times = array("d", [0.0]) * self.run_capacity
        self.run_prospects = array("i", [0]) * self.run_capacity
        self.heap_times = array("d", [0.0]) * self.heap_capacity
        self.heap_prospects = array("i", [0]) * self.heap_capacity
        self.run_first = self.run_size = self.heap_size = 0
        self.next_fresh = 0
        self.reps, self.lines = c.reps, c.lines
        self.power = c.mode == "power"
        self.rep_state, self.ring_end = c.rep_state, c.ring_end
        self.window_end = array("d", [0.0]) * self.reps
        slots = self.reps * self.lines
        self.batch_p, self.batch_a = array("i", [0]) * slots, array("i", [0]) * slots
        self.batch_kind, self.batch_order = array("i", [0]) * slots, array("i", [0]) * slots
        self.batch_t, self.batch_resolve_s = array("d", [0.0]) * slots, array("d", [0.0]) * slots
        self.counts, self.time_s = c.counts, c.time_s
        self.overtime_s = 0.0
        self.dials_by_hour, self.connects_by_hour = c.dials_by_hour, c.connects_by_hour
        self.vm_left_by_hour, self.abandoned_by_hour = c.vm_left_by_hour, c.abandoned_by_hour
        self.amd_hangups_by_hour, self.live_by_hour = c.amd_hangups_by_hour, c.live_by_hour
        self.level_sum_by_hour, self.batches_by_hour = c.level_sum_by_hour, c.batches_by_hour
        self.days = c.days
        self.work_day, self.work_days_before = c.work_day, c.work_days_before
        self.calendar_days = c.calendar_days
        pros = s.prospects
        self.weekday_mult = array("d", pros.weekday_availability)
        self.weekday_varies = any(v != 1.0 for v in pros.weekday_availability)
        self.first_weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(
            s.calendar.start_weekday)
        self.windows = c.windows_flat
        self.n_windows = len(c.windows)
        self.paid_per_day_s = c.paid_per_day_s
        self.end_s = c.end_s
        self.hourly = c.hourly
        self.cw_start, self.cw_end = c.cw_start, c.cw_end
        self.always_in_window = c.always_in_window
        self.policy_table, self.n_messages = c.policy_table, c.n_messages
        cad = s.cadence
        self.max_attempts, self.max_per_day = cad.max_attempts, cad.max_attempts_per_day
        self.min_gap_s = cad.min_gap_h * 3600.0
        self.retry_hour_step = cad.retry_hour_step_h
        self.embargo_after_abandon_s = cad.min_gap_after_abandon_h * 3600.0
        self.retries_first = cad.list_order == "retries_first"
        self.count_amd_as_abandon = s.dialer.predictive.count_amd_hangups
        dialer, amd = s.dialer, s.dialer.amd
        self.bad_number_s, self.ring_timeout_s = dialer.bad_number_s, dialer.ring_timeout_s
        self.vm_recognise_s = dialer.vm_recognise_s
        self.amd_on, self.amd_delay_s = amd.enabled, amd.delay_s
        self.amd_false_machine, self.amd_false_human = amd.false_machine, amd.false_human
        vm, cb = s.voicemail, s.callbacks
        plan = c.plan
        self.live_drop = array("i", [1 if live else 0 for live in plan.live_drop])
        self.beep_wait_s = vm.beep_wait_s
        self.message_length_s = array("d", plan.message_length_s)
        self.callback_mult = array("d", plan.callback_mult or (1.0,))
        self.genuine_share = array("d", plan.genuine_share or (1.0,))
        self.genuine_on = any(share < 1.0 for share in plan.genuine_share)
        # -1: no message left at that attempt (message ids fit: at most 100 messages)
        self.message_at = array("b", [-1]) * (self.n * self.n_att if self.genuine_on else 1)
        self.recorded_drop_s = 0.0
        self.p_listen, self.p_callback = cb.p_listen, cb.p_callback
        self.repeat_message_mult = cb.repeat_message_mult
        self.p_callback_missed_call = cb.p_callback_missed_call
        self.p_message_on_missed_callback = cb.p_message_on_missed_callback
        self.return_call_answer_prob = cb.return_call_answer_prob
        self.return_call_half_life_h = cb.return_call_half_life_h
        screening = s.screening
        self.silent_miss_mult = screening.answer_mult_per_silent_miss
        by_kind = screening.answer_mult_by_miss
        self.miss_mult = array("d", [self.silent_miss_mult]) * len(OUTCOME_NAMES)
        for outcome, kind in ((O_NO_ANSWER, by_kind.rang_out),
                              (O_VM_SILENT, by_kind.voicemail_no_message),
                              (O_CANCELLED, by_kind.cancelled), (O_ABANDONED, by_kind.abandoned),
                              (O_AMD_HANGUP, by_kind.amd_hangup)):
            if kind is not None:
                self.miss_mult[outcome] = kind
        self.unheard_mult = screening.answer_mult_per_unheard_message
        self.heard_mult = screening.answer_mult_per_voicemail
        self.fading = screening.half_life_days is not None
        self.half_life_s = screening.half_life_days * DAY_S if self.fading else INF
        self.screen_mult = array("d", [1.0]) * (self.n if self.fading else 1)
        self.screen_t = array("d", [0.0]) * (self.n if self.fading else 1)
        self.hold_s = cb.hold_s
        self.on_hold = []
        self.p_opt_out_connect = s.opt_out.p_per_connect
        self.p_opt_out_heard = s.opt_out.p_per_heard_voicemail
        self.opt_out_growth = s.opt_out.growth_per_touch
        self.p_follow_up = s.conversation.p_follow_up_after_connect

    # ------------------------------------------------------------------ for Campaign
    @cython.ccall
    def overtime(self) -> cython.double:
        """Rep seconds on calls past the end of a shift window (not paid)."""
        return self.overtime_s

    @cython.ccall
    def recorded_drop_seconds(self) -> cython.double:
        """Line time of the recorded drops (their message lengths)."""
        return self.recorded_drop_s

    # ------------------------------------------------------------------ draws
    @cython.cfunc
    @cython.inline
    @cython.exceptval(check=False)
    def d(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, col: cython.Py_ssize_t) -> cython.double:
        """The draw of purpose ``col`` for prospect ``p``'s attempt ``a`` (made: every
        attempt is placed, and so drawn, before its draws are read)."""
        return self.draws[(a * self.n + p) * N_PURPOSES + col]

    # ------------------------------------------------------------------ calendar
    @cython.cfunc
    def paid_before(self, t: cython.double, g: cython.Py_ssize_t) -> cython.double:
        """Paid rep-seconds (for one rep of group ``g``) in [0, t)."""
        day: cython.double = _floordiv(t, DAY_S)
        tod: cython.double = _mod(t, DAY_S)
        paid_per_day_s: cython.double = self.group_paid_per_day_s[g]
        if day >= self.calendar_days:
            return self.days * paid_per_day_s
        index: cython.Py_ssize_t = cython.cast(cython.Py_ssize_t, day)
        total: cython.double = self.work_days_before[index] * paid_per_day_s
        if self.work_days_before[index + 1] == self.work_days_before[index]:
            return total  # a day off
        i: cython.Py_ssize_t
        for i in range(self.window_first[g], self.window_first[g + 1]):
            ws: cython.double = self.windows[2 * i]
            if tod > ws:
                total += min(tod, self.windows[2 * i + 1]) - ws
        return total

    @cython.cfunc
    @cython.exceptval(-1)
    def account(self, cat: cython.int, start: cython.double, dur: cython.double,
                w_end: cython.double, g: cython.Py_ssize_t) -> cython.int:
        """Add ``dur`` seconds from ``start`` to a category for a rep of group ``g``;
        time outside the group's shifts is overtime."""
        if start + dur <= w_end:
            self.time_s[cat] += dur
            return 0
        paid: cython.double = self.paid_before(start + dur, g) - self.paid_before(start, g)
        self.time_s[cat] += paid
        self.overtime_s += dur - paid
        if self.grouped:
            self.overtime_by_group_s[g] += dur - paid
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def account_dial(self, start: cython.double, dial_s: cython.double, voicemail_s: cython.double,
                     talk_s: cython.double, wrap_s: cython.double, w_end: cython.double,
                     g: cython.Py_ssize_t) -> cython.int:
        """The rep time of a power-dialer dial, part by part."""
        t: cython.double
        if start + (dial_s + voicemail_s + talk_s + wrap_s) <= w_end - 1.0:
            # inside the window, every part (1 s margin for rounding): no overtime check
            self.time_s[T_DIALLING] += dial_s
            if voicemail_s:
                self.time_s[T_VOICEMAIL] += voicemail_s
            if talk_s:
                self.time_s[T_TALKING] += talk_s
            if wrap_s:
                self.time_s[T_WRAPUP] += wrap_s
            return 0
        self.account(T_DIALLING, start, dial_s, w_end, g)
        t = start + dial_s
        if voicemail_s:
            self.account(T_VOICEMAIL, t, voicemail_s, w_end, g)
            t += voicemail_s
        if talk_s:
            self.account(T_TALKING, t, talk_s, w_end, g)
            t += talk_s
        if wrap_s:
            self.account(T_WRAPUP, t, wrap_s, w_end, g)
        return 0

    # ------------------------------------------------------------------ the retry list
    @cython.cfunc
    @cython.exceptval(-1)
    def retry_push(self, eligible: cython.double, p: cython.Py_ssize_t) -> cython.int:
        """Put ``p`` on the retry list at ``eligible``. A key above the sorted run's last
        key (most are: the gap is the same for everyone) goes on the run at O(1), the
        others on the heap; keys are unique (a prospect waits at most once)."""
        size: cython.Py_ssize_t = self.run_size
        last: cython.Py_ssize_t = (self.run_first + size - 1) % self.run_capacity
        if not size or self.run_times[last] < eligible or (
                self.run_times[last] == eligible and self.run_prospects[last] < p):
            if size == self.run_capacity:
                self._grow_run()
            slot: cython.Py_ssize_t = (self.run_first + size) % self.run_capacity
            self.run_times[slot] = eligible
            self.run_prospects[slot] = p
            self.run_size = size + 1
            return 0
        # sift up
        if self.heap_size == self.heap_capacity:
            self._grow_heap()
        i: cython.Py_ssize_t = self.heap_size
        self.heap_size = i + 1
        parent: cython.Py_ssize_t
        while i > 0:
            parent = (i - 1) >> 1
            if eligible < self.heap_times[parent] or (
                    eligible == self.heap_times[parent] and p < self.heap_prospects[parent]):
                self.heap_times[i] = self.heap_times[parent]
                self.heap_prospects[i] = self.heap_prospects[parent]
                i = parent
            else:
                break
        self.heap_times[i] = eligible
        self.heap_prospects[i] = p
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def _grow_run(self) -> cython.int:
        """Double the sorted run's room (at most one slot per prospect), in order from 0."""
        old_times: cython.double[::1] = self.run_times
        old_prospects: cython.int[::1] = self.run_prospects
        capacity: cython.Py_ssize_t = min(2 * self.run_capacity, self.n)
        self.run_times = array("d", [0.0]) * capacity
        self.run_prospects = array("i", [0]) * capacity
        i: cython.Py_ssize_t
        j: cython.Py_ssize_t
        for i in range(self.run_size):
            j = (self.run_first + i) % self.run_capacity
            self.run_times[i] = old_times[j]
            self.run_prospects[i] = old_prospects[j]
        self.run_first = 0
        self.run_capacity = capacity
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def _grow_heap(self) -> cython.int:
        """Double the heap's room (at most one slot per prospect)."""
        old_times: cython.double[::1] = self.heap_times
        old_prospects: cython.int[::1] = self.heap_prospects
        capacity: cython.Py_ssize_t = min(2 * self.heap_capacity, self.n)
        self.heap_times = array("d", [0.0]) * capacity
        self.heap_prospects = array("i", [0]) * capacity
        i: cython.Py_ssize_t
        for i in range(self.heap_size):  # (a typed loop: array(memoryview) boxes each item)
            self.heap_times[i] = old_times[i]
            self.heap_prospects[i] = old_prospects[i]
        self.heap_capacity = capacity
        return 0

    @cython.cfunc
    def _heap_pop(self) -> cython.Py_ssize_t:
        top: cython.Py_ssize_t = self.heap_prospects[0]
        size: cython.Py_ssize_t = self.heap_size - 1
        self.heap_size = size
        if size == 0:
            return top
        t: cython.double = self.heap_times[size]
        p: cython.Py_ssize_t = self.heap_prospects[size]
        i: cython.Py_ssize_t = 0
        child: cython.Py_ssize_t
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            if child + 1 < size and (
                    self.heap_times[child + 1] < self.heap_times[child]
                    or (self.heap_times[child + 1] == self.heap_times[child]
                        and self.heap_prospects[child + 1] < self.heap_prospects[child])):
                child += 1
            if self.heap_times[child] < t or (
                    self.heap_times[child] == t and self.heap_prospects[child] < p):
                self.heap_times[i] = self.heap_times[child]
                self.heap_prospects[i] = self.heap_prospects[child]
                i = child
            else:
                break
        self.heap_times[i] = t
        self.heap_prospects[i] = p
        return top

    @cython.cfunc
    def _head(self) -> cython.int:
        """Where the smallest waiting key is: 1 the run, 2 the heap, 0 nowhere."""
        if self.run_size:
            if not self.heap_size:
                return 1
            first: cython.Py_ssize_t = self.run_first
            if self.run_times[first] < self.heap_times[0] or (
                    self.run_times[first] == self.heap_times[0]
                    and self.run_prospects[first] < self.heap_prospects[0]):
                return 1
            return 2
        return 2 if self.heap_size else 0

    @cython.cfunc
    def next_work_time(self) -> cython.double:
        """When the first prospect on the retry list is due (inf if none waits)."""
        head: cython.int = self._head()
        if head == 1:
            return self.run_times[self.run_first]
        if head == 2:
            return self.heap_times[0]
        return INF

    @cython.cfunc
    @cython.exceptval(check=False)  # cannot raise; -1 ("none due") is common: no error check
    def _retry_pop_due(self, now: cython.double) -> cython.Py_ssize_t:
        """Take the first prospect off the retry list if it is due at ``now``, else -1."""
        head: cython.int = self._head()
        p: cython.Py_ssize_t
        if head == 1 and self.run_times[self.run_first] <= now:
            p = self.run_prospects[self.run_first]
            self.run_first = (self.run_first + 1) % self.run_capacity
            self.run_size -= 1
            return p
        if head == 2 and self.heap_times[0] <= now:
            return self._heap_pop()
        return -1

    # ------------------------------------------------------------------ the list
    @cython.cfunc
    def next_prospect(self, now: cython.double) -> cython.Py_ssize_t:
        """The next prospect to dial now, or -1. Due retries come before fresh leads
        (or after, with ``list_order = "fresh_first"``); a prospect outside its calling
        window goes back on the list until the window opens."""
        p: cython.Py_ssize_t
        while True:
            p = -1
            if self.retries_first:
                p = self._retry_pop_due(now)
                if p < 0 and self.next_fresh < self.n:
                    p = self.next_fresh
                    self.next_fresh += 1
            elif self.next_fresh < self.n:
                p = self.next_fresh
                self.next_fresh += 1
            else:
                p = self._retry_pop_due(now)
            if p < 0:
                return -1
            if self.status[p] != ACTIVE:
                continue
            wait = self.window_opens(p, now)
            if wait == now:
                return p
            self.retry_push(wait, p)  # back when the prospect's window opens

    @cython.cfunc
    @cython.exceptval(-1)
    def requeue(self, p: cython.Py_ssize_t, now: cython.double, gap_s: cython.double) -> cython.int:
        """After an attempt: back on the list at its next eligible time, or off it.
        ``gap_s`` (>= 0) replaces the cadence's minimum gap when longer (the embargo
        after an abandoned call); -1 for none."""
        if self.status[p] != ACTIVE:
            return 0
        if self.attempts[p] >= self.max_attempts:
            self.status[p] = EXHAUSTED
            return 0
        eligible: cython.double = now + (self.min_gap_s if gap_s < 0 else max(gap_s, self.min_gap_s))
        if self.attempts_today[p] >= self.max_per_day:
            eligible = max(eligible, (floor(now / DAY_S) + 1) * DAY_S)
        if self.retry_hour_step:
            eligible = self.at_next_hour(p, now, eligible)
        self.retry_push(eligible, p)
        if self.idle_wake:
            self.wake_idle(eligible)
        return 0

    @cython.cfunc
    def at_next_hour(self, p: cython.Py_ssize_t, last: cython.double,
                     earliest: cython.double) -> cython.double:
        """The first start of the prospect's local hour ``retry_hour_step`` hours after
        the hour of its last attempt (at ``last``), at or after ``earliest``: each retry
        at another time of day."""
        target: cython.Py_ssize_t = (_hour_of(_mod(last + self.offset[p], DAY_S))
                                     + self.retry_hour_step) % 24
        local: cython.double = _mod(earliest + self.offset[p], DAY_S)
        hour: cython.Py_ssize_t = _hour_of(local)
        if hour == target:
            return earliest
        return earliest + ((target - hour) % 24) * 3600.0 - _mod(local, 3600.0)

    @cython.cfunc
    @cython.exceptval(-1)
    def wake_idle(self, eligible: cython.double) -> cython.int:
        """Interrupt every idle rep that would sleep past ``eligible`` (in the order they
        went idle). ``idle_wake_bound`` (at least every idle rep's wake) answers
        "nobody" without looking at the reps; a look makes the bound exact again."""
        if eligible >= self.idle_wake_bound:
            return 0
        bound: cython.double = -INF
        for r, wake in list(self.idle_wake.items()):
            if eligible < wake:
                del self.idle_wake[r]
                self.procs[r].interrupt(RESCAN)
            elif wake > bound:
                bound = wake
        self.idle_wake_bound = bound
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def went_idle(self, r: cython.Py_ssize_t, until: cython.double) -> cython.int:
        self.rep_state[r] = IDLE
        self.idle_wake[r] = until
        if until > self.idle_wake_bound:
            self.idle_wake_bound = until
        return 0

    @cython.cfunc
    def window_opens(self, p: cython.Py_ssize_t, now: cython.double) -> cython.double:
        """When prospect ``p``'s local calling window is next open: ``now`` if it is."""
        if self.always_in_window:
            return now
        local: cython.double = _mod(now + self.offset[p], DAY_S)
        if self.cw_start <= local < self.cw_end:
            return now
        wait: cython.double = self.cw_start - local
        if wait <= 0:
            wait += DAY_S
        return now + wait

    @cython.cfunc
    def hour_mult(self, p: cython.Py_ssize_t, t: cython.double) -> cython.double:
        """The hourly availability multiplier at prospect ``p``'s local hour at ``t``: the
        profile's, shifted by the prospect's own habit when prospects have habits."""
        hour: cython.Py_ssize_t = _hour_of(_mod(t + self.offset[p], DAY_S))
        if self.habits:
            hour = (hour - self.habit_shift_h[p]) % 24
        if self.weekday_varies:  # and by the prospect's weekday
            day: cython.Py_ssize_t = cython.cast(cython.Py_ssize_t,
                                                 _floordiv(t + self.offset[p], DAY_S))
            return self.hourly[hour] * self.weekday_mult[(self.first_weekday + day) % 7]
        return self.hourly[hour]

    @cython.cfunc
    @cython.exceptval(check=False)
    def local_hour_slot(self, p: cython.Py_ssize_t, t: cython.double) -> cython.Py_ssize_t:
        """Where prospect ``p``'s time zone and local hour at ``t`` count dials (+1:
        connects) in ``by_local_hour``."""
        return (self.zone[p] * 24 + _hour_of(_mod(t + self.offset[p], DAY_S))) * 2

    @cython.cfunc
    @cython.inline
    @cython.exceptval(check=False)
    def tally(self, p: cython.Py_ssize_t, counter: cython.Py_ssize_t) -> cython.void:
        """Count a breakdown ``counter`` for prospect ``p``'s segment and time zone (with one
        segment and one zone the run's totals are the breakdown: nothing to count)."""
        if not self.tallies:
            return
        self.by_segment[self.segment[p] * B_N + counter] += 1
        self.by_zone[self.zone[p] * B_N + counter] += 1

    # ------------------------------------------------------------------ return calls
    @cython.cfunc
    def take_return_call(self, queue, now: cython.double) -> object:
        """The first queued return call whose prospect's calling window is open now
        (taken off the queue), or None; calls to prospects reached or opted out
        meanwhile are dropped. The others keep their place."""
        i: cython.Py_ssize_t = 0
        p: cython.Py_ssize_t
        while i < len(queue):
            item = queue[i]
            p = item[1]
            if self.status[p] == REACHED or self.status[p] == OPTED_OUT:
                del queue[i]
                continue
            if self.window_opens(p, now) == now:
                del queue[i]
                return item
            i += 1
        return None

    @cython.cfunc
    def return_call_due(self, queue, now: cython.double) -> cython.double:
        """When the first queued return call can be placed (inf if none is queued)."""
        due: cython.double = INF
        for item in queue:
            due = min(due, self.window_opens(item[1], now))
        return due

    # ------------------------------------------------------------------ a line
    @cython.cfunc
    def start_attempt(self, r: cython.Py_ssize_t, p: cython.Py_ssize_t,
                      now: cython.double) -> cython.Py_ssize_t:
        """Book-keeping when a dial is placed; returns the attempt index."""
        a: cython.Py_ssize_t = self.attempts[p]
        if p >= self.drawn_by_attempt[a]:  # beyond the draws of this attempt made so far
            self.table.ensure(p + 1, a)
            self.draws = self.table.flat()
        self.attempts[p] = a + 1
        day: cython.Py_ssize_t = cython.cast(cython.Py_ssize_t, _floordiv(now, DAY_S))
        if self.day_of_last[p] != day:
            self.day_of_last[p] = day
            self.attempts_today[p] = 0
        self.attempts_today[p] += 1
        self.owner[p] = r
        self.dials_by_hour[_hour_of(now)] += 1
        self.tally(p, B_DIALS)
        if self.grouped:
            self.by_group[self.rep_group[r] * B_N + B_DIALS] += 1
        if self.zones_vary:
            self.by_local_hour[self.local_hour_slot(p, now)] += 1
        if self.cid_on:
            self.number_of[p] = self.numbers.number_for(r)
        return a

    @cython.cfunc
    def pre_dial_s(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t) -> cython.double:
        """Research and connect setup before the line rings."""
        return self.d(p, a, C_RESEARCH) + self.d(p, a, C_SETUP)

    @cython.cfunc
    def faded(self, mult: cython.double, since: cython.double, t: cython.double) -> cython.double:
        """A screening multiplier set at ``since``, at time ``t``: its effect (its log)
        halves every half-life, back toward 1 (the prospect's base pick-up)."""
        if mult == 1.0:
            return 1.0
        return pow(mult, pow(0.5, (t - since) / self.half_life_s))

    @cython.cfunc
    def pickup_now(self, p: cython.Py_ssize_t, t: cython.double) -> cython.double:
        """P(``p`` picks up a dial at ``t`` | at the phone): its screening history (faded
        by now, when screening fades), times the caller-ID number's effect (spam label,
        local presence) when numbers are modelled."""
        if self.two_numbers and self.line_of[p]:
            return self.pickup_second(p, t)
        pickup: cython.double = self.pickup[p]
        if self.fading and self.screen_by_number is None:
            pickup *= self.faded(self.screen_mult[p], self.screen_t[p], t)
        if not self.cid_on:
            return pickup
        number: cython.Py_ssize_t = self.number_of[p]
        pickup *= self.numbers.pickup_mult(number)
        if self.screen_by_number is not None:
            pickup *= self.number_screening((p, number), t)
        return pickup

    @cython.cfunc
    def number_screening(self, key: tuple, t: cython.double) -> cython.double:
        """Screening scope "number": the multiplier a line (``key`` = (line, caller-ID
        number)) has earned at ``t`` (1 if none)."""
        entry = self.screen_by_number.get(key)
        if entry is None:
            return 1.0
        return self.faded(entry[0], entry[1], t) if self.fading else entry

    @cython.cfunc
    @cython.exceptval(-1)
    def screen_number(self, key: tuple, mult: cython.double, t: cython.double) -> cython.int:
        """Screening scope "number": a miss or message multiplies the line's own
        multiplier for that caller-ID number (fading from its last change)."""
        if not self.fading:
            self.screen_by_number[key] = self.screen_by_number.get(key, 1.0) * mult
        else:
            before = self.screen_by_number.get(key, (1.0, t))
            self.screen_by_number[key] = (self.faded(before[0], before[1], t) * mult, t)
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def screen(self, p: cython.Py_ssize_t, mult: cython.double, t: cython.double) -> cython.int:
        """Apply a screening multiplier at ``t``: to the prospect, or to the number it saw."""
        if mult == 1.0:
            return 0
        if self.two_numbers and self.line_of[p]:  # a miss on the second number shows there
            return self.screen_second(p, mult, t)
        if self.screen_by_number is None:
            if not self.fading:
                self.pickup[p] *= mult
            else:
                self.screen_mult[p] = self.faded(self.screen_mult[p], self.screen_t[p], t) * mult
                self.screen_t[p] = t
        else:
            self.screen_number((p, self.number_of[p]), mult, t)
        return 0

    @cython.cfunc
    def plan_line(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, t_ring: cython.double) -> cython.int:
        """What prospect ``p``'s phone does when it rings at ``t_ring``: the line kind;
        ``resolve_s`` = seconds from ring start until the dialer knows."""
        if self.bad[p] and not (self.two_numbers and self.line_of[p]):  # (the first number's)
            self.resolve_s = self.bad_number_s
            return L_BAD
        ring: cython.double = self.d(p, a, C_RING)
        available: cython.double = self.reach[p] * self.hour_mult(p, t_ring)
        if (self.d(p, a, C_AVAILABLE) < available and self.d(p, a, C_PICKUP) < self.pickup_now(p, t_ring)
                and ring < self.ring_timeout_s):
            if self.amd_on:
                self.resolve_s = ring + self.amd_delay_s
                if self.d(p, a, C_AMD) < self.amd_false_machine:
                    return L_AMD_HANGUP
                return L_HUMAN
            self.resolve_s = ring
            return L_HUMAN
        # a voicemail box: the line's (drawn once per prospect) or, per dial, a fresh draw
        if (self.second_box(p, a) if self.two_numbers and self.line_of[p] else
                (self.voicemail_line[p] if self.vm_box_per_line else self.d(p, a, C_VMBOX)) < self.vm_box[p]):
            if self.amd_on:
                self.resolve_s = self.ring_timeout_s + self.amd_delay_s
                if self.d(p, a, C_AMD) < self.amd_false_human:
                    return L_MACHINE_TO_REP
                return L_MACHINE_DETECTED
            self.resolve_s = self.ring_timeout_s
            return L_MACHINE_TO_REP
        self.resolve_s = self.ring_timeout_s
        return L_NO_ANSWER

    @cython.cfunc
    def rep_handling(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, kind: cython.int,
                     rep_free: cython.bint) -> cython.int:
        """What the line's resolution costs the rep and how it ends: the outcome;
        ``message``, ``voicemail_s``, ``talk_s`` and ``wrap_s`` say the rest.
        ``rep_free`` is False when the rep is on another call (parallel dialer)."""
        self.message = SILENT
        self.voicemail_s = self.talk_s = self.wrap_s = 0.0
        if kind == L_HUMAN:
            if not rep_free:
                return O_ABANDONED
            if self.d(p, a, C_RIGHT) < self.right_party[p]:
                self.talk_s = self.d(p, a, C_TALK)
                self.wrap_s = self.d(p, a, C_WRAP)
                return O_CONNECT
            self.talk_s = self.d(p, a, C_GK)
            return O_GATEKEEPER
        if kind == L_MACHINE_TO_REP or kind == L_MACHINE_DETECTED:
            to_rep: cython.bint = kind == L_MACHINE_TO_REP
            if to_rep and not rep_free:
                return O_VM_SILENT  # the dialer hangs up on it
            if to_rep:
                self.voicemail_s = self.vm_recognise_s
            segment: cython.Py_ssize_t = self.segment[p]
            message: cython.int = self.policy_table[segment * self.n_att + self.vm_encounters[p]]
            if message == SILENT:
                return O_VM_SILENT
            if self.live_drop[segment]:
                if not rep_free:
                    self.voicemail_s = 0.0
                    return O_VM_SILENT
                self.voicemail_s += self.beep_wait_s + self.message_length_s[segment]
            self.message = message
            return O_VM_LEFT
        if kind == L_BAD:
            return O_BAD
        if kind == L_AMD_HANGUP:
            return O_AMD_HANGUP
        return O_NO_ANSWER

    # ------------------------------------------------------------------ effects
    @cython.cfunc
    @cython.exceptval(-1)
    def apply(self, r: cython.Py_ssize_t, p: cython.Py_ssize_t, a: cython.Py_ssize_t,
              outcome: cython.int, message: cython.int, t: cython.double) -> cython.int:
        """Counters and the prospect's history after a dial resolved at time ``t``."""
        hour: cython.Py_ssize_t = _hour_of(t)
        if self.channels_on:
            self.channels_after(p, a, outcome, t)
        if self.cid_on:
            completed: cython.bint = outcome == O_CONNECT or outcome == O_GATEKEEPER or (
                outcome == O_VM_LEFT and self.voicemail_left_is_completed)
            self.numbers.record(self.number_of[p], not completed)
        if outcome == O_CONNECT or outcome == O_GATEKEEPER or outcome == O_ABANDONED:
            self.live_by_hour[hour] += 1
            if self.pacing_adapts:
                self.pacer.record(outcome == O_ABANDONED)
        elif outcome == O_AMD_HANGUP and self.count_amd_as_abandon and self.pacing_adapts:
            self.pacer.record(True)
        if outcome == O_VM_LEFT:
            self.vm_left_by_hour[hour] += 1
            self.tally(p, B_VM_LEFT)
            if self.grouped:
                self.by_group[self.rep_group[r] * B_N + B_VM_LEFT] += 1
            self.vm_encounters[p] += 1
            segment: cython.Py_ssize_t = self.segment[p]
            if not self.live_drop[segment]:  # a recorded drop: the line plays the message
                self.counts[N_RECORDED_DROPS] += 1
                self.recorded_drop_s += self.message_length_s[segment]
            if self.d(p, a, C_LISTEN) < self.p_listen:
                self.heard_message(p, a, message, t)
            else:  # a missed call with a voicemail badge
                self.screen(p, self.unheard_mult, t)
        elif outcome == O_CONNECT:
            self.counts[N_CONNECTS] += 1
            self.tally(p, B_OUTBOUND)
            if self.grouped:
                self.by_group[self.rep_group[r] * B_N + B_OUTBOUND] += 1
            if self.zones_vary:
                self.by_local_hour[self.local_hour_slot(p, t) + 1] += 1
            self.connects_by_hour[hour] += 1
            self.reached(p)
            if self.d(p, a, C_OPT) < self.opt_out_risk(p, self.p_opt_out_connect):
                self.opt_out(p)
            elif self.d(p, a, C_FOLLOW) < self.p_follow_up:
                self.status[p] = ACTIVE  # stays on the list for a follow-up dial
            self.touches[p] += 1
        elif outcome == O_BAD:
            self.counts[N_BAD] += 1
            if not (self.channels_on and self.first_number_dead(p)):
                self.status[p] = BAD_NUMBER
        elif outcome == O_GATEKEEPER:
            self.counts[N_GATEKEEPERS] += 1
        else:
            if outcome == O_VM_SILENT:
                self.counts[N_SILENT] += 1
                self.vm_encounters[p] += 1
            elif outcome == O_NO_ANSWER:
                self.counts[N_NO_ANSWER] += 1
            elif outcome == O_ABANDONED:
                self.counts[N_ABANDONED] += 1
                self.abandoned_by_hour[hour] += 1
            elif outcome == O_AMD_HANGUP:
                self.counts[N_AMD_HANGUPS] += 1
                self.amd_hangups_by_hour[hour] += 1
            else:
                self.counts[N_CANCELLED] += 1
            self.silent_miss(p, a, outcome, t)
            if (outcome == O_ABANDONED or outcome == O_AMD_HANGUP) and self.embargo_after_abandon_s:
                if self.two_numbers:
                    self.number_rule(p, outcome)
                self.requeue(p, t, self.embargo_after_abandon_s)
                return 0
        if self.two_numbers:  # (after the dial's effects, which act on the number dialled)
            self.number_rule(p, outcome)
        self.requeue(p, t, -1.0)
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def silent_miss(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, outcome: cython.int,
                    t: cython.double) -> cython.int:
        """A missed call with no message: screening tightens (by the kind of miss), maybe
        a 'who called me?' callback."""
        self.screen(p, self.miss_mult[outcome], t)
        if self.d(p, a, C_CALLBACK) < self.p_callback_missed_call * self.propensity[p]:
            self.schedule_callback(p, a, self.d(p, a, C_CB_DELAY), t)
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def heard_message(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, message: cython.int,
                      t: cython.double) -> cython.int:
        """A message heard: screening changes, opt-out risk, and a callback that fades
        with each earlier hearing of the same message."""
        self.counts[N_HEARD] += 1
        self.screen(p, self.heard_mult, t)
        risk: cython.double = self.opt_out_risk(p, self.p_opt_out_heard)
        self.touches[p] += 1
        if self.d(p, a, C_OPT) < risk:
            self.opt_out(p)
            return 0
        if self.genuine_on:
            self.message_at[p * self.n_att + a] = message
        slot: cython.Py_ssize_t = p * self.n_messages + message
        earlier: cython.Py_ssize_t = self.heard[slot]
        self.heard[slot] = earlier + 1
        p_callback: cython.double = (self.p_callback * self.propensity[p]
                                     * self.repeat_message_mult ** earlier
                                     * self.callback_mult[message])
        if self.d(p, a, C_CALLBACK) < p_callback:
            self.schedule_callback(p, a, self.d(p, a, C_CB_DELAY), t)
        return 0

    @cython.cfunc
    def opt_out_risk(self, p: cython.Py_ssize_t, base: cython.double) -> cython.double:
        """A touch's do-not-call risk, growing with every earlier touch."""
        return base * self.opt_out_growth ** self.touches[p]

    @cython.cfunc
    @cython.exceptval(-1)
    def count_if_confused(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, counter: cython.int,
                          tallied: cython.Py_ssize_t, g: cython.Py_ssize_t) -> cython.int:
        """A conversation with a prospect who called back about the message left at
        attempt ``a``: counted under ``counter`` when the caller was confused or annoyed,
        not interested (the message's genuine share decides, on its own draw)."""
        message: cython.int = self.message_at[p * self.n_att + a]
        if message >= 0 and self.d(p, a, C_GENUINE) >= self.genuine_share[message]:
            self.counts[counter] += 1
            self.tally(p, tallied)
            if self.grouped:
                self.by_group[g * B_N + tallied] += 1
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def opt_out(self, p: cython.Py_ssize_t) -> cython.int:
        if self.status[p] != OPTED_OUT:
            self.status[p] = OPTED_OUT
            self.counts[N_OPT_OUTS] += 1
            self.tally(p, B_OPT_OUTS)
            if self.grouped:  # the group of the rep who last dialled the prospect
                self.by_group[self.rep_group[self.owner[p]] * B_N + B_OPT_OUTS] += 1
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def reached(self, p: cython.Py_ssize_t) -> cython.int:
        if self.status[p] != REACHED and not self.reached_at_attempt[p]:
            self.reached_at_attempt[p] = self.attempts[p]
        self.status[p] = REACHED
        return 0

    # ------------------------------------------------------------------ callbacks
    @cython.cfunc
    @cython.exceptval(-1)
    def schedule_callback(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, delay_s: cython.double,
                          t: cython.double) -> cython.int:
        """The prospect calls back ``delay_s`` after ``t``, at a local hour when it is
        available (and not before now: a callback due while the rep was still on the
        call arrives as the rep finishes it)."""
        when: cython.double = t + delay_s
        offset: cython.double = self.offset[p]
        i: cython.int
        for i in range(24 * 7):  # (a week: a weekday may be off for everyone)
            if self.hour_mult(p, when) > 0:
                break
            when = (floor((when + offset) / 3600.0) + 1) * 3600.0 - offset
        if when >= self.end_s:  # after the last day: counted apart, not simulated
            self.counts[N_CB_AFTER] += 1
            return 0
        now: cython.double = self.env.now
        event = self.env.timeout(max(when - now, 0.0))
        event.callbacks.append(_Arrival(self, p, a, self.next_channel))
        return 0

    @cython.ccall
    def inbound_arrives(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, ch: cython.int = 0):
        """A callback (or a reply to an email or text: ``ch``) rings: the rep who last
        dialled (or any free rep, or a free rep of that rep's group, when routing says
        so) takes it if inside a work window and idle or only waiting on ringing lines;
        else it is missed, and the prospect may leave a message that queues a return
        call."""
        if self.status[p] == REACHED or self.status[p] == OPTED_OUT:
            return  # reached meanwhile, or asked not to be called: no reason to call
        self.counts[N_CB_RECEIVED] += 1
        if ch != CH_CALL:  # a reply to an email or a text (counted apart for dashboards)
            self.counts[N_REPLY_CALLS] += 1
        now: cython.double = self.env.now
        owner: cython.Py_ssize_t = self.owner[p]
        r: cython.Py_ssize_t
        i: cython.Py_ssize_t
        state: cython.int
        if self.group_routing and self.ring_group(p, a, now):
            return
        for i in range(0 if self.group_routing else (self.reps if self.any_rep else 1)):
            if i == 0:
                r = owner
            else:
                r = i - 1 if i - 1 < owner else i  # every other rep, in order
            state = self.rep_state[r]
            if now < self.window_end[r] and (
                    state == IDLE or (state == DIALLING and now < self.ring_end[r])):
                self.rep_state[r] = BUSY
                self.idle_wake.pop(r, None)
                self.procs[r].interrupt(Inbound(p, a, ch))
                return
        if self.hold_s > 0:  # the caller waits for a free rep (rep_shifts takes it)
            held = [p, a, True, ch]
            self.on_hold.append(held)
            self.env.timeout(self.hold_s).callbacks.append(_HoldEnds(self, held))
            return
        self.callback_missed(p, a, now, ch)

    @cython.cfunc
    def ring_group(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t,
                   now: cython.double) -> cython.bint:
        """Group routing: the callback rings the rep who last dialled, then every other
        rep of that rep's group in order; the first one inside a work window and idle
        or only waiting on ringing lines takes it. True if one did."""
        owner: cython.Py_ssize_t = self.owner[p]
        g: cython.Py_ssize_t = self.rep_group[owner]
        first: cython.Py_ssize_t = self.group_rep_first[g]
        size: cython.Py_ssize_t = self.group_rep_first[g + 1] - first
        i: cython.Py_ssize_t
        r: cython.Py_ssize_t
        state: cython.int
        for i in range(size):
            if i == 0:
                r = owner
            else:
                r = first + i - 1 if first + i - 1 < owner else first + i
            state = self.rep_state[r]
            if now < self.window_end[r] and (
                    state == IDLE or (state == DIALLING and now < self.ring_end[r])):
                self.rep_state[r] = BUSY
                self.idle_wake.pop(r, None)
                self.procs[r].interrupt(Inbound(p, a))
                return True
        return False

    @cython.ccall
    def callback_missed(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, now: cython.double,
                        ch: cython.int = 0):
        """No rep took the callback: the prospect may leave a message, which queues a
        return call for its rep (the team's queue with any-rep routing, the rep's group's
        with group routing)."""
        owner: cython.Py_ssize_t = self.owner[p]
        self.counts[N_CB_MISSED] += 1
        self.log_other(owner, p, a, now, "inbound",
                       "inbound_missed" if ch == CH_CALL else "reply_missed", 0.0, 0.0)
        if self.d(p, a, C_CB_MSG) < self.p_message_on_missed_callback:
            self.counts[N_CB_MESSAGES] += 1
            self.return_queues[owner].append((now, p, a))

    @cython.ccall
    def hold_ended(self, held: list, now: cython.double):
        """A caller's hold time is up: missed, unless a rep took the call meanwhile."""
        if held[2]:
            held[2] = False
            self.on_hold.remove(held)
            self.callback_missed(held[0], held[1], now, held[3])

    @cython.cfunc
    def take_held(self, r: cython.Py_ssize_t) -> object:
        """A callback on hold that rep ``r`` (now free, inside its window) may take: its
        own, or anyone's with any-rep routing; the longest waiting first. None if none."""
        i: cython.Py_ssize_t
        p: cython.Py_ssize_t
        for i in range(len(self.on_hold)):
            held = self.on_hold[i]
            p = held[0]
            if self.any_rep or self.owner[p] == r or (
                    self.group_routing and self.rep_group[self.owner[p]] == self.rep_group[r]):
                del self.on_hold[i]
                held[2] = False
                self.counts[N_CB_HELD] += 1
                return Inbound(p, held[1], held[3])
        return None

    # ------------------------------------------------------------------ other channels
    def channels_init(self, c):
        """The other channels' settings and state (scenario.channels): emails and texts
        the cadence places after dials, and second phone numbers."""
        ch = c.scenario.channels
        world = c.world
        touches = (ch.email, ch.text)
        self.touches_on = ch.email.used() or ch.text.used()
        self.two_numbers = ch.second_number.share > 0
        self.channels_on = self.touches_on or self.two_numbers
        self.next_channel = CH_CALL
        n: cython.Py_ssize_t = self.n if self.channels_on else 1
        self.ch_table = world.channel_draws
        # the channels' table, reserved once (attempt-major like the other); a touch
        # makes its attempt's draws when it is placed
        self.ch_draws = self.ch_table.flat() if self.touches_on else array("f", [0.0])
        self.address = memoryview(bytes(1)) if world.channel_address is None else memoryview(world.channel_address)
        self.has_second = memoryview(bytes(1)) if world.second_number is None else memoryview(world.second_number)
        self.voicemail_line_2 = (array("d", [1.0]) if world.voicemail_line_2 is None
                                 else memoryview(world.voicemail_line_2))
        self.base_pickup = memoryview(world.p_pickup)
        self.line_of = array("h", [0]) * n
        self.line_misses = array("h", [0]) * n
        self.line2_mult = array("d", [1.0]) * n
        self.line2_t = array("d", [0.0]) * n
        self.placed = array("h", [0]) * (2 * n)
        second = ch.second_number
        self.second_pickup_mult = second.pickup_mult
        self.second_vm_box = -1.0 if second.p_voicemail_box is None else second.p_voicemail_box
        self.switch_after = second.switch_after_misses
        self.touch_flags = array("i", [(1 if t.after_silent_miss else 0) | (2 if t.after_message else 0)
                                       for t in touches])
        steps = array("i", [0]) * 202
        for k, t in enumerate(touches):
            for number in t.after_attempts:
                steps[k * 101 + number] = 1
        self.touch_steps = steps
        self.touch_delay_s = array("d", [t.delay_h * 3600.0 for t in touches])
        self.touch_max = array("i", [t.max_per_prospect if t.used() else 0 for t in touches])
        self.touch_p_reply = array("d", [t.p_reply for t in touches])
        self.touch_heard_mult = array("d", [t.reply_mult_after_heard_message for t in touches])
        self.touch_pickup_mult = array("d", [t.pickup_mult for t in touches])
        self.touch_p_opt = array("d", [t.p_opt_out for t in touches])
        self.touch_rep_s = array("d", [t.rep_s for t in touches])

    @cython.cfunc
    @cython.inline
    @cython.exceptval(check=False)
    def cd(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, col: cython.Py_ssize_t) -> cython.double:
        """The other channels' draw ``col`` for the touch placed after ``p``'s attempt ``a``."""
        return self.ch_draws[(a * self.n + p) * N_CH_PURPOSES + col]

    @cython.cfunc
    def touch_wanted(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, outcome: cython.int,
                     k: cython.Py_ssize_t) -> cython.bint:
        """Does the cadence place a touch of channel ``k`` (0 email, 1 text) after ``p``'s
        attempt ``a`` that ended in ``outcome``? Never after a conversation or a dead
        number; only to a prospect with an address for it, up to its maximum."""
        if self.touch_max[k] == 0 or not (self.address[p] & (k + 1)):
            return False
        if self.placed[p * 2 + k] >= self.touch_max[k]:
            return False
        if outcome == O_CONNECT or outcome == O_BAD:
            return False
        if self.touch_steps[k * 101 + a + 1]:
            return True
        if outcome == O_VM_LEFT:
            return (self.touch_flags[k] & 2) != 0
        if outcome == O_GATEKEEPER:
            return False
        return (self.touch_flags[k] & 1) != 0  # a silent miss of any kind

    @cython.cfunc
    def touches_rep_s(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, outcome: cython.int,
                      rep_free: cython.bint) -> cython.double:
        """Rep seconds writing the touches this dial places (after-call work); none when
        the line resolved while the rep was on another call (the dialer sends them)."""
        if not rep_free:
            return 0.0
        total: cython.double = 0.0
        k: cython.Py_ssize_t
        for k in range(2):
            if self.touch_wanted(p, a, outcome, k):
                total += self.touch_rep_s[k]
        return total

    @cython.cfunc
    @cython.exceptval(-1)
    def channels_after(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, outcome: cython.int,
                       t: cython.double) -> cython.int:
        """After a dial resolved at ``t``: dials to second numbers counted, and the
        touches the cadence places."""
        k: cython.Py_ssize_t
        when: cython.double
        if self.two_numbers and self.line_of[p]:
            self.counts[N_SECOND_DIALS] += 1
            if outcome == O_CONNECT:
                self.counts[N_SECOND_CONNECTS] += 1
        if self.touches_on:
            for k in range(2):
                if self.touch_wanted(p, a, outcome, k):
                    self.placed[p * 2 + k] += 1
                    if p >= self.ch_table.drawn_by_attempt[a]:  # its draws, made as needed
                        self.ch_table.ensure(p + 1, a)
                        self.ch_draws = self.ch_table.flat()
                    when = t + self.touch_delay_s[k]
                    if when < self.end_s:  # (a touch due after the last day is not sent)
                        self.env.timeout(max(when - self.env.now, 0.0)).callbacks.append(
                            _TouchDue(self, p, a, k))
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def number_rule(self, p: cython.Py_ssize_t, outcome: cython.int) -> cython.int:
        """Which number ``p``'s next dial tries: the other one after ``switch_after``
        dials in a row on one number that did not reach the prospect; after a dead
        first number, the second for good."""
        line: cython.Py_ssize_t = self.line_of[p]
        if outcome == O_CONNECT:
            if self.line_misses[p] > 0:
                self.line_misses[p] = 0
        elif self.has_second[p] and self.line_misses[p] >= 0:
            if outcome == O_BAD and line == 0:  # the first number is dead: the second only
                self.line_of[p] = 1
                self.line_misses[p] = -1
            else:
                self.line_misses[p] += 1
                if self.line_misses[p] >= self.switch_after:
                    self.line_of[p] = 1 - line
                    self.line_misses[p] = 0
        return 0

    @cython.cfunc
    def first_number_dead(self, p: cython.Py_ssize_t) -> cython.bint:
        """A dead first number leaves the prospect on the list when it has a second."""
        return self.two_numbers and self.has_second[p] != 0

    @cython.ccall
    def touch_sent(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t, k: cython.int):
        """The touch of channel ``k`` placed after ``p``'s attempt ``a`` goes out (unless
        the prospect was reached or opted out meanwhile): pick-up on every number of
        the prospect changes, maybe an opt-out, maybe a reply that comes to a rep as a
        callback does (schedule_callback, inbound_arrives)."""
        if self.status[p] == REACHED or self.status[p] == OPTED_OUT:
            return
        now: cython.double = self.env.now
        self.counts[N_EMAILS if k == 0 else N_TEXTS] += 1
        mult: cython.double = self.touch_pickup_mult[k]
        if mult != 1.0:  # the person, on each of its numbers
            line: cython.Py_ssize_t = self.line_of[p] if self.two_numbers else 0
            if self.two_numbers:
                self.line_of[p] = 0
            self.screen(p, mult, now)
            if self.two_numbers and self.has_second[p]:
                self.line_of[p] = 1
                self.screen(p, mult, now)
            if self.two_numbers:
                self.line_of[p] = line
        risk: cython.double = self.opt_out_risk(p, self.touch_p_opt[k])
        self.touches[p] += 1
        base: cython.Py_ssize_t = k * 3
        if self.cd(p, a, base + CC_OPT) < risk:
            self.opt_out(p)
            return
        p_reply: cython.double = self.touch_p_reply[k]
        if self.touch_heard_mult[k] != 1.0:
            i: cython.Py_ssize_t
            for i in range(self.n_messages):
                if self.heard[p * self.n_messages + i]:
                    p_reply = min(1.0, p_reply * self.touch_heard_mult[k])
                    break
        if self.cd(p, a, base + CC_REPLY) < p_reply:
            self.counts[N_EMAIL_REPLIES if k == 0 else N_TEXT_REPLIES] += 1
            self.next_channel = CH_EMAIL if k == 0 else CH_TEXT
            self.schedule_callback(p, a, self.cd(p, a, base + CC_REPLY_DELAY), now)
            self.next_channel = CH_CALL

    @cython.cfunc
    def pickup_second(self, p: cython.Py_ssize_t, t: cython.double) -> cython.double:
        """P(``p`` picks up a dial to its second number at ``t`` | at the phone): its own
        base and screening history (misses on it), the caller-ID number's effect."""
        pickup: cython.double = self.base_pickup[p] * self.second_pickup_mult
        if self.screen_by_number is None:
            pickup *= self.faded(self.line2_mult[p], self.line2_t[p], t)
        if not self.cid_on:
            return pickup
        number: cython.Py_ssize_t = self.number_of[p]
        pickup *= self.numbers.pickup_mult(number)
        if self.screen_by_number is not None:
            pickup *= self.number_screening((-1 - p, number), t)
        return pickup

    @cython.cfunc
    @cython.exceptval(-1)
    def screen_second(self, p: cython.Py_ssize_t, mult: cython.double, t: cython.double) -> cython.int:
        """``screen`` for the second number: its own history (with scope "number", per
        caller-ID number as for the first)."""
        if self.screen_by_number is None:
            self.line2_mult[p] = self.faded(self.line2_mult[p], self.line2_t[p], t) * mult
            self.line2_t[p] = t
            return 0
        return self.screen_number((-1 - p, self.number_of[p]), mult, t)

    @cython.cfunc
    def second_box(self, p: cython.Py_ssize_t, a: cython.Py_ssize_t) -> cython.bint:
        """Does an unanswered dial to ``p``'s second number reach a voicemail box? Per
        line (drawn once, its own draw) or per dial, as for the first number."""
        box: cython.double = self.vm_box[p] if self.second_vm_box < 0 else self.second_vm_box
        return (self.voicemail_line_2[p] if self.vm_box_per_line else self.d(p, a, C_VMBOX)) < box

    # ------------------------------------------------------------------ pacing
    @cython.cfunc
    def batch_size(self, r: cython.Py_ssize_t, now: cython.double) -> cython.Py_ssize_t:
        """Lines the next batch dials: the pacing level (dithered), at most the rep's
        lines (lines_per_rep, or its group's)."""
        pacer: Pacer = self.pacer
        pacer.adjust()
        hour: cython.Py_ssize_t = _hour_of(now)
        self.level_sum_by_hour[hour] += pacer.level
        self.batches_by_hour[hour] += 1
        lines: cython.Py_ssize_t = min(self.rep_lines[r], pacer.lines_for(r))
        if pacer.hold_per_day:
            day: cython.Py_ssize_t = cython.cast(cython.Py_ssize_t, _floordiv(now, DAY_S))
            if day != self.pacer_day:
                self.pacer_day = day
                pacer.new_day()
            if pacer.day_at_target():
                lines = 1
        pacer.dialled(lines)
        return lines

    @cython.cfunc
    def fill_batch(self, r: cython.Py_ssize_t, now: cython.double) -> cython.Py_ssize_t:
        """Rep ``r``'s next batch: up to ``batch_size`` prospects due now, into its slots
        of the batch arrays; returns how many."""
        size: cython.Py_ssize_t = self.batch_size(r, now)
        first: cython.Py_ssize_t = r * self.lines
        count: cython.Py_ssize_t = 0
        p: cython.Py_ssize_t
        while count < size:
            p = self.next_prospect(now)
            if p < 0:
                break
            self.batch_p[first + count] = p
            count += 1
        return count

    # ------------------------------------------------------------------ call log
    @cython.cfunc
    @cython.exceptval(-1)
    def log_dial(self, r: cython.Py_ssize_t, line: cython.Py_ssize_t, p: cython.Py_ssize_t,
                 a: cython.Py_ssize_t, t: cython.double, outcome: cython.int, message: cython.int,
                 ring_s: cython.double, talk_s: cython.double, rep_busy_s: cython.double) -> cython.int:
        if self.call_log is not None:
            self.call_log.append(t, r, line, p, a + 1, "outbound", OUTCOME_NAMES[outcome],
                                 message, ring_s, talk_s, rep_busy_s,
                                 self.line_of[p] + 1 if self.two_numbers else 1)
        return 0

    @cython.cfunc
    @cython.exceptval(-1)
    def log_other(self, r: cython.Py_ssize_t, p: cython.Py_ssize_t, a: cython.Py_ssize_t,
                  t: cython.double, direction: str, outcome: str, talk_s: cython.double,
                  rep_busy_s: cython.double) -> cython.int:
        if self.call_log is not None:
            self.call_log.append(t, r, -1, p, a + 1, direction, outcome, SILENT, 0.0, talk_s,
                                 rep_busy_s, 0)
        return 0


# ---------------------------------------------------------------------- processes
def rep_shifts(k: Kernel, r: cython.Py_ssize_t):
    """Rep ``r``'s shifts: a simpy process. Inside each shift window the rep takes due
    return calls first, then dials (one line on a power dialer, a paced batch on a
    parallel or predictive one), and idles when nothing is due. Both dials are written
    out here (not as sub-generators): a generator per dial would cost more than the
    dial's own rules."""
    env = k.env
    timeout = env.timeout
    queue = k.return_queues[r]
    g: cython.Py_ssize_t = k.rep_group[r]  # the rep's group: its work windows
    day: cython.Py_ssize_t
    i: cython.Py_ssize_t
    p: cython.Py_ssize_t
    a: cython.Py_ssize_t
    kind: cython.int
    outcome: cython.int
    message: cython.int
    w_start: cython.double
    w_end: cython.double
    start: cython.double
    pre: cython.double
    resolve_s: cython.double
    voicemail_s: cython.double
    talk_s: cython.double
    wrap_s: cython.double
    dial_s: cython.double
    busy_s: cython.double
    # a batch of lines: rep r's slots in the kernel's batch arrays start at ``first``
    first: cython.Py_ssize_t = r * k.lines
    count: cython.Py_ssize_t
    line: cython.Py_ssize_t
    j: cython.Py_ssize_t
    now: cython.double
    t_resolve: cython.double
    rep_s: cython.double
    busy_until: cython.double
    dial_mark: cython.double
    interrupted: cython.bint
    for day in range(k.days):
        for i in range(k.window_first[g], k.window_first[g + 1]):
            w_start = k.work_day[day] * DAY_S + k.windows[2 * i]
            w_end = k.work_day[day] * DAY_S + k.windows[2 * i + 1]
            if env.now < w_start:
                k.rep_state[r] = OFF
                yield timeout(w_start - env.now)
            k.window_end[r] = w_end
            # ``start`` is the current time: re-read after anything that waits; after a
            # dial it is start + busy_s (exactly the time simpy resumes at)
            start = env.now
            while start < w_end:
                if k.on_hold:  # a caller waiting for a free rep comes first
                    call = k.take_held(r)
                    if call is not None:
                        yield from take_inbound(k, r, call, w_end)
                        start = env.now
                        continue
                if queue:
                    item = k.take_return_call(queue, start)
                    if item is not None:
                        yield from return_call(k, r, item, w_end)
                        start = env.now
                        continue
                if not k.power:
                    # a batch of lines at once (parallel, predictive): the first live
                    # answer is bridged to the rep; a live answer that comes while the rep
                    # is on a call is abandoned; lines are settled in the order they resolve
                    count = k.fill_batch(r, start)
                    if not count:
                        yield from idle(k, r, min(k.next_work_time(), k.return_call_due(queue, start), w_end), w_end)
                        start = env.now
                        continue
                    for line in range(count):
                        p = k.batch_p[first + line]
                        a = k.start_attempt(r, p, start)
                        k.batch_a[first + line] = a
                        pre = k.pre_dial_s(p, a)
                        k.batch_kind[first + line] = k.plan_line(p, a, start + pre)
                        k.batch_resolve_s[first + line] = k.resolve_s
                        t_resolve = start + pre + k.resolve_s
                        k.batch_t[first + line] = t_resolve
                        # insertion sort by (time resolved, line)
                        j = line
                        while j > 0 and k.batch_t[first + k.batch_order[first + j - 1]] > t_resolve:
                            k.batch_order[first + j] = k.batch_order[first + j - 1]
                            j -= 1
                        k.batch_order[first + j] = line
                    now = start  # simpy's clock: now + delay after each timeout
                    busy_until = start  # the rep is on a bridged call until then
                    dial_mark = start  # start of the rep's current stretch waiting on lines
                    interrupted = False
                    for j in range(count):
                        line = k.batch_order[first + j]
                        p, a = k.batch_p[first + line], k.batch_a[first + line]
                        kind, resolve_s = k.batch_kind[first + line], k.batch_resolve_s[first + line]
                        t_resolve = k.batch_t[first + line]
                        if t_resolve >= busy_until:
                            if busy_until > now:  # finish the bridged call first
                                yield timeout(busy_until - now)
                                now = now + (busy_until - now)
                            if t_resolve > now:
                                # the rep waits on ringing lines: an inbound call may interrupt
                                k.rep_state[r] = DIALLING
                                k.ring_end[r] = INF
                                try:
                                    yield timeout(t_resolve - now)
                                except simpy.Interrupt as irq:
                                    now = env.now
                                    k.account(T_DIALLING, dial_mark, now - dial_mark, w_end, g)
                                    for j in range(j, count):  # the dialer hangs up the rest
                                        line = k.batch_order[first + j]
                                        p, a = k.batch_p[first + line], k.batch_a[first + line]
                                        k.log_dial(r, line, p, a, start, O_CANCELLED, SILENT,
                                                   now - start, 0.0, 0.0)
                                        k.apply(r, p, a, O_CANCELLED, SILENT, now)
                                    yield from take_inbound(k, r, irq.cause, w_end)
                                    interrupted = True
                                    break
                                now = now + (t_resolve - now)
                            k.account(T_DIALLING, dial_mark, t_resolve - dial_mark, w_end, g)
                            dial_mark = t_resolve
                        # lines resolving while the rep is on a call are settled at their time
                        outcome = k.rep_handling(p, a, kind, busy_until <= t_resolve)
                        if k.touches_on:  # the rep writes the touches this dial places
                            k.wrap_s += k.touches_rep_s(p, a, outcome, busy_until <= t_resolve)
                        message, voicemail_s, talk_s, wrap_s = (k.message, k.voicemail_s,
                                                                k.talk_s, k.wrap_s)
                        rep_s = voicemail_s + talk_s + wrap_s
                        if rep_s:
                            k.rep_state[r] = BUSY
                            k.account(T_VOICEMAIL, t_resolve, voicemail_s, w_end, g)
                            k.account(T_TALKING, t_resolve + voicemail_s, talk_s, w_end, g)
                            k.account(T_WRAPUP, t_resolve + voicemail_s + talk_s, wrap_s, w_end, g)
                            busy_until = dial_mark = t_resolve + rep_s
                        k.log_dial(r, line, p, a, start, outcome, message, resolve_s, talk_s, rep_s)
                        k.apply(r, p, a, outcome, message, t_resolve)
                    if interrupted:
                        start = env.now
                        continue
                    if busy_until > now:
                        k.rep_state[r] = BUSY
                        yield timeout(busy_until - now)
                        now = now + (busy_until - now)  # simpy's clock, as simpy adds it
                    start = now
                    continue
                # the power dialer: one line, ONE timeout for research, ringing and handling
                p = k.next_prospect(start)
                if p < 0:
                    yield from idle(k, r, min(k.next_work_time(), k.return_call_due(queue, start), w_end), w_end)
                    start = env.now
                    continue
                a = k.start_attempt(r, p, start)
                pre = k.pre_dial_s(p, a)
                kind = k.plan_line(p, a, start + pre)
                resolve_s = k.resolve_s
                outcome = k.rep_handling(p, a, kind, True)
                if k.touches_on:  # the rep writes the touches this dial places
                    k.wrap_s += k.touches_rep_s(p, a, outcome, True)
                message, voicemail_s, talk_s, wrap_s = k.message, k.voicemail_s, k.talk_s, k.wrap_s
                dial_s = pre + resolve_s
                busy_s = dial_s + voicemail_s + talk_s + wrap_s
                k.rep_state[r] = DIALLING
                k.ring_end[r] = start + dial_s
                try:
                    yield timeout(busy_s)
                except simpy.Interrupt as irq:  # an inbound call: the dialer hangs up this line
                    now = env.now
                    k.account(T_DIALLING, start, now - start, w_end, g)
                    k.log_dial(r, 0, p, a, start, O_CANCELLED, SILENT, now - start, 0.0, now - start)
                    k.apply(r, p, a, O_CANCELLED, SILENT, now)
                    yield from take_inbound(k, r, irq.cause, w_end)
                    start = env.now
                    continue
                k.rep_state[r] = BUSY
                k.account_dial(start, dial_s, voicemail_s, talk_s, wrap_s, w_end, g)
                k.log_dial(r, 0, p, a, start, outcome, message, resolve_s, talk_s, busy_s)
                k.apply(r, p, a, outcome, message, start + dial_s)
                start += busy_s
    k.rep_state[r] = OFF


def idle(k: Kernel, r: cython.Py_ssize_t, until: cython.double, w_end: cython.double):
    """Nothing to dial: wait until ``until``, unless a callback or a newly due prospect
    wakes the rep first."""
    env = k.env
    start: cython.double = env.now
    k.went_idle(r, until)
    try:
        yield env.timeout(until - start)
        k.idle_wake.pop(r, None)
        k.time_s[T_IDLE] += until - start
        if k.grouped:
            k.idle_by_group_s[k.rep_group[r]] += until - start
    except simpy.Interrupt as irq:
        k.idle_wake.pop(r, None)
        k.time_s[T_IDLE] += env.now - start
        if k.grouped:
            k.idle_by_group_s[k.rep_group[r]] += env.now - start
        if isinstance(irq.cause, Inbound):
            yield from take_inbound(k, r, irq.cause, w_end)
        else:  # a rescan: busy choosing, so no second interrupt lands meanwhile
            k.rep_state[r] = BUSY


def take_inbound(k: Kernel, r: cython.Py_ssize_t, call: Inbound, w_end: cython.double):
    """The rep talks to a prospect who called back (then wraps up)."""
    env = k.env
    g: cython.Py_ssize_t = k.rep_group[r]
    p: cython.Py_ssize_t = call.p
    a: cython.Py_ssize_t = call.a
    talk: cython.double = k.d(p, a, C_IN_TALK)
    wrap: cython.double = k.d(p, a, C_WRAP)
    start: cython.double = env.now
    k.rep_state[r] = BUSY
    k.counts[N_INBOUND] += 1
    if call.ch != CH_CALL:  # a reply to an email or a text
        k.counts[N_EMAIL_CONNECTS if call.ch == CH_EMAIL else N_TEXT_CONNECTS] += 1
    k.tally(p, B_INBOUND)
    if k.grouped:
        k.by_group[g * B_N + B_INBOUND] += 1
    if k.genuine_on and call.ch == CH_CALL:  # (a reply to an email is about the email)
        k.count_if_confused(p, a, N_CONFUSED_INBOUND, B_CONFUSED_INBOUND, g)
    k.connects_by_hour[_hour_of(start)] += 1
    k.reached(p)
    k.log_other(r, p, a, start, "inbound",
                "inbound_connect" if call.ch == CH_CALL else "reply_connect", talk, talk + wrap)
    yield env.timeout(talk + wrap)
    k.account(T_TALKING, start, talk, w_end, g)
    k.account(T_WRAPUP, start + talk, wrap, w_end, g)


def return_call(k: Kernel, r: cython.Py_ssize_t, item: tuple, w_end: cython.double):
    """The rep returns a missed callback: a priority dial (placed only inside the
    prospect's calling window), answered less often later."""
    env = k.env
    g: cython.Py_ssize_t = k.rep_group[r]
    queued_at: cython.double = item[0]
    p: cython.Py_ssize_t = item[1]
    a: cython.Py_ssize_t = item[2]
    start: cython.double = env.now
    k.rep_state[r] = BUSY
    k.counts[N_RETURN_CALLS] += 1
    wait_h: cython.double = (start - queued_at) / 3600.0
    # answered less often the longer the caller waited, and only when at the phone:
    # the prospect's hourly availability at its local hour, at most 1
    p_answer: cython.double = (k.return_call_answer_prob * pow(0.5, wait_h / k.return_call_half_life_h)
                               * min(1.0, k.hour_mult(p, start)))
    setup: cython.double = k.d(p, a, C_SETUP)
    ring_timeout: cython.double = k.ring_timeout_s
    ring: cython.double
    talk: cython.double
    wrap: cython.double
    if k.d(p, a, C_RET_ANSWER) < p_answer:
        ring = min(k.d(p, a, C_RET_RING), ring_timeout)
        talk = k.d(p, a, C_IN_TALK)
        wrap = k.d(p, a, C_WRAP)
        k.counts[N_RETURN_CONNECTS] += 1
        k.tally(p, B_RETURN)
        if k.grouped:
            k.by_group[g * B_N + B_RETURN] += 1
        if k.genuine_on:
            k.count_if_confused(p, a, N_CONFUSED_RETURN, B_CONFUSED_RETURN, g)
        k.connects_by_hour[_hour_of(start)] += 1
        k.reached(p)
        k.log_other(r, p, a, start, "return", "return_connect", talk, setup + ring + talk + wrap)
        yield env.timeout(setup + ring + talk + wrap)
        k.account(T_DIALLING, start, setup + ring, w_end, g)
        k.account(T_TALKING, start + setup + ring, talk, w_end, g)
        k.account(T_WRAPUP, start + setup + ring + talk, wrap, w_end, g)
    else:
        k.log_other(r, p, a, start, "return", "return_no_answer", 0.0, setup + ring_timeout)
        yield env.timeout(setup + ring_timeout)
        k.account(T_DIALLING, start, setup + ring_timeout, w_end, g)
