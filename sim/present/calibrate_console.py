"""What ``dialsim calibrate`` prints: observed vs simulated per target, at 80 columns."""

from __future__ import annotations

import textwrap


def calibrate_lines(cal, written: str | None, width: int = 80) -> list[str]:
    lines = [f"under {cal.strategy!r}: {cal.replications} replications, seed {cal.seed}, "
             f"{cal.evaluations} runs (common random numbers)", "",
             f"{'rate':<28} {'observed':>9} {'simulated':>10} {'95% interval':>19}  status"]
    for a in cal.achieved:
        interval = f"{a.ci_low:.4f} - {a.ci_high:.4f}"
        lines.append(f"{a.target.name[:28]:<28} {a.target.value:>9.4f} {a.simulated:>10.4f} "
                     f"{interval:>19}  {a.status}")
        lines.append(f"  {a.target.key} = {a.key_value:.4g}")
        if a.note:
            lines += textwrap.wrap(a.note, width, initial_indent="  ", subsequent_indent="  ")
    lines.append("")
    for message in cal.messages:
        lines += textwrap.wrap(f"warning: {message}", width, subsequent_indent="  ")
    if cal.all_met:
        lines.append("every target lies inside its simulated 95% interval")
    if written:
        lines.append(f"wrote {written}")
    return lines
