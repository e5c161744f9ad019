"""
Helpers shared by the subpackages: files written whole or not at all, running
independent tasks serially, in processes or on dask (one ``parallel=``
convention for the whole package), and settings validated whenever they are
set.  Standard library only.
"""

from .files import atomic_write, run_lock
from .parallel import check_parallel, map_tasks, process_pool, run_tasks
from .system import physical_memory
from .validation import (IntegerPair, OneOf, PositiveInteger, PositiveNumber, Probability,
                         ValidatedAttribute)

__all__ = ["atomic_write", "run_lock", "run_tasks", "map_tasks", "check_parallel", "process_pool",
           "ValidatedAttribute", "PositiveInteger", "PositiveNumber", "Probability", "OneOf",
           "IntegerPair", "physical_memory"]
