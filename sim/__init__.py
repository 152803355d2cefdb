"""dialsim: a discrete-event simulator of sales reps working a power dialer.

Layers, each in its own module:
scenario (validated input) -> model (simpy processes) -> experiment (replications,
named random streams, statistics) -> executors -> results (Parquet, manifest) -> CLI.
Importing the package has no side effects.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("dialsim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
