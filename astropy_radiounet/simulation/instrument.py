"""
The instrument: restoring beam, a PSF synthesised from a LOFAR-like
uv-coverage, beam-correlated noise with a smoothly varying rms, imaging
artefacts (deconvolution residuals and calibration-error patterns) and
blanked mosaic edges.

All convolutions are products in Fourier space on a padded grid; the Fourier
kernels of one configuration are computed once per process and cached
(`instrument_kernels`), so that a new field costs a handful of FFTs.
"""

from dataclasses import dataclass
from functools import lru_cache

import astropy.units as u
import numpy as np
from scipy import fft

from ._utils import FWHM_TO_SIGMA, beam_covariance, check_range, to_value

__all__ = ["InstrumentConfig", "parse_beam", "lofar_layout", "uv_coverage", "dirty_beam",
           "instrument_kernels", "InstrumentKernels", "LOTSS_NOISE", "LOTSS_BEAM",
           "noise_at_beam", "keywords_at_beam"]

ARCSEC = np.pi / 180 / 3600
LOFAR_LATITUDE = 52.91  # deg, the LOFAR core
_LAYOUT_SEED = 1962  # fixed: the array layout does not depend on the field's seed

#: The noise of the LoTSS 6 arcsec images (the simulation's default).
LOTSS_NOISE = 70 * u.uJy / u.beam

#: The beam of the LoTSS full-resolution images (the simulation's default).
LOTSS_BEAM = 6 * u.arcsec


def noise_at_beam(beam, *, noise=LOTSS_NOISE, reference_beam=LOTSS_BEAM):
    """
    The noise of an image of ``reference_beam`` smoothed to ``beam``: by
    default the LoTSS 6" noise, 70 uJy/beam, times the beam over 6".

    Smoothing an image whose noise is correlated over its beam to a beam
    ``k`` times wider raises the noise per beam ``k`` times.  The fields of
    coarse beams in the evaluation and in training across beams have this
    noise, what a LoTSS image tapered to them shows (a coarse survey of its
    own, such as NVSS, is shallower at 144 MHz, and confuses less).

    Parameters
    ----------
    beam : `~astropy.units.Quantity`
        The coarse beam (FWHM).
    noise : `~astropy.units.Quantity`, optional
        The noise at ``reference_beam``.
    reference_beam : `~astropy.units.Quantity`, optional
        The beam of the image smoothed.

    Returns
    -------
    noise : `~astropy.units.Quantity`

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.simulation import noise_at_beam
    >>> noise_at_beam(60 * u.arcsec)
    <Quantity 700. uJy / beam>
    """
    return noise * float(u.Quantity(beam, u.arcsec) / u.Quantity(reference_beam, u.arcsec))


def keywords_at_beam(beam, *, noise=LOTSS_NOISE):
    """
    The `~astropy_radiounet.simulation.simulate_field` keywords of a field
    of a LoTSS image smoothed to ``beam``: that beam, pixels of a quarter of
    it, and the noise smoothed with it (`noise_at_beam`).

    Parameters
    ----------
    beam : `~astropy.units.Quantity`
        The beam (FWHM).
    noise : `~astropy.units.Quantity`, optional
        The noise at the LoTSS 6" beam.

    Returns
    -------
    keywords : dict
        ``beam``, ``pixel_scale`` and ``noise``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.simulation import keywords_at_beam
    >>> {key: str(value) for key, value in keywords_at_beam(60 * u.arcsec).items()}
    {'beam': '60.0 arcsec', 'pixel_scale': '15.0 arcsec', 'noise': '700.0 uJy / beam'}
    """
    beam = u.Quantity(beam, u.arcsec)
    return {"beam": beam, "pixel_scale": beam / 4, "noise": noise_at_beam(beam, noise=noise)}


