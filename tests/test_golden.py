"""Golden results: fixed-seed runs of every bundled scenario, value for value.

A change to any model rule moves these numbers; when that is meant, regenerate with
``python -m tests.golden.update`` and say in the commit what moved and why. The same
cases run again on the interpreted engine, which must give the same numbers.
"""

from __future__ import annotations

import json

import pytest

from tests.golden.cases import CASES, GOLDEN_DIR, compute, differences


def _check(case):
    expected = json.loads((GOLDEN_DIR / f"{case.name}.json").read_text())
    actual = json.loads(json.dumps(compute(case)))
    diff = differences(expected, actual)
    assert not diff, (f"{case.name} moved from its golden results "
                      f"(python -m tests.golden.update prints all):\n" + "\n".join(diff))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden(case):
    _check(case)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.python_engine], ids=lambda c: c.name)
def test_golden_interpreted(case, monkeypatch):
    monkeypatch.setenv("DIALSIM_ENGINE", "python")
    _check(case)
