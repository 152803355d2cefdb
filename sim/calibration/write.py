"""The fitted scenario: plain data for the schema, and a commented TOML file.

Each fitted value carries a comment with its estimate, 95% interval, sample size and
the model rule it maps to; values read off the log say so; the header lists what the
log could not inform (those keys keep their defaults).
"""

from __future__ import annotations

import copy
import math
import os
import uuid
from pathlib import Path

import numpy as np

from sim.calibration.calllog import VOICEMAIL_OUTCOMES, CallLog
from sim.calibration.estimate import Fit, _r
from sim.errors import UserError
from sim.scenario.schema import apply_override, build_scenario

# Parameters no call log carries (what a prospect does unseen, or the team's tooling).
NOT_IN_A_LOG = (
    ("prospects.segments.0.p_pickup", "only reachability x p_pickup is identified (see reachability)"),
    ("prospects.segments.0.callback_propensity_sigma", "one callback per prospect at most: spread not identified"),
    ("callbacks.p_listen", "whether a message was heard is not in a call log"),
    ("callbacks.repeat_message_mult", "not fitted yet (needs repeated identical messages)"),
    ("opt_out.growth_per_touch", "not fitted: only first touches are used"),
    ("team.lines_per_rep", "the dialer's lines are a setting: set it (and dialer.mode) by hand"),
    ("dialer.amd", "answering-machine detection is a setting: set it by hand"),
    ("voicemail", "drop mode and message length are settings: set them by hand"),
    ("caller_id", "caller-ID numbers and spam labels are not fitted"),
)


def infer_strategy(log: CallLog) -> dict | None:
    """The voicemail strategy the log shows, as a strategy table, or None if mixed.

    By voicemail encounter (a prospect's 1st, 2nd, ... greeting): the share with a
    message left. All (>= 95%) -> always (rotate if several message ids cycle);
    none (<= 5%) -> never; all for the first n encounters, then none -> first_n.
    """
    out = log.direction == 0
    vm = out & log.is_outcome(*VOICEMAIL_OUTCOMES)
    if not vm.any():
        return None
    encounter = log.count_before(vm)[vm]
    left = log.is_outcome("voicemail_left")[vm].astype(float)
    counts = np.bincount(encounter)
    share = np.bincount(encounter, weights=left) / np.maximum(counts, 1)
    share = share[counts >= 20] if (counts >= 20).any() else share
    if (share >= 0.95).all():
        ids = log.message[log.is_outcome("voicemail_left")] if log.message is not None else np.array([])
        n_ids = int(np.unique(ids[ids >= 0]).size) if ids.size else 0
        if n_ids > 1:
            return {"name": "rotate", "kind": "rotate", "n_messages": n_ids}
        return {"name": "always"}
    if (share <= 0.05).all():
        return {"name": "never"}
    high = share >= 0.95
    n = int(np.argmin(high)) if not high.all() else share.size
    if n > 0 and high[:n].all() and (share[n:] <= 0.05).all():
        return {"name": "first_n", "kind": "first_n", "n": n}
    return None


def fitted_scenario(fit: Fit, defaults: dict, name: str, description: str,
                    strategy: dict | None) -> dict:
    """The fitted scenario as plain data, validated by the schema."""
    data = copy.deepcopy(defaults)
    data["name"], data["description"] = name, description
    assignments = _assignments(fit)
    indices = [int(k.split(".")[2]) for k in assignments if k.startswith("prospects.segments.")]
    segments = data["prospects"]["segments"]
    while len(segments) < max(indices, default=0) + 1:  # one table per segment the log names
        segments.append({**copy.deepcopy(segments[0]), "name": f"segment{len(segments)}"})
    for key, value in assignments.items():
        apply_override(data, key.split("."), value, "fit")
    if strategy is not None:
        others = [s for s in ("never", "always", "rotate") if s != strategy["name"]]
        data["strategies"] = [strategy, *others]
        data["experiment"]["baseline"] = strategy["name"]
    build_scenario(copy.deepcopy(data), "the fitted scenario")  # must validate
    return data


def _assignments(fit: Fit) -> dict:
    """Scenario key -> value, in file order: settings, then estimates."""
    values: dict = {}
    for setting in fit.settings:
        values[setting.key] = setting.value
    for est in fit.estimates:
        if not est.written:
            continue
        base = est.key.rsplit(".", 1)[0] if est.key.endswith((".median", ".sigma")) else est.key
        if base in fit.distributions:
            values[base] = fit.distributions[base]
        else:
            values[est.key] = _r(est.value)
    return values


