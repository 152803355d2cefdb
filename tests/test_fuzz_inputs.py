"""Fuzzing: hundreds of bad scenario files, --set values and sweep files, derived from
the bundled ones, each answered with exit code 2, one line naming the file (or option)
and the key, no traceback, and nothing written.

The cases are generated from a fixed seed (the same every run) by changing one value
of a bundled file at a time: its type (bool, string, list, table for a number...), its
range (negative, 1e300, inf, nan, huge counts), the structure (unknown keys, a table
where a value goes), the encoding and the size. Every change is one that the schema
must refuse: a bool stays a bool only where the key is not a bool, and so on. They
run in-process through typer's CliRunner (fast); a handful go through the installed
command as a real subprocess.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from cli import app

from .conftest import SCENARIOS

runner = CliRunner()
DIALSIM = str(Path(sys.executable).with_name("dialsim"))
SEED = 11
SCENARIO_FILES = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("sweep_"))
SWEEP_FILES = sorted(SCENARIOS.glob("sweep_*.toml"))
CLOCK_KEYS = {"shift_start", "shift_end", "break_start", "break_end", "calling_window_start",
              "calling_window_end"}
# Keys whose values are labels or free text: any string is fine there, so only their
# type is changed.
TEXT_KEYS = {"name", "description"}
FIXED = ("name", "description", "experiment")  # a sweep may not set these (its own rules)


@dataclass
class Case:
    """One bad input: how to invoke dialsim, and what the one error line must name."""

    label: str
    kind: str  # "file", "set" or "sweep"
    content: bytes | None  # the input file (None: the bundled file itself)
    source: Path  # the bundled file it came from
    args: tuple[str, ...] = ()  # extra arguments (--set)
    names: tuple[str, ...] = ()  # texts the line must contain besides the file or option


def _leaves(node, path=()):
    """(key path, value) of every scalar and every list of scalars."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, str(i)))
    else:
        yield path, node


def _bad_values(key: str, value) -> list:
    """Replacements the schema must refuse for ``value`` at ``key``."""
    if isinstance(value, bool):
        return [1, "yes", "true", [True]]
    if isinstance(value, int):
        return [True, "4", 2.5, float("inf"), float("nan"), -10**6, 10**30, [value]]
    if isinstance(value, float):
        return [True, "0.5", float("inf"), -float("inf"), float("nan"), 1e300, -1e300, [value]]
    if isinstance(value, str):
        bad = [5, True, [value], {"text": value}]
        if key in CLOCK_KEYS:
            bad += ["\u0660\u0669:00", "9:00am", "25:00", "１２:00"]
        elif key not in TEXT_KEYS:
            bad += ["no-such-choice"]
        return bad
    if isinstance(value, list):
        return ["not a list", {"x": 1}, [float("nan")] * max(1, len(value))]
    return []


def _set_at(data: dict, path: tuple[str, ...], value) -> dict:
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value
    return data


