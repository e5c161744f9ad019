"""
Dataset writers: training pairs (image, mask, labels) in ``.npz`` shards, and
cluster samples (FITS fields plus an ECSV catalogue).

Determinism: item ``i`` always gets the ``i``-th child of
``numpy.random.SeedSequence(seed).spawn(n)``, and each shard depends only on
its own items, so the same seed writes the same bytes whatever the number of
processes.
"""

import io
import json
import logging
import zipfile
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np
from astropy.table import QTable, Table, vstack

from ..exceptions import OutputExistsError
from ..utils.files import atomic_write
from ..utils.parallel import process_pool
from .diffuse import LABELS
from .field import simulate_field

__all__ = ["make_training_pair", "augment_pair", "write_training_set", "write_cluster_sample",
           "load_training_shard"]

log = logging.getLogger(__name__)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _check_n(name, value, minimum=1):
    if int(value) != value or value < minimum:
        msg = f"{name}={value!r} must be an integer >= {minimum}"
        raise ValueError(msg)
    return int(value)


def _save_npz(path, arrays, *, compress=()):
    """np.savez with fixed timestamps (byte-for-byte reproducible)."""
    with atomic_write(path) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if name in compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def augment_pair(rng, image, sky_parts, *, rotate=True, flip=True, noise_scale=(0.7, 1.5),
                 flux_scale=(0.5, 2.0), mask_level=1e-3):
    """
    Augment one simulated field into a training pair.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    image : ndarray or None
        The simulated image; the pair is rebuilt from the parts, and pixels
        blank (NaN) here, such as blanked mosaic edges, stay blank, with no
        truth.
    sky_parts : dict
        ``sky``, ``diffuse_sky``, ``noise``, ``artefacts``, ``rms`` and ``labels``
        arrays of a `SimulatedField`.
    rotate, flip : bool
        Random rotation by a multiple of 90 deg and random flip.
    noise_scale, flux_scale : tuple of float or None
        Log-uniform ranges of the factors applied to the noise and to the diffuse
        emission; the mask is recomputed with them.
    mask_level : float
        Truth-mask level in units of the (scaled) noise.

    Returns
    -------
    image, mask, labels : ndarray
        ``float32``, ``uint8`` and ``uint8`` arrays.
    info : dict
        The factors used.
    """
    s_n = 10 ** rng.uniform(*np.log10(noise_scale)) if noise_scale else 1.0
    s_f = 10 ** rng.uniform(*np.log10(flux_scale)) if flux_scale else 1.0
    p = sky_parts
    img = p["sky"] + (s_f - 1.0) * p["diffuse_sky"] + s_n * p["noise"] + p["artefacts"]
    mask = (s_f * p["diffuse_sky"]) > mask_level * s_n * p["rms"]
    blank = np.zeros(img.shape, bool) if image is None else ~np.isfinite(image)
    img = np.where(blank, np.nan, img)
    mask &= ~blank
    labels = np.where(mask, p["labels"], 0)
    k = int(rng.integers(0, 4)) if rotate else 0
    fl = bool(rng.integers(0, 2)) if flip else False
    out = []
    for a in (img, mask, labels):
        a = np.rot90(a, k)
        out.append(np.ascontiguousarray(a[:, ::-1] if fl else a))
    return (out[0].astype(np.float32), out[1].astype(np.uint8), out[2].astype(np.uint8),
            {"noise_scale": s_n, "flux_scale": s_f, "rot90": k, "flip": fl})


