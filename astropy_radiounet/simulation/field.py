"""
`simulate_field`: one synthetic LoTSS-like field -- cosmic-web backbone,
clusters with diffuse sources, compact sources and radio galaxies, observed
with a restoring beam, correlated non-Gaussian noise and imaging artefacts --
and `SimulatedField`, which holds the image, the noise-free sky, the truth
mask and labels, the cluster and source tables, and writes them as FITS.

`simulate_field` is a thin driver of five stages, each a short function below
with its own random stream, driven by a config: the cosmic web and the clusters
(`ClusterConfig`), their diffuse emission (`ClusterConfig`), the compact
sources and radio galaxies (`SkyConfig`), the instrument (`InstrumentConfig`:
beam, noise, artefacts, blanking) and the truth and tables.
"""

import inspect
import os
import warnings
from dataclasses import dataclass, field as dc_field
from functools import partial
from pathlib import Path
from typing import NamedTuple

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.wcs import WCS
from scipy import fft

from ..exceptions import OutputExistsError
from ..utils.system import physical_memory
from . import diffuse as dfs
from ._utils import as_rng, beam_covariance, check_shape
from .compact import (cluster_member_offsets, sample_sizes, size_covariance, splat_gaussians,
                      splat_points, PowerLawCounts)
from .config import DEFAULT_DIFFUSE_RATES, ClusterConfig, SkyConfig
from .cosmology_web import (density_field, find_peaks, kpc_per_arcsec, r500_kpc,
                            sample_masses, web_edges)
from .fits_io import image_hdu, lotss_header
from .instrument import (LOTSS_BEAM, LOTSS_NOISE, InstrumentConfig, blank_mask,
                         correlated_noise, instrument_kernels, rms_variation)
from .radio_galaxies import radio_galaxy, sample_cluster_radio_galaxies, sample_radio_galaxies
from .truth import label_image, truth_mask

__all__ = ["simulate_field", "SimulatedField", "DEFAULT_DIFFUSE_RATES"]


@dataclass
class SimulatedField:
    """
    A simulated survey field and its truth.

    All images are 2-D ``float32`` arrays of the same shape and WCS, in Jy/beam
    unless stated otherwise.

    Attributes
    ----------
    image : ndarray
        The observed image: sky + noise + artefacts (NaN where blanked).
    sky : ndarray
        Noise-free sky model convolved with the restoring beam.
    diffuse_sky : ndarray
        Diffuse components only (halos, relics, ...), convolved with the beam.
    noise : ndarray
        The noise realisation alone.
    artefacts : ndarray
        Deconvolution residuals and calibration-error patterns alone.
    rms : ndarray
        Local rms of the noise.
    mask : ndarray of bool
        Truth mask: True where ``diffuse_sky > mask_level * rms``.
    labels : ndarray of int16
        Diffuse class at each pixel (`~astropy_radiounet.simulation.LABELS`), 0 elsewhere.
    blank : ndarray of bool
        True where the image is blanked (NaN).
    clusters : `~astropy.table.QTable`
        One row per cluster (position, z, M500, R500, class DE/NDE, diffuse types).
    sources : `~astropy.table.QTable`
        One row per diffuse source, then one per extended radio galaxy:
        ``kind``, ``label`` (diffuse class, 0 for radio galaxies),
        ``cluster`` (index, -1 for none), ``x``, ``y``, ``ra``, ``dec``,
        ``flux``, ``size`` (largest linear size in kpc; NaN for field radio
        galaxies, whose redshift is unknown) and ``angular_size`` (largest
        angular size in arcsec, for every row); for halos and mini-halos
        also ``r_e`` (the e-folding radius along the major axis, arcsec) and
        ``axis_ratio`` (minor over major; both NaN for other sources).
    header : `~astropy.io.fits.Header`
        LoTSS-style 4-D header of the image.
    config : `~astropy_radiounet.simulation.InstrumentConfig`
        The instrument used.
    meta : dict
        Redshift of the structure, seed, numbers of compact sources, ...
    radio_galaxies : list of `~astropy_radiounet.simulation.RadioGalaxy`
        The extended radio galaxies in image pixels, in the order of their
        rows in ``sources``; `radio_galaxy_footprints` renders them.
    """

    image: np.ndarray
    sky: np.ndarray
    diffuse_sky: np.ndarray
    noise: np.ndarray
    artefacts: np.ndarray
    rms: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    blank: np.ndarray
    clusters: QTable
    sources: QTable
    header: object
    config: InstrumentConfig
    meta: dict = dc_field(default_factory=dict)
    radio_galaxies: list = dc_field(default_factory=list, repr=False)

    @property
    def wcs(self):
        """Celestial `~astropy.wcs.WCS` of the images."""
        return WCS(self.header).celestial

    @property
    def shape(self):
        return self.image.shape

    @property
    def noise_level(self):
        """Median noise rms (Jy/beam) as a Quantity."""
        return float(np.median(self.rms)) * u.Jy / u.beam

    def radio_galaxy_footprints(self, *, level=0.5):
        """
        Where each extended radio galaxy is: an integer label image.

        Each galaxy is rendered alone with the restoring beam (noise-free) and
        its footprint is where it exceeds ``level`` times the local noise
        ``rms``; where two overlap, the brighter one has the pixel.  Radio
        galaxies are never part of the truth ``mask`` (they are what a
        diffuse-emission finder must not mark), so this is what an evaluation
        needs to measure the area marked as diffuse on each kind of confuser.

        Parameters
        ----------
        level : float
            Threshold in units of the local noise (default: half the noise).

        Returns
        -------
        labels : `~numpy.ndarray` of int32
            The row of the galaxy in ``sources`` plus 1; 0 where there is none.

        Examples
        --------
        >>> from astropy_radiounet.simulation import simulate_field
        >>> f = simulate_field((128, 128), seed=2, n_clusters=0, radio_galaxy_density=2000)
        >>> footprints = f.radio_galaxy_footprints()
        >>> rows = sorted(set(footprints[footprints > 0].tolist()))
        >>> all(f.sources['label'][row - 1] == 0 for row in rows)
        True
        """
        if not (isinstance(level, (int, float, np.number)) and not isinstance(level, bool)
                and 0 < level < np.inf):
            msg = f"level={level!r} must be a positive number of noise rms, e.g. level=0.5"
            raise ValueError(msg)
        beam_cov = _beam_covariance_pixels(self.config)
        beam_area = self.config.beam_area_pixels
        first = len(self.sources) - len(self.radio_galaxies) + 1
        labels = np.zeros(self.shape, np.int32)
        best = np.zeros(self.shape)
        for k, g in enumerate(self.radio_galaxies):
            box, stamp = _beam_stamp(g, self.shape, beam_cov, beam_area)
            if stamp is None:
                continue
            wins = (stamp > level * self.rms[box]) & (stamp > best[box])
            best[box] = np.where(wins, stamp, best[box])
            labels[box] = np.where(wins, first + k, labels[box])
        return labels

    def hdulist(self):
        """
        The field as an `~astropy.io.fits.HDUList`: the image (primary, 4-D), then
        SKY, DIFFUSE, RMS, MASK and LABELS image extensions and CLUSTERS and
        SOURCES tables.
        """
        from astropy.io import fits

        hdus = [image_hdu(self.image, self.header)]
        for name, data, dtype in (("SKY", self.sky, np.float32),
                                  ("DIFFUSE", self.diffuse_sky, np.float32),
                                  ("RMS", self.rms, np.float32),
                                  ("MASK", self.mask, np.uint8),
                                  ("LABELS", self.labels, np.int16)):
            hdus.append(image_hdu(data, self.header, primary=False, name=name, dtype=dtype))
        hdus.append(fits.table_to_hdu(_plain(self.clusters)))
        hdus[-1].name = "CLUSTERS"
        hdus.append(fits.table_to_hdu(_plain(self.sources)))
        hdus[-1].name = "SOURCES"
        return fits.HDUList(hdus)

    def write(self, path_prefix, *, overwrite=False):
        """
        Write the field as FITS and ECSV files.

        Writes ``<prefix>_image.fits`` (the observed image alone, LoTSS-style 4-D,
        readable by any radio tool), ``<prefix>_model.fits`` (the same image plus
        the noise-free sky, diffuse sky, rms, mask and labels with the same WCS,
        and the tables) and ``<prefix>_clusters.ecsv``.

        Parameters
        ----------
        path_prefix : str or `~pathlib.Path`
            Prefix of the file names (directories must exist).
        overwrite : bool
            Replace existing files.

        Returns
        -------
        paths : dict
            ``{'image': Path, 'model': Path, 'clusters': Path}``.
        """
        prefix = Path(path_prefix)
        paths = {"image": prefix.with_name(prefix.name + "_image.fits"),
                 "model": prefix.with_name(prefix.name + "_model.fits"),
                 "clusters": prefix.with_name(prefix.name + "_clusters.ecsv")}
        existing = [p for p in paths.values() if p.exists()]
        if existing and not overwrite:
            raise OutputExistsError(existing)
        hdul = self.hdulist()
        hdul[:1].writeto(paths["image"], overwrite=overwrite)
        hdul.writeto(paths["model"], overwrite=overwrite)
        self.clusters.write(paths["clusters"], format="ascii.ecsv", overwrite=overwrite)
        return paths


