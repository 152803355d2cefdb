"""Charts of a sweep: where does each voicemail strategy win, and by how much?

- one swept parameter: connects per rep-hour against it, one line per strategy
  (mean and 95% band), with the places where the best strategy changes marked;
- two: a map of who wins: each cell (or sample) in the winner's colour, darker the
  more it gains over the baseline strategy, labelled with both; a grey "tie" where
  the best two cannot be told apart, and a line only where a clear winner changes;
- more: connects per rep-hour against each parameter in turn (the others vary too).

``dialsim plot`` calls :func:`plot_sweep` for a results folder whose manifest says
``kind = "sweep"``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from sim.errors import UserError
from sim.experiment.sweep import PLOTS_DIR, SWEEP_CHART_PREFIXES, format_value, is_tie, read_sweep
from sim.store.atomic import os_error_message, write_atomic

HEADLINE_LABEL = "connects per rep-hour"
NONE_COMPLIES = "none complies"
NONE_COMPLIES_COLOUR = (1.0, 1.0, 1.0)  # white: no strategy may win here


def key_label(key: str) -> str:
    """A swept key as a manager reads it: the schema's description, else the key in words.

    ``callbacks.p_callback`` -> "P(callback | a fresh message heard)".
    """
    from sim.scenario.schema import field_description

    described = field_description(key)
    if not described:
        return key.rsplit(".", 1)[-1].replace("_", " ")
    for stop in (": ", "; ", " ("):  # the first clause of a long description
        if len(described) > 45 and stop in described:
            described = described.split(stop, 1)[0]
    return described


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
    out_dir = Path(out_dir) if out_dir is not None else run_dir / PLOTS_DIR
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(os_error_message(out_dir, exc, "cannot create")) from None
    title = manifest["sweep_name"]
    # names from the sweep file ("$5k deals") are drawn as plain text, not math
    with matplotlib.rc_context({"text.parse_math": False}):
        if len(keys) == 1:
            return [_lines(rows, keys[0], strategies, title, out_dir)]
        if len(keys) == 2:
            params = {p["key"]: p for p in manifest["parameters"]}
            baseline = (manifest.get("base_scenario") or {}).get("experiment", {}).get("baseline")
            baseline = baseline if baseline in strategies else strategies[0]
            return [_winner_map(rows, keys, params, strategies, baseline, title, out_dir)]
        return [_marginal(rows, key, strategies, title, out_dir) for key in keys]


def _save(fig, path: Path) -> None:
    """PNG via a temporary name and an atomic rename; a reader never sees half a chart."""
    import matplotlib.pyplot as plt

    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    finally:
        plt.close(fig)


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
        """Numbers to 3 significant digits (sampled values have many), categories as named."""
        return f"{position:.3g}" if self.numeric else self.categories[int(position)]

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
    ax.set_xlabel(f"{key_label(key)}\n({key})")
    ax.set_ylabel(f"{HEADLINE_LABEL} (mean, 95% interval)")
    changes = sum(winners[i] != winners[i - 1] for i in range(1, len(winners)))
    caps = "\n(x: breaks a [constraints] cap, so it cannot win)" if any_breaks else ""
    ax.set_title(f"{title}: {HEADLINE_LABEL} vs {key_label(key)}"
                 + ("\n(dashed: best strategy changes)" if changes else
                    f"\n(best everywhere: {winners[0]})") + caps, fontsize=10)
    ax.legend(title="strategy")
    ax.grid(alpha=0.3)
    path = out_dir / _file_name(SWEEP_CHART_PREFIXES["lines"], key)
    _save(fig, path)
    return path


STRATEGY_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                    "#e377c2", "#bcbd22", "#17becf")
TIE_COLOUR = "#d9d9d9"


def _cell_colour(base: str, strength: float) -> tuple[float, float, float]:
    """``base`` mixed with white: strength 0 -> pale (20% of the colour), 1 -> full."""
    from matplotlib.colors import to_rgb

    mix = 0.2 + 0.8 * min(max(strength, 0.0), 1.0)
    return tuple(1 - mix * (1 - c) for c in to_rgb(base))


def _text_colour(rgb) -> str:
    """Black on light cells, white on dark ones (relative luminance)."""
    r, g, b = rgb[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def _winner_map(rows, keys, params, strategies, baseline, title, out_dir) -> Path:
    """Who wins where: the winner's colour, darker the more it gains over ``baseline``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    points = _per_point(rows)
    colours = {name: STRATEGY_COLOURS[i % len(STRATEGY_COLOURS)] for i, name in enumerate(strategies)}
    cells = []
    for entry in points.values():
        win = entry["winner"]
        means = {name: row["connects_per_rep_hour_mean"] for name, row in entry["strategies"].items()}
        gain = means[win["winner"]] - means[baseline] if win["winner"] in means else math.nan
        cells.append((win, gain, is_tie(win)))
    top_gain = max([g for _w, g, _t in cells if math.isfinite(g)] + [1e-9])
    xa, ya = (_Axis([w[k] for w, _g, _t in cells]) for k in keys)
    xs = sorted({xa.position(w[keys[0]]) for w, _g, _t in cells})
    ys = sorted({ya.position(w[keys[1]]) for w, _g, _t in cells})
    fig, ax = plt.subplots(figsize=(9, 6.4), layout="constrained")
    face = lambda win, gain, tie: (TIE_COLOUR if tie else  # noqa: E731
                                   NONE_COMPLIES_COLOUR if win["winner"] == NONE_COMPLIES else
                                   _cell_colour(colours[win["winner"]], gain / top_gain))
    if len(xs) * len(ys) == len(cells):  # a full grid: one equal cell per point
        image = np.ones((len(ys), len(xs), 3))
        label = np.full((len(ys), len(xs)), "", dtype=object)  # winner, or "" for a tie
        for win, gain, tie in cells:
            i, j = ys.index(ya.position(win[keys[1]])), xs.index(xa.position(win[keys[0]]))
            rgb = face(win, gain, tie)
            image[i, j] = matplotlib_rgb(rgb)
            label[i, j] = "" if tie else win["winner"]
            if win["winner"] == NONE_COMPLIES:
                text = NONE_COMPLIES
            elif tie:
                text = f"tie\n{win['winner']} ~ {win['runner_up']}"
                if baseline not in (win["winner"], win["runner_up"]):
                    text += f"\n{_num(gain)} vs {baseline}"
            elif win["runner_up"] is None:  # the only strategy within the caps
                text = f"{win['winner']}\nonly one complies"
            elif win["winner"] == baseline:
                text = f"{win['winner']}\n+{_num(win['margin_mean'])[1:]} vs {win['runner_up']}"
            else:
                text = f"{win['winner']}\n{_num(gain)} vs {baseline}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color=_text_colour(image[i, j]))
        ax.imshow(image, origin="lower", aspect="auto", interpolation="nearest")
        _grid_boundaries(ax, label)
        for axis, centres, values in ((ax.xaxis, xs, xa), (ax.yaxis, ys, ya)):
            axis.set_ticks(range(len(centres)))
            axis.set_ticklabels([values.tick(c) for c in centres])
    else:  # scattered (Latin hypercube): one marker per point, same colours
        log = [params[k].get("scale") == "log" for k in keys]
        px = np.array([xa.position(w[keys[0]]) for w, _g, _t in cells])
        py = np.array([ya.position(w[keys[1]]) for w, _g, _t in cells])
        ax.scatter(px, py, s=140, c=[matplotlib_rgb(face(*cell)) for cell in cells],
                   edgecolors="black", linewidths=0.6)
        clear = np.array([not tie and w["winner"] in strategies for w, _g, tie in cells])
        winner = np.array([strategies.index(w["winner"]) if w["winner"] in strategies else -1
                           for w, _g, _t in cells])
        if clear.sum() >= 3:
            _scatter_boundaries(ax, px[clear], py[clear], winner[clear], log)
        for values, lg, scale, limits in ((px, log[0], ax.set_xscale, ax.set_xlim),
                                          (py, log[1], ax.set_yscale, ax.set_ylim)):
            scale("log" if lg else "linear")
            limits(*_padded(values, lg))  # contour lines would otherwise clip edge markers
        xa.label(ax.xaxis)
        ya.label(ax.yaxis)
    winners = [name for name in strategies if any(w["winner"] == name and not t for w, _g, t in cells)]
    handles = [Patch(facecolor=colours[name], label=f"{name} wins") for name in winners]
    handles.append(Patch(facecolor=TIE_COLOUR, label="tie: best two within noise"))
    if any(w["winner"] == NONE_COMPLIES for w, _g, _t in cells):
        handles.append(Patch(facecolor=NONE_COMPLIES_COLOUR, edgecolor="black",
                             label="none complies with the caps"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False,
              title="colour", fontsize=9)
    ax.set_xlabel(f"{key_label(keys[0])}\n({keys[0]})")
    ax.set_ylabel(f"{key_label(keys[1])}\n({keys[1]})")
    caps = ("\n(only strategies within the [constraints] caps can win; white: none does)"
            if any(not r.get("complies", True) for r in rows) else "")
    ax.set_title(f"{title}: which voicemail strategy gives the most connects per rep-hour\n"
                 f"darker = bigger gain over {baseline} (up to {_num(top_gain)} connects per "
                 f"rep-hour); black lines: the winner changes{caps}", fontsize=10)
    path = out_dir / _file_name(SWEEP_CHART_PREFIXES["margin"], keys[0], keys[1])
    _save(fig, path)
    return path


def matplotlib_rgb(colour) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def _padded(values: np.ndarray, log: bool, pad: float = 0.06) -> tuple[float, float]:
    t = np.log10(values) if log else values
    span = (t.max() - t.min()) or 1.0
    low, high = t.min() - pad * span, t.max() + pad * span
    return (10**low, 10**high) if log else (low, high)


def _num(x) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:+.2f}"


def _grid_boundaries(ax, winner: np.ndarray) -> None:
    """Thick lines between neighbouring cells (unit cells at integer centres) whose clear
    winners differ; a tie ("") has no clear winner, so no line runs along it."""
    rows, cols = winner.shape

    def differ(a, b) -> bool:
        return bool(a) and bool(b) and a != b

    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and differ(winner[i, j], winner[i, j + 1]):
                ax.plot([j + 0.5] * 2, [i - 0.5, i + 0.5], color="black", linewidth=2.5)
            if i + 1 < rows and differ(winner[i, j], winner[i + 1, j]):
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
    ax.set_xlabel(f"{key_label(key)}\n({key})")
    ax.set_ylabel(f"{HEADLINE_LABEL} (mean per point)")
    ax.set_title(f"{title}: {HEADLINE_LABEL} vs {key_label(key)} (the other swept keys vary too)",
                 fontsize=10)
    ax.legend(title="strategy")
    ax.grid(alpha=0.3)
    path = out_dir / _file_name(SWEEP_CHART_PREFIXES["marginal"], key)
    _save(fig, path)
    return path
