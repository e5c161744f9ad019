"""
Restoring beams: read from FITS headers, measured in pixels of any celestial
WCS, and matched to another beam by convolution.

A beam is a `radio_beam.Beam` (radio-astro-tools, the class spectral-cube
and the radio community use): full widths at half maximum along the major
and minor axes and a position angle measured from north through east, as in
the FITS ``BMAJ``, ``BMIN`` and ``BPA`` keywords.  radio-beam gives the
solid angle (`radio_beam.Beam.sr`), writes a beam into a header
(`radio_beam.Beam.attach_to_header`) and convolves and deconvolves beams on
the sky.  This module holds only what it lacks:

* `beam_from_header`: a header's beam, or `None` when it has none;
* `beam_pixel_covariance`: the beam as a 2x2 covariance matrix in pixels of
  a celestial WCS of any orientation and pixel shape, which makes matching
  an image to another beam (adding covariances) and its inverse
  (subtracting them) exact and simple;
* `matching_kernel_covariance` and `gaussian_kernel`: the convolution that
  turns one pixel covariance into another;
* `pixel_scale` and `beam_area_pixels`: the pixel scale of a WCS and the
  number of its pixels that one beam covers.

A `radio_beam.Beam` is an `~astropy.units.Quantity` (its value is the solid
angle): test ``beam is None`` rather than ``if beam``, whose truth value is
an error; ``beam * other`` convolves and ``beam / other`` deconvolves; and
`copy.copy` or `copy.deepcopy` of a beam loses its axes (radio-beam issue
71), while pickling keeps them.
"""

from collections.abc import Mapping

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.wcs.utils import proj_plane_pixel_scales
from radio_beam import Beam

__all__ = ["beam_from_header", "check_beam", "beam_pixel_covariance", "beam_area_pixels",
           "matching_kernel_covariance", "gaussian_kernel", "pixel_scale", "angle_pixels"]

#: FWHM = FWHM_TO_SIGMA**-1 * sigma for a Gaussian.
FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))


def check_beam(beam, *, name="beam"):
    """
    Raise a clear error unless ``beam`` is a `radio_beam.Beam` of finite,
    positive widths; return it.

    Parameters
    ----------
    beam : object
        The candidate.
    name : str, optional
        What it is, for the message.

    Returns
    -------
    beam : `radio_beam.Beam`
    """
    if not isinstance(beam, Beam):
        msg = (f"{name} must be a radio_beam.Beam; got {type(beam).__name__}.  Pass e.g. "
               f"radio_beam.Beam(6 * u.arcsec) for a circular beam, or "
               f"radio_beam.Beam(major=12 * u.arcsec, minor=6 * u.arcsec, pa=30 * u.deg).")
        raise TypeError(msg)
    widths = [beam.major.to_value(u.deg), beam.minor.to_value(u.deg)]
    if not (np.all(np.isfinite(widths)) and min(widths) > 0
            and np.isfinite(beam.pa.to_value(u.deg))):
        msg = (f"{name} must have finite, positive widths and a finite position angle; "
               f"got major={beam.major}, minor={beam.minor}, pa={beam.pa}.")
        raise ValueError(msg)
    return beam


#: How to pass a beam, for messages.
BEAM_EXAMPLE = "beam=radio_beam.Beam(6 * u.arcsec)"


