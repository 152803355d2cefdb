"""Scenario files: the strict, versioned, validated input of every run.

A scenario is a TOML file. Every section and key is declared here with its default,
its unit (in the key's name) and its allowed range; unknown keys are errors. Loading
never raises anything but :class:`sim.errors.UserError` for a user's mistake, with a
message naming the file, the key path and the problem.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import Distribution, Fixed, LogNormal, coerce_distribution
from sim.errors import UserError

SCHEMA_VERSION = 1

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveSeconds = Annotated[float, Field(gt=0.0)]
NonNegativeSeconds = Annotated[float, Field(ge=0.0)]
Dist = Annotated[Distribution, BeforeValidator(coerce_distribution)]


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _clock_to_seconds(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _check_clock(value: str) -> str:
    parts = value.split(":") if isinstance(value, str) else []
    if (
        len(parts) != 2
        or not all(p.isdigit() for p in parts)
        or not (0 <= int(parts[0]) <= 24 and 0 <= int(parts[1]) < 60)
        or (int(parts[0]) == 24 and int(parts[1]) != 0)
    ):
        raise ValueError("expected a clock time 'HH:MM' (00:00-24:00)")
    return value


Clock = Annotated[str, BeforeValidator(_check_clock)]


class Calendar(Strict):
    """Working days and the daily shift. Reps dial only inside the shift."""

    days: int = Field(5, ge=1, le=3650, description="working days in the campaign")
    shift_start: Clock = "09:00"
    shift_end: Clock = "17:00"
    break_start: Clock | None = Field("12:00", description="unpaid break; null for none")
    break_end: Clock | None = "13:00"

    @model_validator(mode="after")
    def _ordered(self):
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


class Team(Strict):
    reps: int = Field(4, ge=1, le=10_000)
    lines_per_rep: int = Field(
        1, ge=1, le=20,
        description="lines each rep's dialer has: 1 = power dialer; more = parallel or predictive "
        "(dialer.mode), dialling up to this many at once"
    )
    research_s: Dist = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="per-lead research/prep before each dial (0 on a power dialer)",
    )
    inbound_routing: Literal["own_rep", "any_rep"] = Field(
        "own_rep",
        description="who may answer a callback: the rep who last dialled the prospect, or any free rep",
    )


class Predictive(Strict):
    """Predictive pacing: the dial level adapts to hold the abandon rate at a target."""

    target_abandon_rate: Probability = Field(
        0.03, description="abandoned / live answers to hold (US and UK rules: at most 3%)"
    )
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
    talk_s: Dist = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=85.0, sigma=0.6, max=3600)
    )
    wrap_s: Dist = Field(default_factory=lambda: Fixed(value=45.0), description="after-call work")
    gatekeeper_talk_s: Dist = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=25.0, sigma=0.4, max=600),
        description="a live answer that is not the prospect (gatekeeper, wrong person)",
    )
    inbound_talk_s: Dist = Field(
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
    delay_h: Dist = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=3.0, sigma=1.0, max=72),
        description="from the message (or missed call) to the callback",
    )
    p_message_on_missed_callback: Probability = Field(
        0.5, description="P(a prospect whose callback is missed leaves a message)"
    )
    return_call_answer_prob: Probability = Field(
        0.6, description="P(a return call is answered) when made at once"
    )
    return_call_half_life_h: PositiveSeconds = Field(
        8.0, description="hours for the return call's answer probability to halve"
    )


class Cadence(Strict):
    max_attempts: int = Field(6, ge=1, le=100)
    min_gap_h: NonNegativeSeconds = Field(20.0, description="minimum hours between attempts")
    max_attempts_per_day: int = Field(1, ge=1, le=100)
    min_gap_after_abandon_h: NonNegativeSeconds = Field(
        0.0, description="no redial of a prospect for this long after an abandoned call (UK: 72)"
    )
    list_order: Literal["retries_first", "fresh_first"] = Field(
        "retries_first", description="which comes first when both are due: due retries or fresh leads"
    )


class OptOut(Strict):
    p_per_connect: Probability = 0.02
    p_per_heard_voicemail: Probability = 0.002
    growth_per_touch: float = Field(
        1.3, ge=1, le=10, description="risk multiplier per earlier touch (connect or heard voicemail)"
    )


class Segment(Strict):
    """A slice of the list with its own behaviour (e.g. cold vs warm)."""

    name: str = Field("all", min_length=1)
    weight: float = Field(1.0, gt=0)
    p_bad_number: Probability = 0.06
    reachability: Probability = Field(
        0.3, description="mean P(the prospect is at the phone when dialled)"
    )
    reachability_concentration: float | None = Field(
        6.0, gt=0, description="Beta concentration: higher = more alike; null = all identical"
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

    name: str = Field("local", min_length=1)
    utc_offset_h: float = Field(
        0.0, ge=-24, le=24, description="prospect's clock minus the team's clock, hours"
    )
    weight: float = Field(1.0, gt=0)


class Prospects(Strict):
    count: int = Field(4000, ge=1, le=5_000_000)
    segments: list[Segment] = Field(default_factory=lambda: [Segment()], min_length=1)
    time_zones: list[TimeZone] = Field(default_factory=lambda: [TimeZone()], min_length=1)
    hourly_availability: list[float] = Field(
        default_factory=lambda: [1.0] * 24,
        min_length=24,
        max_length=24,
        description="multiplier on reachability by the prospect's local hour 0..23",
    )
    calling_window_start: Clock = Field("08:00", description="prospect's local time")
    calling_window_end: Clock = "21:00"

    @field_validator("hourly_availability")
    @classmethod
    def _non_negative(cls, values):
        for hour, v in enumerate(values):
            if not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"hour {hour}: multiplier must be a finite number >= 0, got {v}")
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

    name: str = Field(min_length=1)
    kind: Literal["never", "always", "rotate", "first_n", "sequence"] | None = None
    n_messages: int | None = Field(None, ge=1, le=100)
    n: int | None = Field(None, ge=0, le=100)
    sequence: list[str] | None = None
    then: Literal["cycle", "repeat_last", "silent"] | None = None

    @model_validator(mode="after")
    def _complete(self):
        kind = self.kind
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
        0.0, description="pipeline value of one meeting (one value for every segment: results "
        "are not split by segment yet)"
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
    baseline: str | None = Field(None, description="strategy differences are taken against this one")


class Scenario(Strict):
    """The whole scenario. Sections mirror docs/model.md."""

    schema_version: Literal[1]
    name: str = Field("scenario", min_length=1, max_length=120)
    description: str = ""
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
    prospects: Prospects = Field(default_factory=Prospects)
    strategies: list[StrategyEntry] = Field(
        default_factory=lambda: [StrategySpec(name=n) for n in ("never", "always", "rotate")],
        min_length=1,
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


def _format_error(err: dict) -> str:
    kind = err.get("type", "")
    msg = err.get("msg", "invalid value")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    given = err.get("input")
    if kind not in ("model_type", "union_tag_invalid") and not isinstance(given, (dict, list)):
        return f"{msg} (got {given!r})"
    return msg


def validation_message(source: str, error: ValidationError) -> str:
    """One line per problem: ``source: key.path: problem``."""
    lines = []
    for err in error.errors():
        loc = _format_loc(err["loc"])
        lines.append(f"{source}: {loc + ': ' if loc else ''}{_format_error(err)}")
    return "\n".join(lines)


def read_scenario_file(path: str | Path) -> dict:
    """Parse a TOML scenario into plain data; a missing or unreadable file is a UserError."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such scenario file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, expected a scenario .toml file")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"team.reps=8"`` -> (["team", "reps"], 8).

    Values are TOML (numbers, booleans, "strings", [lists], {tables}); a bare word is a
    string, and a bare ``null`` clears an optional key (TOML itself has no null).
    """
    if "=" not in text:
        raise UserError(f"--set {text!r}: expected key.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise UserError(f"--set {text!r}: expected key.path=value")
    if raw.strip() == "null":
        return key.split("."), None
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
    if data.get("schema_version") != SCHEMA_VERSION:
        raise UserError(
            f"{source}: schema_version: this dialsim reads version {SCHEMA_VERSION}, "
            f"the file says {data.get('schema_version')!r}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(validation_message(source, exc)) from None


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override (``--set``) and validate a scenario file."""
    data = read_scenario_file(path)
    source = str(path)
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
                    line = f"--set {text}: {rest}"
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
        apply_override(resolved, path, value, f"--set {text}")
    return resolved
