"""
Photometry of segments: flux densities and their errors, surface brightness,
largest angular and linear sizes, and k-corrected radio powers.

Spectral indices follow :math:`S \\propto \\nu^{\\alpha}`, so that steep
spectra have a negative :math:`\\alpha` (about -1.3 for radio halos).  Planck18
is the default cosmology (the one default of the package, owned by
`astropy_radiounet.clusters`).  Rows of a catalogue without a usable
redshift (not finite, or not positive) get NaN linear sizes and powers, never
an error.
"""

import dataclasses

import astropy.units as u
import numpy as np
from astropy.table import QTable
from scipy.ndimage import find_objects
from scipy.spatial import ConvexHull

from ..clusters.r500 import parse_redshift, resolve_cosmology
from ..image.beams import beam_area_pixels, pixel_scale
from ..image.noise import NoiseMap, robust_sigma
from ..image.plane import check_wcs
from ..image.read import read_image

__all__ = ["radio_power", "largest_angular_size", "linear_size", "segment_flux", "flux_error",
           "SegmentFlux", "measure_segments"]

#: Unit of the sky surface brightness (flux density per solid angle).
SKY_BRIGHTNESS_UNIT = u.uJy / u.arcsec**2


def _at_usable(function, redshift, shape, unit):
    """``function`` of the usable redshifts (broadcast to ``shape``), NaN elsewhere."""
    redshift, usable = parse_redshift(redshift)
    redshift = np.broadcast_to(redshift, shape)
    usable = np.broadcast_to(usable, shape)
    out = np.full(shape, np.nan) * unit
    if usable.any():
        out[usable] = function(redshift[usable])
    return out


def _check_quantity(value, name, physical, example):
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(physical):
        msg = f"{name} must be a Quantity in units of {physical} (e.g. {example}); got {value!r}."
        raise TypeError(msg)
    return value


def radio_power(flux, redshift, *, alpha=-1.3, frequency=144 * u.MHz,
                reference_frequency=150 * u.MHz, cosmology=None):
    """
    k-corrected radio power of sources of a flux density at a redshift.

    .. math::

        P_{\\nu_{\\rm ref}} = 4 \\pi D_L^2 \\, S_{\\nu} \\, (1 + z)^{-\\alpha - 1}
        \\left(\\frac{\\nu_{\\rm ref}}{\\nu}\\right)^{\\alpha}

    with :math:`S \\propto \\nu^{\\alpha}` (``alpha`` negative for steep
    spectra): the flux density observed at ``frequency`` is taken to the
    rest frame and to ``reference_frequency``.

    Parameters
    ----------
    flux : `~astropy.units.Quantity`
        Flux density (e.g. in Jy) observed at ``frequency``; an array works.
    redshift : float or array_like
        Redshift(s), broadcast against ``flux``.  A redshift that is not
        finite or not positive gives a NaN power (no error, no warning), so
        that catalogue rows without a redshift can be passed as they are.
    alpha : float or array_like, optional
        Spectral index, :math:`S \\propto \\nu^{\\alpha}`.
    frequency : `~astropy.units.Quantity`, optional
        Observed frequency (LoTSS: 144 MHz).
    reference_frequency : `~astropy.units.Quantity`, optional
        Rest-frame frequency of the power.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    power : `~astropy.units.Quantity`
        In W/Hz.

    Raises
    ------
    TypeError
        If ``flux`` is not a spectral flux density (Jy/beam is not: convert
        to a flux density first) or a frequency is not a frequency.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.measure import radio_power
    >>> power = radio_power(50 * u.mJy, [0.1, -1])
    >>> print(f"{power[0]:.3g}")
    1.32e+24 W / Hz
    >>> power[1]
    <Quantity nan W / Hz>
    """
    flux = _check_quantity(flux, "flux", u.Jy, "50 * u.mJy")
    _check_quantity(frequency, "frequency", u.Hz, "144 * u.MHz")
    _check_quantity(reference_frequency, "reference_frequency", u.Hz, "150 * u.MHz")
    cosmology = resolve_cosmology(cosmology)
    alpha = np.asarray(alpha, dtype=float)
    shape = np.broadcast_shapes(np.shape(flux), np.shape(redshift), np.shape(alpha))
    distance = _at_usable(cosmology.luminosity_distance, redshift, shape, u.Mpc)
    z = np.broadcast_to(np.asarray(redshift, dtype=float), shape)
    ratio = (reference_frequency / frequency).to_value(u.dimensionless_unscaled)
    with np.errstate(invalid="ignore", divide="ignore"):
        k_correction = (1 + z) ** (-alpha - 1) * ratio ** alpha
        power = 4 * np.pi * distance**2 * flux * k_correction
    return power.to(u.W / u.Hz)


