"""What ``dialsim run`` prints: the comparison tables and the verdict.

By default two narrow tables that fit an 80-column terminal: rates per paid
rep-hour (with the paired difference from the baseline), then campaign totals.
``--wide`` puts every column, and a few more, in one table. Every cell is a whole
number: columns never wrap or shrink, so a value is never cut mid-number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from sim.analysis.compare import HEADLINE, decide, paired_differences
from sim.analysis.formatting import interval_text, plus_minus_range
from sim.analysis.stats import Interval


def fmt_interval(iv: Interval, digits: int = 2) -> str:
    """``mean ± half-width`` (just the mean when one replication gives no interval)."""
    return interval_text(iv, f".{digits}f")


def fmt_difference(diff: Interval) -> str:
    """A paired difference, green/red when its interval excludes 0, dim when it does not."""
    text = interval_text(diff, "+.2f")
    if text == "-":
        return text
    if not diff.excludes_zero():
        return f"[dim]{text}[/]"
    return f"[green]{text}[/]" if diff.mean > 0 else f"[red]{text}[/]"


@dataclass(frozen=True)
class Column:
    """One column: a (two-line) header, and the cell text for a strategy."""

    header: str
    cell: Callable[[str], str]
    wide_only: bool = False


def _rate_columns(result, diffs) -> list[Column]:
    iv = result.interval
    return [
        Column("connects\nper rep-h", lambda s: fmt_interval(iv(s, HEADLINE))),
        Column(f"vs {result.baseline}\n(paired)",
               lambda s: "baseline" if s == result.baseline else fmt_difference(diffs[s])),
        Column("outbound\nper rep-h", lambda s: fmt_interval(iv(s, "outbound_connects_per_rep_hour"))),
        Column("dials\nper rep-h", lambda s: fmt_interval(iv(s, "dials_per_rep_hour"), 1)),
    ]


def _total_columns(result) -> list[Column]:
    def mean(metric: str, fmt: str = ",.0f") -> Callable[[str], str]:
        return lambda s: format(result.interval(s, metric).mean, fmt)

    return [
        Column("voicemails\nleft", mean("voicemails_left")),
        Column("voicemails\nheard", mean("voicemails_heard"), wide_only=True),
        Column("callbacks\nreceived", mean("callbacks_received", ",.1f")),
        Column("callbacks\nmissed", mean("callbacks_missed", ",.1f")),
        # as regulators count: AMD hang-ups on live people included
        Column("abandoned\n% (w/ AMD)", mean("abandon_rate_with_amd", ".1%")),
        Column("opt-outs", mean("opt_outs", ",.1f")),
        Column("prospects\nreached", mean("prospects_reached", ",.0f"), wide_only=True),
    ]


def _table(title: str, strategies, columns: list[Column], breaking: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("strategy", style="bold", no_wrap=True)
    for column in columns:
        table.add_column(column.header, justify="right", no_wrap=True)
    for name in strategies:
        label = f"[red]{escape(name)} ✗[/]" if name in breaking else escape(name)
        table.add_row(label, *[column.cell(name) for column in columns])
    return table


def run_tables(result, wide: bool = False, breaking: tuple[str, ...] = ()) -> list[Table]:
    """The tables for a finished run: two narrow ones, or one with every column; the
    strategies in ``breaking`` (a [constraints] cap) marked ✗."""
    summary = result.summary_table()
    diffs = paired_differences(summary, result.strategies, result.baseline, HEADLINE)
    rates, totals = _rate_columns(result, diffs), _total_columns(result)
    n = len(result.replications)
    if wide:
        return [_table(f"{result.scenario.name}: {n} replications. Per paid rep-hour: mean ± "
                       "95% interval; campaign totals (all reps): mean per replication",
                       result.strategies, rates + totals, breaking)]
    return [
        _table(f"Per paid rep-hour: mean ± 95% interval over {n} replications",
               result.strategies, rates, breaking),
        _table("Campaign totals, all reps: mean per replication",
               result.strategies, [c for c in totals if not c.wide_only], breaking),
    ]


def channels_table(result) -> Table:
    """The other channels (scenario.channels), mean per replication: touches sent,
    replies, conversations by channel, second-number dials."""
    def means(*metrics: str) -> Callable[[str], str]:
        return lambda s: "/".join(format(result.interval(s, m).mean, ",.0f") for m in metrics)

    return _table("Other channels, all reps: mean per replication", result.strategies, [
        Column("emails/\ntexts", means("emails_sent", "texts_sent")),
        Column("replies\nemail/text", means("email_replies", "text_replies")),
        Column("convers.\ncall/cb/ret", means("outbound_connects", "callback_connects",
                                                       "return_connects")),
        Column("convers.\nemail/text", means("email_reply_connects", "text_reply_connects")),
        Column("2nd no.\ndials/conn", means("second_number_dials", "second_number_connects")),
    ])


def print_table(out: Console, table: Table, wide: bool) -> None:
    """Print ``table``; with ``wide`` as wide as it needs, whatever the terminal (the
    user asked for every column), else fitted to the terminal."""
    if not wide:
        out.print(table)
        return
    terminal_width = out.width
    out.width = max(terminal_width, natural_width(out, table))
    try:
        out.print(table)
    finally:
        out.width = terminal_width


def natural_width(console: Console, table: Table) -> int:
    """Columns ``table`` takes when nothing limits it (every cell on one line)."""
    return Measurement.get(console, console.options.update(max_width=10_000), table).maximum


def print_run_tables(result, out: Console, wide: bool = False, objective: str = "connects") -> None:
    """The tables (strategies breaking a [constraints] cap marked ✗, each breach in a line),
    meetings and money when the scenario has [economics], then THE verdict (on the
    objective, among compliant strategies) and, when it applies, why its interval is wider."""
    from sim.analysis.economics import objective_metric, with_economics

    summary = with_economics(result.summary_table(), result.scenario, result.breakdown_table())
    metric, words = objective_metric(objective, result.scenario)
    found = decide(summary, result.strategies, result.scenario, result.timeline_table(), metric)
    tables = run_tables(result, wide, breaking=tuple(found.breaking))
    out.print(f"[bold]{escape(result.scenario.name)}[/]: every strategy meets the same "
              "simulated prospects", highlight=False)
    for table in tables:
        print_table(out, table, wide)
    if result.scenario.channels.used():
        print_table(out, channels_table(result), wide)
    for name, compliance in found.breaking.items():
        out.print(f"✗ {name} breaks: {compliance.describe()}", highlight=False, markup=False,
                  soft_wrap=True)
    if result.scenario.economics is not None:
        print_economics(result, summary, out)
    out.print(f"verdict: {found.sentence(words)}", highlight=False, markup=False)
    note = found.adjustment_note()
    if note:
        out.print(note, highlight=False, markup=False, style="dim")


def print_observables(result, out) -> None:
    """The rates a team's dashboard shows, per strategy (sim.analysis.observables)."""
    import numpy as np

    from sim.analysis.observables import observable_rates

    summary = result.summary_table()
    rates = observable_rates({c: summary.column(c).to_numpy() for c in summary.column_names})
    strategy = np.asarray(summary.column("strategy").to_pylist(), dtype=object)
    attempts = summary.column("mean_attempts_to_reach").to_numpy()
    table = Table(title="rates to hold against your dashboard (means over replications)",
                  caption="a team's rates come from the strategy it used: compare that row",
                  title_justify="left")
    table.add_column("strategy", style="bold", no_wrap=True)
    for header in ("convers.\nper dial", "voicemail\nper dial", "live\nper dial",
                   "callbacks\nper msg", "reached\nper lead", "attempts\nto reach"):
        table.add_column(header, justify="right", no_wrap=True)
    for name in result.strategies:
        rows = strategy == name
        cells = [f"{np.nanmean(rates[key][rows]):.1%}".rjust(5) if np.isfinite(rates[key][rows]).any() else "-"
                 for key in ("conversation_rate", "voicemail_share", "live_answer_share",
                             "callbacks_per_message_left", "contacts_per_prospect")]
        finite = attempts[rows][np.isfinite(attempts[rows])]
        cells.append(f"{finite.mean():.2f}" if finite.size else "-")
        table.add_row(name, *cells)
    out.print(table)


