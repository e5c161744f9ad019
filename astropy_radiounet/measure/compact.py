"""
Compact sources subtracted in the image plane, so that the flux density of a
radio halo or relic is that of its diffuse emission alone.

Compact sources are usually subtracted in the visibilities (a model imaged
with a uv cut at high resolution, subtracted before imaging at low
resolution), by hand, one cluster at a time.  `subtract_compact_sources` does
it in the image plane, automatically, at survey scale:

1. **Separate compact from diffuse** with the multi-resolution filter of
   Rudnick (2002, PASP 114, 427): a grey-scale *opening* (a minimum filter
   followed by a maximum filter over the same square box, ``box_size``: three
   beams, or twice the largest compact source when that is more) removes
   every feature into which the box does not fit and keeps what is broader.
   The opening is never above the image, so ``image - opening`` holds what is
   smaller than the box, on a pedestal of about one noise rms (the opening of
   noise follows its lower envelope).
2. **Fit the compact components** in that map.  Its local maxima above
   ``snr`` times the local noise are fitted, the brightest first, each within
   a window of a few beams, with an elliptical Gaussian on a constant
   pedestal; the Gaussian is the beam convolved with an intrinsic Gaussian,
   so that the fit gives the deconvolved size and is never narrower than the
   beam.  Pixels nearer to another candidate not yet subtracted are left out
   of a fit, and each accepted component is subtracted before the next is
   fitted, so that blends are split.  When one Gaussian is broader than a
   compact source, or leaves residuals above ``max_residual`` times the
   noise, two Gaussians are fitted together (a compact source on a mini-halo
   or on a bright knot of diffuse emission, a source that is not Gaussian),
   and the compact ones are kept.  A component is compact when its fitted
   peak is at least ``snr`` times the local noise and its deconvolved FWHM at
   most ``max_size`` (1.5 beams by default: sources resolved at most
   marginally, far smaller than a halo or relic).  Everything broader -- relics, lobes of
   radio galaxies, structure in a halo -- stays in the image.
3. **Model at the measurement beam.**  The model is the sum of the fitted
   Gaussians on the grid where they were found.  When they were found in a
   ``full_resolution`` image (LoTSS at 6 arcsec, say, to measure at 20
   arcsec), the model is convolved with the Gaussian that turns the fine beam
   into the measurement beam
   (`~astropy_radiounet.image.matching_kernel_covariance`,
   `~astropy_radiounet.image.gaussian_kernel`), scaled from Jy per fine beam
   to Jy per measurement beam by the ratio of the beam areas, and
   interpolated linearly at the pixel centres of the measurement grid, whose
   pixels must be those of the fine grid or an integer multiple of them, in
   the same projection and orientation (as when both images are cut from
   aligned mosaics).
4. **Subtract, or flag.**  The model is subtracted.  Pixels are flagged
   ``unreliable`` where the residual that an error ``subtraction_error`` of
   the model would leave exceeds the noise of the measurement image (around
   very bright sources), and where a component that a Gaussian fits badly
   (residuals above ``max_residual`` times the noise: resolved structure,
   artefacts) exceeds the noise.  `~astropy_radiounet.measure.measure_cluster`
   flags a region that covers them and keeps them in its flux density (the
   residual is in its error; leaving them out would lose the diffuse
   emission under them), and leaves them out of the profile fit.

Sources fainter than ``snr`` times the noise are not subtracted: their flux
stays in a region's flux density (on the simulated fields of
``benchmarks/compact_subtraction.py``, whose table is on the documentation
page "Measuring what was found", the compact flux left inside the truth mask
of halos and relics is about a fifth of the diffuse flux, against a half and
more before subtraction).

Survey runs write the subtracted image as ``<stem>_compact_subtracted.fits``
(`CompactSubtraction.write`).
"""

import dataclasses
import logging
import os
import re
import warnings

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable
from scipy import ndimage
from scipy.optimize import least_squares
from scipy.spatial import cKDTree

from ..exceptions import BlankDataWarning, OutputExistsError
from ..image.beams import (FWHM_TO_SIGMA, angle_pixels, beam_area_pixels, beam_pixel_covariance,
                           gaussian_kernel, matching_kernel_covariance, pixel_scale)
from ..image.noise import NoiseMap, robust_sigma
from ..image.plane import ImagePlane
from ..image.read import read_image
from ..image.resampling import convolve_same
from ..utils import atomic_write
from .photometry import _check_noise, _grown_box, _segment_mask, require_wcs_and_beam

__all__ = ["subtract_compact_sources", "CompactSubtraction", "SUBTRACTION_ERROR",
           "MAX_SIZE_BEAMS", "BOX_BEAMS"]

log = logging.getLogger(__name__)

#: Default fractional error of the subtracted flux density of a compact source:
#: the scatter of the fitted flux densities of compact sources (10 to 1000
#: times the noise) injected into the halos and relics of simulated LoTSS
#: fields, 0.027-0.029 (benchmarks/compact_subtraction.py), rounded up.
SUBTRACTION_ERROR = 0.03
#: Default largest deconvolved FWHM of a compact source, in beam major axes.
MAX_SIZE_BEAMS = 1.5
#: Default side of the box of the Rudnick filter, in beam major axes (or twice
#: the FWHM of the largest compact source, when that is more).
BOX_BEAMS = 3.0

#: What the errors about missing metadata call this.
_TASK = "Compact-source subtraction"

#: Pixels used for a global noise estimate at most (a regular subsample beyond).
_NOISE_SAMPLE = 1_000_000
#: Half-size of a fitting window, in FWHM of the largest compact source.
_WINDOW_FWHM = 1.5
#: A rendered Gaussian reaches this many standard deviations.
_RENDER_SIGMA = 5.0
#: Largest deviation (fine pixels) of the measurement grid from a grid whose
#: pixel centres lie on the fine grid.
_GRID_TOLERANCE = 0.02