def _beam_stamp(g, shape, beam_cov, beam_area):
    """A radio galaxy with the restoring beam (Jy/beam) and the box of the image it covers."""
    cov = np.concatenate([g.blob_cov + beam_cov, beam_cov[None]])
    y, x = np.r_[g.blob_y, g.y], np.r_[g.blob_x, g.x]
    total = np.r_[g.blob_flux, g.core_flux] * beam_area
    reach = 5 * np.sqrt(np.maximum(cov[:, 0, 0], cov[:, 1, 1])) + 2
    y0, x0 = (int(max(np.floor(np.min(v - reach)), 0)) for v in (y, x))
    y1, x1 = (int(min(np.ceil(np.max(v + reach)) + 1, n)) for v, n in zip((y, x), shape))
    if y1 <= y0 or x1 <= x0:
        return None, None
    stamp = np.zeros((y1 - y0, x1 - x0))
    _splat_box(stamp, y - y0, x - x0, total, cov)
    return (slice(y0, y1), slice(x0, x1)), stamp


def _plain(table):
    out = QTable(table, copy=True)
    out.meta = {}
    for name in out.colnames:
        if isinstance(out[name], SkyCoord):
            out.remove_column(name)
    return out


def _spawn(seed):
    # The streams of the stages; a new stage gets a new child at the end, so the
    # streams of the others (and their fields, bit for bit) stay as they were.
    if isinstance(seed, np.random.Generator):
        return seed.spawn(9)
    as_rng(seed)  # validates
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(s) for s in ss.spawn(9)]


def _default_p_diffuse(m500):
    return 0.1 + 0.75 / (1 + np.exp(-(np.log10(m500) - 14.7) / 0.12))


# The keywords of `simulate_field` that each stage's config replaces (the config
# fields have the same names).
_STAGE_KEYWORDS = {
    "sky": ("center", "source_counts", "flux_range", "radio_galaxy_density", "overdensities",
            "radio_galaxy_population"),
    "clusters": ("n_clusters", "redshift", "redshift_range", "mass_range",
                 "diffuse_probability", "diffuse_rates", "cluster_at_center", "diffuse_scale",
                 "mask_level"),
    "instrument": ("pixel_scale", "beam", "noise", "frequency", "noise_correlation",
                   "noise_variation", "noise_anisotropy", "artefacts", "artefact_style",
                   "blank_edges"),
}


