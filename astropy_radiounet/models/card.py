"""
Model cards: what a set of weights is, how it was trained and how to feed it.

A model card is a JSON file beside a ``.weights.h5`` file.  It names the
backbone and its configuration, the pixel scale and beam the model was
trained at, the normalisation, the thresholds to use, the training recipe,
the measured metrics and the sha256 of the weights, which is checked before
the weights are loaded.  Weights are loaded into an architecture built from
code, never deserialised from a saved model, so no code in a weights file is
ever run.
"""

import hashlib
import json
import re
import warnings
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
from radio_beam import Beam

from ..backbones import get_backbone
from ..exceptions import MissingMetadataWarning
from ..image.beams import check_beam
from ..utils.validation import PositiveInteger, PositiveNumber, Probability
from .calibration import ProbabilityCalibration
from .channels import DEFAULT_INPUT_CHANNELS, check_input_channels
from .normalisation import LogNormalisation
from .pretrained import DEFAULT_VERSIONS, default_weights, is_version_name, shipped_models

__all__ = ["ModelCard", "load_model", "save_model", "find_card", "default_detection_threshold",
           "file_sha256"]

CARD_FORMAT = 1

#: Card entries that change a model's results, and what is assumed when a
#: card file lacks one (an explicit ``null`` is the card's own statement).
ASSUMED_WHEN_ABSENT = {
    "pixel_scale_arcsec": ("null", "the input is used at its own pixel scale, not resampled"),
    "beam": ("null", "the input is not convolved to the beam the model was trained at"),
    "normalisation": ('{"method": "symlog_snr", "snr_max": 1000.0}', "the default stretch"),
    "noise_box_size": ("64", "model pixels"),
    "threshold": ("0.5", "the default segmentation threshold"),
    "calibration": ("null", "the network's raw output is used uncalibrated"),
}

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_BEAM_KEYS = {"major_arcsec", "minor_arcsec", "pa_deg"}

#: An input beam wider than a card's by more than this fraction (along the
#: major axis) is segmented with the card scaled to it (`ModelCard.at_beam`).
BEAM_SCALE_TOLERANCE = 0.05


