"""
Upper limits on the flux density of a radio halo, by injecting mock halos.

For a cluster classified without diffuse emission, how bright would a halo
have to be for the segmenter to find it?  As with MUVIT and the LoTSS-DR2
upper limits of the Planck clusters in LoTSS-DR2 (Bruno et al. 2023), a mock exponential halo
(`~astropy_radiounet.measure.exponential_halo_image`, convolved with the
beam) is injected in the image plane at the cluster, and its flux density
is stepped until the halo is detected.  Here "detected" is what the survey
uses: the detection ratio R of the segmenter's probability inside the
cluster's aperture is above the card's threshold.

The search is a bisection in log flux density with a fixed budget of
segmentations: starting from a halo whose central brightness is twice the
noise per beam, the flux is doubled (or halved) until the outcome changes,
then the bracket is halved.  Each trial injects the halo at a new position
near the centre, chosen among random candidates as the one with the least
bright emission within :math:`r_e` (mock halos are placed off bright
sources), so that the outcomes sample the noise and the confusion around
the cluster; the limit is the geometric middle of the final bracket, which
converges to the flux detected half of the time.

The e-folding radius scales with the cluster: :math:`r_e = 0.15\\,R_{500}`
(`halo_e_folding_radius`), the median of the halo model the package's
simulations draw from (e-folding radii of roughly 100-300 kpc for LoTSS
halos: Murgia et al. 2009; Botteon et al. 2022).
"""

import dataclasses
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from ..clusters.detection_ratio import DetectionRatio
from ..exceptions import BlankDataWarning
from ..image.beams import angle_pixels, beam_area_pixels, beam_pixel_covariance, pixel_scale
from ..image.noise import robust_sigma
from ..image.plane import ImagePlane
from ..image.read import read_image
from ..utils.validation import PositiveInteger
from .photometry import radio_power, require_wcs_and_beam
from .profile import exponential_halo_image

__all__ = ["halo_e_folding_radius", "upper_limit", "UpperLimit", "HALO_RE_PER_R500"]

#: e-folding radius of a mock halo in units of R500 (see the module documentation).
HALO_RE_PER_R500 = 0.15

#: Central brightness of the first trial halo, in units of the noise per beam.
START_I0_SIGMA = 2.0

#: Candidate positions drawn per trial, of which the one with the least bright
#: emission within r_e is used.
N_CANDIDATES = 16

#: Pixels above this many sigma count as bright emission to stay off.
BRIGHT_SIGMA = 5.0


def halo_e_folding_radius(r500):
    """
    The e-folding radius of a mock radio halo for a cluster of a given R500.

    Parameters
    ----------
    r500 : `~astropy.units.Quantity`
        R500 as a length (for example from
        `~astropy_radiounet.clusters.r500_from_m500`).

    Returns
    -------
    r_e : `~astropy.units.Quantity`
        ``HALO_RE_PER_R500`` x R500, in kpc.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.measure import halo_e_folding_radius
    >>> halo_e_folding_radius(1.2 * u.Mpc)
    <Quantity 180. kpc>
    """
    if not isinstance(r500, u.Quantity) or not r500.unit.is_equivalent(u.kpc):
        msg = f"r500 must be a length Quantity (e.g. 1200 * u.kpc); got {r500!r}."
        raise TypeError(msg)
    return (HALO_RE_PER_R500 * r500).to(u.kpc)


