"""
Training pairs: one (input, truth) tile on the model's grid from one simulated field,
and training sets of them written to disk.

Training pairs go through exactly the pipeline used at inference
(`~astropy_radiounet.segmentation.prepare_model_input`): each simulated
LoTSS field (1.5" pixels, 6" beam) is resampled to the model's grid,
convolved to its beam and normalised by its local noise, and its input
channels are read as the segmenter reads them
(`~astropy_radiounet.segmentation.ModelInput.network_input`).  The truth is
the simulated diffuse emission brought to the same grid and beam, where it
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
           "read_training_set", "training_pairs", "data_recipe", "simulated_plane",
           "truth_level"]


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


def make_training_pair(config, seed, *, details=False, hard_negatives=False):
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
    hard_negatives : bool, optional
        Also return the hard negatives: pixels outside the truth on a radio
        galaxy or an artefact (see ``TrainingConfig.hard_negative_level``).

    Returns
    -------
    x : `~numpy.ndarray`
        Normalised input, float32 (tile_size, tile_size) for a recipe of the
        one ``'image'`` channel, else (tile_size, tile_size, n_channels), the
        channels in the order of ``config.input_channels``.
    y : `~numpy.ndarray`
        Truth mask, float32 0/1, (tile_size, tile_size).
    labels, snr, baseline : `~numpy.ndarray`
        With ``details``: the diffuse source type
        (`~astropy_radiounet.simulation.LABELS`, 0 for none) covering most of
        each model pixel, the diffuse emission over the local noise (for a
        recipe of ``input_beams_arcsec``, over ``truth_level / mask_snr``
        times it, so that ``snr > mask_snr`` is the truth at every beam), and
        the baseline's mask (float32 0/1).
    hard : `~numpy.ndarray`
        With ``hard_negatives`` (last): the hard negatives, float32 0/1.

    Examples
    --------
    >>> from astropy_radiounet.training import TrainingConfig, make_training_pair
    >>> config = TrainingConfig(tile_size=32, n_train=2, batch_size=2,
    ...                         input_channels=("image", "peak_snr"))
    >>> x, y = make_training_pair(config, 7)
    >>> x.shape, y.shape
    ((32, 32, 2), (32, 32))
    """
    from ..simulation import simulate_field

    beam = config.input_beam(seed)
    size = int(np.ceil(config.tile_size * config.field_factor(beam)))
    simulated = simulate_field((size, size), seed=seed, **_field_keywords(config, beam))
    card = config.card()
    model_input = prepare_model_input(simulated_plane(simulated), card)
    x = model_input.network_input()
    if x.shape[-1] == 1:
        x = x[..., 0]
    diffuse = on_model_grid(simulated_plane(simulated, simulated.diffuse_sky),
                            model_input.card, model_input.factor)
    values, valid = diffuse.read()
    snr = np.where(valid, values / model_input.noise(), 0.0)
    if config.input_beams_arcsec is not None:  # one surface brightness at every beam
        snr *= config.mask_snr / truth_level(config.mask_snr, card, model_input.card)
    y = snr > config.mask_snr
    tile = (slice(0, config.tile_size),) * 2
    pair = (x[tile].astype(np.float32), y[tile].astype(np.float32))
    hard = ()
    if hard_negatives:
        hard = (_hard_negatives(simulated, model_input.factor, config.hard_negative_level,
                                y)[tile],)
    if not details:
        return (*pair, *hard)
    from ..segmentation.classical import ClassicalSegmenter

    labels = _labels_on_model_grid(simulated, model_input.factor)
    plane = simulated_plane(simulated)
    classical = ClassicalSegmenter(card=card).diffuse_on_model_grid(plane)[0]
    return (*pair, np.where(y, labels, 0)[tile].astype(np.int16),
            snr[tile].astype(np.float32), classical[tile], *hard)


def truth_level(mask_snr, card, applied):
    """
    The signal-to-noise ratio above which diffuse emission is truth, on the
    grid of ``applied``: the card itself, or the card scaled to a wider
    input beam (`~astropy_radiounet.models.ModelCard.at_beam`).

    ``mask_snr`` is the level at the card's own beam.  On a grid scaled
    ``k`` times, the noise per beam of the LoTSS sky smoothed to the wider
    beam is ``k`` times higher and a beam holds ``k**2`` times the surface
    brightness, so the level is ``k * mask_snr``: the truth is the same
    surface brightness at every input beam, not ever fainter emission.

    Parameters
    ----------
    mask_snr : float
        The level at ``card``'s beam (``TrainingConfig.mask_snr``).
    card, applied : `~astropy_radiounet.models.ModelCard`
        The model's card and the one applied to the image.

    Returns
    -------
    level : float
        ``mask_snr`` times the ratio of the beams of ``applied`` and ``card``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.models import find_card
    >>> from astropy_radiounet.training import truth_level
    >>> card = find_card("v0.2")
    >>> truth_level(0.5, card, card), truth_level(0.5, card, card.at_beam(Beam(60 * u.arcsec)))
    (0.5, 1.5)
    """
    if applied is card or card.beam is None:
        return float(mask_snr)
    return float(mask_snr * (applied.beam.major / card.beam.major).decompose().value)


