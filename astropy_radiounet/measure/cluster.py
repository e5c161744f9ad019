"""
The diffuse emission of one galaxy cluster, measured inside the segments that
overlap its aperture (2.2 R500 by default in the survey).

`measure_cluster` joins the measurements of this subpackage for one
cluster: the flux density of the union of the segments that overlap the
aperture (on the compact-subtracted image when a
`~astropy_radiounet.measure.CompactSubtraction` is given; a region where
the subtraction is unreliable is flagged), its error from the flux scale, the
noise and the subtraction residual, the radio power at 150 MHz, the largest
angular and linear size, the distance of the emission from the cluster
centre in units of R500 (large for relics), and an exponential profile fit
(`~astropy_radiounet.measure.fit_exponential_halo`) for halos.
"""

import dataclasses
import warnings

import astropy.units as u
import numpy as np
from scipy.ndimage import distance_transform_edt

from ..clusters.r500 import DEFAULT_APERTURE_FACTOR, angular_radius, parse_redshift
from ..image.beams import angle_pixels, beam_area_pixels
from ..image.noise import robust_sigma
from ..image.read import read_image
from .photometry import (linear_size, radio_power, require_wcs_and_beam, segment_flux,
                         segment_labels)
from .photometry import _grown_box, _largest_angular_size, _noise_on, SKY_BRIGHTNESS_UNIT
from .background import RING_INNER, RING_WIDTH, local_background
from .compact import CompactSubtraction, subtract_compact_sources
from .profile import fit_exponential_halo

__all__ = ["measure_cluster", "ClusterMeasurement", "CLUSTER_COLUMNS"]

#: Background pixels sampled at most for a noise estimate (a regular subsample).
NOISE_SAMPLE = 250_000

#: Most pixels the profile fit works on (it bins the image to fewer).
MAX_FIT_PIXELS = 5_000

#: The halo's pixels for the profile fit: the measured segments that come
#: within ``HALO_REACH`` R500 of the cluster centre (a halo covers it; a
#: relic lies farther out), cut to ``HALO_RADIUS`` R500 around it (a halo
#: within 3 r_e of about 0.15 R500 lies well inside; a bridge or filament
#: that a halo's segment runs into stays out).
HALO_REACH = 0.5
HALO_RADIUS = 1.0

#: The columns of `ClusterMeasurement.to_row`, their units and descriptions.
CLUSTER_COLUMNS = {
    "n_segments": (None, "segments overlapping the aperture"),
    "flux": (u.mJy, "flux density of the segments overlapping the aperture"),
    "flux_err": (u.mJy, "its error: flux scale, noise, compact-source subtraction and "
                        "background"),
    "compact_flux": (u.mJy, "compact-source flux subtracted inside the segments"),
    "background": (u.uJy / u.beam, "local background level subtracted from each pixel"),
    "surface_brightness": (SKY_BRIGHTNESS_UNIT, "mean surface brightness of the segments"),
    "power_150": (u.W / u.Hz, "radio power at 150 MHz"),
    "power_150_err": (u.W / u.Hz, "its error"),
    "las": (u.arcmin, "largest angular size of the segments"),
    "lls": (u.kpc, "largest linear size (proper)"),
    "offset_r500": (None, "distance of the emission's centroid from the centre, in R500"),
    "halo_i0": (SKY_BRIGHTNESS_UNIT, "central brightness of the exponential fit"),
    "halo_i0_err": (SKY_BRIGHTNESS_UNIT, "its error"),
    "halo_r_e": (u.kpc, "e-folding radius of the exponential fit (NaN without redshift)"),
    "halo_r_e_err": (u.kpc, "its error"),
    "halo_r_e_angle": (u.arcsec, "e-folding radius of the exponential fit, as an angle"),
    "halo_flux_3re": (u.mJy, "flux density of the fit within 3 r_e"),
    "halo_flux_3re_err": (u.mJy, "its error"),
    "measure_flags": (None, "edge, blank, compact_unreliable, no_background, no_redshift, "
                            "no_segment, no_central_segment, no_fit, fit_failed, "
                            "fit_unconstrained"),
}


