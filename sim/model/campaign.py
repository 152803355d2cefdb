"""A campaign: one strategy on one replication's world, run by a kernel it is given.

:class:`Campaign` builds the state a campaign needs (flat typed arrays per prospect,
rep and hour), the simpy environment and one process per rep, and hands them to a
kernel: every rule of a dial is in :mod:`sim.model.kernel`, written once. Which build
of the kernel runs (compiled or interpreted, same numbers) is the caller's choice
(:mod:`sim.experiment.engine`): the model never chooses how it is run. After the run,
``metrics()``, ``timeline()`` and ``numbers_timeline()`` turn the arrays into the
figures of docs/results.md.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable
from types import ModuleType

import numpy as np
import simpy

from sim.model import codes
from sim.model.codes import ACTIVE, DAY_S, EXHAUSTED, TIME_CATEGORIES
from sim.model.strategies import VoicemailPlan
from sim.model.streams import World, spam_label_draws
from sim.scenario.schema import Scenario


GROUP_HOURS = ("rep_hours", "idle_hours", "overtime_hours")  # rep-group rows only


class Campaign:
    """One strategy on one replication. ``run()`` returns the metric dict.

    ``plan``: the strategy as the kernel runs it (:func:`sim.model.strategies.voicemail_plan`).
    ``kernel``: a build of :mod:`sim.model.kernel` (the module, compiled or not).
    ``on_day``: called with the number of simulated days done, at each day's end
    (progress for long replications); it cannot change results.
    """

    def __init__(self, scenario: Scenario, world: World, plan: VoicemailPlan, *,
                 kernel: ModuleType, call_log=None, on_day: Callable[[int], None] | None = None):
        self.scenario = scenario
        self.world = world
        self.kernel_module = kernel
        self.call_log = call_log
        self.on_day = on_day
        self.env = simpy.Environment()

        cal = scenario.calendar
        self.days = cal.days
        self.windows = cal.work_windows_s()
        self.windows_flat = array("d", [float(t) for window in self.windows for t in window])
        self.paid_per_day_s = float(sum(e - s for s, e in self.windows))
        self._rep_groups(scenario)
        self.work_day = array("d", [float(d) for d in cal.work_day_offsets()])
        self.calendar_days = int(self.work_day[-1]) + 1  # weekends and days off included
        working = set(int(d) for d in self.work_day)
        before, count = [], 0
        for day in range(self.calendar_days + 1):  # working days before each calendar day
            before.append(float(count))
            count += day in working
        self.work_days_before = array("d", before)
        self.end_s = self.calendar_days * DAY_S

        n = scenario.prospects.count
        self.n = n
        self.plan = plan
        self.n_messages = max(1, len(plan.labels))
        self.policy_table = array("i", plan.table)  # segment * max_attempts + encounter
        self.segment = _read_only(world.segment)
        self.zone = _read_only(world.time_zone)
        n_counts = len(codes.BROKEN_DOWN)
        self.by_segment = _longs(len(scenario.prospects.segments) * n_counts)
        self.by_zone = _longs(len(scenario.prospects.time_zones) * n_counts)
        self.by_local_hour = _longs(len(scenario.prospects.time_zones) * 24 * 2)
        self.status = _shorts(n, ACTIVE)
        self.bad = _read_only(world.bad_number.view(np.uint8))
        self.attempts = _shorts(n)
        self.vm_encounters = _shorts(n)
        self.touches = _shorts(n)
        self.owner = _shorts(n)
        self.day_of_last = _shorts(n, -1)
        self.attempts_today = _shorts(n)
        self.reached_at_attempt = _shorts(n)
        self.heard = _shorts(n * self.n_messages)
        self.pickup = _doubles(world.p_pickup)  # screening changes it: this campaign's copy
        # the world's own arrays, read only and shared by every strategy of a replication
        self.reach = _read_only(world.reachability)
        self.vm_box = _read_only(world.p_voicemail_box)
        self.right_party = _read_only(world.p_right_party)
        self.propensity = _read_only(world.callback_propensity)
        self.offset = _read_only(world.utc_offset_s)
        self.voicemail_line = _read_only(world.voicemail_line)
        self.habit_shift_h = _read_only(world.habit_shift_h)

        pros = scenario.prospects
        self.hourly = array("d", [float(v) for v in pros.hourly_availability])
        self.cw_start = _clock(pros.calling_window_start)
        self.cw_end = _clock(pros.calling_window_end)
        self.always_in_window = self._always_in_window(np.unique(world.utc_offset_s).tolist())

        reps = scenario.team.reps
        self.reps = reps
        self.lines = scenario.team.lines_per_rep
        self.mode = scenario.dialer.resolved_mode(self.lines)
        self.pacer = kernel.make_pacer(scenario)
        cid = scenario.caller_id
        self.callerid = None
        self.number_of = _ints(n if cid.enabled else 1)  # the number p's last dial showed
        if cid.enabled:
            n_numbers = cid.numbers_per_pool * (reps if cid.pool == "per_rep" else 1)
            self.callerid = kernel.CallerIdNumbers(
                cid, reps, self.days,
                spam_label_draws(world.seed, world.replication, self.days, n_numbers))
        self.screen_by_number = (
            {} if cid.enabled and scenario.screening.scope == "number" else None
        )  # (prospect, number) -> screening multiplier, when prospects screen numbers
        self.rep_state = _ints(reps, codes.OFF)
        self.ring_end = array("d", [0.0]) * reps
        self.procs: list = []
        if scenario.team.inbound_routing == "any_rep":
            shared = deque()
            self.return_queues = [shared] * reps
        elif scenario.team.inbound_routing == "group":  # one queue per rep group
            self.return_queues = []
            for _, size, _ in self.groups:
                shared = deque()
                self.return_queues += [shared] * size
        else:
            self.return_queues = [deque() for _ in range(reps)]

        self.counts = array("q", [0]) * len(codes.COUNTED)
        self.time_s = array("d", [0.0]) * len(TIME_CATEGORIES)
        hours = self.calendar_days * 24 + 24
        self.dials_by_hour = _longs(hours)
        self.connects_by_hour = _longs(hours)
        self.vm_left_by_hour = _longs(hours)
        self.abandoned_by_hour = _longs(hours)
        self.amd_hangups_by_hour = _longs(hours)
        self.live_by_hour = _longs(hours)
        self.level_sum_by_hour = array("d", [0.0]) * hours  # dial level of each batch, summed
        self.batches_by_hour = _longs(hours)
        self.kernel = kernel.Kernel(self)

    def _rep_groups(self, scenario: Scenario) -> None:
        """Per rep group: its reps (in order: group 0's first), its work windows on the
        team's clock (flattened, group after group) and its paid seconds per day. The
        kernel reads them; ``self.windows`` holds every group's windows for the calling
        window check below."""
        self.groups = scenario.rep_groups()
        self.n_groups = len(self.groups)
        self.rep_group = _ints(0)
        self.group_rep_first = _ints(0)
        self.window_first = _ints(0)
        windows: list = []
        paid = []
        for g, (_, size, group_windows) in enumerate(self.groups):
            self.group_rep_first.append(len(self.rep_group))
            self.rep_group.extend([g] * size)
            self.window_first.append(len(windows))
            windows += group_windows
            paid.append(float(sum(e - s for s, e in group_windows)))
        self.group_rep_first.append(len(self.rep_group))
        self.window_first.append(len(windows))
        lines = scenario.team.lines_per_rep  # a group may give its reps fewer lines
        self.rep_lines = _ints(0)
        for g, (_, size, _) in enumerate(self.groups):
            own = scenario.team.groups[g].lines_per_rep if scenario.team.groups else None
            self.rep_lines.extend([lines if own is None else own] * size)
        self.windows = windows
        self.windows_flat = array("d", [float(t) for window in windows for t in window])
        self.group_paid_per_day_s = array("d", paid)
        self.paid_per_day_s = paid[0]  # (one group: its shift may differ from the calendar's)
        self.by_group = _longs(self.n_groups * len(codes.BROKEN_DOWN))
        self.idle_by_group_s = array("d", [0.0]) * self.n_groups
        self.overtime_by_group_s = array("d", [0.0]) * self.n_groups

    def group_rep_hours(self) -> list[float]:
        """Paid rep-hours of each rep group over the campaign."""
        return [size * self.days * paid / 3600.0
                for (_, size, _), paid in zip(self.groups, self.group_paid_per_day_s)]

    def _always_in_window(self, offsets) -> bool:
        """True when every prospect's clock is inside the calling window whenever a rep
        can start a dial (inside a shift window; 1 s margin for rounding): then the
        kernel need not check it per dial, as nobody would fail the check."""
        for off in offsets:
            for ws, we in self.windows:
                local_start = (ws + off) % DAY_S
                if not (self.cw_start + 1.0 <= local_start
                        and local_start + (we - ws) <= self.cw_end - 1.0):
                    return False
        return True

    # ------------------------------------------------------------------ run
    def run(self) -> dict:
        env = self.env
        for r in range(self.reps):
            self.procs.append(env.process(self.kernel_module.rep_shifts(self.kernel, r)))
        for day in range(self.days):
            # the end of each working day (a second before midnight): close the day's
            # caller-ID counts (spam labels are decided overnight) and report progress;
            # neither touches what the reps do. (Run in steps, not as a process: a
            # process would sit in simpy's event queue all run long, and every dial's
            # push and pop would pay for it.)
            env.run(until=(self.work_day[day] + 1) * DAY_S - 1.0)
            if self.callerid is not None:
                self.callerid.end_of_day(day)
            if self.on_day is not None:
                self.on_day(day + 1)
        env.run()  # reps stop after their last shift; no callback is set past the end
        return self.metrics()

    # ------------------------------------------------------------------ results
    def metrics(self) -> dict:
        """Every figure of 'What is measured' (docs/results.md), for this run."""
        c = self._counters()
        rep_hours = self.reps * self.days * self.paid_per_day_s / 3600.0
        if self.n_groups > 1:
            rep_hours = sum(self.group_rep_hours())
        connects = c["outbound_connects"] + c["inbound_connects"] + c["return_connects"]
        live = c["live_answers"]
        reached_at = np.frombuffer(self.reached_at_attempt, dtype=np.int16)
        reached = reached_at[reached_at != 0]
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
            prospects_reached=int(reached.size),
            mean_attempts_to_reach=(int(reached.sum(dtype=np.int64)) / reached.size
                                    if reached.size else math.nan),
            prospects_dialled=int(np.count_nonzero(np.frombuffer(self.attempts, dtype=np.int16))),
            prospects_exhausted=self.status.count(EXHAUSTED),
            prospects_remaining=self.status.count(ACTIVE),
            overtime_hours=self.kernel.overtime() / 3600.0,
            recorded_drop_hours=self.kernel.recorded_drop_seconds() / 3600.0,
            mean_dial_level=self._mean_dial_level(),
            numbers_labelled=len(self.callerid.numbers_ever_labelled) if self.callerid else 0,
            labelled_number_days=sum(self.callerid.timeline["labelled"]) if self.callerid else 0,
        )
        for name, seconds in zip(TIME_CATEGORIES, self.time_s):
            out[f"{name}_hours"] = seconds / 3600.0
        return out

    def _counters(self) -> dict:
        """All counters, in ``COUNTERS`` order. The kernel does not count what other
        counts imply (every dial is in ``dials_by_hour``, every live answer is a
        connect, a gatekeeper or an abandoned call, ...): those are summed here."""
        c = dict(zip(codes.COUNTED, self.counts))
        c["dials"] = sum(self.dials_by_hour)
        c["voicemails_left"] = sum(self.vm_left_by_hour)
        c["voicemails_reached"] = c["voicemails_left"] + c["silent_hangups"]
        c["live_answers"] = c["outbound_connects"] + c["gatekeeper_answers"] + c["abandoned_calls"]
        c["callback_connects"] = (c["inbound_connects"] - c["email_reply_connects"]
                                  - c["text_reply_connects"])
        c["silent_misses"] = (c["silent_hangups"] + c["no_answers"] + c["abandoned_calls"]
                              + c["amd_hangups"] + c["cancelled_dials"])
        return {name: c[name] for name in codes.COUNTERS}

    def _mean_dial_level(self) -> float:
        batches = sum(self.batches_by_hour)
        if self.mode == "power" or not batches:
            return 1.0
        return sum(self.level_sum_by_hour) / batches

    def timeline(self) -> dict:
        """Counts per campaign hour (index = calendar day * 24 + hour of the team's clock;
        days off included)."""
        hours = self.calendar_days * 24
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

    def breakdown(self) -> dict:
        """Counts per list segment and per prospect time zone (breakdown.parquet)."""
        out = {"dimension": [], "group": [], **{name: [] for name in codes.BROKEN_DOWN}}
        n_counts = len(codes.BROKEN_DOWN)
        pros = self.scenario.prospects
        if len(pros.segments) == 1 and len(pros.time_zones) == 1:  # the kernel counted none
            totals = self._counters()
            for j, name in enumerate(codes.BROKEN_DOWN):
                self.by_segment[j] = self.by_zone[j] = totals[name]
        for dimension, groups, counts in (
                ("segment", self.scenario.prospects.segments, self.by_segment),
                ("time_zone", self.scenario.prospects.time_zones, self.by_zone)):
            for i, group in enumerate(groups):
                out["dimension"].append(dimension)
                out["group"].append(group.name)
                for j, name in enumerate(codes.BROKEN_DOWN):
                    out[name].append(counts[i * n_counts + j])
        self._group_breakdown(out)
        self._local_hour_breakdown(out)
        return out

    def _local_hour_breakdown(self, out: dict) -> None:
        """Rows per prospect time zone and local hour with a dial (dimension
        "local_hour", the zone's name and the ``hour``): dials and outbound connects
        (the other counters null); only with several time zones (else the team's hour,
        timeline.parquet, says the same)."""
        out["hour"] = [None] * len(out["group"])
        zones = self.scenario.prospects.time_zones
        if len(zones) < 2:
            return
        for z, zone in enumerate(zones):
            for hour in range(24):
                slot = (z * 24 + hour) * 2
                if not (self.by_local_hour[slot] or self.by_local_hour[slot + 1]):
                    continue  # (a connect answered just past the hour of its dial counts)
                out["dimension"].append("local_hour")
                out["group"].append(zone.name)
                out["hour"].append(hour)
                for counter in codes.BROKEN_DOWN:
                    out[counter].append(None)
                out["dials"][-1] = self.by_local_hour[slot]
                out["outbound_connects"][-1] = self.by_local_hour[slot + 1]
                for column in GROUP_HOURS:
                    out[column].append(None)

    def _group_breakdown(self, out: dict) -> None:
        """Rows per rep group (dimension "rep_group"): the counts, paid, idle and overtime
        hours (null in the segment and time-zone rows)."""
        n_counts = len(codes.BROKEN_DOWN)
        for column in GROUP_HOURS:
            out[column] = [None] * len(out["group"])
        if self.n_groups == 1:  # the kernel counted none: the run's totals are the group's
            totals = self._counters()
            for j, name in enumerate(codes.BROKEN_DOWN):
                self.by_group[j] = totals[name]
            self.idle_by_group_s[0] = self.time_s[TIME_CATEGORIES.index("idle")]
            self.overtime_by_group_s[0] = self.kernel.overtime()
        for g, ((name, _, _), paid_h) in enumerate(zip(self.groups, self.group_rep_hours())):
            out["dimension"].append("rep_group")
            out["group"].append(name)
            for j, counter in enumerate(codes.BROKEN_DOWN):
                out[counter].append(self.by_group[g * n_counts + j])
            out["rep_hours"].append(paid_h)
            out["idle_hours"].append(self.idle_by_group_s[g] / 3600.0)
            out["overtime_hours"].append(self.overtime_by_group_s[g] / 3600.0)

    def numbers_timeline(self) -> dict | None:
        """Per caller-ID number and day: dials, short calls, label state (or None)."""
        return self.callerid.timeline if self.callerid is not None else None


def _doubles(values: np.ndarray) -> array:
    """A copy of ``values`` as float64 machine numbers (the same doubles ``tolist`` gives)."""
    return array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def _read_only(values: np.ndarray) -> memoryview:
    """A view of a world array for the kernel: its items read as Python numbers (the
    same doubles a copy would hold), nothing copied."""
    return memoryview(np.ascontiguousarray(values))


def _shorts(n: int, value: int = 0) -> array:
    """``n`` int16: per-prospect counts and indices that stay small (attempts <= 100,
    days <= 3650, reps <= 10,000), half the memory of int32 on a long list."""
    return array("h", [value]) * n


def _ints(n: int, value: int = 0) -> array:
    """``n`` machine integers (int32: per-prospect counts and indices)."""
    return array("i", [value]) * n


def _longs(n: int) -> array:
    """``n`` int64 counters (per hour)."""
    return array("q", [0]) * n


def _clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0