def _hard_negatives(simulated, factor, level, truth):
    """
    Model pixels outside the truth touched by a radio galaxy's footprint or
    an artefact above ``level`` times the local noise (float32 0/1).
    """
    from ..image.resampling import to_model_grid

    hard = simulated.radio_galaxy_footprints(level=level) > 0
    with np.errstate(invalid="ignore"):
        hard |= np.abs(simulated.artefacts) > level * simulated.rms
    touched = to_model_grid(simulated_plane(simulated, hard), factor).values > 0
    return (touched & ~truth).astype(np.float32)


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
    config, seeds, details, hard_negatives = task
    return [make_training_pair(config, seed, details=details, hard_negatives=hard_negatives)
            for seed in seeds]


def make_training_pairs(config, n, *, seed, parallel=False, progress_bar=False, details=False,
                        hard_negatives=False):
    """
    Many training pairs, deterministic by seed whatever ``parallel`` is.

    With ``details``, the per-pixel source types, signal-to-noise ratios and
    baseline masks of `make_training_pair` are returned too, and with
    ``hard_negatives`` its hard negatives (last).

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
    hard_negatives : bool, optional
        Also return the hard negatives of `make_training_pair`.

    Returns
    -------
    x : `~numpy.ndarray`
        Array of shape (n, tile, tile, n_channels).
    y : `~numpy.ndarray`
        Array of shape (n, tile, tile, 1).
    labels, snr, baseline : `~numpy.ndarray`
        With ``details``: arrays of shape (n, tile, tile).
    hard : `~numpy.ndarray`
        With ``hard_negatives``: array of shape (n, tile, tile, 1).
    """
    from tqdm.auto import tqdm

    parallel = check_parallel(parallel)
    seeds = np.random.SeedSequence(seed).spawn(n)
    tasks = [(config, seeds[i:i + 16], details, hard_negatives) for i in range(0, n, 16)]
    with tqdm(total=n, desc="simulating", unit="tile", disable=not progress_bar) as bar:
        results = map_tasks(_pairs_worker, tasks, parallel,
                            on_done=lambda task: bar.update(len(task[1])))
    pairs = [pair for chunk in results for pair in chunk]
    x = np.stack([p[0] for p in pairs])
    if x.ndim == 3:  # the one 'image' channel
        x = x[..., np.newaxis]
    y = np.stack([p[1] for p in pairs])[..., np.newaxis]
    extra = [np.stack([p[k] for p in pairs]) for k in (2, 3, 4)] if details else []
    if hard_negatives:
        extra.append(np.stack([p[-1] for p in pairs])[..., np.newaxis])
    return (x, y, *extra)


#: The TrainingConfig values that determine a pair (the data recipe); a
#: training set records them and is used only with a config that agrees.
DATA_RECIPE_KEYS = ("pixel_scale_arcsec", "beam_arcsec", "snr_max", "noise_box_size",
                    "tile_size", "mask_snr", "field", "input_channels", "hard_negative_level",
                    "input_beams_arcsec")

#: What a training set written before an entry of the data recipe existed was
#: made with (its manifest lacks the entry).
RECIPE_WHEN_ABSENT = {"input_channels": ["image"], "hard_negative_level": None,
                      "input_beams_arcsec": None}

#: The manifest of a written training set.
MANIFEST = "training_set.json"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def data_recipe(config):
    """
    The values of a `TrainingConfig` that determine its training pairs.

    ``input_channels`` is a list, and ``hard_negative_level`` is `None` when
    the recipe does not weigh hard negatives (no hard negatives are made).
    """
    values = asdict(config)
    values["input_channels"] = list(config.input_channels)
    if config.input_beams_arcsec is not None:  # floats already (TrainingConfig.check)
        values["input_beams_arcsec"] = list(config.input_beams_arcsec)
    if not config.hard_negatives:
        values["hard_negative_level"] = None
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
    mask, uint8), each of shape ``(m, tile_size, tile_size)`` (``x`` of
    ``(m, tile_size, tile_size, n_channels)`` for a recipe of several input
    channels), with ``hard`` (uint8, the hard negatives) when the recipe
    weighs them, and a manifest (``training_set.json``) with the data recipe
    (its ``input_channels`` among it), ``n`` and ``seed``.  Pair ``i`` is the
    same whatever ``parallel`` and ``shard_size``.

    Parameters
    ----------
    directory : str or path
        Output directory (created).
    config : `TrainingConfig`
        The recipe; only its data recipe (grid, beam, normalisation, input
        channels, tile size, truth level, field keywords, hard-negative
        level) matters.
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
    pairs = make_training_pairs(config, n, seed=seed, parallel=parallel,
                                progress_bar=progress_bar, hard_negatives=config.hard_negatives)
    directory.mkdir(parents=True, exist_ok=True)
    for path in existing:
        path.unlink()
    shards = _write_shards(directory, _shard_arrays(pairs), n, shard_size)
    manifest = {"recipe": data_recipe(config), "n": n, "seed": seed, "shards": shards,
                "generator": "astropy_radiounet.training.write_training_set"}
    with atomic_write(directory / MANIFEST) as temporary:
        temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _shard_arrays(pairs):
    """The arrays of a training set as its shards hold them, from `make_training_pairs`."""
    arrays = dict(zip(("x", "y", "hard"), pairs))
    if arrays["x"].shape[-1] == 1:  # one channel: stored as before channels existed
        arrays["x"] = arrays["x"][..., 0]
    for key in ("y", "hard"):
        if key in arrays:
            arrays[key] = arrays[key][..., 0].astype(np.uint8)
    return arrays