def _header_value(header, keyword, default, source):
    value = header.get(keyword, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        msg = (f"In the {source}, {keyword} = {value!r} is not a number (BMAJ, BMIN and "
               f"BPA are in degrees).  Correct the header, or delete BMAJ and pass the beam "
               f"instead (e.g. {BEAM_EXAMPLE}).")
        raise ValueError(msg) from None


def beam_from_header(header, *, source="header"):
    """
    The restoring beam of a FITS header, from ``BMAJ``, ``BMIN`` and ``BPA``.

    The keywords are in degrees; ``BMIN`` defaults to ``BMAJ`` (a circular
    beam) and ``BPA`` to 0.  A header whose ``BMIN`` is larger than its
    ``BMAJ`` gets the two swapped and 90 deg added to the position angle,
    which describes the same ellipse (`radio_beam.Beam.from_fits_header`
    refuses such headers).

    Parameters
    ----------
    header : `~astropy.io.fits.Header`, mapping or `None`
        The header, or any mapping of FITS keywords (such as the ``meta``
        of an `~astropy.nddata.NDData`).
    source : str, optional
        What the header belongs to, for error messages (such as
        ``"header of file 'field.fits'"``).

    Returns
    -------
    beam : `radio_beam.Beam` or `None`
        `None` when ``header`` is `None` or has no ``BMAJ`` (AIPS and CASA
        ``HISTORY`` records of the beam are not read).

    Raises
    ------
    ValueError
        If a keyword is not a number, or a width is not finite and positive.

    See Also
    --------
    radio_beam.Beam.attach_to_header : Write a beam into a header.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.io import fits
    >>> from astropy_radiounet.image.beams import beam_from_header
    >>> header = fits.Header({"BMAJ": 6 / 3600, "BMIN": 5 / 3600, "BPA": 30.0})
    >>> beam = beam_from_header(header)
    >>> beam.major.to(u.arcsec), beam.pa  # doctest: +FLOAT_CMP
    (<Quantity 6. arcsec>, <Quantity 30. deg>)
    >>> written = beam.attach_to_header(fits.Header())  # radio-beam writes a beam
    >>> round(float(written["BMIN"]) * 3600, 6), beam_from_header(written) == beam
    (5.0, True)
    >>> beam_from_header(fits.Header()) is None
    True
    """
    if header is None:
        return None
    if not isinstance(header, (fits.Header, Mapping)):
        msg = (f"header must be an astropy.io.fits.Header or a mapping of FITS keywords; "
               f"got {type(header).__name__}.")
        raise TypeError(msg)
    if "BMAJ" not in header:
        return None
    major = _header_value(header, "BMAJ", None, source)
    minor = _header_value(header, "BMIN", major, source)
    pa = _header_value(header, "BPA", 0.0, source)
    if minor > major:
        major, minor, pa = minor, major, pa + 90.0
    if not (np.isfinite([major, minor, pa]).all() and minor > 0):
        msg = (f"The {source} has the beam BMAJ={header['BMAJ']!r}, "
               f"BMIN={header.get('BMIN', header['BMAJ'])!r} (deg), "
               f"BPA={header.get('BPA', 0.0)!r}, which is not a beam: the widths must be "
               f"finite and positive.  Correct the header, or delete BMAJ and pass the beam "
               f"instead (e.g. {BEAM_EXAMPLE}).")
        raise ValueError(msg)
    return Beam(major=major * u.deg, minor=minor * u.deg, pa=pa * u.deg)


def _sky_covariance(beam):
    """Covariance matrix of a beam in degrees squared, on (east, north) axes."""
    theta = beam.pa.to_value(u.rad)
    along = np.array([np.sin(theta), np.cos(theta)])   # major axis (east, north)
    across = np.array([np.cos(theta), -np.sin(theta)])
    s_major = beam.major.to_value(u.deg) * FWHM_TO_SIGMA
    s_minor = beam.minor.to_value(u.deg) * FWHM_TO_SIGMA
    return s_major**2 * np.outer(along, along) + s_minor**2 * np.outer(across, across)


def beam_pixel_covariance(beam, wcs, scale=1.0):
    """
    Covariance matrix of a beam in pixels squared of a celestial WCS.

    The position angle is that of FITS ``BPA`` and `radio_beam.Beam`: from
    north through east.  Pixels may be rotated, sheared and of any shape;
    the linear part of the WCS at its reference pixel is used.

    Parameters
    ----------
    beam : `radio_beam.Beam`
        The beam.
    wcs : `~astropy.wcs.WCS`
        A celestial WCS.
    scale : float, optional
        Pixels of the returned matrix are ``scale`` times larger than
        those of ``wcs`` (used for resampled grids that share its
        orientation).

    Returns
    -------
    covariance : `~numpy.ndarray`
        2x2 matrix on the (x, y) pixel axes.

    Examples
    --------
    A beam with its major axis north-south is longest along y on a north-up
    image (12 arcsec FWHM on 1.5 arcsec pixels: a sigma of 3.4 pixels):

    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.image.beams import beam_pixel_covariance
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> beam = Beam(major=12 * u.arcsec, minor=6 * u.arcsec, pa=0 * u.deg)
    >>> np.sqrt(np.diag(beam_pixel_covariance(beam, wcs))).round(2).tolist()
    [1.7, 3.4]
    """
    check_beam(beam)
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        msg = f"scale must be a positive number; got {scale!r}."
        raise ValueError(msg)
    matrix = np.asarray(wcs.pixel_scale_matrix, dtype=float) * scale
    # Intermediate world axes: the longitude axis increases to the east.
    inverse = np.linalg.inv(matrix)
    return inverse @ _sky_covariance(beam) @ inverse.T


def matching_kernel_covariance(target, current):
    """
    Covariance of the Gaussian that turns the ``current`` beam into ``target``.

    Both are 2x2 covariance matrices on the same axes (e.g. from
    `beam_pixel_covariance`).  Directions in which ``current`` is already
    wider than ``target`` cannot be sharpened; they get zero width.

    Returns
    -------
    covariance : `~numpy.ndarray`
        The kernel's 2x2 covariance (positive semi-definite).
    deficit : float
        The largest amount (in the same units as the variances) by which
        ``current`` exceeds ``target`` along any direction, 0 when the
        target is reachable.
    """
    difference = np.asarray(target, dtype=float) - np.asarray(current, dtype=float)
    values, vectors = np.linalg.eigh(difference)
    deficit = float(max(0.0, -values.min()))
    values = np.clip(values, 0.0, None)
    return (vectors * values) @ vectors.T, deficit


def gaussian_kernel(covariance, *, n_sigma=4.0):
    """
    A normalised 2-D Gaussian kernel image for a pixel covariance matrix.

    Parameters
    ----------
    covariance : array_like
        2x2 covariance on the (x, y) pixel axes.
    n_sigma : float, optional
        Half-size of the kernel in units of the largest standard deviation.

    Returns
    -------
    kernel : `~numpy.ndarray` or `None`
        Odd-sized kernel that sums to one, or `None` when the covariance is
        too small to change the image (largest sigma below 0.05 pixels).
    """
    covariance = np.asarray(covariance, dtype=float)
    largest = np.sqrt(max(np.linalg.eigvalsh(covariance).max(), 0.0))
    if largest < 0.05:
        return None
    half = int(np.ceil(n_sigma * largest))
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(float)
    # Regularise singular (1-D) kernels by a tiny isotropic variance.
    inverse = np.linalg.inv(covariance + np.eye(2) * 1e-3)
    exponent = inverse[0, 0] * x**2 + 2 * inverse[0, 1] * x * y + inverse[1, 1] * y**2
    kernel = np.exp(-0.5 * exponent)
    return kernel / kernel.sum()


def pixel_scale(wcs):
    """Geometric-mean pixel scale of a celestial WCS, as an angle."""
    scales = proj_plane_pixel_scales(wcs)
    unit = u.Unit(wcs.wcs.cunit[0] or "deg")
    return (np.sqrt(scales[0] * scales[1]) * unit).to(u.arcsec)


def angle_pixels(angle, wcs, *, name="angle"):
    """
    An angle in pixels of a celestial WCS (its geometric-mean pixel scale).

    Parameters
    ----------
    angle : `~astropy.units.Quantity`
        A positive, finite angle.
    wcs : `~astropy.wcs.WCS`
        A celestial WCS.
    name : str, optional
        The argument's name, for the error messages.

    Returns
    -------
    pixels : float

    Raises
    ------
    TypeError
        If ``angle`` is not an angle Quantity.
    ValueError
        If it is not positive and finite.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from astropy_radiounet.image import angle_pixels
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> angle_pixels(6 * u.arcsec, wcs)
    4.0
    """
    if not (isinstance(angle, u.Quantity) and angle.unit.physical_type == "angle"):
        msg = f"{name} must be an angle, e.g. {name}=6 * u.arcsec; got {angle!r}."
        raise TypeError(msg)
    pixels = float((angle / pixel_scale(wcs)).decompose())
    if not (np.isfinite(pixels) and pixels > 0):
        msg = f"{name} must be a finite, positive angle; got {angle}."
        raise ValueError(msg)
    return pixels


def beam_area_pixels(beam, wcs):
    """
    The solid angle of a beam in pixels of a celestial WCS.

    This is the number of pixels that one beam covers: the factor between a
    sum of Jy/beam pixel values and a flux density in Jy, and the natural
    smallest size of a real feature in the image.

    Parameters
    ----------
    beam : `radio_beam.Beam`
        The beam; its solid angle is `radio_beam.Beam.sr`.
    wcs : `~astropy.wcs.WCS`
        A celestial WCS (its geometric-mean pixel scale is used).

    Returns
    -------
    area : float
        Beam area in pixels.

    Examples
    --------
    A 6 arcsec beam on 1.5 arcsec pixels covers about 18 pixels:

    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.image.beams import beam_area_pixels
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> round(beam_area_pixels(Beam(6 * u.arcsec), wcs), 2)
    18.13
    """
    check_beam(beam)
    return float((beam.sr / pixel_scale(wcs) ** 2).decompose().value)
