"""Build step: compile the model's kernel (sim/model/kernel.py) with Cython.

Everything else is in pyproject.toml. The hot path of the model, sim/model/kernel.py,
is plain Python that Cython compiles as it is. A copy of it, stamped with the
SHA-256 of the source, becomes the extension ``sim.model._kernel_compiled``;
sim/experiment/engine.py uses it only while the stamp matches the source beside it. Without a
C compiler the build says so and the package installs as pure Python: same
results, slower (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "sim" / "model" / "kernel.py"
MODULE = "sim.model._kernel_compiled"
STAGED = ROOT / "build" / "cython" / "sim" / "model" / "_kernel_compiled.py"

DIRECTIVES = {
    "language_level": 3,
    # no index checks in C: every index is in range by construction, and the same
    # source interpreted (which checks every index) must give the same numbers
    # (tests/test_golden.py runs both)
    "boundscheck": False,
    "wraparound": False,  # no negative indices anywhere in the kernel
    "initializedcheck": False,
    "cdivision": False,  # keep Python's % and integer // (sim/model/kernel.py explains)
    "binding": False,
}


def staged_source() -> str:
    """The source to compile: sim/model/kernel.py plus the stamp sim/experiment/engine.py checks."""
    text = SOURCE.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    STAGED.parent.mkdir(parents=True, exist_ok=True)
    STAGED.write_bytes(text + f'\n\nSOURCE_SHA256 = "{digest}"\n'.encode())
    return str(STAGED.relative_to(ROOT))


class OptionalBuildExt(build_ext):
    """Compile when possible; otherwise warn and leave the pure-Python engine."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers, ...
            self._skip(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    @staticmethod
    def _skip(exc: Exception) -> None:
        print(f"WARNING: dialsim's compiled kernel was not built ({exc}); "
              "dialsim will run the pure-Python one (same results, slower).", file=sys.stderr)


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:  # pyproject.toml asks for Cython; a bare setup.py call may not have it
        print("WARNING: Cython is not installed: no compiled kernel.", file=sys.stderr)
        return []
    extension = Extension(MODULE, [staged_source()], extra_compile_args=["-O2"])
    return cythonize([extension], compiler_directives=DIRECTIVES, quiet=True,
                     build_dir=str(ROOT / "build" / "cython-c"))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
