"""Scenario files: the strict, versioned, validated input of every run.

A scenario is a TOML file. Every section and key is declared here with its default,
its unit (in the key's name) and its allowed range; unknown keys are errors. Loading
never raises anything but :class:`sim.errors.UserError` for a user's mistake, with a
message naming the file, the key path and the problem.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import stat
import tomllib
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import (
    Distribution,
    Fixed,
    LogNormal,
    coerce_distribution,
    dist_at_most,
)
from sim.errors import UserError

SCHEMA_VERSION = 1

# Limits on what a scenario or sweep file may be (docs/model.md, "Limits").
MAX_INPUT_BYTES = 1 << 20  # 1 MiB: the bundled scenarios are ~4 KB
MAX_NESTING = 32  # tables and lists inside each other
MAX_ERROR_LINES = 20  # then "... and N more"

# Upper bounds of durations, by unit and by what they hold up.
CALL_STEP_S = 3600.0  # one step of a call: setup, ringing, a recorded message, AMD
WORK_S = 4 * 3600.0  # rep work around a call: research, wrap-up
TALK_S = 8 * 3600.0  # a conversation
YEAR_H = 8760.0  # gaps, delays and half-lives in hours

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveSeconds = Annotated[float, Field(gt=0.0, le=CALL_STEP_S)]
NonNegativeSeconds = Annotated[float, Field(ge=0.0, le=CALL_STEP_S)]
PositiveHours = Annotated[float, Field(gt=0.0, le=YEAR_H)]
NonNegativeHours = Annotated[float, Field(ge=0.0, le=YEAR_H)]
Weight = Annotated[float, Field(gt=0, le=1e6)]


def _printable(text: str) -> str:
    """Names are shown in tables, charts and reports: no control characters."""
    bad = next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(f"names may not hold control characters (found U+{ord(bad):04X})")
    return text


Label = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_printable)]


def _dist(cap: float, unit: str):
    """A duration key: a number (fixed) or a distribution table, draws at most ``cap``."""
    return Annotated[Distribution, BeforeValidator(coerce_distribution), dist_at_most(cap, unit)]


Dist = _dist(CALL_STEP_S, "s")


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are checked.

    strict: a bool or a string is never taken for a number (``reps = true`` and
    ``reps = "4"`` are errors; an integer is fine where a real number is expected);
    allow_inf_nan off: every number is finite.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True,
                              allow_inf_nan=False)


def _shift_problem(group) -> str | None:
    """What is wrong with a rep group's shift and break ('key: problem'), or None."""
    start, end = _clock_to_seconds(group.shift_start), _clock_to_seconds(group.shift_end)
    if end <= start:
        return f"shift_end: {group.shift_end} must be after shift_start ({group.shift_start})"
    if (group.break_start is None) != (group.break_end is None):
        return "break_start: break_start and break_end must both be set or both be null"
    if group.break_start is not None:
        b0, b1 = _clock_to_seconds(group.break_start), _clock_to_seconds(group.break_end)
        if not (start < b0 < b1 < end):
            return (f"break_start: the break ({group.break_start}-{group.break_end}) must lie "
                    f"strictly inside the shift ({group.shift_start}-{group.shift_end}); "
                    "windows may not overlap")
    return None


def _clock_text(seconds: int) -> str:
    """Seconds after midnight (may be out of 0-24 h) as a signed 'HH:MM'."""
    sign = "-" if seconds < 0 else ""
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_to_seconds(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _check_clock(value: str) -> str:
    parts = value.split(":") if isinstance(value, str) else []
    if (
        len(parts) != 2
        or not all(p.isascii() and p.isdigit() and 1 <= len(p) <= 2 for p in parts)
        or not (0 <= int(parts[0]) <= 24 and 0 <= int(parts[1]) < 60)
        or (int(parts[0]) == 24 and int(parts[1]) != 0)
    ):
        raise ValueError("expected a clock time 'HH:MM' (00:00-24:00)")
    return value


Clock = Annotated[str, BeforeValidator(_check_clock)]


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Calendar(Strict):
    """Working days and the daily shift. Reps dial only inside the shift."""

    days: int = Field(5, ge=1, le=3650, description="working days in the campaign")
    start_weekday: Weekday = Field("mon", description="the weekday of the campaign's first day")
    work_weekdays: list[Weekday] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1, max_length=7,
        description="the weekdays reps work (weekends off by default)")
    shift_start: Clock = "09:00"
    shift_end: Clock = "17:00"
    break_start: Clock | None = Field("12:00", description="unpaid break; null (or \"none\" in a file) for none")
    break_end: Clock | None = "13:00"

    @field_validator("break_start", "break_end", mode="before")
    @classmethod
    def _none_word(cls, value):
        """TOML has no null: a file says ``break_start = "none"`` for no break."""
        return None if isinstance(value, str) and value.strip().lower() == "none" else value

    @model_validator(mode="after")
    def _ordered(self):
        if len(set(self.work_weekdays)) != len(self.work_weekdays):
            raise ValueError(f"work_weekdays: each weekday once, got {self.work_weekdays}")
        start, end = _clock_to_seconds(self.shift_start), _clock_to_seconds(self.shift_end)
        if end <= start:
            raise ValueError(
                f"shift_end ({self.shift_end}) must be after shift_start ({self.shift_start})"
            )
        if (self.break_start is None) != (self.break_end is None):
            raise ValueError("break_start and break_end must both be set or both be null")
        if self.break_start is not None:
            b0, b1 = _clock_to_seconds(self.break_start), _clock_to_seconds(self.break_end)
            if not (start < b0 < b1 < end):
                raise ValueError(
                    f"the break ({self.break_start}-{self.break_end}) must lie strictly "
                    f"inside the shift ({self.shift_start}-{self.shift_end})"
                )
        return self

    def work_day_offsets(self) -> list[int]:
        """The calendar day (0 = the first day) of each working day, in order."""
        work = set(self.work_weekdays)
        first = WEEKDAYS.index(self.start_weekday)
        out, day = [], 0
        while len(out) < self.days:
            if WEEKDAYS[(first + day) % 7] in work:
                out.append(day)
            day += 1
        return out

    def work_windows_s(self) -> list[tuple[int, int]]:
        """Paid windows within a day, as (start, end) seconds after midnight."""
        start, end = _clock_to_seconds(self.shift_start), _clock_to_seconds(self.shift_end)
        if self.break_start is None:
            return [(start, end)]
        b0, b1 = _clock_to_seconds(self.break_start), _clock_to_seconds(self.break_end)
        return [(start, b0), (b1, end)]

    def paid_hours_per_day(self) -> float:
        return sum(e - s for s, e in self.work_windows_s()) / 3600.0


