"""The power-dialer ratio of this tree against an earlier commit's, measured together.

The model/floor ratio depends on the machine's state as well as on the code: the
floor alone varies by ~5% from one minute to the next on a shared 2-core VM. To say
whether a change made the model faster or slower than an earlier version, both are
measured in the same session, in pairs, each in a fresh process with its own build
and its own bench (``model_vs_floor`` of that commit's ``bench/run.py``: the same
baseline scenario, seeds and floor). Which of the two runs first alternates from one
pair to the next: the second run of a pair measured ~2% higher than the first when the
order was fixed, even with the same code on both sides (``--control`` shows it).

    .venv/bin/python bench/versus.py 8d778c9            # 6 pairs, then the medians
    .venv/bin/python bench/versus.py 8d778c9 --pairs 10
    .venv/bin/python bench/versus.py HEAD --control     # the method against itself

The earlier commit is checked out into a temporary git worktree with its own
virtual environment (installed with uv when there is one, else pip); both are removed
afterwards, also when interrupted. docs/performance.md records what this printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# run inside a tree: its own bench's model_vs_floor on its own baseline (4 replications,
# best of 5 alternating model and floor), one JSON line on stdout
MEASURE = """
import json, sys
sys.path.insert(0, "bench")
from run import load, model_vs_floor
r = model_vs_floor(load(), {replications}, {repeats})
print(json.dumps({{key: r[key] for key in ("ratio", "model_cpu_s", "floor_cpu_s", "dials")}}))
"""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; if it fails, say so in one line (with its last error line), exit 2."""
    out = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no message)"])[-1]
        print(f"versus: {' '.join(command[:4])} ... failed: {last}", file=sys.stderr)
        raise SystemExit(2)
    return out


def measure(tree: Path, python: Path, replications: int = 4, repeats: int = 5) -> dict:
    """``tree``'s own model_vs_floor, run by ``python`` in a fresh process."""
    code = MEASURE.format(replications=replications, repeats=repeats)
    out = run([str(python), "-c", code], cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(rev: str, where: Path) -> Path:
    """A worktree of ``rev`` at ``where`` with its package installed; its python."""
    run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev])
    run([sys.executable, "-m", "venv", str(where / ".venv")])
    python = where / ".venv" / "bin" / "python"
    uv = shutil.which("uv")
    run([uv, "pip", "install", "--python", str(python), "-q", "-e", ".[dev]"] if uv else
        [str(python), "-m", "pip", "install", "-q", "-e", ".[dev]"], cwd=where)
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (anything git understands)")
    parser.add_argument("--pairs", type=int, default=6, help="pairs of measurements (default 6)")
    parser.add_argument("--control", action="store_true",
                        help="measure this tree against itself (the method's own bias)")
    args = parser.parse_args(argv)
    # a terminated run (a CI timeout) still removes its worktree and build
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    here = Path(sys.executable)
    theirs_name = "this tree" if args.control else args.rev
    names = (theirs_name + " (a)", "this tree (b)") if args.control else (args.rev, "this tree")
    with tempfile.TemporaryDirectory(prefix="dialsim-versus-") as tmp:
        tree = Path(tmp) / "tree"
        try:
            if args.control:
                sides = ((names[0], ROOT, here), (names[1], ROOT, here))
            else:
                print(f"building {args.rev} in a temporary worktree ...", file=sys.stderr, flush=True)
                sides = ((names[0], tree, build(args.rev, tree)), (names[1], ROOT, here))
            ratios = {name: [] for name in names}
            for pair in range(args.pairs):
                for name, path, python in (sides if pair % 2 == 0 else sides[::-1]):
                    r = measure(path, python)
                    ratios[name].append(r["ratio"])
                    print(f"{pair + 1:>2}  {name[:16]:<16} ratio {r['ratio']:.3f}  model "
                          f"{r['model_cpu_s'] * 1e3:6.1f} ms  floor {r['floor_cpu_s'] * 1e3:6.1f} ms",
                          flush=True)
        finally:
            if not args.control:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                               capture_output=True)
                subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)
    first, second = (ratios[name] for name in names)
    ahead = sum(b > a for a, b in zip(first, second))
    for name, ratios_of in zip(names, (first, second)):  # (lines that fit 80 columns)
        print(f"median ratio, {name[:16]:<16} {statistics.median(ratios_of):.3f} "
              f"({min(ratios_of):.3f}-{max(ratios_of):.3f})")
    print(f"{names[1]} ahead in {ahead} of {args.pairs} pairs; median of the pairs' ratios "
          f"{statistics.median(b / a for a, b in zip(first, second)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
