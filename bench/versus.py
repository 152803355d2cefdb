"""The power-dialer ratio of this tree against an earlier commit's, measured together.

The model/floor ratio depends on the machine's state as well as on the code: the
floor alone varies by ~5% from one minute to the next on a shared 2-core VM. To say
whether a change made the model faster or slower than an earlier version, both are
measured in the same session, alternately, each in a fresh process with its own
build and its own bench (``model_vs_floor`` of that commit's ``bench/run.py``: the
same baseline scenario, seeds and floor).

    .venv/bin/python bench/versus.py 8d778c9            # 5 pairs, then the medians
    .venv/bin/python bench/versus.py 8d778c9 --pairs 9

The earlier commit is checked out into a temporary git worktree with its own
virtual environment (installed with uv when there is one, else pip); both are removed
afterwards. docs/performance.md records what this printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
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


def measure(tree: Path, python: Path, replications: int = 4, repeats: int = 5) -> dict:
    """``tree``'s own model_vs_floor, run by ``python`` in a fresh process."""
    code = MEASURE.format(replications=replications, repeats=repeats)
    out = subprocess.run([str(python), "-c", code], cwd=tree, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(rev: str, where: Path) -> Path:
    """A worktree of ``rev`` at ``where`` with its package installed; its python."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(where / ".venv")], check=True)
    python = where / ".venv" / "bin" / "python"
    uv = shutil.which("uv")
    install = ([uv, "pip", "install", "--python", str(python), "-q", "-e", ".[dev]"] if uv else
               [str(python), "-m", "pip", "install", "-q", "-e", ".[dev]"])
    subprocess.run(install, cwd=where, check=True)
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (anything git understands)")
    parser.add_argument("--pairs", type=int, default=5, help="alternating measurements of each")
    args = parser.parse_args(argv)
    here = Path(sys.executable)
    with tempfile.TemporaryDirectory(prefix="dialsim-versus-") as tmp:
        tree = Path(tmp) / "tree"
        try:
            print(f"building {args.rev} in a temporary worktree ...", file=sys.stderr, flush=True)
            theirs = build(args.rev, tree)
            rows = []
            for pair in range(args.pairs):
                for name, path, python in ((args.rev, tree, theirs), ("this tree", ROOT, here)):
                    r = measure(path, python)
                    rows.append((name, r))
                    print(f"{pair + 1:>2}  {name:<12} ratio {r['ratio']:.3f}  model "
                          f"{r['model_cpu_s'] * 1e3:6.1f} ms  floor {r['floor_cpu_s'] * 1e3:6.1f} ms  "
                          f"{r['dials']:,} dials", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)
    medians = {name: statistics.median(r["ratio"] for n, r in rows if n == name)
               for name in (args.rev, "this tree")}
    wins = sum(b["ratio"] > a["ratio"] for (_, a), (_, b) in zip(rows[0::2], rows[1::2]))
    print(f"median ratio: {args.rev} {medians[args.rev]:.3f}, this tree {medians['this tree']:.3f}; "
          f"this tree ahead in {wins} of {args.pairs} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
