"""The ``dialsim`` command's entry point: a clean stop from the very first instant.

It imports nothing heavy before it installs its signal handlers, so Ctrl-C or SIGTERM
while Python is still loading the CLI prints one line and exits (130 or 143) instead
of a traceback. Nothing has been started or written at that point, so exiting at once
is the clean stop. Once a command runs, ``cli`` raises the signals as exceptions so
that workers are stopped and staging folders removed on the way out. (``cli.main``
then runs the typer app.)
"""

from __future__ import annotations

import os
import signal


def _stop_while_starting(signum, _frame) -> None:
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    os.write(2, f"stopped ({name}) while starting; nothing was run or written\n".encode())
    os._exit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGINT, _stop_while_starting)
    signal.signal(signal.SIGTERM, _stop_while_starting)
    from cli import main as run_cli

    run_cli()


if __name__ == "__main__":  # pragma: no cover
    main()
