"""Print each golden case's headline before and after a regeneration (for commit notes):
    python -m tests.golden.compare_headline OLD_REV
compares the golden files at git revision OLD_REV with the working tree."""

from __future__ import annotations

import json
import subprocess
import sys

from .cases import CASES, GOLDEN_DIR

METRICS = ("connects_per_rep_hour", "dials", "return_calls", "return_connects", "inbound_connects")


def _rows(data):
    out = {}
    for rep in data["replications"]:
        for row in rep["summary"]:
            for metric in METRICS:
                out.setdefault((row["strategy"], metric), []).append(row.get(metric, float("nan")))
    return {key: sum(v) / len(v) for key, v in out.items()}


def main(rev: str) -> None:
    print(f"{'case':34} {'strategy':10} {'metric':24} {'before':>10} {'after':>10}")
    for case in CASES:
        path = GOLDEN_DIR / f"{case.name}.json"
        old = subprocess.run(["git", "show", f"{rev}:tests/golden/{case.name}.json"],
                             capture_output=True, text=True)
        if old.returncode:
            continue
        before, after = _rows(json.loads(old.stdout)), _rows(json.loads(path.read_text()))
        for key in sorted(after):
            if before.get(key) != after[key]:
                print(f"{case.name:34} {key[0]:10} {key[1]:24} {before.get(key, float('nan')):10.4g} {after[key]:10.4g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "HEAD")
