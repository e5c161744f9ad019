"""
Train a backbone on simulated LoTSS-like fields.

A `TrainingConfig` says everything about a run: the backbone, the grid and
beam the model works at, the normalisation, how the simulated fields are
made and labelled, the loss, the optimiser and the seed.  `train` turns it
into a model directory: ``<name>.weights.h5``, its model card
``<name>.json`` (with the recipe, the held-out metrics and the weights'
sha256), the config itself and the training curves as a PNG.

Training pairs go through exactly the pipeline used at inference
(`~astropy_radiounet.model_input.prepare_model_input`): each simulated
LoTSS field (1.5" pixels, 6" beam) is resampled to the model's grid,
convolved to its beam and normalised by its local noise.  The truth is the
simulated diffuse emission brought to the same grid and beam, where it
exceeds ``mask_snr`` times the local noise: emission the model can see at
its resolution.
"""

import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import astropy.units as u
import numpy as np

from .beams import GaussianBeam
from .io import read_image
from .model_input import on_model_grid, prepare_model_input
from .modelcard import ModelCard
from .preprocessing import LogNormalisation

__all__ = ["TrainingConfig", "make_training_pair", "make_training_pairs", "train", "calibrate"]

log = logging.getLogger(__name__)

#: Validation tiles use the recipe's seed plus this offset.
VALIDATION_SEED_OFFSET = 1_000_003


@dataclass
class TrainingConfig:
    """
    Everything that defines a training run.

    Parameters
    ----------
    name : str
        Model name; also the file stem of the weights and card.
    backbone : str
        Registered backbone name.
    backbone_config : dict
        Backbone keywords (depth, filters, dropout, ...).
    pixel_scale_arcsec, beam_arcsec : float
        Grid and (circular) beam the model works at.
    snr_max : float
        Normalisation: signal-to-noise ratio that maps to 1.
    noise_box_size : int
        Local-noise box, in model pixels.
    tile_size : int
        Side of the training tiles, in model pixels (a multiple of 2**depth).
    n_train, n_val : int
        Numbers of training and held-out validation tiles.
    mask_snr : float
        Truth: diffuse emission above this many times the local noise, on
        the model's grid and beam.
    field : dict
        Keywords of `~astropy_radiounet.simulation.simulate_field`
        (JSON-serialisable: angles in arcsec, noise in uJy/beam, masses in
        solar masses).
    bce_weight, tversky_weight, tversky_alpha, tversky_beta : float
        Loss: BCE + Tversky with these weights.
    learning_rate : float
        Adam learning rate.
    epochs, batch_size, patience : int
        Maximum epochs, batch size, epochs without validation improvement
        before stopping.
    reduce_lr_patience : int or None
        Epochs without validation improvement after which the learning rate
        is halved (None: a constant learning rate).
    max_minutes : float or None
        Wall-clock budget of the fitting (105 minutes by default, so that the
        default recipe, simulation included, ends within two hours on two
        CPU cores); training stops after an epoch when another one would
        exceed it.  Whatever ends the run, the weights of the epoch with the
        best validation loss are kept.
    seed : int
        Seed of the data and of the weights' initialisation.
    """

    name: str = "unet"
    backbone: str = "unet"
    backbone_config: dict = field(default_factory=lambda: {"depth": 4, "filters": 16,
                                                           "dropout": 0.1})
    pixel_scale_arcsec: float = 6.0
    beam_arcsec: float = 20.0
    snr_max: float = 1000.0
    noise_box_size: int = 64
    tile_size: int = 128
    n_train: int = 2000
    n_val: int = 300
    mask_snr: float = 0.5
    field: dict = field(default_factory=dict)
    bce_weight: float = 1.0
    tversky_weight: float = 1.0
    tversky_alpha: float = 0.5
    tversky_beta: float = 0.5
    learning_rate: float = 1e-3
    epochs: int = 40
    batch_size: int = 16
    patience: int = 6
    reduce_lr_patience: int | None = None
    max_minutes: float | None = 105.0
    seed: int = 0

    def __post_init__(self):
        counts = {"tile_size": self.tile_size, "n_train": self.n_train, "n_val": self.n_val,
                  "epochs": self.epochs, "batch_size": self.batch_size,
                  "patience": self.patience, "noise_box_size": self.noise_box_size}
        if self.reduce_lr_patience is not None:
            counts["reduce_lr_patience"] = self.reduce_lr_patience
        bad = {name: value for name, value in counts.items()
               if isinstance(value, bool) or not isinstance(value, int) or value < 1}
        if bad:
            msg = f"Training config values {bad} must be positive integers."
            raise ValueError(msg)
        if self.n_train < self.batch_size:
            msg = (f"n_train={self.n_train} is smaller than batch_size={self.batch_size}, so "
                   f"not one batch can be formed; raise n_train or lower batch_size.")
            raise ValueError(msg)
        positive = {"pixel_scale_arcsec": self.pixel_scale_arcsec,
                    "beam_arcsec": self.beam_arcsec, "snr_max": self.snr_max,
                    "learning_rate": self.learning_rate}
        bad = {name: value for name, value in positive.items()
               if not (isinstance(value, (int, float)) and value > 0)}
        if bad:
            msg = f"Training config values {bad} must be positive numbers."
            raise ValueError(msg)
        if self.max_minutes is not None and not self.max_minutes >= 0:
            msg = (f"max_minutes={self.max_minutes!r} must be None (no time budget) or >= 0 "
                   f"(0 stops after the first epoch).")
            raise ValueError(msg)

    @classmethod
    def read(cls, path):
        """
        Read a config from JSON; unknown keys are an error.

        A model card is accepted too: its recorded recipe is read, so that
        ``radiounet train CARD.json`` retrains the model the card describes.
        """
        values = json.loads(Path(path).read_text())
        if "backbone" in values and "training" in values and "sha256" in values:
            values = values["training"].get("config")
            if values is None:
                msg = f"The model card {str(path)!r} records no training recipe."
                raise ValueError(msg)
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            msg = (f"Unknown training config keys {sorted(unknown)} in {str(path)!r}; known "
                   f"keys are {sorted(cls.__dataclass_fields__)}.")
            raise ValueError(msg)
        return cls(**values)

    def write(self, path):
        """Write the config as JSON."""
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    def card(self):
        """The model card this config produces (before weights and metrics)."""
        beam = GaussianBeam(self.beam_arcsec * u.arcsec, self.beam_arcsec * u.arcsec)
        return ModelCard(
            name=self.name, backbone=self.backbone, config=dict(self.backbone_config),
            pixel_scale=self.pixel_scale_arcsec * u.arcsec, beam=beam,
            normalisation=LogNormalisation(snr_max=self.snr_max),
            noise_box_size=self.noise_box_size,
            training={"config": asdict(self), "data": "astropy_radiounet.simulation"})

    def field_factor(self):
        """Native (simulated) pixels per model pixel."""
        native = self.field.get("pixel_scale", 1.5)
        return self.pixel_scale_arcsec / native