class AMD(Strict):
    """Answering-machine detection: the dialer listens, then decides human or machine."""

    enabled: bool = False
    delay_s: NonNegativeSeconds = Field(3.5, description="time AMD listens before deciding")
    false_machine: Probability = Field(
        0.05, description="P(a human is called a machine): the dialer hangs up on a live person"
    )
    false_human: Probability = Field(
        0.10, description="P(a machine is called a human): the rep is handed a machine"
    )


class RepGroup(Strict):
    """A group of reps (an office, a shift) with its own shift, break and office clock.

    Shift keys left out take the calendar's; the office clock (``utc_offset_h``) is the
    office's local time minus the team's clock, written as prospects' time zones are:
    a group at +5 working 13:00-21:30 works 08:00-16:30 on the team's clock."""

    name: Label
    reps: int = Field(ge=1, le=10_000, description="reps in the group")
    utc_offset_h: float = Field(
        0.0, ge=-24, le=24, description="the office's clock minus the team's clock, hours; "
        "its shift is written on the office's clock")
    shift_start: Clock = Field("09:00", description="office clock (default: calendar.shift_start)")
    shift_end: Clock = Field("17:00", description="office clock (default: calendar.shift_end)")
    break_start: Clock | None = Field(
        "12:00", description="unpaid break, office clock; null (or \"none\") for none "
        "(default: the calendar's break)")
    break_end: Clock | None = "13:00"
    lines_per_rep: int | None = Field(
        None, ge=1, le=20,
        description="this group's dialer lines per rep, at most team.lines_per_rep (a "
        "parallel or predictive dialer dials up to this many at once for its reps); "
        "null = team.lines_per_rep")

    @field_validator("break_start", "break_end", mode="before")
    @classmethod
    def _none_word(cls, value):
        return None if isinstance(value, str) and value.strip().lower() == "none" else value

    def work_windows_s(self) -> list[tuple[int, int]]:
        """Paid windows within a day on the team's clock, (start, end) seconds after
        midnight (validated to lie within 00:00-24:00 of the team's day)."""
        return [(round(s - self.utc_offset_h * 3600), round(e - self.utc_offset_h * 3600))
                for s, e in Calendar.work_windows_s(self)]  # same keys, same rule


class Team(Strict):
    reps: int = Field(4, ge=1, le=10_000)
    lines_per_rep: int = Field(
        1, ge=1, le=20,
        description="lines each rep's dialer has: 1 = power dialer; more = parallel or predictive "
        "(dialer.mode), dialling up to this many at once"
    )
    research_s: _dist(WORK_S, "s") = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="per-lead research/prep before each dial (0 on a power dialer)",
    )
    inbound_routing: Literal["own_rep", "any_rep", "group"] = Field(
        "own_rep",
        description="who may answer a callback: the rep who last dialled the prospect, any "
        "free rep, or (group) that rep first, then a free rep of its group",
    )
    groups: list[RepGroup] = Field(
        default_factory=list, max_length=100,
        description="rep groups (offices, shifts), each with its reps, shift, break and "
        "office clock; none = one group: team.reps on the calendar's shift")

    @model_validator(mode="after")
    def _groups_add_up(self):
        if not self.groups:
            return self
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"groups: names must be unique, got {names}")
        total = sum(g.reps for g in self.groups)
        if "reps" in self.model_fields_set and self.reps != total:
            raise ValueError(f"reps: {self.reps}, but the groups hold {total} reps; leave "
                             "team.reps out (it is their sum) or make them agree")
        if total > 10_000:
            raise ValueError(f"groups: {total} reps in all; at most 10,000")
        object.__setattr__(self, "reps", total)
        return self


class Predictive(Strict):
    """Predictive pacing: the dial level adapts to hold the abandon rate at a target."""

    target_abandon_rate: Probability = Field(
        0.03, description="abandoned / live answers to hold at or under (US and UK rules: "
        "at most 3%)"
    )
    margin: float = Field(
        0.1, ge=0, lt=1,
        description="aim this share below the target (0.1: 2.7% for a 3% cap), so the "
        "campaign's rate stays at or under the target with confidence, not on average")
    window_live_answers: int = Field(200, ge=10, le=100_000, description="rolling window")
    warmup_live_answers: int = Field(30, ge=1, le=100_000, description="answers before adapting")
    initial_level: float = Field(1.5, ge=1, le=20, description="lines per batch at the start")
    min_level: float = Field(1.0, ge=1, le=20)
    answer_window_lines: int = Field(
        1000, ge=10, le=1_000_000, description="lines over which the answer rate is estimated"
    )
    gain: float = Field(
        0.01, gt=0, le=1, description="feedback trim per live answer per unit relative abandon error"
    )
    count_amd_hangups: bool = Field(
        True, description="count AMD hang-ups on live people as abandoned, as regulators do"
    )
    hold_per_day: bool = Field(
        False, description="also hold each day's abandon rate: once today's abandons reach "
        "the target (less the margin) times today's live answers (at least "
        "window_live_answers of them), dial one line per batch until back under (for caps "
        "counted per day)"
    )



class Dialer(Strict):
    mode: Literal["power", "parallel", "predictive"] | None = Field(
        None,
        description="power: 1 line; parallel: a fixed dial level; predictive: adaptive level "
        "up to team.lines_per_rep. Default: power if lines_per_rep = 1, else parallel",
    )
    dial_level: float | None = Field(
        None, ge=1, le=20,
        description="parallel: average lines per batch (2.4 alternates 2 and 3); default lines_per_rep",
    )
    predictive: Predictive = Field(default_factory=Predictive)
    connect_setup_s: Dist = Field(
        default_factory=lambda: Fixed(value=2.0), description="network setup before ringing"
    )
    ring_timeout_s: PositiveSeconds = Field(
        20.0, description="ringing before voicemail / no answer (US and UK rules: >= 15 s)"
    )
    ring_delay_s: Dist = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=8.0, sigma=0.45),
        description="ringing before a live person picks up; >= ring_timeout_s means too late",
    )
    bad_number_s: PositiveSeconds = Field(4.0, description="time to learn a number is dead")
    vm_recognise_s: NonNegativeSeconds = Field(
        4.0, description="time a rep needs to recognise a voicemail greeting"
    )
    amd: AMD = Field(default_factory=AMD)

    def resolved_mode(self, lines_per_rep: int) -> str:
        if self.mode is not None:
            return self.mode
        return "power" if lines_per_rep == 1 else "parallel"

    def resolved_level(self, lines_per_rep: int) -> float:
        """Average lines per batch in parallel mode."""
        return float(self.dial_level if self.dial_level is not None else lines_per_rep)


