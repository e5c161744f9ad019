"""
Training pairs: one (input, truth) tile on the model's grid from one simulated field,
and training sets of them written to disk.

Training pairs go through exactly the pipeline used at inference
(`~astropy_radiounet.segmentation.prepare_model_input`): each simulated
LoTSS field (1.5" pixels, 6" beam) is resampled to the model's grid,
convolved to its beam and normalised by its local noise.  The truth is the
simulated diffuse emission brought to the same grid and beam, where it
exceeds ``mask_snr`` times the local noise: emission the model can see at
its resolution.
"""

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..image.beams import beam_from_header
from ..image.plane import ImagePlane
from ..segmentation.model_input import on_model_grid, prepare_model_input
from ..utils.files import atomic_write
from ..utils.parallel import check_parallel, map_tasks
from .config import _field_keywords


__all__ = ["make_training_pair", "make_training_pairs", "write_training_set",
           "read_training_set", "training_pairs", "data_recipe", "simulated_plane"]


def simulated_plane(field, data=None):
    """
    An image plane of a simulated field (or of another map on its grid).

    Parameters
    ----------
    field : `~astropy_radiounet.simulation.SimulatedField`
        The field; its WCS and beam are used.
    data : array_like, optional
        A map on the field's grid (its diffuse sky, its labels, ...); the
        field's image by default.

    Returns
    -------
    plane : `~astropy_radiounet.image.ImagePlane`
        float32 values in Jy/beam.
    """
    values = field.image if data is None else data
    return ImagePlane.from_array(np.asarray(values, dtype=np.float32), wcs=field.wcs,
                                 beam=beam_from_header(field.header))


def make_training_pair(config, seed, *, details=False):
    """
    One (input, truth) tile on the model grid.

    Parameters
    ----------
    config : `TrainingConfig`
        The recipe.
    seed : int or `numpy.random.SeedSequence`
        Seed of the simulated field.
    details : bool, optional
        Also return the source type and the signal-to-noise ratio of the
        diffuse emission at each pixel, and the mask of the classical
        baseline (`~astropy_radiounet.segmentation.ClassicalSegmenter`), for
        evaluation.

    Returns
    -------
    x : `~numpy.ndarray`
        Normalised input, float32 (tile_size, tile_size).
    y : `~numpy.ndarray`
        Truth mask, float32 0/1, same shape.
    labels, snr, baseline : `~numpy.ndarray`
        With ``details``: the diffuse source type
        (`~astropy_radiounet.simulation.LABELS`, 0 for none) covering most of
        each model pixel, the diffuse emission over the local noise, and the
        baseline's mask (float32 0/1).
    """
    from ..simulation import simulate_field

    size = int(np.ceil(config.tile_size * config.field_factor()))
    simulated = simulate_field((size, size), seed=seed, **_field_keywords(config))
    card = config.card()
    model_input = prepare_model_input(simulated_plane(simulated), card)
    x = model_input.normalised()
    diffuse = on_model_grid(simulated_plane(simulated, simulated.diffuse_sky), card,
                            model_input.factor)
    values, valid = diffuse.read()
    snr = np.where(valid, values / model_input.noise(), 0.0)
    y = snr > config.mask_snr
    tile = (slice(0, config.tile_size),) * 2
    pair = (x[tile].astype(np.float32), y[tile].astype(np.float32))
    if not details:
        return pair
    from ..segmentation.classical import ClassicalSegmenter

    labels = _labels_on_model_grid(simulated, model_input.factor)
    plane = simulated_plane(simulated)
    classical = ClassicalSegmenter(card=card).diffuse_on_model_grid(plane)[0]
    return (*pair, np.where(y, labels, 0)[tile].astype(np.int16),
            snr[tile].astype(np.float32), classical[tile])


def _labels_on_model_grid(simulated, factor):
    """The source type covering the largest area of each model pixel."""
    from ..image.resampling import to_model_grid

    codes = [code for code in np.unique(simulated.labels) if code > 0]
    if not codes:
        return np.zeros(to_model_grid(simulated_plane(simulated, simulated.labels),
                                      factor).shape, dtype=np.int16)
    areas = [to_model_grid(simulated_plane(simulated, simulated.labels == code), factor).values
             for code in codes]
    best = np.argmax(np.stack(areas), axis=0)
    return np.where(np.max(np.stack(areas), axis=0) > 0, np.asarray(codes)[best], 0)


def _pairs_worker(task):
    config, seeds, details = task
    return [make_training_pair(config, seed, details=details) for seed in seeds]


