"""Charts of a sweep: where does each voicemail strategy win, and by how much?

- one swept parameter: connects per rep-hour against it, one line per strategy
  (mean and 95% band), with the places where the best strategy changes marked;
- two: a heat map of the winner's paired margin over the runner-up, each cell (or
  sample) labelled with its winner and a line where the winner changes;
- more: connects per rep-hour against each parameter in turn (the others vary too).

``dialsim plot`` calls :func:`plot_sweep` for a results folder whose manifest says
``kind = "sweep"``.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from pathlib import Path

import numpy as np

from sim.errors import UserError
from sim.experiment.sweep import format_value, read_sweep

HEADLINE_LABEL = "connects per rep-hour"
NONE_COMPLIES = "none complies"


def plot_sweep(run_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Draw the sweep's charts as PNG files (default: ``run_dir/plots``); return their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    run_dir = Path(run_dir)
    manifest, _points, summary = read_sweep(run_dir)
    rows = summary.to_pylist()
    if not rows:
        raise UserError(f"{run_dir}: no finished points to plot yet; run the sweep first")
    keys = [p["key"] for p in manifest["parameters"]]
    strategies = manifest["strategies"]
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    title = manifest["sweep_name"]
    if len(keys) == 1:
        return [_lines(rows, keys[0], strategies, title, out_dir)]
    if len(keys) == 2:
        params = {p["key"]: p for p in manifest["parameters"]}
        return [_margin_map(rows, keys, params, title, out_dir)]
    return [_marginal(rows, key, strategies, title, out_dir) for key in keys]


def _save(fig, path: Path) -> None:
    """PNG via a temporary name and an atomic rename; a reader never sees half a chart."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fig.savefig(tmp, dpi=120, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)


def _file_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts) + ".png"


class _Axis:
    """Positions for a parameter's values: numbers as they are, anything else by category."""

    def __init__(self, values: list):
        self.numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        self.categories = [] if self.numeric else sorted({format_value(v) for v in values})

    def position(self, value) -> float:
        return float(value) if self.numeric else float(self.categories.index(format_value(value)))

    def tick(self, position: float) -> str:
        return format_value(position) if self.numeric else self.categories[int(position)]

    def label(self, ax_axis) -> None:
        if not self.numeric:
            ax_axis.set_ticks(range(len(self.categories)))
            ax_axis.set_ticklabels(self.categories)


def _per_point(rows: list[dict]) -> dict[int, dict]:
    """point id -> its winner row (margin, winner) and per-strategy rows."""
    points: dict[int, dict] = {}
    for row in rows:
        entry = points.setdefault(row["point_id"], {"strategies": {}})
        entry["strategies"][row["strategy"]] = row
        if row["is_winner"]:
            entry["winner"] = row
    for entry in points.values():  # no strategy holds the caps: the point has no winner
        if "winner" not in entry:
            entry["winner"] = {**next(iter(entry["strategies"].values())), "winner": NONE_COMPLIES,
                               "runner_up": None, "margin_mean": math.nan,
                               "margin_clear": False}
    return points


