"""Files written whole or not at all, and output directories one run at a time."""

import contextlib
import json
import os
import socket
import time
import uuid
from pathlib import Path

__all__ = ["atomic_write", "run_lock"]


@contextlib.contextmanager
def atomic_write(path):
    """
    Write a file through a temporary name beside it, so that readers (and a rerun
    after a crash) see the old file or the new one, never a part.

    The temporary name is unique to the process and the call, so concurrent
    writers of the same file do not trip over each other's temporary files; the
    last one to finish wins.  It ends with the suffix of ``path``, so writers that
    pick a format from the extension (``numpy.savez``, ``Table.write``) still do.

    Parameters
    ----------
    path : path-like
        The file to write.

    Yields
    ------
    temporary : `~pathlib.Path`
        Where to write.  It replaces ``path`` when the ``with`` block ends
        without an exception, and is removed when it raises.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from astropy_radiounet.utils import atomic_write
    >>> path = Path(tempfile.mkdtemp()) / "values.json"
    >>> with atomic_write(path) as temporary:
    ...     _ = temporary.write_text(json.dumps({"ratio": 0.02}))
    >>> json.loads(path.read_text())
    {'ratio': 0.02}
    >>> sorted(p.name for p in path.parent.iterdir())
    ['values.json']
    """
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
                               f"{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


#: The lock file `run_lock` creates in an output directory.
LOCK_NAME = ".radiounet.lock"


@contextlib.contextmanager
def run_lock(directory, command):
    """
    Hold an output directory for one run: a second run into it is refused.

    The lock is a file created atomically in ``directory`` (which is
    created), naming the host, the process and the command; it is removed
    when the ``with`` block ends, however it ends.  A lock left by a process
    of this host that no longer exists (a run killed with ``kill -9``) is
    taken over, so a killed run can be resumed at once.

    Parameters
    ----------
    directory : path-like
        The output directory.
    command : str
        What holds it, for the message of a refused run.

    Raises
    ------
    `~astropy_radiounet.exceptions.OutputLockedError`
        If another live run holds the directory.

    Examples
    --------
    >>> import tempfile
    >>> from astropy_radiounet.utils import run_lock
    >>> with run_lock(tempfile.mkdtemp(), "search"):
    ...     pass
    """
    from ..exceptions import OutputLockedError

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    me = {"host": socket.gethostname(), "pid": os.getpid(), "command": command,
          "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is not None and not _is_stale(holder):
                described = (f"{holder.get('command', '?')} started {holder.get('started', '?')} "
                             f"by process {holder.get('pid', '?')} on {holder.get('host', '?')}")
                raise OutputLockedError(path, described) from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(descriptor, "w") as handle:
            json.dump(me, handle)
        break
    else:  # pragma: no cover - another run took the stale lock between our two tries
        raise OutputLockedError(path, "a run that started at the same moment")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _lock_holder(path):
    """What a lock file says, or None when it cannot be read (being written)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _is_stale(holder):
    """Whether the lock's process is known to be gone (only knowable on this host)."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