def print_by_hour(result, out: Console) -> None:
    """Live answers per 100 dials by clock hour, one column per strategy; the best hours."""
    from sim.analysis.breakdowns import best_hours, by_hour

    table_data = by_hour(result.timeline_table(), result.strategies)
    rows: dict[int, dict[str, dict]] = {}
    for row in table_data.to_pylist():
        rows.setdefault(row["hour"], {})[row["strategy"]] = row
    table = Table(title="live answers per 100 dials by hour of day (team's clock), mean ± 95% "
                        "CI; dials per day", title_justify="left")
    table.add_column("hour", justify="right", no_wrap=True)
    for name in result.strategies:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column(f"dials/day ({result.baseline})", justify="right", no_wrap=True)
    for hour in sorted(rows):
        cells = rows[hour]
        texts = []
        for name in result.strategies:
            r = cells.get(name)
            if r is None:
                texts.append("-")
            else:
                texts.append(plus_minus_range(r["answers_per_100_dials"],
                                              r["answers_per_100_dials_ci95_low"],
                                              r["answers_per_100_dials_ci95_high"], ".1f"))
        base = cells.get(result.baseline)
        table.add_row(f"{hour:02d}:00", *texts, f"{base['dials_per_day']:,.0f}" if base else "-")
    out.print(table)
    hours = ", ".join(f"{h:02d}:00" for h in best_hours(table_data, result.baseline))
    out.print(f"best hours to call ({result.baseline}; highest answer rate by the low end of "
              f"its 95% interval): {hours}", highlight=False, soft_wrap=True)


