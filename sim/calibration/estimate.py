"""Estimators: scenario parameters from a call log, each with a 95% interval.

Every estimate names the scenario key it sets and the rule of docs/model.md it
inverts; the rule itself is written only here, as the estimator's likelihood (the
model's code is never imported). What a log cannot tell apart is fitted as the
product it does identify and written with the other factor at its default; what it
cannot inform at all keeps its default, and :class:`Fit` says so.

All work is columnar (numpy over the log's columns, scipy for the fits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.calibration.calllog import (
    LIVE_OUTCOMES,
    OUTCOME_CODE,
    REACH_OUTCOMES,
    SILENT_MISS_OUTCOMES,
    VOICEMAIL_OUTCOMES,
    CallLog,
)

Z95 = 1.959963984540054
DAY_S = 86400.0
SEGMENT = "prospects.segments.0"
MIN_DIALS_PER_HOUR = 200  # hours with fewer dials share the reference hour's multiplier
WARM_START_PROSPECTS = 20_000  # larger lists: a first fit on this many prospects starts the full one


@dataclass
class Estimate:
    """One fitted scenario value: estimate, 95% interval, sample size and its rule."""

    key: str  # scenario key path, e.g. "prospects.segments.0.p_bad_number"
    value: float
    low: float
    high: float
    n: int  # the sample size behind it (what it counts is in ``basis``)
    basis: str  # what ``n`` counts, e.g. "prospects dialled"
    rule: str  # docs/model.md rule it maps to
    note: str = ""
    written: bool = True  # False: detail shown and tested, written through another key


@dataclass
class Setting:
    """A scenario value read off the log (an operating choice, not a behaviour)."""

    key: str
    value: object
    note: str


@dataclass
class Rate:
    """An observable rate of the log with a 95% interval (clustered by prospect)."""

    name: str
    value: float
    low: float
    high: float
    numerator: float
    denominator: float


@dataclass
class Fit:
    estimates: list[Estimate] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)
    uninformed: list[tuple[str, str]] = field(default_factory=list)  # key, why not
    warnings: list[str] = field(default_factory=list)
    rates: list[Rate] = field(default_factory=list)
    distributions: dict = field(default_factory=dict)  # key -> distribution table for the TOML

    def estimate(self, key: str) -> Estimate | None:
        return next((e for e in self.estimates if e.key == key), None)


# ------------------------------------------------------------------------------ helpers
def binomial(key: str, k: int, n: int, basis: str, rule: str, note: str = "") -> Estimate:
    """A proportion with its exact (Clopper-Pearson) 95% interval."""
    from scipy.stats import beta

    low = float(beta.ppf(0.025, k, n - k + 1)) if k > 0 else 0.0
    high = float(beta.ppf(0.975, k + 1, n - k)) if k < n else 1.0
    return Estimate(key, k / n, low, high, int(n), basis, rule, note)


def lognormal_fit(values: np.ndarray) -> tuple[float, float, tuple, tuple, int]:
    """Median and sigma of a log-normal sample by maximum likelihood, with 95% intervals.

    The median's interval is Student-t on the mean log; sigma's is chi-square.
    """
    from scipy.stats import chi2, t

    logs = np.log(values[values > 0])
    n = logs.size
    mu, sd = float(logs.mean()), float(logs.std(ddof=1))
    half = float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    sigma_ci = (sd * math.sqrt((n - 1) / chi2.ppf(0.975, n - 1)), sd * math.sqrt((n - 1) / chi2.ppf(0.025, n - 1)))
    return math.exp(mu), sd, (math.exp(mu - half), math.exp(mu + half)), sigma_ci, n


def numeric_hessian(grad, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Hessian of a function from its gradient by central differences (symmetrised)."""
    k = theta.size
    hess = np.empty((k, k))
    for i in range(k):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        hess[:, i] = (grad(up) - grad(down)) / (2 * step)
    return 0.5 * (hess + hess.T)


def wald_se(hess_of_negloglik: np.ndarray) -> np.ndarray:
    """Standard errors from the observed information (NaN where it is singular)."""
    try:
        cov = np.linalg.inv(hess_of_negloglik)
    except np.linalg.LinAlgError:
        return np.full(hess_of_negloglik.shape[0], np.nan)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)


def wald_interval(theta: float, se: float, transform) -> tuple[float, float, float]:
    """(estimate, low, high) of ``transform(theta)``: a 95% Wald interval on theta's scale.

    A singular information (se NaN) leaves the estimate and gives a NaN interval."""
    value = float(transform(theta))
    if not np.isfinite(se):
        return value, math.nan, math.nan
    return value, float(transform(theta - Z95 * se)), float(transform(theta + Z95 * se))


def ratio_rate(name: str, num: np.ndarray, den: np.ndarray, prospect: np.ndarray,
               n_prospects: int) -> Rate:
    """sum(num) / sum(den) with a 95% interval clustered by prospect (delta method).

    Calls of one prospect are not independent; each prospect is one cluster.
    """
    y = np.bincount(prospect, weights=num.astype(float), minlength=n_prospects)
    x = np.bincount(prospect, weights=den.astype(float), minlength=n_prospects)
    total_y, total_x = float(y.sum()), float(x.sum())
    if total_x == 0:
        return Rate(name, math.nan, math.nan, math.nan, total_y, total_x)
    r = total_y / total_x
    m = np.count_nonzero(x) or 1
    var = float(((y - r * x) ** 2).sum()) * m / max(m - 1, 1) / total_x**2
    half = Z95 * math.sqrt(var)
    return Rate(name, r, max(r - half, 0.0), r + half, total_y, total_x)


# ------------------------------------------------------------------------------ the rates
OBSERVED_RATES = (
    # name, numerator outcomes (per outbound dial unless noted), documented meaning
    ("conversation_rate", "conversations (outbound connects + gatekeepers) per dial"),
    ("live_answer_share", "live answers (connects + gatekeepers + abandoned) per dial"),
    ("voicemail_share", "voicemail greetings reached per dial"),
    ("callbacks_per_message_left", "callbacks received per voicemail message left"),
    ("contacts_per_prospect", "prospects reached (a connect, inbound or outbound) per prospect dialled"),
)


def observed_rates(log: CallLog) -> list[Rate]:
    """The log's own observable rates, defined as in docs/results.md (observable rates)."""
    out = log.direction == 0
    inbound = log.is_callback()
    p, n = log.prospect, log.n_prospects
    conv = log.is_outcome("connect", "gatekeeper")
    live = log.is_outcome("connect", "gatekeeper", "abandoned")
    vm = log.is_outcome(*VOICEMAIL_OUTCOMES)
    left = log.is_outcome("voicemail_left")
    reached = np.zeros(n, dtype=bool)
    reached[p[log.is_outcome(*REACH_OUTCOMES)]] = True
    dialled = np.zeros(n, dtype=bool)
    dialled[p[out]] = True
    ids = np.arange(n)
    return [
        ratio_rate("conversation_rate", conv, out, p, n),
        ratio_rate("live_answer_share", live, out, p, n),
        ratio_rate("voicemail_share", vm, out, p, n),
        ratio_rate("callbacks_per_message_left", inbound, left, p, n),
        ratio_rate("contacts_per_prospect", reached & dialled, dialled, ids, n),
    ]


