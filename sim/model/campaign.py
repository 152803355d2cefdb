"""The discrete-event model: reps on a dialer, prospects who screen, callbacks.

One :class:`Campaign` simulates one strategy on one replication's :class:`World`.
Processes (simpy):

- one process per rep (:func:`sim.model.kernel.rep_shifts`, the hot path, compiled
  when it could be built: :mod:`sim.experiment.engine`): works its shift windows, takes due
  return calls first, then dials the next eligible prospect(s); idles when nothing
  is due;
- inbound callbacks are timeouts that fire at the prospect's chosen moment and
  interrupt a free rep (or are missed).

Lean by design (see docs/performance.md): the outcome of a dial is decided at dial
time from the pre-drawn row ``world.draws[p, a]``, so a power-dialer dial costs ONE
simpy timeout covering ringing and the rep's handling. A rep can be interrupted
(by an inbound call) only while idle or waiting on ringing lines; ``ring_end[r]``
says until when. Prospect state lives in flat arrays (``array.array``: list-like
to Python, C arrays to the compiled rep loop) indexed by prospect.
Every rule here is written out in docs/model.md.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import deque

import numpy as np
import simpy

from sim.model.callerid import CallerIdPool
from sim.experiment.engine import select as select_engine
from sim.model.pacing import Dithered, make_pacing
from sim.scenario.schema import Scenario
from sim.model.streams import COL, World, spam_label_draws
from sim.model.strategies import SILENT

DAY_S = 86400.0

# prospect status
ACTIVE, REACHED, OPTED_OUT, BAD_NUMBER, EXHAUSTED = range(5)
# rep state
OFF, IDLE, DIALLING, BUSY = range(4)
# rep-time categories
T_DIALLING, T_TALKING, T_VOICEMAIL, T_WRAPUP, T_IDLE = range(5)
TIME_CATEGORIES = ("dialling", "talking", "voicemail", "wrapup", "idle")
# line outcomes (also the call log's `outcome` values)
O_BAD = "bad_number"
O_CONNECT = "connect"
O_GATEKEEPER = "gatekeeper"
O_ABANDONED = "abandoned"
O_AMD_HANGUP = "amd_hangup"
O_VM_LEFT = "voicemail_left"
O_VM_SILENT = "voicemail_silent"
O_NO_ANSWER = "no_answer"
O_CANCELLED = "cancelled"
# what a line resolves to before the rep is involved
L_BAD, L_HUMAN, L_AMD_HANGUP, L_MACHINE_TO_REP, L_MACHINE_DETECTED, L_NO_ANSWER = range(6)

_C_AVAILABLE = COL["available"]
_C_PICKUP = COL["pickup"]
_C_RING = COL["ring_delay_s"]
_C_VMBOX = COL["voicemail_box"]
_C_AMD = COL["amd_error"]
_C_RIGHT = COL["right_party"]
_C_TALK = COL["talk_s"]
_C_WRAP = COL["wrap_s"]
_C_GK = COL["gatekeeper_talk_s"]
_C_LISTEN = COL["listen"]
_C_CALLBACK = COL["callback"]
_C_CB_DELAY = COL["callback_delay_s"]
_C_CB_MSG = COL["callback_message"]
_C_RET_ANSWER = COL["return_answer"]
_C_RET_RING = COL["return_ring_delay_s"]
_C_IN_TALK = COL["inbound_talk_s"]
_C_OPT = COL["opt_out"]
_C_RESEARCH = COL["research_s"]
_C_SETUP = COL["connect_setup_s"]
_C_FOLLOW = COL["follow_up"]

COUNTERS = (
    "dials", "bad_numbers", "live_answers", "outbound_connects", "gatekeeper_answers",
    "abandoned_calls", "amd_hangups", "voicemails_reached",
    "voicemails_left", "voicemails_heard", "silent_hangups", "no_answers", "cancelled_dials",
    "silent_misses", "callbacks_received", "inbound_connects", "callbacks_missed",
    "callback_messages", "return_calls", "return_connects", "opt_outs",
)


class _Inbound:
    """Interrupt cause: an inbound callback from prospect ``p`` (origin attempt ``a``)."""

    __slots__ = ("p", "a")

    def __init__(self, p, a):
        self.p, self.a = p, a


_RESCAN = "rescan"  # interrupt cause: an idle rep should look at the list again


class Campaign:
    """One strategy on one replication. ``run()`` returns the metric dict."""

    # The power dialer's dial is written out inline in sim.model.kernel (the hot path).
    # False runs the reference version built from the per-step methods instead, as the
    # parallel dialer does; results are identical (tests/test_fast_path.py checks it).
    inline_power_dial = True
    # Which rep loop runs (sim.experiment.engine): None = the DIALSIM_ENGINE variable, else auto.
    engine: str | None = None

    def __init__(self, scenario: Scenario, world: World, policy_table: list[int],
                 n_messages: int, call_log=None):
        self.s = scenario
        self.world = world
        self.policy_table = policy_table
        self.n_messages = max(1, n_messages)
        self.call_log = call_log
        self.env = simpy.Environment()

        cal = scenario.calendar
        self.days = cal.days
        self.windows = cal.work_windows_s()
        self.paid_per_day_s = sum(e - s for s, e in self.windows)
        self.end_s = self.days * DAY_S

        n = scenario.prospects.count
        self.n = n
        self.status = _ints(n, ACTIVE)
        self.bad = array("q", world.bad_number.astype(np.int64).tobytes())
        self.attempts = _ints(n)
        self.vm_encounters = _ints(n)
        self.touches = _ints(n)
        self.pickup = _doubles(world.p_pickup)
        self.reach = _doubles(world.reachability)
        self.vm_box = _doubles(world.p_voicemail_box)
        self.right_party = _doubles(world.p_right_party)
        self.propensity = _doubles(world.callback_propensity)
        self.offset = _doubles(world.utc_offset_s)
        self.owner = _ints(n)
        self.day_of_last = _ints(n, -1)
        self.attempts_today = _ints(n)
        self.heard = _ints(n * self.n_messages)
        self.reached_at_attempt = _ints(n)
        self.draws = world.draws
        self.draws_flat = memoryview(np.ascontiguousarray(world.draws).reshape(-1))
        # research + setup of every (prospect, attempt): the same float64 sums as
        # row[_C_RESEARCH] + row[_C_SETUP], one read instead of two in the hot path
        self.pre_flat = memoryview((world.draws[:, :, _C_RESEARCH].astype(np.float64)
                                    + world.draws[:, :, _C_SETUP]).reshape(-1))

        cad = scenario.cadence
        self.max_attempts = cad.max_attempts
        self.min_gap_s = cad.min_gap_h * 3600.0
        self.max_per_day = cad.max_attempts_per_day
        self.retries_first = cad.list_order == "retries_first"
        # The retry list: prospects waiting for their next attempt, as (eligible time,
        # prospect) keys, each prospect at most once. A key above the last key of the
        # sorted run (most are: the gap is the same for everyone) goes on the run,
        # the others on a heap; the smaller of the two heads is the smallest key, so
        # prospects come off in the order one heap would give, the in-order ones at
        # O(1). The run is a ring buffer of n times and prospects (room for everyone).
        self.run_times = array("d", [0.0]) * n
        self.run_prospects = _ints(n)
        self.run_span = _ints(2)  # [slot of the run's first key, number of keys]
        self.retry_heap: list[tuple[float, int]] = []
        self.next_fresh = 0

        pros = scenario.prospects
        self.hourly = array("d", [float(v) for v in pros.hourly_availability])
        self.cw_start = _clock(pros.calling_window_start)
        self.cw_end = _clock(pros.calling_window_end)
        self.always_in_window = self._always_in_window(np.unique(world.utc_offset_s).tolist(),
                                                       self.windows)

        reps = scenario.team.reps
        self.reps = reps
        self.lines = scenario.team.lines_per_rep
        # pacing (sim.model.pacing): how many lines each batch dials
        self.mode = scenario.dialer.resolved_mode(self.lines)
        self.pacing = make_pacing(scenario)
        self.dither = [Dithered() for _ in range(reps)]
        self.embargo_after_abandon_s = cad.min_gap_after_abandon_h * 3600.0
        self.count_amd_as_abandon = scenario.dialer.predictive.count_amd_hangups
        # caller-ID numbers (sim.model.callerid); None when the scenario does not model them
        cid = scenario.caller_id
        self.callerid = None
        self.number_of = None  # the number prospect p's current or last dial showed
        if cid.enabled:
            n_numbers = cid.numbers_per_pool * (reps if cid.pool == "per_rep" else 1)
            self.callerid = CallerIdPool(
                cid, reps, self.days,
                spam_label_draws(world.seed, world.replication, self.days, n_numbers))
            self.number_of = [0] * n
        self.screen_by_number = (
            {} if cid.enabled and scenario.screening.scope == "number" else None
        )  # (prospect, number) -> screening multiplier, when prospects screen numbers
        self.rep_state = _ints(reps, OFF)
        self.ring_end = array("d", [0.0]) * reps
        self.rep_window_end = [0.0] * reps
        self.idle_wake = {}  # rep -> time an idle rep will wake on its own
        self.procs = []
        if scenario.team.inbound_routing == "any_rep":
            shared = deque()
            self.return_queues = [shared] * reps
        else:
            self.return_queues = [deque() for _ in range(reps)]

        self.time_s = array("d", [0.0]) * len(TIME_CATEGORIES)
        self.overtime_s = 0.0
        self.c = dict.fromkeys(COUNTERS, 0)
        hours = self.days * 24 + 24
        self.dials_by_hour = _ints(hours)
        self.connects_by_hour = _ints(hours)
        self.vm_left_by_hour = _ints(hours)
        self.abandoned_by_hour = _ints(hours)
        self.amd_hangups_by_hour = _ints(hours)
        self.live_by_hour = _ints(hours)
        self.level_sum_by_hour = array("d", [0.0]) * hours  # dial level of each batch, summed
        self.batches_by_hour = _ints(hours)

    # ------------------------------------------------------------------ calendar
    def paid_before(self, t: float) -> float:
        """Paid rep-seconds (for one rep) in [0, t)."""
        day, tod = divmod(t, DAY_S)
        if day >= self.days:
            return self.days * self.paid_per_day_s
        total = day * self.paid_per_day_s
        for ws, we in self.windows:
            if tod > ws:
                total += min(tod, we) - ws
        return total

    def _account(self, cat: int, start: float, dur: float, w_end: float) -> None:
        """Add ``dur`` seconds from ``start`` to a category; time outside shifts is overtime."""
        if start + dur <= w_end:
            self.time_s[cat] += dur
            return
        paid = self.paid_before(start + dur) - self.paid_before(start)
        self.time_s[cat] += paid
        self.overtime_s += dur - paid

    # ------------------------------------------------------------------ the list
    def _account_dial(self, start, dial_s, voicemail_s, talk_s, wrap_s, w_end):
        """The rep time of a power-dialer dial, part by part."""
        account = self._account
        account(T_DIALLING, start, dial_s, w_end)
        t = start + dial_s
        if voicemail_s:
            account(T_VOICEMAIL, t, voicemail_s, w_end)
            t += voicemail_s
        if talk_s:
            account(T_TALKING, t, talk_s, w_end)
            t += talk_s
        if wrap_s:
            account(T_WRAPUP, t, wrap_s, w_end)

    def _requeue(self, p: int, now: float, gap_s: float | None = None) -> None:
        """After an attempt: back on the list at its next eligible time, or off it.

        ``gap_s`` replaces the cadence's minimum gap when longer (the embargo after
        an abandoned call)."""
        if self.status[p] != ACTIVE:
            return
        if self.attempts[p] >= self.max_attempts:
            self.status[p] = EXHAUSTED
            return
        eligible = now + (self.min_gap_s if gap_s is None else max(gap_s, self.min_gap_s))
        if self.attempts_today[p] >= self.max_per_day:
            eligible = max(eligible, (math.floor(now / DAY_S) + 1) * DAY_S)
        self._retry_push(eligible, p)
        if self.idle_wake:
            self._wake_idle(eligible)

    def _retry_push(self, eligible: float, p: int) -> None:
        first, size = self.run_span
        last = (first + size - 1) % self.n
        if not size or (self.run_times[last], self.run_prospects[last]) < (eligible, p):
            slot = (first + size) % self.n
            self.run_times[slot], self.run_prospects[slot] = eligible, p
            self.run_span[1] = size + 1
        else:
            heapq.heappush(self.retry_heap, (eligible, p))

    def _run_head(self) -> tuple[float, int] | None:
        """The sorted run's first key, if it is the smallest key waiting."""
        first, size = self.run_span
        if not size:
            return None
        key = (self.run_times[first], self.run_prospects[first])
        return key if not self.retry_heap or key < self.retry_heap[0] else None

    def _retry_head(self) -> tuple[float, int] | None:
        """The smallest (eligible time, prospect) key waiting, or None."""
        head = self._run_head()
        if head is not None:
            return head
        return self.retry_heap[0] if self.retry_heap else None

    def _retry_pop(self) -> int:
        """Take the prospect of the smallest key off the retry list."""
        head = self._run_head()
        if head is None:
            return heapq.heappop(self.retry_heap)[1]
        self.run_span[0] = (self.run_span[0] + 1) % self.n
        self.run_span[1] -= 1
        return head[1]

    def _wake_idle(self, eligible: float) -> None:
        for r, wake in list(self.idle_wake.items()):
            if eligible < wake:
                del self.idle_wake[r]
                self.procs[r].interrupt(_RESCAN)

    def _next_prospect(self, now: float):
        """The next prospect to dial now, or None."""
        status, n = self.status, self.n
        while True:
            p = None
            head = self._retry_head()
            due = head is not None and head[0] <= now
            if self.retries_first:
                if due:
                    p = self._retry_pop()
                elif self.next_fresh < n:
                    p = self.next_fresh
                    self.next_fresh += 1
            else:
                if self.next_fresh < n:
                    p = self.next_fresh
                    self.next_fresh += 1
                elif due:
                    p = self._retry_pop()
            if p is None:
                return None
            if status[p] != ACTIVE:
                continue
            local = (now + self.offset[p]) % DAY_S
            if not (self.cw_start <= local < self.cw_end):
                self._retry_push(self._window_opens(now, local), p)
                continue
            return p

    def _always_in_window(self, offsets, windows) -> bool:
        """True when every prospect's clock is inside the calling window whenever a rep
        can start a dial (inside a shift window; 1 s margin for rounding): then the
        power dialer need not check it per dial, as nobody would fail the check."""
        for off in offsets:
            for ws, we in windows:
                local_start = (ws + off) % DAY_S
                if not (self.cw_start + 1.0 <= local_start
                        and local_start + (we - ws) <= self.cw_end - 1.0):
                    return False
        return True

    def _window_opens(self, now: float, local: float) -> float:
        """Next moment the prospect's local calling window opens."""
        wait = self.cw_start - local
        if wait <= 0:
            wait += DAY_S
        return now + wait

    def _next_work_time(self) -> float:
        head = self._retry_head()
        return head[0] if head is not None else math.inf

    # ------------------------------------------------------------------ a line
    def _plan_line(self, p: int, row, t_ring: float):
        """Decide what prospect ``p``'s phone does, from its pre-drawn row.

        Returns (seconds from ring start until the dialer knows, line kind).
        """
        dialer = self.s.dialer
        if self.bad[p]:
            return dialer.bad_number_s, L_BAD
        amd = dialer.amd
        ring_timeout = dialer.ring_timeout_s
        hour = int(((t_ring + self.offset[p]) % DAY_S) // 3600.0)
        available = self.reach[p] * self.hourly[hour]
        if row[_C_AVAILABLE] < available and row[_C_PICKUP] < self._pickup_now(p) \
                and row[_C_RING] < ring_timeout:
            if amd.enabled:
                if row[_C_AMD] < amd.false_machine:
                    return row[_C_RING] + amd.delay_s, L_AMD_HANGUP
                return row[_C_RING] + amd.delay_s, L_HUMAN
            return row[_C_RING], L_HUMAN
        if row[_C_VMBOX] < self.vm_box[p]:
            if amd.enabled:
                if row[_C_AMD] < amd.false_human:
                    return ring_timeout + amd.delay_s, L_MACHINE_TO_REP
                return ring_timeout + amd.delay_s, L_MACHINE_DETECTED
            return ring_timeout, L_MACHINE_TO_REP
        return ring_timeout, L_NO_ANSWER

    def _pickup_now(self, p: int) -> float:
        """P(``p`` picks up this dial | at the phone): its screening history, times the
        caller-ID number's effect (spam label, local presence) when numbers are modelled."""
        if self.callerid is None:
            return self.pickup[p]
        number = self.number_of[p]
        pickup = self.pickup[p] * self.callerid.pickup_mult(number)
        if self.screen_by_number is not None:
            pickup *= self.screen_by_number.get((p, number), 1.0)
        return pickup

    def _screen(self, p: int, mult: float) -> None:
        """Apply a screening multiplier: to the prospect, or to the number it saw."""
        if self.screen_by_number is None:
            self.pickup[p] *= mult
        else:
            key = (p, self.number_of[p])
            self.screen_by_number[key] = self.screen_by_number.get(key, 1.0) * mult

    def _rep_handling(self, p: int, row, kind: int, rep_free: bool):
        """What the line's resolution costs the rep and how it ends.

        Returns (outcome, message id, voicemail_s, talk_s, wrap_s). ``rep_free`` is
        False when the rep is already on another call (parallel dialer).
        """
        if kind == L_HUMAN:
            if not rep_free:
                return O_ABANDONED, SILENT, 0.0, 0.0, 0.0
            if row[_C_RIGHT] < self.right_party[p]:
                return O_CONNECT, SILENT, 0.0, row[_C_TALK], row[_C_WRAP]
            return O_GATEKEEPER, SILENT, 0.0, row[_C_GK], 0.0
        if kind == L_MACHINE_TO_REP or kind == L_MACHINE_DETECTED:
            vm = self.s.voicemail
            to_rep = kind == L_MACHINE_TO_REP
            if to_rep and not rep_free:
                return O_VM_SILENT, SILENT, 0.0, 0.0, 0.0  # dialer hangs up on it
            voicemail_s = self.s.dialer.vm_recognise_s if to_rep else 0.0
            message = self.policy_table[self.vm_encounters[p]]
            if message == SILENT:
                return O_VM_SILENT, SILENT, voicemail_s, 0.0, 0.0
            if vm.drop_mode == "live":
                if not rep_free:
                    return O_VM_SILENT, SILENT, 0.0, 0.0, 0.0
                voicemail_s += vm.beep_wait_s + vm.message_length_s
            return O_VM_LEFT, message, voicemail_s, 0.0, 0.0
        if kind == L_BAD:
            return O_BAD, SILENT, 0.0, 0.0, 0.0
        if kind == L_AMD_HANGUP:
            return O_AMD_HANGUP, SILENT, 0.0, 0.0, 0.0
        return O_NO_ANSWER, SILENT, 0.0, 0.0, 0.0

    # ------------------------------------------------------------------ effects
    def _apply(self, r: int, p: int, a: int, row, outcome: str, message: int, t: float) -> None:
        """Counters and the prospect's history after a dial resolved at time ``t``."""
        c = self.c
        hour_index = int(t // 3600.0)
        if self.callerid is not None:
            completed = outcome == O_CONNECT or outcome == O_GATEKEEPER or (
                outcome == O_VM_LEFT and self.s.caller_id.voicemail_left_is_completed)
            self.callerid.record(self.number_of[p], short=not completed)
        if outcome == O_CONNECT or outcome == O_GATEKEEPER or outcome == O_ABANDONED:
            self.live_by_hour[hour_index] += 1
            self.pacing.record(outcome == O_ABANDONED)
        elif outcome == O_AMD_HANGUP and self.count_amd_as_abandon:
            self.pacing.record(True)
        if outcome == O_VM_LEFT:
            self.vm_left_by_hour[hour_index] += 1
            self.vm_encounters[p] += 1
            if row[_C_LISTEN] < self.s.callbacks.p_listen:
                self._heard_message(p, a, row, message, t)
        elif outcome == O_CONNECT:
            c["outbound_connects"] += 1
            self.connects_by_hour[hour_index] += 1
            self._reached(p)
            if row[_C_OPT] < self._opt_out_risk(p, self.s.opt_out.p_per_connect):
                self._opt_out(p)
            elif row[_C_FOLLOW] < self.s.conversation.p_follow_up_after_connect:
                self.status[p] = ACTIVE  # stays on the list for a follow-up dial
            self.touches[p] += 1
        elif outcome == O_BAD:
            c["bad_numbers"] += 1
            self.status[p] = BAD_NUMBER
        elif outcome == O_GATEKEEPER:
            c["gatekeeper_answers"] += 1
        else:
            if outcome == O_VM_SILENT:
                c["silent_hangups"] += 1
                self.vm_encounters[p] += 1
            elif outcome == O_NO_ANSWER:
                c["no_answers"] += 1
            elif outcome == O_ABANDONED:
                c["abandoned_calls"] += 1
                self.abandoned_by_hour[hour_index] += 1
            elif outcome == O_AMD_HANGUP:
                c["amd_hangups"] += 1
                self.amd_hangups_by_hour[hour_index] += 1
            else:
                c["cancelled_dials"] += 1
            self._silent_miss(p, a, row, t)
            if (outcome == O_ABANDONED or outcome == O_AMD_HANGUP) and self.embargo_after_abandon_s:
                self._requeue(p, t, self.embargo_after_abandon_s)
                return
        self._requeue(p, t)

    def _silent_miss(self, p, a, row, t):
        """A missed call with no message: screening tightens, maybe 'who called me?'."""
        self._screen(p, self.s.screening.answer_mult_per_silent_miss)
        if row[_C_CALLBACK] < self.s.callbacks.p_callback_missed_call * self.propensity[p]:
            self._schedule_callback(p, a, row[_C_CB_DELAY], t)

    def _heard_message(self, p, a, row, message, t):
        cb = self.s.callbacks
        self.c["voicemails_heard"] += 1
        self._screen(p, self.s.screening.answer_mult_per_voicemail)
        risk = self._opt_out_risk(p, self.s.opt_out.p_per_heard_voicemail)
        self.touches[p] += 1
        if row[_C_OPT] < risk:
            self._opt_out(p)
            return
        slot = p * self.n_messages + message
        earlier = self.heard[slot]
        self.heard[slot] = earlier + 1
        p_cb = cb.p_callback * self.propensity[p] * cb.repeat_message_mult ** earlier
        if row[_C_CALLBACK] < p_cb:
            self._schedule_callback(p, a, row[_C_CB_DELAY], t)

    def _opt_out_risk(self, p, base):
        return base * self.s.opt_out.growth_per_touch ** self.touches[p]

    def _opt_out(self, p):
        if self.status[p] != OPTED_OUT:
            self.status[p] = OPTED_OUT
            self.c["opt_outs"] += 1

    def _reached(self, p):
        if self.status[p] != REACHED and not self.reached_at_attempt[p]:
            self.reached_at_attempt[p] = self.attempts[p]
        self.status[p] = REACHED

    # ------------------------------------------------------------------ callbacks
    def _schedule_callback(self, p, a, delay_s, t):
        """The prospect calls back after its delay, at a local hour when it is available."""
        when = t + delay_s
        offset = self.offset[p]
        for _ in range(24):
            if self.hourly[int(((when + offset) % DAY_S) // 3600.0)] > 0:
                break
            when = (math.floor((when + offset) / 3600.0) + 1) * 3600.0 - offset
        if when >= self.end_s:
            return
        event = self.env.timeout(when - self.env.now)
        event.callbacks.append(lambda _event, p=p, a=a: self._inbound_arrives(p, a))

    def _inbound_arrives(self, p, a):
        if self.status[p] in (REACHED, OPTED_OUT):
            return  # reached meanwhile, or asked not to be called: no reason to call
        c = self.c
        c["callbacks_received"] += 1
        now = self.env.now
        owner = self.owner[p]
        candidates = [owner]
        if self.s.team.inbound_routing == "any_rep":
            candidates += [r for r in range(self.reps) if r != owner]
        for r in candidates:
            state = self.rep_state[r]
            if state == IDLE or (state == DIALLING and now < self.ring_end[r]):
                self.rep_state[r] = BUSY
                self.idle_wake.pop(r, None)
                self.procs[r].interrupt(_Inbound(p, a))
                return
        c["callbacks_missed"] += 1
        self._log_other(owner, p, a, now, "inbound", "inbound_missed", 0.0, 0.0)
        if self.draws[p, a, _C_CB_MSG] < self.s.callbacks.p_message_on_missed_callback:
            c["callback_messages"] += 1
            self.return_queues[owner].append((now, p, a))

    def _take_inbound(self, r, irq: _Inbound, w_end):
        """The rep talks to a prospect who called back (then wraps up)."""
        env = self.env
        p, a = irq.p, irq.a
        row = self.draws[p, a].tolist()
        talk, wrap = row[_C_IN_TALK], row[_C_WRAP]
        start = env.now
        self.rep_state[r] = BUSY
        self.c["inbound_connects"] += 1
        self.connects_by_hour[int(start // 3600.0)] += 1
        self._reached(p)
        self._log_other(r, p, a, start, "inbound", "inbound_connect", talk, talk + wrap)
        yield env.timeout(talk + wrap)
        self._account(T_TALKING, start, talk, w_end)
        self._account(T_WRAPUP, start + talk, wrap, w_end)

    def _return_call(self, r, item, w_end):
        """The rep returns a missed callback: a priority dial, answered less often later."""
        env = self.env
        queued_at, p, a = item
        cb = self.s.callbacks
        row = self.draws[p, a].tolist()
        start = env.now
        self.rep_state[r] = BUSY
        self.c["return_calls"] += 1
        wait_h = (start - queued_at) / 3600.0
        p_answer = cb.return_call_answer_prob * 0.5 ** (wait_h / cb.return_call_half_life_h)
        setup = row[_C_SETUP]
        ring_timeout = self.s.dialer.ring_timeout_s
        if row[_C_RET_ANSWER] < p_answer:
            ring = min(row[_C_RET_RING], ring_timeout)
            talk, wrap = row[_C_IN_TALK], row[_C_WRAP]
            self.c["return_connects"] += 1
            self.connects_by_hour[int(start // 3600.0)] += 1
            self._reached(p)
            self._log_other(r, p, a, start, "return", "return_connect", talk, setup + ring + talk + wrap)
            yield env.timeout(setup + ring + talk + wrap)
            self._account(T_DIALLING, start, setup + ring, w_end)
            self._account(T_TALKING, start + setup + ring, talk, w_end)
            self._account(T_WRAPUP, start + setup + ring + talk, wrap, w_end)
        else:
            self._log_other(r, p, a, start, "return", "return_no_answer", 0.0, setup + ring_timeout)
            yield env.timeout(setup + ring_timeout)
            self._account(T_DIALLING, start, setup + ring_timeout, w_end)

    # ------------------------------------------------------------------ reps
    def _start_attempt(self, r, p, now):
        """Book-keeping when a dial is placed; returns the attempt index and its row."""
        a = self.attempts[p]
        self.attempts[p] = a + 1
        day = int(now // DAY_S)
        if self.day_of_last[p] != day:
            self.day_of_last[p] = day
            self.attempts_today[p] = 0
        self.attempts_today[p] += 1
        self.owner[p] = r
        self.dials_by_hour[int(now // 3600.0)] += 1
        if self.callerid is not None:
            self.number_of[p] = self.callerid.number_for(r)
        return a, self.draws[p, a].tolist()

    def _batch_size(self, r: int, now: float) -> int:
        """Lines the next batch dials: the pacing level (dithered), at most lines_per_rep."""
        pacing = self.pacing
        pacing.adjust()
        hour = int(now // 3600.0)
        self.level_sum_by_hour[hour] += pacing.level
        self.batches_by_hour[hour] += 1
        lines = min(self.lines, self.dither[r].lines(pacing.level))
        pacing.dialled(lines)
        return lines

    def _end_of_days(self):
        """Close each day's caller-ID counts (spam labels are decided overnight)."""
        for day in range(self.days):
            yield self.env.timeout((day + 1) * DAY_S - 1.0 - self.env.now)
            self.callerid.end_of_day(day)

    def _power_dial(self, r, p, w_end):
        """The reference power-dialer dial (see ``inline_power_dial``): one line, ONE
        timeout for research, ringing and the rep's handling."""
        env = self.env
        start = env.now
        a, row = self._start_attempt(r, p, start)
        pre = row[_C_RESEARCH] + row[_C_SETUP]
        resolve_s, kind = self._plan_line(p, row, start + pre)
        outcome, message, voicemail_s, talk_s, wrap_s = self._rep_handling(p, row, kind, True)
        dial_s = pre + resolve_s
        busy_s = dial_s + voicemail_s + talk_s + wrap_s
        self.rep_state[r] = DIALLING
        self.ring_end[r] = start + dial_s
        try:
            yield env.timeout(busy_s)
        except simpy.Interrupt as irq:
            yield from self._hang_up_for_inbound(r, p, a, start, irq.cause, w_end)
            return
        self.rep_state[r] = BUSY
        self._account_dial(start, dial_s, voicemail_s, talk_s, wrap_s, w_end)
        self._log(r, 0, p, a, start, outcome, message, resolve_s, talk_s, busy_s)
        self._apply(r, p, a, row, outcome, message, start + dial_s)

    def _hang_up_for_inbound(self, r, p, a, start, inbound, w_end):
        """An inbound call interrupted a power dial: the dialer hangs up, the rep answers."""
        now = self.env.now
        self._account(T_DIALLING, start, now - start, w_end)
        self._log(r, 0, p, a, start, O_CANCELLED, SILENT, now - start, 0.0, now - start)
        self._apply(r, p, a, self.draws[p, a].tolist(), O_CANCELLED, SILENT, now)
        yield from self._take_inbound(r, inbound, w_end)

    def _idle(self, r, until, w_end):
        env = self.env
        start = env.now
        self.rep_state[r] = IDLE
        self.idle_wake[r] = until
        try:
            yield env.timeout(until - start)
            self.idle_wake.pop(r, None)
            self.time_s[T_IDLE] += until - start
        except simpy.Interrupt as irq:
            self.idle_wake.pop(r, None)
            self.time_s[T_IDLE] += env.now - start
            if isinstance(irq.cause, _Inbound):
                yield from self._take_inbound(r, irq.cause, w_end)
            else:  # a rescan: busy choosing, so no second interrupt lands meanwhile
                self.rep_state[r] = BUSY

    def _parallel_dial(self, r, batch, w_end):
        """k lines at once: the first live answer is bridged; others are abandoned."""
        env = self.env
        start = env.now
        lines = []
        for line, p in enumerate(batch):
            a, row = self._start_attempt(r, p, start)
            pre = row[_C_RESEARCH] + row[_C_SETUP]
            resolve_s, kind = self._plan_line(p, row, start + pre)
            lines.append((start + pre + resolve_s, line, p, a, row, kind, resolve_s))
        lines.sort()
        busy_until = start  # the rep is on a bridged call until then
        dial_mark = start  # start of the rep's current stretch of waiting on lines
        for i, (t_resolve, line, p, a, row, kind, resolve_s) in enumerate(lines):
            if t_resolve >= busy_until:
                if busy_until > env.now:  # finish the bridged call first
                    yield env.timeout(busy_until - env.now)
                if t_resolve > env.now:
                    # the rep waits on ringing lines: an inbound call may interrupt
                    self.rep_state[r] = DIALLING
                    self.ring_end[r] = math.inf
                    try:
                        yield env.timeout(t_resolve - env.now)
                    except simpy.Interrupt as irq:
                        now = env.now
                        self._account(T_DIALLING, dial_mark, now - dial_mark, w_end)
                        for _, line2, p2, a2, row2, _, _ in lines[i:]:
                            self._log(r, line2, p2, a2, start, O_CANCELLED, SILENT, now - start, 0.0, 0.0)
                            self._apply(r, p2, a2, row2, O_CANCELLED, SILENT, now)
                        yield from self._take_inbound(r, irq.cause, w_end)
                        return
                self._account(T_DIALLING, dial_mark, t_resolve - dial_mark, w_end)
                dial_mark = t_resolve
            # lines resolving while the rep is on a call are settled at their own time
            rep_free = busy_until <= t_resolve
            outcome, message, voicemail_s, talk_s, wrap_s = self._rep_handling(p, row, kind, rep_free)
            rep_s = voicemail_s + talk_s + wrap_s
            if rep_s:
                self.rep_state[r] = BUSY
                self._account(T_VOICEMAIL, t_resolve, voicemail_s, w_end)
                self._account(T_TALKING, t_resolve + voicemail_s, talk_s, w_end)
                self._account(T_WRAPUP, t_resolve + voicemail_s + talk_s, wrap_s, w_end)
                busy_until = dial_mark = t_resolve + rep_s
            self._log(r, line, p, a, start, outcome, message, resolve_s, talk_s, rep_s)
            self._apply(r, p, a, row, outcome, message, t_resolve)
        if busy_until > env.now:
            self.rep_state[r] = BUSY
            yield env.timeout(busy_until - env.now)

    # ------------------------------------------------------------------ call log
    def _log(self, r, line, p, a, t, outcome, message, ring_s, talk_s, rep_busy_s):
        if self.call_log is not None:
            self.call_log.append(t, r, line, p, a + 1, "outbound", outcome, message,
                                 ring_s, talk_s, rep_busy_s)

    def _log_other(self, r, p, a, t, direction, outcome, talk_s, rep_busy_s):
        if self.call_log is not None:
            self.call_log.append(t, r, -1, p, a + 1, direction, outcome, SILENT,
                                 0.0, talk_s, rep_busy_s)

    # ------------------------------------------------------------------ run
    def run(self) -> dict:
        env = self.env
        self.engine_used = select_engine(self.engine, warn=False)  # runs and sweeps warn
        rep_shifts = self.engine_used.module.rep_shifts  # one rep's shifts, as a process
        for r in range(self.reps):
            self.procs.append(env.process(rep_shifts(self, r)))
        if self.callerid is not None:
            env.process(self._end_of_days())
        env.run()  # reps stop after their last shift; no callback is set past the end
        return self.metrics()

    def metrics(self) -> dict:
        """Every figure of 'What is measured' (docs/results.md), for this run."""
        c = self._counters()
        rep_hours = self.reps * self.days * self.paid_per_day_s / 3600.0
        connects = c["outbound_connects"] + c["inbound_connects"] + c["return_connects"]
        live = c["live_answers"]
        reached = [a for a in self.reached_at_attempt if a]
        out = dict(c)
        out.update(
            connects=connects,
            rep_hours=rep_hours,
            connects_per_rep_hour=connects / rep_hours,
            outbound_connects_per_rep_hour=c["outbound_connects"] / rep_hours,
            dials_per_rep_hour=c["dials"] / rep_hours,
            abandon_rate=(c["abandoned_calls"] / live) if live else 0.0,
            abandon_rate_with_amd=((c["abandoned_calls"] + c["amd_hangups"])
                                   / (live + c["amd_hangups"]))
            if (live + c["amd_hangups"]) else 0.0,
            prospects_reached=len(reached),
            mean_attempts_to_reach=(sum(reached) / len(reached)) if reached else math.nan,
            prospects_dialled=sum(1 for a in self.attempts if a),
            prospects_exhausted=self.status.count(EXHAUSTED),
            prospects_remaining=self.status.count(ACTIVE),
            overtime_hours=self.overtime_s / 3600.0,
            mean_dial_level=self._mean_dial_level(),
            numbers_labelled=len(self.callerid.numbers_ever_labelled) if self.callerid else 0,
            labelled_number_days=sum(self.callerid.timeline["labelled"]) if self.callerid else 0,
        )
        for name, seconds in zip(TIME_CATEGORIES, self.time_s):
            out[f"{name}_hours"] = seconds / 3600.0
        return out

    def _counters(self) -> dict:
        """All counters, in ``COUNTERS`` order. The hot path does not count what
        other counts imply (every dial is in ``dials_by_hour``, every live answer is a
        connect, a gatekeeper or an abandoned call, ...): those are summed here."""
        c = self.c
        c["dials"] = sum(self.dials_by_hour)
        c["voicemails_left"] = sum(self.vm_left_by_hour)
        c["voicemails_reached"] = c["voicemails_left"] + c["silent_hangups"]
        c["live_answers"] = c["outbound_connects"] + c["gatekeeper_answers"] + c["abandoned_calls"]
        c["silent_misses"] = (c["silent_hangups"] + c["no_answers"] + c["abandoned_calls"]
                              + c["amd_hangups"] + c["cancelled_dials"])
        return dict(c)

    def _mean_dial_level(self) -> float:
        batches = sum(self.batches_by_hour)
        if self.mode == "power" or not batches:
            return 1.0
        return sum(self.level_sum_by_hour) / batches

    def timeline(self) -> dict:
        """Counts per campaign hour (index = day * 24 + hour of the team's clock)."""
        hours = self.days * 24
        if self.mode == "power":  # null (None) where no batch was dialled that hour
            level = [1.0 if d else None for d in self.dials_by_hour[:hours]]
        else:
            level = [total / n if n else None
                     for total, n in zip(self.level_sum_by_hour[:hours], self.batches_by_hour[:hours])]
        return {
            "dials": self.dials_by_hour[:hours].tolist(),
            "connects": self.connects_by_hour[:hours].tolist(),
            "voicemails_left": self.vm_left_by_hour[:hours].tolist(),
            "live_answers": self.live_by_hour[:hours].tolist(),
            "abandoned_calls": self.abandoned_by_hour[:hours].tolist(),
            "amd_hangups": self.amd_hangups_by_hour[:hours].tolist(),
            "dial_level": level,
        }

    def numbers_timeline(self) -> dict | None:
        """Per caller-ID number and day: dials, short calls, label state (or None)."""
        return self.callerid.timeline if self.callerid is not None else None


def _doubles(values: np.ndarray) -> array:
    """A copy of ``values`` as float64 machine numbers (the same doubles ``tolist`` gives)."""
    return array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def _ints(n: int, value: int = 0) -> array:
    """``n`` machine integers (int64): list-like in Python, a C array to compiled code."""
    return array("q", [value]) * n


def _clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0
