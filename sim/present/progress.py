"""What ``dialsim run`` shows while it works.

On a terminal: a bar that moves within replications (each reports after every
simulated day of every strategy) with the time left. Piped or redirected (a script,
CI, ``--json``): one plain line at most every ``every_s`` seconds, so logs show the
run is alive without drowning in redraws. ``--quiet``: nothing (the caller does not
make one).
"""

from __future__ import annotations

import time

from rich.console import Console


class RunProgress:
    """Progress of a run: ``plan(total)``, ``partial(replication, share)``, ``done(result)``."""

    def __init__(self, console: Console, name: str, total: int, every_s: float = 5.0,
                 interactive: bool | None = None):
        self.console = console
        self.name = name
        self.total = total
        self.every_s = every_s
        self.interactive = console.is_terminal if interactive is None else interactive
        self.finished = 0
        self.running: dict[int, float] = {}  # replication -> share done
        self.ended: set[int] = set()
        self.started = time.monotonic()
        self._last_line = self.started
        self._progress = None
        self._bar = None

    def __enter__(self):
        if self.interactive:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[done]}/{task.total:.0f} replications"),
                TimeRemainingColumn(), console=self.console, transient=True)
            self._progress.__enter__()
            self._bar = self._progress.add_task(self.name, total=self.total, done=0)
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)

    @property
    def completed(self) -> float:
        """Replications done, counting the share of those still running."""
        return self.finished + sum(self.running.values())

    def plan(self, total: int) -> None:
        self.total = total
        self._show(force=True)

    def partial(self, replication: int, share_done: float) -> None:
        if replication in self.ended:  # a late report of a finished replication
            return
        self.running[replication] = min(1.0, max(0.0, share_done))
        self._show()

    def done(self, _result=None, replication: int | None = None) -> None:
        if replication is None and _result is not None:
            replication = getattr(_result, "replication", None)
        self.running.pop(replication, None)
        self.ended.add(replication)
        self.finished += 1
        self._show()

    def _show(self, force: bool = False) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, total=self.total, completed=self.completed,
                                  done=self.finished)
            return
        now = time.monotonic()
        if not force and now - self._last_line < self.every_s:
            return
        self._last_line = now
        share = self.completed / self.total if self.total else 1.0
        elapsed = now - self.started
        left = f", about {elapsed * (1 - share) / share:.0f} s left" if share > 0.01 else ""
        self.console.print(f"{self.name}: {100 * share:.0f}% ({self.finished}/{self.total} "
                           f"replications, {elapsed:.0f} s{left})", highlight=False, soft_wrap=True)