def linear_size(angle, redshift, *, cosmology=None):
    """
    Proper length subtended by an angle at a redshift.

    The inverse of `~astropy_radiounet.clusters.angular_radius`, through the
    angular-diameter distance (``kpc_proper_per_arcmin``).

    Parameters
    ----------
    angle : `~astropy.units.Quantity`
        Angle(s), such as a largest angular size.
    redshift : float or array_like
        Redshift(s), broadcast against ``angle``; one that is not finite or
        not positive gives NaN.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    size : `~astropy.units.Quantity`
        Proper size in kpc.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.measure import linear_size
    >>> print(f"{linear_size(5 * u.arcmin, 0.1):.4g}")
    571.9 kpc
    """
    angle = _check_quantity(angle, "angle", u.arcmin, "5 * u.arcmin")
    cosmology = resolve_cosmology(cosmology)
    shape = np.broadcast_shapes(np.shape(angle), np.shape(redshift))
    scale = _at_usable(cosmology.kpc_proper_per_arcmin, redshift, shape, u.kpc / u.arcmin)
    return (angle * scale).to(u.kpc)


def segment_labels(segment_image, shape):
    """
    The integer labels of a `~photutils.segmentation.SegmentationImage` or an
    integer array of an image's shape (zeros for `None`), or a ValueError.
    """
    if segment_image is None:
        return np.zeros(shape, dtype=np.int32)
    labels = np.asarray(getattr(segment_image, "data", segment_image))
    if labels.shape != tuple(shape) or labels.dtype.kind not in "iu":
        msg = (f"segment_image must be a SegmentationImage or an integer array of the "
               f"image's shape {tuple(shape)}; got dtype {labels.dtype} and shape "
               f"{labels.shape}.")
        raise ValueError(msg)
    return labels


def _segment_mask(mask, shape=None):
    mask = np.asanyarray(mask)
    if mask.dtype != bool or mask.ndim != 2:
        msg = (f"mask must be a 2-D boolean array (True in the segment); got dtype "
               f"{mask.dtype} and shape {mask.shape}.")
        raise TypeError(msg)
    if shape is not None and mask.shape != tuple(shape):
        msg = f"mask has shape {mask.shape} but the image has shape {tuple(shape)}."
        raise ValueError(msg)
    return mask


def _grown_box(mask, margin):
    """
    The bounding box of the `True` pixels of ``mask`` (at least one) grown
    by ``margin`` pixels on every side and cut to the array, as slices.
    """
    rows, cols = np.nonzero(mask)
    return (slice(max(rows.min() - margin, 0), rows.max() + margin + 1),
            slice(max(cols.min() - margin, 0), cols.max() + margin + 1))