def simulate_field(shape=(512, 512), *, seed=None, pixel_scale=1.5 * u.arcsec,
                   beam=LOTSS_BEAM, noise=LOTSS_NOISE, frequency=144 * u.MHz,
                   center=None, n_clusters=1, redshift=None, redshift_range=(0.08, 0.6),
                   mass_range=(2e14, 1.5e15) * u.Msun, diffuse_probability=None,
                   diffuse_rates=None, cluster_at_center=False, overdensities=True,
                   source_counts="lotss", flux_range=(20e-6, 10.0) * u.Jy,
                   radio_galaxy_density=20.0, artefacts=True, noise_variation=0.1,
                   noise_correlation=None, blank_edges=False, mask_level=1e-3,
                   diffuse_scale=1.0, noise_anisotropy=4.2, artefact_style="spokes",
                   radio_galaxy_population="lomorph", instrument=None, sky=None,
                   clusters=None):
    """
    Simulate one LoTSS-like survey field with its truth.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(ny, nx)`` in pixels.
    seed : int, `numpy.random.SeedSequence`, `numpy.random.Generator` or None
        Random seed: the same seed gives the same field, bit for bit.
    pixel_scale : `~astropy.units.Quantity`
        Pixel size (LoTSS: 1.5 arcsec).
    beam : `~astropy.units.Quantity`, tuple or beam object
        Restoring beam: an angle (circular), ``(major, minor[, pa])`` or an object
        with ``major``, ``minor``, ``pa`` (LoTSS: 6 arcsec; 20 arcsec for the
        low-resolution maps).
    noise : `~astropy.units.Quantity`
        Median thermal noise rms per beam (LoTSS-DR2: 70-80 uJy/beam).
    frequency : `~astropy.units.Quantity`
        Observing frequency (LoTSS: 144 MHz).
    center, source_counts, flux_range, radio_galaxy_density, overdensities, \
radio_galaxy_population
        The sky: image centre, compact-source counts and fluxes, extended radio
        galaxies, cluster-member over-densities and the population the radio
        galaxies are drawn from (``'lomorph'``: the LoTSS population;
        ``'v0.2'``: the sky of the v0.2 model, bit for bit); see `SkyConfig`.
    n_clusters, redshift, redshift_range, mass_range, diffuse_probability, \
diffuse_rates, cluster_at_center
        The galaxy clusters and their diffuse emission; see `ClusterConfig`.
    artefacts : bool
        Add sidelobes and calibration-error patterns around bright sources.
    noise_variation : float
        Fractional amplitude of the smooth rms variation across the field.
    noise_correlation : `~astropy.units.Quantity`, optional
        FWHM of the noise autocorrelation (default: the beam major axis).
    blank_edges : bool or float
        Blank (NaN) an irregular mosaic edge; a float gives the blanked fraction
        (True: 0.15).
    mask_level, diffuse_scale
        Truth-mask level and diffuse brightness factor; see `ClusterConfig`.
    noise_anisotropy, artefact_style
        How striped the noise is (LoTSS-DR1: 4.2; 1 for isotropic) and the
        artefacts around bright sources (``'spokes'``, as LoTSS; ``'rings'``
        as in package versions before 0.3); see `InstrumentConfig`.
    instrument : `InstrumentConfig`, optional
        The instrument's settings, instead of the keywords ``pixel_scale``,
        ``beam``, ``noise``, ``frequency``, ``noise_correlation``,
        ``noise_variation``, ``noise_anisotropy``, ``artefacts``,
        ``artefact_style`` and ``blank_edges``.
    sky : `SkyConfig`, optional
        The sky's settings, instead of ``center``, ``source_counts``,
        ``flux_range``, ``radio_galaxy_density``, ``overdensities`` and
        ``radio_galaxy_population``.
    clusters : `ClusterConfig`, optional
        The clusters' settings, instead of ``n_clusters``, ``redshift``,
        ``redshift_range``, ``mass_range``, ``diffuse_probability``,
        ``diffuse_rates``, ``cluster_at_center``, ``diffuse_scale`` and ``mask_level``.

    Returns
    -------
    `SimulatedField`

    Raises
    ------
    TypeError
        If a config is given together with a keyword it replaces set to
        anything but its default: each setting is given once.
    ValueError
        If a setting is out of range; the message names it.

    Notes
    -----
    The keywords (or the configs) drive five stages, each a short function of
    this module with its own random stream: the cosmic web and the clusters
    (``_place_clusters``), their diffuse emission (``_diffuse_sources``), the
    compact sources and radio galaxies (``_add_compact_sources``,
    ``_add_radio_galaxies``), the instrument (``_observe``: beam, noise,
    artefacts, blanking) and the truth and tables (``_assemble``). A call with
    configs gives the same field as the call with the equivalent keywords.

    Examples
    --------
    >>> from astropy_radiounet.simulation import simulate_field
    >>> f = simulate_field((128, 128), seed=1, n_clusters=1, diffuse_probability=1.0)
    >>> f.image.shape, f.image.dtype
    ((128, 128), dtype('float32'))
    >>> str(f.clusters['classification'][0])
    'DE'

    The same field from a config:

    >>> from astropy_radiounet.simulation import ClusterConfig
    >>> g = simulate_field((128, 128), seed=1,
    ...                    clusters=ClusterConfig(n_clusters=1, diffuse_probability=1.0))
    >>> bool((g.image == f.image).all())
    True
    """
    shape = check_shape("shape", shape)
    keywords = dict(
        center=center, source_counts=source_counts, flux_range=flux_range,
        radio_galaxy_density=radio_galaxy_density, overdensities=overdensities,
        radio_galaxy_population=radio_galaxy_population, n_clusters=n_clusters,
        redshift=redshift, redshift_range=redshift_range,
        mass_range=mass_range, diffuse_probability=diffuse_probability,
        diffuse_rates=diffuse_rates, cluster_at_center=cluster_at_center,
        diffuse_scale=diffuse_scale, mask_level=mask_level, pixel_scale=pixel_scale,
        beam=beam, noise=noise, frequency=frequency, noise_correlation=noise_correlation,
        noise_variation=noise_variation, noise_anisotropy=noise_anisotropy,
        artefacts=artefacts, artefact_style=artefact_style, blank_edges=blank_edges)
    sky = _stage_config("sky", sky, SkyConfig, keywords)
    clusters = _stage_config("clusters", clusters, ClusterConfig, keywords)
    instrument = _stage_config(
        "instrument", instrument, InstrumentConfig, keywords,
        build=partial(InstrumentConfig.from_arguments, declination=round(sky.center[1], 1)))
    (rng_web, rng_diff, rng_cmp, rng_rg, rng_noise, rng_art, rng_blank, rng_z,
     rng_stripes) = _spawn(seed)

    grid = _padded_grid(shape, instrument)
    structure = _place_clusters(rng_web, rng_z, grid, clusters)
    canvas = _Sky(np.zeros(grid.full), np.zeros(grid.full),
                  _diffuse_sources(rng_diff, grid, structure, clusters))
    _add_compact_sources(rng_cmp, canvas, grid, sky, instrument, structure.clusters)
    _add_radio_galaxies(rng_rg, canvas, grid, sky, instrument, structure.clusters)
    observed = _observe((rng_noise, rng_stripes), rng_art, rng_blank, grid, instrument, canvas)
    return _assemble(grid, structure, canvas, observed, sky, clusters, instrument,
                     seed=None if isinstance(seed, np.random.Generator) else seed)


_DEFAULTS = {name: p.default for name, p in inspect.signature(simulate_field).parameters.items()}


# ---- the configs of the stages ---------------------------------------------------------

def _stage_config(name, config, cls, keywords, build=None):
    """
    The config of one stage: ``config``, or one built from the stage's keywords.

    A keyword of the stage that is not at its default while ``config`` is given
    is an error (`TypeError`), not silently dropped.
    """
    own = {key: keywords[key] for key in _STAGE_KEYWORDS[name]}
    if config is None:
        return (build or cls)(**own)
    if not isinstance(config, cls):
        msg = f"{name}={config!r} must be a {cls.__name__} or None"
        raise TypeError(msg)
    changed = [key for key, value in own.items() if not _is_default(value, _DEFAULTS[key])]
    if changed:
        given = ", ".join(f"{key}={own[key]!r}" for key in changed)
        msg = (f"simulate_field got {name}={cls.__name__}(...) and also {given}, which "
               f"{name} sets too; give each setting once: put it in the config "
               f"({name}=dataclasses.replace({name}, {changed[0]}=...)) or leave out "
               f"{name} and use keywords only")
        raise TypeError(msg)
    return config


def _is_default(value, default):
    """Whether a keyword's value equals its default (unit-aware, never raises)."""
    if value is default:
        return True
    if value is None or default is None or isinstance(value, str) != isinstance(default, str):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(np.all(value == default))
    except Exception:  # noqa: BLE001  (values that do not compare are not the default)
        return False


# ---- internal state passed between the stages -------------------------------------------

@dataclass(frozen=True)
class _Grid:
    """The image inside the padded FFT grid on which everything is rendered."""

    shape: tuple        # (ny, nx) of the image
    full: tuple         # (gy, gx) of the padded grid
    offset: tuple       # (oy, ox): the image's first pixel in the grid
    pixel_scale: float  # arcsec

    @property
    def area_deg2(self):
        """Area of the padded grid in square degrees."""
        return self.full[0] * self.full[1] * (self.pixel_scale / 3600) ** 2

    def crop(self, image):
        """The image part of a padded-grid array."""
        (oy, ox), (ny, nx) = self.offset, self.shape
        return image[oy:oy + ny, ox:ox + nx]


@dataclass
class _Structure:
    """The cosmic web: redshift, web nodes (grid pixels) and clusters (the first nodes)."""

    z: float
    kpc_per_pixel: float
    peak_y: np.ndarray
    peak_x: np.ndarray
    clusters: list      # dicts: y, x, z, m500, r500, de, kinds, cool_core