def parse_beam(beam):
    """
    Return ``(major, minor, pa)`` in (arcsec, arcsec, deg) from a beam description.

    ``beam`` may be a single angle (circular beam), a tuple ``(major, minor)`` or
    ``(major, minor, pa)`` of angles, or any object with ``major``, ``minor`` and
    ``pa`` attributes (e.g. ``radio_beam.Beam``). Bare numbers are arcsec (widths) and deg (pa).

    Examples
    --------
    >>> import astropy.units as u
    >>> parse_beam(6 * u.arcsec)
    (6.0, 6.0, 0.0)
    >>> parse_beam((20 * u.arcsec, 10 * u.arcsec, 30 * u.deg))
    (20.0, 10.0, 30.0)
    """
    if hasattr(beam, "major") and hasattr(beam, "minor"):
        parts = (beam.major, beam.minor, getattr(beam, "pa", 0 * u.deg))
    elif isinstance(beam, (tuple, list)):
        if len(beam) not in (2, 3):
            msg = (f"beam={beam!r} must be an angle, (major, minor) or (major, minor, pa); "
                   "e.g. beam=6 * u.arcsec")
            raise ValueError(msg)
        parts = tuple(beam) + ((0 * u.deg,) if len(beam) == 2 else ())
    else:
        parts = (beam, beam, 0 * u.deg)
    major = to_value("beam major", parts[0], u.arcsec)
    minor = to_value("beam minor", parts[1], u.arcsec)
    pa = to_value("beam pa", parts[2], u.deg, positive=False)
    if minor > major:
        major, minor, pa = minor, major, pa + 90.0
    return float(major), float(minor), float(pa % 180.0)