def _largest_angular_size(mask, wcs, x0=0, y0=0):
    """LAS of a (cut out) mask whose pixel (0, 0) is pixel (x0, y0) of ``wcs``."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.nan * u.arcsec
    # The hull of the pixels is that of the outer corners of the first and last
    # pixel of each row.
    first = mask[rows].argmax(axis=1)
    last = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    x = np.concatenate([first - 0.5, first - 0.5, last + 0.5, last + 0.5]) + x0
    y = np.concatenate([rows - 0.5, rows + 0.5, rows - 0.5, rows + 0.5]) + y0
    points = np.column_stack([x, y])
    vertices = points[ConvexHull(points).vertices]
    sky = wcs.pixel_to_world(vertices[:, 0], vertices[:, 1])
    largest = sky[:, np.newaxis].separation(sky[np.newaxis, :]).max()
    return u.Quantity(largest, u.arcsec)


def largest_angular_size(mask, wcs):
    """
    Largest angular size of a segment: the largest distance on the sky between
    two points of its pixels.

    Pixels are squares: the size is measured between pixel *corners* (the
    outer edges of the pixels, as is usual for a largest angular size), on the
    convex hull of the corners, and through the WCS with
    `~astropy.coordinates.SkyCoord.separation`, so that it holds on any
    projection.  A ``w`` by ``h`` pixel rectangle has the size of its
    diagonal, :math:`\\sqrt{w^2 + h^2}` pixels, and a single pixel the
    diagonal of one pixel, :math:`\\sqrt{2}` pixels.

    Parameters
    ----------
    mask : array_like of bool
        2-D, `True` in the segment.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the mask.

    Returns
    -------
    size : `~astropy.units.Quantity`
        In arcsec; NaN for an empty mask (there is nothing to measure).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from astropy_radiounet.measure import largest_angular_size
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> mask = np.zeros((10, 10), bool)
    >>> mask[2:6, 1:4] = True  # 3 by 4 pixels: a 5-pixel diagonal
    >>> largest_angular_size(mask, wcs).round(3)  # doctest: +FLOAT_CMP
    <Quantity 7.5 arcsec>
    """
    return _largest_angular_size(_segment_mask(mask), check_wcs(wcs))


@dataclasses.dataclass(frozen=True)
class SegmentFlux:
    """
    Photometry of one segment (what `segment_flux` returns).

    Attributes
    ----------
    flux : `~astropy.units.Quantity`
        Flux density in Jy: the sum of the Jy/beam values of the valid
        pixels of the segment, less the background, over the beam area in
        pixels.
    flux_error : `~astropy.units.Quantity`
        In Jy: :math:`\\sqrt{(f S)^2 + \\sigma^2 N_{\\rm beams} +
        (\\sigma_B N_{\\rm beams})^2}`, with ``f`` the flux-scale error and
        :math:`\\sigma_B` the error of the background level.
    noise_error : `~astropy.units.Quantity`
        The noise term alone, :math:`\\sigma \\sqrt{N_{\\rm beams}}`, in Jy.
    noise : `~astropy.units.Quantity`
        The rms :math:`\\sigma` used, in Jy/beam (for a noise map, the rms
        of the map over the segment).
    surface_brightness : `~astropy.units.Quantity`
        Mean brightness in Jy/beam (less the background).
    surface_brightness_sky : `~astropy.units.Quantity`
        Flux density per solid angle, in uJy/arcsec2.
    background : `~astropy.units.Quantity`
        The background level subtracted from each pixel, Jy/beam (0 for none).
    n_pixels : int
        Valid pixels summed.
    n_blank : int
        Pixels of the segment that are blank (NaN or masked), left out of the sum.
    n_beams : float
        ``n_pixels`` over the beam area in pixels.
    touches_edge : bool
        Whether the segment touches the border of the image (its flux may
        be cut short).
    blank : bool
        Whether the segment covers blank pixels (``n_blank > 0``).
    """

    flux: u.Quantity
    flux_error: u.Quantity
    noise_error: u.Quantity
    noise: u.Quantity
    surface_brightness: u.Quantity
    surface_brightness_sky: u.Quantity
    n_pixels: int
    n_blank: int
    n_beams: float
    touches_edge: bool
    blank: bool
    background: u.Quantity = 0.0 * u.Jy / u.beam


def require_wcs_and_beam(plane, task, *, name="image",
                         fix="pass wcs= and beam=, or an input that carries them"):
    """
    The plane, or a ValueError naming the task, what is missing and the fix.

    The measurements need an image's WCS (for angles) and its restoring beam
    (for flux densities from Jy/beam).
    """
    if plane.wcs is None or plane.beam is None:
        missing = " and ".join(what for what, value in (("WCS", plane.wcs), ("beam", plane.beam))
                               if value is None)
        msg = (f"{task} needs the {name}'s WCS and beam; its {missing} "
               f"{'are' if ' and ' in missing else 'is'} missing: {fix}.")
        raise ValueError(msg)
    return plane


def _plane_values(image, wcs, beam):
    """The image as float64 Jy/beam (blank pixels NaN), its blank pixels, WCS and beam."""
    plane = require_wcs_and_beam(
        read_image(image, wcs=wcs, beam=beam), "Photometry",
        fix="pass them as keywords or give an ImagePlane or FITS image that carries them")
    values = np.array(plane.data, dtype=np.float64)
    if plane.scale != 1.0:
        values *= plane.scale
    blank = plane.blank() | ~np.isfinite(values)
    values[blank] = np.nan
    return values, blank, plane.wcs, plane.beam


def _noise_on(noise, rows, cols):
    """The noise on a cut-out: the part of a map or `NoiseMap`, or the number."""
    if isinstance(noise, NoiseMap):
        return noise(rows, cols)
    if np.ndim(noise) == 2:
        return np.asarray(noise, dtype=float)[rows, cols]
    return noise


def _noise_rms(noise, valid, rows=slice(None), cols=slice(None)):
    """The rms noise (Jy/beam) of the valid pixels of a segment in a cut-out."""
    noise = _noise_on(noise, rows, cols)
    if np.ndim(noise) != 2:
        return float(noise)
    if not valid.any():
        return np.nan
    return float(np.sqrt(np.nanmean(noise[valid] ** 2)))


def _check_noise(noise, shape):
    if isinstance(noise, u.Quantity):
        noise = noise.to_value(u.Jy / u.beam)
    if noise is None or isinstance(noise, NoiseMap):
        return noise
    if np.ndim(noise) == 2:
        if np.shape(noise) != tuple(shape):
            msg = f"noise map has shape {np.shape(noise)} but the image has shape {shape}."
            raise ValueError(msg)
        return noise
    if np.ndim(noise) != 0:
        msg = f"noise must be a number, a 2-D map or a NoiseMap; got shape {np.shape(noise)}."
        raise ValueError(msg)
    return float(noise)


def _check_background(background):
    """The background level and its error in Jy/beam, from `segment_flux`'s argument."""
    from .background import LocalBackground

    if background is None:
        return 0.0, 0.0
    if isinstance(background, LocalBackground):
        level, error = background.level, background.error
    else:
        level, error = background, 0.0
    try:
        level = u.Quantity(level, u.Jy / u.beam).value
        error = u.Quantity(error, u.Jy / u.beam).value
    except (TypeError, u.UnitsError):
        level = np.nan
    if not (np.ndim(level) == 0 and np.isfinite(level) and np.isfinite(error)):
        msg = (f"background must be a finite level in Jy/beam (a number or Quantity) or a "
               f"LocalBackground from local_background with a usable level; got "
               f"{background!r}.")
        raise ValueError(msg)
    return float(level), float(error)