def _lines(rows, key, strategies, title, out_dir) -> Path:
    import matplotlib.pyplot as plt

    points = _per_point(rows)
    axis = _Axis([p["winner"][key] for p in points.values()])
    order = sorted(points, key=lambda pid: axis.position(points[pid]["winner"][key]))
    x = np.array([axis.position(points[pid]["winner"][key]) for pid in order])
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    any_breaks = False
    for strategy in strategies:
        cells = [points[pid]["strategies"][strategy] for pid in order]
        mean = np.array([c["connects_per_rep_hour_mean"] for c in cells], dtype=float)
        low = np.array([c["connects_per_rep_hour_ci95_low"] for c in cells], dtype=float)
        high = np.array([c["connects_per_rep_hour_ci95_high"] for c in cells], dtype=float)
        (line,) = ax.plot(x, mean, marker="o", label=strategy)
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        breaks = np.array([not c.get("complies", True) for c in cells])
        if breaks.any():  # a red cross where the strategy breaks a [constraints] cap
            ax.scatter(x[breaks], mean[breaks], marker="x", s=90, color="red", zorder=5,
                       label="breaks a cap" if not any_breaks else None)
            any_breaks = True
    winners = [points[pid]["winner"]["winner"] for pid in order]
    for i in range(1, len(order)):
        if winners[i] != winners[i - 1]:
            boundary = (x[i] + x[i - 1]) / 2
            ax.axvline(boundary, color="black", linestyle="--", linewidth=1)
            ax.annotate(f"best: {winners[i - 1]} | {winners[i]}", (boundary, 0.99),
                        xycoords=("data", "axes fraction"), ha="center", va="top",
                        fontsize=8)
    axis.label(ax.xaxis)
    ax.set_xlabel(key)
    ax.set_ylabel(f"{HEADLINE_LABEL} (mean, 95% CI)")
    changes = sum(winners[i] != winners[i - 1] for i in range(1, len(winners)))
    caps = "\n(x: breaks a [constraints] cap, so it cannot win)" if any_breaks else ""
    ax.set_title(f"{title}: {HEADLINE_LABEL} vs {key}"
                 + ("\n(dashed: best strategy changes)" if changes else
                    f"\n(best everywhere: {winners[0]})") + caps, fontsize=10)
    ax.legend(title="strategy")
    ax.grid(alpha=0.3)
    path = out_dir / _file_name("sweep_lines", key)
    _save(fig, path)
    return path


def _margin_map(rows, keys, params, title, out_dir) -> Path:
    import matplotlib.pyplot as plt

    points = _per_point(rows)
    best = [p["winner"] for p in points.values()]
    names = sorted({r["winner"] for r in best})
    xa, ya = (_Axis([r[k] for r in best]) for k in keys)
    xs = sorted({xa.position(r[keys[0]]) for r in best})
    ys = sorted({ya.position(r[keys[1]]) for r in best})
    fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    if len(xs) * len(ys) == len(best):  # a full grid: one equal cell per point
        margin = np.full((len(ys), len(xs)), np.nan)
        winner = np.full((len(ys), len(xs)), -1)
        for r in best:
            i, j = ys.index(ya.position(r[keys[1]])), xs.index(xa.position(r[keys[0]]))
            margin[i, j] = r["margin_mean"]
            winner[i, j] = names.index(r["winner"])
            unsure = "" if r["margin_clear"] or r["runner_up"] is None else "?"
            ax.text(j, i, f"{r['winner']}{unsure}\n{_num(r['margin_mean'])}",
                    ha="center", va="center", fontsize=7)
        mesh = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5,
                             margin, cmap="viridis", shading="flat", alpha=0.85)
        _grid_boundaries(ax, winner)
        for axis, centres, values in ((ax.xaxis, xs, xa), (ax.yaxis, ys, ya)):
            axis.set_ticks(range(len(centres)))
            axis.set_ticklabels([values.tick(c) for c in centres])
    else:  # scattered (Latin hypercube): colour by margin, shape by winner
        log = [params[k].get("scale") == "log" for k in keys]
        px = np.array([xa.position(r[keys[0]]) for r in best])
        py = np.array([ya.position(r[keys[1]]) for r in best])
        margin = np.array([r["margin_mean"] for r in best], dtype=float)
        winner = np.array([names.index(r["winner"]) for r in best])
        finite = np.isfinite(margin).any()
        limits = dict(vmin=np.nanmin(margin), vmax=np.nanmax(margin)) if finite else {}
        mesh = None
        for k, name in enumerate(names):
            sel = winner == k
            mesh = ax.scatter(px[sel], py[sel], c=margin[sel], cmap="viridis", s=60,
                              marker="osD^v<>"[k % 7], edgecolors="black", label=name, **limits)
        _scatter_boundaries(ax, px, py, winner, log)
        for values, lg, scale, limits in ((px, log[0], ax.set_xscale, ax.set_xlim),
                                          (py, log[1], ax.set_yscale, ax.set_ylim)):
            scale("log" if lg else "linear")
            limits(*_padded(values, lg))  # contour lines would otherwise clip edge markers
        xa.label(ax.xaxis)
        ya.label(ax.yaxis)
        ax.legend(title="best strategy", fontsize=8)
    fig.colorbar(mesh, ax=ax, label="winner's margin over runner-up (connects/rep-h)")
    ax.set_xlabel(keys[0])
    ax.set_ylabel(keys[1])
    caps = ("\n(only strategies within the [constraints] caps can win; blank: none does)"
            if any(not r.get("complies", True) for r in rows) else "")
    ax.set_title(f"{title}: best strategy and its paired margin\n(black lines: the best "
                 f"strategy changes; ? = margin's 95% CI includes 0){caps}", fontsize=10)
    path = out_dir / _file_name("sweep_margin", keys[0], keys[1])
    _save(fig, path)
    return path


