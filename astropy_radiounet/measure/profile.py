"""
The surface-brightness profile of a radio halo: an exponential, convolved with
the restoring beam, fitted to the pixels of a halo.

Radio halos are well described by

.. math:: I(r) = I_0 \\, e^{-r / r_e}

(Murgia et al. 2009, A&A 499, 679), the model that Halo-FDCA (Boxelaar, van
Weeren & Botteon 2021, Astron. Comput. 35, 100464) fits to LOFAR images.  As
there, the central surface brightness :math:`I_0` of the *unconvolved* profile
is reported in μJy/arcsec², which does not depend on the resolution, and the
flux density is that of the fitted (unconvolved) model within :math:`3 r_e`:

.. math:: S(<3 r_e) = 2 \\pi I_0 r_1 r_2 \\left[1 - 4 e^{-3}\\right]

where :math:`r_1 = r_2 = r_e` for a circular halo and :math:`r_1, r_2` are the
e-folding radii along the axes of an elliptical one (integrated within the
ellipse of three times those radii).

* `exponential_halo_image`: the model on a pixel grid, in Jy/beam, convolved
  with a Gaussian beam;
* `fit_exponential_halo`: the fit, with errors for noise correlated within a
  beam and for the misfit of the profile, as a `HaloProfileFit`.
"""

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs.utils import pixel_to_skycoord, skycoord_to_pixel
from scipy.optimize import least_squares
from scipy.fft import irfft2, next_fast_len, rfft2
from scipy.signal import fftconvolve

from ..image import ImagePlane, beam_area_pixels, beam_pixel_covariance, check_wcs
from ..image import gaussian_kernel, pixel_scale
from ..image.beams import FWHM_TO_SIGMA, check_beam

__all__ = ["exponential_halo_image", "fit_exponential_halo", "HaloProfileFit",
           "FLUX_3RE_FACTOR"]

#: Most model evaluations of a fit; one that needs more is reported unconverged.
MAX_EVALUATIONS = 200

#: Relative change of the cost and of the parameters at which a fit stops
#: (``ftol`` and ``xtol`` of `scipy.optimize.least_squares`): far below the
#: parameters' errors, which are seldom under a per cent, and enough to stop
#: the fits whose cost valley is flat long before ``MAX_EVALUATIONS``.
TOLERANCE = 1e-5

#: Fractional error of the e-folding radius, added in quadrature, for what
#: the statistical error cannot see: the halo's own structure (turbulence),
#: which the fit absorbs and no residual shows, its departures from a
#: circular exponential (ellipticity, an edge) and a fitted region cut short
#: by the segmentation.  Calibrated on 90 simulated halos with S/N of at
#: least 5 segmented by the shipped model, as the fraction that makes the
#: errors cover the injected radius in 68 per cent of them (``python
#: benchmarks/measure_recovery.py --kind halo --n-fields 600 --seed 1``),
#: and checked on other fields (``docs/measure.rst``).
SYSTEMATIC_ERROR = 0.31

#: Fraction of the total flux density of an exponential profile within 3 r_e.
FLUX_3RE_FACTOR = 1.0 - 4.0 * np.exp(-3.0)

_SB_UNIT = u.uJy / u.arcsec**2


def _beam_covariance(beam_pixels):
    """A 2x2 pixel covariance from `None`, a FWHM in pixels or a covariance."""
    if beam_pixels is None:
        return None
    covariance = np.asarray(beam_pixels, dtype=float)
    if covariance.ndim == 0:
        fwhm = float(covariance)
        if not (np.isfinite(fwhm) and fwhm >= 0):
            msg = f"beam_pixels as a FWHM must be a non-negative number of pixels; got {fwhm}."
            raise ValueError(msg)
        return np.eye(2) * (fwhm * FWHM_TO_SIGMA) ** 2
    if covariance.shape != (2, 2) or not np.all(np.isfinite(covariance)):
        msg = ("beam_pixels must be a FWHM in pixels or a finite 2x2 pixel covariance "
               "(e.g. from astropy_radiounet.image.beam_pixel_covariance); got shape "
               f"{covariance.shape}.")
        raise ValueError(msg)
    return covariance