@dataclasses.dataclass(frozen=True)
class UpperLimit:
    """
    The result of `upper_limit`.

    Attributes
    ----------
    flux : `~astropy.units.Quantity`
        Flux density (mJy, total of the exponential) of the halo detected
        half of the time: the geometric middle of the final bracket; NaN
        when the trials never changed outcome (see ``bracketed``).
    flux_low, flux_high : `~astropy.units.Quantity`
        The final bracket (mJy): the brightest halo missed and the faintest
        detected.
    r_e : `~astropy.units.Quantity`
        The mock halos' e-folding radius (arcsec).
    power_150 : `~astropy.units.Quantity`
        The limit as a radio power at 150 MHz (W/Hz), NaN without a usable
        redshift.
    bracketed : bool
        Whether a detected and a missed trial were found.  If not, ``flux``
        is NaN and ``flux_low`` (all missed) or ``flux_high`` (all
        detected) holds the bound that was reached.
    trials : `~astropy.table.QTable`
        One row per segmentation: ``flux`` (mJy), ``i0`` (central
        brightness of the unconvolved halo, Jy/beam), ``x``, ``y`` (pixel
        centre of the injected halo), ``ratio`` and ``detected``.
    """

    flux: u.Quantity
    flux_low: u.Quantity
    flux_high: u.Quantity
    r_e: u.Quantity
    power_150: u.Quantity
    bracketed: bool
    trials: QTable = dataclasses.field(repr=False)


def check_segmentation_budget(n, name="n_segmentations"):
    """
    The number of segmentations of an upper limit: an integer of at least 2
    (one detected and one missed mock halo bracket the limit), or a ValueError.
    """
    n = PositiveInteger().validate(n, name)
    if n < 2:
        msg = (f"{name} must be at least 2 (one detected and one missed mock halo); "
               f"got {n}.")
        raise ValueError(msg)
    return n


def _check_segmenter(segmenter, ratio_threshold):
    if not callable(getattr(segmenter, "predict_probability", None)):
        msg = (f"segmenter must have a predict_probability method (e.g. "
               f"astropy_radiounet.RadioUNetSegmenter()); got {type(segmenter).__name__}.")
        raise TypeError(msg)
    if ratio_threshold is None:
        card = getattr(segmenter, "card", None)
        ratio_threshold = getattr(card, "detection_ratio_threshold", None)
    if ratio_threshold is None or not 0 <= float(ratio_threshold) <= 1:
        msg = (f"upper_limit needs a detection-ratio threshold in [0, 1]: pass "
               f"ratio_threshold= or a segmenter whose model card has one; got "
               f"{ratio_threshold!r}.")
        raise ValueError(msg)
    return float(ratio_threshold)


class _Injector:
    """Mock halos of one radius on one image: where to put them, and how."""

    def __init__(self, plane, centre_pixels, r_e, noise, rng):
        """``noise`` in Jy/beam, or `None` to estimate it from the image."""
        values, valid = plane.read()  # float32, never changed: injections add to a copy
        if noise is None:
            noise = float(robust_sigma(values[valid])) if valid.any() else np.nan
        self.plane, self.values, self.valid = plane, values, valid
        self.centre, self.r_e, self.rng = centre_pixels, r_e, rng
        self.covariance = beam_pixel_covariance(plane.beam, plane.wcs)
        self.beam_pixels = beam_area_pixels(plane.beam, plane.wcs)
        self.noise = float(noise)
        self.bright = valid & (values > BRIGHT_SIGMA * self.noise)

    def position(self):
        """The candidate position near the centre with the least bright emission."""
        ny, nx = self.values.shape
        offset = self.r_e * np.sqrt(self.rng.uniform(0, 1, N_CANDIDATES))
        phi = self.rng.uniform(0, 2 * np.pi, N_CANDIDATES)
        xs = np.clip(self.centre[0] + offset * np.cos(phi), 0, nx - 1)
        ys = np.clip(self.centre[1] + offset * np.sin(phi), 0, ny - 1)
        half = int(np.ceil(self.r_e))
        cost = []
        for x, y in zip(xs, ys):
            rows = slice(max(int(y) - half, 0), int(y) + half + 1)
            cols = slice(max(int(x) - half, 0), int(x) + half + 1)
            yy, xx = np.mgrid[rows, cols]
            inside = np.hypot(xx - x, yy - y) <= self.r_e
            cost.append(float(self.values[rows, cols][inside & self.bright[rows, cols]].sum())
                        if self.valid[int(y), int(x)] else np.inf)
        best = int(np.argmin(cost))
        return float(xs[best]), float(ys[best])

    def i0(self, flux_jy):
        """Central brightness (Jy/beam) of the unconvolved halo of a total flux density."""
        return flux_jy * self.beam_pixels / (2 * np.pi * self.r_e**2)

    def inject(self, flux_jy, x, y):
        """The image plus one halo at (x, y), as an `ImagePlane` of the same grid."""
        half = int(np.ceil(8 * self.r_e + 4 * np.sqrt(self.covariance.max())))
        ny, nx = self.values.shape
        rows = slice(max(int(y) - half, 0), min(int(y) + half + 1, ny))
        cols = slice(max(int(x) - half, 0), min(int(x) + half + 1, nx))
        stamp = exponential_halo_image(
            (rows.stop - rows.start, cols.stop - cols.start), x0=x - cols.start,
            y0=y - rows.start, i0=self.i0(flux_jy), r_e=self.r_e, beam_pixels=self.covariance)
        data = self.values.copy()
        data[rows, cols] += stamp.astype(np.float32)
        data[~self.valid] = np.nan
        return ImagePlane.from_array(data, wcs=self.plane.wcs, beam=self.plane.beam)


