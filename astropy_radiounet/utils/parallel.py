"""
Run independent tasks serially, in local processes or through dask,
following reproject's ``parallel=`` convention.

``parallel`` is `False` (serial, in this process), `True` (one local
process per CPU core) or a positive integer (that many local processes), or
``'current-scheduler'``: whatever dask scheduler is active, for example a
``dask.distributed`` client connected to a LocalCluster or to workers on an
HPC cluster.  Results are handed to a callback as each task finishes, so
that they can be written to disk at once and a killed run loses nothing
(with a non-distributed dask scheduler, they are handed over at the end).
If a local process crashes, the tasks it and the pool still held are
reported to ``on_failure``; a rerun of a resumable command redoes them.
"""

import functools
import os

__all__ = ["run_tasks", "map_tasks", "process_pool", "check_parallel"]


def check_parallel(parallel):
    """
    ``parallel`` as a number of local processes, or ``'current-scheduler'``.

    Parameters
    ----------
    parallel : bool, int, None or 'current-scheduler'
        See the module documentation (`None` is `False`).

    Returns
    -------
    parallel : int or 'current-scheduler'
        1 for serial, the number of CPU cores for `True`.

    Raises
    ------
    ValueError
        If ``parallel`` is none of the values above.

    Examples
    --------
    >>> from astropy_radiounet.utils.parallel import check_parallel
    >>> check_parallel(False), check_parallel(3)
    (1, 3)
    """
    if parallel is True:
        return os.cpu_count() or 1
    if parallel is None or parallel is False:
        return 1
    if parallel == "current-scheduler" or (isinstance(parallel, int) and parallel >= 1):
        return parallel
    msg = (f"parallel must be False, True, a positive number of processes or "
           f"'current-scheduler'; got {parallel!r}.")
    raise ValueError(msg)


def run_tasks(function, tasks, parallel, on_result, on_failure):
    """
    Run ``function(task)`` for every task, calling ``on_result`` as each ends.

    Parameters
    ----------
    function : callable
        A picklable module-level function that records its own failures in
        its result rather than raising.
    tasks : list
        Picklable task descriptions (file paths and settings, never models).
    parallel : bool, int or 'current-scheduler'
        See the module documentation.  ``'current-scheduler'`` needs dask
        (``pip install 'astropy_radiounet[distributed]'``).
    on_result : callable
        ``on_result(result)``, called in this process.
    on_failure : callable
        ``on_failure(task, exception)`` -> result, for a task that raised
        outside ``function`` (e.g. its dask worker died repeatedly); its
        return value goes to ``on_result``.

    Raises
    ------
    ValueError
        If ``parallel`` is none of the values above.
    ImportError
        If ``parallel='current-scheduler'`` and dask is not installed.

    Examples
    --------
    >>> from astropy_radiounet.utils.parallel import run_tasks
    >>> results = []
    >>> run_tasks(abs, [-1, 2, -3], False, results.append, None)
    >>> results
    [1, 2, 3]
    """
    parallel = check_parallel(parallel)
    if parallel == 1:
        for task in tasks:
            on_result(function(task))
        return
    if parallel != "current-scheduler":
        _run_in_processes(function, tasks, parallel, on_result, on_failure)
        return
    try:
        import dask
    except ImportError as exc:
        msg = ("parallel='current-scheduler' needs dask, which cannot be imported "
               f"({exc}); install it with pip install 'astropy_radiounet[distributed]' "
               "(dask and dask.distributed), or run with parallel=False, True or a "
               "number of local processes.")
        raise ImportError(msg) from exc
    try:
        from distributed import as_completed, get_client

        client = get_client()
    except (ImportError, ValueError):
        client = None
    if client is not None:
        # A worker that dies mid-task has its task rerun elsewhere by the
        # scheduler (up to distributed.scheduler.allowed-failures times);
        # a task that still cannot finish goes to on_failure.
        futures = client.map(function, tasks, pure=False)
        task_of = {future.key: task for future, task in zip(futures, tasks)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
                result = on_failure(task_of[future.key], exc)
            on_result(result)
        return
    # No distributed client: the active dask scheduler, results handed over at the end.
    for result in dask.compute(*[dask.delayed(function)(task) for task in tasks]):
        on_result(result)


def map_tasks(function, tasks, parallel=False, *, on_done=None):
    """
    ``[function(task) for task in tasks]``, serially, in processes or on dask.

    For tasks whose results are combined in order (simulated pairs, fields):
    the results are those of the serial loop, in the same order, whatever
    ``parallel`` is; the first task that raises stops the run with its error.

    Parameters
    ----------
    function : callable
        A picklable module-level function of one task.
    tasks : list
        Picklable tasks.
    parallel : bool, int or 'current-scheduler', optional
        See the module documentation.
    on_done : callable, optional
        ``on_done(task)``, called in this process as each task ends (for a
        progress bar).

    Returns
    -------
    results : list
        One per task, in the order of ``tasks``.

    Examples
    --------
    >>> from astropy_radiounet.utils.parallel import map_tasks
    >>> map_tasks(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    results = [None] * len(tasks)

    def keep(result):
        index, value = result
        results[index] = value
        if on_done is not None:
            on_done(tasks[index])

    def fail(item, exc):
        raise exc

    run_tasks(functools.partial(_indexed_call, function), list(enumerate(tasks)), parallel,
              keep, fail)
    return results


def _indexed_call(function, item):
    index, task = item
    return index, function(task)


def process_pool(n_processes, *, start_method="spawn"):
    """
    The package's pool of local worker processes.

    Workers are spawned by default: a forked child inherits the parent's
    TensorFlow (or other framework) threads and locks and can hang; a spawned one
    starts clean, at the cost of importing what its task needs.

    Parameters
    ----------
    n_processes : int
        Number of worker processes.
    start_method : {'spawn', 'forkserver', 'fork'}, optional
        Multiprocessing start method; ``'fork'`` only where no deep-learning
        framework has been imported in this process.

    Returns
    -------
    pool : `concurrent.futures.ProcessPoolExecutor`
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    return ProcessPoolExecutor(n_processes, mp_context=get_context(start_method))


def _run_in_processes(function, tasks, n_processes, on_result, on_failure):
    """Local worker processes (spawned: safe with TensorFlow), results as they come."""
    from concurrent.futures import as_completed

    with process_pool(n_processes) as pool:
        futures = {pool.submit(function, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker process killed
                result = on_failure(futures[future], exc)
            on_result(result)
