"""The decision map: which strategy wins where, for a manager to read at a glance.

Each region is coloured by its best strategy (grey where the paired interval says
the data cannot separate the best two: "tie"; black where no strategy meets the
constraints). Small dots are the points actually simulated (dense near boundaries,
where the map was refined); a star marks the scenario's own beliefs, diamonds the
other scenario files placed on the map with ``--mark``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sim.experiment.decision_map import NONE, TIE, MapPlan, label_raster
from sim.present.sweep_plots import _file_name, _save

PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]
TIE_COLOUR = "#d9d9d9"
NONE_COLOUR = "#222222"


def plot_map(plan: MapPlan, points: dict, out_dir: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    raster, names = label_raster(plan, points)
    colours = {s: PALETTE[k % len(PALETTE)] for k, s in enumerate(plan.base.strategies)}
    colours[TIE] = TIE_COLOUR
    colours[NONE] = NONE_COLOUR
    fig, ax = plt.subplots(figsize=(7.5, 6.2), layout="constrained")
    ax.imshow(raster, origin="lower", extent=(0, 1, 0, 1), aspect="auto",
              cmap=ListedColormap([colours[n] for n in names]), vmin=-0.5,
              vmax=len(names) - 0.5, interpolation="nearest")
    share = {n: float(np.mean(raster == k)) for k, n in enumerate(names)}
    coords = np.array([(p.i / plan.steps, p.j / plan.steps) for p in points.values()])
    ax.scatter(coords[:, 0], coords[:, 1], s=6, c="black", alpha=0.35, linewidths=0,
               label="simulated points")
    handles = [Patch(color=colours[n], label=_legend(n, share[n])) for n in
               [*[s for s in plan.base.strategies if s in names], *[n for n in (TIE, NONE) if n in names]]]
    ux, uy = plan.x.unit(plan.own[0]) if _in(plan.x, plan.own[0]) else math.nan, \
        plan.y.unit(plan.own[1]) if _in(plan.y, plan.own[1]) else math.nan
    own = ax.scatter([ux], [uy], marker="*", s=380, c="white", edgecolors="black",
                     linewidths=1.2, zorder=5, label="your scenario", clip_on=False)
    handles.append(own)
    if math.isfinite(ux) and math.isfinite(uy):
        ax.annotate("your scenario", (ux, uy), textcoords="offset points",
                    **_inside(ux, uy, 10), fontsize=9, weight="bold",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", alpha=0.8, lw=0))
    for name, (mx, my) in plan.marks.items():
        if not (_in(plan.x, mx) and _in(plan.y, my)):
            continue
        px, py = plan.x.unit(mx), plan.y.unit(my)
        ax.scatter([px], [py], marker="D", s=90, c="white", edgecolors="black", zorder=5,
                   clip_on=False)
        ax.annotate(name, (px, py), textcoords="offset points", **_inside(px, py, -10),
                    fontsize=9,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", alpha=0.8, lw=0))
    outside = [n for n, (mx, my) in plan.marks.items()
               if not (_in(plan.x, mx) and _in(plan.y, my))]
    if not (math.isfinite(ux) and math.isfinite(uy)):
        outside.insert(0, "your scenario")
    for axis, rng in ((ax.xaxis, plan.x), (ax.yaxis, plan.y)):
        ticks = np.linspace(0, 1, 6)
        axis.set_ticks(ticks)
        axis.set_ticklabels([f"{rng.value(t):.3g}" for t in ticks])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(plan.x.key + (" (log scale)" if plan.x.scale == "log" else ""))
    ax.set_ylabel(plan.y.key + (" (log scale)" if plan.y.scale == "log" else ""))
    constraint = "; ".join(c.describe() for c in plan.objective.constraints)
    ax.set_title(f"{title}: best strategy by {plan.objective.metric}\n"
                 f"tie = paired 95% interval of best minus runner-up covers 0; "
                 f"{plan.base.replications} replications per point"
                 + (f"\nonly strategies with {constraint}" if constraint else "")
                 + (f"\noutside the plotted range: {', '.join(outside)}" if outside else ""),
                 fontsize=9, pad=14)
    if plan.marks:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], marker="D", linestyle="", markerfacecolor="white",
                              markeredgecolor="black", label="other scenarios (--mark)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              title="best strategy (share of plane)", title_fontsize=8, frameon=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / _file_name("map", plan.x.key, plan.y.key)
    _save(fig, path)
    return path


def _legend(name: str, share: float) -> str:
    text = {TIE: "tie (cannot separate)", NONE: "none meets the constraints"}.get(name, name)
    return f"{text} ({share:.0%})"


def _in(rng, value: float) -> bool:
    return rng.low <= value <= rng.high


def _inside(x: float, y: float, dy: float) -> dict:
    """Label offset and alignment that keep a label near (x, y) inside the plot."""
    dx = 10 if x < 0.75 else -10
    dy = -abs(dy) if y > 0.85 else abs(dy) if y < 0.15 else dy
    return {"xytext": (dx, dy), "ha": "left" if dx > 0 else "right",
            "va": "top" if dy < 0 else "bottom"}
