"""User-facing errors: one clear line, exit code 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave us (file, key, option), not a bug.

    The CLI prints ``str(error)`` on one line and exits with code 2.
    """

    exit_code = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same clean stop runs (workers stopped, staging
    removed); the CLI then exits with code 143 instead of 130."""


def stop_exit_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C (SIGINT), 143 for SIGTERM: 128 + the signal number, as shells do."""
    return 143 if isinstance(exc, Terminated) else 130
