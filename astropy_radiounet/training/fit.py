"""
Fit a backbone to simulated LoTSS-like fields, and calibrate its probabilities.

`train` turns a `~astropy_radiounet.training.TrainingConfig` into a model
directory: ``<name>.weights.h5``, its model card ``<name>.json`` (with the
recipe, the held-out metrics and the weights' sha256), the config itself and the
training curves as a PNG.  `calibrate` refits the probability calibration of a
trained model on fresh simulated tiles.
"""

import logging
import time
from pathlib import Path

import numpy as np

from ..evaluation.metrics import pixel_metrics
from ..exceptions import OutputExistsError
from ..models.pretrained import MODELS_DIR
from ..utils.validation import PositiveInteger
from .config import TrainingConfig, VALIDATION_SEED_OFFSET
from .pairs import (MANIFEST, cached_set_path, make_training_pairs, read_training_set,
                    training_pairs)


log = logging.getLogger(__name__)

__all__ = ["train", "calibrate"]


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


def train(config, output_dir, *, parallel=False, progress_bar=True, cache_dir=None,
          training_set=None, overwrite=False):
    """
    Train a model from a config and write its directory.

    The network starts from random weights, or from a trained model when
    ``config.warm_start`` names one (`~astropy_radiounet.training.warm_start_model`:
    its weights, with zero input kernels for the channels it lacks); the loss
    weighs hard negatives when ``config.hard_negative_weight`` is not 1.

    Parameters
    ----------
    config : `TrainingConfig` or path
        The recipe (or a JSON file with it).
    output_dir : str or path
        Where the weights, card, config and curves are written (created).
    parallel : bool, int or 'current-scheduler', optional
        Where the training data are simulated: local processes (`True`: one
        per core) or the active dask scheduler (see
        `~astropy_radiounet.utils.run_tasks`); serial by default.
    progress_bar : bool, optional
        Show progress of the simulation and the epochs.
    cache_dir : str or path, optional
        Keep the simulated pairs here as training sets, keyed by the data
        recipe, so that a rerun with the same recipe does not simulate them
        again.
    training_set : str or path, optional
        Train on this training set (`write_training_set`, ``radiounet
        simulate training-set``) instead of ``n_train`` pairs simulated with
        the recipe's seed; it must have been made with the config's data
        recipe.  The validation pairs are simulated as always.
    overwrite : bool, optional
        Replace a model of the same name already in ``output_dir``; by
        default that is an error, raised before any work is done.

    Returns
    -------
    card_path : `~pathlib.Path`
    """
    import keras

    from ..models.calibration import ProbabilityCalibration
    from ..models.card import save_model

    if not isinstance(config, TrainingConfig):
        config = TrainingConfig.read(config)
    config.check()  # again: a config's settings can be changed after it was made
    output_dir = Path(output_dir)
    _check_before_work(config, output_dir, overwrite)
    started = time.perf_counter()
    (x_train, y_train), (x_val, y_val), from_cache = _training_data(
        config, cache_dir, training_set, parallel=parallel, progress_bar=progress_bar)
    simulated = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    card = config.card()
    if training_set is not None:
        card.training["training_set"] = {"path": str(training_set), "n": len(x_train)}
    model = _compiled_model(config, card)
    truth_val = y_val[..., :1]  # without the pixel weights, if any
    steps = max(1, len(x_train) // config.batch_size)
    history = model.fit(
        _augmented_batches(x_train, y_train, config.batch_size, config.seed),
        steps_per_epoch=steps, epochs=config.epochs, validation_data=(x_val, y_val), shuffle=False,
        validation_batch_size=config.batch_size, verbose=2 if progress_bar else 0,
        callbacks=_callbacks(config, output_dir))
    # Keep the epoch with the best validation loss, however the run ended.
    best = output_dir / f"{config.name}.best.weights.h5"
    if best.is_file():
        model.load_weights(best)
        best.unlink()
    raw = model.predict(x_val, batch_size=config.batch_size, verbose=0)
    card.calibration = ProbabilityCalibration.fit(truth_val, raw)
    card.metrics = _measured(card, truth_val, raw, history.history,
                             (started, simulated, time.perf_counter()), from_cache)
    card_path = save_model(model, card, output_dir, stem=config.name)
    config.write(output_dir / f"{config.name}.config.json")
    _plot_curves(history.history, output_dir / f"{config.name}.curves.png")
    return card_path


def _measured(card, truth, raw, history, times, from_cache):
    """The metrics of a trained model's card (``times``: start, data ready, end)."""
    import keras

    started, simulated, ended = times
    return {
        # Optimistic: the calibration was fitted on these same validation tiles.
        "validation_pixels": pixel_metrics(truth, card.calibrate(raw)),
        "validation_note": "measured on the validation tiles the calibration was fitted on",
        "epochs_run": len(history["loss"]),
        "best_val_loss": float(min(history["val_loss"])),
        # Seconds to simulate the tiles, or to read them from the cache.
        "simulation_seconds": round(simulated - started, 1),
        "tiles_from_cache": from_cache,
        "training_seconds": round(ended - simulated, 1),
        "keras_backend": keras.backend.backend(),
    }


def _check_before_work(config, output_dir, overwrite):
    """
    Refuse, before anything is simulated, outputs that exist, a tile size the
    backbone cannot take and a warm start from a model of another input; make
    the output directory.
    """
    from ..backbones import get_backbone

    existing = [path for path in (output_dir / f"{config.name}{suffix}" for suffix in
                                  (".json", ".weights.h5", ".config.json", ".curves.png"))
                if path.exists()]
    if existing and not overwrite:
        raise OutputExistsError(existing)
    output_dir.mkdir(parents=True, exist_ok=True)
    multiple, _ = get_backbone(config.backbone).geometry(config.backbone_config)
    if config.tile_size % multiple:
        msg = (f"tile_size={config.tile_size} must be a multiple of {multiple} for this "
               f"backbone configuration.")
        raise ValueError(msg)
    if config.warm_start is not None:
        _check_warm_start(config, config.card())


def _training_data(config, cache_dir, training_set, *, parallel, progress_bar):
    """
    The training and validation pairs, and whether they all came from the cache.

    With hard negatives weighted, the truth has a second channel: each
    pixel's loss weight (`~astropy_radiounet.training.losses.with_pixel_weights`).
    """
    validation_seed = config.seed + VALIDATION_SEED_OFFSET
    hard = config.hard_negatives
    from_cache = cache_dir is not None and all(
        (cached_set_path(config, n, seed, cache_dir) / MANIFEST).is_file()
        for n, seed in ((config.n_train, config.seed), (config.n_val, validation_seed)))
    if training_set is None:
        train_pairs = training_pairs(config, config.n_train, seed=config.seed,
                                     cache_dir=cache_dir, parallel=parallel,
                                     progress_bar=progress_bar, hard_negatives=hard)
    else:
        train_pairs = _given_training_set(training_set, config, validation_seed)
    validation_pairs = training_pairs(config, config.n_val, seed=validation_seed,
                                      cache_dir=cache_dir, parallel=parallel,
                                      progress_bar=progress_bar, hard_negatives=hard)
    if hard:
        from .losses import with_pixel_weights

        train_pairs, validation_pairs = (
            (x, with_pixel_weights(y, negatives, config.hard_negative_weight))
            for x, y, negatives in (train_pairs, validation_pairs))
    return train_pairs, validation_pairs, from_cache


def _compiled_model(config, card):
    """
    The backbone of the card (random, or warm-started as the recipe says), compiled with
    the recipe's loss and optimiser.
    """
    import keras

    from ..backbones import get_backbone
    from .losses import MaskIoU, MaskPrecision, MaskRecall, combined_loss

    if config.warm_start is None:
        model = get_backbone(config.backbone).build(card.config,
                                                    input_channels=len(card.input_channels))
    else:
        model = _warm_started(config, card)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=combined_loss(bce_weight=config.bce_weight,
                                     tversky_weight=config.tversky_weight,
                                     alpha=config.tversky_alpha, beta=config.tversky_beta,
                                     pixel_weights=config.hard_negatives),
                  metrics=[MaskIoU(), MaskPrecision(), MaskRecall()])
    return model


