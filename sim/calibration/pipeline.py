"""From a call-log file to a fitted scenario: read, adapt, validate, estimate, write.

``dialsim fit`` is a thin wrapper over :func:`load_log` and :func:`fit_log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.calibration.calllog import CallLog, call_log_from_table, read_table
from sim.calibration.estimate import Fit, fit_call_log
from sim.calibration.write import fitted_scenario, infer_strategy, scenario_toml
from sim.errors import UserError
from sim.scenario.schema import build_scenario


@dataclass
class LoadedLog:
    log: CallLog
    format: str  # the format read: generic or dialsim
    log_end_s: float | None = None  # end of observation (callbacks censored there)
    strategy: str | None = None  # dialsim logs: the strategy that was read
    voicemail_box_known: bool = True  # False: the format does not tell voicemail from no answer


@dataclass
class FitOutcome:
    loaded: LoadedLog
    fit: Fit
    scenario: dict  # resolved plain data, validated
    toml: str
    strategy: dict | None  # the strategy the log shows (None: mixed)


def load_log(path: str | Path, fmt: str = "auto", strategy: str | None = None,
             mapping: str | Path | None = None, time_zone: str | None = None) -> LoadedLog:
    """Read any supported call log into a validated :class:`CallLog`."""
    from sim.calibration.adapters import FORMATS, detect_format, from_dialsim, from_hubspot, from_vicidial

    path = Path(path)
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    table, is_csv = read_table(path)
    if fmt == "auto":
        fmt = detect_format(path, table)
    if fmt == "dialsim":
        table, context = from_dialsim(table, path, strategy)
        return LoadedLog(call_log_from_table(table, path, False), "dialsim",
                         context.get("log_end_s"), context.get("strategy"))
    if strategy is not None:
        raise UserError("--strategy: only for dialsim's calls.parquet (it holds several strategies)")
    if mapping is not None and fmt not in ("vicidial", "hubspot"):
        raise UserError(f"--mapping: only for VICIdial and HubSpot-style exports (this log reads as "
                        f"{fmt}; name its format with --format vicidial or --format hubspot)")
    if time_zone is not None and fmt != "hubspot":
        raise UserError(f"--time-zone: only for HubSpot-style exports (this log reads as {fmt})")
    if fmt == "vicidial":
        return LoadedLog(call_log_from_table(from_vicidial(table, path, is_csv, mapping), path, is_csv),
                         "vicidial")
    if fmt == "hubspot":
        generic, context = from_hubspot(table, path, is_csv, mapping, time_zone)
        return LoadedLog(call_log_from_table(generic, path, is_csv), "hubspot",
                         voicemail_box_known=context["voicemail_box_known"])
    return LoadedLog(call_log_from_table(table, path, is_csv), "generic")


def fit_log(loaded: LoadedLog, name: str, source: str) -> FitOutcome:
    """Estimate what the log carries and build the commented scenario."""
    defaults = build_scenario({"schema_version": 1}).resolved()
    fit = fit_call_log(loaded.log, defaults, loaded.log_end_s, loaded.voicemail_box_known)
    strategy = infer_strategy(loaded.log)
    if strategy is None:
        fit.warnings.append("the log mixes messages and silent hang-ups in no pattern dialsim "
                            "names (never, always, rotate, first_n): the default strategies are kept")
    description = f"Fitted by dialsim fit from {Path(source).name} ({len(loaded.log)} calls)."
    data = fitted_scenario(fit, defaults, name, description, strategy)
    return FitOutcome(loaded, fit, data, scenario_toml(fit, data, Path(source).name, strategy), strategy)