class Conversation(Strict):
    talk_s: _dist(TALK_S, "s") = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=85.0, sigma=0.6, max=3600)
    )
    wrap_s: _dist(WORK_S, "s") = Field(default_factory=lambda: Fixed(value=45.0), description="after-call work")
    gatekeeper_talk_s: _dist(TALK_S, "s") = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=25.0, sigma=0.4, max=600),
        description="a live answer that is not the prospect (gatekeeper, wrong person)",
    )
    inbound_talk_s: _dist(TALK_S, "s") = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=150.0, sigma=0.6, max=3600),
        description="a callback or return call: warmer, longer",
    )
    p_follow_up_after_connect: Probability = Field(
        0.0, description="P(a connect leaves the prospect on the list for more dials)"
    )


class Voicemail(Strict):
    drop_mode: Literal["recorded", "live"] = Field(
        "recorded",
        description="recorded: the dialer plays it, rep free at once; live: rep waits for the beep and speaks",
    )
    message_length_s: PositiveSeconds = 14.0
    beep_wait_s: NonNegativeSeconds = Field(15.0, description="live mode only")


class MissMultipliers(Strict):
    """Pick-up multiplier per kind of silent missed call; null = answer_mult_per_silent_miss."""

    rang_out: float | None = Field(None, gt=0, le=10, description="rang out, no voicemail box")
    voicemail_no_message: float | None = Field(
        None, gt=0, le=10, description="reached voicemail, hung up with no message")
    cancelled: float | None = Field(
        None, gt=0, le=10, description="hung up while ringing (an inbound call took the rep)")
    abandoned: float | None = Field(
        None, gt=0, le=10, description="picked up to silence: no rep free (parallel dialer)")
    amd_hangup: float | None = Field(
        None, gt=0, le=10, description="picked up, and AMD took the person for a machine")


class Screening(Strict):
    """Caller-ID screening: each prospect's pick-up probability remembers its history."""

    answer_mult_per_silent_miss: float = Field(
        0.85, gt=0, le=10, description="pick-up multiplier per missed call with no message"
    )
    answer_mult_per_voicemail: float = Field(
        1.0, gt=0, le=10, description="pick-up multiplier per voicemail heard (>1 helps, <1 hurts)"
    )
    scope: Literal["company", "number"] = Field(
        "company",
        description="company: the prospect screens the company whatever number shows; "
        "number: it learns to ignore a caller-ID number, and a new number starts fresh",
    )
    answer_mult_by_miss: MissMultipliers = Field(
        default_factory=MissMultipliers,
        description="a different multiplier for some kinds of silent miss (null: the one above)")
    answer_mult_per_unheard_message: float = Field(
        1.0, gt=0, le=10,
        description="pick-up multiplier per message left but never heard: a missed call with "
        "a voicemail badge (1 = no effect)")
    half_life_days: float | None = Field(
        None, gt=0, le=3650,
        description="screening fades: the effect of misses and messages halves every this "
        "many days (null = permanent)")


class CallerId(Strict):
    """Caller-ID numbers the team dials from, and spam labels on them."""

    enabled: bool = False
    pool: Literal["per_rep", "team"] = Field("per_rep", description="numbers per rep, or one team pool")
    numbers_per_pool: int = Field(1, ge=1, le=1000)
    rotation: Literal["fixed", "round_robin", "least_used"] = "fixed"
    local_presence_pickup_mult: float = Field(
        1.0, gt=0, le=10, description="pick-up multiplier for a number local to the prospect"
    )
    labelled_pickup_mult: float = Field(
        0.375, ge=0, le=1, description="pick-up multiplier while labelled spam (~9% vs ~24% answer)"
    )
    hazard_per_short_call: float = Field(
        0.0, ge=0, le=100, description="spam-label hazard per short call above the free allowance; 0 = never"
    )
    free_short_calls_per_day: int = Field(100, ge=0, le=1_000_000)
    label_days: int | None = Field(14, ge=1, le=3650, description="days a label lasts; null = for good")
    voicemail_left_is_completed: bool = Field(
        True, description="a voicemail message left counts as a completed call, not a short one"
    )


class Callbacks(Strict):
    p_listen: Probability = Field(0.5, description="P(a voicemail left is heard)")
    p_callback: Probability = Field(0.02, description="P(callback | a fresh message heard)")
    repeat_message_mult: float = Field(
        0.5, ge=0, le=1, description="callback multiplier per earlier hearing of the same message"
    )
    p_callback_missed_call: Probability = Field(
        0.002, description="P('who called me?' callback | a silent missed call)"
    )
    delay_h: _dist(YEAR_H, "h") = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=3.0, sigma=1.0, max=72),
        description="from the message (or missed call) to the callback",
    )
    p_message_on_missed_callback: Probability = Field(
        0.5, description="P(a prospect whose callback is missed leaves a message)"
    )
    return_call_answer_prob: Probability = Field(
        0.6, description="P(a return call is answered) when made at once"
    )
    return_call_half_life_h: PositiveHours = Field(
        8.0, description="hours for the return call's answer probability to halve"
    )
    hold_s: NonNegativeSeconds = Field(
        0.0, description="a callback that finds no free rep waits this long for one "
        "(0 = missed at once)")


class Cadence(Strict):
    max_attempts: int = Field(6, ge=1, le=100)
    min_gap_h: NonNegativeHours = Field(20.0, description="minimum hours between attempts")
    max_attempts_per_day: int = Field(1, ge=1, le=100)
    min_gap_after_abandon_h: NonNegativeHours = Field(
        0.0, description="no redial of a prospect for this long after an abandoned call (UK: 72)"
    )
    retry_hour_step_h: int = Field(
        0, ge=0, le=23,
        description="each retry moves to another time of day: due at the first start of the "
        "local hour this many hours after the last attempt's, once min_gap_h has passed "
        "(0 = the gap alone)")
    list_order: Literal["retries_first", "fresh_first"] = Field(
        "retries_first", description="which comes first when both are due: due retries or fresh leads"
    )


class OptOut(Strict):
    p_per_connect: Probability = 0.02
    p_per_heard_voicemail: Probability = 0.002
    growth_per_touch: float = Field(
        1.3, ge=1, le=10, description="risk multiplier per earlier touch (connect or heard voicemail)"
    )


