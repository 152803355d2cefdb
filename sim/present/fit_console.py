"""What ``dialsim fit`` prints: the fitted values with intervals, at 80 columns."""

from __future__ import annotations

import math
import textwrap


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{min(digits, 5)}f}"


def _short(key: str) -> str:
    return key.replace("prospects.segments.", "segments.")


def fit_lines(outcome, written: str, width: int = 80) -> list[str]:
    """Lines for the terminal: estimates, settings read, what was not informed, warnings."""
    fit, log = outcome.fit, outcome.loaded.log
    lines = textwrap.wrap(f"{log.source}: {len(log):,} calls, {log.n_prospects:,} prospects "
                          f"({outcome.loaded.format} format); wrote {written}", width,
                          break_long_words=False, break_on_hyphens=False) + [""]
    lines.append(f"{'fitted value':<38} {'estimate':>9} {'95% interval':>19} {'n':>8}")
    for est in fit.estimates:
        if est.key.startswith("prospects.hourly_availability"):
            continue
        interval = f"{_num(est.low)} - {_num(est.high)}"
        lines.append(f"{_short(est.key)[:38]:<38} {_num(est.value):>9} {interval:>19} {est.n:>8,}")
    hours = fit.estimate("prospects.hourly_availability")
    if hours is not None:
        lines += textwrap.wrap("hourly availability: " + hours.note, width, subsequent_indent="  ")
    lines.append("")
    read = ", ".join(f"{_short(s.key).split('.')[-1]} {s.value}" for s in fit.settings
                     if not isinstance(s.value, list))
    lines += textwrap.wrap(f"read from the log: {read}", width, subsequent_indent="  ")
    if outcome.strategy is not None:
        lines.append(f"strategy the log shows: {outcome.strategy['name']} (the baseline)")
    missing = ", ".join(_short(key) for key, _why in fit.uninformed)
    if missing:
        lines += textwrap.wrap(f"not in this log (defaults kept; reasons in the file): {missing}",
                               width, subsequent_indent="  ")
    for warning in fit.warnings:
        lines += textwrap.wrap(f"warning: {warning}", width, subsequent_indent="  ")
    return lines