def _toml_value(value) -> str:
    """``value`` as a one-line TOML value (inline tables and arrays), for --set."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _resolved(source: Path) -> dict:
    """The bundled scenario with every default filled in, values typed by the schema
    (a float key holds a float even where the file wrote 4), optional empties dropped."""
    from sim.scenario.schema import load_scenario

    def drop_none(node):
        if isinstance(node, dict):
            return {k: drop_none(v) for k, v in node.items() if v is not None}
        if isinstance(node, list):
            return [drop_none(v) for v in node]
        return node

    return drop_none(load_scenario(source).resolved())


def scenario_cases(rng: random.Random) -> list[Case]:
    cases = []
    for source in SCENARIO_FILES:
        data = _resolved(source)
        for path, value in _leaves(data):
            if path == ("schema_version",):
                replacements = [True, 2, "1", 1.0]
            else:
                replacements = _bad_values(path[-1], value)
            if not replacements:
                continue
            for bad in rng.sample(replacements, 1):
                key = ".".join(path)
                bad_data = _set_at(data, path, bad)
                cases.append(Case(f"{source.stem}:{key}={bad!r}", "file",
                                  tomli_w.dumps(bad_data).encode(), source, names=(path[0],)))
                if path != ("schema_version",) and rng.random() < 0.25:
                    cases.append(Case(f"{source.stem}: --set {key}={bad!r}", "set", None, source,
                                      args=("--set", f"{key}={_toml_value(bad)}"),
                                      names=(path[0],)))
        # structure
        section = rng.choice([k for k, v in data.items() if isinstance(v, dict)])
        cases += [
            Case(f"{source.stem}: unknown key", "file",
                 tomli_w.dumps({**data, section: {**data[section], "no_such_key": 1}}).encode(),
                 source, names=(f"{section}.no_such_key", "unknown key")),
            Case(f"{source.stem}: section is a value", "file",
                 tomli_w.dumps({**data, section: 3}).encode(), source, names=(section,)),
            Case(f"{source.stem}: unknown section", "file",
                 tomli_w.dumps({**data, "dialler": {"mode": "power"}}).encode(), source,
                 names=("dialler", "unknown key")),
            Case(f"{source.stem}: no schema_version", "file",
                 tomli_w.dumps({k: v for k, v in data.items() if k != "schema_version"}).encode(),
                 source, names=("schema_version",)),
            Case(f"{source.stem}: --set unknown", "set", None, source,
                 args=("--set", f"{section}.no_such_key=1"), names=(f"{section}.no_such_key",)),
            Case(f"{source.stem}: --set deep", "set", None, source,
                 args=("--set", "team.reps=" + "[" * 200 + "]" * 200), names=("team.reps",)),
            Case(f"{source.stem}: --set no value", "set", None, source,
                 args=("--set", "team.reps"), names=("team.reps",)),
        ]
        # encoding and size
        text = source.read_bytes()
        cases += [
            Case(f"{source.stem}: latin-1", "file",
                 text.replace(b'name = "', b'name = "caf\xe9 ', 1), source, names=("UTF-8",)),
            Case(f"{source.stem}: nul byte", "file", text + b"\x00", source,
                 names=("not valid TOML",)),
            Case(f"{source.stem}: over 1 MiB", "file",
                 text + b"\n# " + b"x" * (1 << 20) + b"\n", source, names=("1 MiB",)),
            Case(f"{source.stem}: nested", "file",
                 text + b"\nx = " + b"[" * 50 + b"]" * 50 + b"\n", source, names=("levels deep",)),
            Case(f"{source.stem}: truncated", "file", text[: len(text) // 3] + b"\n[[", source,
                 names=("not valid TOML",)),
            Case(f"{source.stem}: utf-16", "file", text.decode().encode("utf-16"), source,
                 names=("UTF-8",)),
        ]
    return cases


def sweep_cases(rng: random.Random) -> list[Case]:
    cases = []
    for source in SWEEP_FILES:
        data = tomllib.loads(source.read_text())
        data["base"] = str(SCENARIOS / data["base"])  # the copy lives elsewhere
        for path, value in _leaves(data):
            if path[0] in ("base", "description"):
                continue
            if path == ("schema_version",):
                replacements = [True, 2, "1"]
            elif path[0] == "grid":
                replacements = [[float("nan")], [float("inf")], [], "x", [[1, 2]]]
            elif path[0] == "set" and isinstance(value, (int, float)):
                replacements = [True, "4", float("nan"), -1]
            elif path[0] == "sample" and path[-1] in ("low", "high"):
                replacements = [float("nan"), True, "0.1"]
            else:
                replacements = _bad_values(path[-1], value)
            for bad in rng.sample(replacements, min(2, len(replacements))):
                # [grid]/[set]/[sample.ranges] hold scenario key paths: the line names that
                name = {"grid": path[-1], "set": path[-1]}.get(path[0], ".".join(path))
                if path[:2] == ("sample", "ranges"):
                    name = path[2]
                cases.append(Case(f"{source.stem}:{'.'.join(path)}={bad!r}", "sweep",
                                  tomli_w.dumps(_set_at(data, path, bad)).encode(), source,
                                  names=(name,)))
        # a bad value for a scenario key, given in the sweep's [set]
        base_leaves = [(p, v) for p, v in _leaves(_resolved(SCENARIOS / "baseline.toml"))
                       if p != ("schema_version",) and p[0] not in FIXED and _bad_values(p[-1], v)]
        for path, value in rng.sample(base_leaves, 40):
            key = ".".join(path)
            bad = rng.choice(_bad_values(path[-1], value))
            bad_set = {**data.get("set", {}), key: bad}
            cases.append(Case(f"{source.stem}: set.{key}={bad!r}", "sweep",
                              tomli_w.dumps({**data, "set": bad_set}).encode(), source,
                              names=(key,)))
        cases += [
            Case(f"{source.stem}: grid strategies", "sweep",
                 tomli_w.dumps({**data, "grid": {"strategies": [["never"], ["always"]]}}).encode(),
                 source, names=("grid.strategies",)),
            Case(f"{source.stem}: grid unknown key", "sweep",
                 tomli_w.dumps({**data, "grid": {"team.no_such": [1, 2]}}).encode(), source,
                 names=("grid.team.no_such",)),
            Case(f"{source.stem}: missing base", "sweep",
                 tomli_w.dumps({**data, "base": "/no/such/base.toml"}).encode(), source,
                 names=("base",)),
            Case(f"{source.stem}: unknown top key", "sweep",
                 tomli_w.dumps({**data, "replicationz": 4}).encode(), source,
                 names=("replicationz",)),
            Case(f"{source.stem}: latin-1", "sweep",
                 source.read_bytes().replace(b'name = "', b'name = "\xe9', 1), source,
                 names=("UTF-8",)),
        ]
    return cases


def all_cases() -> list[Case]:
    rng = random.Random(SEED)
    return scenario_cases(rng) + sweep_cases(rng)


CASES = all_cases()


def _invoke(case: Case, folder: Path, via_subprocess: bool = False):
    """Write the case's file into ``folder``, run dialsim on it; (exit code, output)."""
    if case.content is not None:
        path = folder / ("bad_sweep.toml" if case.kind == "sweep" else "bad.toml")
        path.write_bytes(case.content)
    else:
        path = case.source
    out = folder / "out"
    if case.kind == "sweep":
        args = ["sweep", str(path), "--out", str(out), "--workers", "1", "-q"]
    else:
        args = ["run", str(path), *case.args, "--out", str(out), "--workers", "1", "-q", "-n", "1"]
    if via_subprocess:
        proc = subprocess.run([DIALSIM, *args], capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stdout + proc.stderr, path
    result = runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{case.label}: raised {result.exception!r}") from result.exception
    return result.exit_code, result.output, path


def _check(case: Case, code: int, output: str, path: Path, folder: Path) -> None:
    lines = output.strip().splitlines()
    assert code == 2, f"{case.label}: exit {code}: {output[:300]}"
    assert "Traceback" not in output, f"{case.label}: {output}"
    assert len(lines) == 1, f"{case.label}: {len(lines)} lines: {output[:500]}"
    where = "--set" if case.kind == "set" else str(path)
    assert where in lines[0], f"{case.label}: does not name {where}: {lines[0]}"
    for name in case.names:
        assert name in lines[0], f"{case.label}: does not name {name!r}: {lines[0]}"
    written = sorted(p.name for p in folder.iterdir() if p != path)
    assert written == [], f"{case.label}: wrote {written}"


def test_the_fuzz_cases_are_many_and_varied():
    kinds = {kind: sum(c.kind == kind for c in CASES) for kind in ("file", "set", "sweep")}
    assert len(CASES) >= 300 and min(kinds.values()) >= 40, kinds
    assert len({c.label for c in CASES}) == len(CASES)  # no case twice


@pytest.mark.slow
def test_every_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path):
    failures = []
    for i, case in enumerate(CASES):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        code, output, path = _invoke(case, folder)
        try:
            _check(case, code, output, path, folder)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, f"{len(failures)} of {len(CASES)} cases:\n" + "\n".join(failures[:40])


def test_a_sample_of_bad_inputs_fast(tmp_path):
    """Every 8th case, so a quick run still covers each kind of change."""
    for i, case in enumerate(CASES[::8]):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        code, output, path = _invoke(case, folder)
        _check(case, code, output, path, folder)


@pytest.mark.slow
def test_a_handful_through_the_installed_command(tmp_path):
    rng = random.Random(SEED)
    for i, case in enumerate(rng.sample(CASES, 5)):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        code, output, path = _invoke(case, folder, via_subprocess=True)
        _check(case, code, output, path, folder)


@pytest.mark.slow
def test_a_fifo_and_a_device_are_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        proc = subprocess.run([DIALSIM, "validate", str(path)], capture_output=True, text=True,
                              timeout=20)
        assert proc.returncode == 2 and "not a regular file" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