# ------------------------------------------------------------------------------ the fit
def fit_call_log(log: CallLog, defaults: dict, log_end_s: float | None = None,
                 voicemail_box_known: bool = True) -> Fit:
    """Every estimate the log supports. ``defaults`` is a resolved scenario (plain data)."""
    fit = Fit()
    fit.rates = observed_rates(log)
    _read_settings(log, fit)
    _read_segments(log, fit)
    _fit_bad_numbers(log, fit)
    if voicemail_box_known:
        _fit_voicemail_box(log, fit)
    else:
        fit.uninformed.append((f"{SEGMENT}.p_voicemail_box", "this export does not tell a voicemail "
                               "hung up on from a ring-out"))
    _fit_right_party(log, fit)
    timeout_s, p_ring = _fit_ring(log, fit, defaults)
    _fit_durations(log, fit)
    _fit_live_answers(log, fit, defaults, timeout_s, p_ring)
    _fit_callbacks(log, fit, defaults, log_end_s)
    _fit_opt_outs(log, fit, defaults)
    _fit_returns(log, fit, log_end_s)
    return fit


def _read_settings(log: CallLog, fit: Fit) -> None:
    """The team's operating choices: reps, days, shift, list size, cadence, zones."""
    out = log.direction == 0
    team_local = (log.t_s + log.team_offset_s)[out]
    days = np.floor(team_local / DAY_S)
    fit.settings.append(Setting("prospects.count", int(np.unique(log.prospect[out]).size),
                                "prospects dialled in the log"))
    if log.rep is not None and (log.rep[out] >= 0).any():
        fit.settings.append(Setting("team.reps", int(np.unique(log.rep[out][log.rep[out] >= 0]).size),
                                    "reps who dialled in the log"))
    else:
        fit.uninformed.append(("team.reps", "the log has no rep_id column"))
    fit.settings.append(Setting("calendar.days", int(np.unique(days).size), "days with dials"))
    # shift: 15-minute bins of the team's clock with dials; a gap of 30+ min inside is a break
    minute_bin = (np.floor((team_local % DAY_S) / 900.0)).astype(np.int64)
    counts = np.bincount(minute_bin, minlength=96)
    busy = np.flatnonzero(counts > 0)
    first, last = int(busy[0]), int(busy[-1]) + 1
    fit.settings.append(Setting("calendar.shift_start", _clock(first * 900), "the first 15 minutes with a dial"))
    fit.settings.append(Setting("calendar.shift_end", _clock(last * 900), "the last 15 minutes with a dial"))
    empty = counts[first:last] == 0
    gap_start, gap_len, run = None, 0, 0
    for i, e in enumerate(empty.tolist()):  # 96 bins, not rows
        run = run + 1 if e else 0
        if run > gap_len:
            gap_len, gap_start = run, i - run + 1
    if gap_len >= 2:
        fit.settings.append(Setting("calendar.break_start", _clock((first + gap_start) * 900), "no dials"))
        fit.settings.append(Setting("calendar.break_end", _clock((first + gap_start + gap_len) * 900), "no dials"))
    else:
        fit.settings.append(Setting("calendar.break_start", "none", "no 30-minute gap in the dials"))
        fit.settings.append(Setting("calendar.break_end", "none", "no 30-minute gap in the dials"))
    attempts = log.attempt[out]
    fit.settings.append(Setting("cadence.max_attempts", int(attempts.max()), "most dials to one prospect"))
    # gaps between a prospect's successive dials, and dials per prospect per day
    prospect_out = log.prospect[out]
    t_out = log.t_s[out]
    same = prospect_out[1:] == prospect_out[:-1]
    if same.any():
        gaps_h = (t_out[1:] - t_out[:-1])[same] / 3600.0
        fit.settings.append(Setting("cadence.min_gap_h", float(math.floor(gaps_h.min() * 2) / 2),
                                    "shortest gap between two dials of a prospect"))
        key = prospect_out.astype(np.int64) * 100_000 + (days - days.min()).astype(np.int64)
        per_day = np.unique(key, return_counts=True)[1]
        fit.settings.append(Setting("cadence.max_attempts_per_day", int(per_day.max()),
                                    "most dials to one prospect in a day"))
    if log.prospect_offset_s is not None:
        team_offset = float(np.median(log.team_offset_s))
        rel_h = np.round((log.prospect_offset_s[out] - team_offset) / 1800.0) / 2.0
        values, counts = np.unique(rel_h, return_counts=True)
        zones = [{"name": f"UTC{(v + team_offset / 3600):+g}", "utc_offset_h": float(v),
                  "weight": round(float(c) / counts.sum(), 4)} for v, c in zip(values, counts)]
        fit.settings.append(Setting("prospects.time_zones", zones,
                                    "share of dials per prospect zone (offset from the team's clock)"))
        local = ((log.t_s + log.prospect_offset_s)[out]) % DAY_S
        fit.settings.append(Setting("prospects.calling_window_start",
                                    _clock(math.floor(local.min() / 900) * 900), "earliest local dial"))
        fit.settings.append(Setting("prospects.calling_window_end",
                                    _clock(min(math.ceil((local.max() + 1) / 900) * 900, DAY_S)),
                                    "latest local dial"))
    else:
        fit.uninformed.append(("prospects.time_zones", "the log has no prospect_utc_offset_h column: "
                               "prospects are taken to be on the team's clock"))
        fit.uninformed.append(("prospects.calling_window_start", "no prospect time zones in the log"))


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{(seconds % 3600) // 60:02d}"


def _first_dial_rows(log: CallLog) -> np.ndarray:
    return np.flatnonzero((log.direction == 0) & (log.attempt == 1))


def _row_segments(log: CallLog) -> tuple[np.ndarray, list[str]]:
    """Each call's list segment (index) and the segment names."""
    of_prospect, names = prospect_segments(log)
    return of_prospect[log.prospect], names


def _read_segments(log: CallLog, fit: Fit) -> None:
    """With a segment column: each segment's name and its share of the prospects dialled."""
    of_prospect, names = prospect_segments(log)
    if len(names) < 2:
        return
    dialled = np.unique(log.prospect[log.direction == 0])
    counts = np.bincount(of_prospect[dialled], minlength=len(names))
    for i, name in enumerate(names):
        fit.settings.append(Setting(f"{segment_key(i)}.name", str(name), "segment column"))
        fit.settings.append(Setting(f"{segment_key(i)}.weight", round(float(counts[i]) / counts.sum(), 4),
                                    "its share of the prospects dialled"))


def _fit_bad_numbers(log: CallLog, fit: Fit) -> None:
    first = _first_dial_rows(log)
    segment, names = _row_segments(log)
    for i in range(len(names)):
        rows = first[segment[first] == i]
        if rows.size == 0:
            continue
        bad = log.outcome[rows] == OUTCOME_CODE["bad_number"]
        fit.estimates.append(binomial(f"{segment_key(i)}.p_bad_number", int(bad.sum()), rows.size,
                                      "prospects dialled", "One dial, step 2: bad number (per prospect)"))


MIXED_LINES_FOR_PER_DIAL = 0.05  # above this share of lines both ring out and reach voicemail


def _fit_voicemail_box(log: CallLog, fit: Fit) -> None:
    """A voicemail box belongs to the line (docs/model.md): a prospect's unanswered dials
    all reach voicemail, or all ring out. The share of lines with a box is estimated
    per prospect. A log in which many lines do both (a box full some days) is fitted
    per dial instead, and the scenario says so (``prospects.voicemail_box``)."""
    segment, names = _row_segments(log)
    vm_rows, none_rows = log.is_outcome(*VOICEMAIL_OUTCOMES), log.is_outcome("no_answer")
    size = log.n_prospects
    vm_per_line = np.bincount(log.prospect[vm_rows], minlength=size)
    none_per_line = np.bincount(log.prospect[none_rows], minlength=size)
    unanswered = (vm_per_line + none_per_line) > 0
    mixed = (vm_per_line > 0) & (none_per_line > 0)
    several = (vm_per_line + none_per_line) > 1
    per_dial = several.any() and mixed.sum() > MIXED_LINES_FOR_PER_DIAL * several.sum()
    fit.settings.append(Setting(
        "prospects.voicemail_box", "dial" if per_dial else "line",
        f"{int(mixed.sum()):,} of {int(several.sum()):,} lines with several unanswered dials "
        "both rang out and reached voicemail" + (": fitted per dial" if per_dial else "")))
    of_prospect, _ = prospect_segments(log)
    for i in range(len(names)):
        if per_dial:
            k = int((vm_rows & (segment == i)).sum())
            n = k + int((none_rows & (segment == i)).sum())
            basis, rule = "unanswered dials", "One dial, step 4: voicemail, else no answer (per dial)"
        else:
            lines = unanswered & (of_prospect == i)
            k, n = int((lines & (vm_per_line > 0)).sum()), int(lines.sum())
            basis, rule = "lines with an unanswered dial", "One dial, step 4: a voicemail box per line"
        if n == 0:
            fit.uninformed.append((f"{segment_key(i)}.p_voicemail_box", "no unanswered dials in the log"))
            continue
        fit.estimates.append(binomial(f"{segment_key(i)}.p_voicemail_box", k, n, basis, rule))


def _fit_right_party(log: CallLog, fit: Fit) -> None:
    segment, names = _row_segments(log)
    connect, gatekeeper = log.is_outcome("connect"), log.is_outcome("gatekeeper")
    for i in range(len(names)):
        right = int((connect & (segment == i)).sum())
        gk = int((gatekeeper & (segment == i)).sum())
        if right + gk == 0:
            fit.uninformed.append((f"{segment_key(i)}.p_right_party", "no live answers bridged to a rep"))
            continue
        fit.estimates.append(binomial(f"{segment_key(i)}.p_right_party", right, right + gk,
                                      "live answers bridged to a rep",
                                      "One dial: a bridged live answer is the prospect with p_right_party"))


def _fit_ring(log: CallLog, fit: Fit, defaults: dict) -> tuple[float, float]:
    """Ring timeout from unanswered dials; ring delay: a log-normal truncated at it."""
    from scipy.optimize import minimize
    from scipy.stats import norm

    timeout_s = float(defaults["dialer"]["ring_timeout_s"])
    ring_default = defaults["dialer"]["ring_delay_s"]
    default_p = _lognormal_cdf(timeout_s, ring_default) if ring_default.get("dist") == "lognormal" else 1.0
    if log.ring_s is None:
        fit.uninformed.append(("dialer.ring_timeout_s", "the log has no ring_s column"))
        fit.uninformed.append(("dialer.ring_delay_s", "the log has no ring_s column"))
        return timeout_s, default_p
    unanswered = log.is_outcome("voicemail_left", "voicemail_silent", "no_answer") & ~np.isnan(log.ring_s)
    if unanswered.any():
        timeout_s = float(np.median(log.ring_s[unanswered]))
        fit.settings.append(Setting("dialer.ring_timeout_s", round(timeout_s, 2),
                                    "median ringing of unanswered dials"))
    answered = log.is_outcome("connect", "gatekeeper", "abandoned") & ~np.isnan(log.ring_s)
    rings = log.ring_s[answered]
    rings = rings[(rings > 0) & (rings < timeout_s)]
    if rings.size < 20:
        fit.uninformed.append(("dialer.ring_delay_s", "fewer than 20 live answers with ring times"))
        return timeout_s, default_p
    logs = np.log(rings)
    log_t = math.log(timeout_s)

    def nll(theta):
        mu, log_sigma = theta
        sigma = math.exp(log_sigma)
        return -(norm.logpdf(logs, mu, sigma).sum() - logs.size * norm.logcdf(log_t, mu, sigma))

    start = np.array([logs.mean(), math.log(max(logs.std(), 0.05))])
    res = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
    from scipy.optimize import approx_fprime

    hess = numeric_hessian(lambda th: approx_fprime(th, nll, 1e-6), res.x, 1e-3)
    se = wald_se(hess)
    mu, log_sigma = res.x
    sigma = math.exp(log_sigma)
    fit.estimates.append(Estimate("dialer.ring_delay_s.median", math.exp(mu), math.exp(mu - Z95 * se[0]),
                                  math.exp(mu + Z95 * se[0]), int(rings.size), "live answers with ring times",
                                  "One dial, step 3: ring delay (log-normal; only delays below the "
                                  "timeout are seen, so the fit is truncated there)"))
    fit.estimates.append(Estimate("dialer.ring_delay_s.sigma", sigma, math.exp(log_sigma - Z95 * se[1]),
                                  math.exp(log_sigma + Z95 * se[1]), int(rings.size),
                                  "live answers with ring times", "One dial, step 3: ring delay"))
    fit.distributions["dialer.ring_delay_s"] = {"dist": "lognormal", "median": _r(math.exp(mu)),
                                                "sigma": _r(sigma)}
    return timeout_s, float(norm.cdf((log_t - mu) / sigma))


def _lognormal_cdf(x: float, dist: dict) -> float:
    from scipy.stats import norm

    return float(norm.cdf((math.log(x) - math.log(dist["median"])) / max(dist["sigma"], 1e-9)))


def _r(x: float, digits: int = 4) -> float:
    """Round to ``digits`` significant digits (readable TOML, far inside the intervals)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1)


def _fit_durations(log: CallLog, fit: Fit) -> None:
    """Talk, gatekeeper talk, inbound talk and wrap-up: log-normal fits."""
    specs = (
        ("conversation.talk_s", ("connect",), log.talk_s, "connects", 3600.0),
        ("conversation.gatekeeper_talk_s", ("gatekeeper",), log.talk_s, "gatekeeper answers", 600.0),
        ("conversation.inbound_talk_s", ("inbound_connect", "return_connect", "reply_connect"), log.talk_s,
         "inbound and return connects", 3600.0),
        ("conversation.wrap_s", ("connect",), log.wrap_s, "connects with wrap-up times", None),
    )
    for key, outcomes, column, basis, cap in specs:
        if column is None:
            fit.uninformed.append((key, f"the log has no {'wrap_s' if key.endswith('wrap_s') else 'talk_s'} column"))
            continue
        values = column[log.is_outcome(*outcomes)]
        values = values[~np.isnan(values) & (values > 0)]
        if values.size < 20:
            fit.uninformed.append((key, f"fewer than 20 {basis} with a duration"))
            continue
        if np.ptp(values) < 1e-6 * max(values.max(), 1.0):
            value = float(values[0])
            fit.estimates.append(Estimate(key, value, value, value, int(values.size), basis,
                                          "Live connect: talk then wrap-up", "the same in every call: fixed"))
            fit.distributions[key] = _r(value)
            continue
        median, sigma, median_ci, sigma_ci, n = lognormal_fit(values)
        rule = "Live connect: talk then wrap-up (log-normal)"
        fit.estimates.append(Estimate(f"{key}.median", median, *median_ci, n, basis, rule))
        fit.estimates.append(Estimate(f"{key}.sigma", sigma, *sigma_ci, n, basis, rule))
        dist = {"dist": "lognormal", "median": _r(median), "sigma": _r(sigma)}
        if cap is not None:
            dist["max"] = cap
        fit.distributions[key] = dist


# ------------------------------------------------------------------------------ live answers
@dataclass
class LiveAnswerData:
    """Outbound dials whose outcome shows whether a person picked up, with covariates."""

    group: np.ndarray  # prospect index 0..P-1 (contiguous)
    live: np.ndarray  # bool
    silent_misses_before: np.ndarray
    messages_before: np.ndarray
    hour_index: np.ndarray  # index into ``hours`` (0 = the reference hour)
    hours: list[int]  # local hour of each multiplier; hours[0] is the reference
    n_prospects: int
    segment: np.ndarray | None = None  # per prospect index: its list segment (0..K-1)
    n_segments: int = 1


def prospect_segments(log: CallLog) -> tuple[np.ndarray, list[str]]:
    """Each prospect code's segment (that of its first call) and the segment names.

    Without a ``segment`` column every prospect is in one segment, ``all``.
    """
    if log.segment is None:
        return np.zeros(log.n_prospects, dtype=np.int64), ["all"]
    starts = np.flatnonzero(np.r_[True, log.prospect[1:] != log.prospect[:-1]])
    of_prospect = np.zeros(log.n_prospects, dtype=np.int64)
    of_prospect[log.prospect[starts]] = log.segment[starts]
    used = np.unique(of_prospect)
    renumber = np.zeros(len(log.segment_names), dtype=np.int64)
    renumber[used] = np.arange(used.size)
    return renumber[of_prospect], [log.segment_names[i] for i in used]


def segment_key(index: int) -> str:
    return f"prospects.segments.{index}"


def live_answer_data(log: CallLog, segment_of_prospect: np.ndarray | None = None) -> LiveAnswerData:
    out = log.direction == 0
    miss = out & log.is_outcome(*SILENT_MISS_OUTCOMES)
    left = out & log.is_outcome("voicemail_left")
    s_before = log.count_before(miss)
    m_before = log.count_before(left)
    observed = out & ~log.is_outcome("bad_number", "cancelled")
    hour = (np.floor(((log.t_s + log.local_offset_s()) % DAY_S) / 3600.0)).astype(np.int64)
    rows = np.flatnonzero(observed)
    codes, group = np.unique(log.prospect[rows], return_inverse=True)
    segment = (segment_of_prospect[codes] if segment_of_prospect is not None
               else np.zeros(codes.size, dtype=np.int64))
    h = hour[rows]
    counts = np.bincount(h, minlength=24)
    reference = int(np.argmax(counts))
    own = [hh for hh in range(24) if counts[hh] >= MIN_DIALS_PER_HOUR and hh != reference]
    index_of = np.zeros(24, dtype=np.int64)
    for i, hh in enumerate(own, start=1):
        index_of[hh] = i
    return LiveAnswerData(group.astype(np.int64), log.is_outcome(*LIVE_OUTCOMES)[rows],
                          s_before[rows].astype(float), m_before[rows].astype(float),
                          index_of[h], [reference, *own], int(group.max()) + 1 if rows.size else 0,
                          segment.astype(np.int64), int(segment.max()) + 1 if segment.size else 1)


def subset_prospects(data: LiveAnswerData, n: int, seed: int = 0) -> LiveAnswerData:
    """The dials of ``n`` prospects drawn at random (seeded): a quick first fit."""
    rng = np.random.default_rng(seed)
    chosen = np.zeros(data.n_prospects, dtype=bool)
    chosen[rng.choice(data.n_prospects, size=n, replace=False)] = True
    rows = chosen[data.group]
    _, group = np.unique(data.group[rows], return_inverse=True)
    return LiveAnswerData(group.astype(np.int64), data.live[rows], data.silent_misses_before[rows],
                          data.messages_before[rows], data.hour_index[rows], data.hours, n,
                          data.segment[chosen], data.n_segments)


class LiveAnswerModel:
    """Likelihood of live answers: docs/model.md "One dial", step 3, and "Screening".

    P(a person picks up dial j of prospect p) =
        min(1, x_p a[hour_j]) x min(1, p_pickup s^S_j m^M_j) x P(ring delay < timeout)
    with x_p ~ Beta(mean mu, concentration k) the prospect's reachability (mean and
    concentration per list segment), ``a`` the
    hourly availability (1 at the reference hour), S_j earlier silent misses and M_j
    earlier messages left; p_pickup and the ring probability are known constants. A
    message is heard with p_listen, so m = 1 - p_listen + p_listen x
    answer_mult_per_voicemail. x_p is integrated out per prospect (Gauss-Legendre in
    sqrt(x), 16 nodes), so prospects who rarely answer are not mistaken for screening.
    Parameters (unbounded scale): logit mu and log k per segment, log s, log m, log a[h].
    """

    NODES = 16
    CHUNK_ROWS = 200_000

    def __init__(self, data: LiveAnswerData, pickup: float, p_ring: float, fit_s: bool, fit_m: bool):
        from numpy.polynomial.legendre import leggauss

        self.d = data
        self.log_pickup, self.p_ring = math.log(pickup), p_ring
        self.fit_s, self.fit_m = fit_s, fit_m
        t, w = leggauss(self.NODES)
        t = 0.5 * (t + 1.0)
        self.x = t**2
        self.log_base = np.log(0.5 * w * 2 * t)
        self.y = data.live.astype(float)
        self.live = data.live
        # rows are sorted by prospect: chunks of about CHUNK_ROWS rows cut at prospect
        # boundaries (bounded memory), with each prospect's first row in the chunk
        starts = np.flatnonzero(np.r_[True, data.group[1:] != data.group[:-1]])
        self.chunks = []
        k = 0
        while k < starts.size:
            lo = int(starts[k])
            k_hi = max(int(np.searchsorted(starts, lo + self.CHUNK_ROWS, side="left")), k + 1)
            hi = int(starts[k_hi]) if k_hi < starts.size else data.group.size
            cut = np.r_[starts[k:k_hi], hi]
            self.chunks.append((lo, hi, k, k_hi, starts[k:k_hi] - lo, np.diff(cut)))
            k = k_hi
        self.n_hours = len(data.hours)
        self.k_seg = data.n_segments
        self.seg = data.segment if data.segment is not None else np.zeros(data.n_prospects, dtype=np.int64)
        self.names = ([f"reachability_{i}" for i in range(self.k_seg)]
                      + [f"concentration_{i}" for i in range(self.k_seg)]
                      + (["silent_miss_mult"] if fit_s else []) + (["message_mult"] if fit_m else [])
                      + [f"hour_{h}" for h in data.hours[1:]])

    def unpack(self, theta):
        k = self.k_seg
        i = 2 * k
        log_s = log_m = 0.0
        if self.fit_s:
            log_s = theta[i]
            i += 1
        if self.fit_m:
            log_m = theta[i]
            i += 1
        log_a = np.r_[0.0, theta[i:]]
        return np.asarray(theta[:k]), np.asarray(theta[k:2 * k]), log_s, log_m, log_a

    def value_and_grad(self, theta, per_prospect: bool = False):
        """Log-likelihood and its gradient; with ``per_prospect``, the gradient is the
        matrix of each prospect's score (prospects x parameters), for the OPG covariance."""
        from scipy.special import digamma, expit, logsumexp
        from scipy.stats import beta

        d = self.d
        logit_mu, log_k, log_s, log_m, log_a = self.unpack(theta)
        mu, k = expit(logit_mu), np.exp(log_k)  # per segment
        a, b = mu * k, (1 - mu) * k
        lw = self.log_base[None, :] + beta.logpdf(self.x[None, :], a[:, None], b[:, None])
        lw = lw - logsumexp(lw, axis=1)[:, None]  # (segments, nodes)
        hour_mult = np.exp(log_a)[d.hour_index]
        log_pick = self.log_pickup + d.silent_misses_before * log_s + d.messages_before * log_m
        pick_capped = log_pick >= 0.0  # pick-up probability at its cap of 1
        pick = np.exp(np.minimum(log_pick, 0.0)) * self.p_ring
        big = np.empty((d.n_prospects, self.NODES))
        kept = []
        for lo, hi, k_lo, k_hi, starts, _counts in self.chunks:
            avail = self.x[None, :] * hour_mult[lo:hi, None]
            avail_capped = avail >= 1.0
            np.minimum(avail, 1.0, out=avail)
            prob = np.minimum(avail * pick[lo:hi, None], 1 - 1e-12)
            live = self.live[lo:hi]
            terms = np.where(live[:, None], np.log(prob), np.log1p(-prob))
            big[k_lo:k_hi] = np.add.reduceat(terms, starts, axis=0)
            # d term / d log P: 1 for a live answer, -P / (1 - P) otherwise
            slope = np.where(live[:, None], 1.0, -prob / (1.0 - prob))
            kept.append((slope, avail_capped))
        big += lw[self.seg]
        top = big.max(axis=1)
        post = np.exp(big - top[:, None])
        norm = post.sum(axis=1)
        ll_p = top + np.log(norm)
        total = float(ll_p.sum())
        post /= norm[:, None]
        e_hour = np.empty(d.group.size)  # sum_g post x slope, where the hour acts (x a < 1)
        e_pick = np.empty(d.group.size)  # sum_g post x slope (pick-up acts on every node)
        for (lo, hi, k_lo, k_hi, _starts, counts), (slope, avail_capped) in zip(self.chunks, kept):
            weights = np.repeat(post[k_lo:k_hi], counts, axis=0)
            weighted = weights * slope
            e_pick[lo:hi] = weighted.sum(axis=1)
            weighted[avail_capped] = 0.0
            e_hour[lo:hi] = weighted.sum(axis=1)
        e_pick[pick_capped] = 0.0
        # mean and concentration act through the node weights of the prospect's segment
        dlp_da = np.log(self.x)[None, :] - digamma(a)[:, None] + digamma(a + b)[:, None]
        dlp_db = np.log1p(-self.x)[None, :] - digamma(b)[:, None] + digamma(a + b)[:, None]
        w = np.exp(lw)
        dlw_da = dlp_da - (w * dlp_da).sum(axis=1)[:, None]
        dlw_db = dlp_db - (w * dlp_db).sum(axis=1)[:, None]
        seg = self.seg
        d_da = np.einsum("pg,pg->p", post, dlw_da[seg])  # per prospect
        d_db = np.einsum("pg,pg->p", post, dlw_db[seg])
        d_mu = (d_da - d_db) * (k * mu * (1 - mu))[seg]  # d / d logit mu of its segment
        d_k = d_da * a[seg] + d_db * b[seg]  # d / d log k
        if per_prospect:
            n, group = d.n_prospects, d.group
            columns = [np.where(seg == i, d_mu, 0.0) for i in range(self.k_seg)]
            columns += [np.where(seg == i, d_k, 0.0) for i in range(self.k_seg)]
            if self.fit_s:
                columns.append(np.bincount(group, weights=e_pick * d.silent_misses_before, minlength=n))
            if self.fit_m:
                columns.append(np.bincount(group, weights=e_pick * d.messages_before, minlength=n))
            by_hour = np.bincount(group * self.n_hours + d.hour_index, weights=e_hour,
                                  minlength=n * self.n_hours).reshape(n, self.n_hours)
            columns.extend(by_hour[:, 1:].T)
            return total, np.column_stack(columns)
        grads = [*np.bincount(seg, weights=d_mu, minlength=self.k_seg),
                 *np.bincount(seg, weights=d_k, minlength=self.k_seg)]
        if self.fit_s:
            grads.append(float(e_pick @ d.silent_misses_before))
        if self.fit_m:
            grads.append(float(e_pick @ d.messages_before))
        per_hour = np.bincount(d.hour_index, weights=e_hour, minlength=self.n_hours)
        grads.extend(per_hour[1:].tolist())
        return total, np.array(grads)