class Touch(Strict):
    """An email or a text the cadence sends between dials (docs/model.md, "Other
    channels"). It costs no dial; the rep may spend ``rep_s`` writing it."""

    after_silent_miss: bool = Field(
        False, description="send one after a dial that ended as a silent miss (no answer, "
        "voicemail with no message, abandoned, AMD hang-up, cancelled)")
    after_message: bool = Field(False, description="send one after a dial that left a voicemail message")
    after_attempts: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=list, max_length=100,
        description="send one after these attempt numbers (1 = the first dial) whatever "
        "their outcome, unless the prospect was reached or left the list")
    delay_h: NonNegativeHours = Field(1.0, description="from the end of the dial to the touch")
    share_reachable: Probability = Field(
        1.0, description="share of prospects with an address for this channel (email "
        "address, or a number that takes texts), drawn once per prospect")
    max_per_prospect: int = Field(100, ge=1, le=100, description="touches of this channel per prospect at most")
    p_reply: Probability = Field(
        0.0, description="P(the prospect replies to a touch); a reply brings it to a rep "
        "as a callback does")
    reply_mult_after_heard_message: float = Field(
        1.0, ge=0, le=100, description="reply probability multiplier once the prospect has "
        "heard a voicemail message from the team")
    reply_delay_h: _dist(YEAR_H, "h") = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=3.0, sigma=1.0, max=72),
        description="from the touch to the prospect's call")
    pickup_mult: float = Field(
        1.0, gt=0, le=10, description="pick-up multiplier per touch received, on every "
        "number of the prospect (fades with screening.half_life_days)")
    p_opt_out: Probability = Field(
        0.0, description="P(a touch ends in do-not-contact), grown by opt_out.growth_per_touch")
    rep_s: NonNegativeSeconds = Field(
        0.0, description="rep seconds writing it, added to the dial's after-call work")

    def used(self) -> bool:
        return self.after_silent_miss or self.after_message or bool(self.after_attempts)


class SecondNumber(Strict):
    """A second phone number (office or mobile) for a share of the prospects."""

    share: Probability = Field(0.0, description="share of prospects with a second number, drawn once")
    pickup_mult: float = Field(
        1.0, gt=0, le=10, description="pick-up on the second number relative to the first")
    p_voicemail_box: Probability | None = Field(
        None, description="P(the second number has a voicemail box); null = the segment's")
    switch_after_misses: int = Field(
        2, ge=1, le=100, description="dial the other number after this many dials in a row "
        "on one number that did not reach the prospect (1 = alternate)")


class Channels(Strict):
    """Email and text touches and second phone numbers: all off by default."""

    email: Touch = Field(default_factory=Touch)
    text: Touch = Field(default_factory=Touch)
    second_number: SecondNumber = Field(default_factory=SecondNumber)

    def used(self) -> bool:
        return self.email.used() or self.text.used() or self.second_number.share > 0


class Segment(Strict):
    """A slice of the list with its own behaviour (e.g. cold vs warm)."""

    name: Label = "all"
    weight: Weight = 1.0
    p_bad_number: Probability = 0.06
    reachability: Probability = Field(
        0.3, description="mean P(the prospect is at the phone when dialled)"
    )
    reachability_concentration: float | None = Field(
        6.0, gt=0, le=1e6, description="Beta concentration: higher = more alike; null = all identical"
    )
    p_pickup: Probability = Field(
        0.25, description="P(pick up an unknown number | at the phone), before screening"
    )
    p_voicemail_box: Probability = Field(0.8, description="P(an unanswered call reaches voicemail)")
    p_right_party: Probability = Field(0.75, description="P(a live answer is the prospect)")
    callback_propensity_sigma: float = Field(
        0.8, ge=0, le=5, description="spread of a log-normal (mean 1) callback multiplier"
    )


class TimeZone(Strict):
    """A share of the list on another clock."""

    name: Label = "local"
    utc_offset_h: float = Field(
        0.0, ge=-24, le=24, description="prospect's clock minus the team's clock, hours"
    )
    weight: Weight = 1.0


class Prospects(Strict):
    count: int = Field(4000, ge=1, le=5_000_000)
    segments: list[Segment] = Field(default_factory=lambda: [Segment()], min_length=1,
                                    max_length=100)
    time_zones: list[TimeZone] = Field(default_factory=lambda: [TimeZone()], min_length=1,
                                       max_length=100)
    hourly_availability: list[float] = Field(
        default_factory=lambda: [1.0] * 24,
        min_length=24,
        max_length=24,
        description="multiplier on reachability by the prospect's local hour 0..23",
    )
    voicemail_box: Literal["line", "dial"] = Field(
        "line",
        description="line: a prospect's line has a voicemail box or not, drawn once "
        "(p_voicemail_box); dial: a fresh draw on every dial")
    weekday_availability: list[Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=lambda: [1.0] * 7, min_length=7, max_length=7,
        description="multiplier on availability by the prospect's weekday, mon..sun")
    habit_spread_h: float = Field(
        0.0, ge=0, le=12,
        description="prospects have habits: each one's hourly availability is the profile "
        "shifted by its own number of hours, drawn once (normal, this sd, rounded); 0 = all alike")
    calling_window_start: Clock = Field("08:00", description="prospect's local time")
    calling_window_end: Clock = "21:00"

    @field_validator("hourly_availability")
    @classmethod
    def _non_negative(cls, values):
        for hour, v in enumerate(values):
            if not (0 <= v <= 1000 and math.isfinite(v)):
                raise ValueError(f"hour {hour}: multiplier must be a number from 0 to 1000, got {v}")
        return values

    @model_validator(mode="after")
    def _window(self):
        if _clock_to_seconds(self.calling_window_end) <= _clock_to_seconds(self.calling_window_start):
            raise ValueError("calling_window_end must be after calling_window_start")
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        return self


BUILTIN_STRATEGIES = ("never", "always", "rotate", "first_n")


