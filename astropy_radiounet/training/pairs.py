"""
Training pairs: one (input, truth) tile on the model's grid from one simulated field.

Training pairs go through exactly the pipeline used at inference
(`~astropy_radiounet.segmentation.prepare_model_input`): each simulated
LoTSS field (1.5" pixels, 6" beam) is resampled to the model's grid,
convolved to its beam and normalised by its local noise.  The truth is the
simulated diffuse emission brought to the same grid and beam, where it
exceeds ``mask_snr`` times the local noise: emission the model can see at
its resolution.
"""

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..image.read import read_image
from ..segmentation.model_input import on_model_grid, prepare_model_input
from ..utils.files import atomic_write
from ..utils.parallel import process_pool
from .config import _field_keywords


__all__ = ["make_training_pair", "make_training_pairs"]


def _plane(data, header):
    from astropy.io import fits

    return read_image(fits.PrimaryHDU(np.asarray(data, dtype=np.float32), header=header))


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
    model_input = prepare_model_input(_plane(simulated.image, simulated.header), card)
    x = model_input.normalised()
    diffuse = on_model_grid(_plane(simulated.diffuse_sky, simulated.header), card,
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
    plane = _plane(simulated.image, simulated.header)
    classical = ClassicalSegmenter(card=card).diffuse_on_model_grid(plane)[0]
    return (*pair, np.where(y, labels, 0)[tile].astype(np.int16),
            snr[tile].astype(np.float32), classical[tile])


def _labels_on_model_grid(simulated, factor):
    """The source type covering the largest area of each model pixel."""
    from ..image.resampling import to_model_grid

    codes = [code for code in np.unique(simulated.labels) if code > 0]
    if not codes:
        return np.zeros(to_model_grid(_plane(simulated.labels, simulated.header),
                                      factor).shape, dtype=np.int16)
    areas = [to_model_grid(_plane(simulated.labels == code, simulated.header), factor).values
             for code in codes]
    best = np.argmax(np.stack(areas), axis=0)
    return np.where(np.max(np.stack(areas), axis=0) > 0, np.asarray(codes)[best], 0)


def _pairs_worker(config, seeds, details=False):
    return [make_training_pair(config, seed, details=details) for seed in seeds]


def make_training_pairs(config, n, *, seed, n_processes=1, progress_bar=False, details=False):
    """
    Many training pairs, deterministic by seed whatever the number of processes.

    With ``details``, the per-pixel source types, signal-to-noise ratios and
    baseline masks of `make_training_pair` are returned too.

    Returns
    -------
    x, y : `~numpy.ndarray`
        Arrays of shape (n, tile, tile, 1).
    labels, snr, baseline : `~numpy.ndarray`
        With ``details``: arrays of shape (n, tile, tile).
    """
    from tqdm.auto import tqdm

    seeds = np.random.SeedSequence(seed).spawn(n)
    chunks = [seeds[i:i + 16] for i in range(0, n, 16)]
    results = []
    with tqdm(total=n, desc="simulating", unit="tile", disable=not progress_bar) as bar:
        if n_processes <= 1:
            for chunk in chunks:
                results.append(_pairs_worker(config, chunk, details))
                bar.update(len(chunk))
        else:
            with process_pool(n_processes) as pool:
                for chunk_result in pool.map(_pairs_worker, [config] * len(chunks), chunks,
                                             [details] * len(chunks)):
                    results.append(chunk_result)
                    bar.update(len(chunk_result))
    pairs = [pair for chunk in results for pair in chunk]
    x = np.stack([p[0] for p in pairs])[..., np.newaxis]
    y = np.stack([p[1] for p in pairs])[..., np.newaxis]
    if not details:
        return x, y
    return (x, y, *(np.stack([p[k] for p in pairs]) for k in (2, 3, 4)))


def _cache_path(config, n, seed, cache_dir):
    """Where the pairs of this data recipe, number and seed are cached."""
    import hashlib

    recipe = {key: value for key, value in asdict(config).items()
              if key in ("pixel_scale_arcsec", "beam_arcsec", "snr_max", "noise_box_size",
                         "tile_size", "mask_snr", "field")}
    key = hashlib.sha256(json.dumps([recipe, n, seed], sort_keys=True).encode()).hexdigest()
    return Path(cache_dir) / f"pairs_{key[:16]}.npz"


def _cached_pairs(config, n, seed, cache_dir, **kwargs):
    """Simulated pairs, read from or written to ``cache_dir`` when given."""
    if cache_dir is None:
        return make_training_pairs(config, n, seed=seed, **kwargs)
    path = _cache_path(config, n, seed, cache_dir)
    if path.is_file():
        with np.load(path) as cached:
            return cached["x"], cached["y"]
    x, y = make_training_pairs(config, n, seed=seed, **kwargs)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as temporary:
        np.savez(temporary, x=x, y=y)
    return x, y
