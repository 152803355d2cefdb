"""The report of a sensitivity folder: "what decides the answer here".

``dialsim report RESULTS_DIR`` on a folder written by ``dialsim sensitivity`` writes
one self-contained ``report.html``: one sentence per output naming the beliefs that
decide it, the ranked indices with their bootstrap intervals, and the chart.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pyarrow.parquet as pq

from sim.errors import UserError
from sim.analysis.formatting import low_to_high
from sim.present.plots import write_bytes_atomic
from sim.store.results import read_manifest

REPORT_FILE = "report.html"


def write_sensitivity_report(run_dir: Path) -> Path:
    from sim.present.report import STYLE
    from sim.present.sensitivity_plots import PRIMARY, plot_sensitivity

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("status") != "complete" or not (run_dir / "indices.parquet").exists():
        raise UserError(f"{run_dir}: the sensitivity analysis has not finished; run the same "
                        "dialsim sensitivity command again to complete it")
    indices = pq.read_table(run_dir / "indices.parquet")
    chart = plot_sensitivity(indices, manifest, run_dir / "plots")
    e = html.escape
    method = manifest["method"]
    primary = PRIMARY[method]
    rows = [r for r in indices.to_pylist() if r["index"] == primary]
    body = "".join(f"<li>{e(line)}</li>" for line in manifest.get("what_decides", []))
    table = "".join(
        f"<tr><td>{e(r['output'])}</td><td>{r['rank']}</td><td>{e(r['parameter'])}</td>"
        f"<td>{r['value']:.3g}</td><td>{low_to_high(r['ci95_low'], r['ci95_high'], '.3g')}</td></tr>"
        for r in sorted(rows, key=lambda r: (r["output"], r["rank"])))
    ranges = "".join(
        f"<tr><td>{e(r['key'])}</td><td>{low_to_high(r['low'], r['high'], 'g')}"
        f"{' (log scale)' if r['scale'] == 'log' else ''}</td></tr>" for r in manifest["ranges"])
    png = base64.b64encode(chart.read_bytes()).decode("ascii")
    what = ("Morris mu*: how much the output changes when the belief moves across its range"
            if method == "morris" else
            "Sobol' total index ST: the share of the output's variance due to the belief")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>What decides the answer: {e(manifest['scenario'])}</title>
<style>{STYLE}</style></head>
<body>
<h1>What decides the answer here: {e(manifest['scenario'])}</h1>
<p class=sub>{manifest['points']} scenarios x {manifest['replications']} replications x
{len(manifest['strategies'])} strategies, {e(method)} design; objective
{e(manifest['metric'])}.</p>
<div class=answer><h2 id=decides>What decides the answer</h2><ul>{body}</ul></div>
<h2 id=ranges>The beliefs varied</h2>
<table class=assume>{ranges}</table>
<h2 id=indices>Each belief's influence</h2>
<p>{e(what)}; in the last column the bootstrap 95% interval. A difference
"A - B" is the verdict between two strategies, measured on the same simulated prospects.</p>
<table><tr><th>output</th><th>rank</th><th>belief</th><th>{e(primary)}</th><th>95% interval</th></tr>
{table}</table>
<h2 id=chart>Chart</h2>
<figure><img alt="sensitivity chart" src="data:image/png;base64,{png}"></figure>
</body></html>
"""
    path = run_dir / REPORT_FILE
    write_bytes_atomic(page.encode("utf-8"), path)
    return path