def file_sha256(path):
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelCard:
    """
    Description of a trained (or randomly initialised) model.

    Parameters
    ----------
    name : str
        Human-readable model name.
    backbone : str
        Registered backbone name.
    config : dict
        Builder keywords of the backbone.
    pixel_scale : `~astropy.units.Quantity` or `None`
        Pixel scale the model works at; `None` means "the input's own".
    beam : `radio_beam.Beam` or `None`
        Beam the model was trained at; sharper inputs are convolved to it.
        Written in the JSON card as ``major_arcsec``, ``minor_arcsec`` and
        ``pa_deg``.
    normalisation : `~astropy_radiounet.models.LogNormalisation`
        Input normalisation.
    input_channels : tuple of str
        The network's input channels, in order
        (`~astropy_radiounet.models.channels.INPUT_CHANNELS`): ``('image',)``,
        the image at the model's grid and beam, by default and for every card
        that names none (all cards before version 0.3).
    noise_box_size : int
        Box size, in model pixels, of the local noise estimate.
    threshold : float
        Default probability threshold of the segmentation, in [0, 1).
    detection_ratio_threshold : float or `None`
        Detection ratio above which a cluster is classified as hosting
        diffuse emission, when measured from this model, in [0, 1].
    calibration : `~astropy_radiounet.models.ProbabilityCalibration` or `None`
        Map from the network's raw output to calibrated probability,
        applied to every prediction; `None` for none: the raw output is
        then used as it is (as for random weights).
    weights : str or `None`
        File name of the weights, relative to the card.
    sha256 : str or `None`
        Hex digest of the weights file, checked before they are loaded;
        weights of a card without one are loaded unchecked, with a
        `~astropy_radiounet.exceptions.MissingMetadataWarning`.
    training, metrics : dict
        Training recipe (data, seed, loss, ...) and measured metrics.
    description : str
        Free text.
    path : `~pathlib.Path` or `None`
        Where the card was read from.
    """

    name: str
    backbone: str
    config: dict = field(default_factory=dict)
    pixel_scale: u.Quantity | None = None
    beam: Beam | None = None
    normalisation: LogNormalisation = field(default_factory=LogNormalisation)
    input_channels: tuple = DEFAULT_INPUT_CHANNELS
    noise_box_size: int = 64
    threshold: float = 0.5
    detection_ratio_threshold: float | None = None
    calibration: ProbabilityCalibration | None = None
    weights: str | None = None
    sha256: str | None = None
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    description: str = ""
    path: Path | None = None

    def __post_init__(self):
        problems = []
        for key, value, kind in (("threshold", self.threshold, Probability()),
                                 ("noise_box_size", self.noise_box_size, PositiveInteger())):
            try:
                setattr(self, key, kind.validate(value, key))
            except (TypeError, ValueError) as exc:
                problems.append(str(exc).rstrip("."))
        ratio = self.detection_ratio_threshold
        if ratio is not None and not (_is_real(ratio) and 0 <= ratio <= 1):
            problems.append(f"detection_ratio_threshold must be a detection ratio in [0, 1] "
                            f"or null; got {ratio!r}")
        if self.sha256 is not None and not (isinstance(self.sha256, str)
                                            and _SHA256.fullmatch(self.sha256)):
            problems.append(f"sha256 must be the 64 hexadecimal digits of the weights' "
                            f"SHA-256 digest, or null; got {self.sha256!r}")
        for key, kind in (("name", str), ("backbone", str), ("config", dict),
                          ("training", dict), ("metrics", dict), ("description", str)):
            if not isinstance(getattr(self, key), kind):
                problems.append(f"{key} must be a {'string' if kind is str else 'dictionary'}; "
                                f"got {getattr(self, key)!r}")
        if self.weights is not None and not isinstance(self.weights, str):
            problems.append(f"weights must be a file name or null; got {self.weights!r}")
        try:
            self.input_channels = check_input_channels(self.input_channels)
        except ValueError as exc:
            problems.append(str(exc).rstrip("."))
        if self.pixel_scale is not None:
            try:
                PositiveNumber().validate(self.pixel_scale.to_value(u.arcsec))
            except (AttributeError, u.UnitsError, TypeError, ValueError):
                problems.append(f"pixel_scale must be a positive angle or None; got "
                                f"{self.pixel_scale!r}")
        if problems:
            msg = (f"{_card_name(self.path, self.name)} is invalid: " + "; ".join(problems)
                   + ".  Correct the card.")
            raise ValueError(msg)
        if self.beam is not None:
            check_beam(self.beam, name="The model card's beam")

    @property
    def weights_path(self):
        """Absolute path of the weights file, or `None`."""
        if self.weights is None:
            return None
        base = self.path.parent if self.path is not None else Path.cwd()
        return base / self.weights

    def calibrate(self, probability):
        """
        The network's raw output mapped through the card's calibration.

        A card without a calibration (``calibration`` `None`, as for random
        weights) returns the raw output unchanged.
        """
        if self.calibration is None:
            return probability
        return self.calibration(probability)

    def to_dict(self):
        """The card as a JSON-serialisable dictionary."""
        beam = None
        if self.beam is not None:
            beam = {"major_arcsec": self.beam.major.to_value(u.arcsec),
                    "minor_arcsec": self.beam.minor.to_value(u.arcsec),
                    "pa_deg": self.beam.pa.to_value(u.deg)}
        return {
            "format": CARD_FORMAT,
            "name": self.name,
            "backbone": self.backbone,
            "config": self.config,
            "pixel_scale_arcsec": (None if self.pixel_scale is None
                                   else self.pixel_scale.to_value(u.arcsec)),
            "beam": beam,
            "normalisation": self.normalisation.to_dict(),
            "input_channels": list(self.input_channels),
            "noise_box_size": self.noise_box_size,
            "threshold": self.threshold,
            "detection_ratio_threshold": self.detection_ratio_threshold,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "weights": self.weights,
            "sha256": self.sha256,
            "training": self.training,
            "metrics": self.metrics,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, values, *, path=None):
        """
        Build a card from `to_dict` output.

        An entry that changes the model's results (``pixel_scale_arcsec``,
        ``beam``, ``normalisation``, ``noise_box_size``, ``threshold``,
        ``calibration``) but is absent is assumed as in
        ``ASSUMED_WHEN_ABSENT``, with a
        `~astropy_radiounet.exceptions.MissingMetadataWarning`; an explicit
        ``null`` is the card's own statement and is used quietly.  A card
        without ``input_channels`` has the one channel ``["image"]``, quietly:
        every card written before channels were declared is such a card.

        Raises
        ------
        ValueError
            If the card is newer than this package, has unknown or missing
            required entries, or a value out of range.
        """
        if not isinstance(values, dict):
            msg = (f"{_card_name(path)} is not a model card: it holds a "
                   f"{type(values).__name__}, not a JSON object of card entries.")
            raise ValueError(msg)
        values = dict(values)
        fmt = values.pop("format", CARD_FORMAT)
        if not (isinstance(fmt, int) and not isinstance(fmt, bool) and fmt >= 1):
            msg = (f"{_card_name(path, values.get('name'))} has format {fmt!r}; a card's "
                   f"format is a positive integer (this version writes {CARD_FORMAT}).")
            raise ValueError(msg)
        if fmt > CARD_FORMAT:
            msg = (f"Model card format {fmt} is newer than this version of astropy_radiounet "
                   f"understands ({CARD_FORMAT}); upgrade the package.")
            raise ValueError(msg)
        name = _card_name(path, values.get("name"))
        absent = [key for key in ASSUMED_WHEN_ABSENT if key not in values]
        scale = values.pop("pixel_scale_arcsec", None)
        if scale is not None:
            try:
                scale = PositiveNumber().validate(scale, "pixel_scale_arcsec")
            except (TypeError, ValueError) as exc:
                msg = f"{name} is invalid: {exc}  Correct the card."
                raise ValueError(msg) from None
        beam = _beam_from_dict(values.pop("beam", None), name)
        normalisation = LogNormalisation.from_dict(values.pop("normalisation", {}))
        calibration = values.pop("calibration", None)
        if calibration is not None:
            calibration = ProbabilityCalibration.from_dict(calibration)
        known = set(cls.__dataclass_fields__) - {"pixel_scale", "beam", "normalisation", "path",
                                                 "calibration"}
        unknown = set(values) - known
        if unknown:
            msg = f"Model card has unknown fields {sorted(unknown)}; is it a model card?"
            raise ValueError(msg)
        missing = [key for key in ("name", "backbone") if key not in values]
        if missing:
            msg = (f"{name} has no {' or '.join(map(repr, missing))} entry; every model card "
                   f"names its model and the registered backbone its weights belong to.")
            raise ValueError(msg)
        card = cls(pixel_scale=None if scale is None else scale * u.arcsec, beam=beam,
                   normalisation=normalisation, calibration=calibration, path=path, **values)
        if absent:
            assumed = "; ".join(f"{key} = {ASSUMED_WHEN_ABSENT[key][0]} "
                                f"({ASSUMED_WHEN_ABSENT[key][1]})" for key in absent)
            many = len(absent) > 1
            warnings.warn(f"{name} has no {', '.join(map(repr, absent))} "
                          f"entr{'ies' if many else 'y'}, so the model is used with "
                          f"{'these values' if many else 'a value'} it may not have been "
                          f"trained with: {assumed}.  Write the values the model was trained "
                          f"with into the card (an explicit null where that is meant).",
                          MissingMetadataWarning, stacklevel=2)
        return card

    @classmethod
    def read(cls, path):
        """Read a card from a JSON file."""
        path = Path(path)
        try:
            values = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            msg = f"Cannot read the model card {str(path)!r}: {exc}"
            raise ValueError(msg) from exc
        return cls.from_dict(values, path=path.resolve())

    def write(self, path):
        """Write the card as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        self.path = path.resolve()
        return path

    def geometry(self):
        """Tile geometry (multiple, halo) of this card's backbone and config."""
        return get_backbone(self.backbone).geometry(self.config)

    def at_beam(self, beam):
        """
        This model applied to an image of a coarser beam: the card scaled so
        that ``beam`` spans as many model pixels as the card's beam does.

        A network sees pixels, not arcseconds: on a grid of pixels
        ``k = beam / card beam`` times larger, an image at ``beam`` has its
        noise correlated, and its unresolved sources drawn, over as many
        pixels as the training images at the card's beam had.  So instead of
        seeing an image smoother than any it was trained on (and marking its
        noise and unresolved sources as diffuse emission), the model sees the
        image as it was trained to.  The scale factor is the ratio of the
        major axes, so that the scaled beam is at least as wide as ``beam``
        in every direction and the image can be convolved to it.  What
        changes is the angular scale of what the model sees: a halo covers
        ``k`` times fewer pixels, as a halo ``k`` times farther away would
        (the training sets' halos span such a range).

        Parameters
        ----------
        beam : `radio_beam.Beam`
            The input's beam.

        Returns
        -------
        card : `ModelCard`
            The card itself when ``beam`` is not wider than the card's beam
            along its major axis, else a copy with the pixel scale and beam
            multiplied by ``k`` (the weights, calibration and thresholds are
            the same; ``name`` says the beam).

        Examples
        --------
        >>> import astropy.units as u
        >>> from radio_beam import Beam
        >>> from astropy_radiounet.models import find_card
        >>> card = find_card("default").at_beam(Beam(60 * u.arcsec))
        >>> card.pixel_scale, card.beam.major.to(u.arcsec)
        (<Quantity 18. arcsec>, <Quantity 60. arcsec>)
        """
        if self.beam is None or self.pixel_scale is None:
            return self
        factor = float(beam.major / self.beam.major)
        if factor <= 1.0 + BEAM_SCALE_TOLERANCE:
            return self
        beam_major = (self.beam.major * factor).to(u.arcsec)
        return dataclasses.replace(
            self, name=f"{self.name} (at a {beam_major.value:.3g}\" beam)",
            pixel_scale=(self.pixel_scale * factor).to(u.arcsec),
            beam=Beam(major=beam_major, minor=(self.beam.minor * factor).to(u.arcsec),
                      pa=self.beam.pa))