def _field_keywords(config):
    """simulate_field keywords from the JSON-friendly config."""
    keywords = dict(config.field)
    for name in ("pixel_scale", "beam"):
        if name in keywords:
            keywords[name] = keywords[name] * u.arcsec
    if "noise" in keywords:
        keywords["noise"] = keywords["noise"] * u.uJy / u.beam
    if "mass_range" in keywords:
        keywords["mass_range"] = np.asarray(keywords["mass_range"], dtype=float) * u.Msun
    return keywords


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
        baseline (`~astropy_radiounet.baseline.ClassicalSegmenter`), for
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
    from .simulation import simulate_field

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
    from .baseline import ClassicalSegmenter

    labels = _labels_on_model_grid(simulated, model_input.factor)
    plane = _plane(simulated.image, simulated.header)
    classical = ClassicalSegmenter(card=card).diffuse_on_model_grid(plane)[0]
    return (*pair, np.where(y, labels, 0)[tile].astype(np.int16),
            snr[tile].astype(np.float32), classical[tile])


def _labels_on_model_grid(simulated, factor):
    """The source type covering the largest area of each model pixel."""
    from .resampling import to_model_grid

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
            with ProcessPoolExecutor(n_processes, mp_context=get_context("fork")) as pool:
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


def _augmented_batches(x, y, batch_size, seed):
    """Endless shuffled batches with random flips and 90-degree rotations."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            bx, by = x[index].copy(), y[index].copy()
            for i in range(len(index)):
                k = rng.integers(4)
                flip = rng.integers(2)
                bx[i] = np.rot90(bx[i], k)
                by[i] = np.rot90(by[i], k)
                if flip:
                    bx[i], by[i] = bx[i, :, ::-1], by[i, :, ::-1]
            yield bx, by


def _time_budget_callback(max_minutes):
    """
    A Keras callback that stops training before ``max_minutes`` are exceeded:
    after an epoch, when another epoch as long as the mean so far would not fit.
    """
    import keras

    class TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()
            self.exhausted = False

        def on_epoch_end(self, epoch, logs=None):
            elapsed = time.perf_counter() - self.start
            if (elapsed + elapsed / (epoch + 1)) / 60 > max_minutes:
                self.exhausted = True
                self.model.stop_training = True
                log.info("time budget of %.0f min reached after epoch %d", max_minutes,
                         epoch + 1)

    return TimeBudget()


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
    temporary = path.with_name(path.name + ".part.npz")
    np.savez(temporary, x=x, y=y)
    temporary.replace(path)
    return x, y


def _plot_curves(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", axes[0]), ("iou", axes[1])):
        ax.plot(history.get(key, []), label="training")
        ax.plot(history.get(f"val_{key}", []), label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def train(config, output_dir, *, n_processes=1, progress_bar=True, cache_dir=None,
          overwrite=False):
    """
    Train a model from a config and write its directory.

    Parameters
    ----------
    config : `TrainingConfig` or path
        The recipe (or a JSON file with it).
    output_dir : str or path
        Where the weights, card, config and curves are written (created).
    n_processes : int, optional
        Processes simulating the training data.
    progress_bar : bool, optional
        Show progress of the simulation and the epochs.
    cache_dir : str or path, optional
        Keep the simulated pairs here, keyed by the data recipe, so that a
        rerun with the same recipe does not simulate them again.
    overwrite : bool, optional
        Replace a model of the same name already in ``output_dir``; by
        default that is an error, raised before any work is done.

    Returns
    -------
    card_path : `~pathlib.Path`
    """
    import keras

    from .backbones import get_backbone
    from .calibration import ProbabilityCalibration
    from .evaluation import pixel_metrics
    from .losses import MaskIoU, MaskPrecision, MaskRecall, combined_loss
    from .modelcard import save_model

    if not isinstance(config, TrainingConfig):
        config = TrainingConfig.read(config)
    output_dir = Path(output_dir)
    existing = [path for path in (output_dir / f"{config.name}{suffix}" for suffix in
                                  (".json", ".weights.h5", ".config.json", ".curves.png"))
                if path.exists()]
    if existing and not overwrite:
        msg = (f"{', '.join(str(path) for path in existing)} already exist; choose another "
               f"output directory or config name, or pass overwrite=True.")
        raise FileExistsError(msg)
    output_dir.mkdir(parents=True, exist_ok=True)
    multiple, _ = get_backbone(config.backbone).geometry(config.backbone_config)
    if config.tile_size % multiple:
        msg = (f"tile_size={config.tile_size} must be a multiple of {multiple} for this "
               f"backbone configuration.")
        raise ValueError(msg)
    started = time.perf_counter()
    from_cache = cache_dir is not None and all(
        _cache_path(config, n, seed, cache_dir).is_file()
        for n, seed in ((config.n_train, config.seed),
                        (config.n_val, config.seed + VALIDATION_SEED_OFFSET)))
    x_train, y_train = _cached_pairs(config, config.n_train, config.seed, cache_dir,
                                     n_processes=n_processes, progress_bar=progress_bar)
    x_val, y_val = _cached_pairs(config, config.n_val, config.seed + VALIDATION_SEED_OFFSET,
                                 cache_dir,
                                 n_processes=n_processes, progress_bar=progress_bar)
    simulated = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    card = config.card()
    model = get_backbone(config.backbone).build(card.config)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=combined_loss(bce_weight=config.bce_weight,
                                     tversky_weight=config.tversky_weight,
                                     alpha=config.tversky_alpha, beta=config.tversky_beta),
                  metrics=[MaskIoU(), MaskPrecision(), MaskRecall()])
    steps = max(1, config.n_train // config.batch_size)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience),
        # The best weights so far are on disk after every epoch.
        keras.callbacks.ModelCheckpoint(output_dir / f"{config.name}.best.weights.h5",
                                        monitor="val_loss", save_best_only=True,
                                        save_weights_only=True),
    ]
    if config.reduce_lr_patience is not None:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=config.reduce_lr_patience,
            min_lr=config.learning_rate / 64))
    if config.max_minutes is not None:
        callbacks.append(_time_budget_callback(config.max_minutes))
    history = model.fit(
        _augmented_batches(x_train, y_train, config.batch_size, config.seed),
        steps_per_epoch=steps, epochs=config.epochs, validation_data=(x_val, y_val), shuffle=False,
        validation_batch_size=config.batch_size, verbose=2 if progress_bar else 0,
        callbacks=callbacks)
    # Keep the epoch with the best validation loss, however the run ended.
    best = output_dir / f"{config.name}.best.weights.h5"
    if best.is_file():
        model.load_weights(best)
        best.unlink()
    raw = model.predict(x_val, batch_size=config.batch_size, verbose=0)
    card.calibration = ProbabilityCalibration.fit(y_val, raw)
    card.metrics = {
        # Optimistic: the calibration was fitted on these same validation tiles.
        "validation_pixels": pixel_metrics(y_val, card.calibrate(raw)),
        "validation_note": "measured on the validation tiles the calibration was fitted on",
        "epochs_run": len(history.history["loss"]),
        "best_val_loss": float(min(history.history["val_loss"])),
        # Seconds to simulate the tiles, or to read them from the cache.
        "simulation_seconds": round(simulated - started, 1),
        "tiles_from_cache": from_cache,
        "training_seconds": round(time.perf_counter() - simulated, 1),
        "keras_backend": keras.backend.backend(),
    }
    card_path = save_model(model, card, output_dir, stem=config.name)
    config.write(output_dir / f"{config.name}.config.json")
    _plot_curves(history.history, output_dir / f"{config.name}.curves.png")
    return card_path


def calibrate(weights, *, n_tiles=300, seed=4242, n_processes=1, progress_bar=False):
    """
    Fit a model's probability calibration on fresh held-out tiles and store it.

    The tiles are simulated with the recipe in the card and a seed distinct
    from training, validation and the usual test seed; the calibration
    (`~astropy_radiounet.calibration.ProbabilityCalibration`) replaces any
    previous one in the card, which is rewritten in place.

    Parameters
    ----------
    weights : path
        The model card (.json) or weights (.weights.h5) to calibrate.
    n_tiles : int, optional
        Number of tiles.
    seed : int, optional
        Seed of the tiles.
    n_processes : int, optional
        Processes simulating the tiles.
    progress_bar : bool, optional
        Show the simulation's progress.

    Returns
    -------
    card : `~astropy_radiounet.modelcard.ModelCard`
        The updated card.
    """
    from .calibration import ProbabilityCalibration
    from .modelcard import load_model

    model, card = load_model(weights=weights)
    shipped = Path(__file__).resolve().parent / "models"
    if card.path is not None and Path(card.path).resolve().is_relative_to(shipped):
        msg = (f"{str(card.path)!r} is a model shipped inside the package and is not "
               f"rewritten; copy its card and weights to a directory of your own and "
               f"calibrate the copy.")
        raise ValueError(msg)
    recipe = card.training.get("config")
    if recipe is None or card.path is None:
        msg = (f"The model {card.name!r} has no card file with a training recipe, so no "
               f"held-out data can be simulated to calibrate it.")
        raise ValueError(msg)
    config = TrainingConfig(**recipe)
    if seed in (config.seed, config.seed + VALIDATION_SEED_OFFSET):
        msg = (f"seed={seed} is the seed of the model's training or validation tiles; "
               f"calibrate on tiles it never saw, with another seed.")
        raise ValueError(msg)
    x, y = make_training_pairs(config, n_tiles, seed=seed, n_processes=n_processes,
                               progress_bar=progress_bar)
    raw = model.predict(x, batch_size=config.batch_size, verbose=0)
    card.calibration = ProbabilityCalibration.fit(y, raw)
    card.training["calibration"] = (f"centred isotonic fit on {n_tiles} simulated tiles of the "
                                    f"recipe, seed {seed}")
    card.metrics["after_calibration"] = (
        "the calibration was refitted after the metrics and the detection-ratio threshold "
        "in this card were measured: remeasure them (benchmarks/model_quality.py)")
    card.write(card.path)
    return card
