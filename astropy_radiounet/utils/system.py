"""What this machine has: its physical memory, for checks made before large allocations."""

import os

__all__ = ["physical_memory"]


def physical_memory():
    """
    This machine's physical memory in bytes, or `None` where it cannot be known.

    Examples
    --------
    >>> from astropy_radiounet.utils import physical_memory
    >>> memory = physical_memory()
    >>> memory is None or memory > 0
    True
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None