def _warm_started(config, card):
    """The recipe's network, warm-started from ``config.warm_start`` (recorded in the card)."""
    from .warm_start import warm_start_model

    model, start = warm_start_model(config.warm_start, input_channels=card.input_channels,
                                    backbone_config=card.config)
    card.training["warm_start"] = start.training["warm_start"]
    return model


def _check_warm_start(config, card):
    """
    Refuse, before any work, a warm start from a model of another backbone, grid, beam,
    normalisation or noise box than the recipe's (a model of a finer beam is taken
    scaled to the recipe's, `~astropy_radiounet.models.ModelCard.at_beam`, when
    its grid then agrees).
    """
    import astropy.units as u

    from ..models.card import find_card

    # A model of a finer beam starts a coarser one as the segmenter would apply it.
    start = find_card(config.warm_start, backbone=config.backbone).at_beam(card.beam)
    pairs = {"backbone": (start.backbone, card.backbone),
             "pixel_scale": (start.pixel_scale, card.pixel_scale),
             "beam": (start.beam, card.beam),
             "normalisation": (start.normalisation, card.normalisation),
             "noise_box_size": (start.noise_box_size, card.noise_box_size)}
    differing = [f"{key} is {theirs} there and {ours} in the config"
                 for key, (theirs, ours) in pairs.items()
                 if not (u.isclose(theirs, ours) if key == "pixel_scale" and theirs is not None
                         else theirs == ours)]
    if differing:
        msg = (f"warm_start={config.warm_start!r} is the model {start.name!r} of another "
               f"input or backbone ({'; '.join(differing)}): set the config to the model's "
               f"values, or train from random weights (warm_start None).")
        raise ValueError(msg)


