"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

One small interface in the spirit of ``concurrent.futures``: ``map_unordered(fn,
tasks)`` yields ``(task, result)`` as tasks complete, keeping at most
``max_in_flight`` submitted at once so memory stays bounded however many tasks a
sweep has; ``on_progress`` receives what running tasks report of their progress
(:mod:`sim.experiment.progress`; in this process and from local workers, not from
a Dask cluster). Results never depend on the executor: every task carries its own seed
and replication index, and callers order results by task, not by completion.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from sim.experiment import progress


class Executor(Protocol):
    workers: int

    def map_unordered(self, fn: Callable, tasks: Iterable, max_in_flight: int | None = None,
                      on_progress: progress.Sink | None = None) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...

    def abort(self) -> None:
        """Stop now (Ctrl-C, SIGTERM): drop queued tasks, do not wait for running ones."""
        ...


class SerialExecutor:
    """Runs tasks one by one in this process (workers=1; easiest to debug)."""

    workers = 1

    def map_unordered(self, fn, tasks, max_in_flight=None, on_progress=None):
        for task in tasks:
            with progress.reporting_to(on_progress):
                result = fn(task)
            yield task, result

    def close(self):
        pass

    def abort(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalProcessExecutor:
    """A pool of local worker processes (spawned: no state inherited by accident)."""

    def __init__(self, workers: int):
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        # (replication, share done) from the workers; a SimpleQueue writes before put()
        # returns, so a task's last report is in the pipe before its result is sent
        self._progress = context.SimpleQueue()
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context,
            initializer=worker_init, initargs=(os.getpid(), self._progress),
        )

    def _drain_progress(self, on_progress) -> None:
        while not self._progress.empty():
            report = self._progress.get()
            if on_progress is not None:
                on_progress(*report)

    def map_unordered(self, fn, tasks, max_in_flight=None, on_progress=None):
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
                self._drain_progress(on_progress)
                return
            done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            self._drain_progress(on_progress)
            for future in done:
                task = pending.pop(future)
                yield task, future.result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self):
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # running tasks would otherwise finish first
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:  # Ctrl-C, SIGTERM or an error: the results are not wanted, stop now
            self.abort()


PARENT_CHECK_S = 1.0  # how often a worker checks that its parent is still there


def worker_init(parent_pid: int, progress_queue) -> None:
    """Worker initializer: ignore Ctrl-C, exit when the parent process is gone, and send
    progress reports to the parent through ``progress_queue``.

    Ctrl-C reaches the whole process group, but only the parent should react (it stops
    the workers itself), so workers print no tracebacks. If the parent is killed
    (SIGKILL, a crash) nobody stops the workers: Linux sends them SIGTERM
    (PR_SET_PDEATHSIG), and everywhere a watchdog thread checks every
    PARENT_CHECK_S that the parent is still this process's parent and exits if not.
    """
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    progress.install_queue(progress_queue)
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before this worker started
        os._exit(1)

    def watchdog() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watchdog, name="dialsim-parent-watchdog", daemon=True).start()


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (a no-op elsewhere)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        pass


DEFAULT_CONNECT_TIMEOUT_S = 15.0
SCHEDULER_SCHEMES = ("tcp", "tls")


