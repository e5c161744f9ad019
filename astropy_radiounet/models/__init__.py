"""
Models: the model card (what a set of weights is, how it was trained and how to feed
it), its input channels, probability calibration and input normalisation, and the
pretrained models
shipped with the package (a ``<backbone>-<version>.json`` card and its
``<backbone>-<version>.weights.h5`` file per shipped version, one of them the
backbone's default; earlier versions stay loadable by name, ``weights='v0.2'``).

Nothing is downloaded at run time: a backbone whose card is not here has no default
weights.
"""

from .calibration import ProbabilityCalibration
from .card import (ModelCard, default_detection_threshold, file_sha256, find_card, load_model,
                   save_model)
from .channels import DEFAULT_INPUT_CHANNELS, INPUT_CHANNELS
from .normalisation import LogNormalisation
from .pretrained import (DEFAULT_VERSIONS, MODELS_DIR, default_card_path, default_weights,
                         shipped_models)

__all__ = ["ModelCard", "load_model", "save_model", "find_card", "default_detection_threshold",
           "file_sha256", "ProbabilityCalibration", "LogNormalisation", "INPUT_CHANNELS",
           "DEFAULT_INPUT_CHANNELS", "MODELS_DIR", "DEFAULT_VERSIONS", "default_card_path",
           "default_weights", "shipped_models"]
