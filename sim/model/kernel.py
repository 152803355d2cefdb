"""One rep's shifts: the simpy process of a rep, with the power-dialer dial inline.

This is the model's hot path (docs/performance.md). It is plain Python that Cython
compiles as it is ("pure Python mode"): the annotations below are C types when
compiled and mere comments when interpreted. ``setup.py`` builds the compiled twin
``sim.model._kernel_compiled`` from this file at install time; :mod:`sim.experiment.engine`
chooses which one runs. Both give identical results, number for number
(tests/test_fast_path.py and tests/test_engine.py).

The inline dial's steps, and the order of every state change, are those of
:meth:`Campaign._power_dial <sim.model.campaign.Campaign._power_dial>`
(``_next_prospect``, ``_start_attempt``, ``_plan_line``, ``_rep_handling``,
``_account``, ``_apply``, ``_requeue``), which the parallel dialer and the rare
outcomes use: a rule changed there must be changed here too (tests/test_fast_path.py
runs both and compares every number and call).

Written for speed, with the same arithmetic as the methods:

- ``int(t // 3600.0)`` is costly, so the hour of a dial's start and of its
  resolution are kept and recomputed only when time passes the hour's end (a rep's
  clock never goes back);
- draws are read one by one from a flat view of the world (the same float32 values
  ``tolist()`` gives; a float32 read widens to the same double in C and Python);
- Python's float ``//`` and ``%`` are not C's ``floor(a / b)`` and ``fmod``: compiled
  code uses :func:`_floordiv` and :func:`_mod`, which give Python's results
  (tests/test_engine.py checks them against Python's operators);
- no expression adds two float32 values (C would add them in single precision).
"""

import heapq

import cython
import simpy

if cython.compiled:  # C's floor: math.floor would be a Python call returning an int
    from cython.cimports.libc.math import floor
else:
    from math import floor

import sim.model.campaign as model
from sim.model.strategies import SILENT as _SILENT_CODE
from sim.model.streams import ATTEMPT_PURPOSES

DAY_S = cython.declare(cython.double, model.DAY_S)
SILENT = cython.declare(cython.int, _SILENT_CODE)
ACTIVE = cython.declare(cython.int, model.ACTIVE)
EXHAUSTED = cython.declare(cython.int, model.EXHAUSTED)
REACHED = cython.declare(cython.int, model.REACHED)
OPTED_OUT = cython.declare(cython.int, model.OPTED_OUT)
BAD_NUMBER = cython.declare(cython.int, model.BAD_NUMBER)
OFF = cython.declare(cython.int, model.OFF)
DIALLING = cython.declare(cython.int, model.DIALLING)
BUSY = cython.declare(cython.int, model.BUSY)
T_DIALLING = cython.declare(cython.Py_ssize_t, model.T_DIALLING)
T_VOICEMAIL = cython.declare(cython.Py_ssize_t, model.T_VOICEMAIL)
T_TALKING = cython.declare(cython.Py_ssize_t, model.T_TALKING)
T_WRAPUP = cython.declare(cython.Py_ssize_t, model.T_WRAPUP)
C_AVAILABLE = cython.declare(cython.Py_ssize_t, model._C_AVAILABLE)
C_PICKUP = cython.declare(cython.Py_ssize_t, model._C_PICKUP)
C_RING = cython.declare(cython.Py_ssize_t, model._C_RING)
C_VMBOX = cython.declare(cython.Py_ssize_t, model._C_VMBOX)
C_AMD = cython.declare(cython.Py_ssize_t, model._C_AMD)
C_RIGHT = cython.declare(cython.Py_ssize_t, model._C_RIGHT)
C_TALK = cython.declare(cython.Py_ssize_t, model._C_TALK)
C_WRAP = cython.declare(cython.Py_ssize_t, model._C_WRAP)
C_GK = cython.declare(cython.Py_ssize_t, model._C_GK)
C_LISTEN = cython.declare(cython.Py_ssize_t, model._C_LISTEN)
C_CALLBACK = cython.declare(cython.Py_ssize_t, model._C_CALLBACK)
C_CB_DELAY = cython.declare(cython.Py_ssize_t, model._C_CB_DELAY)
C_OPT = cython.declare(cython.Py_ssize_t, model._C_OPT)
C_FOLLOW = cython.declare(cython.Py_ssize_t, model._C_FOLLOW)
# the dial's outcomes, as the call log and Campaign._apply name them
O_BAD, O_CONNECT, O_GATEKEEPER = model.O_BAD, model.O_CONNECT, model.O_GATEKEEPER
O_AMD_HANGUP, O_NO_ANSWER = model.O_AMD_HANGUP, model.O_NO_ANSWER
O_VM_LEFT, O_VM_SILENT = model.O_VM_LEFT, model.O_VM_SILENT
SKIPPED_STATUSES = (model.REACHED, model.OPTED_OUT)


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
    """``int(t // 3600.0)``."""
    return cython.cast(cython.Py_ssize_t, _floordiv(t, 3600.0))


