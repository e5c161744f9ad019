"""
Helpers shared by the subpackages: files written whole or not at all, and running
independent tasks in parallel.  Standard library only.
"""

from .files import atomic_write
from .parallel import process_pool, run_tasks

__all__ = ["atomic_write", "run_tasks", "process_pool"]
