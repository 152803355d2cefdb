"""User-facing errors: one clear line, exit code 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave us (file, key, option), not a bug.

    The CLI prints ``str(error)`` on one line and exits with code 2.
    """

    exit_code = 2
