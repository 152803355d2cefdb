"""Regenerate the golden results on purpose, and print what moved.

    .venv/bin/python -m tests.golden.update            # every case
    .venv/bin/python -m tests.golden.update baseline   # named cases only
    .venv/bin/python -m tests.golden.update --check    # compare only, write nothing

Run it only when a change is meant to move results; say in the commit what moved and
why. Files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .cases import CASES, CASES_BY_NAME, GOLDEN_DIR, compute, differences


def golden_path(name: str):
    return GOLDEN_DIR / f"{name}.json"


def load(name: str) -> dict | None:
    path = golden_path(name)
    return json.loads(path.read_text()) if path.exists() else None


def save(name: str, data: dict) -> None:
    path = golden_path(name)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--check", action="store_true", help="compare only; write nothing")
    args = parser.parse_args(argv)
    unknown = [name for name in args.cases if name not in CASES_BY_NAME]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; cases: {', '.join(CASES_BY_NAME)}",
              file=sys.stderr)
        return 2
    moved = 0
    for case in (CASES_BY_NAME[name] for name in args.cases) if args.cases else CASES:
        started = time.perf_counter()
        actual = json.loads(json.dumps(compute(case)))  # the form the file holds
        expected = load(case.name)
        took = time.perf_counter() - started
        if expected is None:
            print(f"{case.name}: new ({took:.1f} s)")
            moved += 1
        else:
            diff = differences(expected, actual)
            if diff:
                moved += 1
                print(f"{case.name}: MOVED ({took:.1f} s)")
                for line in diff:
                    print(f"  {line}")
            else:
                print(f"{case.name}: unchanged ({took:.1f} s)")
        if not args.check:
            save(case.name, actual)
    print(f"{moved} case(s) moved" + ("" if args.check else "; files written"))
    return 1 if args.check and moved else 0


if __name__ == "__main__":
    sys.exit(main())
