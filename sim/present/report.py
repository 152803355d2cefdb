"""``dialsim report``: one self-contained ``report.html`` a sales manager can read.

The page holds the question, a plain-language verdict, the comparison table, the
charts (PNG, base64-embedded) and the scenario's key assumptions. It loads nothing
from the network: no scripts, no fonts, no stylesheets but its own. Every number
comes from the run folder through the same code as ``comparison.parquet`` and
``dialsim plot`` (:mod:`sim.analysis.compare`, :mod:`sim.present.plots`).

The page is the Jinja2 template ``templates/report.html.j2`` rendered with autoescape:
every value that comes from a manifest or a scenario (names, descriptions, the seed,
the source path) is escaped there, so a results folder edited to hold markup cannot
put a script into the report.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from markupsafe import Markup

from sim import __version__
from sim.analysis.compare import HEADLINE, Verdict, comparison_rows, comparison_table, decide, fmt_number
from sim.scenario.distributions import Exponential, Fixed, LogNormal, Uniform
from sim.analysis.economics import ECONOMICS_NAMES, OBJECTIVES, with_economics
from sim.analysis.formatting import low_to_high, mean_and_range, mean_range_html
from sim.analysis.metrics import METRIC_NAMES
from sim.present.plots import RunData, load_run, render_charts
from sim.store.atomic import write_bytes_atomic
from sim.scenario.schema import Scenario, StrategySpec

REPORT_FILE = "report.html"

QUESTION = (
    "When a rep's call reaches voicemail, should the rep leave a message, hang up, or "
    "rotate between several messages? Which choice gives the team the most live "
    "conversations with prospects (connects) per paid rep-hour?"
)

CHART_CAPTIONS = {
    "pacing.png": (
        "Top: how many lines the dialer dialled at once in each working hour, below the "
        "dashed cap of lines per rep. Bottom: "
        "abandoned calls (a person answered and heard silence) as a share of live answers, "
        "per day; the pale bar adds people the answering-machine detection hung up on, as "
        "regulators count them (US and UK rules cap it at 3%)."),
    "numbers.png": (
        "Caller-ID numbers: which ones carried a 'spam likely' label on which day, and the "
        "share of numbers labelled each day. A labelled number is picked up far less often."),
    "connects_per_rep_hour.png": (
        "Left: conversations per paid rep-hour for each strategy, with its 95% interval. "
        "Right: each strategy minus the baseline, measured on the same simulated prospects "
        "(paired), which is why these intervals are much narrower than the ones on the left."),
    "connects_by_hour.png": (
        "Conversations per paid rep-hour in each hour of the working day."),
    "cumulative_connects.png": (
        "Conversations so far over the campaign's working hours, all reps together (the "
        "shaded band is the 95% interval; nights and breaks are left out)."),
    "funnel.png": (
        "Where calls go: dials that a person answers and that become conversations, and "
        "messages that are heard; callbacks received and answered by a rep (often few are: "
        "a callback that finds every rep busy or off shift is missed). Each panel has its "
        "own scale. Callbacks include a few 'who called me?' returns of missed calls "
        "without a message."),
}

# Columns of the main table: (summary metric, header, decimals)
TABLE_METRICS = (
    ("outbound_connects_per_rep_hour", "outbound connects per rep-hour", 2),
    ("dials_per_rep_hour", "dials per rep-hour", 1),
    ("voicemails_left", "voicemails left", 0),
    ("callbacks_received", "callbacks received", 1),
    ("inbound_connects", "callbacks answered", 1),
    ("opt_outs", "opt-outs", 1),
)


def write_report(run_dir: Path, baseline: str | None = None) -> Path:
    """Write ``report.html`` into the run folder (atomically); returns its path."""
    from sim.store.results import read_manifest

    if read_manifest(Path(run_dir)).get("kind") == "sensitivity":  # "what decides the answer"
        from sim.present.sensitivity_report import write_sensitivity_report

        return write_sensitivity_report(Path(run_dir))
    data = load_run(Path(run_dir), baseline)
    page = render_report(data, render_charts(data))
    path = data.run_dir / REPORT_FILE
    write_bytes_atomic(page.encode("utf-8"), path)
    return path


def describe_strategy(spec: StrategySpec) -> str:
    """What reps do at voicemail under ``spec``, in plain words (a strategy by list
    segment names the strategy each segment follows)."""
    if spec.by_segment:
        per = ", ".join(f"{segment}: as {target}" for segment, target in spec.by_segment.items())
        rest = (f"; other segments: {_describe_policy(spec)}"
                if spec.kind is not None or spec.sequence else "")
        return f"by list segment ({per}){rest}"
    return _describe_policy(spec)


def _describe_policy(spec: StrategySpec) -> str:
    if spec.kind == "never":
        return "hang up at every voicemail; never leave a message"
    if spec.kind == "always":
        return "leave the same message at every voicemail"
    if spec.kind == "rotate":
        return (f"leave a message at every voicemail, rotating {spec.n_messages} different "
                "messages")
    if spec.kind == "first_n":
        if spec.n == 0:
            return "hang up at every voicemail (first_n with n = 0)"
        return (f"leave a different message the first {spec.n} time{'s' if spec.n != 1 else ''} "
                "a prospect's voicemail answers, then hang up")
    steps = ", ".join("hang up" if label == "-" else f"message {label}" for label in spec.sequence)
    then = {"cycle": "then start the list again", "repeat_last": "then repeat the last step",
            "silent": "then hang up"}[spec.then]
    return f"at a prospect's successive voicemails: {steps}; {then}"


def describe_duration(dist, unit: str) -> str:
    """A scenario distribution in words: '45 s', 'median 85 s (log-normal ...)'."""
    if isinstance(dist, Fixed):
        return f"{dist.value:g} {unit}"
    if isinstance(dist, Uniform):
        return f"between {dist.low:g} and {dist.high:g} {unit} (uniform)"
    if isinstance(dist, Exponential):
        return f"mean {dist.mean_value:g} {unit} (exponential)"
    if isinstance(dist, LogNormal):
        cap = f", at most {dist.max:g} {unit}" if dist.max is not None else ""
        return f"typically {dist.median:g} {unit} (log-normal median, spread {dist.sigma:g}{cap})"
    return str(dist)  # pragma: no cover - a new family must be described here


def _pct(p: float) -> str:
    return f"{p:.1%}" if p < 0.1 else f"{p:.0%}"


def key_assumptions(s: Scenario) -> list[tuple[str, list[tuple[str, str]]]]:
    """Groups of (assumption, value in words) that drive the answer."""
    cal, team, dialer = s.calendar, s.team, s.dialer
    brk = f", unpaid break {cal.break_start}-{cal.break_end}" if cal.break_start else ""
    mode = dialer.resolved_mode(team.lines_per_rep)
    if mode == "power":
        dialer_kind = "power dialer: one number at a time per rep"
    elif mode == "parallel":
        dialer_kind = (f"parallel dialer: {dialer.resolved_level(team.lines_per_rep):g} lines per "
                       "batch per rep; a second live answer while the rep is busy is abandoned")
    else:
        pred = dialer.predictive
        dialer_kind = (f"predictive dialer: up to {team.lines_per_rep} lines per rep, the level "
                       f"adapting to hold abandoned calls at {_pct(pred.target_abandon_rate)} of "
                       f"live answers, aiming {pred.margin:.0%} under it"
                       + ("; each day held too (one line once a day's rate reaches it)"
                          if pred.hold_per_day else "")
                       + "; a second live answer while the rep is busy is abandoned")
    amd = dialer.amd
    amd_text = (f"on: decides in {amd.delay_s:g} s; hangs up on {_pct(amd.false_machine)} of live "
                f"people, passes {_pct(amd.false_human)} of machines to the rep"
                if amd.enabled else f"off: reps hear every greeting ({dialer.vm_recognise_s:g} s to recognise one)")
    vm = s.voicemail
    drop = (f"recorded drop: the dialer plays a {vm.message_length_s:g} s message, the rep moves on at once"
            if vm.drop_mode == "recorded" else
            f"live: the rep waits {vm.beep_wait_s:g} s for the beep and speaks {vm.message_length_s:g} s")
    sc, cb, cad, opt = s.screening, s.callbacks, s.cadence, s.opt_out
    vm_effect = ("neutral" if sc.answer_mult_per_voicemail == 1 else
                 "helps (name recognition)" if sc.answer_mult_per_voicemail > 1 else
                 "hurts (easier to screen)")
    groups = [
        ("Team and calendar", [
            ("reps", f"{team.reps}"),
            ("dialer", dialer_kind),
            ("campaign", f"{cal.days} working days, shift {cal.shift_start}-{cal.shift_end}{brk}: "
                         f"{cal.paid_hours_per_day():g} paid hours per rep per day"),
            ("callbacks go to", "the rep who called" if team.inbound_routing == "own_rep" else "any free rep"),
        ] if not team.groups else [("reps", f"{team.reps}"), ("dialer", dialer_kind)]
          + _group_assumptions(s)),
        ("The list", [("prospects", f"{s.prospects.count:,}")] + [
            (f"segment '{seg.name}'" if len(s.prospects.segments) > 1 else "prospects are",
             (f"{seg.weight / sum(x.weight for x in s.prospects.segments):.0%} of the list; "
              if len(s.prospects.segments) > 1 else "")
             + f"at the phone {_pct(seg.reachability)} of the time on average, pick up an unknown "
               f"number {_pct(seg.p_pickup)} of the time, {_pct(seg.p_voicemail_box)} have voicemail, "
               f"{_pct(seg.p_bad_number)} bad numbers, {_pct(seg.p_right_party)} of answers are the prospect")
            for seg in s.prospects.segments
        ]),
        ("Calls", [
            ("ring time before voicemail", f"{dialer.ring_timeout_s:g} s"),
            ("answering-machine detection", amd_text),
            ("conversation", describe_duration(s.conversation.talk_s, "s")),
            ("after-call work", describe_duration(s.conversation.wrap_s, "s")),
        ]),
        ("Voicemail and screening", [
            ("leaving a message", drop),
            ("each missed call without a message",
             f"multiplies the prospect's chance to pick up next time by {sc.answer_mult_per_silent_miss:g}"),
            ("each message heard",
             f"multiplies it by {sc.answer_mult_per_voicemail:g} ({vm_effect})"),
        ]),
        ("Callbacks", [
            ("messages heard", _pct(cb.p_listen)),
            ("heard messages returned", f"{_pct(cb.p_callback)} for a new message; a repeat of the "
                                        f"same message x{cb.repeat_message_mult:g} per earlier hearing"),
            ("missed calls returned", f"{_pct(cb.p_callback_missed_call)} ('who called me?')"),
            ("callback delay", describe_duration(cb.delay_h, "h")),
        ]),
        ("Cadence and opt-outs", [
            ("attempts per prospect", f"at most {cad.max_attempts}, {cad.min_gap_h:g} h apart, "
                                      f"{cad.max_attempts_per_day} per day"),
            ("do-not-call risk", f"{_pct(opt.p_per_connect)} per conversation, "
                                 f"{_pct(opt.p_per_heard_voicemail)} per message heard, "
                                 f"x{opt.growth_per_touch:g} per earlier touch"),
        ]),
    ]
    if s.channels.used():
        groups.append(("Other channels", _channel_assumptions(s.channels)))
    return groups


def _channel_assumptions(ch) -> list[tuple[str, str]]:
    """Emails, texts and second numbers, in words (only those switched on)."""
    rows = []
    for name, touch in (("emails", ch.email), ("texts", ch.text)):
        if not touch.used():
            continue
        when = [w for w, on in (("after a silent miss", touch.after_silent_miss),
                                ("after a message", touch.after_message)) if on]
        if touch.after_attempts:
            when.append("after attempt " + ", ".join(str(a) for a in touch.after_attempts))
        rows.append((name, f"sent {' and '.join(when)}, {touch.delay_h:g} h later, to "
                           f"{_pct(touch.share_reachable)} of prospects (at most "
                           f"{touch.max_per_prospect} each); {_pct(touch.p_reply)} replied to, a "
                           f"reply brings the prospect to a rep; pick-up x{touch.pickup_mult:g} "
                           f"per touch, {_pct(touch.p_opt_out)} opt out; {touch.rep_s:g} s of "
                           "rep time each"))
    second = ch.second_number
    if second.share > 0:
        box = (f", {_pct(second.p_voicemail_box)} with voicemail"
               if second.p_voicemail_box is not None else "")
        rows.append(("a second phone number", f"{_pct(second.share)} of prospects; picked up "
                     f"x{second.pickup_mult:g} as often as the first{box}; the dialer tries "
                     f"the other number after {second.switch_after_misses} missed dial"
                     f"{'s' if second.switch_after_misses != 1 else ''} in a row"))
    return rows


OBJECTIVE_NOUNS = {"connects": "conversations", "meetings": "meetings (expected)",
                   "value": "net value (pipeline value minus cost, in {currency})"}


def verdict_paragraphs(data: RunData, found: Verdict, rows: dict[str, dict],
                       specs: dict[str, StrategySpec], noun: str = "conversations") -> list[Markup]:
    """The plain-language answer (HTML-escaped paragraphs); ``rows``: the comparison
    rows of the ranked metric, ``noun``: what it counts per rep-hour. Every value from
    the scenario is escaped (html.escape, or Markup.format); the paragraphs are Markup."""
    e = html.escape
    noun = e(noun)
    s = data.scenario
    paid_h = s.calendar.paid_hours_per_day() * s.calendar.days
    reps = s.team.reps
    if found.none_comply:
        return [Markup(f"No strategy holds the constraints ({e(found.caps)}): each one breaks a "
                       "cap (see the table below). None of them can be recommended as it is: relax "
                       "a cap if it is stricter than your rules, or change what breaks it (fewer "
                       "lines per rep, a lower dial level, a predictive dialer's target) and run "
                       "it again.")]
    if len(data.strategies) == 1:
        return [Markup("Only one strategy ({}) was simulated, so there is nothing to "
                       "compare. Add strategies to the scenario and run it again.").format(found.best)]

    def who(name):
        return Markup("<b>{}</b> ({})").format(name, describe_strategy(specs[name]))

    best = found.best
    parts = []
    within = " that holds the constraints" if found.breaking else ""
    if len(found.means) == 1:
        parts.append(f"Best: {who(best)}, the only strategy simulated{within}. It gets "
                     f"{rows[best]['mean']:.2f} {noun} per paid rep-hour.")
    elif found.separated:
        parts.append(f"Best: {who(best)}. It gets {rows[best]['mean']:.2f} {noun} per paid "
                     f"rep-hour, more than any other strategy simulated{within}.")
    else:
        others = ", ".join(who(n) for n in found.leaders[1:])
        parts.append(f"The simulation cannot tell {who(best)} apart from {others}: after "
                     f"{found.n} replications the differences between them are within the "
                     "noise. Choose between them on other grounds (the effort of recording "
                     "messages, how prospects feel about repeat messages), or run more "
                     "replications (<code>dialsim run SCENARIO --precision 0.01</code>).")
    if found.breaking:
        names = ", ".join(f"<b>{e(n)}</b>" for n in found.breaking)
        parts.append(f"Left out because they break a cap ({e(found.caps)}): {names}; "
                     "the table below gives each one's interval.")
    base = data.baseline
    if best != base:
        row = rows[best]
        extra_rep = row["diff_mean"] * paid_h
        sure = ("" if row["diff_excludes_zero"] else
                " That difference is not clear: its interval includes zero.")
        more = "more" if row["diff_mean"] >= 0 else "less"
        parts.append(
            f"Compared with {who(base)}, {e(best)} makes {fmt_number(abs(row['diff_mean']))} {more} "
            f"{noun} per rep-hour (95% interval {low_to_high(row['diff_ci95_low'], row['diff_ci95_high'], fmt_number)}): "
            f"about {abs(extra_rep):,.0f} {more} per rep over the {s.calendar.days}-day campaign, "
            f"{abs(extra_rep) * reps:,.0f} for the team of {reps}.{sure}")
    behind = [n for n in data.strategies if n not in found.leaders and n not in found.breaking]
    if found.separated and found.gaps and len(data.strategies) > 2:
        closest = min(found.gaps, key=lambda n: found.gaps[n].mean)
        gap = found.gaps[closest]
        parts.append(f"The runner-up is {e(closest)}, {fmt_number(gap.mean)} {noun} per "
                     f"rep-hour behind ({found.level()} interval {low_to_high(gap.low, gap.high, fmt_number)}).")
    elif behind and not found.separated:
        parts.append(Markup("Clearly behind: {}.").format(", ".join(behind)))
    parts.append(Markup(
        "These figures come from simulating the assumptions listed below, not from a real "
        "phone system: they are as good as those assumptions. The effect of a message on "
        "whether a prospect picks up next time, and how often messages are returned, matter "
        "most; change them in the scenario and run it again to see if the answer holds."))
    return [part if isinstance(part, Markup) else Markup(part) for part in parts]


def economics_html(data: RunData, table) -> str:
    """Meetings, value and cost per strategy (id="economics"); '' without [economics]."""
    econ = data.scenario.economics
    if econ is None:
        return ""
    e = html.escape
    cur = econ.currency
    columns = (("meetings", "meetings (expected)", ""), ("meetings_per_rep_hour", "meetings per rep-hour", ""),
               ("pipeline_value", "pipeline value", cur), ("cost_total", "cost", cur),
               ("cost_per_connect", "cost per conversation", cur),
               ("cost_per_meeting", "cost per meeting", cur),
               ("net_value_per_rep_hour", "net value per rep-hour", cur))
    rows = {metric: comparison_rows(table, metric) for metric, _h, _u in columns}
    head = "<tr><th>strategy</th>" + "".join(f"<th>{e(h)}</th>" for _m, h, _u in columns) + "</tr>"
    body = []
    for name in data.strategies:
        cells = [f"<th scope=row>{e(name)}</th>"]
        for metric, _h, unit in columns:
            r = rows[metric][name]
            digits = {"meetings_per_rep_hour": 3, "meetings": 1, "pipeline_value": 0,
                      "cost_total": 0}.get(metric, 2)
            cells.append(f"<td>{e(unit)}{mean_range_html(r['mean'], r['ci95_low'], r['ci95_high'], f'.{digits}f')}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<h3 id=money>Meetings and money</h3><p>Expected meetings: each conversation times "
            f"the chance it books one ({econ.p_meeting_per_outbound_connect:.0%} outbound, "
            f"{econ.p_meeting_per_inbound_connect:.0%} callbacks, "
            f"{econ.p_meeting_per_return_connect:.0%} return calls); a meeting is worth "
            f"{e(cur)}{econ.value_per_meeting:,.0f} (one value for every segment). Costs: "
            f"{e(cur)}{econ.rep_cost_per_paid_hour:g} per paid rep-hour, {e(cur)}"
            f"{econ.telephony_cost_per_minute:g} per line minute, {e(cur)}"
            f"{econ.fee_per_voicemail_drop:g} per recorded drop, {e(cur)}"
            f"{econ.seat_cost_per_rep_per_day:g} per rep per day for the dialer. Campaign "
            "totals; in brackets the 95% interval.</p>"
            f"<table id=economics class=data><thead>{head}</thead><tbody>{''.join(body)}"
            "</tbody></table>")


def _check_iv(check) -> str:
    """'13.9% (11.6% to 16.2%)' with the interval in the table's grey."""
    iv = check.interval
    if not (math.isfinite(iv.low) and math.isfinite(iv.high)):
        return html.escape(check.interval_text())
    return mean_range_html(iv.mean, iv.low, iv.high, check.fmt)