@dataclasses.dataclass(frozen=True)
class ClusterMeasurement:
    """
    The result of `measure_cluster`; `to_row` gives its columns.

    Attributes
    ----------
    n_segments : int
        Segments overlapping the aperture (0: nothing to measure, and every
        value is NaN).
    region : `~numpy.ndarray`
        Boolean mask of the measured pixels (the union of those segments).
    flux, flux_err, compact_flux : `~astropy.units.Quantity`
        In mJy (``compact_flux``: what the compact-source model subtracted
        inside the region; 0 without one).
    surface_brightness : `~astropy.units.Quantity`
        In μJy/arcsec².
    background : `~astropy.units.Quantity`
        The background level subtracted from each pixel of the region,
        μJy/beam (0 without; see `measure_cluster`).
    power_150, power_150_err : `~astropy.units.Quantity`
        In W/Hz (NaN without a usable redshift).
    las, lls : `~astropy.units.Quantity`
        Largest angular (arcmin) and linear (kpc) size of the region.
    offset_r500 : float
        Distance of the brightness-weighted centroid of the region from the
        centre, in units of R500 (NaN without R500 or redshift).
    profile : `~astropy_radiounet.measure.HaloProfileFit` or `None`
        The exponential fit, `None` where it could not be made.
    redshift : float
        The redshift used (NaN when not usable).
    flags : tuple of str
        See ``CLUSTER_COLUMNS['measure_flags']``.
    compact : `~astropy_radiounet.measure.CompactSubtraction` or `None`
        The compact-source subtraction used (made here for ``compact='region'``).
    """

    n_segments: int
    region: np.ndarray = dataclasses.field(repr=False)
    flux: u.Quantity
    flux_err: u.Quantity
    compact_flux: u.Quantity
    surface_brightness: u.Quantity
    background: u.Quantity
    power_150: u.Quantity
    power_150_err: u.Quantity
    las: u.Quantity
    lls: u.Quantity
    offset_r500: float
    profile: object
    redshift: float
    flags: tuple
    compact: object = dataclasses.field(default=None, repr=False)

    def to_row(self):
        """
        The measurement as plain numbers in the units of ``CLUSTER_COLUMNS``.

        Returns
        -------
        row : dict
            JSON-serialisable: floats (NaN for what was not measured), the
            number of segments and the comma-joined flags.
        """
        fit = self.profile
        r_e_kpc = np.nan * u.kpc
        r_e_err_kpc = np.nan * u.kpc
        if fit is not None:
            r_e_kpc = linear_size(fit.r_e, self.redshift)
            r_e_err_kpc = linear_size(fit.r_e_err, self.redshift)
        values = {
            "flux": self.flux, "flux_err": self.flux_err, "compact_flux": self.compact_flux,
            "surface_brightness": self.surface_brightness, "background": self.background,
            "power_150": self.power_150,
            "power_150_err": self.power_150_err, "las": self.las, "lls": self.lls,
            "halo_i0": None if fit is None else fit.i0,
            "halo_i0_err": None if fit is None else fit.i0_err,
            "halo_r_e": r_e_kpc, "halo_r_e_err": r_e_err_kpc,
            "halo_r_e_angle": None if fit is None else fit.r_e,
            "halo_flux_3re": None if fit is None else fit.flux_3re,
            "halo_flux_3re_err": None if fit is None else fit.flux_3re_err,
        }
        row = {"n_segments": int(self.n_segments), "offset_r500": float(self.offset_r500)}
        for name, value in values.items():
            unit = CLUSTER_COLUMNS[name][0]
            row[name] = float("nan") if value is None else float(value.to_value(unit))
        row["measure_flags"] = ",".join(self.flags)
        return row


def _aperture(shape, wcs, center, radius):
    """Boolean disc of the aperture, and its centre in pixels."""
    x0, y0 = (float(v) for v in wcs.world_to_pixel(center))
    r = angle_pixels(radius, wcs, name="radius")
    y, x = np.ogrid[:shape[0], :shape[1]]
    return (x - x0) ** 2 + (y - y0) ** 2 <= r**2, (x0, y0)


def _offset_r500(values, region, centre_pixels, r500_pixels):
    """Distance of the brightness-weighted centroid of the region, in R500."""
    y, x = np.nonzero(region)
    weights = np.clip(np.nan_to_num(values[y, x]), 0, None)
    if not (np.isfinite(r500_pixels) and weights.sum() > 0):
        return np.nan
    cx, cy = (weights * x).sum() / weights.sum(), (weights * y).sum() / weights.sum()
    return float(np.hypot(cx - centre_pixels[0], cy - centre_pixels[1]) / r500_pixels)