def check_scheduler_address(address: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``) with a host and a port 1-65535, or a UserError.

    Checked before anything connects, so a typo is answered at once.
    """
    from urllib.parse import urlsplit

    from sim.errors import UserError

    expected = "expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"
    if "://" not in address:
        raise UserError(f"--scheduler {address}: no scheme; {expected}")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        raise UserError(f"--scheduler {address}: the port is not a number from 1 to 65535; "
                        f"{expected}") from None
    if parts.scheme not in SCHEDULER_SCHEMES:
        shown = f"'{parts.scheme}://'" if parts.scheme else "no scheme"
        raise UserError(f"--scheduler {address}: {shown} is not a Dask scheduler address; "
                        f"{expected}")
    if not parts.hostname:
        raise UserError(f"--scheduler {address}: no host; {expected}")
    if port is None or not 1 <= port <= 65535:
        raise UserError(f"--scheduler {address}: no port; {expected}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UserError(f"--scheduler {address}: only HOST:PORT may follow the scheme; {expected}")
    return address


def probe_scheduler(address: str, timeout_s: float) -> None:
    """Ask ``address`` who it is, within ``timeout_s`` seconds; UserError unless a scheduler.

    distributed's Client does not bound its handshake: a listener that is not Dask (a
    web server, a database) can keep it waiting for minutes, or send bytes it reads as
    a frame length of exabytes. This probe connects and sends one "identity" request
    under an asyncio deadline, so whatever is at the address, the answer comes in time.
    """
    import asyncio

    from distributed.comm import connect

    from sim.errors import UserError

    async def identity():
        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:  # a refused or unresolvable address is answered at once, not after the timeout
        socket.create_connection((parts.hostname, parts.port), timeout=timeout_s).close()
    except (TimeoutError, socket.timeout):
        raise UserError(f"--scheduler {address}: nothing answered within {timeout_s:g} s "
                        "(--connect-timeout); check the address and the network") from None
    except OSError as exc:
        raise UserError(f"--scheduler {address}: cannot connect: "
                        f"{exc.strerror or exc}") from None
    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout_s))
    except (TimeoutError, asyncio.TimeoutError):
        raise UserError(f"--scheduler {address}: no Dask scheduler answered within "
                        f"{timeout_s:g} s (--connect-timeout); check the address and that "
                        "`dask scheduler` runs there") from None
    except OSError as exc:
        raise UserError(f"--scheduler {address}: cannot connect: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever a non-Dask peer makes the protocol do
        raise UserError(f"--scheduler {address}: what answers there is not a Dask scheduler "
                        f"({type(exc).__name__})") from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise UserError(f"--scheduler {address}: what answers there is not a Dask scheduler")


class DaskExecutor:
    """Tasks on a Dask distributed cluster, through one ``distributed.Client``.

    ``address`` is the scheduler's ``tcp://HOST:PORT``. Workers must have the same
    dialsim installed (checked on connect): they import the task function by name.
    Futures are released as soon as their result is read, so the scheduler holds at
    most ``max_in_flight`` results at a time.
    """

    def __init__(self, address: str, connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 wait_for_workers_s: float = 30.0):
        from distributed import Client  # imported here: heavy, and only needed for Dask

        from sim import __version__
        from sim.errors import UserError

        self.address = check_scheduler_address(address)
        probe_scheduler(address, connect_timeout_s)  # a Dask scheduler answers, in time
        try:
            self._client = Client(address, timeout=connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UserError(f"--scheduler {address}: cannot connect: {exc}") from None
        try:
            self._client.wait_for_workers(1, timeout=wait_for_workers_s)
            # A lambda is shipped by value, so the probe runs even where sim is missing.
            versions = self._client.run(
                lambda: __import__("importlib.metadata").metadata.version("dialsim"))
        except Exception as exc:
            self._client.close()
            raise UserError(f"--scheduler {address}: no usable workers: {exc}") from None
        wrong = sorted({v for v in versions.values() if v != __version__})
        if wrong:
            self._client.close()
            raise UserError(f"--scheduler {address}: workers run dialsim {', '.join(wrong)}, "
                            f"this is {__version__}; install the same version on every worker")
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values()))
        self._pending: dict = {}

    def map_unordered(self, fn, tasks, max_in_flight=None, on_progress=None):
        """(``on_progress`` is not used: tasks on a cluster report only when done.)"""
        from distributed import as_completed

        limit = max_in_flight or 2 * self.workers
        iterator = iter(tasks)
        completed = as_completed(loop=self._client.loop)
        self._pending = pending = {}

        def submit_more():
            while len(pending) < limit:
                try:
                    task = next(iterator)
                except StopIteration:
                    return
                future = self._client.submit(fn, task, pure=False)
                pending[future.key] = (future, task)
                completed.add(future)

        submit_more()
        for future in completed:
            _, task = pending.pop(future.key)
            result = future.result()
            future.release()
            yield task, result
            submit_more()

    def close(self):
        self._client.close()

    def abort(self):
        futures = [future for future, _ in self._pending.values()]
        if futures:
            self._client.cancel(futures)
        self._pending.clear()
        self._client.close()

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
