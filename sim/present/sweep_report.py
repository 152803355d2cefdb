"""``dialsim report`` on a sweep folder: one self-contained sweep_report.html.

The sweep's charts (drawn by :mod:`sim.present.sweep_plots`, embedded as PNG data),
where each strategy wins, and a table of every point: its values, the winner, the
winner's connects per rep-hour and its paired margin over the runner-up, with
statistical ties said as ties.
"""

from __future__ import annotations

import base64
import html
import math
from collections import Counter
from pathlib import Path

from sim.experiment.sweep import format_value, is_tie, read_sweep
from sim.present.sweep_plots import key_label, plot_sweep
from sim.present.plots import write_bytes_atomic

REPORT_FILE = "sweep_report.html"
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}table{border-collapse:collapse;margin:1rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th{background:#f4f4f4}td.w{text-align:left;font-weight:600}img{max-width:100%}
.tie{color:#777}.sub{color:#555}"""


def write_sweep_report(run_dir: Path) -> Path:
    """Draw the sweep's charts and write ``sweep_report.html`` (atomically); return its path."""
    run_dir = Path(run_dir)
    manifest, _points, summary = read_sweep(run_dir)
    charts = plot_sweep(run_dir)  # a UserError when no point has finished yet
    page = render_sweep_report(manifest, summary.to_pylist(), {p.name: p.read_bytes() for p in charts})
    path = run_dir / REPORT_FILE
    write_bytes_atomic(page.encode("utf-8"), path)
    return path


def _num(x, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    x = 0.0 if round(x, 2) == 0 else x  # no "-0.00"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def render_sweep_report(manifest: dict, rows: list[dict], charts: dict[str, bytes]) -> str:
    """The page as one HTML string; every text from the files is escaped."""
    e = html.escape
    keys = [p["key"] for p in manifest["parameters"]]
    winners = {row["point_id"]: row for row in rows if row["is_winner"]}
    ties = sum(1 for row in winners.values() if is_tie(row))
    counts = Counter(row["winner"] for row in winners.values() if not is_tie(row))
    won = ", ".join(f"<b>{e(name)}</b> at {n} of {len(winners)} points"
                    for name, n in counts.most_common()) or "no strategy at any point"
    varied = "".join(f"<li>{e(key_label(key))} (<code>{e(key)}</code>)</li>" for key in keys)
    header = "".join(f"<th>{e(key_label(key))}</th>" for key in keys)
    body = []
    for point_id in sorted(winners):
        row = winners[point_id]
        tie = is_tie(row)
        winner = f"{row['winner']} ~ {row['runner_up']} (tie)" if tie else row["winner"]
        margin = (f"{_num(row['margin_mean'], True)} ({_num(row['margin_ci95_low'], True)} to "
                  f"{_num(row['margin_ci95_high'], True)})")
        cells = "".join(f"<td>{e(format_value(row[key]))}</td>" for key in keys)
        body.append(f"<tr{' class=tie' if tie else ''}><td>{point_id}</td>{cells}"
                    f"<td class=w>{e(winner)}</td><td>{_num(row['connects_per_rep_hour_mean'])}</td>"
                    f"<td>{margin}</td></tr>")
    figures = "".join(
        f'<figure><img alt="{e(name[:-4].replace("_", " "))}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></figure>'
        for name, png in charts.items())
    name = e(str(manifest.get("sweep_name", "sweep")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sweep: {name}</title><style>{STYLE}</style></head>
<body>
<h1>Sweep: {name}</h1>
<p class=sub>{e(str(manifest.get("description") or ""))}</p>
<h2>What was varied</h2><ul>{varied}</ul>
<h2>Who wins</h2>
<p>Clearly best by connects per paid rep-hour: {won}. Ties, not wins: {ties} of {len(winners)} points,
where the best two cannot be told apart (their paired difference's 95% interval includes 0).</p>
{figures}
<h2>Every point</h2>
<p>Winner's connects per paid rep-hour (mean over the replications) and its margin over the
runner-up: the paired difference on the same simulated prospects, with its 95% interval.</p>
<table><tr><th>point</th>{header}<th>winner</th><th>connects per rep-h</th>
<th>margin over runner-up (95% interval)</th></tr>
{"".join(body)}</table>
</body></html>
"""
