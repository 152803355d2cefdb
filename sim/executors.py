"""Where tasks run: in this process, in local worker processes (or, later, on Dask).

One small interface in the spirit of ``concurrent.futures``: ``map_unordered(fn,
tasks)`` yields ``(task, result)`` as tasks complete, keeping at most
``max_in_flight`` submitted at once so memory stays bounded however many tasks a
sweep has. Results never depend on the executor: every task carries its own seed
and replication index, and callers order results by task, not by completion.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol


class Executor(Protocol):
    workers: int

    def map_unordered(self, fn: Callable, tasks: Iterable, max_in_flight: int | None = None
                      ) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs tasks one by one in this process (workers=1; easiest to debug)."""

    workers = 1

    def map_unordered(self, fn, tasks, max_in_flight=None):
        for task in tasks:
            yield task, fn(task)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalProcessExecutor:
    """A pool of local worker processes (spawned: no state inherited by accident)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )

    def map_unordered(self, fn, tasks, max_in_flight=None):
        limit = max_in_flight or 2 * self.workers
        pending: dict[Future, Any] = {}
        iterator = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    task = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending[self._pool.submit(fn, task)] = task
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                yield task, future.result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def local_executor(workers: int | None) -> SerialExecutor | LocalProcessExecutor:
    """Serial for one worker, a process pool otherwise."""
    workers = default_workers() if workers is None else workers
    return SerialExecutor() if workers <= 1 else LocalProcessExecutor(workers)