def _photometry(values, blank, mask, noise, beam_pixels, pixel_area, flux_scale_error,
                touches_edge, rows=slice(None), cols=slice(None), background=(0.0, 0.0)):
    valid = mask & ~blank
    n_pixels = int(np.count_nonzero(valid))
    n_blank = int(np.count_nonzero(mask & blank))
    level, level_error = background
    beam_sum = float(values[valid].sum()) - level * n_pixels
    flux = beam_sum / beam_pixels
    n_beams = n_pixels / beam_pixels
    sigma = _noise_rms(noise, valid, rows, cols)
    noise_error = sigma * np.sqrt(n_beams)
    error = np.hypot(flux_error(flux, sigma, n_beams, flux_scale_error=flux_scale_error),
                     level_error * n_beams)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = beam_sum / n_pixels if n_pixels else np.nan
        sky = (flux * u.Jy / (n_pixels * pixel_area)).to(SKY_BRIGHTNESS_UNIT)
    return SegmentFlux(
        flux=flux * u.Jy,
        flux_error=float(error) * u.Jy,
        noise_error=noise_error * u.Jy,
        noise=sigma * u.Jy / u.beam,
        surface_brightness=mean * u.Jy / u.beam,
        surface_brightness_sky=sky,
        n_pixels=n_pixels, n_blank=n_blank, n_beams=n_beams,
        touches_edge=bool(touches_edge), blank=n_blank > 0,
        background=level * u.Jy / u.beam)


