"""Charts of a results folder, as PNG files next to the results (``dialsim plot``).

Four charts, each titled with the scenario name:

- ``connects_per_rep_hour.png``: the headline by strategy with 95% interval bars,
  and each strategy's paired difference from the baseline with its interval;
- ``connects_by_hour.png``: connects per rep in each clock hour (mean per day);
- ``cumulative_connects.png``: connects so far over the campaign's working hours
  (nights and breaks left out), with a band;
- ``funnel.png``: dials -> live answers -> connects, voicemails left -> heard, and
  callbacks received -> answered, each on its own linear scale, with counts and the
  share of the stage above.

Matplotlib draws on its Agg canvas, chosen inside :func:`render_charts` (nothing is
set at import, no display is needed, pyplot's global state is never touched).
A sweep folder is handed to :func:`sim.present.sweep_plots.plot_sweep`.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from sim.analysis.compare import HEADLINE, resolve_baseline, values_by_strategy
from sim.analysis.metrics import BREAKDOWN_SCHEMA, NUMBERS_SCHEMA, SUMMARY_SCHEMA, TIMELINE_SCHEMA
from sim.errors import UserError
from sim.store.atomic import write_bytes_atomic
from sim.store.results import (BREAKDOWN_FILE, MANIFEST, NUMBERS_FILE, SUMMARY_FILE,
                               TIMELINE_FILE, read_manifest)
from sim.scenario.schema import Scenario
from sim.analysis.stats import paired_difference, t_interval


CHARTS = ("connects_per_rep_hour.png", "connects_by_hour.png", "cumulative_connects.png",
          "funnel.png")
# drawn only when the run has something to show: a multi-line dialer, caller-ID numbers
PACING_CHART = "pacing.png"
NUMBERS_CHART = "numbers.png"

# (label, summary column) per funnel stage; each panel of the funnel chart is one group
OUTBOUND_FUNNEL = (("dials", "dials"), ("live answers", "live_answers"),
                   ("connects", "outbound_connects"))
MESSAGE_FUNNEL = (("voicemails left", "voicemails_left"), ("heard", "voicemails_heard"))
CALLBACK_FUNNEL = (("callbacks received", "callbacks_received"),
                   ("answered by a rep", "inbound_connects"))
VOICEMAIL_FUNNEL = MESSAGE_FUNNEL + CALLBACK_FUNNEL


@dataclass
class RunData:
    """A finished run folder, read and checked: what charts and the report need."""

    run_dir: Path
    manifest: dict
    scenario: Scenario  # as run (the manifest's resolved scenario)
    summary: pa.Table
    timeline: pa.Table
    strategies: list[str]
    baseline: str
    numbers: pa.Table | None = None  # numbers.parquet, when caller-ID numbers were modelled
    breakdown: pa.Table | None = None  # breakdown.parquet (runs before it existed have none)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def replications(self) -> int:
        return len(set(self.summary.column("replication").to_pylist()))

    def values(self, metric: str) -> dict[str, np.ndarray]:
        return values_by_strategy(self.summary, metric, self.strategies)


def load_run(run_dir: Path, baseline: str | None = None) -> RunData:
    """Read a run folder; a missing, half-written, older or sweep folder is a UserError."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    kind = manifest.get("kind")
    if kind != "run":
        raise UserError(f"{run_dir}: manifest kind is {kind!r}, not 'run': this command reads "
                        "the results folder of one `dialsim run`")
    summary = _read_table(run_dir, SUMMARY_FILE, SUMMARY_SCHEMA)
    timeline = _read_table(run_dir, TIMELINE_FILE, TIMELINE_SCHEMA)
    listed = manifest.get("strategies")
    if not (isinstance(listed, list) and listed and all(isinstance(n, str) for n in listed)):
        raise UserError(f"{run_dir / MANIFEST}: damaged: 'strategies' should be a list of "
                        f"names, found {_short(listed)}; re-run the scenario")
    strategies = list(dict.fromkeys(listed))
    for table, name in ((summary, SUMMARY_FILE), (timeline, TIMELINE_FILE)):
        present = set(table.column("strategy").to_pylist())
        absent = [n for n in strategies if n not in present]
        if absent:
            raise UserError(f"{run_dir / name}: no rows for strategy {', '.join(absent)} "
                            "(listed in the manifest); half-written or damaged: re-run the scenario")
    _check_clock_columns(run_dir / TIMELINE_FILE, timeline)
    recorded = manifest.get("baseline")
    if recorded is not None and not isinstance(recorded, str):
        raise UserError(f"{run_dir / MANIFEST}: damaged: 'baseline' should be a strategy name, "
                        f"found {_short(recorded)}")
    baseline = resolve_baseline(strategies, baseline, recorded)
    try:
        scenario = Scenario.model_validate(manifest.get("scenario"))
    except ValidationError as exc:
        raise UserError(f"{run_dir / MANIFEST}: its scenario was written by another dialsim "
                        f"version or damaged ({exc.error_count()} problems): re-run the "
                        "scenario") from None
    numbers = (_read_table(run_dir, NUMBERS_FILE, NUMBERS_SCHEMA)
               if (run_dir / NUMBERS_FILE).exists() else None)
    if numbers is not None:
        _check_clock_columns(run_dir / NUMBERS_FILE, numbers)
    breakdown = (_read_table(run_dir, BREAKDOWN_FILE, BREAKDOWN_SCHEMA)
                 if (run_dir / BREAKDOWN_FILE).exists() else None)
    return RunData(run_dir, manifest, scenario, summary, timeline, strategies, baseline, numbers,
                   breakdown)