def make_training_pairs(config, n, *, seed, parallel=False, progress_bar=False, details=False):
    """
    Many training pairs, deterministic by seed whatever ``parallel`` is.

    With ``details``, the per-pixel source types, signal-to-noise ratios and
    baseline masks of `make_training_pair` are returned too.

    Parameters
    ----------
    config : `TrainingConfig`
        The recipe.
    n : int
        Number of pairs.
    seed : int
        Pair ``i`` is made from ``SeedSequence(seed).spawn(n)[i]``.
    parallel : bool, int or 'current-scheduler', optional
        Local processes (`True`: one per core) or the active dask scheduler
        (see `~astropy_radiounet.utils.run_tasks`); serial by default.
    progress_bar : bool, optional
        Show the simulation's progress.
    details : bool, optional
        Also return the details of `make_training_pair`.

    Returns
    -------
    x, y : `~numpy.ndarray`
        Arrays of shape (n, tile, tile, 1).
    labels, snr, baseline : `~numpy.ndarray`
        With ``details``: arrays of shape (n, tile, tile).
    """
    from tqdm.auto import tqdm

    parallel = check_parallel(parallel)
    seeds = np.random.SeedSequence(seed).spawn(n)
    tasks = [(config, seeds[i:i + 16], details) for i in range(0, n, 16)]
    with tqdm(total=n, desc="simulating", unit="tile", disable=not progress_bar) as bar:
        results = map_tasks(_pairs_worker, tasks, parallel,
                            on_done=lambda task: bar.update(len(task[1])))
    pairs = [pair for chunk in results for pair in chunk]
    x = np.stack([p[0] for p in pairs])[..., np.newaxis]
    y = np.stack([p[1] for p in pairs])[..., np.newaxis]
    if not details:
        return x, y
    return (x, y, *(np.stack([p[k] for p in pairs]) for k in (2, 3, 4)))


#: The TrainingConfig values that determine a pair (the data recipe); a
#: training set records them and is used only with a config that agrees.
DATA_RECIPE_KEYS = ("pixel_scale_arcsec", "beam_arcsec", "snr_max", "noise_box_size",
                    "tile_size", "mask_snr", "field")

#: The manifest of a written training set.
MANIFEST = "training_set.json"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def data_recipe(config):
    """The values of a `TrainingConfig` that determine its training pairs."""
    values = asdict(config)
    return {key: values[key] for key in DATA_RECIPE_KEYS}


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