@dataclasses.dataclass(frozen=True)
class CompactSubtraction:
    """
    The measurement image with its compact sources subtracted (what
    `subtract_compact_sources` returns).

    Attributes
    ----------
    subtracted : `~astropy_radiounet.image.ImagePlane`
        The measurement image minus the compact model: the same grid, WCS,
        beam, unit, mask and blank pixels as the input image (float32).
    model : `~numpy.ndarray`
        The compact model at the measurement image's beam and on its grid, in
        Jy/beam (float32).
    unreliable : `~numpy.ndarray`
        Boolean, the measurement grid: `True` where the subtraction is
        unreliable (its expected residual exceeds the noise, around very
        bright sources or sources that a Gaussian does not fit): a
        measurement covering them should say so.
    sources : `~astropy.table.QTable`
        One row per compact component: ``id``, ``x`` and ``y`` (pixels of
        the measurement grid; components just outside it, whose wings reach
        in, are included), ``sky_centroid``, ``peak`` (the fitted peak at the
        beam where the component was found, Jy/beam), ``model_peak`` (its
        peak at the measurement beam, Jy/beam), ``flux`` (Jy), ``major``,
        ``minor`` (deconvolved FWHM, arcsec; 0 for a point source) and ``pa``
        (deg, north through east), ``fit_residual`` (rms of the fit's
        residual near the peak, in units of the local noise) and
        ``reliable`` (its subtraction leaves less than the noise everywhere).
    subtraction_error : float
        Fractional error of the subtracted flux density.
    """

    subtracted: ImagePlane
    model: np.ndarray
    unreliable: np.ndarray
    sources: QTable
    subtraction_error: float

    def residual_error(self, mask):
        """
        The error that the compact-source subtraction adds to the flux
        density of a region.

        It is ``subtraction_error`` times the flux density of the model
        inside the region, the sum of its Jy/beam values over the beam area
        in pixels: an error of the same fraction for every component (such as
        one of the beam or of the flux scale of the full-resolution image),
        and so an upper bound for independent errors.

        Parameters
        ----------
        mask : array_like of bool
            `True` in the region, on the measurement grid (leave out the
            ``unreliable`` pixels when the measurement does).

        Returns
        -------
        error : `~astropy.units.Quantity`
            In Jy.

        Examples
        --------
        >>> import numpy as np
        >>> import astropy.units as u
        >>> from astropy.wcs import WCS
        >>> from radio_beam import Beam
        >>> from astropy_radiounet.measure import subtract_compact_sources
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
        >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
        >>> y, x = np.indices((64, 64))
        >>> sigma = 4 * 0.4246609  # a 6 arcsec beam on 1.5 arcsec pixels
        >>> image = 0.01 * np.exp(-((x - 32) ** 2 + (y - 32) ** 2) / (2 * sigma**2))
        >>> result = subtract_compact_sources(image, wcs=wcs, beam=Beam(6 * u.arcsec),
        ...                                   noise=1e-4, subtraction_error=0.05)
        >>> result.residual_error(np.ones((64, 64), bool)).to(u.mJy).round(3)
        <Quantity 0.5 mJy>
        """
        plane = self.subtracted
        mask = _segment_mask(mask, self.model.shape)
        flux = float(np.abs(self.model[mask].sum(dtype=np.float64)))
        flux /= beam_area_pixels(plane.beam, plane.wcs)
        return self.subtraction_error * flux * u.Jy

    def write(self, path, *, overwrite=False):
        """
        Write the subtracted image as a FITS file.

        The file has the input image's header (its non-WCS keywords), its
        celestial WCS, beam (``BMAJ``, ``BMIN``, ``BPA``) and unit
        (``BUNIT``), and NaN where the input is blank or masked, so that
        `~astropy_radiounet.image.read_image` reads it back as it was.
        Survey runs name this product ``<stem>_compact_subtracted.fits``.

        Parameters
        ----------
        path : str or path-like
            The file to write (whole or not at all).
        overwrite : bool, optional
            Replace an existing file.

        Raises
        ------
        `~astropy_radiounet.exceptions.OutputExistsError`
            If ``path`` exists and ``overwrite`` is `False`.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> import astropy.units as u
        >>> from astropy.wcs import WCS
        >>> from radio_beam import Beam
        >>> from astropy_radiounet.image import read_image
        >>> from astropy_radiounet.measure import subtract_compact_sources
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
        >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
        >>> image = np.random.default_rng(0).normal(0, 1e-4, (48, 48))
        >>> result = subtract_compact_sources(image, wcs=wcs, beam=Beam(6 * u.arcsec))
        >>> path = Path(tempfile.mkdtemp()) / 'field_compact_subtracted.fits'
        >>> result.write(path)
        >>> read_image(path).beam.major.to(u.arcsec)
        <Quantity 6. arcsec>
        """
        path = os.fspath(path)
        if os.path.exists(path) and not overwrite:
            raise OutputExistsError([path])
        plane = self.subtracted
        data = np.array(plane.data, dtype=np.float32)
        data[plane.blank()] = np.nan
        header = _fits_header(plane, len(self.sources))
        with atomic_write(path) as temporary:
            fits.PrimaryHDU(data, header=header).writeto(temporary)


#: Keywords of an input header that `CompactSubtraction.write` does not copy:
#: structure, scaling, beam and unit (written anew), and the WCS of any axis.
_NOT_COPIED = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|BSCALE|BZERO|BLANK|BUNIT|BMAJ|BMIN|BPA"
    r"|WCSAXES[A-Z]?|WCSNAME[A-Z]?|LONPOLE[A-Z]?|LATPOLE[A-Z]?|RADESYS[A-Z]?|EQUINOX[A-Z]?"
    r"|EPOCH|RESTFRQ[A-Z]?|RESTFREQ|SPECSYS[A-Z]?"
    r"|(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|CROTA|CRDER|CSYER|CNAME)\d+[A-Z]?"
    r"|(PC|CD|PV|PS)\d+_\d+[A-Z]?)$")


