"""The fit report: the log's rates beside a simulation of the fitted scenario (HTML + PNG).

One self-contained page: what was fitted (estimate, 95% interval, n), the log's
observable rates beside the simulation's, and one chart with three panels: the
live-answer share by attempt number, by the prospect's local hour and by the number
of earlier silent misses, log (points, 95% bars) against simulation (line, band).
"""

from __future__ import annotations

import base64
import html
import io
import math

from sim.analysis.formatting import low_to_high, mean_range_html
from sim.calibration.estimate import observed_rates
from sim.calibration.profiles import MAX_MISSES, live_answer_profiles

LOG_COLOUR, SIM_COLOUR = "#222222", "#1f77b4"


def render_chart(log, simulated, title: str) -> bytes:
    """PNG of the three live-answer profiles, log against simulation."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ours, theirs = live_answer_profiles(log), live_answer_profiles(simulated)
    panels = (("attempt", "attempt number"), ("hour", "prospect's local hour"),
              ("silent_misses", f"earlier silent misses ({MAX_MISSES} = {MAX_MISSES} or more)"))
    with rc_context({"font.size": 10, "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(13, 4.4), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, 3, sharey=True)
        for ax, (key, label) in zip(axes, panels):
            sim = theirs[key]
            ax.fill_between(sim.groups, 100 * sim.low, 100 * sim.high, color=SIM_COLOUR, alpha=0.2,
                            linewidth=0)
            ax.plot(sim.groups, 100 * sim.share, color=SIM_COLOUR, marker=".", label="fitted scenario, simulated")
            obs = ours[key]
            ax.errorbar(obs.groups, 100 * obs.share,
                        yerr=[100 * (obs.share - obs.low), 100 * (obs.high - obs.share)],
                        fmt="o", color=LOG_COLOUR, capsize=3, markersize=4, label="the call log")
            ax.set_xlabel(label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(axis="y", alpha=0.3)
        axes[0].set_ylabel("dials a person picked up (%)")
        axes[0].set_ylim(bottom=0)
        axes[0].legend(loc="upper right", frameon=False)
        fig.suptitle(title, fontsize=12)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


def render_fit_report(outcome, simulated, source: str, written: str, png: bytes) -> str:
    """The report page (self-contained: the chart is embedded)."""
    e = html.escape
    fit, log = outcome.fit, outcome.loaded.log
    sim_rates = {r.name: r for r in observed_rates(simulated)}
    rate_rows = []
    for r in fit.rates:
        s = sim_rates[r.name]
        rate_rows.append(f"<tr><th scope=row>{e(r.name)}</th><td>{_pct(r.value, r.low, r.high)}</td>"
                         f"<td>{_pct(s.value, s.low, s.high)}</td></tr>")
    est_rows = []
    for est in fit.estimates:
        if not est.written and not est.key.startswith("prospects.hourly_availability."):
            continue
        if est.key == "prospects.hourly_availability":
            continue
        est_rows.append(f"<tr><th scope=row>{e(est.key)}</th><td>{_num(est.value)}</td>"
                        f"<td>{low_to_high(est.low, est.high, _num)}</td><td>{est.n:,} {e(est.basis)}</td>"
                        f"<td class=rule>{e(est.rule)}{'. ' + e(est.note) if est.note else ''}</td></tr>")
    kept = "".join(f"<li><code>{e(k)}</code>: {e(why)}</li>" for k, why in fit.uninformed)
    warnings = "".join(f"<p class=warn>{e(w)}</p>" for w in fit.warnings)
    strategy = outcome.strategy["name"] if outcome.strategy else "the scenario's first strategy"
    image = base64.b64encode(png).decode("ascii")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fit report: {e(source)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1180px; margin: 2em auto; padding: 0 1em; color: #1d1d1f; line-height: 1.45; }}
h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .6em 0; }}
th, td {{ padding: .25em .7em; border-bottom: 1px solid #eee; text-align: right; vertical-align: top; }}
th[scope=row] {{ text-align: left; font-weight: 600; }}
td.rule {{ text-align: left; color: #555; font-size: .9em; max-width: 30em; }}
.ci {{ color: #666; font-size: .9em; }}
.warn {{ background: #fff6e5; border-left: 5px solid #d08a00; padding: .5em 1em; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Fit report: {e(source)}</h1>
<p>{len(log):,} calls, {log.n_prospects:,} prospects ({e(outcome.loaded.format)} format).
The fitted scenario is <code>{e(written)}</code>; below, the log beside a simulation of
that scenario under <b>{e(strategy)}</b>, the strategy the log shows.</p>
{warnings}
<h2 id=rates>The log's rates beside the fitted scenario's</h2>
<p>95% intervals in brackets (the log's clustered by prospect; the simulation's from
its own calls). Where they overlap, the fitted scenario reproduces the team's numbers.</p>
<table><thead><tr><th>rate</th><th>call log</th><th>fitted scenario, simulated</th></tr></thead>
<tbody>{''.join(rate_rows)}</tbody></table>
<h2 id=profiles>Who picks up: by attempt, by hour, after silent misses</h2>
<p>The share of dials a person picked up. Points with bars: the call log (exact 95%
intervals); line and band: the fitted scenario simulated. A gap shows a pattern of
the team's data the fitted model does not carry (e.g. screening the model puts on
silent misses that the log puts on something else).</p>
<img alt="live-answer share by attempt, by local hour and by earlier silent misses: log and simulation"
 src="data:image/png;base64,{image}">
<h2 id=estimates>What was fitted</h2>
<table><thead><tr><th>scenario key</th><th>estimate</th><th>95% interval</th><th>sample</th>
<th>model rule (docs/model.md)</th></tr></thead><tbody>{''.join(est_rows)}</tbody></table>
<h2 id=kept>Not informed by this log (defaults kept)</h2>
<ul>{kept}</ul>
</body></html>
"""


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.3g}"


def _pct(value: float, low: float, high: float) -> str:
    return mean_range_html(100 * value, 100 * low, 100 * high, unit="%")
