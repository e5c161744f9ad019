"""
The training recipe: everything a training run depends on, in one `TrainingConfig`.

A config is written beside the weights (``<name>.config.json``) and into the
model card, so a model can be retrained from its card alone.
"""

import inspect
import json
import math
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from radio_beam import Beam

from ..models.card import ModelCard
from ..models.channels import DEFAULT_INPUT_CHANNELS, check_input_channels
from ..models.normalisation import LogNormalisation
from ..utils.validation import PositiveNumber


__all__ = ["TrainingConfig"]


#: Validation tiles use the recipe's seed plus this offset.
VALIDATION_SEED_OFFSET = 1_000_003

#: The spawn-key entry of the stream that draws a pair's input beam.
_BEAM_STREAM = 2**31 - 7

#: Keywords of `~astropy_radiounet.simulation.simulate_field` that the training
#: pairs set themselves (the field's shape follows from ``tile_size``).
RESERVED_FIELD_KEYWORDS = ("shape", "seed")

#: Keywords of `~astropy_radiounet.simulation.simulate_field` whose defaults
#: change with the version of the simulated sky (the noise and artefacts, the
#: radio-galaxy population).  A recipe records them, at the defaults of the
#: day unless given, so that it makes the same data after the defaults change.
SKY_VERSION_KEYWORDS = ("noise_anisotropy", "artefact_style", "radio_galaxy_population")


def _sky_version():
    """The current defaults of `SKY_VERSION_KEYWORDS`."""
    from ..simulation import simulate_field

    parameters = inspect.signature(simulate_field).parameters
    return {key: parameters[key].default for key in SKY_VERSION_KEYWORDS}


def check_field_keywords(keywords, *, name="field", reserved=RESERVED_FIELD_KEYWORDS,
                         setter="the training pairs (the shape follows from tile_size)"):
    """
    Refuse keywords that `~astropy_radiounet.simulation.simulate_field` does not take.

    Parameters
    ----------
    keywords : dict
        The keywords.
    name : str, optional
        What they are called in the message (``field`` of a config).
    reserved : tuple of str, optional
        Keywords of ``simulate_field`` that the caller sets itself.
    setter : str, optional
        Who sets them, for the message.

    Raises
    ------
    TypeError
        If ``keywords`` is not a dict.
    ValueError
        If a keyword is unknown or reserved, naming it and the valid ones.
    """
    from ..simulation import simulate_field

    if not isinstance(keywords, dict):
        msg = (f"{name} must be a dict of simulate_field keywords; got "
               f"{type(keywords).__name__} {keywords!r}.")
        raise TypeError(msg)
    valid = [key for key, parameter in inspect.signature(simulate_field).parameters.items()
             if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
             and key not in reserved]
    unknown = sorted(str(key) for key in keywords if key not in valid and key not in reserved)
    if unknown:
        msg = (f"Unknown {name} keys {unknown}: simulate_field takes none of them; the valid "
               f"keys are {', '.join(valid)}.")
        raise ValueError(msg)
    taken = sorted(key for key in keywords if key in reserved)
    if taken:
        msg = f"{name} keys {taken} are set by {setter}; leave them out of {name}."
        raise ValueError(msg)


def _check_name(name):
    """A model name must be a plain file stem: it names the files in the output directory."""
    if isinstance(name, str) and name not in ("", ".", "..") and not any(
            character in name for character in ("/", "\\", "\0")):
        return
    msg = (f"name must be a plain file name, without a directory, as it names "
           f"<name>.weights.h5 and <name>.json inside the output directory; got {name!r}.")
    stem = Path(str(name).replace("\\", "/")).name if isinstance(name, str) else ""
    if stem not in ("", ".", ".."):
        msg += (f"  Use name={stem!r}, and choose where the files go with the output "
                f"directory (output_dir=, radiounet train -o).")
    else:
        msg += "  Use a name such as 'unet'."
    raise ValueError(msg)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(
        value)