def _fits_header(plane, n_sources):
    """The header of the subtracted image: input keywords, celestial WCS, beam, unit."""
    header = fits.Header()
    if plane.header is not None:
        for card in plane.header.cards:
            if card.keyword not in ("", "COMMENT", "HISTORY") and _NOT_COPIED.match(
                    card.keyword):
                continue
            header.append(card)
    header.update(plane.wcs.to_header())
    header = plane.beam.attach_to_header(header)
    header["BUNIT"] = plane.unit.to_string()
    header["HISTORY"] = f"subtract_compact_sources: {n_sources} compact sources subtracted"
    return header


@dataclasses.dataclass(frozen=True)
class _Finder:
    """Settings of the search for compact components, in pixels of the search image."""

    beam_covariance: np.ndarray
    box: int            # side of the opening's box
    peak_size: int      # side of the local-maximum filter
    half: int           # half-size of a fitting window
    snr: float
    max_variance: float  # largest intrinsic variance along any axis (pixels^2)
    max_shift: float    # largest distance of a fitted centre from its peak
    max_residual: float


def _angle_pixels(value, name, wcs, default):
    """An angle keyword (or `None` for ``default``, an angle) in pixels of ``wcs``."""
    return angle_pixels(default if value is None else value, wcs, name=name)


def _odd(n, minimum=3):
    n = max(int(np.ceil(n)), minimum)
    return n + 1 - n % 2


def _finder(plane, *, snr, max_size, box_size, max_residual):
    """The search settings for ``plane``, whose beam is that of the sources found."""
    covariance = beam_pixel_covariance(plane.beam, plane.wcs)
    widths = np.sqrt(np.linalg.eigvalsh(covariance)) / FWHM_TO_SIGMA  # FWHM, pixels
    major = plane.beam.major
    max_fwhm = _angle_pixels(max_size, "max_size", plane.wcs, MAX_SIZE_BEAMS * major)
    largest = np.hypot(widths.max(), max_fwhm)  # FWHM of the largest compact source
    box = _angle_pixels(box_size, "box_size", plane.wcs,
                        max(BOX_BEAMS * major, 2 * largest * pixel_scale(plane.wcs)))
    if box < 1.5 * largest:
        msg = (f"box_size ({box:.3g} pixels) must be at least 1.5 times the FWHM of the "
               f"largest compact source, the beam convolved with max_size ({largest:.3g} "
               f"pixels), or the opening keeps part of them; make box_size larger (leave it "
               f"out for twice that) or max_size smaller.")
        raise ValueError(msg)
    for name, value in (("snr", snr), ("max_residual", max_residual)):
        if not (np.isscalar(value) and np.isfinite(value) and value > 0):
            msg = f"{name} must be a positive number; got {value!r}."
            raise ValueError(msg)
    return _Finder(beam_covariance=covariance, box=_odd(box), peak_size=3,
                   half=int(np.ceil(_WINDOW_FWHM * largest)), snr=float(snr),
                   max_variance=(max_fwhm * FWHM_TO_SIGMA) ** 2,
                   max_shift=0.5 * widths.max() + 1.0, max_residual=float(max_residual))