class StrategySpec(Strict):
    """A voicemail strategy: which message (or silence) at each voicemail encounter.

    ``kind`` is a built-in (never, always, rotate with ``n_messages``, first_n with
    ``n``) or ``sequence``: ``sequence`` lists message labels per encounter, ``"-"``
    for a silent hang-up, and ``then`` says what follows the list: ``cycle`` it,
    ``repeat_last`` entry, or go ``silent``.
    """

    name: Label
    kind: Literal["never", "always", "rotate", "first_n", "sequence"] | None = None
    n_messages: int | None = Field(None, ge=1, le=100)
    n: int | None = Field(None, ge=0, le=100)
    sequence: list[Annotated[str, Field(max_length=120), AfterValidator(_printable)]] | None = \
        Field(None, max_length=1000)
    then: Literal["cycle", "repeat_last", "silent"] | None = None
    # a whole voicemail policy: how its messages are left, and what each one does
    drop_mode: Literal["recorded", "live"] | None = Field(
        None, description="recorded drop or live message for this strategy (null: "
        "voicemail.drop_mode)")
    message_length_s: PositiveSeconds | None = Field(
        None, description="this strategy's message length (null: voicemail.message_length_s)")
    callback_mult_by_message: dict[Label, Annotated[float, Field(ge=0, le=100)]] | None = Field(
        None, description="a message's callback multiplier by its label (e.g. {A = 2.0}: "
        "a stronger reason to call back); unlisted messages 1")
    genuine_callback_share_by_message: dict[Label, Probability] | None = Field(
        None, description="the share of a message's callbacks (and return calls to them) that "
        "come from interest; the rest are confused or annoyed callers, a conversation that "
        "books no meeting (e.g. {A = 0.67}); unlisted messages 1")
    by_segment: dict[Label, Label] | None = Field(
        None, description="a strategy per list segment, by name (e.g. {cold = \"never\", "
        "warm = \"always\"}); segments not listed follow this entry's own kind")

    @model_validator(mode="after")
    def _complete(self):
        kind = self.kind
        if kind is None and self.by_segment and self.sequence is None:
            return self  # a policy per segment (checked against the scenario's segments)
        if kind is None:
            if self.sequence is not None:
                kind = "sequence"
            elif self.name in BUILTIN_STRATEGIES:
                kind = self.name
            else:
                raise ValueError(
                    f"strategy {self.name!r}: set kind (one of never, always, rotate, "
                    "first_n, sequence) or give a sequence"
                )
            object.__setattr__(self, "kind", kind)
        if kind == "rotate" and self.n_messages is None:
            object.__setattr__(self, "n_messages", 3)
        if kind == "first_n" and self.n is None:
            object.__setattr__(self, "n", 2)
        if kind == "sequence":
            if not self.sequence:
                raise ValueError(f"strategy {self.name!r}: sequence must list at least one entry")
            if any(not label.strip() for label in self.sequence):
                raise ValueError(f"strategy {self.name!r}: sequence entries must be non-empty")
            if self.then is None:
                object.__setattr__(self, "then", "cycle")
        elif self.sequence is not None or self.then is not None:
            raise ValueError(f"strategy {self.name!r}: sequence/then only go with kind 'sequence'")
        if kind != "rotate" and self.n_messages is not None:
            raise ValueError(f"strategy {self.name!r}: n_messages only goes with kind 'rotate'")
        if kind != "first_n" and self.n is not None:
            raise ValueError(f"strategy {self.name!r}: n only goes with kind 'first_n'")
        return self

    def message_names(self) -> tuple[str, ...]:
        """The labels of the messages this entry's own policy leaves."""
        kind = self.kind
        if kind == "always":
            return ("A",)
        if kind == "rotate":
            return tuple(f"M{i + 1}" for i in range(self.n_messages))
        if kind == "first_n":
            return tuple(f"M{i + 1}" for i in range(self.n))
        if kind == "sequence":
            return tuple(dict.fromkeys(x for x in self.sequence if x != "-"))
        return ()


def _coerce_strategy(value):
    """Let a scenario write ``strategies = ["never", "always"]`` for built-ins."""
    if isinstance(value, str):
        return {"name": value}
    return value


StrategyEntry = Annotated[StrategySpec, BeforeValidator(_coerce_strategy)]


class Constraints(Strict):
    """Guardrails a strategy must hold, judged by the upper end of its 95% interval.

    Every cap is optional (null = no cap). A strategy complies with a cap only if the
    high end of the 95% interval of the capped rate is at or under it: a cap is held
    with confidence, not on average (see docs/comparisons.md).
    """

    max_abandon_rate: Probability | None = Field(
        None, description="cap on (abandoned + AMD hang-ups) / (live answers + AMD hang-ups), "
        "as US regulators count it (3% in the US; UK rules treat any abandoned call as "
        "potential misuse)"
    )
    abandon_window: Literal["campaign", "per_day", "rolling_30_days"] = Field(
        "per_day",
        description="where the abandon cap applies: over the whole campaign, on every day "
        "(the worst day counts), or on every 30-day stretch (the worst one counts; the "
        "whole campaign if shorter)",
    )
    max_opt_out_rate: Probability | None = Field(
        None, description="cap on opt-outs per prospect dialled (opt_outs / prospects_dialled)"
    )
    max_numbers_labelled: int | None = Field(
        None, ge=0, le=1_000_000,
        description="cap on caller-ID numbers labelled spam at least once (needs caller_id.enabled)",
    )

    def any(self) -> bool:
        """True if at least one cap is set."""
        return any(v is not None for v in (self.max_abandon_rate, self.max_opt_out_rate,
                                           self.max_numbers_labelled))


NonNegativeMoney = Annotated[float, Field(ge=0.0, le=1e9)]


class Economics(Strict):
    """What conversations are worth and what the campaign costs (optional section).

    Money is in one currency of your choice (``currency`` is only a label). Costs left
    out are 0. Meetings are expected values: conversations x the probability that a
    conversation of that kind books a meeting (docs/comparisons.md).
    """

    currency: str = Field("$", min_length=1, max_length=8, description="label shown with money")
    p_meeting_per_outbound_connect: Probability = Field(
        0.0, description="P(an outbound conversation books a meeting)"
    )
    p_meeting_per_inbound_connect: Probability = Field(
        0.0, description="P(an answered callback books a meeting)"
    )
    p_meeting_per_return_connect: Probability = Field(
        0.0, description="P(an answered return call to a missed callback books a meeting)"
    )
    value_per_meeting: NonNegativeMoney = Field(
        0.0, description="pipeline value of one meeting (segments not in value_per_meeting_by_segment)"
    )
    value_per_meeting_by_segment: dict[Label, NonNegativeMoney] | None = Field(
        None, description="pipeline value of one meeting with a prospect of this list segment "
        "(e.g. { enterprise = 12000, smb = 2500 }); segments left out use value_per_meeting"
    )
    rep_cost_per_paid_hour: NonNegativeMoney = Field(0.0, description="loaded cost of a paid rep-hour")
    telephony_cost_per_minute: NonNegativeMoney = Field(
        0.0, description="per minute of line time (dialling, talking, live messages, recorded drops)"
    )
    fee_per_voicemail_drop: NonNegativeMoney = Field(
        0.0, description="per recorded message dropped (voicemail.drop_mode = 'recorded' only)"
    )
    seat_cost_per_rep_per_day: NonNegativeMoney = Field(
        0.0, description="dialer licence per rep per working day"
    )


class Experiment(Strict):
    replications: int = Field(20, ge=1, le=100_000)
    seed: int = Field(20261123, ge=0, le=2**63 - 1)
    baseline: Label | None = Field(None, description="strategy differences are taken against this one")