def flux_error(flux, noise, n_beams, *, flux_scale_error=0.1):
    """
    The error of flux densities summed over regions of an image.

    .. math:: \\sigma_S = \\sqrt{(f S)^2 + \\sigma^2 N_{\\rm beams}}

    with :math:`f` the fractional flux-scale error, :math:`\\sigma` the rms
    noise (Jy/beam) and :math:`N_{\\rm beams}` the region's area in beams
    (the noise is correlated over a beam).

    Parameters
    ----------
    flux : float or array_like
        Flux densities (Jy).
    noise : float or array_like
        The rms noise (Jy/beam).
    n_beams : float or array_like
        Areas in beams.
    flux_scale_error : float, optional
        Fractional flux-scale error (LoTSS: 0.1).

    Returns
    -------
    error : float or `~numpy.ndarray`
        In Jy.

    Examples
    --------
    >>> from astropy_radiounet.measure import flux_error
    >>> round(float(flux_error(0.05, 1e-4, 100.0)), 4)
    0.0051
    """
    return np.hypot(flux_scale_error * np.asarray(flux, dtype=float),
                    np.asarray(noise, dtype=float) * np.sqrt(n_beams))


def segment_flux(image, mask, *, beam=None, wcs=None, noise=None, flux_scale_error=0.1,
                 background=None):
    """
    Flux density of one segment of an image, with its error.

    Parameters
    ----------
    image : `~numpy.ndarray` or `~astropy_radiounet.image.ImagePlane` or any \
input of `~astropy_radiounet.image.read_image`
        The image, in Jy/beam for an array; blank pixels (NaN, masked) are
        left out of the sum and counted in ``n_blank``.
    mask : array_like of bool
        `True` in the segment; the image's shape.
    beam : `radio_beam.Beam`, optional
        The restoring beam (taken from an input that carries one).
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS (taken from an input that carries one).
    noise : float, `~numpy.ndarray`, `~astropy_radiounet.image.NoiseMap` or `None`, optional
        The local rms :math:`\\sigma` in Jy/beam: a number, a map of the
        image's shape (its rms over the segment is used) or a
        `~astropy_radiounet.image.NoiseMap`.  `None` estimates one number
        with `~astropy_radiounet.image.robust_sigma` from the valid pixels
        outside the mask.
    flux_scale_error : float, optional
        Fractional flux-scale uncertainty (LoTSS: 0.1).
    background : float, `~astropy.units.Quantity` or `LocalBackground`, optional
        A level in Jy/beam to subtract from every pixel of the segment: a
        number, or the `~astropy_radiounet.measure.LocalBackground` that
        `~astropy_radiounet.measure.local_background` measures around it,
        whose error then adds to ``flux_error``.  None by default.

    Returns
    -------
    result : `SegmentFlux`
        ``flux``, ``flux_error`` (
        :math:`\\sqrt{(f S)^2 + \\sigma^2 N_{\\rm beams}}`, with
        :math:`N_{\\rm beams}` the valid pixels over the beam area in pixels:
        the noise of an image is correlated over a beam), ``noise_error``,
        ``noise``, ``surface_brightness`` (mean Jy/beam),
        ``surface_brightness_sky`` (uJy/arcsec2), ``n_pixels``, ``n_blank``,
        ``n_beams``, the flags ``touches_edge`` and ``blank``, and the
        ``background`` subtracted.

    Examples
    --------
    A Gaussian source with the beam's shape and a peak of 2 Jy/beam has a
    flux density of 2 Jy:

    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.measure import segment_flux
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> y, x = np.indices((48, 48))
    >>> sigma = 4 / np.sqrt(8 * np.log(2))  # a 6 arcsec beam is 4 pixels
    >>> image = 2 * np.exp(-((x - 24) ** 2 + (y - 24) ** 2) / (2 * sigma**2))
    >>> result = segment_flux(image, image > 1e-6, beam=Beam(6 * u.arcsec), wcs=wcs,
    ...                       noise=0.0)
    >>> result.flux.round(3)  # doctest: +FLOAT_CMP
    <Quantity 2. Jy>
    >>> result.flux_error.round(3)  # doctest: +FLOAT_CMP
    <Quantity 0.2 Jy>
    """
    values, blank, wcs, beam = _plane_values(image, wcs, beam)
    mask = _segment_mask(mask, values.shape)
    noise = _check_noise(noise, values.shape)
    background = _check_background(background)
    if noise is None:
        noise = float(robust_sigma(values[~mask & ~blank]))
    touches_edge = mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
    return _photometry(values, blank, mask, noise, beam_area_pixels(beam, wcs),
                       pixel_scale(wcs) ** 2, flux_scale_error, touches_edge,
                       background=background)


