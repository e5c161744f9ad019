"""
The local background around a region: the brightness its flux density
sits on.

The pixels of a radio image between sources are not zero on average: the
many sources too faint to be seen add up to a positive pedestal (the median
of the shared LoTSS-DR1 field is 0.04 to 0.05 times its noise; that of the
simulated LoTSS-like fields 0.06 to 0.08).  Summed over a region of
thousands of pixels, such as a radio halo's, it adds flux density that the
halo does not have: 0.07 times a 70 μJy/beam noise over a 2 arcmin radius
region is 5.5 mJy, a third of a 15 mJy halo's.  As in aperture photometry
with a background annulus (photutils' ``LocalBackground``), the level is
the median of the pixels in a ring around the region, away from it and
from every other segment, and is subtracted from each pixel of the region.

* `local_background`: the level and its error, as a `LocalBackground`.
"""

import dataclasses

import astropy.units as u
import numpy as np
from scipy.ndimage import distance_transform_edt

from ..image.beams import angle_pixels, beam_area_pixels
from ..image.noise import robust_sigma
from .photometry import _grown_box, _plane_values, _segment_mask

__all__ = ["local_background", "LocalBackground"]

#: Fewest beams of ring pixels for a background level; with fewer it is NaN.
MIN_RING_BEAMS = 10

#: Standard error of a median over that of a mean, for Gaussian noise.
MEDIAN_EFFICIENCY = np.sqrt(np.pi / 2)

#: The default ring: from ``RING_INNER`` to ``RING_INNER + RING_WIDTH`` beam
#: FWHMs from the region.
RING_INNER = 2.0
RING_WIDTH = 8.0


@dataclasses.dataclass(frozen=True)
class LocalBackground:
    """
    The result of `local_background`.

    Attributes
    ----------
    level : `~astropy.units.Quantity`
        The median brightness of the ring, Jy/beam (NaN with too few pixels).
    error : `~astropy.units.Quantity`
        Its standard error, Jy/beam: :math:`\\sqrt{\\pi/2}\\,\\sigma /
        \\sqrt{N_{\\rm beams}}` with :math:`\\sigma` the ring's robust rms and
        :math:`N_{\\rm beams}` its area in beams (pixels within a beam are
        not independent).
    n_pixels : int
        Ring pixels used.
    """

    level: u.Quantity
    error: u.Quantity
    n_pixels: int

    @property
    def usable(self):
        """Whether the level is finite (the ring had enough pixels)."""
        return bool(np.isfinite(self.level.value))


def local_background(image, mask, *, exclude=None, inner=RING_INNER, width=RING_WIDTH,
                     beam=None, wcs=None):
    """
    The median brightness in a ring around a region.

    The ring holds the valid pixels between ``inner`` and ``inner + width``
    beam FWHMs (the major axis) from the nearest pixel of ``mask``, outside
    ``mask`` and ``exclude``.  The gap of ``inner`` beams keeps the region's
    own emission, smoothed by the beam beyond its edge, out of the ring.

    Parameters
    ----------
    image : `~numpy.ndarray` or `~astropy_radiounet.image.ImagePlane` or any \
input of `~astropy_radiounet.image.read_image`
        The image, in Jy/beam for an array (best with compact sources
        subtracted); blank pixels are left out.
    mask : array_like of bool
        `True` in the region.
    exclude : array_like of bool, optional
        `True` for pixels to leave out of the ring as well (other segments,
        bright sources).
    inner, width : float, optional
        The ring's distance from the region and its width, in beam FWHMs.
    beam : `radio_beam.Beam`, optional
        The restoring beam (taken from an input that carries one).
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS (taken from an input that carries one).

    Returns
    -------
    background : `LocalBackground`
        NaN level and error with fewer than ``MIN_RING_BEAMS`` beams of
        ring pixels (a region filling its image).

    Raises
    ------
    ValueError
        With an empty mask, a mask or ``exclude`` of the wrong shape, or a
        ring that is not outside the region (``inner`` negative, ``width``
        not positive).

    Examples
    --------
    A region on noise with a pedestal of 5 μJy/beam:

    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.measure import local_background
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> image = 5e-6 + np.random.default_rng(0).normal(0, 1e-6, (200, 200))
    >>> mask = np.zeros((200, 200), bool)
    >>> mask[90:110, 90:110] = True
    >>> background = local_background(image, mask, beam=Beam(6 * u.arcsec), wcs=wcs)
    >>> round(float(background.level.to_value(u.uJy / u.beam)), 1)
    5.0
    """
    values, blank, wcs, beam = _plane_values(image, wcs, beam)
    mask = _segment_mask(mask, values.shape)
    if not mask.any():
        msg = "mask is empty: pass a boolean array, True in the region to measure."
        raise ValueError(msg)
    if not (np.isfinite(inner) and inner >= 0 and np.isfinite(width) and width > 0):
        msg = (f"The ring lies inner={inner} to inner + width={inner + width} beams from the "
               f"region: inner must be at least 0 and width positive.")
        raise ValueError(msg)
    exclude = np.zeros(values.shape, bool) if exclude is None else _segment_mask(
        exclude, values.shape)
    fwhm = angle_pixels(beam.major, wcs, name="beam")
    near, far = inner * fwhm, (inner + width) * fwhm
    # Distances on the region's bounding box grown by the ring, not the whole image.
    box = _grown_box(mask, int(np.ceil(far)) + 1)
    distance = distance_transform_edt(~mask[box])
    ring = (distance > near) & (distance <= far) & ~exclude[box] & ~blank[box]
    ring_values = values[box][ring]
    beams = ring_values.size / beam_area_pixels(beam, wcs)
    if beams < MIN_RING_BEAMS:
        nan = np.nan * u.Jy / u.beam
        return LocalBackground(level=nan, error=nan, n_pixels=int(ring_values.size))
    level = float(np.median(ring_values))
    error = MEDIAN_EFFICIENCY * float(robust_sigma(ring_values)) / np.sqrt(beams)
    return LocalBackground(level=level * u.Jy / u.beam, error=error * u.Jy / u.beam,
                           n_pixels=int(ring_values.size))