@dataclass(frozen=True)
class InstrumentConfig:
    """
    Instrument parameters of a simulated survey (hashable: the cache key of its kernels).

    The values are checked when the configuration is made; Quantities are
    accepted and stored as bare numbers in the units below.

    Parameters
    ----------
    pixel_scale : float
        Pixel size in arcsec.
    beam : tuple of float
        Restoring beam ``(major, minor, pa)`` in arcsec, arcsec, deg (anything
        `parse_beam` understands); the minor axis must span at least 1.5 pixels.
    noise : float
        Median rms of the thermal noise in Jy/beam.
    frequency : float
        Observing frequency in Hz.
    noise_correlation : float
        FWHM (arcsec) of the noise autocorrelation function.
    noise_variation : float
        Fractional amplitude of the smooth rms variation across the field.
    noise_anisotropy : float
        How striped the residual noise is: its power in the strongest
        direction over the weakest, as `~astropy_radiounet.simulation.realism.noise_anisotropy`
        measures it (LoTSS-DR1: 4.2, from direction-dependent calibration
        residuals; 1 for isotropic noise).  The stripes run in a random
        direction of each field.
    artefacts : bool
        Add deconvolution residuals and calibration-error patterns around bright sources.
    residual_fraction : tuple of float
        Range of the fraction of a bright source's flux left uncleaned (log-uniform).
    calibration_error : float
        Typical residual phase error (deg) of direction-dependent calibration.
        It leaves radial spokes around bright sources, as LoTSS images show,
        whose rms relative to the source is the square of the error in
        radians (2 deg: 0.12 per cent) where they are brightest.
    artefact_saturation : float or None
        Flux density (Jy) above which artefacts grow no more with the source:
        they scale with ``S / (1 + S / artefact_saturation)``, as the
        brightest sources are the best calibrated and subtracted; `None`:
        they grow with the source.  Spokes only.
    artefact_style : {'spokes', 'rings'}
        ``'spokes'``: radial spokes, as LoTSS shows them; ``'rings'``: the
        phase-error patterns of the array's dirty beam (concentric rings),
        the artefacts of package versions before 0.3, which the v0.2 model
        was trained on (with ``calibration_error=3`` and
        ``noise_anisotropy=1``: ``simulate_field(noise_anisotropy=1,
        artefact_style='rings')`` gives the fields of those versions, bit for
        bit).
    artefact_snr : float
        Sources with a peak above ``artefact_snr * noise`` get artefacts.
    artefact_scale : float
        Radius (arcsec) over which calibration-error patterns fade, ``1 / (1 + (r/scale)^2)``.
    declination : float
        Declination (deg) of the pointing, used for the uv-coverage.
    synthesis_hours : float
        Length of the observation in hours (earth-rotation synthesis).
    blank_edges : float or bool
        Fraction of the field blanked (NaN) along an irregular mosaic edge, in
        [0, 1): 0 or False for none, True for 0.15. Stored as the fraction.

    Examples
    --------
    >>> import astropy.units as u
    >>> InstrumentConfig(beam=20 * u.arcsec, pixel_scale=5.0, blank_edges=True).blank_edges
    0.15
    >>> InstrumentConfig(noise=-1e-4)
    Traceback (most recent call last):
    ...
    ValueError: noise=-0.0001 must be finite and positive
    """

    pixel_scale: float = 1.5
    beam: tuple = (6.0, 6.0, 0.0)
    noise: float = 70e-6
    frequency: float = 144e6
    noise_correlation: float = 6.0
    noise_variation: float = 0.1
    noise_anisotropy: float = 4.2
    artefacts: bool = True
    residual_fraction: tuple = (0.003, 0.03)
    calibration_error: float = 2.0
    artefact_snr: float = 30.0
    artefact_scale: float = 90.0
    artefact_saturation: float | None = 0.1
    artefact_style: str = "spokes"
    declination: float = 55.0
    synthesis_hours: float = 8.0
    blank_edges: float = 0.0

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)  # frozen

        def number(name, unit, **kw):
            put(name, to_value(name, getattr(self, name), unit, **kw))

        number("pixel_scale", u.arcsec)
        put("beam", parse_beam(self.beam))
        if self.beam[1] < 1.5 * self.pixel_scale:
            msg = (f"beam={self.beam!r} (arcsec) is smaller than 1.5 pixels of "
                   f"pixel_scale={self.pixel_scale!r} arcsec; use a larger beam or smaller "
                   "pixels (LoTSS: 6 arcsec beam, 1.5 arcsec pixels)")
            raise ValueError(msg)
        noise = self.noise
        if isinstance(noise, u.Quantity) and noise.unit.is_equivalent(u.Jy / u.beam):
            noise = noise.to(u.Jy / u.beam).value
        put("noise", to_value("noise", noise, u.Jy))
        number("frequency", u.Hz)
        number("noise_correlation", u.arcsec)
        number("noise_variation", u.dimensionless_unscaled, allow_zero=True)
        number("noise_anisotropy", u.dimensionless_unscaled)
        if self.noise_anisotropy < 1:
            msg = (f"noise_anisotropy={self.noise_anisotropy!r} is a ratio of the noise power "
                   f"in the strongest direction to the weakest, so at least 1 (1: isotropic; "
                   f"LoTSS-DR1: 4.2)")
            raise ValueError(msg)
        put("artefacts", bool(self.artefacts))
        put("residual_fraction", check_range("residual_fraction", self.residual_fraction,
                                             low=0.0, high=1.0))
        number("calibration_error", u.deg, allow_zero=True)
        number("artefact_snr", u.dimensionless_unscaled)
        number("artefact_scale", u.arcsec)
        if self.artefact_saturation is not None:
            number("artefact_saturation", u.Jy)
        if self.artefact_style not in ("spokes", "rings"):
            msg = f"artefact_style={self.artefact_style!r} must be 'spokes' or 'rings'"
            raise ValueError(msg)
        number("declination", u.deg, positive=False)
        if not -90 < self.declination < 90:
            msg = f"declination={self.declination!r} must lie strictly between -90 and 90 deg"
            raise ValueError(msg)
        number("synthesis_hours", u.hour)
        put("blank_edges", _blank_fraction(self.blank_edges))

    @classmethod
    def from_arguments(cls, *, pixel_scale=1.5 * u.arcsec, beam=LOTSS_BEAM,
                       noise=LOTSS_NOISE, frequency=144 * u.MHz,
                       noise_correlation=None, noise_variation=0.1, noise_anisotropy=4.2,
                       artefacts=True,
                       residual_fraction=(0.003, 0.03), calibration_error=None,
                       artefact_snr=30.0, artefact_scale=90 * u.arcsec,
                       artefact_saturation=0.1 * u.Jy, artefact_style="spokes",
                       declination=55 * u.deg,
                       synthesis_hours=8.0, blank_edges=False):
        """
        Build a configuration from user arguments (Quantities or bare numbers).

        As the constructor, but with the defaults as Quantities and
        ``noise_correlation=None`` meaning the beam major axis and
        ``calibration_error=None`` 2 deg for spokes, 3 deg for rings.
        """
        bm = parse_beam(beam)
        corr = bm[0] if noise_correlation is None else noise_correlation
        if calibration_error is None:  # the rings of earlier versions had 3 deg
            calibration_error = (3.0 if artefact_style == "rings" else 2.0) * u.deg
        return cls(pixel_scale=pixel_scale, beam=bm, noise=noise, frequency=frequency,
                   noise_correlation=corr, noise_variation=noise_variation,
                   noise_anisotropy=noise_anisotropy,
                   artefacts=artefacts, residual_fraction=residual_fraction,
                   calibration_error=calibration_error, artefact_snr=artefact_snr,
                   artefact_scale=artefact_scale, artefact_saturation=artefact_saturation,
                   artefact_style=artefact_style, declination=declination,
                   synthesis_hours=synthesis_hours, blank_edges=blank_edges)

    @property
    def beam_pixels(self):
        """Beam (major, minor) FWHM in pixels."""
        return self.beam[0] / self.pixel_scale, self.beam[1] / self.pixel_scale

    @property
    def beam_area_pixels(self):
        """Beam solid angle in pixels (sum of the peak-normalised beam)."""
        a, b = self.beam_pixels
        return np.pi * a * b / (4 * np.log(2))


