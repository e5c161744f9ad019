"""
The training recipe: everything a training run depends on, in one `TrainingConfig`.

A config is written beside the weights (``<name>.config.json``) and into the
model card, so a model can be retrained from its card alone.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from radio_beam import Beam

from ..models.card import ModelCard
from ..models.normalisation import LogNormalisation


__all__ = ["TrainingConfig"]


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
        return ModelCard(
            name=self.name, backbone=self.backbone, config=dict(self.backbone_config),
            pixel_scale=self.pixel_scale_arcsec * u.arcsec,
            beam=Beam(self.beam_arcsec * u.arcsec),
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