def _segment_redshifts(redshift, n):
    if redshift is None:
        return np.full(n, np.nan)
    redshift, _ = parse_redshift(redshift)
    if redshift.ndim == 0:
        return np.full(n, float(redshift))
    if redshift.shape != (n,):
        msg = (f"redshift must be one number or one per segment ({n}); got shape "
               f"{redshift.shape}.")
        raise ValueError(msg)
    return redshift


def measure_segments(image, segment_image, *, wcs=None, beam=None, redshift=None, noise=None,
                     flux_scale_error=0.1, alpha=-1.3, frequency=144 * u.MHz,
                     cosmology=None):
    """
    Measure every segment of a segmentation image: flux density, surface
    brightness, sizes and, at a redshift, radio power.

    Parameters
    ----------
    image : `~numpy.ndarray` or `~astropy_radiounet.image.ImagePlane` or any \
input of `~astropy_radiounet.image.read_image`
        The image, in Jy/beam for an array.
    segment_image : `~photutils.segmentation.SegmentationImage` or `~numpy.ndarray`
        Segments as positive integer labels (0 is background).
    wcs, beam : optional
        Celestial WCS and restoring beam, for inputs that carry none.
    redshift : float or array_like, optional
        One redshift for all segments (those of one cluster), or one per
        segment in the order of their labels.  Without one, or where it is
        not finite and positive, linear sizes and powers are NaN and the row
        is flagged ``no_redshift``.
    noise : float, `~numpy.ndarray`, `~astropy_radiounet.image.NoiseMap` or `None`, optional
        The rms in Jy/beam, as for `segment_flux`; `None` estimates one
        number from the valid pixels outside all segments.
    flux_scale_error : float, optional
        Fractional flux-scale uncertainty.
    alpha : float, optional
        Spectral index (:math:`S \\propto \\nu^{\\alpha}`) of the k-correction.
    frequency : `~astropy.units.Quantity`, optional
        Observed frequency of the image.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row per label: ``label``, ``flux`` and ``flux_err`` (Jy),
        ``surface_brightness`` (mean Jy/beam), ``surface_brightness_sky``
        (uJy/arcsec2), ``area`` (valid pixels, pix2), ``n_beams``, ``noise``
        (Jy/beam), ``largest_angular_size`` (arcsec), ``redshift``,
        ``largest_linear_size`` (kpc), ``power_150`` and ``power_150_err``
        (W/Hz at 150 MHz, the error from ``flux_err``) and ``flags``:
        comma-joined ``edge`` (touches the image border), ``blank`` (covers
        blank pixels, left out of the sums) and ``no_redshift``.

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from photutils.segmentation import SegmentationImage
    >>> from astropy_radiounet.measure import measure_segments
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> labels = np.zeros((20, 20), int)
    >>> labels[5:10, 5:10] = 1
    >>> labels[0:4, 12:20] = 2
    >>> table = measure_segments(np.full((20, 20), 1e-3), SegmentationImage(labels),
    ...                          wcs=wcs, beam=Beam(6 * u.arcsec), noise=1e-4)
    >>> [str(flags) for flags in table['flags']]
    ['no_redshift', 'edge,no_redshift']
    """
    values, blank, wcs, beam = _plane_values(image, wcs, beam)
    labels_image = segment_labels(segment_image, values.shape)
    noise = _check_noise(noise, values.shape)
    if noise is None:
        noise = float(robust_sigma(values[(labels_image == 0) & ~blank]))
    beam_pixels = beam_area_pixels(beam, wcs)
    pixel_area = pixel_scale(wcs) ** 2
    ny, nx = values.shape
    slices = find_objects(np.where(labels_image > 0, labels_image, 0))
    labels = [index + 1 for index, found in enumerate(slices) if found is not None]
    rows = []
    for label in labels:
        rows_slice, cols_slice = slices[label - 1]
        mask = labels_image[rows_slice, cols_slice] == label
        touches_edge = (rows_slice.start == 0 or cols_slice.start == 0
                        or rows_slice.stop == ny or cols_slice.stop == nx)
        result = _photometry(values[rows_slice, cols_slice], blank[rows_slice, cols_slice],
                             mask, noise, beam_pixels, pixel_area, flux_scale_error,
                             touches_edge, rows_slice, cols_slice)
        size = _largest_angular_size(mask, wcs, cols_slice.start, rows_slice.start)
        rows.append((result, size))

    n = len(labels)
    redshifts = _segment_redshifts(redshift, n)
    _, usable = parse_redshift(redshifts)
    table = QTable()
    table["label"] = np.array(labels, dtype=int)
    table["flux"] = u.Quantity([r.flux for r, _ in rows], u.Jy)
    table["flux_err"] = u.Quantity([r.flux_error for r, _ in rows], u.Jy)
    table["surface_brightness"] = u.Quantity([r.surface_brightness for r, _ in rows],
                                             u.Jy / u.beam)
    table["surface_brightness_sky"] = u.Quantity([r.surface_brightness_sky for r, _ in rows],
                                                 SKY_BRIGHTNESS_UNIT)
    table["area"] = np.array([r.n_pixels for r, _ in rows], dtype=float) * u.pix**2
    table["n_beams"] = np.array([r.n_beams for r, _ in rows], dtype=float) * u.one
    table["noise"] = u.Quantity([r.noise for r, _ in rows], u.Jy / u.beam)
    table["largest_angular_size"] = u.Quantity([size for _, size in rows], u.arcsec)
    table["redshift"] = redshifts
    table["largest_linear_size"] = linear_size(table["largest_angular_size"], redshifts,
                                               cosmology=cosmology)
    power = dict(redshift=redshifts, alpha=alpha, frequency=frequency,
                 reference_frequency=150 * u.MHz, cosmology=cosmology)
    table["power_150"] = radio_power(table["flux"], **power)
    table["power_150_err"] = radio_power(table["flux_err"], **power)
    table["flags"] = [
        ",".join(name for name, flag in (("edge", r.touches_edge), ("blank", r.blank),
                                         ("no_redshift", not ok)) if flag)
        for (r, _), ok in zip(rows, usable)]
    return table
