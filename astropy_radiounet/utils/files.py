"""Files written whole or not at all."""

import contextlib
import os
import uuid
from pathlib import Path

__all__ = ["atomic_write"]


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