def bhhh(model, theta, bounds, max_steps: int = 12, tolerance: float = 1e-6):
    """Maximise by BHHH steps from a good start; (theta, per-prospect scores, converged).

    Converged when the Newton decrement g' (S'S)^-1 g (in log-likelihood units) is below
    ``tolerance``; a step that lowers the likelihood is halved.
    """
    low = np.array([b[0] for b in bounds])
    high = np.array([b[1] for b in bounds])
    value, scores = model.value_and_grad(theta, per_prospect=True)
    for _ in range(max_steps):
        grad = scores.sum(axis=0)
        try:
            step = np.linalg.solve(scores.T @ scores, grad)
        except np.linalg.LinAlgError:
            return theta, scores, False
        if float(grad @ step) < tolerance:
            return theta, scores, True
        for _halving in range(8):
            trial = np.clip(theta + step, low, high)
            trial_value, trial_scores = model.value_and_grad(trial, per_prospect=True)
            if trial_value >= value:
                break
            step = step / 2
        else:
            return theta, scores, False
        theta, value, scores = trial, trial_value, trial_scores
    return theta, scores, False


def _fit_live_answers(log: CallLog, fit: Fit, defaults: dict, timeout_s: float, p_ring: float) -> None:
    from scipy.optimize import minimize
    from scipy.special import expit, logit

    segment_of, names = prospect_segments(log)
    data = live_answer_data(log, segment_of)
    k_seg = data.n_segments
    seg = defaults["prospects"]["segments"][0]
    p_listen = float(defaults["callbacks"]["p_listen"])
    n_dials, n_live = data.live.size, int(data.live.sum())
    if n_dials < 100 or n_live < 10:
        fit.uninformed.append((f"{SEGMENT}.reachability", "fewer than 100 dials or 10 live answers"))
        return
    raw = n_live / n_dials
    pickup = float(seg["p_pickup"])
    if raw / (pickup * p_ring) > 0.6:
        pickup = min(1.0, raw / (0.6 * p_ring))
        fit.settings.append(Setting(f"{SEGMENT}.p_pickup", _r(pickup, 3),
                                    "raised from its default so that reachability stays below 1: "
                                    "the log identifies only their product"))
    kappa = pickup * p_ring
    fit_s = bool((data.silent_misses_before > 0).any())
    fit_m = bool((data.messages_before > 0).any())
    model = LiveAnswerModel(data, pickup, p_ring, fit_s, fit_m)
    live_by_segment = np.bincount(data.segment[data.group], weights=data.live, minlength=k_seg)
    dials_by_segment = np.bincount(data.segment[data.group], minlength=k_seg)
    mu0 = np.clip(live_by_segment / np.maximum(dials_by_segment, 1) / kappa, 0.02, 0.9)
    theta0 = np.r_[logit(mu0), [math.log(5.0)] * k_seg, [0.0] * fit_s, [0.0] * fit_m,
                   [0.0] * (len(data.hours) - 1)]
    bounds = [(-7, 7)] * k_seg + [(math.log(0.1), math.log(2000.0))] * k_seg \
        + [(-4, 2.5)] * (fit_s + fit_m) + [(-5, 3)] * (len(data.hours) - 1)

    def objective(theta):
        value, grad = model.value_and_grad(theta)
        return -value, -grad

    if data.n_prospects > 2 * WARM_START_PROSPECTS:
        # a fit on a random part of the list, then BHHH steps on the whole (Newton steps
        # with the outer product of the prospects' scores for the Hessian): from so close
        # a start they converge in a few full passes, where L-BFGS takes dozens
        quick = LiveAnswerModel(subset_prospects(data, WARM_START_PROSPECTS), pickup, p_ring, fit_s, fit_m)
        start = minimize(lambda th: tuple(-v for v in quick.value_and_grad(th)), theta0, jac=True,
                         method="L-BFGS-B", bounds=bounds, options={"maxiter": 500}).x
        theta, scores, converged = bhhh(model, start, bounds)
        res = None if converged else minimize(objective, theta, jac=True, method="L-BFGS-B",
                                              bounds=bounds, options={"maxiter": 500})
    else:
        res = minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-7})
    if res is not None:
        theta = res.x
        scores = model.value_and_grad(theta, per_prospect=True)[1]
    # covariance from the outer product of the prospects' scores (OPG): prospects are
    # independent, and unlike a numerical Hessian it is not thrown by the kinks the
    # caps at 1 leave in the quadrature
    se = wald_se(scores.T @ scores)
    basis = "dials with a known answer"
    rule_live = "One dial, step 3: live answer = reachability x hourly availability x pick-up"

    def interval(i, transform):
        lo, hi = theta[i] - Z95 * se[i], theta[i] + Z95 * se[i]
        return transform(theta[i]), transform(lo), transform(hi)

    per_segment = np.bincount(data.segment, minlength=k_seg)
    for s_index in range(k_seg):
        n = int(per_segment[s_index])
        key = segment_key(s_index)
        v, lo, hi = interval(s_index, lambda z: float(expit(z)))
        fit.estimates.append(Estimate(f"{key}.reachability", v, lo, hi, n, "prospects", rule_live,
                                      f"with p_pickup = {pickup:g} and P(ring delay < timeout) = "
                                      f"{p_ring:.3f}: the log identifies only reachability x p_pickup"))
        v, lo, hi = interval(k_seg + s_index, math.exp)
        at_bound = theta[k_seg + s_index] >= math.log(2000.0) - 1e-3
        fit.estimates.append(Estimate(f"{key}.reachability_concentration", v, lo, hi, n, "prospects",
                                      "The list: reachability ~ Beta(mean, concentration)",
                                      "at the fit's upper bound: prospects look alike" if at_bound else ""))
        if pickup != float(seg["p_pickup"]) and s_index > 0:
            fit.settings.append(Setting(f"{key}.p_pickup", _r(pickup, 3), "as segment 0"))
    i = 2 * k_seg
    warn_screening = False
    if fit_s:
        v, lo, hi = interval(i, math.exp)
        fit.estimates.append(Estimate("screening.answer_mult_per_silent_miss", v, lo, hi, n_dials, basis,
                                      "Screening: pick-up x answer_mult_per_silent_miss per silent miss",
                                      "observational: confounded (see the warning)"))
        i += 1
        warn_screening = True
    else:
        fit.uninformed.append(("screening.answer_mult_per_silent_miss", "no dial follows a silent miss"))
    if fit_m:
        m, m_lo, m_hi = interval(i, math.exp)

        def per_heard(mult):
            return max(1 + (mult - 1) / p_listen, 1e-3)

        fit.estimates.append(Estimate("screening.answer_mult_per_voicemail", per_heard(m), per_heard(m_lo),
                                      per_heard(m_hi), n_dials, basis,
                                      "Screening: pick-up x answer_mult_per_voicemail per message heard",
                                      f"per message left the log shows x{m:.3f} "
                                      f"[{m_lo:.3f}, {m_hi:.3f}]; a message is heard with p_listen = "
                                      f"{p_listen:g} (default, not in a log)"))
        i += 1
        warn_screening = True
    else:
        fit.uninformed.append(("screening.answer_mult_per_voicemail", "no dial follows a message left"))
    hourly = [1.0] * 24
    hour_estimates = []
    for j, hour in enumerate(data.hours[1:]):
        v, lo, hi = interval(i + j, math.exp)
        hourly[hour] = _r(v, 3)
        hour_estimates.append((hour, v, lo, hi))
    fit.distributions["prospects.hourly_availability"] = hourly
    for hour, v, lo, hi in hour_estimates:
        fit.estimates.append(Estimate(f"prospects.hourly_availability.{hour}", v, lo, hi,
                                      int(np.count_nonzero(data.hour_index == data.hours.index(hour))),
                                      f"dials at {hour:02d}h", "One dial, step 3: hourly availability",
                                      f"relative to {data.hours[0]:02d}h", written=False))
    fit.estimates.append(Estimate("prospects.hourly_availability", 1.0, 1.0, 1.0, n_dials, basis,
                                  "One dial, step 3: hourly availability by the prospect's local hour",
                                  f"reference hour {data.hours[0]:02d}:00 = 1; hours with fewer than "
                                  f"{MIN_DIALS_PER_HOUR} dials share it: "
                                  + "; ".join(f"{h:02d}h {v:.2f} [{lo:.2f}, {hi:.2f}]"
                                              for h, v, lo, hi in hour_estimates)))
    if warn_screening:
        fit.warnings.append(
            "screening multipliers come from an observational log: who got a message, and when, "
            "was not randomised, so list order, cadence and lead quality are mixed into them. "
            "Treat them as a starting point; a randomised test (messages on/off by prospect) "
            "settles them.")
    if res is not None and not res.success:
        fit.warnings.append(f"the live-answer fit did not fully converge ({res.message}); "
                            "its intervals are approximate")