def _padded(values: np.ndarray, log: bool, pad: float = 0.06) -> tuple[float, float]:
    t = np.log10(values) if log else values
    span = (t.max() - t.min()) or 1.0
    low, high = t.min() - pad * span, t.max() + pad * span
    return (10**low, 10**high) if log else (low, high)


def _num(x) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:+.2f}"


def _grid_boundaries(ax, winner: np.ndarray) -> None:
    """Thick lines between neighbouring cells (unit cells at integer centres) whose winners differ."""
    rows, cols = winner.shape
    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and winner[i, j] != winner[i, j + 1]:
                ax.plot([j + 0.5] * 2, [i - 0.5, i + 0.5], color="black", linewidth=2.5)
            if i + 1 < rows and winner[i, j] != winner[i + 1, j]:
                ax.plot([j - 0.5, j + 0.5], [i + 0.5] * 2, color="black", linewidth=2.5)


def _scatter_boundaries(ax, px, py, winner, log: list[bool]) -> None:
    """Where the nearest sampled point's winner changes (judged on a fine grid)."""
    if len(set(winner.tolist())) < 2 or len(px) < 3:
        return
    from scipy.interpolate import griddata

    tx, ty = (np.log10(v) if lg else v for v, lg in zip((px, py), log))
    unit = [(t - t.min()) / ((t.max() - t.min()) or 1.0) for t in (tx, ty)]
    gu, gv = np.meshgrid(np.linspace(0, 1, 200), np.linspace(0, 1, 200))
    nearest = griddata(np.c_[unit[0], unit[1]], winner, (gu, gv), method="nearest")
    gx, gy = (t.min() + g * (t.max() - t.min()) for t, g in ((tx, gu), (ty, gv)))
    gx, gy = (10 ** g if lg else g for g, lg in zip((gx, gy), log))
    ax.contour(gx, gy, nearest, levels=np.arange(winner.max()) + 0.5, colors="black",
               linewidths=2)


def _marginal(rows, key, strategies, title, out_dir) -> Path:
    import matplotlib.pyplot as plt

    axis = _Axis([r[key] for r in rows])
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    for strategy in strategies:
        sel = [r for r in rows if r["strategy"] == strategy]
        ax.scatter([axis.position(r[key]) for r in sel],
                   [r["connects_per_rep_hour_mean"] for r in sel], label=strategy, alpha=0.7, s=18)
    axis.label(ax.xaxis)
    ax.set_xlabel(key)
    ax.set_ylabel(f"{HEADLINE_LABEL} (mean per point)")
    ax.set_title(f"{title}: {HEADLINE_LABEL} vs {key} (the other swept keys vary too)",
                 fontsize=10)
    ax.legend(title="strategy")
    ax.grid(alpha=0.3)
    path = out_dir / _file_name("sweep_marginal", key)
    _save(fig, path)
    return path