def _parameter_covariance(jacobian, residuals, use, beam_pixels):
    """
    The covariance of the fitted parameters, for noise correlated over a
    beam and a profile that may not describe the data.

    ``jacobian`` (pixels x parameters) and ``residuals`` are weighted (divided
    by the noise) on the ``True`` pixels of ``use``; ``beam_pixels`` is the
    beam's area in pixels.  Two estimates, with :math:`B = (J^T J)^{-1}`:

    * the noise alone: :math:`B` times the pixels per beam, the standard
      correction for noise whose correlation function is the beam (Condon
      1997, PASP 109, 166);
    * the residuals: :math:`B \\, J^T C J \\, B` with :math:`C` the
      autocorrelation of the residuals over the pixels, divided by their
      number and tapered by a Bartlett window as long as the grid so that it
      is positive semi-definite -- the heteroscedasticity- and
      autocorrelation-consistent (sandwich) estimate of Newey & West (1987,
      Econometrica 55, 703) in two dimensions.  It holds whatever the
      residuals show: turbulent structure, a cut-off, residual sources.

    The result is the first plus the part of the second that exceeds it
    (its positive eigenvalues), so that a misfit raises the errors and a
    good fit keeps those of the noise, which the sandwich, from one noise
    realisation, estimates with a scatter of its own.
    """
    n_free = jacobian.shape[1]
    try:
        bread = np.linalg.inv(jacobian.T @ jacobian)
    except np.linalg.LinAlgError:
        return np.full((n_free, n_free), np.nan)
    noise_only = bread * beam_pixels
    residual_map = np.zeros(use.shape)
    residual_map[use] = residuals
    ny, nx = use.shape
    # fftconvolve with the flipped map is the autocorrelation, zero lag at (ny-1, nx-1).
    acf = fftconvolve(residual_map, residual_map[::-1, ::-1], mode="full") / use.sum()
    window = np.outer(1 - np.abs(np.arange(1 - ny, ny)) / ny,
                      1 - np.abs(np.arange(1 - nx, nx)) / nx)
    maps = np.zeros((n_free, ny, nx))
    maps[:, use] = jacobian.T
    smoothed = np.stack([fftconvolve(m, acf * window, mode="same") for m in maps])
    sandwich = bread @ np.einsum("kyx,lyx->kl", maps, smoothed) @ bread
    values, vectors = np.linalg.eigh(sandwich - noise_only)
    return noise_only + (vectors * np.clip(values, 0, None)) @ vectors.T


def _profile(shape, x0, y0, i0, r1, r2, theta, kernel=None):
    """The exponential on a grid of ``shape``, convolved with ``kernel`` (no padding lost)."""
    return _ConvolvedExponential(shape, kernel).model(x0, y0, i0, r1, r2, theta)


class _ConvolvedExponential:
    """
    The beam-convolved exponential on one grid, and its derivatives, for a fit.

    The grid is padded by the kernel's half size so that emission just
    outside it is convolved in; the kernel's Fourier transform is computed
    once, and the model and its derivatives with respect to
    (x0, y0, i0, r1, r2, theta) are convolved together in one transform.
    """

    def __init__(self, shape, kernel=None):
        self.shape = tuple(shape)
        self.kernel = kernel
        half = 0 if kernel is None else kernel.shape[0] // 2
        ny, nx = self.shape
        self.y = np.arange(-half, ny + half, dtype=float)[:, None]
        self.x = np.arange(-half, nx + half, dtype=float)[None, :]
        if kernel is not None:
            padded = (ny + 2 * half, nx + 2 * half)
            self.fft_shape = tuple(next_fast_len(n + k - 1, real=True)
                                   for n, k in zip(padded, kernel.shape))
            self.kernel_ft = rfft2(kernel, self.fft_shape)
            self.valid = tuple(slice(k - 1, k - 1 + n) for k, n in zip(kernel.shape, self.shape))

    def _convolve(self, maps):
        if self.kernel is None:
            return maps
        transformed = irfft2(rfft2(maps, self.fft_shape) * self.kernel_ft, self.fft_shape)
        return transformed[(...,) + self.valid]

    def _unconvolved(self, x0, y0, r1, r2, theta):
        dx, dy = self.x - x0, self.y - y0
        cos, sin = np.cos(theta), np.sin(theta)
        along = (dx * cos + dy * sin) / r1
        across = (-dx * sin + dy * cos) / r2
        radius = np.sqrt(along**2 + across**2)
        return along, across, radius, np.exp(-radius), cos, sin

    def model(self, x0, y0, i0, r1, r2, theta):
        """The convolved model, of the grid's shape."""
        profile = self._unconvolved(x0, y0, r1, r2, theta)[3]
        return self._convolve(i0 * profile)

    def derivatives(self, x0, y0, i0, r1, r2, theta, *, circular=False):
        """
        The convolved derivatives of the model with respect to (x0, y0, i0,
        r1, r2, theta), stacked on the first axis; with ``circular``, those
        with respect to (x0, y0, i0, r) of the circular model r1 = r2 = r
        (four maps to convolve instead of six).
        """
        along, across, radius, profile, cos, sin = self._unconvolved(x0, y0, r1, r2, theta)
        # d(model)/dp = -i0 exp(-s) ds/dp with ds/dp = (a da/dp + b db/dp) / s;
        # at the cusp (s = 0) the derivative is set to zero.
        slope = np.where(radius > 0, -i0 * profile / np.maximum(radius, 1e-12), 0.0)
        maps = [slope * (-along * cos / r1 + across * sin / r2),
                slope * (-along * sin / r1 - across * cos / r2),
                profile]
        if circular:  # d/dr = d/dr1 + d/dr2 at r1 = r2 = r
            maps.append(slope * (-(along**2 + across**2) / r1))
        else:
            maps += [slope * (-along**2 / r1), slope * (-across**2 / r2),
                     slope * (along * across * (r2 / r1 - r1 / r2))]
        return self._convolve(np.stack(maps))