def _blank_fraction(blank_edges):
    """The blanked fraction from ``blank_edges`` (bool or number in [0, 1))."""
    if blank_edges is True:
        return 0.15
    try:
        frac = float(blank_edges)
    except (TypeError, ValueError):
        frac = np.nan
    if not 0.0 <= frac < 1.0:
        msg = (f"blank_edges={blank_edges!r} must be a fraction in [0, 1) of the field to "
               "blank, or a bool (True: 0.15, False: none)")
        raise ValueError(msg)
    return frac


@lru_cache(maxsize=1)
def lofar_layout():
    """
    Station positions (east, north, up; metres) of a LOFAR-like Dutch array.

    24 core stations within ~2 km (six of them on a compact "superterp") and 14
    remote stations out to ~60 km on a log-spiral. The layout is fixed (seeded
    internally), independent of any field seed.

    Examples
    --------
    >>> lofar_layout().shape
    (38, 3)
    """
    rng = np.random.default_rng(_LAYOUT_SEED)
    superterp = 170 * np.sqrt(rng.uniform(0, 1, 6))
    core = np.concatenate([superterp, rng.uniform(350, 1900, 18)])
    phi = rng.uniform(0, 2 * np.pi, core.size)
    remote_r = np.geomspace(3.5e3, 60e3, 14) * rng.uniform(0.85, 1.15, 14)
    remote_phi = 2.4 * np.log(remote_r / 3e3) + rng.normal(0, 0.3, 14) + np.arange(14) * np.pi
    r = np.concatenate([core, remote_r])
    p = np.concatenate([phi, remote_phi])
    return np.column_stack([r * np.sin(p), r * np.cos(p), rng.normal(0, 5, r.size)])