def _callbacks(config, output_dir):
    """Early stopping, best-weights checkpoint, learning-rate steps and time budget."""
    import keras

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
    return callbacks


def _given_training_set(directory, config, validation_seed):
    """The pairs of a written training set, checked against the config."""
    import json

    pairs = read_training_set(directory, config, hard_negatives=config.hard_negatives)
    seed = json.loads((Path(directory) / MANIFEST).read_text())["seed"]
    if seed == validation_seed:
        msg = (f"The training set {str(directory)!r} was made with seed {seed}, the seed of "
               f"this config's validation pairs; make it with another seed.")
        raise ValueError(msg)
    if len(pairs[0]) < config.batch_size:
        msg = (f"The training set {str(directory)!r} has {len(pairs[0])} pairs, fewer than "
               f"batch_size={config.batch_size}; write more pairs or lower batch_size.")
        raise ValueError(msg)
    return pairs


def calibrate(weights, *, n_tiles=300, seed=4242, parallel=False, progress_bar=False):
    """
    Fit a model's probability calibration on fresh held-out tiles and store it.

    The tiles are simulated with the recipe in the card and a seed distinct
    from training, validation and the usual test seed; the calibration
    (`~astropy_radiounet.models.ProbabilityCalibration`) replaces any
    previous one in the card, which is rewritten in place.

    Parameters
    ----------
    weights : path
        The model card (.json) or weights (.weights.h5) to calibrate.
    n_tiles : int, optional
        Number of tiles.
    seed : int, optional
        Seed of the tiles.
    parallel : bool, int or 'current-scheduler', optional
        Where the tiles are simulated (see
        `~astropy_radiounet.training.make_training_pairs`); serial by default.
    progress_bar : bool, optional
        Show the simulation's progress.

    Returns
    -------
    card : `~astropy_radiounet.models.ModelCard`
        The updated card.
    """
    from ..models.calibration import ProbabilityCalibration
    from ..models.card import load_model

    n_tiles = PositiveInteger().validate(n_tiles, "n_tiles")
    model, card = load_model(weights=weights)
    shipped = MODELS_DIR.resolve()
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
    x, y = make_training_pairs(config, n_tiles, seed=seed, parallel=parallel,
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