def _write_shards(directory, arrays, n, shard_size):
    """Write ``arrays`` (name -> array of ``n`` pairs) in shards; return their file names."""
    shards = []
    for k, start in enumerate(range(0, n, shard_size)):
        shards.append(f"pairs_{k:05d}.npz")
        _save_npz(directory / shards[-1],
                  {key: value[start:start + shard_size] for key, value in arrays.items()},
                  compress=("y", "hard"))
    return shards


def read_training_set(directory, config=None, *, hard_negatives=False):
    """
    Read a training set written by `write_training_set`.

    Parameters
    ----------
    directory : str or path
        The training set.
    config : `TrainingConfig`, optional
        When given, the set must have been made with this data recipe.
    hard_negatives : bool, optional
        Also return the hard negatives (a set made with a recipe that weighs
        them has them).

    Returns
    -------
    x : `~numpy.ndarray`
        float32 array of shape (n, tile, tile, n_channels), as
        `make_training_pairs` returns it.
    y : `~numpy.ndarray`
        float32 array of shape (n, tile, tile, 1).
    hard : `~numpy.ndarray`
        With ``hard_negatives``: float32 array of shape (n, tile, tile, 1).

    Raises
    ------
    ValueError
        If ``directory`` holds no training set, one made with another data
        recipe than ``config``'s (the differing values are named), or one
        without hard negatives when they are asked for.
    """
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        msg = (f"{str(directory)!r} holds no readable training set ({MANIFEST}: {exc}); "
               f"write one with write_training_set or 'radiounet simulate training-set'.")
        raise ValueError(msg) from exc
    recipe = {**RECIPE_WHEN_ABSENT, **manifest["recipe"]}
    if config is not None:
        wanted = json.loads(json.dumps(data_recipe(config)))
        differing = [f"{key} is {recipe.get(key)!r} there and {wanted[key]!r} "
                     f"in the config" for key in DATA_RECIPE_KEYS
                     if recipe.get(key) != wanted[key]]
        if differing:
            msg = (f"The training set {str(directory)!r} was made with another data recipe "
                   f"({'; '.join(differing)}); make it again with this config "
                   f"('radiounet simulate training-set --config ...').")
            raise ValueError(msg)
    if hard_negatives and recipe["hard_negative_level"] is None:
        msg = (f"The training set {str(directory)!r} has no hard negatives: it was made with "
               f"a recipe of hard_negative_weight 1; make it again with the recipe that "
               f"weighs them.")
        raise ValueError(msg)
    keys = ("x", "y", "hard") if hard_negatives else ("x", "y")
    parts = {key: [] for key in keys}
    for name in manifest["shards"]:
        with np.load(directory / name) as shard:
            for key in keys:
                parts[key].append(shard[key])
    arrays = [np.concatenate(parts[key]).astype(np.float32) for key in keys]
    if arrays[0].ndim == 3:  # one channel
        arrays[0] = arrays[0][..., np.newaxis]
    return (arrays[0], *(array[..., np.newaxis] for array in arrays[1:]))


def training_pairs(config, n, *, seed, cache_dir=None, parallel=False, progress_bar=False,
                   hard_negatives=False):
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
    hard_negatives : bool, optional
        Also return the hard negatives (for a recipe that weighs them).

    Returns
    -------
    x, y : `~numpy.ndarray`
        float32 arrays of shape (n, tile, tile, n_channels) and (n, tile, tile, 1).
    hard : `~numpy.ndarray`
        With ``hard_negatives``: float32 array of shape (n, tile, tile, 1).
    """
    if cache_dir is None:
        return make_training_pairs(config, n, seed=seed, parallel=parallel,
                                   progress_bar=progress_bar, hard_negatives=hard_negatives)
    directory = cached_set_path(config, n, seed, cache_dir)
    if not (directory / MANIFEST).is_file():
        write_training_set(directory, config, n, seed=seed, parallel=parallel,
                           progress_bar=progress_bar, overwrite=True)
    return read_training_set(directory, config, hard_negatives=hard_negatives)


def cached_set_path(config, n, seed, cache_dir):
    """Where `training_pairs` keeps the pairs of this data recipe, number and seed."""
    import hashlib

    # Entries at their value of before they existed are left out, so that a
    # cache made then is still found.
    recipe = {key: value for key, value in data_recipe(config).items()
              if key not in RECIPE_WHEN_ABSENT or value != RECIPE_WHEN_ABSENT[key]}
    key = hashlib.sha256(json.dumps([recipe, n, seed], sort_keys=True).encode()).hexdigest()
    return Path(cache_dir) / f"pairs_{key[:16]}"