def constraints_html(found: Verdict) -> str:
    """Which strategies break which cap, with the interval (id="constraints"); '' if none."""
    if not found.breaking:
        return (f"<p id=constraints>Every strategy holds the constraints ({html.escape(found.caps)}), "
                "judged by the high end of its 95% interval.</p>" if found.caps else "")
    e = html.escape
    body = "".join(
        f"<tr><th scope=row class=breaks>{e(name)} &#x2717;</th><td class=desc>{e(check.label)}</td>"
        f"<td>{_check_iv(check)}</td><td>{e(check.fmt(check.limit))}</td></tr>"
        for name, compliance in found.breaking.items() for check in compliance.broken)
    return (f"<p>Constraints: {e(found.caps)}. A strategy holds a cap only if the high end of "
            "its 95% interval is at or under it; these do not:</p>"
            "<table id=constraints class=data><thead><tr><th>strategy</th><th>capped rate</th>"
            "<th>mean (95% interval)</th><th>cap</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _group_assumptions(s: Scenario) -> list[tuple[str, str]]:
    """One line per rep group (none without team.groups); the routing in words."""
    out = []
    for group in s.team.groups:
        brk = f", break {group.break_start}-{group.break_end}" if group.break_start else ""
        windows = group.work_windows_s()
        lines = (f", {group.lines_per_rep} line(s) per rep"
                 if group.lines_per_rep not in (None, s.team.lines_per_rep) else "")
        out.append((f"rep group {group.name}",
                    f"{group.reps} reps, shift {group.shift_start}-{group.shift_end}{brk} on its "
                    f"office clock ({group.utc_offset_h:+g} h: "
                    f"{_clock(windows[0][0])}-{_clock(windows[-1][1])} on the team's clock)"
                    f"{lines}"))
    out.append(("campaign", f"{s.calendar.days} working days: {s.paid_rep_hours_per_day():g} "
                            "paid rep-hours per day, all groups"))
    out.append(("callbacks go to", {"own_rep": "the rep who called", "any_rep": "any free rep",
                                    "group": "the rep who called, else a free rep of its group"}
                [s.team.inbound_routing]))
    return out


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def groups_context(data: RunData) -> list[dict]:
    """Connects per rep-hour by rep group (breakdown.parquet), a cell per strategy:
    mean (95% interval over replications). Empty without team.groups."""
    path = data.run_dir / "breakdown.parquet"
    if len(data.scenario.team.groups) < 2 or not path.exists():
        return []
    import pyarrow.parquet as pq

    from sim.analysis.stats import t_interval

    rows = [r for r in pq.read_table(path).to_pylist() if r.get("dimension") == "rep_group"]
    out = []
    for group in data.scenario.team.groups:
        cells = []
        for name in data.strategies:
            per_rep = [(r["outbound_connects"] + r["inbound_connects"] + r["return_connects"])
                       / r["rep_hours"] for r in rows
                       if r["group"] == group.name and r["strategy"] == name and r["rep_hours"]]
            iv = t_interval(per_rep) if per_rep else None
            cells.append(mean_and_range(iv.mean, iv.low, iv.high) if iv else "-")
        mine = [r for r in rows if r["group"] == group.name and r["strategy"] == data.baseline]
        paid = sum(r["rep_hours"] for r in mine)
        idle = f"{100 * sum(r['idle_hours'] for r in mine) / paid:.1f}%" if paid else "-"
        out.append({"name": group.name, "reps": group.reps, "cells": cells, "idle": idle})
    return out


def splits_context(data: RunData) -> dict:
    """Conversations per 100 dials by list segment and by prospect time zone, a cell per
    strategy (mean (95% interval) over replications), and each zone's best local hour
    under the baseline (breakdown.parquet). Empty parts for a dimension with one group."""
    from sim.analysis.stats import t_interval

    out = {"rows": [], "best_hours": []}
    if data.breakdown is None:
        return out
    rows = data.breakdown.to_pylist()
    pros = data.scenario.prospects
    for dimension, label, groups in (("segment", "segment", pros.segments),
                                     ("time_zone", "time zone", pros.time_zones)):
        if len(groups) < 2:
            continue
        for group in groups:
            mine = [r for r in rows if r["dimension"] == dimension and r["group"] == group.name]
            cells = []
            for name in data.strategies:
                per_rep = [100.0 * (r["outbound_connects"] + r["inbound_connects"]
                                    + r["return_connects"]) / r["dials"]
                           for r in mine if r["strategy"] == name and r["dials"]]
                iv = t_interval(per_rep) if per_rep else None
                cells.append(mean_and_range(iv.mean, iv.low, iv.high) if iv else "-")
            out["rows"].append({"dimension": label, "name": group.name, "cells": cells})
    local = [r for r in rows if r["dimension"] == "local_hour" and r["strategy"] == data.baseline]
    for zone in pros.time_zones if len(pros.time_zones) > 1 else ():
        rates = {}
        for hour in sorted({r["hour"] for r in local if r["group"] == zone.name}):
            per_rep = [100.0 * r["outbound_connects"] / r["dials"] for r in local
                       if r["group"] == zone.name and r["hour"] == hour and r["dials"]]
            if per_rep:
                rates[hour] = t_interval(per_rep)
        if rates:
            best = max(rates, key=lambda h: rates[h].mean)
            worst = min(rates, key=lambda h: rates[h].mean)
            out["best_hours"].append({
                "zone": zone.name,
                "best": f"{best:02d}:00", "best_rate": mean_and_range(
                    rates[best].mean, rates[best].low, rates[best].high),
                "worst": f"{worst:02d}:00", "worst_rate": mean_and_range(
                    rates[worst].mean, rates[worst].low, rates[worst].high)})
    return out


def comparison_context(data: RunData, table, specs: dict[str, StrategySpec],
                       breaking: tuple[str, ...] = ()) -> list[dict]:
    """Rows of the main comparison table (id="comparison"), one per strategy; those
    breaking a [constraints] cap are marked."""
    rows_by_metric = {m: comparison_rows(table, m) for m in (HEADLINE, *(m for m, _h, _d in TABLE_METRICS))}
    out = []
    for name in data.strategies:
        r = rows_by_metric[HEADLINE][name]
        diff = None
        if name != data.baseline:
            word = ("clearly more" if r["diff_excludes_zero"] and r["diff_mean"] > 0 else
                    "clearly fewer" if r["diff_excludes_zero"] else "no clear difference")
            diff = {"mean": f"{r['diff_mean']:+.2f}",
                    "ci": low_to_high(r["diff_ci95_low"], r["diff_ci95_high"], "+.2f"), "word": word}
        out.append({
            "name": name, "breaks": name in breaking, "description": describe_strategy(specs[name]),
            "headline": mean_and_range(r["mean"], r["ci95_low"], r["ci95_high"]), "diff": diff,
            "cells": [f"{rows_by_metric[metric][name]['mean']:,.{digits}f}"
                      for metric, _header, digits in TABLE_METRICS],
        })
    return out


def details_context(data: RunData, table) -> list[dict]:
    """Every metric x strategy: mean (95% interval) and the paired difference."""
    out = []
    for metric in dict.fromkeys(table.column("metric").to_pylist()):  # economics too, if any
        rows = comparison_rows(table, metric)
        cells = []
        for name in data.strategies:
            r = rows[name]
            diff = "" if name == data.baseline or not math.isfinite(r["diff_mean"]) else (
                f"{'*' if r['diff_excludes_zero'] else ''}"
                f"{r['diff_mean']:+.3g} ({low_to_high(r['diff_ci95_low'], r['diff_ci95_high'], '+.3g')})")
            cells.append({"iv": mean_and_range(r["mean"], r["ci95_low"], r["ci95_high"], ".3f"),
                          "diff": diff})
        out.append({"metric": metric, "unit": rows[data.strategies[0]]["unit"], "cells": cells})
    return out


def observables_context(data: RunData) -> list[dict]:
    """The rates a team's dashboard shows (sim.analysis.observables), per strategy: one
    row per rate, a cell per strategy (value and 95% interval as text)."""
    from sim.analysis.observables import OBSERVABLES, OBSERVABLE_NAMES, add_observable_rates

    table = comparison_table(add_observable_rates(data.summary), data.strategies, data.baseline,
                             OBSERVABLE_NAMES + ("mean_attempts_to_reach",))
    labels = {name: desc.split(":")[0] if ":" in desc else desc for name, _u, desc, *_ in OBSERVABLES}
    labels["mean_attempts_to_reach"] = "dials made to a prospect by the time it was reached"
    rows = []
    for metric in (*OBSERVABLE_NAMES, "mean_attempts_to_reach"):
        by_strategy = comparison_rows(table, metric)
        cells = []
        for name in data.strategies:
            r = by_strategy[name]
            if metric == "mean_attempts_to_reach" or not math.isfinite(r["mean"]):
                cells.append(mean_and_range(r["mean"], r["ci95_low"], r["ci95_high"]))
            else:
                cells.append(mean_and_range(100 * r["mean"], 100 * r["ci95_low"],
                                            100 * r["ci95_high"], unit="%"))
        rows.append({"metric": metric, "label": labels[metric], "cells": cells})
    return rows


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1080px; margin: 2em auto; padding: 0 1em; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.sub { color: #555; margin-top: 0; }
.answer { background: #f2f7ee; border-left: 6px solid #4a8a2a; padding: .6em 1.2em; }
.question { background: #f4f6fb; border-left: 6px solid #3a5a9a; padding: .6em 1.2em; }
table.data { border-collapse: collapse; width: 100%; font-size: .92em; margin: .6em 0; }
table.data th, table.data td { border: 1px solid #d6d6d6; padding: .35em .5em; text-align: right;
                               vertical-align: top; }
table.data thead th { background: #f3f3f3; text-align: center; }
table.data th[scope=row], table.data td.desc { text-align: left; }
.ci { color: #666; font-size: .88em; } .word { font-size: .85em; color: #333; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: .92em; }
table.assume td:first-child { color: #444; width: 30%; text-align: left; }
table.assume { border-collapse: collapse; width: 100%; font-size: .92em; }
table.assume td { padding: .25em .5em; border-bottom: 1px solid #eee; vertical-align: top; }
.method { color: #444; font-size: .92em; }
.breaks { color: #b00020; font-weight: 600; }
"""


def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("sim.present", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("report.html.j2")


def render_report(data: RunData, charts: dict[str, bytes]) -> str:
    """The whole page as one HTML string (the template escapes every value)."""
    s = data.scenario
    specs = {spec.name: spec for spec in s.strategies}
    summary = with_economics(data.summary, s, data.breakdown)
    metrics = METRIC_NAMES + (ECONOMICS_NAMES if s.economics is not None else ())
    table = comparison_table(summary, data.strategies, data.baseline, metrics)
    objective = data.manifest.get("objective") or "connects"
    if objective not in OBJECTIVES or (objective != "connects" and s.economics is None):
        objective = "connects"
    metric = OBJECTIVES[objective][0]
    rows = comparison_rows(table, metric)
    found = decide(summary, data.strategies, s, data.timeline, metric)
    noun = OBJECTIVE_NOUNS[objective].format(currency=s.economics.currency if s.economics else "")
    paragraphs = verdict_paragraphs(data, found, rows, specs, noun)
    if objective != "connects":
        paragraphs.insert(0, Markup("Ranked by {}, not by conversations (the run asked for "
                                    "<code>--objective {}</code>; see Meetings and money "
                                    "below).").format(OBJECTIVES[objective][1], objective))
    manifest = data.manifest
    versions = manifest.get("versions")
    version = versions.get("dialsim", __version__) if isinstance(versions, dict) else __version__
    figures = [{"alt": name[:-4].replace("_", " "),
                "base64": base64.b64encode(png).decode("ascii"),
                "caption": CHART_CAPTIONS.get(name, "")} for name, png in charts.items()]
    return _template().render(
        name=s.name, description=s.description, reps=s.team.reps, days=s.calendar.days,
        prospects=f"{s.prospects.count:,}", strategies=data.strategies, n=data.replications,
        question=QUESTION, answer=paragraphs,
        baseline=data.baseline, table_headers=[header for _m, header, _d in TABLE_METRICS],
        comparison=comparison_context(data, table, specs, tuple(found.breaking)),
        # built with html.escape on every value (sim.analysis.constraints, economics)
        constraints=Markup(constraints_html(found)), economics=Markup(economics_html(data, table)),
        details=details_context(data, table), observables=observables_context(data),
        groups=groups_context(data),
        splits=splits_context(data),
        figures=figures, assumptions=key_assumptions(s), seed=str(manifest.get("seed")),
        pairwise_confidence=f"{found.pairwise_confidence:.1%}",
        comparisons=max(1, len(data.strategies) - 1), version=str(version),
        source=str(manifest.get("scenario_source") or s.name), style=Markup(STYLE),
    )
