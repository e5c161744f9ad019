"""
Cluster samples: cluster-centred simulated fields (FITS) and their catalogue
(ECSV), for measuring the detection ratio.  Training pairs and training sets
are made in `astropy_radiounet.training`, on the model's grid.

Determinism: field ``i`` always gets the ``i``-th child of
``numpy.random.SeedSequence(seed).spawn(n)``, so the same seed writes the
same fields whatever the number of processes.
"""

import logging
from pathlib import Path

import numpy as np
from astropy.table import QTable, vstack

from ..exceptions import OutputExistsError
from ..utils.parallel import check_parallel, map_tasks
from ..utils.validation import PositiveInteger
from .field import simulate_field

__all__ = ["write_cluster_sample"]

log = logging.getLogger(__name__)


def _cluster_field(args):
    directory, index, seeds, shape, field_kwargs = args
    rows = []
    for k, ss in zip(index, seeds):
        kw = dict(field_kwargs)
        kw.setdefault("cluster_at_center", True)
        kw.setdefault("n_clusters", 1)
        f = simulate_field(shape, seed=ss, **kw)
        prefix = Path(directory) / f"field_{k:05d}"
        f.write(prefix, overwrite=True)
        row = QTable(f.clusters[:1])
        row["name"] = [f"SIM{k:05d}"]
        row["field"] = [prefix.name + "_image.fits"]
        row["n_clusters_field"] = [len(f.clusters)]
        rows.append(row)
    return index[0], index, rows


def write_cluster_sample(directory, n_fields, *, shape=(512, 512), seed=0, parallel=False,
                         progress_bar=False, overwrite=False, **field_kwargs):
    """
    Write a sample of cluster-centred fields and their catalogue.

    Each field ``field_NNNNN`` is written by `SimulatedField.write`; the
    catalogue ``clusters.ecsv`` has one row per target cluster (the most massive
    one, at the field centre): name, RA/Dec, z, M500, R500, class DE/NDE, diffuse
    types and file name, ready for a detection-ratio test.

    Parameters
    ----------
    directory : str or `~pathlib.Path`
        Output directory (created).
    n_fields : int
        Number of fields.
    shape : tuple of int
        Field shape.
    seed : int
        Master seed; field ``i`` uses ``SeedSequence(seed).spawn(n_fields)[i]``.
    parallel : bool, int or 'current-scheduler'
        Local processes (`True`: one per core) or the active dask scheduler
        (see `~astropy_radiounet.utils.run_tasks`); the output does not
        depend on it.
    progress_bar : bool
        Show a tqdm progress bar.
    overwrite : bool
        Allow writing into a directory that already has ``clusters.ecsv``.
    **field_kwargs
        Passed to `simulate_field`.

    Returns
    -------
    catalogue : `~astropy.table.QTable`

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     cat = write_cluster_sample(d, 2, shape=(96, 96), seed=2)
    >>> [str(n) for n in cat['name']]
    ['SIM00000', 'SIM00001']
    """
    from tqdm.auto import tqdm

    n_fields = PositiveInteger().validate(n_fields, "n_fields")
    parallel = check_parallel(parallel)
    if field_kwargs.get("n_clusters", 1) < 1:
        msg = (f"n_clusters={field_kwargs['n_clusters']!r}: every field of a cluster sample "
               f"has its cluster at the centre, so n_clusters must be at least 1.")
        raise ValueError(msg)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cat_path = directory / "clusters.ecsv"
    existing = ([cat_path] if cat_path.exists() else []) + sorted(directory.glob("field_*"))
    if existing and not overwrite:
        raise OutputExistsError(existing)
    seeds = np.random.SeedSequence(seed).spawn(n_fields)
    tasks = [(str(directory), [i], [seeds[i]], tuple(shape), field_kwargs)
             for i in range(n_fields)]
    with tqdm(total=n_fields, desc="cluster fields", unit="field",
              disable=not progress_bar) as bar:
        results = map_tasks(_cluster_field, tasks, parallel, on_done=lambda task: bar.update())
    rows = [row for _, _, rs in results for row in rs]
    cat = vstack(rows)
    cat.meta = {"seed": seed, "shape": list(shape)}
    cat.write(cat_path, format="ascii.ecsv", overwrite=True)
    return cat