# ------------------------------------------------------------------------------ callbacks
def _fit_callbacks(log: CallLog, fit: Fit, defaults: dict, log_end_s: float | None) -> None:
    """Callbacks per first message and per first silent miss, and their delay.

    docs/model.md "Callbacks": a message is heard with p_listen and then calls back
    with p_callback (x propensity, mean 1); a silent miss calls back with
    p_callback_missed_call; the delay is log-normal. The log is censored: a callback
    later than the log's end, or after the prospect was reached, is never seen. The
    likelihood of each exposure is q f(delay) if a callback came, else
    1 - q F(time left before the prospect was reached or the log ended).
    Only each prospect's FIRST message and FIRST silent miss are used: later ones meet
    prospects already selected by whether they called back.
    """
    from scipy.optimize import minimize
    from scipy.special import expit, logit
    from scipy.stats import norm

    out = log.direction == 0
    inbound = np.flatnonzero(log.is_callback())  # (replies to emails and texts are not)
    if inbound.size == 0:
        for key in ("callbacks.p_callback", "callbacks.p_callback_missed_call", "callbacks.delay_h"):
            fit.uninformed.append((key, "no inbound callbacks in the log"))
        return
    end_s = float(log_end_s if log_end_s is not None else log.t_s.max())
    msg = out & log.is_outcome("voicemail_left")
    miss = out & log.is_outcome(*SILENT_MISS_OUTCOMES)
    first_msg = msg & (log.count_before(msg) == 0)
    first_miss = miss & (log.count_before(miss) == 0)
    # the outbound row that caused each callback (same prospect, that attempt)
    out_rows = np.flatnonzero(out)
    first_out = np.searchsorted(log.prospect[out_rows], log.prospect[inbound], side="left")
    cause_pos = first_out + log.attempt[inbound].astype(np.int64) - 1
    valid = (log.attempt[inbound] >= 1) & (cause_pos < out_rows.size)
    cause_pos = np.where(valid, cause_pos, 0)
    cause = out_rows[cause_pos]
    valid &= log.prospect[cause] == log.prospect[inbound]
    cause, callback_rows = cause[valid], inbound[valid]
    # the first callback per exposure
    cause_unique, first_index = np.unique(cause, return_index=True)
    delay_h = np.full(len(log), np.nan)
    delay_h[cause_unique] = (log.t_s[callback_rows[first_index]] - log.t_s[cause_unique]) / 3600.0
    # time each exposure could still call back: until the prospect's first reach after it, or the end
    reach = np.where(log.is_outcome(*REACH_OUTCOMES), log.t_s, np.inf)
    starts = np.flatnonzero(np.r_[True, log.prospect[1:] != log.prospect[:-1]])
    first_reach = np.minimum.reduceat(reach, starts)[np.searchsorted(starts, np.arange(len(log)), side="right") - 1]
    horizon = np.where(first_reach > log.t_s, np.minimum(first_reach, end_s), end_s)
    window_h = np.maximum(horizon - log.t_s, 0.0) / 3600.0

    kinds = []
    for mask, name in ((first_msg, "message"), (first_miss, "miss")):
        rows = np.flatnonzero(mask)
        if rows.size:
            kinds.append((name, rows, delay_h[rows], window_h[rows]))
        else:
            key = "callbacks.p_callback" if name == "message" else "callbacks.p_callback_missed_call"
            fit.uninformed.append((key, f"no {'message left' if name == 'message' else 'silent miss'} in the log"))
    seen = np.concatenate([k[2][~np.isnan(k[2])] for k in kinds])
    if seen.size < 5:
        fit.uninformed.append(("callbacks", "fewer than 5 callbacks traceable to a first message or miss"))
        return
    seen = np.maximum(seen, 1e-6)

    n_kinds = len(kinds)

    def nll(theta):
        log_med, log_sig = theta[n_kinds], theta[n_kinds + 1]
        sig = math.exp(log_sig)
        total = 0.0
        for i, (_name, _rows, delay, window) in enumerate(kinds):
            q = expit(theta[i])
            got = ~np.isnan(delay)
            dd = np.maximum(delay[got], 1e-6)
            total += got.sum() * math.log(q) + (norm.logpdf(np.log(dd), log_med, sig) - np.log(dd)).sum()
            w = window[~got]
            cdf = norm.cdf((np.log(np.maximum(w, 1e-9)) - log_med) / sig)
            total += np.log1p(-q * cdf).sum()
        return -total

    rates = [max(np.count_nonzero(~np.isnan(k[2])), 0.5) / max(k[1].size, 1) for k in kinds]
    theta0 = np.array([*(logit(min(r, 0.5)) for r in rates),
                       math.log(np.median(seen)), math.log(max(np.log(seen).std(), 0.2))])
    res = minimize(nll, theta0, method="Nelder-Mead",
                   options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000})
    from scipy.optimize import approx_fprime

    hess = numeric_hessian(lambda th: approx_fprime(th, nll, 1e-6), res.x, 1e-3)
    se = wald_se(hess)
    theta = res.x
    p_listen = float(defaults["callbacks"]["p_listen"])
    rule = "Callbacks: heard message -> p_callback; silent miss -> p_callback_missed_call"
    for i, (name, rows, delay, _w) in enumerate(kinds):
        n = int(rows.size)
        if n == 0:
            continue
        q, q_lo, q_hi = wald_interval(theta[i], se[i], expit)
        k = int(np.count_nonzero(~np.isnan(delay)))
        if name == "message":
            scale = 1.0 / p_listen
            fit.estimates.append(Estimate(
                "callbacks.p_callback", min(q * scale, 1.0), min(q_lo * scale, 1.0), min(q_hi * scale, 1.0),
                n, "first messages left", rule,
                f"{k} callbacks: {q:.4f} [{q_lo:.4f}, {q_hi:.4f}] per message left, divided by "
                f"p_listen = {p_listen:g} (default: hearing is not in a log)"))
        else:
            fit.estimates.append(Estimate("callbacks.p_callback_missed_call", q, q_lo, q_hi, n,
                                          "first silent misses", rule, f"{k} callbacks"))
    i_med, i_sig = n_kinds, n_kinds + 1
    med = wald_interval(theta[i_med], se[i_med], math.exp)
    sig = wald_interval(theta[i_sig], se[i_sig], math.exp)
    rule_delay = "Callbacks: delay log-normal in hours (censored at the reach or the log's end)"
    fit.estimates.append(Estimate("callbacks.delay_h.median", *med, int(seen.size), "callbacks", rule_delay))
    fit.estimates.append(Estimate("callbacks.delay_h.sigma", *sig, int(seen.size), "callbacks", rule_delay))
    default_delay = defaults["callbacks"]["delay_h"]
    fit.distributions["callbacks.delay_h"] = {"dist": "lognormal", "median": _r(math.exp(theta[i_med])),
                                              "sigma": _r(math.exp(theta[i_sig])),
                                              **({"max": default_delay["max"]} if default_delay.get("max") else {})}