def _money(x: float, unit: str) -> str:
    """'$1,234', '$12.5', '$0.42': money for a narrow column."""
    if not math.isfinite(x):
        return "-"
    return f"{unit}{x:,.0f}" if abs(x) >= 100 else f"{unit}{x:.3g}"


def print_economics(result, summary, out: Console) -> None:
    """Meetings, value and cost per strategy (means; the meetings rate with its 95% CI)."""
    from sim.analysis.compare import values_by_strategy
    from sim.analysis.stats import t_interval

    unit = result.scenario.economics.currency

    table = Table(title=f"meetings (mtgs, expected) and money in {escape(unit)}: campaign means over "
                        "replications; net = pipeline - cost", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("strategy", style="bold", no_wrap=True)
    for header in ("mtgs", "mtgs/rep-h", "pipeline", "cost", f"{unit}/connect", f"{unit}/mtg",
                   "net/rep-h"):
        table.add_column(header, justify="right", no_wrap=True)
    columns = ("meetings", "meetings_per_rep_hour", "pipeline_value", "cost_total",
               "cost_per_connect", "cost_per_meeting", "net_value_per_rep_hour")
    values = {c: values_by_strategy(summary, c, result.strategies) for c in columns}
    for name in result.strategies:
        iv = {c: t_interval(values[c][name]) for c in columns}
        table.add_row(escape(name), f"{iv['meetings'].mean:,.1f}", f"{iv['meetings_per_rep_hour'].mean:.3f}",
                      _money(iv["pipeline_value"].mean, unit), _money(iv["cost_total"].mean, unit),
                      _money(iv["cost_per_connect"].mean, unit),
                      _money(iv["cost_per_meeting"].mean, unit),
                      _money(iv["net_value_per_rep_hour"].mean, unit))
    out.print(table)


def print_breakdown(result, out: Console, dimension: str) -> None:
    """Conversations (outbound, callbacks, return calls) per 100 dials, per list segment or
    prospect time zone and strategy: mean ± 95% interval over replications."""
    from sim.analysis.stats import t_interval

    rows = [r for r in result.breakdown_table().to_pylist() if r["dimension"] == dimension]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    table = Table(title=f"conversations per 100 dials by {dimension.replace('_', ' ')}, mean ± "
                        "95% interval", title_justify="left", title_style="bold")
    table.add_column(dimension.replace("_", " "), style="bold", no_wrap=True)
    for name in result.strategies:
        table.add_column(escape(name), justify="right", no_wrap=True)
    table.add_column("dials per\nreplication", justify="right", no_wrap=True)
    for group in groups:
        cells = []
        for name in result.strategies:
            per_rep = [100.0 * (r["outbound_connects"] + r["inbound_connects"] + r["return_connects"])
                       / r["dials"] for r in rows
                       if r["group"] == group and r["strategy"] == name and r["dials"]]
            cells.append(fmt_interval(t_interval(per_rep), 1) if per_rep else "-")
        dials = [r["dials"] for r in rows if r["group"] == group and r["strategy"] == result.baseline]
        table.add_row(escape(group), *cells, f"{sum(dials) / max(1, len(dials)):,.0f}")
    out.print(table)


BREAKDOWNS = ("hour", "local_hour", "segment", "time_zone", "group")  # dialsim run --by


def print_breakdown_by(result, out: Console, name: str) -> None:
    """The breakdown ``dialsim run --by NAME`` asks for (one of :data:`BREAKDOWNS`)."""
    if name == "hour":
        print_by_hour(result, out)
    elif name == "local_hour":
        print_local_hours(result, out)
    elif name == "group":
        print_group_breakdown(result, out)
    else:
        print_breakdown(result, out, name)


def print_local_hours(result, out: Console) -> None:
    """The best hours to call in each time zone: per zone and prospect-local hour, the
    baseline strategy's dials per replication and outbound conversations per 100 dials
    (mean ± 95% interval over replications); ★ marks each zone's best hour."""
    from sim.analysis.stats import t_interval

    rows = [r for r in result.breakdown_table().to_pylist()
            if r["dimension"] == "local_hour" and r["strategy"] == result.baseline]
    if not rows:
        out.print("by local hour: the prospects are in one time zone, so their hour is the "
                  "team's: see --by hour", highlight=False)
        return
    n = max(1, len({r["replication"] for r in rows}))
    table = Table(title=f"{escape(result.baseline)}: conversations per 100 dials by the "
                        "prospect's local hour", title_justify="left", title_style="bold")
    for header in ("time zone", "hour", "dials/rep", "conversations per 100 dials", ""):
        table.add_column(header, justify="left" if header in ("time zone", "") else "right",
                         no_wrap=True)
    for zone in dict.fromkeys(r["group"] for r in rows):
        mine = [r for r in rows if r["group"] == zone]
        hours = sorted({r["hour"] for r in mine})
        stats = {}
        for hour in hours:
            at = [r for r in mine if r["hour"] == hour]
            stats[hour] = (sum(r["dials"] for r in at) / n,
                           t_interval([100.0 * r["outbound_connects"] / r["dials"] for r in at]))
        best = max(hours, key=lambda h: stats[h][1].mean)
        for i, hour in enumerate(hours):
            dials, rate = stats[hour]
            table.add_row(escape(zone) if i == 0 else "", f"{hour:02d}:00", f"{dials:,.0f}",
                          fmt_interval(rate, 1), "★" if hour == best else "")
    out.print(table)


def print_group_breakdown(result, out: Console) -> None:
    """By rep group: connects per rep-hour per strategy (mean ± 95% interval over
    replications), then the baseline's dials, connects, paid, idle and overtime hours per
    group with the team's total (the groups add up to it)."""
    from sim.analysis.stats import t_interval

    rows = [r for r in result.breakdown_table().to_pylist() if r["dimension"] == "rep_group"]
    groups = list(dict.fromkeys(r["group"] for r in rows))

    def connects(r) -> int:
        return r["outbound_connects"] + r["inbound_connects"] + r["return_connects"]

    table = Table(title="connects per rep-hour by rep group, mean ± 95% interval",
                  title_justify="left", title_style="bold")
    table.add_column("rep group", style="bold", no_wrap=True)
    for name in result.strategies:
        table.add_column(escape(name), justify="right", no_wrap=True)
    for group in groups:
        cells = []
        for name in result.strategies:
            per_rep = [connects(r) / r["rep_hours"] for r in rows
                       if r["group"] == group and r["strategy"] == name and r["rep_hours"]]
            cells.append(fmt_interval(t_interval(per_rep), 2) if per_rep else "-")
        table.add_row(escape(group), *cells)
    out.print(table)

    mine = [r for r in rows if r["strategy"] == result.baseline]
    n = max(1, len({r["replication"] for r in mine}))
    totals = Table(title=f"{escape(result.baseline)} by rep group, mean per replication",
                   title_justify="left", title_style="bold")
    for header in ("rep group", "paid h", "dials", "connects", "per rep-h", "idle", "overtime h"):
        totals.add_column(header, justify="left" if header == "rep group" else "right",
                          no_wrap=True, style="bold" if header == "rep group" else None)

    def add(label: str, picked: list[dict]) -> None:
        paid = sum(r["rep_hours"] for r in picked) / n
        talks = sum(connects(r) for r in picked) / n
        idle = sum(r["idle_hours"] for r in picked) / n
        totals.add_row(label, f"{paid:,.1f}", f"{sum(r['dials'] for r in picked) / n:,.0f}",
                       f"{talks:,.0f}", f"{talks / paid:.2f}" if paid else "-",
                       f"{100 * idle / paid:.1f}%" if paid else "-",
                       f"{sum(r['overtime_hours'] for r in picked) / n:,.1f}")

    for group in groups:
        add(escape(group), [r for r in mine if r["group"] == group])
    if len(groups) > 1:
        add("all groups", mine)
    out.print(totals)