def uv_coverage(*, declination=55.0, hours=8.0, frequency=144e6, n_times=192, n_channels=4):
    """
    uv-tracks of the LOFAR-like array by earth rotation and bandwidth synthesis.

    Parameters
    ----------
    declination : float
        Pointing declination in degrees.
    hours : float
        Synthesis time in hours, centred on transit.
    frequency : float
        Central frequency in Hz; channels span +-17 per cent (LOFAR HBA).
    n_times, n_channels : int
        Number of time steps and frequency channels.

    Returns
    -------
    u, v : ndarray
        Shape ``(n_channels, n_times, n_baselines)``, in wavelengths.
    ant1, ant2 : ndarray
        Station indices of each baseline.

    Examples
    --------
    >>> uu, vv, a1, a2 = uv_coverage(n_times=8, n_channels=2)
    >>> uu.shape
    (2, 8, 703)
    """
    enu = lofar_layout()
    lat = np.deg2rad(LOFAR_LATITUDE)
    e, n, up = enu.T
    xyz = np.column_stack([-np.sin(lat) * n + np.cos(lat) * up, e,
                           np.cos(lat) * n + np.sin(lat) * up])
    ant1, ant2 = np.triu_indices(len(enu), 1)
    b = xyz[ant2] - xyz[ant1]
    ha = np.deg2rad(np.linspace(-hours / 2, hours / 2, n_times) * 15.0)[:, None]
    dec = np.deg2rad(declination)
    bx, by, bz = b[:, 0][None], b[:, 1][None], b[:, 2][None]
    uu = np.sin(ha) * bx + np.cos(ha) * by
    vv = -np.sin(dec) * np.cos(ha) * bx + np.sin(dec) * np.sin(ha) * by + np.cos(dec) * bz
    freqs = frequency * np.linspace(0.83, 1.17, n_channels)
    lam = 299792458.0 / freqs
    return (uu[None] / lam[:, None, None], vv[None] / lam[:, None, None], ant1, ant2)