def _is_real(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _card_name(path, name=None):
    """'The model card '<path>'' (or its name when it was not read from a file)."""
    if path is not None:
        return f"The model card {str(path)!r}"
    return "The model card" + (f" {name!r}" if isinstance(name, str) else "")


def _beam_from_dict(beam, card_name):
    """The card's ``beam`` entry as a `radio_beam.Beam` (or `None`), or a clear error."""
    if beam is None:
        return None
    expected = ('{"major_arcsec": ..., "minor_arcsec": ..., "pa_deg": ...} (FWHM in arcsec, '
                'position angle in degrees) or null')
    if (not isinstance(beam, dict) or set(beam) - _BEAM_KEYS
            or not {"major_arcsec", "minor_arcsec"} <= set(beam)
            or not all(_is_real(value) for value in beam.values())):
        msg = f"{card_name} has beam {beam!r}; a card's beam is {expected}.  Correct the card."
        raise ValueError(msg)
    return Beam(major=beam["major_arcsec"] * u.arcsec, minor=beam["minor_arcsec"] * u.arcsec,
                pa=beam.get("pa_deg", 0.0) * u.deg)


def _card_for_weights(weights):
    """Read the card of a weights argument that is a path."""
    path = Path(weights)
    if path.suffix == ".json":
        return ModelCard.read(path)
    if path.name.endswith(".weights.h5"):
        card_path = path.with_name(path.name[: -len(".weights.h5")] + ".json")
        if not card_path.is_file():
            msg = (f"The weights file {str(path)!r} has no model card beside it (expected "
                   f"{str(card_path)!r}); the card says how to build and feed the model.")
            raise ValueError(msg)
        return ModelCard.read(card_path)
    msg = (f"weights={weights!r} is not understood: pass 'default', None (random "
           f"initialisation, for tests), a model card (.json) or a .weights.h5 file.")
    raise ValueError(msg)


def find_card(weights, *, backbone="unet"):
    """
    The model card a ``weights`` argument names, without loading the weights.

    Parameters
    ----------
    weights : {'default'}, version name, path or `ModelCard`
        ``'default'``: the default card shipped for ``backbone``; a version
        name such as ``'v0.2'``: that shipped version (see
        `~astropy_radiounet.models.shipped_models`); a path: a model card
        (``.json``) or a ``.weights.h5`` file with its card beside it; a
        card is returned as it is.
    backbone : str, optional
        Registered backbone name, for ``'default'`` and version names.

    Returns
    -------
    card : `ModelCard`

    Raises
    ------
    ValueError
        If no default model ships for the backbone, or the card is
        unreadable.

    Examples
    --------
    >>> from astropy_radiounet.models.card import find_card
    >>> find_card("default").input_channels
    ('image', 'peak_snr')
    >>> find_card("v0.2").input_channels
    ('image',)
    """
    if isinstance(weights, ModelCard):
        return weights
    if isinstance(weights, str) and weights == "default":
        default = default_weights(backbone)
        if default is None:
            msg = (f"No trained default model ships for backbone {backbone!r} in this version "
                   f"of astropy_radiounet.  Pass weights= a model card (.json) or .weights.h5 "
                   f"file of your own (see `radiounet train`), or weights=None for random "
                   f"weights (tests and benchmarks only).")
            raise ValueError(msg)
        return ModelCard.read(default)
    if isinstance(weights, str) and _is_version_name(weights):
        shipped = shipped_models(backbone)
        if weights not in shipped:
            names = ", ".join(shipped) or "none"
            msg = (f"No model {weights!r} ships for backbone {backbone!r} in this version of "
                   f"astropy_radiounet (shipped: {names}; 'default' is "
                   f"{DEFAULT_VERSIONS.get(backbone)!r}).  Pass one of those, or a model "
                   f"card (.json) of your own.")
            raise ValueError(msg)
        return ModelCard.read(shipped[weights])
    return _card_for_weights(weights)


def _is_version_name(weights):
    """Whether ``weights`` names a shipped version ('v0.2') rather than a file."""
    return is_version_name(weights) and not Path(weights).exists()


def load_model(backbone="unet", weights="default", *, config=None, seed=None,
               input_channels=None):
    """
    Build a backbone and load its weights.

    Parameters
    ----------
    backbone : str, optional
        Registered backbone name; ignored when ``weights`` is a card, which
        names its own.
    weights : {'default', None}, version name or path, optional
        ``'default'``: the default weights shipped with the backbone; a
        version name (``'v0.2'``): that shipped version.  `None`:
        random initialisation with a card of the input's own pixel scale,
        meant for tests and benchmarks (its probabilities mean nothing).
        A path: a model card (``.json``) or a ``.weights.h5`` file with its
        card beside it.
    config : dict, optional
        Backbone configuration for ``weights=None``.
    seed : int, optional
        Seed of the random initialisation.
    input_channels : sequence of str, optional
        Input channels of the card for ``weights=None`` (``('image',)`` by
        default); a trained model's card declares its own.

    Returns
    -------
    model : `keras.Model`
    card : `ModelCard`

    Raises
    ------
    ValueError
        If no default weights ship for the backbone, the card is unreadable,
        or the weights do not match the card's sha256.
    """
    import keras

    if weights is None:
        spec = get_backbone(backbone)
        if seed is not None:
            keras.utils.set_random_seed(int(seed))
        card = ModelCard(name=f"{backbone} (random weights)", backbone=backbone,
                         config=spec.config(config),
                         input_channels=input_channels or DEFAULT_INPUT_CHANNELS,
                         description="Random initialisation: for tests and benchmarks only.")
        return spec.build(card.config, input_channels=len(card.input_channels)), card
    card = find_card(weights, backbone=backbone)
    if config or input_channels:
        msg = ("config= and input_channels= apply only to weights=None; a model card fixes "
               "its own config and input channels.")
        raise ValueError(msg)
    spec = get_backbone(card.backbone)
    model = spec.build(card.config, input_channels=len(card.input_channels))
    weights_path = card.weights_path
    if weights_path is None:
        msg = f"The model card {str(card.path)!r} names no weights file."
        raise ValueError(msg)
    if not weights_path.is_file():
        msg = f"The weights file {str(weights_path)!r} named by the model card does not exist."
        raise ValueError(msg)
    digest = file_sha256(weights_path)
    if card.sha256 is None:
        warnings.warn(f"{_card_name(card.path, card.name)} gives no sha256 of its weights "
                      f"file {str(weights_path)!r}, so the weights are loaded unchecked: a "
                      f"corrupt or swapped file would go unnoticed.  Add \"sha256\": "
                      f"\"{digest}\" to the card if this file is the right one (that is its "
                      f"digest now, from astropy_radiounet.models.file_sha256), or re-save "
                      f"the model with save_model(), which fills it in.",
                      MissingMetadataWarning, stacklevel=2)
    elif digest != card.sha256.lower():
        msg = (f"The weights file {str(weights_path)!r} has sha256 {digest}, but its model "
               f"card says {card.sha256}: the file is corrupt or does not belong to this card.")
        raise ValueError(msg)
    model.load_weights(weights_path)
    return model, card


def save_model(model, card, directory, *, stem=None):
    """
    Save weights and their card (with the sha256 filled in) to a directory.

    Parameters
    ----------
    model : `keras.Model`
        The model whose weights are saved.
    card : `ModelCard`
        Its card; ``weights``, ``sha256`` and ``path`` are updated.
    directory : str or path
        Output directory (created).
    stem : str, optional
        File stem; the card's backbone name by default.

    Returns
    -------
    card_path : `~pathlib.Path`
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = stem or card.backbone
    weights_path = directory / f"{stem}.weights.h5"
    if getattr(model, "optimizer", None) is not None:
        # A compiled model would save its optimizer's state too (three times the
        # size); the card describes an inference model, so save a clean copy.
        clean = get_backbone(card.backbone).build(card.config,
                                                  input_channels=len(card.input_channels))
        clean.set_weights(model.get_weights())
        model = clean
    model.save_weights(weights_path)
    card.weights = weights_path.name
    card.sha256 = file_sha256(weights_path)
    return card.write(directory / f"{stem}.json")


def default_detection_threshold(backbone="unet"):
    """
    The detection-ratio threshold of a backbone's shipped default model.

    Raises
    ------
    ValueError
        If no default model ships, or its card gives no threshold.
    """
    default = default_weights(backbone)
    card = ModelCard.read(default) if default else None
    if card is None or card.detection_ratio_threshold is None:
        msg = (f"No shipped default model of backbone {backbone!r} gives a detection-ratio "
               f"threshold; pass threshold= explicitly (Stuardi et al. 2024 used R = 0.015 "
               f"for their own model, which is not this one).")
        raise ValueError(msg)
    return card.detection_ratio_threshold