@cython.cfunc
@cython.exceptval(-1)
def _below(t: cython.double, p: cython.Py_ssize_t, key: tuple) -> cython.bint:
    """``(t, p) < key`` for a retry-list key ``(time, prospect)``."""
    key_t: cython.double = key[0]
    return t < key_t or (t == key_t and p < key[1])


def float_ops(a: cython.double, b: cython.double) -> tuple:
    """(``a // b``, ``a % b``) as this module computes them (for tests/test_engine.py)."""
    return _floordiv(a, b), _mod(a, b)


def rep_shifts(self, r: cython.Py_ssize_t):
    """Rep ``r``'s shifts on campaign ``self``: a simpy process (a generator)."""
    env = self.env
    timeout = env.timeout
    heappush, heappop = heapq.heappush, heapq.heappop
    queue = self.return_queues[r]
    power: cython.bint = self.lines == 1
    # the inline dial is the plain power dialer; numbers and pacing use the methods
    generic: cython.bint = not power or not self.inline_power_dial or self.callerid is not None
    log = self.call_log.append if self.call_log is not None else None
    rep_state: cython.longlong[::1] = self.rep_state
    ring_end: cython.double[::1] = self.ring_end
    idle_wake: dict = self.idle_wake
    status: cython.longlong[::1] = self.status
    attempts: cython.longlong[::1] = self.attempts
    owner: cython.longlong[::1] = self.owner
    day_of_last: cython.longlong[::1] = self.day_of_last
    attempts_today: cython.longlong[::1] = self.attempts_today
    bad: cython.longlong[::1] = self.bad
    reach: cython.double[::1] = self.reach
    pickup: cython.double[::1] = self.pickup
    vm_box: cython.double[::1] = self.vm_box
    right_party: cython.double[::1] = self.right_party
    offset: cython.double[::1] = self.offset
    propensity: cython.double[::1] = self.propensity
    hourly_by_index: cython.double[::1] = self.hourly
    # interpreted: availability by float hour, no int() (compiled code indexes the array)
    hourly = None if cython.compiled else {float(h): v for h, v in enumerate(self.hourly)}
    start_hour_end: cython.double = -1.0  # the hour indices below are valid until then
    resolve_hour_end: cython.double = -1.0
    start_hour: cython.Py_ssize_t = 0
    resolve_hour: cython.Py_ssize_t = 0
    day_index: cython.Py_ssize_t = 0
    next_day: cython.double = -1.0  # (floor(t / DAY_S) + 1) * DAY_S while t < next_day_safe
    next_day_safe: cython.double = -1.0
    vm_encounters: cython.longlong[::1] = self.vm_encounters
    policy_table: list = self.policy_table
    touches: cython.longlong[::1] = self.touches
    heard: cython.longlong[::1] = self.heard
    n_messages: cython.Py_ssize_t = self.n_messages
    dials_by_hour: cython.longlong[::1] = self.dials_by_hour
    vm_left_by_hour: cython.longlong[::1] = self.vm_left_by_hour
    live_by_hour: cython.longlong[::1] = self.live_by_hour
    connects_by_hour: cython.longlong[::1] = self.connects_by_hour
    reached_at_attempt: cython.longlong[::1] = self.reached_at_attempt
    pacing_record = self.pacing.record
    time_s: cython.double[::1] = self.time_s
    # the retry list (as Campaign._retry_push, _retry_head, _retry_pop)
    heap: list = self.retry_heap
    run_times: cython.double[::1] = self.run_times
    run_prospects: cython.longlong[::1] = self.run_prospects
    run_span: cython.longlong[::1] = self.run_span
    c: dict = self.c
    draws: cython.float[::1] = self.draws_flat
    pre_s: cython.double[::1] = self.pre_flat
    n_cols: cython.Py_ssize_t = len(ATTEMPT_PURPOSES)
    n_att: cython.Py_ssize_t = self.max_attempts
    n: cython.Py_ssize_t = self.n
    cw_start: cython.double = self.cw_start
    cw_end: cython.double = self.cw_end
    retries_first: cython.bint = self.retries_first
    always_in_window: cython.bint = self.always_in_window
    max_attempts: cython.Py_ssize_t = self.max_attempts
    max_per_day: cython.Py_ssize_t = self.max_per_day
    min_gap_s: cython.double = self.min_gap_s
    s = self.s
    dialer, amd, vm, cb = s.dialer, s.dialer.amd, s.voicemail, s.callbacks
    bad_number_s: cython.double = dialer.bad_number_s
    ring_timeout: cython.double = dialer.ring_timeout_s
    vm_recognise_s: cython.double = dialer.vm_recognise_s
    amd_on: cython.bint = amd.enabled
    amd_delay: cython.double = amd.delay_s
    false_machine: cython.double = amd.false_machine
    false_human: cython.double = amd.false_human
    machine_s: cython.double = ring_timeout + amd_delay if amd_on else ring_timeout
    live_drop: cython.bint = vm.drop_mode == "live"
    live_drop_s: cython.double = vm.beep_wait_s + vm.message_length_s
    p_listen: cython.double = cb.p_listen
    p_callback: cython.double = cb.p_callback
    repeat_mult: cython.double = cb.repeat_message_mult
    p_cb_missed: cython.double = cb.p_callback_missed_call
    silent_mult: cython.double = s.screening.answer_mult_per_silent_miss
    heard_mult: cython.double = s.screening.answer_mult_per_voicemail
    p_opt_heard: cython.double = s.opt_out.p_per_heard_voicemail
    opt_growth: cython.double = s.opt_out.growth_per_touch
    p_opt_connect: cython.double = s.opt_out.p_per_connect
    p_follow_up: cython.double = s.conversation.p_follow_up_after_connect
    # counts of this rep's inline dials, added to the campaign's counters at the end
    no_answers: cython.Py_ssize_t = 0
    silent_hangups: cython.Py_ssize_t = 0
    voicemails_heard: cython.Py_ssize_t = 0
    outbound_connects: cython.Py_ssize_t = 0
    gatekeeper_answers: cython.Py_ssize_t = 0
    bad_numbers: cython.Py_ssize_t = 0
    # per dial
    p: cython.Py_ssize_t
    a: cython.Py_ssize_t
    b: cython.Py_ssize_t
    slot: cython.Py_ssize_t
    earlier: cython.Py_ssize_t
    message: cython.Py_ssize_t
    day: cython.Py_ssize_t
    base: cython.double
    w_start: cython.double
    w_end: cython.double
    w_fast: cython.double
    start: cython.double
    local: cython.double
    pre: cython.double
    resolve_s: cython.double
    voicemail_s: cython.double
    talk_s: cython.double
    wrap_s: cython.double
    dial_s: cython.double
    busy_s: cython.double
    t: cython.double
    eligible: cython.double
    later: cython.double
    risk: cython.double
    available: cython.double
    due: cython.int
    first: cython.Py_ssize_t
    size: cython.Py_ssize_t
    last: cython.Py_ssize_t
    for day in range(self.days):
        base = day * DAY_S
        for ws, we in self.windows:
            w_start, w_end = base + ws, base + we
            w_fast = w_end - 1.0  # a dial ending by then is inside the window, all parts
            self.rep_window_end[r] = w_end
            if env.now < w_start:
                rep_state[r] = OFF
                yield timeout(w_start - env.now)
            # ``start`` is the current time: re-read after anything that waits, and
            # after a dial it is start + busy_s (exactly the time simpy resumes at)
            start = env.now
            while start < w_end:
                if queue:
                    item = queue.popleft()
                    if status[item[1]] not in SKIPPED_STATUSES:
                        yield from self._return_call(r, item, w_end)
                        start = env.now
                    continue
                if generic:  # the parallel dialer, or the reference power dialer
                    batch = []
                    size = 1 if power else self._batch_size(r, start)
                    while len(batch) < size:
                        next_p = self._next_prospect(start)
                        if next_p is None:
                            break
                        batch.append(next_p)
                    if not batch:
                        yield from self._idle(r, min(self._next_work_time(), w_end), w_end)
                    elif power:
                        yield from self._power_dial(r, batch[0], w_end)
                    else:
                        yield from self._parallel_dial(r, batch, w_end)
                    start = env.now
                    continue
                # -- the next prospect (as _next_prospect)
                while True:
                    due = 0  # is the retry list's smallest key due? 1: in the run, 2: the heap
                    if retries_first or self.next_fresh >= n:
                        first = run_span[0]
                        if run_span[1] and (not heap or _below(run_times[first], run_prospects[first], heap[0])):
                            if run_times[first] <= start:
                                due = 1
                        elif heap and heap[0][0] <= start:
                            due = 2
                    if due == 1:
                        p = run_prospects[first]
                        run_span[0] = (first + 1) % n
                        run_span[1] -= 1
                    elif due == 2:
                        p = heappop(heap)[1]
                    elif self.next_fresh < n:
                        p = self.next_fresh
                        self.next_fresh = p + 1
                    else:
                        p = -1
                        break
                    if status[p] != ACTIVE:
                        continue
                    if always_in_window:
                        break
                    local = _mod(start + offset[p], DAY_S)
                    if cw_start <= local < cw_end:
                        break
                    self._retry_push(self._window_opens(start, local), p)
                if p < 0:
                    yield from self._idle(r, min(self._next_work_time(), w_end), w_end)
                    start = env.now
                    continue
                # -- book-keeping (as _start_attempt)
                a = attempts[p]
                attempts[p] = a + 1
                if start >= start_hour_end:
                    start_hour = _hour_of(start)
                    start_hour_end = (start_hour + 1) * 3600.0
                    day_index = start_hour // 24  # = int(start // DAY_S)
                if day_of_last[p] != day_index:
                    day_of_last[p] = day_index
                    attempts_today[p] = 0
                attempts_today[p] += 1
                owner[p] = r
                dials_by_hour[start_hour] += 1
                b = (p * n_att + a) * n_cols  # row [p, a] of the draws
                # -- what the line does (as _plan_line) and costs the rep (as _rep_handling)
                pre = pre_s[p * n_att + a]  # research + setup
                message = SILENT
                voicemail_s = talk_s = wrap_s = 0.0
                if bad[p]:
                    resolve_s, outcome = bad_number_s, O_BAD
                else:
                    # P(at the phone) at the prospect's local hour when the line rings
                    if cython.compiled:
                        local = _mod(start + pre + offset[p], DAY_S)
                        available = reach[p] * hourly_by_index[cython.cast(
                            cython.Py_ssize_t, _floordiv(local, 3600.0))]
                    else:
                        available = reach[p] * hourly[(start + pre + offset[p]) % DAY_S // 3600.0]
                    if (draws[b + C_AVAILABLE] < available and draws[b + C_PICKUP] < pickup[p]
                            and draws[b + C_RING] < ring_timeout):
                        resolve_s = draws[b + C_RING] + amd_delay if amd_on else draws[b + C_RING]
                        if amd_on and draws[b + C_AMD] < false_machine:
                            outcome = O_AMD_HANGUP
                        elif draws[b + C_RIGHT] < right_party[p]:
                            outcome, talk_s, wrap_s = O_CONNECT, draws[b + C_TALK], draws[b + C_WRAP]
                        else:
                            outcome, talk_s = O_GATEKEEPER, draws[b + C_GK]
                    elif draws[b + C_VMBOX] < vm_box[p]:
                        resolve_s = machine_s
                        if not amd_on or draws[b + C_AMD] < false_human:  # the rep hears the greeting
                            voicemail_s = vm_recognise_s
                        message = policy_table[vm_encounters[p]]
                        if message == SILENT:
                            outcome = O_VM_SILENT
                        else:
                            if live_drop:
                                voicemail_s += live_drop_s
                            outcome = O_VM_LEFT
                    else:
                        resolve_s, outcome = ring_timeout, O_NO_ANSWER
                dial_s = pre + resolve_s
                busy_s = dial_s + voicemail_s + talk_s + wrap_s
                rep_state[r] = DIALLING
                ring_end[r] = start + dial_s
                # -- ONE timeout for research, ringing and the rep's handling
                try:
                    yield timeout(busy_s)
                except simpy.Interrupt as irq:  # an inbound call: the dialer hangs up this line
                    yield from self._hang_up_for_inbound(r, p, a, start, irq.cause, w_end)
                    start = env.now
                    continue
                rep_state[r] = BUSY
                # -- rep time (as _account; near the window's end, parts may be overtime)
                if start + busy_s <= w_fast:
                    time_s[T_DIALLING] += dial_s
                    if voicemail_s:
                        time_s[T_VOICEMAIL] += voicemail_s
                    if talk_s:
                        time_s[T_TALKING] += talk_s
                    if wrap_s:
                        time_s[T_WRAPUP] += wrap_s
                else:
                    self._account_dial(start, dial_s, voicemail_s, talk_s, wrap_s, w_end)
                if log is not None:  # as _log
                    log(start, r, 0, p, a + 1, "outbound", outcome, message, resolve_s, talk_s, busy_s)
                # -- effects (as _apply; the rarer outcomes go through it)
                t = start + dial_s
                if t >= resolve_hour_end:
                    resolve_hour = _hour_of(t)
                    resolve_hour_end = (resolve_hour + 1) * 3600.0
                    next_day = (resolve_hour // 24 + 1) * DAY_S
                    next_day_safe = next_day - 1.0  # then t / DAY_S rounds below the next day
                if outcome is O_VM_LEFT:
                    vm_left_by_hour[resolve_hour] += 1
                    vm_encounters[p] += 1
                    if draws[b + C_LISTEN] < p_listen:  # heard (as _heard_message)
                        voicemails_heard += 1
                        pickup[p] *= heard_mult
                        risk = p_opt_heard * opt_growth ** touches[p]
                        touches[p] += 1
                        if draws[b + C_OPT] < risk:
                            self._opt_out(p)
                        else:
                            slot = p * n_messages + message
                            earlier = heard[slot]
                            heard[slot] = earlier + 1
                            if draws[b + C_CALLBACK] < p_callback * propensity[p] * repeat_mult ** earlier:
                                self._schedule_callback(p, a, draws[b + C_CB_DELAY], t)
                elif outcome is O_NO_ANSWER or outcome is O_VM_SILENT:
                    if outcome is O_NO_ANSWER:
                        no_answers += 1
                    else:
                        silent_hangups += 1
                        vm_encounters[p] += 1
                    pickup[p] *= silent_mult  # as _silent_miss
                    if draws[b + C_CALLBACK] < p_cb_missed * propensity[p]:
                        self._schedule_callback(p, a, draws[b + C_CB_DELAY], t)
                elif outcome is O_CONNECT:
                    live_by_hour[resolve_hour] += 1
                    pacing_record(False)
                    outbound_connects += 1
                    connects_by_hour[resolve_hour] += 1
                    if status[p] != REACHED and not reached_at_attempt[p]:  # as _reached
                        reached_at_attempt[p] = attempts[p]
                    status[p] = REACHED
                    if draws[b + C_OPT] < p_opt_connect * opt_growth ** touches[p]:
                        self._opt_out(p)
                    elif draws[b + C_FOLLOW] < p_follow_up:
                        status[p] = ACTIVE  # stays on the list for a follow-up dial
                    touches[p] += 1
                elif outcome is O_GATEKEEPER:
                    live_by_hour[resolve_hour] += 1
                    pacing_record(False)
                    gatekeeper_answers += 1
                elif outcome is O_BAD:
                    bad_numbers += 1
                    status[p] = BAD_NUMBER
                else:  # AMD hang-ups: rare, through the method
                    self._apply(r, p, a, self.draws[p, a].tolist(), outcome, message, t)
                    start += busy_s
                    continue
                # -- back on the list (as _requeue)
                if status[p] == ACTIVE:
                    if attempts[p] >= max_attempts:
                        status[p] = EXHAUSTED
                    else:
                        eligible = t + min_gap_s
                        if attempts_today[p] >= max_per_day:
                            later = next_day if t < next_day_safe else (floor(t / DAY_S) + 1) * DAY_S
                            if later > eligible:  # = max(eligible, later)
                                eligible = later
                        first, size = run_span[0], run_span[1]  # as _retry_push
                        last = (first + size - 1) % n
                        if not size or run_times[last] < eligible or (
                                run_times[last] == eligible and run_prospects[last] < p):
                            slot = (first + size) % n
                            run_times[slot] = eligible
                            run_prospects[slot] = p
                            run_span[1] = size + 1
                        else:
                            heappush(heap, (eligible, p))
                        if idle_wake:
                            self._wake_idle(eligible)
                start += busy_s
    self.rep_state[r] = OFF
    c["no_answers"] += no_answers
    c["silent_hangups"] += silent_hangups
    c["voicemails_heard"] += voicemails_heard
    c["outbound_connects"] += outbound_connects
    c["gatekeeper_answers"] += gatekeeper_answers
    c["bad_numbers"] += bad_numbers
