"""
Elliptical Gaussian restoring beams: read from FITS headers, measured in
pixels of any celestial WCS, and matched to another beam by convolution.

A beam is described on the sky by its full widths at half maximum along the
major and minor axes and by its position angle, measured from north through
east (the FITS ``BMAJ``, ``BMIN`` and ``BPA`` keywords).  Internally the
beam is handled as a 2x2 covariance matrix, which makes convolution (adding
covariances) and its inverse (subtracting them) exact and simple.
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.wcs.utils import proj_plane_pixel_scales

__all__ = ["GaussianBeam", "matching_kernel_covariance", "gaussian_kernel"]

#: FWHM = FWHM_TO_SIGMA**-1 * sigma for a Gaussian.
FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))


@dataclass(frozen=True)
class GaussianBeam:
    """
    An elliptical Gaussian beam.

    Parameters
    ----------
    major, minor : `~astropy.units.Quantity`
        Full widths at half maximum along the major and minor axes, as
        angles.
    pa : `~astropy.units.Quantity`, optional
        Position angle of the major axis, from north through east.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.image.beams import GaussianBeam
    >>> beam = GaussianBeam(6 * u.arcsec, 6 * u.arcsec)
    >>> beam.area.to(u.arcsec**2)  # doctest: +FLOAT_CMP
    <Quantity 40.79089019 arcsec2>
    """

    major: u.Quantity
    minor: u.Quantity
    pa: u.Quantity = 0 * u.deg

    def __post_init__(self):
        for name in ("major", "minor", "pa"):
            value = getattr(self, name)
            if not isinstance(value, u.Quantity) or value.unit.physical_type != "angle":
                msg = (f"GaussianBeam {name}={value!r} must be an angle Quantity, "
                       f"e.g. 6 * astropy.units.arcsec")
                raise TypeError(msg)
        if not (self.major > 0 * u.deg and self.minor > 0 * u.deg):
            msg = (f"GaussianBeam widths must be positive; got major={self.major}, "
                   f"minor={self.minor}")
            raise ValueError(msg)
        if self.minor > self.major:
            msg = (f"GaussianBeam minor={self.minor} is larger than major={self.major}; "
                   f"swap them and add 90 deg to the position angle")
            raise ValueError(msg)

    @classmethod
    def from_header(cls, header):
        """
        Read the beam from the ``BMAJ``, ``BMIN`` and ``BPA`` keywords (degrees).

        Returns `None` when the header has no ``BMAJ``.
        """
        if header is None or "BMAJ" not in header:
            return None
        major = float(header["BMAJ"])
        minor = float(header.get("BMIN", major))
        pa = float(header.get("BPA", 0.0))
        if minor > major:
            major, minor, pa = minor, major, pa + 90.0
        return cls(major * u.deg, minor * u.deg, pa * u.deg)

    @property
    def area(self):
        """Solid angle of the beam, pi / (4 ln 2) * major * minor."""
        return (np.pi / (4.0 * np.log(2.0)) * self.major * self.minor).to(u.sr)

    def sky_covariance(self):
        """
        Covariance matrix of the beam in degrees squared, on (east, north) axes.
        """
        theta = self.pa.to_value(u.rad)
        along = np.array([np.sin(theta), np.cos(theta)])   # major axis (east, north)
        across = np.array([np.cos(theta), -np.sin(theta)])
        s_major = self.major.to_value(u.deg) * FWHM_TO_SIGMA
        s_minor = self.minor.to_value(u.deg) * FWHM_TO_SIGMA
        return s_major**2 * np.outer(along, along) + s_minor**2 * np.outer(across, across)

    def pixel_covariance(self, wcs, scale=1.0):
        """
        Covariance matrix of the beam in pixels squared of a celestial WCS.

        Parameters
        ----------
        wcs : `~astropy.wcs.WCS`
            A celestial WCS; its linear part at the reference pixel is used.
        scale : float, optional
            Pixels of the returned matrix are ``scale`` times larger than
            those of ``wcs`` (used for resampled grids that share its
            orientation).

        Returns
        -------
        covariance : `~numpy.ndarray`
            2x2 matrix on the (x, y) pixel axes.
        """
        matrix = np.asarray(wcs.pixel_scale_matrix, dtype=float) * scale
        # Intermediate world axes: the longitude axis increases to the east.
        inverse = np.linalg.inv(matrix)
        return inverse @ self.sky_covariance() @ inverse.T


def matching_kernel_covariance(target, current):
    """
    Covariance of the Gaussian that turns the ``current`` beam into ``target``.

    Both are 2x2 covariance matrices on the same axes.  Directions in which
    ``current`` is already wider than ``target`` cannot be sharpened; they
    get zero width.

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
