"""The run and sweep tables as a user sees them in an 80-column terminal (a real pty)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from .conftest import SCENARIOS

DIALSIM = str(Path(sys.executable).parent / "dialsim")
SMALL = ["--set", "calendar.days=1", "--set", "prospects.count=300", "--set", "team.reps=2"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
INTERVAL = re.compile(r"^[+-]?\d[\d,]*\.\d+ ± \d[\d,]*\.\d+$")


def in_terminal(args: list[str], columns: int = 80) -> list[str]:
    """stdout of the installed command in a pseudo-terminal ``columns`` wide, as lines."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([DIALSIM, *args], stdin=child, stdout=child,
                            stderr=subprocess.PIPE, env={**env, "TERM": "xterm-256color"})
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    stderr = proc.communicate(timeout=300)[1]
    assert proc.returncode == 0, stderr.decode()
    text = ANSI.sub("", b"".join(chunks).decode("utf-8"))
    return text.replace("\r\n", "\n").splitlines()


def table_cells(lines: list[str]) -> list[list[str]]:
    """The body rows of every table (lines framed by │), split into stripped cells."""
    return [[cell.strip() for cell in line.strip("│ ").split("│")]
            for line in lines if line.startswith("│")]


def check_fits(lines: list[str]) -> list[list[str]]:
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)  # nothing cut
    rows = table_cells(lines)
    assert rows
    return rows


def test_run_tables_fit_80_columns_with_whole_numbers(tmp_path):
    lines = in_terminal(["run", str(SCENARIOS / "baseline.toml"), "-n", "3", "--workers", "1",
                         "--out", str(tmp_path / "r"), *SMALL])
    rows = check_fits(lines)
    strategies = ["never", "always", "rotate", "first_2"]
    # rates per rep-hour, campaign totals, then the rates to hold against a dashboard
    assert [row[0] for row in rows] == strategies * 3
    for row in rows[:4]:
        assert INTERVAL.match(row[1]) and INTERVAL.match(row[3]) and INTERVAL.match(row[4]), row
    text = "\n".join(lines)
    assert "Per paid rep-hour" in text and "Campaign totals" in text


def test_group_tables_fit_80_columns(tmp_path):
    lines = in_terminal(["run", str(SCENARIOS / "two_offices.toml"), "-n", "3", "--workers", "1",
                         "--out", str(tmp_path / "r"), "--by", "group", "--set", "calendar.days=1",
                         "--set", "prospects.count=2000", "--set",
                         'strategies=["never", "always", {name="rotate", kind="rotate"}, '
                         '{name="first_2", kind="first_n", n=2}]'])
    rows = check_fits(lines)
    groups = [row for row in rows if row[0] in ("new_york", "london", "all groups")]
    assert [row[0] for row in groups] == ["new_york", "london"] * 2 + ["all groups"]
    assert all(INTERVAL.match(cell) for row in groups[:2] for cell in row[1:]), groups


@pytest.mark.parametrize("sweep_file, legend", [
    ("sweep_callback_vs_screening.toml", "A = callbacks.p_callback"),  # long key names
    ("sweep_lines_vs_answer_rate.toml", "B = prospects.segments.0.p_pickup"),  # sampled floats
])
def test_sweep_table_fits_80_columns(tmp_path, sweep_file, legend):
    lines = in_terminal(["sweep", str(SCENARIOS / sweep_file), "--workers", "2",
                         "--out", str(tmp_path / "s"), *SMALL])
    rows = check_fits(lines)
    assert len(rows) == 20
    for row in rows:
        if row[3] == "none complies":  # every strategy breaks the file's abandon cap here
            assert row[4] == row[5] == "-", row
            continue
        assert INTERVAL.match(row[4]) and INTERVAL.match(row[5].removesuffix(" tie")), row
    assert any(legend in line for line in lines)