class Scenario(Strict):
    """The whole scenario. Sections mirror docs/model.md."""

    schema_version: Literal[1]
    name: Label = "scenario"
    description: str = Field("", max_length=10_000)
    calendar: Calendar = Field(default_factory=Calendar)
    team: Team = Field(default_factory=Team)
    dialer: Dialer = Field(default_factory=Dialer)
    conversation: Conversation = Field(default_factory=Conversation)
    voicemail: Voicemail = Field(default_factory=Voicemail)
    screening: Screening = Field(default_factory=Screening)
    callbacks: Callbacks = Field(default_factory=Callbacks)
    cadence: Cadence = Field(default_factory=Cadence)
    opt_out: OptOut = Field(default_factory=OptOut)
    caller_id: CallerId = Field(default_factory=CallerId)
    channels: Channels = Field(default_factory=Channels)
    prospects: Prospects = Field(default_factory=Prospects)
    strategies: list[StrategyEntry] = Field(
        default_factory=lambda: [StrategySpec(name=n) for n in ("never", "always", "rotate")],
        min_length=1, max_length=50,
    )
    experiment: Experiment = Field(default_factory=Experiment)
    constraints: Constraints = Field(default_factory=Constraints)
    economics: Economics | None = Field(
        None, description="meetings, pipeline value and costs; null = not modelled"
    )

    @field_validator("strategies")
    @classmethod
    def _unique_names(cls, strategies):
        names = [s.name for s in strategies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"strategy names must be unique; repeated: {', '.join(dupes)}")
        return strategies

    @model_validator(mode="after")
    def _dialer_fits_the_lines(self):
        lines = self.team.lines_per_rep
        mode = self.dialer.resolved_mode(lines)
        if mode == "power" and lines != 1:
            raise ValueError(
                f"dialer.mode: 'power' dials one line; team.lines_per_rep is {lines} "
                "(use 'parallel' or 'predictive', or set lines_per_rep = 1)"
            )
        if self.dialer.dial_level is not None and mode != "parallel":
            raise ValueError("dialer.dial_level: only the 'parallel' mode uses a fixed dial level")
        if self.dialer.predictive.hold_per_day and mode != "predictive":
            raise ValueError(f"dialer.predictive.hold_per_day: only the 'predictive' mode paces "
                             f"to a target; this dialer is {mode!r}")
        if mode == "parallel" and self.dialer.resolved_level(lines) > lines:
            raise ValueError(
                f"dialer.dial_level: {self.dialer.dial_level} is more than the "
                f"{lines} lines per rep (team.lines_per_rep)"
            )
        if mode == "predictive":
            p = self.dialer.predictive
            if lines < 2:
                raise ValueError("dialer.mode: 'predictive' needs team.lines_per_rep >= 2 (its maximum level)")
            if p.min_level > lines:
                raise ValueError(f"dialer.predictive.min_level: {p.min_level} is more than lines_per_rep ({lines})")
            if p.warmup_live_answers > p.window_live_answers:
                raise ValueError("dialer.predictive.warmup_live_answers: must not exceed window_live_answers")
        return self

    @model_validator(mode="after")
    def _baseline_is_a_strategy(self):
        names = [s.name for s in self.strategies]
        if self.experiment.baseline is not None and self.experiment.baseline not in names:
            raise ValueError(
                f"experiment.baseline: {self.experiment.baseline!r} is not a strategy here; "
                f"choose one of: {', '.join(names)}"
            )
        return self

    @model_validator(mode="after")
    def _whole_policies_fit(self):
        """by_segment names real segments and plain strategies of this scenario, and
        covers every segment unless the entry has a policy of its own; per-message
        multipliers name the strategy's messages."""
        by_name = {s.name: s for s in self.strategies}
        segments = [seg.name for seg in self.prospects.segments]
        for spec in self.strategies:
            if spec.by_segment:
                for segment, target in spec.by_segment.items():
                    if segment not in segments:
                        raise ValueError(f"strategies: {spec.name!r}: by_segment: no segment "
                                         f"{segment!r}; segments: {', '.join(segments)}")
                    other = by_name.get(target)
                    if other is None or other.by_segment:
                        raise ValueError(f"strategies: {spec.name!r}: by_segment.{segment}: "
                                         f"{target!r} must name another strategy of this "
                                         "scenario that has no by_segment of its own")
                missing = [seg for seg in segments if seg not in spec.by_segment]
                if spec.kind is None and missing:
                    raise ValueError(f"strategies: {spec.name!r}: by_segment leaves out "
                                     f"{', '.join(missing)}: name them, or give the entry a "
                                     "kind for the rest")
            for key in ("callback_mult_by_message", "genuine_callback_share_by_message"):
                if not getattr(spec, key):
                    continue
                known = set(spec.message_names())
                for target in (spec.by_segment or {}).values():
                    known |= set(by_name[target].message_names())
                unknown = sorted(set(getattr(spec, key)) - known)
                if unknown:
                    raise ValueError(f"strategies: {spec.name!r}: {key}: "
                                     f"no message {unknown[0]!r}; its messages: "
                                     f"{', '.join(sorted(known)) or 'none'}")
        return self

    @model_validator(mode="after")
    def _segment_values_name_segments(self):
        by_segment = self.economics.value_per_meeting_by_segment if self.economics else None
        if by_segment:
            segments = [segment.name for segment in self.prospects.segments]
            unknown = sorted(set(by_segment) - set(segments))
            if unknown:
                raise ValueError(f"economics.value_per_meeting_by_segment: no segment "
                                 f"{unknown[0]!r}; segments: {', '.join(segments)}")
        return self

    @model_validator(mode="after")
    def _group_shifts(self):
        """A group's shift keys left out take the calendar's; each group's shift is
        ordered like the calendar's and lies within one day of the team's clock."""
        cal = self.calendar
        for i, group in enumerate(self.team.groups):
            where = f"team.groups.{i}"
            given = group.model_fields_set
            for key in ("shift_start", "shift_end"):
                if key not in given:
                    object.__setattr__(group, key, getattr(cal, key))
            inherited = "break_start" not in given and "break_end" not in given
            if inherited:
                object.__setattr__(group, "break_start", cal.break_start)
                object.__setattr__(group, "break_end", cal.break_end)
            # the fields now count as given: a resolved scenario reloads the same
            group.model_fields_set.update(("shift_start", "shift_end", "break_start", "break_end"))
            problem = _shift_problem(group)
            if problem and inherited and problem.startswith("break_start"):
                problem += (" (the calendar's break, which this group takes unless it sets "
                            "break_start and break_end, or \"none\")")
            if problem:
                raise ValueError(f"{where}.{problem}")
            lines = self.team.lines_per_rep
            if group.lines_per_rep is not None and group.lines_per_rep > lines:
                raise ValueError(f"{where}.lines_per_rep: {group.lines_per_rep} is more than "
                                 f"team.lines_per_rep ({lines}), the most any rep's dialer has")
            windows = group.work_windows_s()
            if windows[0][0] < 0 or windows[-1][1] > 86400:
                raise ValueError(
                    f"{where}.utc_offset_h: the shift {group.shift_start}-{group.shift_end} at "
                    f"{group.utc_offset_h:+g} h falls outside one day of the team's clock "
                    f"({_clock_text(windows[0][0])}-{_clock_text(windows[-1][1])}); measure "
                    "the offsets from another office's clock")
        return self

    def rep_groups(self) -> list[tuple[str, int, list[tuple[int, int]]]]:
        """(name, reps, paid windows on the team's clock) per rep group; without
        ``team.groups``, one group "team" of team.reps on the calendar's shift."""
        if not self.team.groups:
            return [("team", self.team.reps, self.calendar.work_windows_s())]
        return [(g.name, g.reps, g.work_windows_s()) for g in self.team.groups]

    def paid_rep_hours_per_day(self) -> float:
        """Paid rep-hours in one working day, all groups."""
        return sum(reps * sum(e - s for s, e in windows)
                   for _, reps, windows in self.rep_groups()) / 3600.0

    @model_validator(mode="after")
    def _labels_need_numbers(self):
        if self.constraints.max_numbers_labelled is not None and not self.caller_id.enabled:
            raise ValueError(
                "constraints.max_numbers_labelled: numbers are only labelled with "
                "caller_id.enabled = true; enable it or remove the cap"
            )
        return self

    def strategy_names(self) -> list[str]:
        return [s.name for s in self.strategies]

    def resolved(self) -> dict[str, Any]:
        """Every parameter with its default filled in, as plain data (for the manifest)."""
        return self.model_dump(mode="json", by_alias=True)