def _fit_grid(values, fit_mask, wcs, beam_fwhm):
    """
    The image, fit mask and WCS binned to pixels of about half a beam FWHM,
    and to at most ``MAX_FIT_PIXELS`` fitted pixels: finer pixels cost time
    and add no information, as pixels within a beam are correlated (the
    fit's errors allow for that on any grid).
    """
    factor = max(1, int(beam_fwhm // 2),
                 int(np.ceil(np.sqrt(fit_mask.sum() / MAX_FIT_PIXELS))))
    if factor == 1:
        return values, fit_mask, wcs
    ny, nx = (n // factor * factor for n in values.shape)

    def blocks(array):
        return array[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # blocks of blank pixels: NaN
        binned = np.nanmean(blocks(values), axis=(1, 3))
    return binned, blocks(fit_mask).mean(axis=(1, 3)) >= 0.5, wcs[::factor, ::factor]


def _fit(values, region, others, beam, wcs, noise, center, las):
    """
    The exponential fit on the region grown by a beam, without the pixels
    of ``others`` (other segments), or `None` and a flag:
    ``no_fit`` (too few pixels), ``fit_failed`` (no convergence) or
    ``fit_unconstrained`` (an e-folding radius beyond half the region's
    largest size: a profile that hardly falls inside the region, which
    cannot say what r_e is).
    """
    beam_fwhm = angle_pixels(beam.major, wcs, name="beam")
    fit_mask = _fit_pixels(values, region, others, beam, wcs)
    values, fit_mask, wcs = _fit_grid(values, fit_mask, wcs, beam_fwhm)
    try:
        fit = fit_exponential_halo(values, fit_mask, beam=beam, wcs=wcs,
                                   noise=noise, centre=center)
    except ValueError:
        return None, "no_fit"
    if not fit.success or not np.isfinite(fit.r_e_pixels):
        return None, "fit_failed"
    if fit.r_e > las / 2:
        return None, "fit_unconstrained"
    return fit, None


def _halo_pixels(labels, region, centre, r500_pixels):
    """
    The part of the region where a halo is (see ``HALO_REACH``): the
    segments with a pixel within ``HALO_REACH`` R500 of ``centre`` (x, y),
    within ``HALO_RADIUS`` R500 of it.
    """
    y, x = np.indices(labels.shape)
    distance = np.hypot(x - centre[0], y - centre[1])
    central = np.unique(labels[region & (distance <= HALO_REACH * r500_pixels)])
    return (np.isin(labels, central[central > 0]) & region
            & (distance <= HALO_RADIUS * r500_pixels))


def _fit_pixels(values, region, others, beam, wcs):
    """
    The pixels of the profile fit: those within a beam FWHM of the region,
    finite (blank and unreliable pixels are NaN in ``values``) and not in
    ``others`` (the other segments).
    """
    near = distance_transform_edt(~region) <= angle_pixels(beam.major, wcs, name="beam")
    return near & ~others & np.isfinite(values)


def _background_noise(values, valid, labels):
    """The rms (Jy/beam) of the valid pixels outside all segments, from a sample."""
    background = values[valid & (labels == 0)]
    step = max(1, background.size // NOISE_SAMPLE)
    return float(robust_sigma(background[::step]))


def _measured_plane(image, compact, wcs, beam):
    """The plane to measure: the image, or the compact-subtracted one given."""
    if isinstance(compact, CompactSubtraction):
        # The subtracted image carries the WCS and beam of the image it was made from.
        return compact.subtracted
    if compact is not None and not (isinstance(compact, str) and compact == "region"):
        msg = (f"compact must be None, 'region' (subtract the compact sources of the "
               f"measured segments) or a CompactSubtraction from subtract_compact_sources; "
               f"got {compact!r}.")
        raise ValueError(msg)
    return require_wcs_and_beam(read_image(image, wcs=wcs, beam=beam), "measure_cluster")


def _empty(shape, redshift, flags):
    nan = np.nan
    return ClusterMeasurement(
        n_segments=0, region=np.zeros(shape, bool), flux=nan * u.mJy, flux_err=nan * u.mJy,
        compact_flux=nan * u.mJy, surface_brightness=nan * SKY_BRIGHTNESS_UNIT,
        background=nan * u.uJy / u.beam, power_150=nan * u.W / u.Hz,
        power_150_err=nan * u.W / u.Hz, las=nan * u.arcmin, lls=nan * u.kpc, offset_r500=nan,
        profile=None, redshift=redshift, flags=tuple(flags), compact=None)


def measure_cluster(image, segment_image, center, *, radius, r500=None, redshift=None,
                    compact=None, noise=None, background="local", flux_scale_error=0.1,
                    alpha=-1.3, frequency=144 * u.MHz, cosmology=None, fit_profile=True,
                    wcs=None, beam=None):
    """
    Measure the diffuse emission of a cluster inside the segments overlapping
    its aperture.

    Parameters
    ----------
    image : `~astropy_radiounet.image.ImagePlane` or any input of \
`~astropy_radiounet.image.read_image`
        The cluster's image, with WCS and beam; ignored when ``compact`` is
        given (its ``subtracted`` image is measured instead).
    segment_image : `~photutils.segmentation.SegmentationImage`, array or `None`
        The segments (for example ``segmenter.segment(probability)``).
    center : `~astropy.coordinates.SkyCoord`
        The cluster centre.
    radius : `~astropy.units.Quantity`
        The aperture radius (angle): segments with a pixel inside it count.
    r500 : `~astropy.units.Quantity`, optional
        R500 (a length), for ``offset_r500``.
    redshift : float, optional
        For powers and linear sizes (NaN, flagged ``no_redshift``, without).
    compact : `~astropy_radiounet.measure.CompactSubtraction` or 'region', optional
        Compact sources subtracted from the image (``'region'``: those of
        the measured segments, found and subtracted here with
        ``subtract_compact_sources(image, within=region)``, which skips the
        fits of every other source): its ``subtracted`` image is measured,
        its ``residual_error`` adds to the flux error, and a region covering
        ``unreliable`` pixels is flagged
        ``compact_unreliable`` (they are kept in the flux density, whose
        error holds their residual, and left out of the profile fit).
    noise : float, array or `~astropy_radiounet.image.NoiseMap`, optional
        The rms in Jy/beam, as for `~astropy_radiounet.measure.segment_flux`;
        by default one number from (a sample of ``NOISE_SAMPLE`` of) the
        valid pixels outside all segments.
    background : 'local', float, `~astropy.units.Quantity` or `None`, optional
        The level subtracted from each pixel of the region before its flux
        density is summed: ``'local'`` (default) measures it with
        `~astropy_radiounet.measure.local_background` in a ring 2 to 10 beams
        from the region, outside every segment, on the compact-subtracted
        image (faint sources below the noise add a positive pedestal that a
        large region sums to a sizeable flux density), and from the pixels
        of the profile fit; its error adds to ``flux_err``, and a ring too
        small for a level is flagged ``no_background`` (nothing is then
        subtracted).  A number or
        Quantity (Jy/beam) is subtracted as given; `None` subtracts nothing.
    flux_scale_error : float, optional
        Fractional flux-scale error (LoTSS: 0.1).
    alpha, frequency, cosmology : optional
        As for `~astropy_radiounet.measure.radio_power`.
    fit_profile : bool, optional
        Fit an exponential profile (the costly part).

    Returns
    -------
    measurement : `ClusterMeasurement`

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.measure import exponential_halo_image, measure_cluster
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.crval = [150.0, 30.0]
    >>> wcs.wcs.crpix = [64.5, 64.5]
    >>> wcs.wcs.cdelt = [-3 / 3600, 3 / 3600]
    >>> image = exponential_halo_image((128, 128), x0=63.5, y0=63.5, i0=2e-3, r_e=8.0,
    ...                                beam_pixels=5.0)
    >>> segments = (image > 1e-4).astype(int)
    >>> result = measure_cluster(image, segments, wcs.pixel_to_world(63.5, 63.5),
    ...                          radius=3 * u.arcmin, redshift=0.1, noise=1e-4,
    ...                          wcs=wcs, beam=Beam(15 * u.arcsec))
    >>> result.n_segments, round(float(result.profile.r_e.to_value(u.arcsec)))
    (1, 24)
    """
    plane = _measured_plane(image, compact, wcs, beam)
    z, usable = parse_redshift(np.nan if redshift is None else redshift)
    z = float(z) if usable else np.nan
    flags = [] if usable else ["no_redshift"]
    labels = segment_labels(segment_image, plane.shape)
    aperture, centre_pixels = _aperture(plane.shape, plane.wcs, center, radius)
    selected = np.unique(labels[aperture & (labels > 0)])
    if selected.size == 0:
        return _empty(plane.shape, z, flags + ["no_segment"])
    region = np.isin(labels, selected)
    values, valid = plane.read()
    if noise is None:  # one estimate for the subtraction, the photometry and the fit
        noise = _background_noise(values, valid, labels)
    if isinstance(compact, str):  # 'region': the compact sources of the region only
        compact = subtract_compact_sources(plane, noise=noise, within=region)
        plane = compact.subtracted
        values, valid = plane.read()
    unreliable = np.zeros(plane.shape, bool) if compact is None else compact.unreliable
    if np.any(unreliable & region):
        flags.append("compact_unreliable")
    # Everything measured from here on lies within the background ring around
    # the region: work on that box, not the whole image.  It reaches the
    # image's edge only where the region comes within the ring of it, so a
    # region touching the box's edge touches the image's.
    beam_fwhm = angle_pixels(plane.beam.major, plane.wcs, name="beam")
    box = _grown_box(region, int(np.ceil((RING_INNER + RING_WIDTH) * beam_fwhm)) + 1)
    origin = (box[1].start, box[0].start)  # (x, y) of the box's first pixel
    wcs = plane.wcs[box]
    values = np.where(valid[box], values[box], np.nan).astype(np.float64)
    inside, unreliable = region[box], unreliable[box]
    noise = _noise_on(noise, *box)
    if isinstance(background, str) and background == "local":
        background = local_background(values, inside, exclude=labels[box] > 0,
                                      beam=plane.beam, wcs=wcs)
        if not background.usable:
            flags.append("no_background")
            background = None
    elif isinstance(background, str):
        msg = (f"background must be 'local', a level in Jy/beam or None; got "
               f"{background!r}.")
        raise ValueError(msg)
    photometry = segment_flux(values, inside, beam=plane.beam, wcs=wcs, noise=noise,
                              flux_scale_error=flux_scale_error, background=background)
    flags += [name for name, on in (("edge", photometry.touches_edge),
                                    ("blank", photometry.blank)) if on]
    flux_err = photometry.flux_error
    compact_flux = 0.0 * u.Jy
    if compact is not None:
        flux_err = np.hypot(flux_err, compact.residual_error(region & valid))
        compact_flux = (float(np.sum(compact.model, where=region & valid))
                        / beam_area_pixels(plane.beam, plane.wcs)) * u.Jy
    power = dict(alpha=alpha, frequency=frequency, cosmology=cosmology)
    las = _largest_angular_size(inside, wcs)
    offset = np.nan
    centre_in_box = np.subtract(centre_pixels, origin)
    if r500 is not None and usable:
        r500_pixels = angle_pixels(angular_radius(r500, z, cosmology=cosmology), wcs,
                                   name="r500")
        offset = _offset_r500(values, inside, centre_in_box, r500_pixels)
    else:  # R500 from the aperture's radius, as the survey's 2.2 R500
        r500_pixels = angle_pixels(radius, wcs, name="radius") / DEFAULT_APERTURE_FACTOR
    profile = None
    if fit_profile:
        sigma = photometry.noise.to_value(u.Jy / u.beam)
        # The same background off the fitted pixels: the profile has no pedestal.
        level = photometry.background.to_value(u.Jy / u.beam)
        halo = _halo_pixels(labels[box], inside, centre_in_box, r500_pixels)
        if halo.any():
            others = (labels[box] > 0) & ~inside
            profile, problem = _fit(np.where(unreliable, np.nan, values - level), halo,
                                    others, plane.beam, wcs, sigma, center,
                                    _largest_angular_size(halo, wcs))
        else:
            problem = "no_central_segment"
        flags += [problem] if problem else []
    return ClusterMeasurement(
        n_segments=int(selected.size), region=region, flux=photometry.flux.to(u.mJy),
        flux_err=flux_err.to(u.mJy), compact_flux=compact_flux.to(u.mJy),
        surface_brightness=photometry.surface_brightness_sky,
        background=photometry.background.to(u.uJy / u.beam),
        power_150=radio_power(photometry.flux, z, **power),
        power_150_err=radio_power(flux_err, z, **power), las=las.to(u.arcmin),
        lls=linear_size(las, z, cosmology=cosmology), offset_r500=offset, profile=profile,
        redshift=z, flags=tuple(flags), compact=compact)