def write_training_set(directory, config, n, *, seed, parallel=False, shard_size=256,
                       progress_bar=False, overwrite=False):
    """
    Simulate ``n`` training pairs of a recipe and write them as a training set.

    The set is what `~astropy_radiounet.training.train` reads with
    ``training_set=`` (``radiounet train --training-set``), and the form in
    which ``train(cache_dir=...)`` keeps its pairs: ``.npz`` shards
    ``pairs_NNNNN.npz`` of ``x`` (normalised input, float32) and ``y`` (truth
    mask, uint8), each of shape ``(m, tile_size, tile_size)``, and a manifest
    (``training_set.json``) with the data recipe, ``n`` and ``seed``.  Pair
    ``i`` is the same whatever ``parallel`` and ``shard_size``.

    Parameters
    ----------
    directory : str or path
        Output directory (created).
    config : `TrainingConfig`
        The recipe; only its data recipe (grid, beam, normalisation, tile
        size, truth level, field keywords) matters.
    n : int
        Number of pairs.
    seed : int
        Seed of the pairs (use another one than the recipe's validation seed).
    parallel : bool, int or 'current-scheduler', optional
        Where the pairs are simulated (see `make_training_pairs`); the
        result does not depend on it.
    shard_size : int, optional
        Pairs per shard.
    progress_bar : bool, optional
        Show the simulation's progress.
    overwrite : bool, optional
        Replace a training set already in ``directory``.

    Returns
    -------
    manifest : dict
        What ``training_set.json`` holds.

    Raises
    ------
    `~astropy_radiounet.exceptions.OutputExistsError`
        If ``directory`` holds a training set and ``overwrite`` is `False`.

    Examples
    --------
    >>> import tempfile
    >>> from astropy_radiounet.training import TrainingConfig, read_training_set
    >>> config = TrainingConfig(tile_size=32, n_train=2, batch_size=2)
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     _ = write_training_set(directory, config, 2, seed=1)
    ...     x, y = read_training_set(directory, config)
    >>> x.shape, y.dtype.name
    ((2, 32, 32, 1), 'float32')
    """
    from ..exceptions import OutputExistsError
    from ..utils.validation import PositiveInteger

    n = PositiveInteger().validate(n, "n")
    shard_size = PositiveInteger().validate(shard_size, "shard_size")
    directory = Path(directory)
    existing = sorted([*directory.glob(MANIFEST), *directory.glob("pairs_*.npz")])
    if existing and not overwrite:
        raise OutputExistsError(existing)
    x, y = make_training_pairs(config, n, seed=seed, parallel=parallel,
                               progress_bar=progress_bar)
    directory.mkdir(parents=True, exist_ok=True)
    for path in existing:
        path.unlink()
    shards = []
    for k, start in enumerate(range(0, n, shard_size)):
        shards.append(f"pairs_{k:05d}.npz")
        _save_npz(directory / shards[-1], {"x": x[start:start + shard_size, ..., 0],
                                           "y": y[start:start + shard_size, ..., 0]
                                           .astype(np.uint8)}, compress=("y",))
    manifest = {"recipe": data_recipe(config), "n": n, "seed": seed, "shards": shards,
                "generator": "astropy_radiounet.training.write_training_set"}
    with atomic_write(directory / MANIFEST) as temporary:
        temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def read_training_set(directory, config=None):
    """
    Read a training set written by `write_training_set`.

    Parameters
    ----------
    directory : str or path
        The training set.
    config : `TrainingConfig`, optional
        When given, the set must have been made with this data recipe.

    Returns
    -------
    x, y : `~numpy.ndarray`
        float32 arrays of shape (n, tile, tile, 1), as
        `make_training_pairs` returns them.

    Raises
    ------
    ValueError
        If ``directory`` holds no training set, or one made with another
        data recipe than ``config``'s (the differing values are named).
    """
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        msg = (f"{str(directory)!r} holds no readable training set ({MANIFEST}: {exc}); "
               f"write one with write_training_set or 'radiounet simulate training-set'.")
        raise ValueError(msg) from exc
    if config is not None:
        wanted = json.loads(json.dumps(data_recipe(config)))
        differing = [f"{key} is {manifest['recipe'].get(key)!r} there and {wanted[key]!r} "
                     f"in the config" for key in DATA_RECIPE_KEYS
                     if manifest["recipe"].get(key) != wanted[key]]
        if differing:
            msg = (f"The training set {str(directory)!r} was made with another data recipe "
                   f"({'; '.join(differing)}); make it again with this config "
                   f"('radiounet simulate training-set --config ...').")
            raise ValueError(msg)
    xs, ys = [], []
    for name in manifest["shards"]:
        with np.load(directory / name) as shard:
            xs.append(shard["x"])
            ys.append(shard["y"])
    x = np.concatenate(xs).astype(np.float32)[..., np.newaxis]
    return x, np.concatenate(ys).astype(np.float32)[..., np.newaxis]


def training_pairs(config, n, *, seed, cache_dir=None, parallel=False, progress_bar=False):
    """
    ``n`` training pairs of a recipe, kept as a training set in ``cache_dir``.

    Parameters
    ----------
    config, n, seed
        The recipe, number of pairs and seed, as for `make_training_pairs`.
    cache_dir : str or path, optional
        With it, the pairs are a training set (`write_training_set`) in a
        subdirectory named after the data recipe, ``n`` and ``seed``: read
        when it exists, written otherwise.
    parallel : bool, int or 'current-scheduler', optional
        Where the pairs are simulated (see `make_training_pairs`).
    progress_bar : bool, optional
        Show the simulation's progress.

    Returns
    -------
    x, y : `~numpy.ndarray`
        float32 arrays of shape (n, tile, tile, 1).
    """
    if cache_dir is None:
        return make_training_pairs(config, n, seed=seed, parallel=parallel,
                                   progress_bar=progress_bar)
    directory = cached_set_path(config, n, seed, cache_dir)
    if not (directory / MANIFEST).is_file():
        write_training_set(directory, config, n, seed=seed, parallel=parallel,
                           progress_bar=progress_bar, overwrite=True)
    return read_training_set(directory, config)


def cached_set_path(config, n, seed, cache_dir):
    """Where `training_pairs` keeps the pairs of this data recipe, number and seed."""
    import hashlib

    key = hashlib.sha256(json.dumps([data_recipe(config), n, seed],
                                    sort_keys=True).encode()).hexdigest()
    return Path(cache_dir) / f"pairs_{key[:16]}"
