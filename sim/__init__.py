"""dialsim: a discrete-event simulator of sales reps working a power dialer.

Layers, one sub-package each, every one importing only those below it (an
import-linter contract in pyproject.toml, checked by tests/test_layers.py):

- ``sim.scenario``: the strict, validated input (schema, overrides, distributions);
- ``sim.model``: the world and its random streams, strategies, pacing, caller ID,
  the kernel (every rule of a dial, written once) and the campaign that runs it;
- ``sim.analysis``: statistics, comparisons, metric schemas;
- ``sim.store``: atomic writes, results layout, call log, manifests;
- ``sim.experiment``: replications, executors, engine choice, precision, runs, sweeps;
- ``sim.present``: tables, charts, the report;
- ``cli.py`` (outside the package): thin typer commands on top.

Importing the package has no side effects.
"""


def __getattr__(name: str):
    # the version is looked up only when asked for (importlib.metadata costs ~50 ms)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("dialsim")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0+source"
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