@dataclass
class _Sky:
    """The sky before the instrument, on the padded grid."""

    model: np.ndarray   # Jy/pixel; the instrument convolves it with the beam
    direct: np.ndarray  # Jy/beam; bright sources, rendered with the beam already
    components: list    # diffuse components (`diffuse` stamps)
    bright: list = dc_field(default_factory=list)  # (y, x, flux) arrays: artefact sources
    radio_galaxies: list = dc_field(default_factory=list)  # table rows
    n_compact: int = 0


@dataclass
class _Observation:
    """The instrument's output, cropped to the image."""

    image: np.ndarray
    sky: np.ndarray
    diffuse_sky: np.ndarray
    class_skies: dict   # diffuse kind -> its beam-convolved sky
    noise: np.ndarray
    artefacts: np.ndarray
    rms: np.ndarray
    blank: np.ndarray


#: Arrays of the padded grid a simulation holds at once (float64 sky, diffuse sky,
#: noise, artefacts, FFT buffers, ...), for the memory check.
_GRID_ARRAYS = 16


def _memory_limit():
    """
    The largest simulation allowed, in bytes: a quarter of this machine's memory
    (ASTROPY_RADIOUNET_SIMULATION_MAX_GB overrides it).
    """
    if os.environ.get("ASTROPY_RADIOUNET_SIMULATION_MAX_GB"):
        return float(os.environ["ASTROPY_RADIOUNET_SIMULATION_MAX_GB"]) * 2**30
    memory = physical_memory()
    return 8 * 2**30 if memory is None else memory / 4


