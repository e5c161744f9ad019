"""
astropy_radiounet: find faint diffuse radio emission -- radio halos, relics,
mini-halos and cosmic-web filaments -- in radio survey images with a U-Net.

The public API:

* `RadioUNetSegmenter`: image in, probability map and
  `~photutils.segmentation.SegmentationImage` out;
* `DetectionRatio`: the mean probability inside (2.2 R500) apertures around
  galaxy clusters, and their classification;
* `hookimpl` and `BackboneSpec`: register other backbones through pluggy.
"""

try:
    from ._version import version as __version__
except ImportError:  # pragma: no cover - running from a source tree without build
    __version__ = "0.0.0"

from .backbones import BackboneSpec, available_backbones, hookimpl
from .io import read_image
from .modelcard import ModelCard, load_model
from .segmentation import RadioUNetSegmenter
from .statistics import DetectionRatio

__all__ = ["RadioUNetSegmenter", "DetectionRatio", "BackboneSpec", "hookimpl",
           "available_backbones", "read_image", "ModelCard", "load_model", "__version__"]