def scenario_toml(fit: Fit, data: dict, source: str, strategy: dict | None) -> str:
    """A commented TOML scenario holding every value the fit set."""
    values = _assignments(fit)
    comments = _comments(fit)
    lines = [
        f"# Fitted by `dialsim fit` from {source}.",
        "# Each fitted value: estimate [95% interval], n = sample size, and the rule of",
        "# docs/model.md it maps to. Values read off the log (settings) say so.",
        "# Keys not written here keep dialsim's defaults (`dialsim validate FILE` lists them).",
        "#",
        "# Not informed by this log (defaults kept):",
    ]
    seen = set()
    for key, why in [*fit.uninformed, *NOT_IN_A_LOG]:
        if key not in seen:
            seen.add(key)
            lines.append(f"#   {key}: {why}")
    for warning in fit.warnings:
        lines += ["#", *("# " + part for part in _wrap("WARNING: " + warning))]
    lines += ["", "schema_version = 1", f"name = {_toml(data['name'])}",
              f"description = {_toml(data['description'])}"]
    if strategy is not None:
        lines += ["# The strategy the log shows comes first and is the baseline; the others are",
                  "# what the team could do instead.",
                  f"strategies = {_toml([s if len(s) > 1 else s['name'] for s in data['strategies']])}"]
    lines.append("")
    sections: dict[str, list[str]] = {}
    segment_keys: dict[int, list[str]] = {}
    zones = None
    for key, value in values.items():
        if key.startswith("prospects.segments."):
            segment_keys.setdefault(int(key.split(".")[2]), []).append(key)
            continue
        if key == "prospects.time_zones":
            zones = value
            continue
        section, leaf = key.rsplit(".", 1)
        block = sections.setdefault(section, [])
        block += [f"# {c}" for c in comments.get(key, [])]
        block.append(f"{leaf} = {_toml(value)}")
    order = ["calendar", "team", "dialer", "conversation", "screening", "callbacks", "cadence",
             "opt_out", "prospects"]
    for section in sorted(sections, key=lambda s: order.index(s.split(".")[0]) if s.split(".")[0] in order else 99):
        lines += [f"[{section}]", *sections[section], ""]
    if "prospects" not in sections and (segment_keys or zones):
        lines += ["[prospects]", ""]
    if zones:
        for zone in zones:
            lines += ["[[prospects.time_zones]]", *(f"{k} = {_toml(v)}" for k, v in zone.items()), ""]
    for index in sorted(segment_keys):
        keys = segment_keys[index]
        name = values.get(f"prospects.segments.{index}.name", "all")
        lines += ["[[prospects.segments]]", f"name = {_toml(name)}"]
        for key in keys:
            if key.endswith(".name"):
                continue
            lines += [f"# {c}" for c in comments.get(key, [])]
            lines.append(f"{key.rsplit('.', 1)[1]} = {_toml(values[key])}")
        lines.append("")
    if strategy is not None:
        lines += ["[experiment]", f"baseline = {_toml(strategy['name'])}", ""]
    return "\n".join(lines)


def _comments(fit: Fit) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for setting in fit.settings:
        out[setting.key] = [f"read from the log: {setting.note}"]
    grouped: dict[str, list] = {}
    for est in fit.estimates:
        if not est.written:
            continue
        base = est.key.rsplit(".", 1)[0] if est.key.endswith((".median", ".sigma")) else est.key
        grouped.setdefault(base, []).append(est)
    for base, ests in grouped.items():
        parts = []
        for est in ests:
            label = est.key.rsplit(".", 1)[1] if est.key != base else "fitted"
            if est.key == "prospects.hourly_availability":
                continue
            parts.append(f"{label} {_fmt(est.value)} [{_fmt(est.low)}, {_fmt(est.high)}]")
        head = ests[0]
        text = (", ".join(parts) + f"; n = {head.n} {head.basis}. Rule: {head.rule}."
                if parts else f"n = {head.n} {head.basis}. Rule: {head.rule}.")
        notes = "; ".join(e.note for e in ests if e.note)
        if notes:
            text += f" Note: {notes}."
        out[base] = _wrap(text)
    return out


def _wrap(text: str, width: int = 86) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, break_on_hyphens=False) or [""]


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "nan"
    return f"{_r(x, 3):g}"


def _toml(value) -> str:
    """TOML for the plain values a fitted scenario holds (one line each)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_text_atomic(text: str, path: Path, force: bool = False) -> None:
    """Write a new file; an existing one is replaced only with ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise UserError(f"-o {path}: the file exists; choose another name or add --force to replace it")
    if path.exists() and path.is_dir():
        raise UserError(f"-o {path}: is a folder")
    if not path.parent.exists():
        raise UserError(f"-o {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
