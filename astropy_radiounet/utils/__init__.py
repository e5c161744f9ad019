"""Helpers shared by the subpackages: running independent tasks in parallel."""

from .parallel import run_tasks

__all__ = ["run_tasks"]