def _fit_returns(log: CallLog, fit: Fit, log_end_s: float | None) -> None:
    """Missed callbacks: how often the caller leaves a message, and how often the rep's
    return call is answered as it waits (docs/model.md "Callbacks": answered with
    return_call_answer_prob x 0.5 ^ (hours waited / return_call_half_life_h)).

    A return call is paired with the prospect's latest missed callback before it.
    A missed callback counts toward ``p_message_on_missed_callback`` only if it was
    at least a day before the log's end (a later one may not have been returned yet).
    """
    from scipy.optimize import approx_fprime, minimize
    from scipy.special import expit, logit

    missed = np.flatnonzero(log.is_outcome("inbound_missed"))
    returns = np.flatnonzero(log.direction == 2)
    if missed.size == 0:
        fit.uninformed.append(("callbacks.p_message_on_missed_callback", "no missed callbacks in the log"))
        return
    # the latest missed callback of the same prospect before each return call
    order_key = log.prospect[missed].astype(np.float64) * 1e10 + (log.t_s[missed] - log.t_s.min())
    return_key = log.prospect[returns].astype(np.float64) * 1e10 + (log.t_s[returns] - log.t_s.min())
    pos = np.searchsorted(order_key, return_key, side="right") - 1
    ok = (pos >= 0) & (log.prospect[missed[np.maximum(pos, 0)]] == log.prospect[returns])
    end_s = float(log_end_s if log_end_s is not None else log.t_s.max())
    early = log.t_s[missed] <= end_s - 86400.0
    returned = np.zeros(missed.size, dtype=bool)
    returned[pos[ok]] = True
    if early.sum() >= 10:
        fit.estimates.append(binomial("callbacks.p_message_on_missed_callback", int((returned & early).sum()),
                                      int(early.sum()), "missed callbacks a day before the log's end",
                                      "Callbacks: a missed caller leaves a message (a return call follows)"))
    if ok.sum() < 20:
        fit.uninformed.append(("callbacks.return_call_answer_prob", "fewer than 20 return calls"))
        return
    wait_h = (log.t_s[returns[ok]] - log.t_s[missed[pos[ok]]]) / 3600.0
    answered = log.is_outcome("return_connect")[returns[ok]].astype(float)

    def nll(theta):
        p = np.clip(expit(theta[0]) * 0.5 ** (wait_h / np.exp(theta[1])), 1e-12, 1 - 1e-12)
        return -float((answered * np.log(p) + (1 - answered) * np.log1p(-p)).sum())

    start = np.array([logit(min(max(answered.mean(), 0.05), 0.95)), math.log(8.0)])
    res = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    se = wald_se(numeric_hessian(lambda th: approx_fprime(th, nll, 1e-6), res.x, 1e-3))
    rule = "Callbacks: a return call is answered with return_call_answer_prob x 0.5 ^ (hours / half-life)"
    n = int(ok.sum())
    p0 = wald_interval(res.x[0], se[0], expit)
    half = wald_interval(res.x[1], se[1], math.exp)
    fit.estimates.append(Estimate("callbacks.return_call_answer_prob", *p0, n, "return calls", rule))
    note = "" if np.isfinite(se[1]) and se[1] < 2 else "barely informed: the waits vary too little"
    fit.estimates.append(Estimate("callbacks.return_call_half_life_h", *half, n, "return calls", rule, note))


