"""
Blanking written as zeros: mosaics whose blank edges hold exact zeros instead
of NaN.  Regions of exact zeros that touch the edge of the image and cover at
least ``ZERO_BORDER_BEAMS`` beams are masked, with a warning.
"""

import warnings

import numpy as np
from scipy import ndimage

from ..exceptions import BlankDataWarning
from .beams import beam_area_pixels

__all__ = ["ZERO_BORDER_BEAMS", "ZERO_BORDER_MIN_PIXELS", "mask_zero_borders"]

#: A region of exact zeros touching the image edge is blanking written as 0
#: when it covers at least this many beams (and ZERO_BORDER_MIN_PIXELS pixels).
ZERO_BORDER_BEAMS = 4
ZERO_BORDER_MIN_PIXELS = 64


def _edge_has_zero(data):
    return any(np.any(np.asarray(edge) == 0)
               for edge in (data[0], data[-1], data[:, 0], data[:, -1]))


def mask_zero_borders(plane, *, source, strip_rows=1024):
    """
    Mask regions of exact zeros that touch the image edge and cover at least
    ZERO_BORDER_BEAMS beams: blanking written as 0 instead of NaN.
    """
    if min(plane.shape) == 0 or not _edge_has_zero(plane.data):
        return plane  # the usual case, decided from the four edges alone
    ny, nx = plane.shape
    zeros = np.zeros(plane.shape, dtype=bool)
    for start in range(0, ny, strip_rows):
        rows = slice(start, min(start + strip_rows, ny))
        zeros[rows] = plane.data[rows] == 0
        if plane.mask is not None:
            zeros[rows] &= ~plane.mask[rows]
    seeds = np.zeros_like(zeros)
    for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
        seeds[edge] = zeros[edge]
    border = ndimage.binary_propagation(seeds, mask=zeros)
    del zeros, seeds
    min_pixels = ZERO_BORDER_MIN_PIXELS
    if plane.beam is not None and plane.wcs is not None:
        min_pixels = max(min_pixels, int(np.ceil(ZERO_BORDER_BEAMS
                                                 * beam_area_pixels(plane.beam, plane.wcs))))
    if np.count_nonzero(border) < min_pixels:
        return plane
    labels, _ = ndimage.label(border)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    large = sizes >= min_pixels
    if not large.any():
        return plane
    blank = large[labels]
    del labels
    count = int(sizes[large].sum())
    regions = int(large.sum())
    warnings.warn(
        f"The {source} has {count} pixels of exact zeros ({100 * count / blank.size:.3g} per "
        f"cent of the image) in {regions} region{'s' if regions > 1 else ''} touching the "
        f"image edge, each of at least {min_pixels} pixels ({ZERO_BORDER_BEAMS} beams or "
        f"{ZERO_BORDER_MIN_PIXELS} pixels, the larger): blanking written as 0 rather than NaN."
        f"  "
        f"They are treated as blank (masked, NaN in the results).  Write blank pixels as NaN "
        f"to avoid this warning, or pass blank_zero_borders=False to read_image to keep "
        f"them as data.", BlankDataWarning, stacklevel=3)
    mask = blank if plane.mask is None else (blank | plane.mask)
    return plane.replace(mask=mask)
