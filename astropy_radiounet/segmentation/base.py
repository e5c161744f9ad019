"""
`SegmenterBase`: what every segmenter of the package shares.

A segmenter turns an image into a probability-like map of diffuse emission
(`~SegmenterBase.predict_probability`, implemented by each subclass) and
that map into a `~photutils.segmentation.SegmentationImage`
(`~SegmenterBase.segment`, here).  The base class also owns the settings
machinery: the settings are validated attributes listed in ``_params``, so
that a bad value is refused when it is set (``segmenter.threshold = 2``),
the repr shows them, and a segmenter pickles as its settings -- which is
how survey runs send it to worker processes.
"""

import pickle
import warnings

from ..exceptions import MissingMetadataWarning
from ..image.beams import beam_area_pixels
from ..image.read import read_image
from ..utils.validation import OneOf, PositiveInteger
from .threshold import threshold_map

__all__ = ["SegmenterBase"]

#: Smallest segment when no beam tells the size of a real feature.
MIN_SEGMENT_PIXELS = 5

# Segmenters rebuilt from their settings in this process, by settings: a
# worker of a survey run builds (and loads the model of) each one once.
_REBUILT = {}


def _rebuild(cls, settings):
    """The segmenter of these settings, built once per process (unpickling)."""
    key = pickle.dumps((cls, sorted(settings.items())))
    if key not in _REBUILT:
        _REBUILT[key] = cls(**settings)
    return _REBUILT[key]


class SegmenterBase:
    """
    Base class of the segmenters: thresholding, settings, repr and pickling.

    Subclasses set ``_params`` (the names of their constructor arguments,
    each stored as an attribute of the same name), implement
    ``predict_probability(data, *, mask=None, wcs=None, beam=None)`` and have a
    ``threshold`` and a ``card`` (whose beam sets the default ``n_pixels``).

    A segmenter pickles as its settings; unpickling builds it again, once
    per process and settings, so that the tasks of a survey run carry
    settings rather than a model and each worker loads the model once.
    """

    n_pixels = PositiveInteger(optional=True)
    connectivity = OneOf((4, 8))

    #: The constructor arguments, in order, each an attribute of the same name.
    _params = ()

    def settings(self):
        """
        The constructor arguments that rebuild this segmenter.

        Returns
        -------
        settings : dict
        """
        return {name: getattr(self, name) for name in self._params}

    def __repr__(self):
        params = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._params)
        return f"<{type(self).__name__}({params})>"

    def __reduce__(self):
        return _rebuild, (type(self), self.settings())

    def predict_probability(self, data, *, mask=None, wcs=None, beam=None):  # pragma: no cover
        """Per-pixel probability of diffuse emission (implemented by subclasses)."""
        raise NotImplementedError

    def segment(self, probability, *, mask=None, wcs=None, beam=None):
        """
        Threshold a probability map into a segmentation image.

        Parameters
        ----------
        probability : array_like
            Probability map, e.g. from `predict_probability`; NaN is blank.
        mask : array_like of bool, optional
            `True` for pixels to leave out.
        wcs : `~astropy.wcs.WCS`, optional
            WCS of the map, used with the model's beam to choose
            ``n_pixels`` when it is `None` (one beam's area).  Without it,
            segments of 5 pixels or more are kept, with a warning.
        beam : `radio_beam.Beam`, optional
            Beam of the input, used when the model has none.

        Returns
        -------
        segment_image : `~photutils.segmentation.SegmentationImage` or `None`
            `None`, with a `~photutils.utils.NoDetectionsWarning`, when no
            segment is found.
        """
        return threshold_map(probability, self.threshold, self.segment_n_pixels(wcs, beam),
                             connectivity=self.connectivity, mask=mask)

    def __call__(self, data, *, mask=None, wcs=None, beam=None):
        """
        Segment the diffuse emission in an image.

        Parameters are those of `predict_probability`.

        Returns
        -------
        segment_image : `~photutils.segmentation.SegmentationImage` or `None`
            `None`, with a `~photutils.utils.NoDetectionsWarning`, when no
            segment is found.
        """
        plane = read_image(data, mask=mask, wcs=wcs, beam=beam)
        probability = self.predict_probability(plane)
        return self.segment(probability, wcs=plane.wcs, beam=plane.beam)

    def segment_n_pixels(self, wcs, beam=None):
        """
        The smallest segment kept: ``n_pixels``, or one beam of the model.

        Parameters
        ----------
        wcs : `~astropy.wcs.WCS` or `None`
            WCS of the map to segment.
        beam : `radio_beam.Beam`, optional
            Beam of the input, used when the model declares none or when it
            is the wider (a model applied to a coarser image works at the
            image's beam; see `~astropy_radiounet.models.ModelCard.at_beam`).

        Returns
        -------
        n_pixels : int
            ``n_pixels`` when set; else the area of the wider of the model's
            beam and ``beam`` in pixels of ``wcs``, at least 5; 5 when
            neither a beam nor a WCS is known.
        """
        if self.n_pixels is not None:
            return self.n_pixels
        if self.card.beam is not None and (beam is None or beam.major <= self.card.beam.major):
            beam = self.card.beam
        if beam is None:
            return MIN_SEGMENT_PIXELS
        if wcs is None:
            warnings.warn("segment() has no WCS, so the beam cannot be turned into a number "
                          "of pixels; segments of 5 pixels or more are kept.  Pass wcs= (the "
                          "image's) or set n_pixels.", MissingMetadataWarning, stacklevel=3)
            return MIN_SEGMENT_PIXELS
        return max(MIN_SEGMENT_PIXELS, int(round(beam_area_pixels(beam, wcs))))