@dataclass
class TrainingConfig:
    """
    Everything that defines a training run.

    Parameters
    ----------
    name : str
        Model name; also the file stem of the weights and card, so a plain
        file name (no directory).
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
    input_channels : tuple of str
        The network's input channels, in order
        (`~astropy_radiounet.models.channels.INPUT_CHANNELS`):
        ``('image',)`` by default, ``('image', 'peak_snr')`` to give the
        network the full-resolution peak signal-to-noise ratio too.
    tile_size : int
        Side of the training tiles, in model pixels (a multiple of 2**depth).
    n_train, n_val : int
        Numbers of training and held-out validation tiles.
    mask_snr : float
        Truth: diffuse emission above this many times the local noise, on
        the model's grid and beam (positive); on a grid scaled to a wider
        input beam, that many times the beam ratio, the same surface
        brightness (`~astropy_radiounet.training.truth_level`).
    field : dict
        Keywords of `~astropy_radiounet.simulation.simulate_field`
        (JSON-serialisable: angles in arcsec, noise in uJy/beam, masses in
        solar masses), except ``shape`` and ``seed``, which the training
        pairs set; an unknown key is an error.  The keywords that set the
        version of the simulated sky (``noise_anisotropy``,
        ``artefact_style``, ``radio_galaxy_population``) are filled in with
        their current defaults when not given, so that the recipe written
        with a model remakes its data after the defaults change.
    input_beams_arcsec : sequence of float or None
        Train across input beams: each pair's field is simulated at one of
        these beams (FWHM, arcsec; drawn from the pair's seed, each as
        often), with pixels of a quarter beam and the field's ``noise``
        (the LoTSS 6" noise by default) smoothed to the beam
        (`~astropy_radiounet.simulation.noise_at_beam`), and brought to the
        grid the segmenter gives an image of that beam: the model's, or,
        for a beam wider than the model's, the model's scaled to it
        (`~astropy_radiounet.models.ModelCard.at_beam`).  So a model for
        coarse surveys (25" to 90") learns their confusion and noise at the
        scales it will see them.  `None` (the default): every field at the
        ``field``'s beam (6").  With beams given, ``field`` must not set
        ``beam`` or ``pixel_scale``.
    bce_weight, tversky_weight, tversky_alpha, tversky_beta : float
        Loss: BCE + Tversky with these weights (>= 0, not both 0); alpha
        and beta, in [0, 1], weigh the false positives and negatives.
    hard_negative_weight : float
        Loss weight of the hard negatives: pixels outside the truth mask on
        a radio galaxy or an imaging artefact (see ``hard_negative_level``),
        which the network must learn not to mark.  1 (the default) weighs
        them as any other pixel: the plain loss.
    hard_negative_level : float
        Where the hard negatives are, in units of the local noise at the
        survey's resolution: a radio galaxy's footprint
        (`~astropy_radiounet.simulation.SimulatedField.radio_galaxy_footprints`)
        and artefacts brighter than this, on every model pixel they touch.
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
    warm_start : str or None
        Start from a trained model instead of random weights: ``'default'``
        (the shipped model) or the path of a model card; its weights are
        copied, and the input kernels of channels it did not have start at
        zero (`~astropy_radiounet.training.warm_start_model`).  The model's
        backbone, grid, beam and normalisation must be the config's.
    """

    name: str = "unet"
    backbone: str = "unet"
    backbone_config: dict = field(default_factory=lambda: {"depth": 4, "filters": 16,
                                                           "dropout": 0.1})
    pixel_scale_arcsec: float = 6.0
    beam_arcsec: float = 20.0
    snr_max: float = 1000.0
    noise_box_size: int = 64
    input_channels: tuple = DEFAULT_INPUT_CHANNELS
    tile_size: int = 128
    n_train: int = 2000
    n_val: int = 300
    mask_snr: float = 0.5
    field: dict = field(default_factory=dict)
    input_beams_arcsec: tuple | None = None
    bce_weight: float = 1.0
    tversky_weight: float = 1.0
    tversky_alpha: float = 0.5
    tversky_beta: float = 0.5
    hard_negative_weight: float = 1.0
    hard_negative_level: float = 0.5
    learning_rate: float = 1e-3
    epochs: int = 40
    batch_size: int = 16
    patience: int = 6
    reduce_lr_patience: int | None = None
    max_minutes: float | None = 105.0
    seed: int = 0
    warm_start: str | None = None

    def __post_init__(self):
        if isinstance(self.input_channels, list):  # as read from JSON
            self.input_channels = tuple(self.input_channels)
        if isinstance(self.input_beams_arcsec, list):
            self.input_beams_arcsec = tuple(self.input_beams_arcsec)
        if isinstance(self.field, dict):  # record the sky version (SKY_VERSION_KEYWORDS)
            self.field = {**_sky_version(), **self.field}
        self.check()

    def check(self):
        """
        Refuse settings that cannot train, or a name that is not a plain file
        name; run on construction and again by
        `~astropy_radiounet.training.train` (settings can be changed after).

        Raises
        ------
        ValueError or TypeError
            Naming the setting, the value and what it must be.
        """
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
        _check_name(self.name)
        PositiveNumber().validate(self.mask_snr, "mask_snr")
        weights = {"bce_weight": self.bce_weight, "tversky_weight": self.tversky_weight}
        bad = {key: value for key, value in weights.items()
               if not (_is_number(value) and value >= 0)}
        if bad:
            msg = f"Training config loss weights {bad} must be finite numbers >= 0."
            raise ValueError(msg)
        if not (self.bce_weight or self.tversky_weight):
            msg = ("bce_weight and tversky_weight are both 0, so the loss is 0 and nothing is "
                   "learnt; give at least one a positive weight (the default is 1 and 1).")
            raise ValueError(msg)
        shares = {"tversky_alpha": self.tversky_alpha, "tversky_beta": self.tversky_beta}
        bad = {key: value for key, value in shares.items()
               if not (_is_number(value) and 0 <= value <= 1)}
        if bad:
            msg = (f"Training config values {bad} must be in [0, 1]: the weights of the false "
                   f"positives (alpha) and false negatives (beta) in the Tversky loss.")
            raise ValueError(msg)
        if self.tversky_weight and not (self.tversky_alpha or self.tversky_beta):
            msg = ("tversky_alpha and tversky_beta are both 0, so the Tversky loss is constant; "
                   "give one a positive weight (0.5 and 0.5 is the Dice loss).")
            raise ValueError(msg)
        self._check_new_settings()
        check_field_keywords(self.field)
        self._check_input_beams()
        try:
            json.dumps(self.field)
        except (TypeError, ValueError) as exc:
            msg = (f"field must be JSON-serialisable, as the config is written with the "
                   f"model (angles in arcsec, noise in uJy/beam, masses in solar masses, all "
                   f"as plain numbers): {exc}.")
            raise TypeError(msg) from None

    def _check_new_settings(self):
        """Check the input channels, the hard-negative weighting and the warm start."""
        self.input_channels = check_input_channels(self.input_channels)
        if not (_is_number(self.hard_negative_weight) and self.hard_negative_weight > 0):
            msg = (f"hard_negative_weight={self.hard_negative_weight!r} must be a finite "
                   f"positive number: the loss weight of radio galaxies and artefacts outside "
                   f"the truth (1 for the plain loss, e.g. 3 to weigh them three times).")
            raise ValueError(msg)
        PositiveNumber().validate(self.hard_negative_level, "hard_negative_level")
        if self.warm_start is not None and not (isinstance(self.warm_start, str)
                                                and self.warm_start.strip()):
            msg = (f"warm_start={self.warm_start!r} must be None (random initial weights), "
                   f"'default' (the shipped model) or the path of a model card (.json).")
            raise ValueError(msg)

    def _check_input_beams(self):
        """Check ``input_beams_arcsec``: positive beams, and no beam or pixels in ``field``."""
        if self.input_beams_arcsec is None:
            return
        beams = self.input_beams_arcsec
        if (isinstance(beams, (str, bytes)) or not hasattr(beams, "__len__") or len(beams) == 0
                or not all(_is_number(beam) and beam > 0 for beam in beams)):
            msg = (f"input_beams_arcsec={beams!r} must be None (every field at the field's "
                   f"beam) or a non-empty list of positive beams in arcsec, e.g. "
                   f"[25, 30, 45, 60, 90].")
            raise ValueError(msg)
        self.input_beams_arcsec = tuple(float(beam) for beam in beams)  # JSON-writable
        clash = sorted(set(self.field) & {"beam", "pixel_scale"})
        if clash:
            msg = (f"field sets {clash} and input_beams_arcsec sets them too (each field at "
                   f"one of the beams, with quarter-beam pixels); remove {clash} from field.")
            raise ValueError(msg)

    def input_beam(self, seed):
        """
        The input beam of the pair of ``seed`` (arcsec), or `None`.

        Drawn, each beam as often, from a stream of its own child of the
        seed, so the field itself is simulated from the seed as without
        ``input_beams_arcsec``.

        Parameters
        ----------
        seed : int or `numpy.random.SeedSequence`
            The pair's seed.

        Returns
        -------
        beam : float or None
            One of ``input_beams_arcsec``; `None` when that is `None`.
        """
        if self.input_beams_arcsec is None:
            return None
        if not isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(seed)
        stream = np.random.SeedSequence(seed.entropy,
                                        spawn_key=(*seed.spawn_key, _BEAM_STREAM))
        index = np.random.default_rng(stream).integers(len(self.input_beams_arcsec))
        return float(self.input_beams_arcsec[index])

    @property
    def hard_negatives(self):
        """Whether the loss weighs hard negatives (``hard_negative_weight`` is not 1)."""
        return self.hard_negative_weight != 1

    @classmethod
    def read(cls, path):
        """
        Read a config from JSON; unknown keys are an error.

        A model card is accepted too: its recorded recipe is read, so that
        ``radiounet train CARD.json`` retrains the model the card describes.
        """
        try:
            values = json.loads(Path(path).read_text())
        except json.JSONDecodeError as exc:
            msg = f"{str(path)!r} is not a JSON training config: {exc}."
            raise ValueError(msg) from None
        if not isinstance(values, dict):
            msg = (f"{str(path)!r} holds a JSON {type(values).__name__}, not a training "
                   f"config (an object of settings).")
            raise ValueError(msg)
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
            input_channels=self.input_channels, noise_box_size=self.noise_box_size,
            training={"config": asdict(self), "data": "astropy_radiounet.simulation"})

    def field_factor(self, beam=None):
        """
        Simulated pixels per model pixel.

        Parameters
        ----------
        beam : float or None, optional
            The input beam of the field (arcsec; see `input_beam`); `None`
            for a field of the ``field``'s beam and pixels.

        Returns
        -------
        factor : float
            The model grid's pixel (the card's, scaled to a wider ``beam``)
            over the field's.
        """
        if beam is None:
            return self.pixel_scale_arcsec / self.field.get("pixel_scale", 1.5)
        from ..simulation import keywords_at_beam

        model_pixel = self.card().at_beam(Beam(beam * u.arcsec)).pixel_scale
        return float(model_pixel / keywords_at_beam(beam * u.arcsec)["pixel_scale"])


def _field_keywords(config, beam=None):
    """
    simulate_field keywords from the JSON-friendly config, for a field of
    input ``beam`` (arcsec; see ``TrainingConfig.input_beams_arcsec``).
    """
    from ..simulation import LOTSS_NOISE, keywords_at_beam

    keywords = dict(config.field)
    for name in ("pixel_scale", "beam"):
        if name in keywords:
            keywords[name] = keywords[name] * u.arcsec
    if "noise" in keywords:
        keywords["noise"] = keywords["noise"] * u.uJy / u.beam
    if beam is not None:
        keywords.update(keywords_at_beam(beam * u.arcsec,
                                         noise=keywords.get("noise", LOTSS_NOISE)))
    if "mass_range" in keywords:
        keywords["mass_range"] = np.asarray(keywords["mass_range"], dtype=float) * u.Msun
    return keywords