def _padded_grid(shape, instrument):
    """The FFT grid: the image padded by at least 4 beams so that edges do not wrap."""
    ny, nx = shape
    pix = instrument.pixel_scale
    bpix = instrument.beam[0] / pix
    if bpix > max(shape):
        msg = (f"The beam ({instrument.beam[0]:.4g} arcsec) is {bpix:.3g} pixels of "
               f"{pix:.4g} arcsec, wider than the {ny} x {nx} field itself; check the beam "
               f"and pixel_scale (LoTSS: 6 arcsec beam, 1.5 arcsec pixels).")
        raise ValueError(msg)
    pad = int(max(16, np.ceil(4 * bpix)))
    gy = fft.next_fast_len(ny + 2 * pad, real=True)
    gx = fft.next_fast_len(nx + 2 * pad, real=True)
    need = gy * gx * 8 * _GRID_ARRAYS
    if need > _memory_limit():
        msg = (f"A {ny} x {nx} field (a {gy} x {gx} grid with its padding of 4 beams) needs "
               f"about {need / 2**30:.1f} GiB, more than the {_memory_limit() / 2**30:.1f} GiB "
               f"allowed (a quarter of this machine's memory; "
               f"ASTROPY_RADIOUNET_SIMULATION_MAX_GB sets it).  Simulate smaller fields.")
        raise MemoryError(msg)
    return _Grid((ny, nx), (gy, gx), ((gy - ny) // 2, (gx - nx) // 2), pix)


def _beam_covariance_pixels(instrument):
    """Covariance (pixels^2, (y, x)) of the restoring beam."""
    pix = instrument.pixel_scale
    bpix = instrument.beam[0] / pix
    return beam_covariance(bpix, instrument.beam[1] / pix, instrument.beam[2])


# ---- stage 1: cosmic web and clusters ---------------------------------------------------

def _place_clusters(rng_web, rng_z, grid, config):
    """
    Lay out the cosmic web and put the clusters at its highest peaks.

    Parameters
    ----------
    rng_web, rng_z : `numpy.random.Generator`
        Streams of the web and clusters, and of the redshift.
    grid : `_Grid`
    config : `ClusterConfig`

    Returns
    -------
    `_Structure`
        The redshift, the web nodes and one dict per cluster.
    """
    z_lo, z_hi = config.redshift_range
    z = float(rng_z.uniform(z_lo, z_hi)) if config.redshift is None else config.redshift
    kpc_pix = kpc_per_arcsec(z) * grid.pixel_scale
    peak_y, peak_x = _web_nodes(rng_web, grid, z, kpc_pix, config)
    masses = sample_masses(rng_web, config.n_clusters, config.mass_range)
    clusters = []
    for i in range(config.n_clusters):
        zc = max(z + rng_web.normal(0, 0.002), 1e-3)
        r500 = r500_kpc(masses[i], zc)
        p_de = (_default_p_diffuse(masses[i]) if config.diffuse_probability is None
                else config.diffuse_probability)
        clusters.append(dict(y=float(peak_y[i]), x=float(peak_x[i]), z=zc, m500=masses[i],
                             r500=r500, de=bool(rng_web.uniform() < p_de), kinds=[],
                             cool_core=bool(rng_web.uniform() < 0.3)))
    return _Structure(z, kpc_pix, peak_y, peak_x, clusters)


def _web_nodes(rng, grid, z, kpc_pix, config):
    """Peaks of a projected density field (grid pixels), most prominent first."""
    (gy, gx), (oy, ox), (ny, nx) = grid.full, grid.offset, grid.shape
    cell = 8
    coarse = (int(np.ceil(gy / cell)), int(np.ceil(gx / cell)))
    cell_mpc = cell * kpc_pix / 1000 * (1 + z) * 0.6766
    dens = density_field(rng, coarse, cell_mpc)
    n_peaks = max(config.n_clusters + 3, 6)
    py, px = find_peaks(dens, n_peaks, margin=0.12, min_separation=2)
    peak_y = py * cell + cell / 2 + rng.uniform(-cell / 2, cell / 2, py.size)
    peak_x = px * cell + cell / 2 + rng.uniform(-cell / 2, cell / 2, px.size)
    if len(peak_y) < n_peaks:  # featureless field: add random positions
        extra = n_peaks - len(peak_y)
        peak_y = np.r_[peak_y, rng.uniform(oy, oy + ny, extra)]
        peak_x = np.r_[peak_x, rng.uniform(ox, ox + nx, extra)]
    if config.cluster_at_center and config.n_clusters:
        dy, dx = oy + ny / 2 - 0.5 - peak_y[0], ox + nx / 2 - 0.5 - peak_x[0]
        peak_y, peak_x = peak_y + dy, peak_x + dx
    return peak_y, peak_x


# ---- stage 2: diffuse emission ----------------------------------------------------------

def _diffuse_sources(rng, grid, structure, config):
    """
    Make the diffuse sources: halos, mini-halos and relics of the clusters with
    diffuse emission, bridges between close cluster pairs, filaments along the web.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The stream of the diffuse sources.
    grid : `_Grid`
    structure : `_Structure`
        Its clusters get the kinds of their diffuse sources (``kinds``) and, for
        a bridge, diffuse emission (``de``).
    config : `ClusterConfig`

    Returns
    -------
    components : list
        The diffuse components (`diffuse` stamps on the padded grid).
    """
    comps = []
    for i, c in enumerate(structure.clusters):
        if c["de"]:
            comps += _cluster_diffuse(rng, grid, i, c, config)
    comps += _web_diffuse(rng, grid, structure, config)
    comps = [c for c in comps if c is not None]
    for comp in comps:
        if comp.cluster >= 0:
            structure.clusters[comp.cluster]["kinds"].append(comp.kind)
    return comps


def _cluster_diffuse(rng, grid, i, c, config):
    """The halo or mini-halo and the relics of cluster ``i``."""
    rates = config.diffuse_rates
    kpc_c = kpc_per_arcsec(c["z"]) * grid.pixel_scale
    r500p = c["r500"] / kpc_c
    want_mini = c["cool_core"] and rng.uniform() < rates["mini_halo"] / 0.3
    want_halo = (not want_mini) and rng.uniform() < rates["halo"]
    want_relic = rng.uniform() < rates["relic"]
    if not (want_mini or want_halo or want_relic):
        # A cluster with diffuse emission gets at least its central kind,
        # unless that kind's rate is zero.
        want_halo = not c["cool_core"] and rates["halo"] > 0
        want_mini = c["cool_core"] and rates["mini_halo"] > 0
    comps = []
    if want_halo:
        comps.append(_halo(rng, grid, i, c, kpc_c, r500p, config.diffuse_scale))
    if want_mini:
        comps.append(_mini_halo(rng, grid, i, c, kpc_c, config.diffuse_scale))
    if want_relic:
        comps += _relics(rng, grid, i, c, kpc_c, r500p, config.diffuse_scale)
    return comps


def _halo(rng, grid, i, c, kpc_c, r500p, diffuse_scale):
    """A turbulent exponential halo of e-folding radius ~0.15 R500 (50-300 kpc)."""
    r_e = np.clip(0.15 * c["r500"] * 10 ** rng.normal(0, 0.12), 50, 300)
    power = dfs.HALO_RELATION.power(rng, c["m500"])
    flux = dfs.flux_from_power(power, c["z"], dfs.HALO_RELATION.alpha) * diffuse_scale
    return dfs.halo(rng, c["y"] + rng.normal(0, 0.05 * r500p),
                    c["x"] + rng.normal(0, 0.05 * r500p), r_e=r_e / kpc_c,
                    flux=flux, grid=grid.full, axis_ratio=rng.uniform(0.6, 1.0),
                    angle=rng.uniform(0, np.pi), truncation=rng.uniform(2.5, 3.5),
                    turbulence=rng.uniform(0.2, 0.6), size_kpc=6 * r_e,
                    cluster=i, params={"power": power, "r_e_kpc": r_e})


def _mini_halo(rng, grid, i, c, kpc_c, diffuse_scale):
    """A compact (< 0.5 Mpc) mini-halo at the centre of a cool-core cluster."""
    r_e = rng.uniform(15, 60)
    power = dfs.MINI_HALO_RELATION.power(rng, c["m500"])
    flux = dfs.flux_from_power(power, c["z"], dfs.MINI_HALO_RELATION.alpha) * diffuse_scale
    trunc = min(3.0, 250 / r_e)
    return dfs.halo(rng, c["y"], c["x"], r_e=r_e / kpc_c, flux=flux, grid=grid.full,
                    axis_ratio=rng.uniform(0.7, 1.0), angle=rng.uniform(0, np.pi),
                    truncation=trunc, turbulence=0.3, kind="mini_halo",
                    size_kpc=2 * trunc * r_e, cluster=i,
                    params={"power": power, "r_e_kpc": r_e})


def _relics(rng, grid, i, c, kpc_c, r500p, diffuse_scale):
    """One relic at 0.5-1.5 R500, or (30 per cent) two on opposite sides."""
    comps = []
    n_rel = 2 if rng.uniform() < 0.3 else 1
    ang0 = rng.uniform(0, 2 * np.pi)
    for j in range(n_rel):
        length = float(np.clip(800 * 10 ** rng.normal(0, 0.25), 200, 2000))
        width = rng.uniform(40, 150)
        power = dfs.RELIC_RELATION.power(rng, c["m500"]) * (0.6 if j else 1)
        flux = dfs.flux_from_power(power, c["z"], dfs.RELIC_RELATION.alpha) * diffuse_scale
        comps.append(dfs.relic(
            rng, c["y"], c["x"], distance=rng.uniform(0.5, 1.5) * r500p,
            angle=ang0 + j * np.pi + rng.normal(0, 0.2),
            length=length / kpc_c, width=width / kpc_c, flux=flux, grid=grid.full,
            curvature=rng.uniform(0.8, 1.6), edge=max(10 / kpc_c, 0.5), size_kpc=length,
            cluster=i, params={"power": power}))
    return comps


def _web_diffuse(rng, grid, structure, config):
    """Bridges between close cluster pairs and faint filaments along the web's edges."""
    peak_y, peak_x, clusters = structure.peak_y, structure.peak_x, structure.clusters
    kpc_pix, pix, n_clusters = structure.kpc_per_pixel, grid.pixel_scale, len(clusters)
    rates, diffuse_scale = config.diffuse_rates, config.diffuse_scale
    comps = []
    n_fil = 0
    for i, j in web_edges(peak_y, peak_x):
        ends = (peak_y[i], peak_x[i]), (peak_y[j], peak_x[j])
        sep_kpc = np.hypot(peak_y[i] - peak_y[j], peak_x[i] - peak_x[j]) * kpc_pix
        both = i < n_clusters and j < n_clusters
        if both and sep_kpc < 4000 and rng.uniform() < rates["bridge"]:
            sb = 10 ** rng.uniform(np.log10(0.2e-6), np.log10(1.5e-6))  # Jy/arcsec^2
            width = rng.uniform(300, 800)
            comps.append(dfs.bridge(rng, *ends, width=width / kpc_pix,
                                    surface_brightness=sb * pix**2 * diffuse_scale,
                                    grid=grid.full, end_taper=0.2 * sep_kpc / kpc_pix,
                                    size_kpc=sep_kpc, cluster=i,
                                    params={"sb_uJy_arcsec2": sb * 1e6}))
            clusters[i]["de"] = clusters[j]["de"] = True
        elif (not both and n_fil < 2 and sep_kpc > 500
              and rng.uniform() < rates["filament"]):
            sb = 10 ** rng.uniform(np.log10(0.1e-6), np.log10(0.6e-6))
            width = rng.uniform(300, 1000)
            comps.append(dfs.filament(rng, *ends, width=width / kpc_pix,
                                      surface_brightness=sb * pix**2 * diffuse_scale,
                                      grid=grid.full, size_kpc=sep_kpc,
                                      params={"sb_uJy_arcsec2": sb * 1e6}))
            n_fil += 1
    return comps


# ---- stage 3: compact sources and radio galaxies ---------------------------------------

def _add_compact_sources(rng, canvas, grid, config, instrument, clusters):
    """
    Draw the compact sources (field counts, cluster members, central AGN) and
    add them to the sky.

    Faint sources go to ``canvas.model`` (convolved with the beam later); those
    brighter than 5 sigma are rendered exactly, with the beam, in
    ``canvas.direct`` and are candidates for artefacts (``canvas.bright``).

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The stream of the compact sources.
    canvas : `_Sky`
        Changed in place.
    grid : `_Grid`
    config : `SkyConfig`
    instrument : `InstrumentConfig`
    clusters : list of dict
        The clusters (for their member over-densities).
    """
    flux, cy, cx = _compact_positions(rng, grid, config, clusters)
    pix = grid.pixel_scale
    canvas.n_compact = int(flux.size)
    major, minor, pa = sample_sizes(rng, flux)
    resolved = major / pix > 1.0
    bright = flux > 5 * instrument.noise
    faint_pt = ~bright & ~resolved
    splat_points(canvas.model, cy[faint_pt], cx[faint_pt], flux[faint_pt])
    sel = ~bright & resolved
    splat_gaussians(canvas.model, cy[sel], cx[sel], flux[sel],
                    size_covariance(major[sel] / pix, minor[sel] / pix, pa[sel]))
    cov_b = (size_covariance(major[bright] / pix, minor[bright] / pix, pa[bright])
             + _beam_covariance_pixels(instrument))
    splat_gaussians(canvas.direct, cy[bright], cx[bright],
                    flux[bright] * instrument.beam_area_pixels, cov_b)
    canvas.bright.append((cy[bright], cx[bright], flux[bright]))


def _compact_positions(rng, grid, config, clusters):
    """Fluxes (Jy) and grid positions of the field sources, then of the cluster members."""
    gy, gx = grid.full
    pix = grid.pixel_scale
    flux = config.counts.sample(rng, grid.area_deg2, flux_range=config.flux_range)
    cy = rng.uniform(-0.5, gy - 0.5, flux.size)
    cx = rng.uniform(-0.5, gx - 0.5, flux.size)
    if config.overdensities:
        member_counts = PowerLawCounts(slope=-2.0)
        for c in clusters:
            kpc_c = kpc_per_arcsec(c["z"]) * pix
            r500p = c["r500"] / kpc_c
            n_mem = rng.poisson(60 * (c["m500"] / 5e14) * 10 ** rng.uniform(-0.5, 0.5))
            s_mem = member_counts.sample(rng, 1.0, flux_range=(15e-6, 3e-3))
            s_mem = rng.choice(s_mem, n_mem) if s_mem.size else s_mem
            oyc, oxc = cluster_member_offsets(rng, s_mem.size, 0.12 * r500p, r500p)
            flux = np.r_[flux, s_mem]
            cy, cx = np.r_[cy, c["y"] + oyc], np.r_[cx, c["x"] + oxc]
            if rng.uniform() < 0.6:  # central AGN / BCG
                flux = np.r_[flux, 10 ** rng.uniform(-3.3, -1.3)]
                cy, cx = np.r_[cy, c["y"]], np.r_[cx, c["x"]]
    return flux, cy, cx


def _add_radio_galaxies(rng, canvas, grid, config, instrument, clusters):
    """
    Draw extended radio galaxies in the field and in the clusters, and add them
    to the sky.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The stream of the radio galaxies.
    canvas : `_Sky`
        Changed in place: lobes and jets to ``model``, the core to ``direct``,
        the galaxy's brightest parts to ``bright`` (artefacts) and the galaxy
        to ``radio_galaxies`` (table rows).
    grid : `_Grid`
    config : `SkyConfig`
        Its ``radio_galaxy_population`` chooses the population:
        ``'lomorph'`` (`_radio_galaxy_specs`) or ``'v0.2'``
        (`_v02_radio_galaxy_specs`, drawn and rendered as in version 0.2).
    instrument : `InstrumentConfig`
    clusters : list of dict
    """
    beam_cov = _beam_covariance_pixels(instrument)
    beam_area = instrument.beam_area_pixels
    population = config.radio_galaxy_population
    if population == "v0.2":
        specs = _v02_radio_galaxy_specs(rng, grid, config, clusters)
    else:
        specs = _radio_galaxy_specs(rng, grid, config, clusters)
    for spec in specs:
        g = radio_galaxy(rng, spec.kind, spec.y, spec.x, flux=spec.flux, size=spec.size,
                         angle=spec.angle, bend=spec.bend, population=population)
        if population == "v0.2":
            splat_gaussians(canvas.model, g.blob_y, g.blob_x, g.blob_flux, g.blob_cov)
            splat_gaussians(canvas.direct, [g.y], [g.x], [g.core_flux * beam_area],
                            beam_cov[None])
            canvas.bright.append((np.r_[g.y], np.r_[g.x], np.r_[g.flux]))
        else:
            _render_radio_galaxy(canvas, g, beam_cov, beam_area)
        canvas.radio_galaxies.append(dict(kind=spec.kind, y=spec.y, x=spec.x, flux=spec.flux,
                                          size_kpc=spec.size_kpc, size_pix=spec.size,
                                          cluster=spec.cluster, galaxy=g))


class _RadioGalaxySpec(NamedTuple):
    """What is drawn of a radio galaxy before its shape."""

    kind: str
    y: float            # grid pixels
    x: float
    flux: float         # Jy
    size: float         # largest extent, pixels
    cluster: int = -1   # index of its cluster, -1 for the field
    size_kpc: float = np.nan
    angle: float = None  # axis or tail direction (rad from +x); random when None
    bend: float = None


def _radio_galaxy_specs(rng, grid, config, clusters):
    """
    The radio galaxies of the ``'lomorph'`` population: field galaxies
    (`~astropy_radiounet.simulation.sample_radio_galaxies`,
    ``radio_galaxy_density`` per square degree), then those of each cluster.
    """
    gy, gx = grid.full
    n_rg = rng.poisson(config.radio_galaxy_density * grid.area_deg2)
    kind, size, flux = sample_radio_galaxies(rng, n_rg)
    ys, xs = rng.uniform(0, gy, n_rg), rng.uniform(0, gx, n_rg)
    specs = [_RadioGalaxySpec(str(k), float(y), float(x), float(s), float(a) / grid.pixel_scale)
             for k, y, x, s, a in zip(kind, ys, xs, flux, size)]
    for i, c in enumerate(clusters):
        specs += _cluster_radio_galaxy_specs(rng, i, c, grid.pixel_scale)
    return specs


def _cluster_radio_galaxy_specs(rng, i, c, pix):
    """
    The radio galaxies of cluster ``i``, in clusters with and without diffuse
    emission alike (`~astropy_radiounet.simulation.sample_cluster_radio_galaxies`).

    The central galaxy sits within ~0.02 R500 of the centre; a NAT falls in
    from the member distribution (out to R500) with its tail pointing away
    from the centre; a WAT lies within 0.3 R500.  Tails bend more in massive
    clusters (ram pressure): the bend is scaled by ``(M500 / 4e14 Msun)**0.25``
    (at most 1.5).
    """
    kpc_c = kpc_per_arcsec(c["z"]) * pix
    r500p = c["r500"] / kpc_c
    scale = min((c["m500"] / 4e14) ** 0.25, 1.5)
    specs = []
    for kind, role, size_kpc, flux in sample_cluster_radio_galaxies(rng, c["m500"], c["z"]):
        angle = bend = None
        if role == "central":
            r, phi = abs(rng.normal(0, 0.02)) * r500p, rng.uniform(0, 2 * np.pi)
        elif kind == "NAT":
            oy, ox = cluster_member_offsets(rng, 1, 0.12 * r500p, r500p)
            r, phi = float(np.hypot(oy[0], ox[0])), float(np.arctan2(oy[0], ox[0]))
            angle, bend = phi + rng.normal(0, 0.5), rng.normal(0, 0.5) * scale
        else:  # WAT
            r, phi = rng.uniform(0, 0.3) * r500p, rng.uniform(0, 2 * np.pi)
            bend = rng.uniform(0.4, 1.0) * scale
        specs.append(_RadioGalaxySpec(kind, c["y"] + r * np.sin(phi), c["x"] + r * np.cos(phi),
                                      flux, size_kpc / kpc_c, i, size_kpc, angle, bend))
    return specs


def _v02_radio_galaxy_specs(rng, grid, config, clusters):
    """The radio galaxies of the ``'v0.2'`` population, drawn as in version 0.2."""
    gy, gx = grid.full
    pix = grid.pixel_scale
    n_rg = rng.poisson(config.radio_galaxy_density * grid.area_deg2)
    specs = [_RadioGalaxySpec(str(rng.choice(["FRI", "FRII", "head-tail", "WAT"],
                                             p=[0.35, 0.45, 0.1, 0.1])),
                              rng.uniform(0, gy), rng.uniform(0, gx),
                              10 ** rng.uniform(np.log10(5e-3), 0.0),
                              10 ** rng.uniform(np.log10(30), np.log10(240)) / pix)
             for _ in range(n_rg)]
    for i, c in enumerate(clusters):
        if rng.uniform() < 0.35:
            kpc_c = kpc_per_arcsec(c["z"]) * pix
            r = rng.uniform(0, 0.6) * c["r500"] / kpc_c
            phi = rng.uniform(0, 2 * np.pi)
            kind = str(rng.choice(["head-tail", "WAT"]))
            y, x = c["y"] + r * np.sin(phi), c["x"] + r * np.cos(phi)
            flux = 10 ** rng.uniform(-2.3, -0.5)
            size = rng.uniform(60, 400) / kpc_c
            specs.append(_RadioGalaxySpec(kind, y, x, flux, size, i, size * kpc_c))
    return specs


def _render_radio_galaxy(canvas, g, beam_cov, beam_area):
    """
    Add a ``'lomorph'`` radio galaxy to the sky: blobs to ``model``, the core
    to ``direct``, and the core and the two brightest blobs (their peaks after
    the beam) to ``bright`` for the artefacts.
    """
    _splat_box(canvas.model, g.blob_y, g.blob_x, g.blob_flux, g.blob_cov)
    det = np.linalg.det(g.blob_cov + beam_cov)
    peak = g.blob_flux * beam_area / (2 * np.pi * np.sqrt(det))
    top = np.argsort(peak)[-2:]
    by, bx, bs = g.blob_y[top], g.blob_x[top], peak[top]
    if g.core_flux > 0:
        _splat_box(canvas.direct, np.r_[g.y], np.r_[g.x], np.r_[g.core_flux * beam_area],
                   beam_cov[None])
        by, bx, bs = np.r_[g.y, by], np.r_[g.x, bx], np.r_[g.core_flux, bs]
    canvas.bright.append((by, bx, bs))


def _splat_box(image, y, x, total, cov):
    """
    `splat_gaussians` into the part of ``image`` the Gaussians cover (in place),
    in groups (`_blob_groups`), so that neither the image nor giant galaxies
    make giant temporary arrays.
    """
    reach = 5 * np.sqrt(np.maximum(cov[:, 0, 0], cov[:, 1, 1])) + 2
    y0 = int(max(np.floor(np.min(y - reach)), 0))
    x0 = int(max(np.floor(np.min(x - reach)), 0))
    y1 = int(min(np.ceil(np.max(y + reach)) + 1, image.shape[0]))
    x1 = int(min(np.ceil(np.max(x + reach)) + 1, image.shape[1]))
    if y1 <= y0 or x1 <= x0:
        return image
    box = np.zeros((y1 - y0, x1 - x0))
    for group in _blob_groups(cov):
        splat_gaussians(box, y[group] - y0, x[group] - x0, total[group], cov[group])
    image[y0:y1, x0:x1] += box
    return image


def _blob_groups(cov, max_elements=2**22):
    """Index groups of blobs whose stamps together hold at most ~``max_elements`` pixels."""
    sig = np.sqrt(np.maximum(cov[:, 0, 0], cov[:, 1, 1]))
    cost = (4 * np.ceil(3.5 * sig + 1) + 1) ** 2  # a bound on each stamp's pixels
    groups, start, total = [], 0, 0.0
    for k, c in enumerate(cost):
        if total + c > max_elements and k > start:
            groups.append(np.arange(start, k))
            start, total = k, 0.0
        total += c
    groups.append(np.arange(start, cost.size))
    return groups


# ---- stage 4: the instrument -------------------------------------------------------------

def _observe(rng_noise, rng_art, rng_blank, grid, instrument, canvas):
    """
    Observe the sky: restoring beam, correlated noise, artefacts, blanked edges.

    Parameters
    ----------
    rng_noise : tuple of `numpy.random.Generator`
        The streams of the noise and of its stripes' direction.
    rng_art, rng_blank : `numpy.random.Generator`
        The streams of the artefacts and the blanking.
    grid : `_Grid`
    instrument : `InstrumentConfig`
    canvas : `_Sky`

    Returns
    -------
    `_Observation`
        Image (NaN where blanked) and its parts, cropped to the image.
    """
    kern = instrument_kernels(instrument, grid.full)
    sky, diffuse_sky, class_skies = _convolve(grid, kern, canvas)
    rms, noise = _noise(rng_noise, grid, kern, instrument)
    if instrument.artefacts:
        art = _artefacts(rng_art, grid, kern, instrument, canvas.bright)
    else:
        art = np.zeros(grid.shape)
    blank = _blank(rng_blank, grid.shape, instrument.blank_edges)
    image = np.where(blank, np.nan, sky + noise + art)
    return _Observation(image, sky, diffuse_sky, class_skies, noise, art, rms, blank)


def _convolve(grid, kern, canvas):
    """The beam-convolved sky, diffuse sky and sky of each diffuse kind (cropped)."""
    kinds = sorted({c.kind for c in canvas.components})
    class_skies = {}
    diffuse_total_ft = 0
    for kind in kinds:
        chan = np.zeros(grid.full)
        for comp in canvas.components:
            if comp.kind == kind:
                dfs.add_stamp(chan, comp)
        ft = fft.rfft2(chan) * kern.beam
        diffuse_total_ft = diffuse_total_ft + ft
        class_skies[kind] = grid.crop(fft.irfft2(ft, s=grid.full))
    sky_full = (fft.irfft2(fft.rfft2(canvas.model) * kern.beam + diffuse_total_ft, s=grid.full)
                + canvas.direct)
    diffuse_sky = sum(class_skies.values()) if kinds else np.zeros(grid.shape)
    return grid.crop(sky_full), diffuse_sky, class_skies


def _noise(rngs, grid, kern, instrument):
    """
    The local rms and the noise: beam-correlated, striped as LoTSS residual
    noise is (``noise_anisotropy``), with a smooth rms variation.
    """
    rng, rng_stripes = rngs
    rms = instrument.noise * rms_variation(rng, grid.shape, instrument.noise_variation)
    direction = rng_stripes.uniform(0, np.pi)
    noise = grid.crop(correlated_noise(rng, kern, anisotropy=instrument.noise_anisotropy,
                                       direction=direction)) * rms
    return rms, noise


def _artefacts(rng, grid, kern, instrument, bright):
    """Deconvolution residuals and calibration-error patterns around bright sources."""
    ay, ax, as_ = (np.concatenate(parts) for parts in zip(*bright))
    peak = as_  # Jy/beam for point-like sources (upper bound for extended ones)
    hot = peak > instrument.artefact_snr * instrument.noise
    ay, ax, as_ = ay[hot], ax[hot], as_[hot]
    if not as_.size:
        return np.zeros(grid.shape)
    lo, hi = instrument.residual_fraction
    frac = 10 ** rng.uniform(np.log10(max(lo, 1e-6)), np.log10(max(hi, 1e-6)), as_.size)
    # The brightest sources are the best calibrated and subtracted: artefacts
    # grow no more beyond artefact_saturation.
    if instrument.artefact_style == "spokes" and instrument.artefact_saturation is not None:
        as_ = as_ / (1.0 + as_ / instrument.artefact_saturation)
    resid = np.zeros(grid.full)
    splat_points(resid, ay, ax, as_ * frac)
    art_ft = fft.rfft2(resid) * kern.residual
    if kern.errors:
        which = rng.integers(0, len(kern.errors), as_.size)
        scale = 10 ** rng.normal(0, 0.3, as_.size)
        for k, err in enumerate(kern.errors):
            sel = which == k
            if np.any(sel):
                e = np.zeros(grid.full)
                splat_points(e, ay[sel], ax[sel], as_[sel] * scale[sel])
                art_ft = art_ft + fft.rfft2(e) * err
    return grid.crop(fft.irfft2(art_ft, s=grid.full))


def _blank(rng, shape, fraction):
    """True where an irregular mosaic edge blanks the image (nowhere if ``fraction`` is 0)."""
    if fraction:
        return blank_mask(rng, shape, fraction=fraction)
    return np.zeros(shape, bool)


# ---- stage 5: truth and tables ----------------------------------------------------------

def _assemble(grid, structure, canvas, observed, sky, clusters, instrument, *, seed):
    """
    Make the truth mask and labels, the header and the tables, and return the field.

    Parameters
    ----------
    grid : `_Grid`
    structure : `_Structure`
    canvas : `_Sky`
    observed : `_Observation`
    sky : `SkyConfig`
    clusters : `ClusterConfig`
    instrument : `InstrumentConfig`
    seed : int, `numpy.random.SeedSequence` or None
        Recorded in ``meta``.

    Returns
    -------
    `SimulatedField`
    """
    level = clusters.mask_level
    mask = truth_mask(observed.diffuse_sky, observed.rms, level=level)
    labels = label_image(observed.class_skies, observed.rms, level=level)
    if labels is None:
        labels = np.zeros(grid.shape, np.int16)
    z, pix, (oy, ox) = structure.z, grid.pixel_scale, grid.offset
    header = lotss_header(grid.shape, center=sky.center_coord, pixel_scale=pix,
                          beam=instrument.beam, frequency=instrument.frequency,
                          extra={"SIMZ": (round(z, 5), "redshift of the simulated structure"),
                                 "SIMNOISE": (instrument.noise, "[Jy/beam] median thermal noise"),
                                 "SIMMASK": (level, "truth mask level / noise")})
    wcs = WCS(header).celestial
    clusters_tab = _cluster_table(structure.clusters, canvas.components, oy, ox, wcs, pix, mask)
    sources_tab = _source_table(canvas.components, canvas.radio_galaxies, oy, ox, wcs,
                                structure, pix)
    meta = {"redshift": z, "seed": seed, "n_compact": canvas.n_compact,
            "n_radio_galaxies": len(canvas.radio_galaxies),
            "radio_galaxy_population": sky.radio_galaxy_population,
            "kpc_per_pixel": structure.kpc_per_pixel, "pad": (oy, ox)}
    f32 = np.float32
    o = observed
    galaxies = [row["galaxy"].shifted(-oy, -ox) for row in canvas.radio_galaxies]
    return SimulatedField(o.image.astype(f32), o.sky.astype(f32), o.diffuse_sky.astype(f32),
                          o.noise.astype(f32), np.asarray(o.artefacts, f32), o.rms.astype(f32),
                          mask, labels, o.blank, clusters_tab, sources_tab, header, instrument,
                          meta, galaxies)


def _cluster_table(clusters, comps, oy, ox, wcs, pix, mask):
    n = len(clusters)
    y = np.array([c["y"] - oy for c in clusters], float)
    x = np.array([c["x"] - ox for c in clusters], float)
    world = wcs.pixel_to_world(x, y) if n else None
    z = np.array([c["z"] for c in clusters], float)
    r500 = np.array([c["r500"] for c in clusters], float)
    scale = np.array([kpc_per_arcsec(zz) for zz in z], float)
    kinds = [",".join(sorted(set(c["kinds"]))) for c in clusters]
    tab = QTable()
    tab["name"] = [f"SIMCL{i:03d}" for i in range(n)]
    tab["ra"] = (world.ra.deg if n else np.zeros(0)) * u.deg
    tab["dec"] = (world.dec.deg if n else np.zeros(0)) * u.deg
    tab["x"] = x
    tab["y"] = y
    tab["z"] = z
    tab["M500"] = np.array([c["m500"] for c in clusters], float) * u.Msun
    tab["R500"] = r500 * u.kpc
    tab["R500_angle"] = (r500 / np.where(scale > 0, scale, 1)) * u.arcsec
    tab["classification"] = ["DE" if k else "NDE" for k in kinds]
    tab["diffuse"] = kinds
    tab["in_field"] = (x >= 0) & (y >= 0) & (x <= mask.shape[1] - 1) & (y <= mask.shape[0] - 1)
    tab.meta["pixel_scale_arcsec"] = pix
    return tab


def _source_table(comps, rg_rows, oy, ox, wcs, structure, pix):
    def scale(cluster):  # kpc per arcsec at the source
        return kpc_per_arcsec(structure.clusters[cluster]["z"] if cluster >= 0 else structure.z)

    nan = float("nan")
    rows = [dict(kind=c.kind, label=c.label, cluster=c.cluster, y=c.y - oy, x=c.x - ox,
                 flux=c.flux, size_kpc=c.size_kpc, size=c.size_kpc / scale(c.cluster),
                 r_e=c.params.get("r_e_pix", nan) * pix,
                 axis_ratio=c.params.get("axis_ratio", nan))
            for c in comps]
    rows += [dict(kind=r["kind"], label=0, cluster=r["cluster"], y=r["y"] - oy,
                  x=r["x"] - ox, flux=r["flux"], size_kpc=r["size_kpc"],
                  size=r["size_pix"] * pix, r_e=nan, axis_ratio=nan) for r in rg_rows]
    tab = QTable()
    tab["kind"] = [r["kind"] for r in rows] if rows else np.zeros(0, "U13")
    tab["label"] = np.array([r["label"] for r in rows], np.int16)
    tab["cluster"] = np.array([r["cluster"] for r in rows], int)
    x = np.array([r["x"] for r in rows], float)
    y = np.array([r["y"] for r in rows], float)
    tab["x"], tab["y"] = x, y
    world = wcs.pixel_to_world(x, y)
    tab["ra"] = np.atleast_1d(world.ra.deg) * u.deg
    tab["dec"] = np.atleast_1d(world.dec.deg) * u.deg
    tab["flux"] = np.array([r["flux"] for r in rows], float) * u.Jy
    tab["size"] = np.array([r["size_kpc"] for r in rows], float) * u.kpc
    tab["angular_size"] = np.array([r["size"] for r in rows], float) * u.arcsec
    tab["r_e"] = np.array([r["r_e"] for r in rows], float) * u.arcsec
    tab["axis_ratio"] = np.array([r["axis_ratio"] for r in rows], float)
    return tab
