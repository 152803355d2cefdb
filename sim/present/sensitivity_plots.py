"""The sensitivity chart: which beliefs move each strategy's headline and each verdict.

One panel per output (each strategy, then each paired difference), parameters as
horizontal bars, most influential on top, with the bootstrap 95% interval as an
error bar. Morris shows mu* (the mean absolute change across a parameter's range,
in the output's unit); Sobol' shows the total index ST and, thinner, the first-order
index S1 (shares of the output's variance).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.present.sweep_plots import _save

PRIMARY = {"morris": "mu_star", "sobol": "ST"}
LABELS = {"mu_star": "mu* (change across the range)", "ST": "total index ST",
          "S1": "first-order S1"}


def plot_sensitivity(indices: pa.Table, manifest: dict, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    method = manifest["method"]
    primary = PRIMARY[method]
    rows = indices.to_pylist()
    outputs = list(dict.fromkeys(r["output"] for r in rows))
    n = len(outputs)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    params = list(dict.fromkeys(r["parameter"] for r in rows))
    height = max(2.2, 0.45 * len(params) + 1.3)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, height * nrows + 0.8),
                             layout="constrained", squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, output in zip(axes.flat, outputs):
        mine = [r for r in rows if r["output"] == output]
        ranked = sorted({r["parameter"]: r["rank"] for r in mine}.items(), key=lambda kv: kv[1])
        names = [p for p, _ in ranked]
        y = np.arange(len(names))[::-1]

        def series(index):
            by = {r["parameter"]: r for r in mine if r["index"] == index}
            value = np.array([by[p]["value"] for p in names], dtype=float)
            low = np.array([by[p]["ci95_low"] for p in names], dtype=float)
            high = np.array([by[p]["ci95_high"] for p in names], dtype=float)
            err = np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)])
            return value, np.nan_to_num(err)

        value, err = series(primary)
        kind = mine[0]["output_kind"]
        colour = "#4c72b0" if kind == "strategy" else "#dd8452"
        ax.barh(y, value, xerr=err, color=colour, alpha=0.85, capsize=3,
                label=LABELS[primary], height=0.6 if method == "morris" else 0.45,
                align="center" if method == "morris" else "edge")
        if method == "sobol":
            s1, s1_err = series("S1")
            ax.barh(y - 0.45, s1, xerr=s1_err, color="#999999", alpha=0.85, capsize=3,
                    label=LABELS["S1"], height=0.45, align="edge")
            ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y - (0.0 if method == "morris" else 0.0))
        ax.set_yticklabels([_short(p) for p in names], fontsize=8)
        title = (f"strategy {output}" if kind == "strategy"
                 else f"verdict {output} (paired)")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
        if method == "sobol":
            ax.legend(fontsize=7, loc="lower right")
    unit = "1/h" if manifest["metric"].endswith("per_rep_hour") else "its unit"
    what = (f"Morris mu*: how much {manifest['metric']} changes across each range ({unit}), "
            "95% bootstrap interval" if method == "morris" else
            f"Sobol' indices of {manifest['metric']}: share of its variance due to each "
            "belief, 95% bootstrap interval")
    fig.suptitle(f"{manifest['scenario']}: what decides the answer\n{what}; "
                 f"{manifest['points']} points x {manifest['replications']} replications",
                 fontsize=10)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sensitivity_{method}.png"
    _save(fig, path)
    return path


def _short(key: str) -> str:
    """The last two parts of a key path: enough to read, short enough to fit."""
    parts = key.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else key


def replot_sensitivity(run_dir: Path, manifest: dict) -> Path:
    """``dialsim plot`` on a sensitivity folder: the chart again, from indices.parquet."""
    import pyarrow.parquet as pq

    from sim.errors import UserError

    if not (run_dir / "indices.parquet").exists():
        raise UserError(f"{run_dir}: the sensitivity analysis has not finished; run the same "
                        "dialsim sensitivity command again to complete it")
    return plot_sensitivity(pq.read_table(run_dir / "indices.parquet"), manifest, run_dir / "plots")