def exponential_halo_image(shape, *, x0, y0, i0, r_e, beam_pixels=None, ellipticity=0.0,
                           theta=0.0):
    """
    An exponential halo on a pixel grid, convolved with a Gaussian beam.

    The unconvolved profile is :math:`I = I_0 \\exp(-r/r_e)` with
    :math:`r^2 = x'^2 + y'^2 / (1 - \\epsilon)^2` on axes :math:`x', y'`
    rotated by ``theta``.  The convolution uses a kernel normalised to unit
    sum, so it preserves surface brightness and total flux; the grid is
    padded by the kernel's half size first, so that emission just outside the
    grid is convolved into it and none is lost at the edges.

    Parameters
    ----------
    shape : tuple of int
        (ny, nx) of the grid.
    x0, y0 : float
        The centre in pixels (zero-based, as numpy indices: ``image[y, x]``).
    i0 : float
        The central surface brightness of the *unconvolved* profile in the
        unit of the image (Jy/beam for a model image).  From
        :math:`I_0` in Jy/arcsec² it is :math:`I_0 \\Omega_{\\rm beam}` with
        the beam's solid angle in arcsec² (`fit_exponential_halo` reports
        μJy/arcsec², as Halo-FDCA does).
    r_e : float
        The e-folding radius in pixels (along the major axis when elliptical).
    beam_pixels : float or array_like, optional
        The beam as a FWHM in pixels (circular) or a 2x2 pixel covariance
        (`~astropy_radiounet.image.beam_pixel_covariance`); `None` (default)
        for the unconvolved profile.
    ellipticity : float, optional
        :math:`1 - r_{\\rm minor}/r_{\\rm major}`, in [0, 1); 0 is circular.
    theta : float, optional
        The angle of the major axis in radians, counterclockwise from the +x
        axis of the pixel grid.

    Returns
    -------
    image : `~numpy.ndarray`
        The model, of shape ``shape``.

    Examples
    --------
    The sum of the pixels is the analytic total :math:`2 \\pi I_0 r_e^2`,
    with or without the beam:

    >>> import numpy as np
    >>> from astropy_radiounet.measure.profile import exponential_halo_image
    >>> image = exponential_halo_image((201, 201), x0=100, y0=100, i0=1.0, r_e=8.0,
    ...                                beam_pixels=6.0)
    >>> round(float(image.sum()) / (2 * np.pi * 8.0**2), 3)
    1.0
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 2 or min(shape) < 1:
        msg = f"shape must be (ny, nx) with positive sizes; got {shape}."
        raise ValueError(msg)
    r_e = float(r_e)
    ellipticity = float(ellipticity)
    if not (np.isfinite(r_e) and r_e > 0):
        msg = f"r_e must be a positive number of pixels; got {r_e}."
        raise ValueError(msg)
    if not 0 <= ellipticity < 1:
        msg = f"ellipticity must be in [0, 1) (1 - minor/major axis ratio); got {ellipticity}."
        raise ValueError(msg)
    covariance = _beam_covariance(beam_pixels)
    kernel = None if covariance is None else gaussian_kernel(covariance)
    return _profile(shape, float(x0), float(y0), float(i0), r_e, r_e * (1.0 - ellipticity),
                    float(theta), kernel)


@dataclass(frozen=True)
class HaloProfileFit:
    """
    The result of `fit_exponential_halo`.

    Errors are one standard deviation, from the Jacobian at the best fit,
    for noise correlated over a beam and raised where the correlated
    residuals show a misfit of the profile; that of r_e also holds a
    systematic part (see `fit_exponential_halo`).

    Attributes
    ----------
    i0, i0_err : `~astropy.units.Quantity`
        Central surface brightness of the unconvolved profile, μJy/arcsec².
    i0_beam : float
        The same in Jy/beam (the ``i0`` of `exponential_halo_image`).
    r_e, r_e_err : `~astropy.units.Quantity`
        e-folding radius (along the major axis when elliptical), arcsec, on
        the geometric-mean pixel scale.
    r_e_pixels, r_e_err_pixels : float
        The same in pixels.
    axis_ratio, axis_ratio_err : float
        Minor over major e-folding radius (1 and 0 for a circular fit).
    theta : float
        Angle of the major axis, radians counterclockwise from +x, in [0, π).
    centre : `~astropy.coordinates.SkyCoord`
        The fitted centre.
    centre_pixels : tuple of float
        The fitted centre (x, y) in pixels.
    flux_3re, flux_3re_err : `~astropy.units.Quantity`
        Flux density of the unconvolved model within 3 r_e, mJy.
    chi2 : float
        Sum of squared normalised residuals over the fitted pixels.
    dof : int
        Fitted pixels minus free parameters (pixels are not independent:
        ``chi2 / dof`` is near 1 for a good fit, but its scatter is larger).
    success : bool
        Whether the optimiser converged.
    message : str
        The optimiser's message.
    """

    i0: u.Quantity
    i0_err: u.Quantity
    i0_beam: float
    r_e: u.Quantity
    r_e_err: u.Quantity
    r_e_pixels: float
    r_e_err_pixels: float
    axis_ratio: float
    axis_ratio_err: float
    theta: float
    centre: SkyCoord
    centre_pixels: tuple
    flux_3re: u.Quantity
    flux_3re_err: u.Quantity
    chi2: float
    dof: int
    success: bool
    message: str
    shape: tuple = field(repr=False)
    beam_covariance: np.ndarray = field(repr=False)

    def model_image(self, *, convolved=True):
        """
        The fitted model on the image's grid, in Jy/beam.

        Parameters
        ----------
        convolved : bool, optional
            Convolved with the beam (default), as compared with the data, or not.
        """
        x0, y0 = self.centre_pixels
        return exponential_halo_image(
            self.shape, x0=x0, y0=y0, i0=self.i0_beam, r_e=self.r_e_pixels,
            beam_pixels=self.beam_covariance if convolved else None,
            ellipticity=1.0 - self.axis_ratio, theta=self.theta)


def _inputs(image, beam, wcs):
    """Data in Jy/beam (NaN where blank), beam and WCS from an array or an ImagePlane."""
    if isinstance(image, ImagePlane):
        data = np.array(image.data, dtype=float) * image.scale
        data[image.blank()] = np.nan
        beam = image.beam if beam is None else beam
        wcs = image.wcs if wcs is None else wcs
    else:
        data = np.array(image, dtype=float)
        if data.ndim != 2:
            msg = f"image must be a 2-D array or an ImagePlane; got {data.ndim} dimensions."
            raise ValueError(msg)
    if beam is None:
        msg = ("No beam: pass beam=radio_beam.Beam(...) (the restoring beam of the image), "
               "or an ImagePlane that has one.")
        raise ValueError(msg)
    if wcs is None:
        msg = ("No WCS: pass wcs=astropy.wcs.WCS(header) (a celestial WCS of the image), "
               "or an ImagePlane that has one.")
        raise ValueError(msg)
    return data, check_beam(beam), check_wcs(wcs)


def _noise_map(noise, shape):
    """The noise as an array of ``shape`` in Jy/beam."""
    if isinstance(noise, u.Quantity):
        noise = noise.to_value(u.Jy / u.beam)
    noise = np.asarray(noise, dtype=float)
    if noise.ndim == 0:
        noise = np.full(shape, float(noise))
    if noise.shape != shape:
        msg = (f"noise must be a number or a map of the image's shape {shape} in Jy/beam; "
               f"got shape {noise.shape}.")
        raise ValueError(msg)
    return noise


def fit_exponential_halo(image, mask, *, beam=None, wcs=None, noise, centre=None,
                         elliptical=False, systematic_error=SYSTEMATIC_ERROR):
    """
    Fit a beam-convolved exponential profile to the pixels of a radio halo.

    The model (`exponential_halo_image`) is convolved with the beam and
    fitted by `scipy.optimize.least_squares` (bounded: :math:`I_0 > 0`,
    :math:`0.5 < r_e < 2 L` pixels, with :math:`L` the longer side of the
    mask's bounding box, and the centre on that box; at most
    ``MAX_EVALUATIONS`` model evaluations, after which ``success`` is
    `False`; an analytic Jacobian) to the finite pixels inside ``mask``, each
    weighted by 1/``noise``.  Start values come from the data: the centre
    from the brightness-weighted centroid (or ``centre``), :math:`r_e` from
    the second moment (that of an exponential is :math:`3 r_e^2` per axis,
    plus the beam's), :math:`I_0` from the peak.

    Pixels within a beam are not independent, and an exponential seldom
    describes a halo to the noise (turbulence, an edge, residual sources).
    The covariance from the Jacobian, :math:`(J^T J)^{-1}`, which assumes
    independent pixels and a perfect model, is therefore multiplied by the
    number of pixels per beam (`~astropy_radiounet.image.beam_area_pixels`),
    the standard correction for noise whose correlation function is the beam
    (e.g. Condon 1997, PASP 109, 166; Halo-FDCA samples one pixel per beam
    instead), and raised by whatever more the correlated residuals show: a
    sandwich estimate with their measured autocorrelation (Newey & West
    1987, Econometrica 55, 703; see ``_parameter_covariance``).  On pure
    correlated noise the errors match the scatter of repeated fits; with a
    misfit they grow with it.  What the fit absorbs leaves no residual (a
    halo's turbulent structure, for one): ``systematic_error`` adds it to
    the error of r_e.

    Parameters
    ----------
    image : array_like or `~astropy_radiounet.image.ImagePlane`
        The image in Jy/beam (an `ImagePlane` in any brightness unit; its
        WCS, beam and blanking are used).  Compact sources should be
        subtracted or excluded from ``mask``.
    mask : array_like of bool
        `True` for the pixels to fit (the halo and some surroundings; note
        that this is the opposite of the blanking masks of `ImagePlane`).
    beam : `radio_beam.Beam`, optional
        The restoring beam (required unless ``image`` has one).
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS (required unless ``image`` has one).
    noise : float, `~astropy.units.Quantity` or array_like
        The rms noise in Jy/beam: one number or a map of the image's shape.
    centre : `~astropy.coordinates.SkyCoord`, optional
        Start value of the centre (it is fitted).
    elliptical : bool, optional
        Fit an elliptical profile (two radii and an angle) instead of a
        circular one.
    systematic_error : float, optional
        Fractional error of the e-folding radius added in quadrature to its
        statistical error (default ``SYSTEMATIC_ERROR``, 0.31, calibrated on
        simulated halos segmented by the shipped model): turbulence moves
        the fitted radius in a way that the residuals do not show, since
        the fit absorbs it, and neither an elliptical or truncated halo nor
        a fitted region cut short by the segmentation shows in them.  0
        gives the statistical error alone.  The errors of the other
        parameters and of ``flux_3re`` are statistical.

    Returns
    -------
    fit : `HaloProfileFit`

    Raises
    ------
    ValueError
        Without beam or WCS, with a mask of the wrong shape, or with fewer
        usable pixels in ``mask`` than free parameters.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.image import beam_area_pixels, beam_pixel_covariance
    >>> from astropy_radiounet.measure.profile import (exponential_halo_image,
    ...                                                fit_exponential_halo)
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.crval = [150.0, 30.0]
    >>> wcs.wcs.cdelt = [-3 / 3600, 3 / 3600]
    >>> beam = Beam(12 * u.arcsec)
    >>> halo = exponential_halo_image((96, 96), x0=48, y0=48, i0=2e-3, r_e=8.0,
    ...                               beam_pixels=beam_pixel_covariance(beam, wcs))
    >>> fit = fit_exponential_halo(halo, np.ones((96, 96), bool), beam=beam, wcs=wcs,
    ...                            noise=1e-4)
    >>> print(round(fit.r_e.to_value(u.arcsec), 2), fit.r_e.unit)
    24.0 arcsec
    >>> print(round(fit.i0_beam * 1e3, 4))
    2.0
    """
    data, beam, wcs = _inputs(image, beam, wcs)
    shape = data.shape
    if mask is None:
        msg = "mask is required: pass a boolean array, True for the pixels of the halo to fit."
        raise ValueError(msg)
    mask = np.asarray(mask)
    if mask.shape != shape or mask.dtype != bool:
        msg = (f"mask must be a boolean array of the image's shape {shape}, True for the "
               f"pixels to fit; got shape {mask.shape}, dtype {mask.dtype}.")
        raise ValueError(msg)
    sigma = _noise_map(noise, shape)
    use = mask & np.isfinite(data) & np.isfinite(sigma) & (sigma > 0)
    n_free = 6 if elliptical else 4
    n_use = int(use.sum())
    if n_use <= n_free:
        msg = (f"Only {n_use} usable pixels in mask (True, finite, with positive noise) for "
               f"{n_free} free parameters; pass a mask that covers the halo (True = fit).")
        raise ValueError(msg)

    covariance = beam_pixel_covariance(beam, wcs)
    kernel = gaussian_kernel(covariance)
    rows, cols = np.nonzero(use)
    # The fit needs the model only on the mask's bounding box.
    y_lo, y_hi = rows.min(), rows.max() + 1
    x_lo, x_hi = cols.min(), cols.max() + 1
    box = (y_hi - y_lo, x_hi - x_lo)
    box_use = use[y_lo:y_hi, x_lo:x_hi]
    values = data[y_lo:y_hi, x_lo:x_hi][box_use]
    weights = 1.0 / sigma[y_lo:y_hi, x_lo:x_hi][box_use]
    scale = float(np.median(sigma[use]))  # I0 is fitted in units of the noise

    # Start values.
    positive = np.clip(values, 0, None)
    total = positive.sum()
    yy, xx = rows.astype(float), cols.astype(float)
    if centre is not None:
        cx, cy = (float(v) for v in skycoord_to_pixel(centre, wcs))
    elif total > 0:
        cx, cy = float((positive * xx).sum() / total), float((positive * yy).sum() / total)
    else:
        cx, cy = float(xx.mean()), float(yy.mean())
    if total > 0:
        second = float((positive * ((xx - cx) ** 2 + (yy - cy) ** 2)).sum() / total) / 2
    else:
        second = 1.0
    beam_var = float(np.trace(covariance)) / 2
    r_start = float(np.clip(np.sqrt(max(second - beam_var, 0.0) / 3.0), 1.0,
                            max(box) / 2))
    i_start = max(float(np.nanmax(values)), 3 * scale) / scale

    def unpack(p):
        if elliptical:
            return p
        x0, y0, i0, r = p
        return x0, y0, i0, r, r, 0.0

    profile = _ConvolvedExponential(box, kernel)

    def on_box(p):
        x0, y0, i0, r1, r2, theta = unpack(p)
        return x0 - x_lo, y0 - y_lo, i0 * scale, r1, r2, theta

    def residuals(p):
        return (values - profile.model(*on_box(p))[box_use]) * weights

    def jacobian(p):
        # Analytic: the convolved derivatives of the model (i0 in units of the noise).
        derivatives = profile.derivatives(*on_box(p), circular=not elliptical)[:, box_use]
        derivatives[2] *= scale
        return -(derivatives * weights).T

    # An e-folding radius beyond twice the fitted box is not constrained by
    # its pixels: the bound keeps such a fit from wandering, and it ends there.
    r_max = 2.0 * max(box)
    # The centre stays on the mask's bounding box: a profile centred off the
    # fitted pixels is not a halo's, and an unbounded centre can run away
    # with an ever brighter, ever steeper profile.
    x_range, y_range = (x_lo - 0.5, x_hi - 0.5), (y_lo - 0.5, y_hi - 0.5)  # pixel edges
    cx, cy = float(np.clip(cx, *x_range)), float(np.clip(cy, *y_range))
    start = [cx, cy, i_start, min(r_start, r_max / 2)]
    lower = [x_range[0], y_range[0], 0.0, 0.5]
    upper = [x_range[1], y_range[1], np.inf, r_max]
    if elliptical:
        start += [min(r_start, r_max / 2), 0.0]
        lower += [0.5, -np.inf]
        upper += [r_max, np.inf]
    result = least_squares(residuals, start, jac=jacobian, bounds=(lower, upper),
                           x_scale="jac", ftol=TOLERANCE, xtol=TOLERANCE,
                           max_nfev=MAX_EVALUATIONS)

    # Covariance: that of the noise alone, correlated over a beam, raised
    # where the residuals show correlated misfit on top of it.
    cov = _parameter_covariance(result.jac, result.fun, box_use, beam_area_pixels(beam, wcs))
    p = np.array(result.x, dtype=float)
    if not elliptical:
        # Expand to (x0, y0, i0, r1, r2, theta), r2 = r1 with full correlation.
        expand = np.zeros((6, 4))
        expand[[0, 1, 2, 3, 4], [0, 1, 2, 3, 3]] = 1.0
        cov = expand @ cov @ expand.T
        p = np.array([*p, p[3], 0.0])
    x0, y0, i0, r1, r2, theta = p
    if r2 > r1:  # the first radius is the major axis
        r1, r2, theta = r2, r1, theta + np.pi / 2
        swap = [0, 1, 2, 4, 3, 5]
        cov = cov[np.ix_(swap, swap)]
    theta = float(np.mod(theta, np.pi))
    errors = np.sqrt(np.clip(np.diag(cov), 0, None))

    i0_beam = i0 * scale
    beam_arcsec2 = beam.sr.to_value(u.arcsec**2)
    pix = pixel_scale(wcs).to_value(u.arcsec)
    i0_sb = i0_beam / beam_arcsec2 * 1e6  # uJy/arcsec^2
    i0_sb_err = errors[2] * scale / beam_arcsec2 * 1e6
    q = r2 / r1
    q_err = (float(np.sqrt(max((q / r1) ** 2 * cov[3, 3] + (1 / r1) ** 2 * cov[4, 4]
                               - 2 * q / r1**2 * cov[3, 4], 0.0))) if elliptical else 0.0)
    # S = 2 pi I0 r1 r2 f (mJy); gradient in (i0, r1, r2) of fitted units.
    flux = 2 * np.pi * i0_sb * 1e-3 * r1 * r2 * pix**2 * FLUX_3RE_FACTOR
    gradient = np.array([flux / i0, flux / r1, flux / r2])
    flux_err = float(np.sqrt(max(gradient @ cov[2:5, 2:5] @ gradient, 0.0)))
    # What the fit absorbs (see SYSTEMATIC_ERROR), on top: on r_e only
    # (flux_3re_err stays statistical; docs/measure.rst compares both with
    # simulated halos).
    r_e_err = float(np.hypot(errors[3], systematic_error * r1))
    sky = pixel_to_skycoord(x0, y0, wcs)
    return HaloProfileFit(
        i0=i0_sb * _SB_UNIT, i0_err=i0_sb_err * _SB_UNIT, i0_beam=float(i0_beam),
        r_e=r1 * pix * u.arcsec, r_e_err=r_e_err * pix * u.arcsec,
        r_e_pixels=float(r1), r_e_err_pixels=r_e_err,
        axis_ratio=float(q), axis_ratio_err=q_err, theta=theta if elliptical else 0.0,
        centre=sky, centre_pixels=(float(x0), float(y0)),
        flux_3re=flux * u.mJy, flux_3re_err=flux_err * u.mJy,
        chi2=float(2 * result.cost), dof=n_use - n_free, success=bool(result.success),
        message=str(result.message), shape=shape, beam_covariance=covariance)