# ---------------------------------------------------------------------------------
# Loading, overrides and error messages


def _format_loc(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(str(item))
        elif item in ("fixed", "uniform", "exponential", "lognormal") and parts:
            continue  # the discriminator tag pydantic inserts; not part of the user's path
        elif isinstance(item, str) and (item.startswith("function-") or item == "function-before"):
            continue
        else:
            parts.append(str(item))
    return ".".join(parts)


def _models_in(annotation) -> list[type[BaseModel]]:
    """The sections (pydantic models) a field can hold: T, T | None, list[T], unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def did_you_mean(loc: tuple, root: type[BaseModel]) -> str:
    """'; did you mean team.reps?' for an unknown key at ``loc`` close to a real one, else ''.

    The real keys are the fields of the section the unknown key sits in, found by
    walking the schema from ``root`` (list indexes and distribution tags pass through).
    """
    models: list[type[BaseModel]] = [root]
    parent: list[str] = []
    for item in loc[:-1]:
        fields = {name: f for model in models for name, f in model.model_fields.items()}
        if isinstance(item, str) and item in fields:
            models = _models_in(fields[item].annotation)
        elif not isinstance(item, int):
            continue  # a tag pydantic inserts for a tagged union (distributions)
        parent.append(str(item))
    names = sorted({name for model in models for name in model.model_fields})
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6) if loc else []
    return f"; did you mean {'.'.join([*parent, close[0]])}?" if close else ""


def field_description(key: str) -> str | None:
    """The schema's description of a scenario key path (``callbacks.p_callback``), if any."""
    models: list[type[BaseModel]] = [Scenario]
    info = None
    for part in key.split("."):
        if part.isdigit():
            continue  # a list item: same models
        fields = {name: f for model in models for name, f in model.model_fields.items()}
        if part not in fields:
            return None
        info = fields[part]
        models = _models_in(info.annotation)
    return info.description if info is not None else None


def _format_error(err: dict, with_input: bool = True, root: type[BaseModel] | None = None) -> str:
    kind = err.get("type", "")
    msg = err.get("msg", "invalid value")
    if kind == "extra_forbidden":
        return "unknown key" + (did_you_mean(tuple(err["loc"]), root) if root else "")
    if kind == "missing":
        return "required key is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    given = err.get("input")
    if with_input and kind not in ("model_type", "union_tag_invalid") \
            and not isinstance(given, (dict, list)):
        return f"{msg} (got {given!r})"
    return msg


def validation_message(source: str, error: ValidationError,
                       root: type[BaseModel] | None = None) -> str:
    """One line per problem: ``source: key.path: problem``; at most MAX_ERROR_LINES.

    The same problem in several items of one list (24 hours all ``nan``) is one line,
    ``prospects.hourly_availability.0, 1, 2, ... (24 items): ...``. With ``root`` (the
    model that was validated), an unknown key close to a real one gets a suggestion.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for err in error.errors():
        loc = err["loc"]
        if err.get("type") == "union_tag_invalid":  # name the key that holds the tag
            ctx = err.get("ctx", {})
            loc = (*loc, str(ctx.get("discriminator", "")).strip("'"))
            err = {**err, "msg": f"must be one of {ctx.get('expected_tags')} "
                                 f"(got {ctx.get('tag')!r})"}
        message = _format_error(err, root=root)
        if loc and isinstance(loc[-1], int):
            key = (_format_loc(loc[:-1]), _format_error(err, with_input=False, root=root))
            groups.setdefault(key, []).append((str(loc[-1]), message))
        else:
            groups.setdefault((_format_loc(loc), message), [])
    lines = []
    for (where, message), items in groups.items():
        if len(items) == 1:
            where, message = f"{where}.{items[0][0]}" if where else items[0][0], items[0][1]
        elif items:
            shown = ", ".join(index for index, _ in items[:5])
            where = f"{where}.{shown}{', ...' if len(items) > 5 else ''} ({len(items)} items)"
        lines.append(f"{source}: {where + ': ' if where else ''}{message}")
    return capped_lines(lines)


def one_line(text: str, limit: int = 200) -> str:
    """User text shown inside a message: newlines escaped, at most ``limit`` characters."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def capped_lines(lines: list[str], limit: int = MAX_ERROR_LINES) -> str:
    """The first ``limit`` lines, then ``... and N more`` (200,000 problems are not read)."""
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], f"... and {len(lines) - limit:,} more"])


NULL_WRITTEN_AS_NONE = ("break_start", "break_end")  # "no break": TOML has no null


def toml_data(value, digits: int | None = None):
    """A resolved scenario as data TOML can hold: a null key is left out (its default
    is null), except a break, whose null ("no break") is written "none" so the file
    reads back the same; with ``digits``, floats rounded to that many significant
    digits."""
    if isinstance(value, float) and digits is not None:
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: ("none" if v is None else toml_data(v, digits)) for k, v in value.items()
                if v is not None or k in NULL_WRITTEN_AS_NONE}
    if isinstance(value, list):
        return [toml_data(v, digits) for v in value]
    return value


