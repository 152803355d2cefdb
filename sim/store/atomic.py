"""Atomic writes: a file appears complete under its name, or not at all.

Every writer here goes through :func:`atomic_path`: the content is written to a
hidden temporary name beside the destination (same folder, so same file system),
then renamed into place with ``os.replace``. A crash, Ctrl-C or full disk leaves
the destination as it was. Temporary names carry the writer's process id
(``.NAME.PID.HEX.tmp``) so a later run can tell leftovers of a dead process from
the work of a live one (:func:`remove_stale_temporaries`).

An ``OSError`` (read-only folder, full disk, a file where a folder should be) becomes
a :class:`sim.errors.UserError` naming the destination: one line, exit code 2.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import UserError

# .NAME.PID.HEX.tmp (a file or a staging folder) and .NAME.PID.HEX.old (a folder being
# replaced): the only names remove_stale_temporaries ever deletes.
_TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]{8}\.(tmp|old)$")


def temporary_name(path: Path, suffix: str = "tmp") -> Path:
    """A hidden name beside ``path`` owned by this process: ``.NAME.PID.HEX.SUFFIX``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.{suffix}")


def os_error_message(path: Path, exc: OSError, doing: str = "cannot write") -> str:
    """``PATH: cannot write: No space left on device`` (one line, whatever raised it)."""
    reason = exc.strerror
    if not reason:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
    return f"{path}: {doing}: {reason}"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to ``path``.

    On any exception the temporary file is removed and ``path`` is untouched; an
    ``OSError`` is re-raised as a one-line :class:`UserError`.
    """
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(os_error_message(path, exc)) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``: the one primitive below."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_bytes_atomic(data: bytes, path: Path) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_text_atomic(text: str, path: Path) -> None:
    """UTF-8 text, whatever the locale."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(data: dict, path: Path) -> None:
    """Indented JSON with a final newline; values JSON cannot hold are written as str."""
    write_text_atomic(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", path)


def write_parquet_atomic(table, path: Path) -> None:
    """A pyarrow Table as one Parquet file."""
    import pyarrow.parquet as pq

    write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OverflowError:
        return False
    return True


def pid_alive(pid) -> bool:
    """True when a process with this id exists (a pid of another type: False)."""
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and _pid_alive(pid)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files and staging folders left in ``folder`` by dead processes.

    Only names of the form ``.NAME.PID.HEX.tmp`` / ``.old`` whose PID is no longer
    running are touched; anything else (a user's file, a live run's staging) stays.
    Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or _pid_alive(int(match["pid"])):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed
