"""Which build of the kernel runs: the compiled one (Cython, built at install) or the source.

Both come from one file, :mod:`sim.model.kernel`. ``setup.py`` compiles a copy of it
into ``sim.model._kernel_compiled`` and stamps the copy with the SHA-256 of the source
it was built from, so a compiled loop that no longer matches the source (the file
was edited after the install) is never used by mistake. Results are identical
either way (tests/test_engine.py); only the speed differs (docs/performance.md).

``DIALSIM_ENGINE`` chooses: ``auto`` (default: compiled when built and current,
else Python with a warning), ``compiled`` (fail if it cannot be used), ``python``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from sim.errors import UserError

ENV_VAR = "DIALSIM_ENGINE"
CHOICES = ("auto", "compiled", "python")
SOURCE = Path(__file__).resolve().parents[1] / "model" / "kernel.py"


@dataclass(frozen=True)
class Engine:
    name: str  # "compiled" or "python"
    module: ModuleType  # a build of sim.model.kernel: Kernel, rep_shifts
    note: str  # why this one


def source_sha256(path: Path = SOURCE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def _compiled() -> tuple[ModuleType | None, str]:
    """The compiled kernel if it is built from the current source, and why (not)."""
    try:
        import sim.model._kernel_compiled as compiled
    except ImportError as exc:
        return None, f"not built ({exc}); install with a C compiler: make setup"
    if getattr(compiled, "SOURCE_SHA256", None) != source_sha256():
        return None, ("out of date: sim/model/kernel.py changed since it was built; "
                      "rebuild with `make setup` (or pip install -e .)")
    return compiled, "built from the current sim/model/kernel.py"


def select(choice: str | None = None, *, warn: bool = True) -> Engine:
    """The engine for ``choice`` (default: the ``DIALSIM_ENGINE`` variable, else auto).

    Raises UserError for an unknown choice, or for ``compiled`` when it cannot be
    used. Falling back to Python under ``auto`` warns once per process."""
    choice = choice or os.environ.get(ENV_VAR) or "auto"
    if choice not in CHOICES:
        raise UserError(f"{ENV_VAR}={choice!r}: must be one of {', '.join(CHOICES)}")
    import sim.model.kernel as kernel

    if choice == "python":
        return Engine("python", kernel, f"chosen ({ENV_VAR}=python)")
    compiled, why = _compiled()
    if compiled is None:
        if choice == "compiled":
            raise UserError(f"{ENV_VAR}=compiled, but the compiled kernel is {why}")
        if warn:
            _warn_once(f"dialsim runs the pure-Python kernel (same results, slower): "
                       f"the compiled one is {why}")
        return Engine("python", kernel, f"compiled kernel {why}")
    return Engine("compiled", compiled, why)


@cache
def _warn_once(message: str) -> None:
    # shown as "dialsim:0: RuntimeWarning: ..." (no source line: it is not a bug there)
    warnings.warn_explicit(message, RuntimeWarning, filename="dialsim", lineno=0)