def _fit_opt_outs(log: CallLog, fit: Fit, defaults: dict) -> None:
    if log.opt_out is None:
        fit.uninformed.append(("opt_out", "the log has no opt_out column"))
        return
    # first touches only: later ones carry growth_per_touch (kept at its default)
    first_connect = log.is_outcome("connect") & (log.count_before(log.is_outcome("connect")) == 0)
    n = int(first_connect.sum())
    if n:
        k = int((log.opt_out & first_connect).sum())
        fit.estimates.append(binomial("opt_out.p_per_connect", k, n, "first connects",
                                      "Opt-outs: a connect ends in do-not-call with p_per_connect"))
    left = log.is_outcome("voicemail_left")
    first_left = left & (log.count_before(left) == 0) & (log.count_before(log.is_outcome("connect")) == 0)
    n = int(first_left.sum())
    if n:
        p_listen = float(defaults["callbacks"]["p_listen"])
        k = int((log.opt_out & first_left).sum())
        est = binomial("opt_out.p_per_heard_voicemail", k, n, "first messages left",
                       "Opt-outs: a heard voicemail ends in do-not-call with p_per_heard_voicemail",
                       f"per message left, divided by p_listen = {p_listen:g}")
        est.value, est.low, est.high = (min(v / p_listen, 1.0) for v in (est.value, est.low, est.high))
        fit.estimates.append(est)