def read_input_file(path: str | Path, what: str = "scenario") -> dict:
    """Parse a TOML input file (scenario or sweep) into plain data, or a one-line UserError.

    The file must be a regular file (not a folder, FIFO or device) of at most
    MAX_INPUT_BYTES, UTF-8 text, valid TOML, nested at most MAX_NESTING deep. It is
    opened without blocking and checked before it is read, so ``/dev/zero`` or a FIFO
    is refused at once.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a {what} .toml file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"{path}: is a folder, expected a {what} .toml file")
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{path}: not a regular file (a device, pipe or socket); "
                            f"give a {what} .toml file")
        if info.st_size > MAX_INPUT_BYTES:
            raise UserError(f"{path}: {info.st_size:,} bytes; a {what} file may have at most "
                            f"{MAX_INPUT_BYTES:,} (1 MiB)")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_INPUT_BYTES:  # grew while we looked
        raise UserError(f"{path}: more than {MAX_INPUT_BYTES:,} bytes; a {what} file may have "
                        "at most 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                        f"{exc.start}); save the file as UTF-8") from None
    return parse_toml_text(text, str(path))


def parse_toml_text(text: str, source: str) -> dict:
    """TOML text -> data; syntax errors and deep nesting are one-line UserErrors."""
    depth = _bracket_depth(text)
    if depth > MAX_NESTING:
        raise UserError(f"{source}: nested {depth} levels deep; at most {MAX_NESTING}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise UserError(f"{source}: nested too deeply; at most {MAX_NESTING} levels") from None
    depth = nesting_depth(data)
    if depth > MAX_NESTING:
        raise UserError(f"{source}: nested {depth} levels deep; at most {MAX_NESTING}")
    return data


def _bracket_depth(text: str) -> int:
    """An upper bound of the nesting of inline arrays/tables, counted without parsing.

    Brackets inside strings and comments count too, so this can only over-count; it
    is used to refuse, before the recursive parser, text that nests absurdly deep.
    """
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def nesting_depth(value: Any) -> int:
    """How deep tables and lists nest (a scalar: 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        else:
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def resolve_toml_path(path: str | Path, what: str = "scenario") -> Path:
    """The file the user meant: ``path`` itself, or ``path.toml`` when the suffix was left off.

    A path that matches neither is a UserError that names the nearest .toml file in
    the same folder, if one is close.
    """
    path = Path(path)
    if path.exists():
        return path
    with_suffix = path.with_name(path.name + ".toml")
    if path.suffix != ".toml" and with_suffix.is_file():
        return with_suffix
    folder = path.parent if path.parent.is_dir() else None
    candidates = [p.name for p in folder.glob("*.toml")] if folder else []
    close = difflib.get_close_matches(with_suffix.name if path.suffix != ".toml" else path.name,
                                      candidates, n=1, cutoff=0.6)
    hint = f"; did you mean {path.parent / close[0]}?" if close else ""
    raise UserError(f"{path}: no such {what} file{hint}")


def is_sweep_file(data: dict) -> bool:
    """A sweep file names a base scenario and what to vary; a scenario does neither."""
    return "base" in data and ("grid" in data or "sample" in data or "set" in data)


def read_scenario_file(path: str | Path) -> dict:
    """Parse a TOML scenario into plain data; a missing or unreadable file is a UserError."""
    return read_input_file(path, "scenario")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"team.reps=8"`` -> (["team", "reps"], 8).

    Values are TOML (numbers, booleans, "strings", [lists], {tables}); a bare word is a
    string, and a bare ``null`` clears an optional key (TOML itself has no null).
    """
    if "=" not in text:
        raise UserError(f"--set {one_line(text)!r}: expected key.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise UserError(f"--set {one_line(text)!r}: expected key.path=value")
    if raw.strip() == "null":
        return key.split("."), None
    if len(text) > 10_000 or _bracket_depth(raw) > MAX_NESTING:
        raise UserError(f"--set {one_line(key)}: value too long or nested too deeply (at most "
                        f"10,000 characters, {MAX_NESTING} levels)")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_override(data: dict, path: list[str], value: Any, label: str) -> None:
    """Set ``value`` at ``path`` in ``data`` (in place), creating missing tables.

    Whether the key exists is checked by the schema afterwards (unknown keys are
    errors there too); list items are addressed by index (``strategies.0.n``).
    """
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        if isinstance(node, list):
            node = _list_item(node, part, path[: depth + 1], label)
            continue
        if not isinstance(node, dict):
            raise UserError(f"{label}: {'.'.join(path[:depth])} is a value, not a table")
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child
    last = path[-1]
    if path[:2] == ["team", "groups"] and isinstance(data.get("team"), dict):
        data["team"].pop("reps", None)  # the groups' sum: rep groups set here resize the team
    if isinstance(node, list):
        index = _index(last, path, label)
        if index >= len(node):
            raise UserError(f"{label}: {'.'.join(path)}: index {index} is past the end ({len(node)} items)")
        node[index] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise UserError(f"{label}: {'.'.join(path[:-1])} is a value, not a table")


def _index(part: str, path: list[str], label: str) -> int:
    if not part.isdigit():
        raise UserError(f"{label}: {'.'.join(path)}: {part!r} is not a list index")
    return int(part)


def _list_item(node: list, part: str, path: list[str], label: str):
    index = _index(part, path, label)
    if index >= len(node):
        raise UserError(f"{label}: {'.'.join(path)}: index {index} is past the end ({len(node)} items)")
    item = node[index]
    if isinstance(item, str):  # a built-in strategy named by a string: expand it
        item = node[index] = {"name": item}
    return item


def build_scenario(data: dict, source: str = "scenario") -> Scenario:
    """Validate plain data into a Scenario, or raise a UserError naming every problem."""
    if "schema_version" not in data:
        raise UserError(
            f"{source}: schema_version: required key is missing "
            f"(this dialsim reads schema_version = {SCHEMA_VERSION})"
        )
    if type(data.get("schema_version")) is not int or data["schema_version"] != SCHEMA_VERSION:
        raise UserError(
            f"{source}: schema_version: this dialsim reads version {SCHEMA_VERSION}, "
            f"the file says {data.get('schema_version')!r}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(validation_message(source, exc, Scenario)) from None


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override (``--set``) and validate a scenario file."""
    data = read_scenario_file(path)
    source = str(path)
    if is_sweep_file(data):
        raise UserError(f"{path}: this is a sweep file, not a scenario: run it with "
                        f"`dialsim sweep {path}`")
    try:
        return build_scenario(with_overrides(data, overrides, source), source)
    except UserError as exc:
        raise UserError(_credit_overrides(str(exc), source, overrides)) from None


def _credit_overrides(message: str, source: str, overrides) -> str:
    """Say ``--set key=value`` instead of the file where an override caused the error."""
    keys = {text.split("=", 1)[0].strip(): text for text in overrides if "=" in text}
    lines = []
    for line in message.splitlines():
        if line.startswith(f"{source}: "):
            rest = line[len(source) + 2:]
            where = rest.split(": ", 1)[0]
            for key, text in keys.items():
                if where == key or key.startswith(where + ".") or where.startswith(key + "."):
                    line = f"--set {one_line(text)}: {rest}"
                    break
        lines.append(line)
    return "\n".join(lines)


def with_overrides(data: dict, overrides, source: str = "scenario") -> dict:
    """A copy of ``data`` with each ``key.path=value`` applied.

    Overrides land on the fully resolved scenario (defaults filled in), so any key the
    schema knows can be set, including items of lists the file left at their default
    (``prospects.segments.0.p_pickup``); the result is validated like a file.
    """
    if not overrides:
        return copy.deepcopy(data)
    resolved = build_scenario(copy.deepcopy(data), source).resolved()
    for text in overrides:
        path, value = parse_override(text)
        apply_override(resolved, path, value, f"--set {one_line(text)}")
    return resolved