def _grid_index(uu, vv, shape, pixel_rad):
    ny, nx = shape
    iu = np.rint(uu * nx * pixel_rad).astype(np.int64)
    iv = np.rint(vv * ny * pixel_rad).astype(np.int64)
    keep = (np.abs(iu) < nx // 2) & (np.abs(iv) < ny // 2)
    return (iv % ny) * nx + (iu % nx), keep


def _taper(shape, pixel_rad, beam):
    """Gaussian uv-taper whose Fourier transform is the restoring beam (full FFT grid)."""
    ny, nx = shape
    cov = beam_covariance(beam[0], beam[1], beam[2]) * (ARCSEC / pixel_rad) ** 2
    ky = fft.fftfreq(ny)[:, None]
    kx = fft.fftfreq(nx)[None, :]
    q = cov[0, 0] * ky**2 + 2 * cov[0, 1] * ky * kx + cov[1, 1] * kx**2
    return np.exp(-2 * np.pi**2 * q)


@lru_cache(maxsize=8)
def _psf_set(shape, pixel_scale, beam, declination, hours, frequency, calibration_error,
             n_patterns):
    pixel_rad = pixel_scale * ARCSEC
    uu, vv, a1, a2 = uv_coverage(declination=declination, hours=hours, frequency=frequency)
    n = shape[0] * shape[1]
    idx_p, keep_p = _grid_index(uu, vv, shape, pixel_rad)
    idx_m, keep_m = _grid_index(-uu, -vv, shape, pixel_rad)
    counts = (np.bincount(idx_p[keep_p], minlength=n) + np.bincount(idx_m[keep_m], minlength=n))
    weight = np.zeros(n)
    sampled = counts > 0
    weight[sampled] = 1.0 / counts[sampled]  # uniform weighting
    taper = _taper(shape, pixel_rad, beam).ravel()
    w_vis_p = (weight * taper)[idx_p] * keep_p
    w_vis_m = (weight * taper)[idx_m] * keep_m
    grid = np.bincount(idx_p.ravel(), w_vis_p.ravel(), n) + np.bincount(
        idx_m.ravel(), w_vis_m.ravel(), n)
    dirty = np.real(fft.ifft2(grid.reshape(shape)))
    norm = dirty[0, 0]
    dirty /= norm
    patterns = []
    rng = np.random.default_rng(_LAYOUT_SEED + 1)
    n_st = len(lofar_layout())
    radius = np.hypot(*lofar_layout()[:, :2].T)
    n_t = uu.shape[1]
    kern = np.exp(-0.5 * (np.arange(-20, 21) / 5.0) ** 2)
    amp = 0.4 + np.sqrt(radius / 20e3)
    amp *= np.deg2rad(calibration_error) / np.sqrt(np.mean(amp**2))
    for _ in range(n_patterns):
        # smooth (~20 minute) station phase errors, larger on remote stations
        raw = rng.normal(size=(n_st, n_t + 40))
        smooth = np.array([np.convolve(r, kern, mode="valid")[:n_t] for r in raw])
        smooth /= smooth.std(axis=1, keepdims=True)
        phase = amp[:, None] * smooth
        dphi = (phase[a1] - phase[a2]).T  # (n_times, n_baselines)
        vis = np.exp(1j * dphi)[None] - 1.0
        g = (np.bincount(idx_p.ravel(), (w_vis_p * vis.real).ravel(), n)
             + 1j * np.bincount(idx_p.ravel(), (w_vis_p * vis.imag).ravel(), n)
             + np.bincount(idx_m.ravel(), (w_vis_m * vis.real).ravel(), n)
             - 1j * np.bincount(idx_m.ravel(), (w_vis_m * vis.imag).ravel(), n))
        patterns.append(np.real(fft.ifft2(g.reshape(shape))) / norm)
    return dirty, tuple(patterns)


def dirty_beam(shape, *, pixel_scale=1.5, beam=(6.0, 6.0, 0.0), declination=55.0,
               hours=8.0, frequency=144e6, centered=True):
    """
    The dirty beam (PSF) of the LOFAR-like array, uniformly weighted and tapered
    to the restoring beam, peak-normalised to 1.

    Parameters
    ----------
    shape : tuple of int
        Image shape of the PSF.
    pixel_scale : float
        Pixel size in arcsec.
    beam : tuple of float
        Restoring beam ``(major, minor, pa)`` (arcsec, arcsec, deg) used for the taper.
    declination, hours, frequency : float
        Pointing declination (deg), synthesis time (h), frequency (Hz).
    centered : bool
        Put the peak at ``(ny // 2, nx // 2)`` (otherwise at ``(0, 0)``, FFT order).

    Returns
    -------
    psf : `~numpy.ndarray`

    Examples
    --------
    >>> psf = dirty_beam((64, 64))
    >>> float(psf[32, 32])
    1.0
    """
    psf, _ = _psf_set(tuple(int(s) for s in shape), float(pixel_scale), tuple(beam),
                      float(declination), float(hours), float(frequency), 0.0, 0)
    return fft.fftshift(psf) if centered else psf.copy()


def gaussian_ft(shape, cov):
    """rfft2 of a peak-normalised Gaussian of covariance ``cov`` (pixels^2, (y, x))."""
    ny, nx = shape
    ky = fft.fftfreq(ny)[:, None]
    kx = fft.rfftfreq(nx)[None, :]
    q = cov[0, 0] * ky**2 + 2 * cov[0, 1] * ky * kx + cov[1, 1] * kx**2
    return 2 * np.pi * np.sqrt(np.linalg.det(cov)) * np.exp(-2 * np.pi**2 * q)


@dataclass(frozen=True)
class InstrumentKernels:
    """Fourier-space kernels (rfft2 layout) of one configuration on one padded grid."""

    shape: tuple
    beam: np.ndarray        # restoring beam (Jy/pixel -> Jy/beam)
    noise: np.ndarray       # unit-variance correlated-noise filter
    residual: np.ndarray    # dirty beam minus restoring beam
    errors: tuple           # calibration-error patterns (corrupted minus ideal dirty beam)


@lru_cache(maxsize=16)
def instrument_kernels(config, shape):
    """
    Fourier kernels of ``config`` on a grid of ``shape`` (cached per process).

    Examples
    --------
    >>> k = instrument_kernels(InstrumentConfig(), (64, 64))
    >>> k.beam.shape
    (64, 33)
    """
    shape = tuple(int(s) for s in shape)
    pix = config.pixel_scale
    bcov = beam_covariance(config.beam[0] / pix, config.beam[1] / pix, config.beam[2])
    beam_ft = gaussian_ft(shape, bcov)
    # noise filter: a Gaussian of FWHM corr / sqrt(2) has an autocorrelation of FWHM corr
    s = config.noise_correlation / pix / np.sqrt(2) * FWHM_TO_SIGMA
    ncov = np.diag([s, s]) ** 2
    nft = gaussian_ft(shape, ncov)
    kern = fft.irfft2(nft, s=shape)
    nft = nft / np.sqrt(np.sum(kern**2))
    if config.artefacts:
        n_pat = 4 if config.calibration_error > 0 else 0
        rings = config.artefact_style == "rings"
        dirty, patterns = _psf_set(shape, pix, config.beam, config.declination,
                                   config.synthesis_hours, config.frequency,
                                   config.calibration_error if rings else 0.0,
                                   n_pat if rings else 0)
        resid = fft.rfft2(dirty) - beam_ft
        if rings:
            # direction-dependent calibration leaves errors mostly near the source
            dy = np.minimum(np.arange(shape[0]), shape[0] - np.arange(shape[0]))[:, None]
            dx = np.minimum(np.arange(shape[1]), shape[1] - np.arange(shape[1]))[None, :]
            r = np.hypot(dy, dx) * pix / config.artefact_scale
            patterns = tuple(p / (1.0 + r**2) for p in patterns)
        else:
            patterns = spoke_patterns(shape, pix, config.beam[0], config.artefact_scale,
                                      np.deg2rad(config.calibration_error) ** 2, n_pat)
        errors = tuple(fft.rfft2(p) for p in patterns)
    else:
        resid = np.zeros_like(beam_ft)
        errors = ()
    for arr in (beam_ft, nft, resid, *errors):
        arr.setflags(write=False)
    return InstrumentKernels(shape, beam_ft, nft, resid, errors)


#: Angular width (standard deviation, radians) of the stripes' power in the
#: Fourier plane, and the mean of that profile over a 15-degree direction bin,
#: which turns a target anisotropy into the stripes' amplitude.
STRIPE_WIDTH = np.deg2rad(4.0)
_STRIPE_BIN_MEAN = 0.45


def spoke_patterns(shape, pixel_scale, beam, scale, amplitude, n_patterns):
    """
    Radial spokes around a unit point source: direction-dependent calibration
    errors as LoTSS images show them around bright sources.

    Each pattern is a random angular modulation (harmonics 3 to 60 with a
    falling spectrum) of a radial envelope ``1 / (1 + (r / scale)^2)`` that
    vanishes within about two beams of the source (where the source itself
    is), centred on pixel (0, 0) of a periodic grid, with rms ``amplitude``
    at its brightest radius.  Fixed (seeded) like the array layout, so that
    they are the same for every field.

    Parameters
    ----------
    shape : tuple of int
        The (padded) grid.
    pixel_scale, beam, scale : float
        Pixel size, beam FWHM and envelope radius, in arcsec.
    amplitude : float
        Relative amplitude (the phase error in radians).
    n_patterns : int
        How many patterns.

    Returns
    -------
    patterns : tuple of `~numpy.ndarray`
    """
    rng = np.random.default_rng(_LAYOUT_SEED + 2)
    dy = np.minimum(np.arange(shape[0]), shape[0] - np.arange(shape[0]))[:, None]
    dy = np.where(np.arange(shape[0])[:, None] > shape[0] // 2, -dy, dy)
    dx = np.minimum(np.arange(shape[1]), shape[1] - np.arange(shape[1]))[None, :]
    dx = np.where(np.arange(shape[1])[None, :] > shape[1] // 2, -dx, dx)
    r = np.hypot(dy, dx) * pixel_scale
    theta = np.arctan2(dy, dx)
    # Zero on the source, brightest a few beams out, fading beyond ``scale`` and
    # gone well before the edge of the grid (which is periodic).
    radial = ((1.0 - np.exp(-0.5 * (r / (2.0 * beam)) ** 2)) / (1.0 + (r / scale) ** 2)
              * np.exp(-0.5 * (r / (3.0 * scale)) ** 2))
    radial /= radial.max()
    harmonics = np.arange(3, 61)
    patterns = []
    for _ in range(n_patterns):
        weights = rng.normal(size=harmonics.size) / np.sqrt(harmonics)
        phases = rng.uniform(0, 2 * np.pi, harmonics.size)
        angular = sum(w * np.cos(m * theta + ph)
                      for w, m, ph in zip(weights, harmonics, phases))
        angular /= np.sqrt(0.5 * np.sum(weights**2))
        patterns.append(amplitude * angular * radial)
    return tuple(patterns)


def correlated_noise(rng, kernels, *, anisotropy=1.0, direction=0.0):
    """
    Unit-rms noise whose autocorrelation has the configured FWHM.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The noise's random stream.
    kernels : `InstrumentKernels`
        The configuration's Fourier kernels.
    anisotropy : float, optional
        Power in the strongest direction over the weakest (1: isotropic):
        the power within a few degrees of ``direction`` in the Fourier plane
        is raised, which makes stripes across it in the image.
    direction : float, optional
        Direction (radians, in the Fourier plane) of the stripes' power.

    Returns
    -------
    noise : `~numpy.ndarray`
        Of ``kernels.shape``, variance 1.
    """
    white = rng.standard_normal(kernels.shape)
    spectrum = fft.rfft2(white) * kernels.noise
    if anisotropy > 1:
        ky = fft.fftfreq(kernels.shape[0])[:, None]
        kx = fft.rfftfreq(kernels.shape[1])[None, :]
        offset = np.mod(np.arctan2(ky, kx) - direction + np.pi / 2, np.pi) - np.pi / 2
        weight = 1.0 + (anisotropy - 1.0) / _STRIPE_BIN_MEAN * np.exp(
            -0.5 * (offset / STRIPE_WIDTH) ** 2)
        # Keep the variance: the power of the filter, counted as the full plane counts it.
        power = np.abs(kernels.noise) ** 2
        count = np.full(kx.shape, 2.0)
        count[:, 0] = 1.0
        if kernels.shape[1] % 2 == 0:
            count[:, -1] = 1.0
        norm = np.sqrt(np.sum(power * weight * count) / np.sum(power * count))
        spectrum *= np.sqrt(weight) / norm
    return fft.irfft2(spectrum, s=kernels.shape)


def rms_variation(rng, shape, amplitude):
    """A smooth positive map with median 1 and fractional spread ``amplitude``."""
    if amplitude == 0:
        return np.ones(shape)
    ny, nx = shape
    y = np.linspace(-1, 1, ny)[:, None]
    x = np.linspace(-1, 1, nx)[None, :]
    field = np.zeros(shape)
    for _ in range(4):
        ky, kx = rng.normal(0, 1.2, 2)
        field = field + np.cos(np.pi * (ky * y + kx * x) + rng.uniform(0, 2 * np.pi))
    field += rng.normal(0, 0.7) * (x**2 + y**2)
    field = (field - np.median(field)) / (field.std() or 1.0)
    out = np.exp(amplitude * field)
    return out / np.median(out)


def blank_mask(rng, shape, *, fraction=0.15):
    """
    An irregular mosaic edge: True outside a wobbly ellipse leaving about
    ``1 - fraction`` of the field covered.
    """
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx]
    cy = ny / 2 + rng.uniform(-0.3, 0.3) * ny
    cx = nx / 2 + rng.uniform(-0.3, 0.3) * nx
    ang = np.arctan2(y - cy, x - cx)
    r = np.hypot((y - cy) / ny, (x - cx) / nx)
    wobble = 1 + sum(rng.normal(0, 0.04) * np.cos(m * ang + rng.uniform(0, 2 * np.pi))
                     for m in range(2, 7))
    s = r / wobble
    return s > np.quantile(s, 1 - fraction)
