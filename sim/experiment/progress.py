"""Progress within replications: how far each running replication has got.

A long replication (a big team, many days) reports the share of its work done after
each simulated day of each strategy, so a progress bar moves and can estimate the
time left instead of sitting at zero. Reports go to this process's *sink*: the run
itself when replications run here, a queue to the parent when they run in local
worker processes (``LocalProcessExecutor`` installs it). Nothing here changes what
is simulated; with no sink, reports cost one comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Sink = Callable[[int, float], None]  # (replication, share of it done, 0..1)

_sink: Sink | None = None  # this process's


def report(replication: int, share_done: float) -> None:
    if _sink is not None:
        _sink(replication, share_done)


@contextmanager
def reporting_to(sink: Sink | None) -> Iterator[None]:
    """Send this process's reports to ``sink`` while the block runs."""
    global _sink
    before, _sink = _sink, sink
    try:
        yield
    finally:
        _sink = before


def install_queue(queue) -> None:
    """In a worker process: send reports to the parent through ``queue``."""
    global _sink

    def put(replication: int, share_done: float) -> None:
        queue.put((replication, share_done))

    _sink = put