def _noise(noise, values, valid, name):
    """A checked rms (a number), estimated from the valid values when `None`."""
    if noise is None:
        sample = values[valid]
        sample = sample[::max(1, sample.size // _NOISE_SAMPLE)]
        noise = float(robust_sigma(sample)) if sample.size else np.nan
        if not (np.isfinite(noise) and noise > 0):
            msg = (f"Cannot estimate the {name} of a blank or constant image; pass it "
                   f"(a number in Jy/beam, a map or a NoiseMap).")
            raise ValueError(msg)
        return noise
    if not (np.isfinite(noise) and noise > 0):
        msg = f"{name} must be a positive rms in Jy/beam; got {noise!r}."
        raise ValueError(msg)
    return float(noise)


def _at(noise, y, x):
    """The noise at pixel (y, x) of a number or a map."""
    if np.ndim(noise) == 0:
        return float(noise)
    ny, nx = noise.shape
    return float(noise[min(max(int(round(y)), 0), ny - 1), min(max(int(round(x)), 0), nx - 1)])


def _opening_residual(values, valid, box):
    """``values`` minus their grey-scale opening over a ``box``-pixel box (float32)."""
    big = np.float32(np.inf)
    low = ndimage.minimum_filter(np.where(valid, values, big), size=box, mode="nearest")
    low[~valid] = -big
    opened = ndimage.maximum_filter(low, size=box, mode="nearest")
    del low
    residual = np.subtract(values, opened, dtype=np.float32)
    residual[~valid] = 0.0
    return residual


def _candidates(residual, valid, noise, finder):
    """Local maxima of the residual above ``snr`` times the noise, brightest first."""
    peaks = residual == ndimage.maximum_filter(residual, size=finder.peak_size, mode="nearest")
    peaks &= valid & (residual > finder.snr * noise)
    y, x = np.nonzero(peaks)
    order = np.argsort(-residual[y, x], kind="stable")
    return y[order], x[order]


def _gaussian(params, dx, dy, beam_covariance, *, jacobian=False):
    """
    A Gaussian component, the beam convolved with an intrinsic ``L L^T``,
    ``L = [[a, 0], [b, c]]``: ``params`` are ``(amplitude, x0, y0, a, b, c)``.

    Returns its values at ``(dx, dy)`` and, with ``jacobian``, their
    derivatives with respect to the parameters (6 columns).
    """
    amplitude, x0, y0, a, b, c = params
    cxx = beam_covariance[0, 0] + a * a
    cxy = beam_covariance[0, 1] + a * b
    cyy = beam_covariance[1, 1] + b * b + c * c
    det = cxx * cyy - cxy * cxy
    u_, v_ = dx - x0, dy - y0
    wx = (cyy * u_ - cxy * v_) / det  # C^-1 (u, v)
    wy = (cxx * v_ - cxy * u_) / det
    shape = np.exp(-0.5 * (u_ * wx + v_ * wy))
    values = amplitude * shape
    if not jacobian:
        return values
    # d/dtheta of exp(-q/2) is exp(-q/2) w^T (dC/dtheta) w / 2, with w = C^-1 (u, v).
    columns = [shape, values * wx, values * wy, values * (a * wx * wx + b * wx * wy),
               values * (a * wx * wy + b * wy * wy), values * (c * wy * wy)]
    return values, np.column_stack(columns)


def _model(params, dx, dy, beam_covariance, *, jacobian=False):
    """A pedestal (``params[0]``) and Gaussian components (6 parameters each)."""
    n = (len(params) - 1) // 6
    parts = [_gaussian(params[1 + 6 * i:7 + 6 * i], dx, dy, beam_covariance,
                       jacobian=jacobian) for i in range(n)]
    if not jacobian:
        return params[0] + sum(parts)
    values = params[0] + sum(part[0] for part in parts)
    return values, np.column_stack([np.ones_like(dx)] + [part[1] for part in parts])


def _window(shape, y, x, half):
    ny, nx = shape
    rows = slice(max(y - half, 0), min(y + half + 1, ny))
    return rows, slice(max(x - half, 0), min(x + half + 1, nx))


def _least_squares(data, dx, dy, start, scale, finder):
    """Fitted parameters of `_model` and the residuals, or `None`."""
    def residuals(p):
        return _model(p, dx, dy, finder.beam_covariance) - data

    def jacobian(p):
        return _model(p, dx, dy, finder.beam_covariance, jacobian=True)[1]

    # Unbounded: any a, b, c give a valid covariance; the caller checks the rest.
    fit = least_squares(residuals, start, jac=jacobian, method="lm", x_scale=scale,
                        ftol=1e-4, xtol=1e-4, max_nfev=200)
    if fit.status < 0 or not np.all(np.isfinite(fit.x)):  # (0: out of evaluations, kept)
        return None
    return fit.x, fit.fun


def _near_rms(component, misfit, dx, dy, finder):
    """The rms of a fit's residual where ``component`` is above a tenth of its peak."""
    near = _gaussian(component, dx, dy, finder.beam_covariance) > 0.1 * abs(component[0])
    return float(np.sqrt(np.mean(misfit[near] ** 2))) if near.any() else 0.0


def _fit(residual, use, rows, cols, y, x, noise, finder):
    """
    Fit one candidate in a window: a Gaussian on a pedestal or, when that is
    broader than a compact source or fits badly, two Gaussians together.

    Returns
    -------
    fitted : list of tuple
        The compact components, each its parameters (see `_gaussian`) and
        the rms of the fit's residual near it in units of ``noise``: none,
        one, or two (a source whose profile two Gaussians describe better).
    """
    dy, dx = np.mgrid[rows, cols]
    data = residual[rows, cols][use].astype(float)
    dx, dy = dx[use].astype(float), dy[use].astype(float)
    pedestal = float(np.median(data)) if data.size else 0.0
    amplitude = float(residual[y, x]) - pedestal
    if data.size < 20 or amplitude < 0.8 * finder.snr * noise:  # cannot reach snr
        return []
    scale = [noise, amplitude, 1, 1, 1, 1, 1]
    fitted = _least_squares(data, dx, dy, [pedestal, amplitude, x, y, 0.5, 0.0, 0.5], scale,
                            finder)
    if fitted is None:
        return []
    component, misfit = fitted[0][1:], fitted[1]
    rms = _near_rms(component, misfit, dx, dy, finder) / noise
    broad = np.linalg.eigvalsh(_intrinsic(component)).max() > finder.max_variance
    if not broad and rms <= finder.max_residual:
        return [(component, rms)]
    # A compact source on something broader (a mini-halo, a knot of a relic), or a
    # source that one Gaussian does not describe: fit two Gaussians together.
    wide = max(abs(component[3]), abs(component[5]), 1.0) * 2 + 1
    start = [pedestal, amplitude, x, y, 0.5, 0.0, 0.5, 0.5 * component[0], *component[1:3],
             wide, 0.0, wide]
    double = _least_squares(data, dx, dy, start, scale + scale[1:], finder)
    if double is None or double[0][1] <= 0 or double[0][7] <= 0:
        # No second source, only a correction to the profile of the first.
        return [] if broad else [(component, rms)]
    return [(c, _near_rms(c, double[1], dx, dy, finder) / noise)
            for c in (double[0][1:7], double[0][7:13])
            if np.linalg.eigvalsh(_intrinsic(c)).max() <= finder.max_variance]


def _intrinsic(params):
    """The intrinsic covariance ``L L^T`` of a component (see `_gaussian`)."""
    a, b, c = params[3:6]
    return np.array([[a * a, a * b], [a * b, b * b + c * c]])


def _accept(params, y, x, noise, finder):
    """Whether a fitted component is compact (bright, small and where its peak was)."""
    bright = params[0] >= finder.snr * noise
    small = np.linalg.eigvalsh(_intrinsic(params)).max() <= finder.max_variance
    near = np.hypot(params[1] - x, params[2] - y) <= finder.max_shift
    return bool(bright and small and near)


def _allowed(within, shape, search_shape, found):
    """Where candidates may peak, on the search grid: ``within`` grown by a fitting window."""
    within = _segment_mask(np.asarray(within), shape)
    k, ox, oy = found["mapping"]
    grown = ndimage.binary_dilation(within, iterations=int(np.ceil(found["finder"].half / k)) + 1)
    if found["same_grid"]:
        return grown
    rows = np.arange(search_shape[0]) + found["origin"][0]
    cols = np.arange(search_shape[1]) + found["origin"][1]
    my = np.rint((rows - oy) / k).astype(int)
    mx = np.rint((cols - ox) / k).astype(int)
    inside_y = (my >= 0) & (my < shape[0])
    inside_x = (mx >= 0) & (mx < shape[1])
    allowed = np.zeros(search_shape, bool)
    allowed[np.ix_(inside_y, inside_x)] = grown[np.ix_(my[inside_y], mx[inside_x])]
    return allowed


def _find_components(values, valid, noise, finder, *, allowed=None):
    """
    The compact components of an image: fitted Gaussians, brightest first.

    With ``allowed`` (the pixels where components may peak), the search works
    on the box around them grown by a fitting window and the opening's box:
    the opening at a pixel depends on the values within one box of it, and a
    fit on the pixels within a window of its peak, so that the components are
    those of the whole image (to the tolerance of the fits, which start from
    coordinates of another origin) without the opening of the rest of it.

    Returns
    -------
    components : list of tuple
        ``(params, fit_residual)``, with ``params`` as in `_gaussian`.
    """
    if allowed is None:
        return _find_in(values, valid, noise, finder, None)
    if not allowed.any():
        return []
    crop = _grown_box(allowed, finder.half + finder.box)
    noise = noise[crop] if np.ndim(noise) == 2 else noise
    components = _find_in(values[crop], valid[crop], noise, finder, allowed[crop])
    shift = np.zeros(6)
    shift[1:3] = crop[1].start, crop[0].start
    return [(np.asarray(params, dtype=float) + shift, rms) for params, rms in components]


def _find_in(values, valid, noise, finder, allowed):
    """`_find_components` on the grid given."""
    residual = _opening_residual(values, valid, finder.box)
    ys, xs = _candidates(residual, valid if allowed is None else valid & allowed, noise, finder)
    tree = cKDTree(np.column_stack([ys, xs])) if ys.size else None
    pending = np.ones(ys.size, bool)
    components = []
    for i, (y, x) in enumerate(zip(ys, xs)):
        pending[i] = False
        rows, cols = _window(values.shape, y, x, finder.half)
        use = valid[rows, cols] & _own_pixels(rows, cols, y, x, ys, xs, pending, tree,
                                              finder.half)
        for params, rms in _fit(residual, use, rows, cols, y, x, _at(noise, y, x), finder):
            cy, cx = int(round(params[2])), int(round(params[1]))
            inside = (0 <= params[2] <= values.shape[0] - 1
                      and 0 <= params[1] <= values.shape[1] - 1)
            if inside and valid[cy, cx] and _accept(params, y, x, _at(noise, cy, cx), finder):
                components.append((params, rms))
                _add_gaussian(residual, params, finder.beam_covariance, scale=-1.0)
    return components


def _own_pixels(rows, cols, y, x, ys, xs, pending, tree, half):
    """The pixels of a window nearer to (y, x) than to any candidate still to be fitted."""
    gy, gx = np.mgrid[rows, cols]
    own = (gy - y) ** 2 + (gx - x) ** 2
    keep = np.ones(own.shape, bool)
    for j in tree.query_ball_point((y, x), 2 * half + 1):
        if pending[j]:
            keep &= own <= (gy - ys[j]) ** 2 + (gx - xs[j]) ** 2
    return keep


def _add_gaussian(image, params, beam_covariance, *, scale=1.0):
    """Add ``scale`` times a component (see `_gaussian`) to ``image``, in place."""
    covariance = beam_covariance + _intrinsic(params)
    half = int(np.ceil(_RENDER_SIGMA * np.sqrt(np.linalg.eigvalsh(covariance).max())))
    x0, y0 = params[1], params[2]
    rows, cols = _window(image.shape, int(round(y0)), int(round(x0)), half)
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return
    dy, dx = np.mgrid[rows, cols]
    stamp = _gaussian(params, dx.astype(float), dy.astype(float), beam_covariance)
    image[rows, cols] += (scale * stamp).astype(image.dtype)


def _render(shape, components, beam_covariance):
    model = np.zeros(shape, dtype=np.float32)
    for params, _ in components:
        _add_gaussian(model, params, beam_covariance)
    return model


# ---- from the grid where sources are found to the measurement grid ----------------------

def _grid_mapping(fine, plane):
    """
    ``(k, ox, oy)`` with fine pixel = k * measurement pixel + (ox, oy), or a
    `ValueError` that says how to make the grids agree.
    """
    ratio = float(pixel_scale(plane.wcs) / pixel_scale(fine.wcs))
    k = int(round(ratio))
    fix = ("reproject full_resolution onto a grid whose pixels divide the image's (e.g. "
           "reproject.reproject_interp onto the image's WCS with CDELT divided by an "
           "integer), or cut both images from mosaics on aligned grids")
    if k < 1 or abs(ratio - k) > 1e-4 * max(k, 1):
        msg = (f"The image's pixels ({pixel_scale(plane.wcs):.4g}) are {ratio:.4g} times "
               f"those of full_resolution ({pixel_scale(fine.wcs):.4g}), not an integer "
               f"multiple: {fix}.")
        raise ValueError(msg)
    ny, nx = plane.shape
    xc = np.array([0, nx - 1, 0, nx - 1, (nx - 1) / 2], dtype=float)
    yc = np.array([0, 0, ny - 1, ny - 1, (ny - 1) / 2], dtype=float)
    xf, yf = fine.wcs.world_to_pixel(plane.wcs.pixel_to_world(xc, yc))
    fy, fx = fine.shape
    if not (np.all(np.isfinite([xf, yf])) and xf.max() > -0.5 and xf.min() < fx - 0.5
            and yf.max() > -0.5 and yf.min() < fy - 0.5):
        msg = ("full_resolution does not cover the image (their footprints on the sky do "
               "not overlap); pass the full-resolution image of the same field.")
        raise ValueError(msg)
    ox, oy = float(xf[0]), float(yf[0])
    deviation = np.nanmax(np.abs(np.r_[xf - (k * xc + ox), yf - (k * yc + oy)]))
    if not deviation <= _GRID_TOLERANCE:
        msg = (f"The pixel grid of the image is not that of full_resolution with pixels "
               f"{k} times larger: they differ by up to {deviation:.3g} pixels of "
               f"full_resolution (another projection, centre, rotation or frame): {fix}.")
        raise ValueError(msg)
    return k, ox, oy


def _kernel(fine_covariance, target_covariance, fine_beam, beam):
    """The matching kernel (or `None`) from the fine beam to the measurement beam."""
    kernel_covariance, deficit = matching_kernel_covariance(target_covariance, fine_covariance)
    if deficit > 1e-3 * np.trace(fine_covariance) / 2:
        msg = (f"full_resolution has a beam ({fine_beam.major.to(u.arcsec):.3g} x "
               f"{fine_beam.minor.to(u.arcsec):.3g}, pa {fine_beam.pa.to(u.deg):.3g}) wider "
               f"than the image's ({beam.major.to(u.arcsec):.3g} x "
               f"{beam.minor.to(u.arcsec):.3g}, pa {beam.pa.to(u.deg):.3g}) along some "
               f"direction; pass the image of finer resolution as full_resolution, and the "
               f"one to measure as image.")
        raise ValueError(msg)
    return gaussian_kernel(kernel_covariance)


def _search_region(fine, plane, mapping, margin):
    """Rows and columns of full_resolution that cover the image, with a margin."""
    k, ox, oy = mapping
    (ny, nx), (fy, fx) = plane.shape, fine.shape
    rows = slice(max(int(np.floor(oy)) - margin, 0),
                 min(int(np.ceil(k * (ny - 1) + oy)) + margin + 1, fy))
    cols = slice(max(int(np.floor(ox)) - margin, 0),
                 min(int(np.ceil(k * (nx - 1) + ox)) + margin + 1, fx))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        msg = ("full_resolution does not cover the image (their footprints on the sky do "
               "not overlap); pass the full-resolution image of the same field.")
        raise ValueError(msg)
    inside = (min(ox, oy) > -0.5 and k * (ny - 1) + oy < fy - 0.5
              and k * (nx - 1) + ox < fx - 0.5)
    if not inside:
        warnings.warn("full_resolution covers only part of the image: compact sources "
                      "outside it are not subtracted.", BlankDataWarning, stacklevel=3)
    return rows, cols


def _interpolation(positions, n):
    """Lower indices, upper indices, weights and inside-flags of linear interpolation."""
    lower = np.clip(np.floor(positions).astype(int), 0, max(n - 2, 0))
    upper = np.minimum(lower + 1, n - 1)
    weight = np.clip(positions - lower, 0.0, 1.0).astype(np.float32)
    inside = (positions >= -1e-6) & (positions <= n - 1 + 1e-6)
    return lower, upper, weight, inside


def _sample(image, xs, ys):
    """``image`` interpolated linearly at columns ``xs`` and rows ``ys`` (0 outside)."""
    x0, x1, wx, in_x = _interpolation(xs, image.shape[1])
    y0, y1, wy, in_y = _interpolation(ys, image.shape[0])
    rows = image[y0] * (1 - wy)[:, None] + image[y1] * wy[:, None]
    out = rows[:, x0] * (1 - wx) + rows[:, x1] * wx
    out[~in_y] = 0.0
    out[:, ~in_x] = 0.0
    return out.astype(np.float32, copy=False)


def _to_measurement(fine_model, kernel, area_ratio, mapping, origin, shape):
    """A model on the search grid convolved to the measurement beam, on its grid."""
    if kernel is not None:
        fine_model = convolve_same(fine_model, kernel, dtype=np.float32)
    k, ox, oy = mapping
    xs = k * np.arange(shape[1]) + ox - origin[1]
    ys = k * np.arange(shape[0]) + oy - origin[0]
    model = _sample(fine_model, xs, ys)
    model *= np.float32(area_ratio)
    return model


# ---- the result ---------------------------------------------------------------------------

def _sky_shape(covariance, wcs):
    """Deconvolved FWHM major, minor (arcsec) and position angle (deg) of a pixel covariance."""
    matrix = np.asarray(wcs.pixel_scale_matrix, dtype=float)
    unit = u.Unit(wcs.wcs.cunit[0] or "deg")
    sky = matrix @ covariance @ matrix.T  # (east, north), squared units of the WCS
    values, vectors = np.linalg.eigh(sky)
    fwhm = np.sqrt(np.clip(values, 0, None)) / FWHM_TO_SIGMA * unit.to(u.arcsec)
    east, north = vectors[:, 1]
    pa = np.degrees(np.arctan2(east, north)) % 180.0 if fwhm[1] > 0 else 0.0
    return fwhm[1], fwhm[0], pa


def _source_table(components, search, plane, mapping, origin, noise, subtraction_error,
                  max_residual):
    """The table of components (see `CompactSubtraction`)."""
    k, ox, oy = mapping
    beam_covariance = beam_pixel_covariance(search.beam, search.wcs)
    target = beam_pixel_covariance(plane.beam, search.wcs)
    rows = []
    for params, residual in components:
        intrinsic = _intrinsic(params)
        flux = params[0] * np.sqrt(np.linalg.det(beam_covariance + intrinsic)
                                   / np.linalg.det(beam_covariance))
        peak = flux * np.sqrt(np.linalg.det(target) / np.linalg.det(target + intrinsic))
        x = (params[1] + origin[1] - ox) / k
        y = (params[2] + origin[0] - oy) / k
        major, minor, pa = _sky_shape(intrinsic, search.wcs)
        reliable = (residual <= max_residual
                    and subtraction_error * peak <= _at(noise, y, x))
        rows.append((x, y, params[0], peak, flux, major, minor, pa, residual, reliable))
    columns = list(zip(*rows)) if rows else [[]] * 10
    table = QTable()
    table["id"] = np.arange(1, len(rows) + 1)
    table["x"] = np.array(columns[0], dtype=float)
    table["y"] = np.array(columns[1], dtype=float)
    table["sky_centroid"] = plane.wcs.pixel_to_world(table["x"], table["y"])
    for name, index, unit in (("peak", 2, u.Jy / u.beam), ("model_peak", 3, u.Jy / u.beam),
                              ("flux", 4, u.Jy), ("major", 5, u.arcsec),
                              ("minor", 6, u.arcsec), ("pa", 7, u.deg)):
        table[name] = np.array(columns[index], dtype=float) * unit
    table["fit_residual"] = np.array(columns[8], dtype=float)
    table["reliable"] = np.array(columns[9], dtype=bool)
    return table


def _search(plane, full_resolution, full_resolution_noise, finder_settings):
    """
    The image the sources are found in, its grid mapping, search region, values,
    noise, search settings and matching kernel.
    """
    if full_resolution is None:
        if full_resolution_noise is not None:
            msg = ("full_resolution_noise is the noise of full_resolution, which was not "
                   "given; pass the image's noise as noise=.")
            raise ValueError(msg)
        finder = _finder(plane, **finder_settings)
        return dict(search=plane, mapping=(1, 0.0, 0.0), origin=(0, 0), finder=finder,
                    kernel=None, area_ratio=1.0, region=(slice(None), slice(None)),
                    same_grid=True)
    fine = require_wcs_and_beam(read_image(full_resolution), _TASK, name="full_resolution",
                                fix="give a FITS image or HDU with BMAJ and a WCS, or "
                                    "ImagePlane.from_array(data, wcs=..., beam=...)")
    mapping = _grid_mapping(fine, plane)
    finder = _finder(fine, **finder_settings)
    target = beam_pixel_covariance(plane.beam, fine.wcs)
    kernel = _kernel(finder.beam_covariance, target, fine.beam, plane.beam)
    area_ratio = float(np.sqrt(np.linalg.det(target) / np.linalg.det(finder.beam_covariance)))
    margin = (0 if kernel is None else kernel.shape[0] // 2) + finder.box + finder.half
    region = _search_region(fine, plane, mapping, margin)
    return dict(search=fine, mapping=mapping, origin=(region[0].start, region[1].start),
                finder=finder, kernel=kernel, area_ratio=area_ratio, region=region,
                same_grid=False)


def _region_noise(noise, plane, region, values, valid, name):
    """The noise of ``plane`` on ``region`` (a number or a float32 map)."""
    if isinstance(noise, NoiseMap):
        if noise.shape != plane.shape:
            msg = (f"{name} is a NoiseMap of an image of shape {noise.shape}, but the image "
                   f"has shape {plane.shape}; estimate it on this image.")
            raise ValueError(msg)
        return noise(*region)
    checked = _check_noise(noise, plane.shape)
    if checked is not None and np.ndim(checked) == 2:
        return np.asarray(checked, dtype=np.float32)[region]
    return _noise(checked, values, valid, name)


def subtract_compact_sources(image, *, full_resolution=None, wcs=None, beam=None, noise=None,
                             full_resolution_noise=None, snr=5.0, max_size=None,
                             box_size=None, max_residual=3.0,
                             subtraction_error=SUBTRACTION_ERROR, within=None):
    """
    Subtract the compact sources from an image, in the image plane.

    Compact sources (bright, and small against the beam) are found with the
    filter of Rudnick (2002), fitted with Gaussians, convolved to the image's
    beam when they were found in a ``full_resolution`` image, and subtracted;
    where the subtraction is unreliable, the pixels are flagged.  The method
    is described in the module ``astropy_radiounet.measure.compact`` and on
    the documentation page "Measuring what was found".

    Parameters
    ----------
    image : `~numpy.ndarray` or `~astropy_radiounet.image.ImagePlane` or any \
input of `~astropy_radiounet.image.read_image`
        The image to measure, in Jy/beam for an array.
    full_resolution : any input of `~astropy_radiounet.image.read_image`, optional
        An image of the same field at a finer beam (LoTSS at 6 arcsec when
        measuring at 20 arcsec), carrying its WCS and beam, in which the
        compact sources are found.  Its pixel grid must be the image's, or
        one in the same projection and orientation whose pixels are an
        integer fraction of the image's (as when both are cut from aligned
        mosaics); reproject it otherwise.  `None` finds them in ``image``.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS of ``image`` (taken from an input that carries one).
    beam : `radio_beam.Beam`, optional
        Restoring beam of ``image`` (taken from an input that carries one).
    noise : float, `~numpy.ndarray`, `~astropy_radiounet.image.NoiseMap` or `None`, optional
        The rms of ``image`` in Jy/beam, as for
        `~astropy_radiounet.measure.segment_flux`: a number, a map of the
        image's shape or a `~astropy_radiounet.image.NoiseMap`; `None`
        estimates one number with `~astropy_radiounet.image.robust_sigma`
        (pass a map or a NoiseMap where the noise varies).
    full_resolution_noise : float, `~numpy.ndarray`, `~astropy_radiounet.image.NoiseMap` \
or `None`, optional
        The rms of ``full_resolution``, in the same forms.
    within : array_like of bool, optional
        `True` where compact sources matter, on the image's grid (for
        example the segments to be measured): only the components that peak
        within it, or within a fitting window of it, are fitted and
        subtracted, which saves the fits of every other source of a large
        image.  All by default.
    snr : float, optional
        A compact component's fitted peak must be at least ``snr`` times the
        local noise of the image it is found in.
    max_size : `~astropy.units.Quantity`, optional
        Largest deconvolved FWHM (an angle) of a compact component; by
        default ``MAX_SIZE_BEAMS`` (1.5) beam major axes of the image the
        sources are found in (9 arcsec for LoTSS at 6 arcsec).
    box_size : `~astropy.units.Quantity`, optional
        Side of the box of the Rudnick filter (an angle): by default
        ``BOX_BEAMS`` (3) beam major axes, or twice the FWHM of the largest
        compact source (the beam convolved with ``max_size``) when that is
        more.  It must be at least 1.5 times that FWHM.
    max_residual : float, optional
        A component whose fit leaves residuals (rms near its peak) above
        ``max_residual`` times the noise is fitted again with a second
        Gaussian; if one Gaussian is still the answer, it is subtracted but
        flagged unreliable wherever it exceeds the noise of ``image``.
    subtraction_error : float, optional
        Fractional error of the subtracted flux density (default
        `SUBTRACTION_ERROR`, measured on simulated fields).

    Returns
    -------
    result : `CompactSubtraction`
        The subtracted image, the model, the unreliable pixels, the table of
        components and the error.  With no compact source found, the model
        is zero and the table empty.

    Raises
    ------
    ValueError
        If an image lacks its WCS or beam, the grids or beams of the two
        images do not fit together, or a noise map has another shape.

    Examples
    --------
    A 20 mJy point source on a faint halo, in noise of 0.1 mJy/beam:

    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from scipy.ndimage import gaussian_filter
    >>> from astropy_radiounet.measure import subtract_compact_sources
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.crval = [205.0, 55.0]
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> y, x = np.indices((128, 128))
    >>> r2 = (x - 64.0) ** 2 + (y - 64.0) ** 2
    >>> sigma = 4 * 0.4246609  # the 6 arcsec beam on 1.5 arcsec pixels
    >>> halo = 3e-4 * np.exp(-r2 / (2 * 15.0**2))
    >>> point = 0.02 * np.exp(-r2 / (2 * sigma**2))
    >>> noise = gaussian_filter(np.random.default_rng(1).normal(size=(128, 128)), 1.2)
    >>> image = halo + point + 1e-4 * noise / noise.std()
    >>> result = subtract_compact_sources(image, wcs=wcs, beam=Beam(6 * u.arcsec),
    ...                                   noise=1e-4)
    >>> len(result.sources), result.sources['flux'].to(u.mJy).round(1)[0]
    (1, <Quantity 20.2 mJy>)

    The halo is left: 21.7 mJy within 45 pixels of the centre, where the halo
    has 23.1 mJy and the noise -1.3 mJy:

    >>> inside = r2 < 45**2
    >>> beam_pixels = 2 * np.pi * sigma**2
    >>> round(float(result.subtracted.data[inside].sum() / beam_pixels * 1e3), 1)
    21.7
    >>> round(float(halo[inside].sum() / beam_pixels * 1e3), 1)
    23.1
    """
    plane = require_wcs_and_beam(
        read_image(image, wcs=wcs, beam=beam), _TASK,
        fix="pass wcs= and beam= (e.g. beam=radio_beam.Beam(20 * u.arcsec)), or an input "
            "that carries them")
    if not (np.isscalar(subtraction_error) and np.isfinite(subtraction_error)
            and subtraction_error >= 0):
        msg = (f"subtraction_error must be a non-negative fraction; got "
               f"{subtraction_error!r}.")
        raise ValueError(msg)
    settings = dict(snr=snr, max_size=max_size, box_size=box_size, max_residual=max_residual)
    found = _search(plane, full_resolution, full_resolution_noise, settings)
    search, finder = found["search"], found["finder"]
    values, valid = plane.read()
    noise_image = _region_noise(noise, plane, (slice(None), slice(None)), values, valid,
                                "noise")
    if search is plane:
        search_values, search_valid, search_noise = values, valid, noise_image
    else:
        search_values, search_valid = search.read(*found["region"])
        search_noise = _region_noise(full_resolution_noise, search, found["region"],
                                     search_values, search_valid, "full_resolution_noise")
    allowed = None if within is None else _allowed(within, plane.shape, search_values.shape,
                                                   found)
    components = _find_components(search_values, search_valid, search_noise, finder,
                                  allowed=allowed)
    del search_values, search_valid
    log.debug("%d compact components found", len(components))
    model, unreliable = _model_and_flags(components, found, plane.shape, valid, noise_image,
                                         subtraction_error, max_residual)
    data = np.array(plane.data, dtype=np.float32)
    data -= model if plane.scale == 1.0 else model / np.float32(plane.scale)
    table = _source_table(components, search, plane, found["mapping"], found["origin"],
                          noise_image, subtraction_error, max_residual)
    return CompactSubtraction(subtracted=plane.replace(data=data), model=model,
                              unreliable=unreliable, sources=table,
                              subtraction_error=float(subtraction_error))


def _model_and_flags(components, found, shape, valid, noise, subtraction_error, max_residual):
    """The model on the measurement grid and its unreliable pixels."""
    rows, cols = found["region"]
    search_shape = (len(range(*rows.indices(found["search"].shape[0]))),
                    len(range(*cols.indices(found["search"].shape[1]))))
    parts = []
    for group in ([c for c in components if c[1] <= max_residual],
                  [c for c in components if c[1] > max_residual]):
        if not group:
            parts.append(None)
            continue
        model = _render(search_shape, group, found["finder"].beam_covariance)
        if not found["same_grid"]:
            model = _to_measurement(model, found["kernel"], found["area_ratio"],
                                    found["mapping"], found["origin"], shape)
        parts.append(model)
    good, poor = parts
    model = np.zeros(shape, np.float32) if good is None else good
    if poor is not None:
        model += poor
    unreliable = subtraction_error * np.abs(model) > noise
    if poor is not None:
        unreliable |= poor > noise
    unreliable &= valid
    return model, unreliable