def _trial_flux(trials, start, factor=2.0):
    """The next flux of the bisection in log flux, from the trials so far."""
    if not trials:
        return start
    detected = [flux for flux, hit in trials if hit]
    missed = [flux for flux, hit in trials if not hit]
    if detected and missed:  # bisect the bracket (or, with noisy outcomes, the crossing)
        return float(np.sqrt(min(detected) * max(missed)))
    last = trials[-1][0]
    return last / factor if detected else last * factor


def _bracket(trials):
    detected = [flux for flux, hit in trials if hit]
    missed = [flux for flux, hit in trials if not hit]
    low = max(missed) if missed else np.nan
    high = min(detected) if detected else np.nan
    if detected and missed:
        # With noisy outcomes the brightest miss can lie above the faintest
        # detection: the bracket is then their crossing, in either order.
        low, high = min(low, high), max(low, high)
    return low, high


def upper_limit(segmenter, image, center, *, radius, r_e, ratio_threshold=None,
                n_segmentations=10, noise=None, redshift=None, alpha=-1.3,
                frequency=144 * u.MHz, cosmology=None, seed=None, wcs=None, beam=None):
    """
    The flux density of a mock radio halo detected half of the time.

    See the module documentation for the method.

    Parameters
    ----------
    segmenter : `~astropy_radiounet.RadioUNetSegmenter` or similar
        Anything with ``predict_probability(image)`` returning a probability
        map of the image's shape (its model card gives the default
        ``ratio_threshold``).
    image : `~astropy_radiounet.image.ImagePlane` or any input of \
`~astropy_radiounet.image.read_image`
        The cluster's cutout, with WCS and beam, holding the aperture (the
        one `~astropy_radiounet.survey.classify_clusters` segments).
    center : `~astropy.coordinates.SkyCoord`
        The cluster's centre: the aperture's centre and where halos are
        injected (off bright sources, within :math:`r_e` of it).
    radius : `~astropy.units.Quantity`
        The aperture radius (angle), e.g. 2.2 R500.
    r_e : `~astropy.units.Quantity`
        e-folding radius of the mock halos (angle), e.g. from
        `halo_e_folding_radius` and
        `~astropy_radiounet.clusters.angular_radius`.
    ratio_threshold : float, optional
        Detection-ratio threshold; the segmenter card's by default.
    n_segmentations : int, optional
        The budget of trials (each one segmentation of ``image``).
    noise : float, optional
        The rms in Jy/beam; estimated from the image by default.
    redshift : float, optional
        To express the limit as a radio power (NaN without).
    alpha, frequency, cosmology : optional
        As for `~astropy_radiounet.measure.radio_power`.
    seed : int or `numpy.random.Generator`, optional
        Random positions of the injected halos.
    wcs, beam : optional
        For an input that carries none.

    Returns
    -------
    limit : `UpperLimit`

    Examples
    --------
    A segmenter that calls every pixel above 0.2 mJy/beam diffuse finds an
    injected halo of a few mJy; the limit lies between the last missed and
    the first detected flux:

    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.measure import upper_limit
    >>> class Bright:
    ...     def predict_probability(self, plane):
    ...         values, valid = plane.read()
    ...         return np.where(valid, values > 2e-4, np.nan).astype(np.float32)
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.crval = [150.0, 30.0]
    >>> wcs.wcs.crpix = [64.5, 64.5]
    >>> wcs.wcs.cdelt = [-3 / 3600, 3 / 3600]
    >>> image = np.random.default_rng(0).normal(0, 1e-4, (128, 128))
    >>> centre = wcs.pixel_to_world(63.5, 63.5)
    >>> limit = upper_limit(Bright(), image, centre, radius=2 * u.arcmin,
    ...                     r_e=30 * u.arcsec, ratio_threshold=0.05, wcs=wcs,
    ...                     beam=Beam(15 * u.arcsec), seed=1)
    >>> bool(limit.bracketed), bool(limit.flux_low < limit.flux < limit.flux_high)
    (True, True)
    >>> len(limit.trials)
    10
    """
    ratio_threshold = _check_segmenter(segmenter, ratio_threshold)
    plane = require_wcs_and_beam(read_image(image, wcs=wcs, beam=beam), "upper_limit")
    if not isinstance(center, SkyCoord) or not center.isscalar:
        msg = f"center must be one SkyCoord; got {center!r}."
        raise TypeError(msg)
    n_segmentations = check_segmentation_budget(n_segmentations)
    r_e_pixels = angle_pixels(r_e, plane.wcs, name="r_e")
    angle_pixels(radius, plane.wcs, name="radius")
    x0, y0 = (float(v) for v in plane.wcs.world_to_pixel(center))
    injector = _Injector(plane, (x0, y0), r_e_pixels, noise, np.random.default_rng(seed))
    noise = injector.noise
    if not (np.isfinite(noise) and noise > 0):
        msg = (f"The noise of the image must be positive and finite to scale the mock halos; "
               f"got {noise!r} (a blank or constant cutout?). Pass noise= in Jy/beam.")
        raise ValueError(msg)
    start = START_I0_SIGMA * noise * 2 * np.pi * r_e_pixels**2 / injector.beam_pixels
    rows, trials = [], []
    for _ in range(n_segmentations):
        flux = _trial_flux(trials, start)
        x, y = injector.position()
        probability = segmenter.predict_probability(injector.inject(flux, x, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BlankDataWarning)
            ratio = float(DetectionRatio(probability, center, radius, wcs=plane.wcs).ratio[0])
        hit = bool(ratio > ratio_threshold)
        trials.append((flux, hit))
        rows.append((flux * 1e3, injector.i0(flux), x, y, ratio, hit))
    low, high = _bracket(trials)
    bracketed = bool(np.isfinite(low) and np.isfinite(high))
    flux = float(np.sqrt(low * high)) if bracketed else np.nan
    table = QTable(rows=rows, names=("flux", "i0", "x", "y", "ratio", "detected"))
    table["flux"].unit = u.mJy
    table["i0"].unit = u.Jy / u.beam
    power = radio_power(flux * u.Jy, np.nan if redshift is None else redshift, alpha=alpha,
                        frequency=frequency, cosmology=cosmology)
    return UpperLimit(flux=(flux * u.Jy).to(u.mJy), flux_low=(low * u.Jy).to(u.mJy),
                      flux_high=(high * u.Jy).to(u.mJy),
                      r_e=(r_e_pixels * pixel_scale(plane.wcs)).to(u.arcsec),
                      power_150=power, bracketed=bracketed, trials=table)