def make_training_pair(seed, *, tile_shape=(256, 256), augment=True, **field_kwargs):
    """
    Simulate one tile and turn it into an (image, mask) training pair.

    Unless given in ``field_kwargs``, the number of clusters is drawn from
    {0, 1, 1, 2} (so that negatives are common) and the cluster-free tiles keep
    their confusers (radio galaxies, over-densities, artefacts).

    Parameters
    ----------
    seed : int or `numpy.random.SeedSequence`
    tile_shape : tuple of int
    augment : bool
        Apply `augment_pair` (rotation, flip, noise and flux scaling).
    **field_kwargs
        Passed to `simulate_field`.

    Returns
    -------
    image, mask, labels : ndarray
    info : dict
        Per-pair metadata.

    Examples
    --------
    >>> img, mask, labels, info = make_training_pair(3, tile_shape=(64, 64))
    >>> img.shape, mask.dtype.name
    ((64, 64), 'uint8')
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    s_field, s_aug, s_choice = ss.spawn(3)
    choice = np.random.default_rng(s_choice)
    kw = dict(field_kwargs)
    kw.setdefault("n_clusters", int(choice.choice([0, 1, 1, 2])))
    level = kw.get("mask_level", 1e-3)
    f = simulate_field(tile_shape, seed=s_field, **kw)
    parts = {"sky": f.sky.astype(float), "diffuse_sky": f.diffuse_sky.astype(float),
             "noise": f.noise.astype(float), "artefacts": f.artefacts.astype(float),
             "rms": f.rms.astype(float), "labels": f.labels}
    rng = np.random.default_rng(s_aug)
    if augment:
        img, mask, labels, aug = augment_pair(rng, f.image, parts, mask_level=level)
    else:
        img, mask, labels = f.image, f.mask.astype(np.uint8), f.labels.astype(np.uint8)
        aug = {"noise_scale": 1.0, "flux_scale": 1.0, "rot90": 0, "flip": False}
    kinds = sorted(set(",".join(f.clusters["diffuse"]).split(",")) - {""})
    kinds += [k for k in ("filament",) if np.any(f.labels == LABELS[k])]
    info = {"n_clusters": len(f.clusters), "diffuse": ",".join(sorted(set(kinds))),
            "redshift": f.meta["redshift"], "mask_fraction": float(mask.mean()),
            "noise": float(f.config.noise * aug["noise_scale"]), **aug}
    return img, mask, labels, info


def _training_shard(args):
    directory, shard, seeds, tile_shape, augment, field_kwargs = args
    n = len(seeds)
    images = np.empty((n, *tile_shape), np.float32)
    masks = np.empty((n, *tile_shape), np.uint8)
    labels = np.empty((n, *tile_shape), np.uint8)
    rows = []
    for i, ss in enumerate(seeds):
        images[i], masks[i], labels[i], info = make_training_pair(
            ss, tile_shape=tile_shape, augment=augment, **field_kwargs)
        rows.append(info)
    name = f"pairs_{shard:05d}.npz"
    _save_npz(Path(directory) / name, {"images": images, "masks": masks, "labels": labels},
              compress=("masks", "labels"))
    return shard, name, rows


def _run(tasks, worker, n_processes, progress_bar, total, desc, mp_context=None):
    """Run tasks in-process or on a spawn-based process pool; yield results."""
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="item")
    try:
        if n_processes == 1:
            for t in tasks:
                res = worker(t)
                if bar is not None:
                    bar.update(len(t[2]))
                yield res
        else:
            with process_pool(n_processes, start_method=mp_context or "spawn") as pool:
                futures = {pool.submit(worker, t): len(t[2]) for t in tasks}
                for fut in as_completed(futures):
                    if bar is not None:
                        bar.update(futures[fut])
                    yield fut.result()
    finally:
        if bar is not None:
            bar.close()


def write_training_set(directory, n_pairs, *, tile_shape=(256, 256), seed=0, n_processes=1,
                       progress_bar=False, shard_size=256, augment=True, overwrite=False,
                       mp_context=None, **field_kwargs):
    """
    Write ``n_pairs`` (image, mask, labels) training pairs as ``.npz`` shards.

    Each shard ``pairs_NNNNN.npz`` holds ``images`` (float32, Jy/beam),
    ``masks`` (uint8, 1 = diffuse emission) and ``labels`` (uint8 class codes,
    `LABELS`) of shape ``(n, ny, nx)``. ``pairs.ecsv`` lists each pair's shard,
    index, clusters, diffuse types, redshift and augmentation; ``manifest.json``
    records the recipe.

    Parameters
    ----------
    directory : str or `~pathlib.Path`
        Output directory (created).
    n_pairs : int
        Number of pairs.
    tile_shape : tuple of int
        Shape of each tile.
    seed : int
        Master seed; pair ``i`` uses ``SeedSequence(seed).spawn(n_pairs)[i]``.
    n_processes : int
        Worker processes (spawned); the output does not depend on it.
    progress_bar : bool
        Show a tqdm progress bar.
    shard_size : int
        Pairs per shard.
    augment : bool
        Rotations, flips, noise and flux scaling (`augment_pair`).
    overwrite : bool
        Allow writing into a directory that already has a manifest.
    mp_context : str, optional
        Multiprocessing start method (default ``'spawn'``, safe when a deep-learning
        framework is loaded; ``'fork'`` starts faster on Linux).
    **field_kwargs
        Passed to `simulate_field` (e.g. ``beam``, ``noise``, ``pixel_scale``).

    Returns
    -------
    table : `~astropy.table.Table`
        The per-pair table also written to ``pairs.ecsv``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     t = write_training_set(d, 3, tile_shape=(64, 64), seed=1)
    ...     len(t), sorted(p.name for p in Path(d).iterdir())
    (3, ['manifest.json', 'pairs.ecsv', 'pairs_00000.npz'])
    """
    n_pairs = _check_n("n_pairs", n_pairs)
    n_processes = _check_n("n_processes", n_processes)
    shard_size = _check_n("shard_size", shard_size)
    tile_shape = tuple(int(s) for s in tile_shape)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "manifest.json"
    if manifest.exists() and not overwrite:
        raise OutputExistsError([manifest])
    seeds = np.random.SeedSequence(seed).spawn(n_pairs)
    tasks = [(str(directory), k, seeds[i:i + shard_size], tile_shape, augment, field_kwargs)
             for k, i in enumerate(range(0, n_pairs, shard_size))]
    results = sorted(_run(tasks, _training_shard, n_processes, progress_bar, n_pairs,
                          "training pairs", mp_context), key=lambda r: r[0])
    rows = []
    for shard, name, infos in results:
        for j, info in enumerate(infos):
            rows.append({"pair": len(rows), "shard": name, "index": j, **info})
    table = Table(rows=rows, names=list(rows[0]))
    table.meta = {"seed": seed, "tile_shape": list(tile_shape)}
    table.write(directory / "pairs.ecsv", format="ascii.ecsv", overwrite=True)
    recipe = {"n_pairs": n_pairs, "seed": seed, "tile_shape": list(tile_shape),
              "shard_size": shard_size, "augment": augment,
              "field_kwargs": {k: repr(v) for k, v in sorted(field_kwargs.items())},
              "shards": [r[1] for r in results], "labels": LABELS,
              "generator": "astropy_radiounet.simulation.write_training_set"}
    manifest.write_text(json.dumps(recipe, indent=1, sort_keys=True) + "\n")
    return table


def load_training_shard(path):
    """
    Read one shard: returns ``(images, masks, labels)``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_training_set(d, 2, tile_shape=(64, 64), seed=1)
    ...     images, masks, labels = load_training_shard(Path(d) / 'pairs_00000.npz')
    >>> images.shape
    (2, 64, 64)
    """
    with np.load(path) as data:
        return data["images"], data["masks"], data["labels"]


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


def write_cluster_sample(directory, n_fields, *, shape=(512, 512), seed=0, n_processes=1,
                         progress_bar=False, overwrite=False, mp_context=None,
                         **field_kwargs):
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
    n_processes : int
        Worker processes; the output does not depend on it.
    progress_bar : bool
        Show a tqdm progress bar.
    overwrite : bool
        Allow writing into a directory that already has ``clusters.ecsv``.
    mp_context : str, optional
        Multiprocessing start method (default ``'spawn'``, safe when a deep-learning
        framework is loaded; ``'fork'`` starts faster on Linux).
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
    n_fields = _check_n("n_fields", n_fields)
    n_processes = _check_n("n_processes", n_processes)
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
    per = max(1, min(16, n_fields // (4 * n_processes) or 1))
    tasks = [(str(directory), list(range(i, min(i + per, n_fields))), seeds[i:i + per],
              tuple(shape), field_kwargs) for i in range(0, n_fields, per)]
    results = sorted(_run(tasks, _cluster_field, n_processes, progress_bar, n_fields,
                          "cluster fields", mp_context), key=lambda r: r[0])
    rows = [row for _, _, rs in results for row in rs]
    cat = vstack(rows)
    cat.meta = {"seed": seed, "shape": list(shape)}
    cat.write(cat_path, format="ascii.ecsv", overwrite=True)
    return cat