def charts_for(data: RunData) -> tuple[str, ...]:
    """The charts a run has: the four always, pacing and numbers when they apply."""
    names = CHARTS
    if data.scenario.team.lines_per_rep > 1 and "dial_level" in data.timeline.column_names:
        names += (PACING_CHART,)
    if data.numbers is not None:
        names += (NUMBERS_CHART,)
    return names


def _read_table(run_dir: Path, name: str, schema: pa.Schema) -> pa.Table:
    """A results table with every column of ``schema`` at its type, or a UserError."""
    path = run_dir / name
    if not path.exists():
        raise UserError(f"{run_dir}: half-written or damaged results folder ({name} is missing)")
    if not path.is_file():
        raise UserError(f"{path}: not a file; damaged results folder: re-run the scenario")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: unreadable ({reason}); re-run the scenario") from None
    problems = [f"{field.name} missing" if field.name not in table.column_names else
                f"{field.name} is {table.schema.field(field.name).type}, not {field.type}"
                for field in schema
                if field.name not in table.column_names
                or table.schema.field(field.name).type != field.type]
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise UserError(f"{path}: not the columns this dialsim writes ({'; '.join(problems[:3])}"
                        f"{more}); written by another version or damaged: re-run the scenario")
    return table


def _check_clock_columns(path: Path, table: pa.Table) -> None:
    """day >= 0 and hour 0..23 (charts index arrays with them)."""
    for column, high in (("day", None), ("hour", 23)):
        if column not in table.column_names or table.num_rows == 0:
            continue
        bounds = pc.min_max(table.column(column)).as_py()
        if bounds["min"] is None or bounds["min"] < 0 or (high is not None and bounds["max"] > high):
            raise UserError(f"{path}: damaged: column {column} holds {bounds['min']} to "
                            f"{bounds['max']}; re-run the scenario")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def plot_results(run_dir: Path, baseline: str | None = None) -> list[Path]:
    """Charts for a run folder, or for a sweep folder (by sim.present.sweep_plots)."""
    manifest = read_manifest(Path(run_dir))
    if manifest.get("kind") == "sweep":
        if baseline is not None:
            raise UserError("--baseline: applies to a run folder, not a sweep")
        from sim.present.sweep_plots import plot_sweep

        return list(plot_sweep(Path(run_dir)))
    if manifest.get("kind") == "sensitivity":
        from sim.present.sensitivity_plots import replot_sensitivity

        return [replot_sensitivity(Path(run_dir), manifest)]
    return plot_run(run_dir, baseline)


