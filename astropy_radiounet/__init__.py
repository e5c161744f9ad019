"""
astropy_radiounet: find faint diffuse radio emission -- radio halos, relics,
mini-halos and cosmic-web filaments -- in radio survey images with a U-Net.

The public API:

* `RadioUNetSegmenter`: image in, probability map and
  `~photutils.segmentation.SegmentationImage` out;
* `DetectionRatio`: the mean probability inside (2.2 R500) apertures around
  galaxy clusters, and their classification;
* `hookimpl` and `~astropy_radiounet.backbones.BackboneSpec`: register other
  backbones through pluggy.
"""

try:
    from ._version import version as __version__
except ImportError:  # pragma: no cover - running from a source tree without build
    __version__ = "0.0.0"

# The public names are imported on first use (PEP 562), so that importing a
# submodule -- e.g. the standalone simulation in a worker process -- does not
# pay for photutils, matplotlib and the model code.
_PUBLIC = {
    "RadioUNetSegmenter": "segmentation",
    "DetectionRatio": "clusters",
    "BackboneSpec": "backbones",
    "hookimpl": "backbones",
    "available_backbones": "backbones",
    "read_image": "image",
    "ModelCard": "models",
    "load_model": "models",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__():
    return sorted([*globals(), *_PUBLIC])
