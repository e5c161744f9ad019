"""
From a probability map to a photutils segmentation image: threshold, minimum
size and connectivity; blank (NaN) pixels kept blank.
"""

import warnings

import numpy as np
from photutils.segmentation import detect_sources
from photutils.utils import NoDetectionsWarning

from ..image.plane import check_mask
from ..utils.validation import OneOf, PositiveInteger

__all__ = ["threshold_map"]


def threshold_map(probability, threshold, n_pixels, *, connectivity=8, mask=None):
    """
    Segments of connected pixels above a threshold in a probability-like map.

    Parameters
    ----------
    probability : array_like
        The map; NaN is blank.
    threshold : float
        Pixels above it belong to segments.
    n_pixels : int
        Minimum number of connected pixels of a segment.
    connectivity : {4, 8}, optional
        Pixel connectivity.
    mask : array_like of bool, optional
        `True` for pixels to leave out.

    Returns
    -------
    segment_image : `~photutils.segmentation.SegmentationImage` or `None`
        `None`, with a `~photutils.utils.NoDetectionsWarning`, when no
        segment is found.
    """
    n_pixels = PositiveInteger().validate(n_pixels, "n_pixels")
    connectivity = OneOf((4, 8)).validate(connectivity, "connectivity")
    probability = np.asanyarray(probability)
    blank = ~np.isfinite(probability)
    if mask is not None:
        blank |= check_mask(np.asanyarray(mask, dtype=bool), probability.shape)
    if blank.all():
        warnings.warn("The map is blank (NaN or masked) everywhere: no segments.",
                      NoDetectionsWarning)
        return None
    values = np.where(blank, 0.0, probability)
    return detect_sources(values, threshold, n_pixels, connectivity=connectivity, mask=blank)