def plot_run(run_dir: Path, baseline: str | None = None) -> list[Path]:
    """Write every chart of a run folder next to its results; returns the paths."""
    data = load_run(run_dir, baseline)
    paths = []
    for name, png in render_charts(data).items():
        path = data.run_dir / name
        write_bytes_atomic(png, path)
        paths.append(path)
    return paths


def render_charts(data: RunData, names: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """Charts (default: all the run has) as PNG bytes, keyed by file name, in order."""
    available = charts_for(data)
    names = available if names is None else names
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawers = {
        "connects_per_rep_hour.png": _chart_headline,
        "connects_by_hour.png": _chart_by_hour,
        "cumulative_connects.png": _chart_cumulative,
        "funnel.png": _chart_funnel,
        PACING_CHART: _chart_pacing,
        NUMBERS_CHART: _chart_numbers,
    }
    colours = _colours(data.strategies)
    charts = {}
    # text.parse_math off: names from the scenario ("$5k deals") are drawn as plain text
    with rc_context({"font.size": 11, "axes.titlesize": 13, "axes.spines.top": False,
                     "axes.spines.right": False, "text.parse_math": False}):
        for name in (n for n in available if n in names):
            fig = Figure(figsize=(10, 5.6), dpi=100, layout="constrained")
            FigureCanvasAgg(fig)
            drawers[name](fig, data, colours)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            charts[name] = buffer.getvalue()
    return charts


def _colours(strategies: list[str]) -> dict[str, str]:
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")
    return {name: palette[i % len(palette)] for i, name in enumerate(strategies)}


def _label(data: RunData, name: str) -> str:
    return f"{name} (baseline)" if name == data.baseline else name


def _half(iv) -> float:
    return iv.half_width if math.isfinite(iv.half_width) else 0.0


def _chart_headline(fig, data: RunData, colours) -> None:
    values = data.values(HEADLINE)
    names = data.strategies
    left, right = fig.subplots(1, 2, width_ratios=(1.1, 1))
    intervals = [t_interval(values[name]) for name in names]
    x = np.arange(len(names))
    left.bar(x, [iv.mean for iv in intervals], yerr=[_half(iv) for iv in intervals],
             capsize=6, color=[colours[n] for n in names], alpha=0.85)
    for xi, iv in zip(x, intervals):
        left.annotate(f"{iv.mean:.2f}", (xi, iv.mean + _half(iv)), xytext=(0, 4),
                      textcoords="offset points", ha="center", va="bottom", fontsize=9)
    left.set_xticks(x, names, rotation=20 if len(names) > 4 else 0)
    left.set_ylabel("connects per paid rep-hour")
    left.set_title("mean with 95% interval")

    diffs = [paired_difference(values[n], values[data.baseline]) for n in names]
    right.axvline(0, color="black", linewidth=1)
    for yi, (name, iv) in enumerate(zip(names, diffs)):
        right.errorbar(iv.mean, yi, xerr=_half(iv), fmt="o", capsize=6, color=colours[name])
    right.set_yticks(range(len(names)), [_label(data, n) for n in names])
    right.invert_yaxis()
    right.set_xlabel(f"difference from {data.baseline}, connects per rep-hour")
    right.set_title("paired difference with 95% interval")
    fig.suptitle(f"{data.name}: connects per rep-hour by voicemail strategy "
                 f"({data.replications} replications)")


def _hourly(data: RunData, column: str) -> dict[str, np.ndarray]:
    """Per strategy: array (replication, campaign hour) of ``column`` from the timeline."""
    t = data.timeline
    days = data.scenario.calendar.days
    strategy = np.asarray(t.column("strategy").to_pylist(), dtype=object)
    replication = np.asarray(t.column("replication").to_numpy())
    index = np.asarray(t.column("day").to_numpy()) * 24 + np.asarray(t.column("hour").to_numpy())
    values = np.asarray(t.column(column).to_numpy(), dtype=float)
    reps = sorted(set(replication.tolist()))
    row_of = {r: i for i, r in enumerate(reps)}
    out = {}
    for name in data.strategies:
        mask = strategy == name
        grid = np.zeros((len(reps), days * 24))
        rows = np.array([row_of[r] for r in replication[mask]], dtype=int)
        np.add.at(grid, (rows, index[mask]), values[mask])
        out[name] = grid
    return out


def paid_fraction_by_hour(work_windows_s: list[tuple[int, int]]) -> np.ndarray:
    """Share of each clock hour 0..23 inside the paid work windows (0 = not worked)."""
    fraction = np.zeros(24)
    for hour in range(24):
        start, end = hour * 3600, (hour + 1) * 3600
        fraction[hour] = sum(max(0, min(end, w1) - max(start, w0)) for w0, w1 in work_windows_s) / 3600
    return fraction


def paid_rep_hours_by_hour(scenario) -> np.ndarray:
    """Paid rep-hours in each clock hour 0..23 of a working day, every rep group."""
    return sum(reps * paid_fraction_by_hour(windows) for _, reps, windows in scenario.rep_groups())


def _chart_by_hour(fig, data: RunData, colours) -> None:
    ax = fig.subplots()
    hourly = _hourly(data, "connects")
    days = data.scenario.calendar.days
    paid = paid_rep_hours_by_hour(data.scenario)  # reps x the share of the hour paid
    worked = np.flatnonzero(paid > 0)
    hours = np.arange(worked.min(), worked.max() + 1)
    for name in data.strategies:
        per_day = hourly[name].reshape(-1, days, 24).mean(axis=(0, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(paid > 0, per_day / paid, np.nan)  # gaps at breaks
        ax.plot(hours, rate[hours], marker="o", color=colours[name], label=_label(data, name))
    ax.set_xticks(hours, [f"{h:02d}:00" for h in hours])
    ax.set_xlabel("hour of day, team's clock (each point: the hour starting then; gaps: breaks)")
    ax.set_ylabel("connects per paid rep-hour in that hour")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    ax.set_title(f"{data.name}: connects by hour of day")


def worked_hours(data: RunData) -> np.ndarray:
    """Campaign hour indexes (day * 24 + hour) inside paid work windows, in order."""
    paid = paid_rep_hours_by_hour(data.scenario) > 0
    return np.array([d * 24 + h for d in range(data.scenario.calendar.days)
                     for h in range(24) if paid[h]])


def _working_hour_axis(ax, data: RunData, n_worked: int) -> None:
    """Ticks at each day's first working hour; faint lines between days."""
    per_day = n_worked // data.scenario.calendar.days
    cal = data.scenario.calendar
    for d in range(1, cal.days):
        ax.axvline(d * per_day, color="0.85", linewidth=1, zorder=0)
    ax.set_xticks([d * per_day for d in range(cal.days + 1)],
                  [f"day {d + 1}" for d in range(cal.days)] + ["end"])
    ax.set_xlim(0, n_worked)
    breaks = f", break {cal.break_start}-{cal.break_end}" if cal.break_start else ""
    ax.set_xlabel(f"working hours ({cal.shift_start}-{cal.shift_end}{breaks}; nights and "
                  "breaks left out)")


def _chart_cumulative(fig, data: RunData, colours) -> None:
    ax = fig.subplots()
    hourly = _hourly(data, "connects")
    hours = worked_hours(data)
    x = np.arange(1, hours.size + 1)  # the end of each working hour
    for name in data.strategies:
        # connects so far at the end of each working hour (anything in an unpaid hour,
        # such as a call running over, counts at the next working hour's end)
        cumulative = np.cumsum(hourly[name], axis=1)[:, hours]
        mean = cumulative.mean(axis=0)
        ax.plot(np.r_[0, x], np.r_[0, mean], color=colours[name], label=_label(data, name))
        if cumulative.shape[0] > 1:
            half = np.array([_half(t_interval(cumulative[:, i])) for i in range(hours.size)])
            ax.fill_between(x, mean - half, mean + half, color=colours[name], alpha=0.15,
                            linewidth=0)
    _working_hour_axis(ax, data, hours.size)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("connects so far, all reps")
    ax.legend(frameon=False, loc="upper left")
    ax.set_title(f"{data.name}: cumulative connects over the campaign (band: 95% interval)")


def _chart_funnel(fig, data: RunData, colours) -> None:
    """Three linear panels, so each stage's bar length is its count: outbound calls,
    messages, callbacks. Labels: the count and, after the first stage, its share of the
    stage above. The callbacks panel says how many callbacks a rep answered."""
    from matplotlib.ticker import MaxNLocator

    axes = fig.subplots(1, 3, width_ratios=(1.15, 1, 1))
    names = data.strategies
    panels = (("outbound calls", OUTBOUND_FUNNEL), ("voicemail messages", MESSAGE_FUNNEL),
              ("callbacks from prospects", CALLBACK_FUNNEL))
    for ax, (title, stages) in zip(axes, panels):
        height = 0.8 / len(names)
        top = 0.0
        for si, name in enumerate(names):
            means = [float(np.nanmean(data.values(column)[name])) for _label_, column in stages]
            top = max(top, *means)
            y = np.arange(len(stages)) + (si - (len(names) - 1) / 2) * height
            ax.barh(y, means, height=height, color=colours[name], label=_label(data, name))
            for stage, (yi, m) in enumerate(zip(y, means)):
                text = f"{m:,.0f}" if m >= 10 or m == 0 else f"{m:,.1f}"
                if stage and means[stage - 1] > 0:
                    text += f" ({m / means[stage - 1]:.0%})"
                ax.annotate(text, (m, yi), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=8)
        ax.set_xlim(0, (top or 1.0) * 1.45)  # room for the labels
        ax.set_yticks(range(len(stages)), [label for label, _column in stages])
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        ax.xaxis.set_major_formatter("{x:,.0f}")
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("mean count per campaign, all reps", fontsize=9)
        ax.set_title(title, fontsize=11)
    received = sum(float(np.nanmean(data.values("callbacks_received")[n])) for n in names)
    answered = sum(float(np.nanmean(data.values("inbound_connects")[n])) for n in names)
    if received > 0:  # in place of the panel's axis label, where the eye ends
        axes[2].set_xlabel(f"only {answered / received:.0%} of callbacks\nreach a rep; the "
                           "rest find\nevery rep busy or off shift", fontsize=9,
                           color="#b00000", fontweight="bold")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
               ncols=min(len(names), 5), frameon=False)
    fig.suptitle(f"{data.name}: the funnel, from dials to conversations "
                 f"({data.scenario.calendar.days} days, {data.scenario.team.reps} reps; "
                 "in brackets: share of the stage above)")


def _chart_pacing(fig, data: RunData, colours) -> None:
    """Dial level through the campaign, and the abandon rate per day (with AMD hang-ups)."""
    top, bottom = fig.subplots(2, 1)
    days = data.scenario.calendar.days
    timeline = data.timeline
    level = _hourly(data, "dial_level")
    hours = worked_hours(data)
    x = np.arange(hours.size) + 0.5  # the middle of each working hour
    markers = "osD^v<>"
    for k, name in enumerate(data.strategies):
        with warnings.catch_warnings():  # hours with no dial in any replication: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.where(level[name] > 0, level[name], np.nan), axis=0)[hours]
        top.plot(x, mean, marker=markers[k % len(markers)], markersize=4, linewidth=1.2,
                 color=colours[name], label=_label(data, name))
    cap = data.scenario.team.lines_per_rep
    top.axhline(cap, color="#b00000", linewidth=1.5, linestyle="--",
                label=f"cap: {cap} lines per rep (team.lines_per_rep)")
    _working_hour_axis(top, data, hours.size)
    top.set_ylabel("lines dialled per batch\n(mean per working hour)")
    top.set_ylim(0, cap * 1.15)
    top.legend(frameon=False, fontsize=8, ncols=2, loc="center right")
    target = data.scenario.dialer.predictive.target_abandon_rate
    width = 0.8 / len(data.strategies)
    for si, name in enumerate(data.strategies):
        rows = timeline.filter(pc.equal(timeline.column("strategy"), name))
        day = np.asarray(rows.column("day").to_numpy(zero_copy_only=False))
        live = np.bincount(day, rows.column("live_answers").to_numpy(), minlength=days)
        abandoned = np.bincount(day, rows.column("abandoned_calls").to_numpy(), minlength=days)
        amd = np.bincount(day, rows.column("amd_hangups").to_numpy(), minlength=days)
        with np.errstate(all="ignore"):
            rate = np.where(live > 0, abandoned / live, np.nan)
            rate_amd = np.where(live + amd > 0, (abandoned + amd) / (live + amd), np.nan)
        pos = np.arange(days) + (si - (len(data.strategies) - 1) / 2) * width
        bottom.bar(pos, rate_amd * 100, width=width, color=colours[name], alpha=0.35)
        bottom.bar(pos, rate * 100, width=width, color=colours[name], label=_label(data, name))
    if data.scenario.dialer.mode == "predictive":
        bottom.axhline(target * 100, color="black", linewidth=1, linestyle="--",
                       label=f"target {target:.0%}")
    bottom.set_xticks(range(days), [f"day {d + 1}" for d in range(days)])
    bottom.set_ylabel("abandoned, % of live answers")
    bottom.legend(frameon=False, fontsize=8)
    top.set_title(f"{data.name}: dial level (top) and abandon rate per day "
                  "(bottom; pale: with AMD hang-ups on people)")


def _chart_numbers(fig, data: RunData, colours) -> None:
    """Caller-ID numbers: which carried a spam label on which day; labelled share by day."""
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    numbers = data.numbers
    first = data.strategies[0]
    rows = numbers.filter(pc.and_(pc.equal(numbers.column("strategy"), first),
                                  pc.equal(numbers.column("replication"), 0)))
    day = rows.column("day").to_numpy()
    number = rows.column("number").to_numpy()
    labelled = np.asarray(rows.column("labelled").to_pylist(), dtype=float)
    grid = np.zeros((int(number.max()) + 1, int(day.max()) + 1))
    grid[number, day] = labelled
    left.imshow(grid, aspect="auto", cmap="Reds", vmin=0, vmax=1, interpolation="nearest")
    left.set_xlabel("campaign day (0 = first)")
    left.set_ylabel("caller-ID number")
    left.set_title(f"labelled spam (red), {first}, replication 0", fontsize=10)
    for name in data.strategies:
        rows = numbers.filter(pc.equal(numbers.column("strategy"), name))
        d = rows.column("day").to_numpy()
        share = np.bincount(d, np.asarray(rows.column("labelled").to_pylist(), dtype=float)) / np.bincount(d)
        right.plot(np.arange(share.size), share * 100, marker="o", color=colours[name],
                   label=_label(data, name))
    right.set_xlabel("campaign day (0 = first)")
    right.set_ylabel("numbers labelled, %")
    right.set_ylim(0, 100)
    right.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{data.name}: caller-ID numbers and spam labels")
