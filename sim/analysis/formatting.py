"""How an interval is written, everywhere: "mean ± half-width" and "mean (low to high)".

Every table, sentence and report formats its intervals with these few shapes, so a
missing value, a one-replication interval (infinite half-width) or a signed
difference reads the same in ``dialsim run``, the sweep table and the HTML report.
Here rather than in ``sim.present`` because the analysis layer's own sentences (the
verdict, a broken cap) write intervals too.

``spec`` is a format spec (``".2f"``, ``"+.3g"``) or a function of the number
(``fmt_number``, a percentage); a sign in a spec applies to the mean and the ends of
a range, never to a half-width.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

Spec = str | Callable[[float], str]


def number(x: float, spec: Spec = ".2f") -> str:
    """``x`` written by ``spec``."""
    return spec(x) if callable(spec) else format(x, spec)


def _known(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def plus_minus(mean: float | None, half_width: float | None, spec: Spec = ".2f") -> str:
    """``"m ± h"``; just the mean when there is no finite half-width; ``"-"`` with no mean."""
    if mean is None or math.isnan(mean):
        return "-"
    if not _known(half_width):
        return number(mean, spec)
    half_spec = spec.replace("+", "") if isinstance(spec, str) else spec
    return f"{number(mean, spec)} ± {number(half_width, half_spec)}"


def plus_minus_range(mean: float | None, low: float | None, high: float | None,
                     spec: Spec = ".2f") -> str:
    """``"m ± h"`` from the ends of a symmetric interval (see :func:`plus_minus`)."""
    half = (high - low) / 2 if _known(low) and _known(high) else None
    return plus_minus(mean, half, spec)


def interval_text(iv, spec: Spec = ".2f") -> str:
    """An :class:`sim.analysis.stats.Interval` as ``"m ± h"`` (``"-"`` with no data)."""
    if iv.n == 0:
        return "-"
    return plus_minus(iv.mean, iv.half_width, spec)


def low_to_high(low: float, high: float, spec: Spec = ".2f") -> str:
    """``"low to high"``."""
    return f"{number(low, spec)} to {number(high, spec)}"


def mean_and_range(mean: float | None, low: float | None, high: float | None,
                   spec: Spec = ".2f", unit: str = "") -> dict:
    """The report's shape: ``{"mean": "m<unit>", "ci": "low to high" or None}``.

    ``mean`` is ``"-"`` when it is missing or not finite; ``ci`` is None when an end is
    not finite (one replication).
    """
    if not _known(mean):
        return {"mean": "-", "ci": None}
    ci = low_to_high(low, high, spec) if _known(low) and _known(high) else None
    return {"mean": number(mean, spec) + unit, "ci": ci}


def mean_range_html(mean: float | None, low: float | None, high: float | None,
                    spec: Spec = ".2f", unit: str = "") -> str:
    """``'m <span class=ci>(low to high)</span>'`` for an HTML table cell (escaped)."""
    parts = mean_and_range(mean, low, high, spec, unit)
    text = html.escape(parts["mean"])
    if parts["ci"] is None:
        return text
    return f"{text} <span class=ci>({html.escape(parts['ci'])})</span>"
