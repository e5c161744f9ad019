"""
`simulate_field`: one synthetic LoTSS-like field -- cosmic-web backbone,
clusters with diffuse sources, compact sources and radio galaxies, observed
with a restoring beam, correlated non-Gaussian noise and imaging artefacts --
and `SimulatedField`, which holds the image, the noise-free sky, the truth
mask and labels, the cluster and source tables, and writes them as FITS.
"""

from dataclasses import dataclass, field as dc_field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.wcs import WCS
from scipy import fft

from ..exceptions import OutputExistsError
from . import diffuse as dfs
from ._utils import as_rng, beam_covariance, check_range, check_shape, to_value
from .compact import (cluster_member_offsets, resolve_counts, sample_sizes, size_covariance,
                      splat_gaussians, splat_points, PowerLawCounts)
from .cosmology_web import (density_field, find_peaks, kpc_per_arcsec, r500_kpc,
                            sample_masses, web_edges)
from .fits_io import image_hdu, lotss_header
from .instrument import (InstrumentConfig, blank_mask, correlated_noise, instrument_kernels,
                         rms_variation)
from .radio_galaxies import radio_galaxy
from .truth import label_image, truth_mask

__all__ = ["simulate_field", "SimulatedField", "DEFAULT_DIFFUSE_RATES"]

#: Probabilities of each diffuse source type: per diffuse-emitting cluster (halo,
#: relic, mini-halo), per close cluster pair (bridge), per web edge (filament).
DEFAULT_DIFFUSE_RATES = {"halo": 0.75, "relic": 0.35, "mini_halo": 0.15, "bridge": 0.5,
                         "filament": 0.15}


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
        One row per diffuse source and extended radio galaxy.
    header : `~astropy.io.fits.Header`
        LoTSS-style 4-D header of the image.
    config : `~astropy_radiounet.simulation.InstrumentConfig`
        The instrument used.
    meta : dict
        Redshift of the structure, seed, numbers of compact sources, ...
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


def _plain(table):
    out = QTable(table, copy=True)
    out.meta = {}
    for name in out.colnames:
        if isinstance(out[name], SkyCoord):
            out.remove_column(name)
    return out


def _resolve_center(center):
    if center is None:
        return SkyCoord(205.0 * u.deg, 55.0 * u.deg)
    if isinstance(center, SkyCoord):
        return center.icrs
    try:
        ra, dec = center
        return SkyCoord(u.Quantity(ra, u.deg), u.Quantity(dec, u.deg))
    except Exception:  # noqa: BLE001
        msg = (f"center={center!r} is not a sky position; pass a SkyCoord or (ra, dec) "
               "in degrees")
        raise ValueError(msg) from None


def _spawn(seed):
    if isinstance(seed, np.random.Generator):
        return seed.spawn(8)
    as_rng(seed)  # validates
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(s) for s in ss.spawn(8)]


def _default_p_diffuse(m500):
    return 0.1 + 0.75 / (1 + np.exp(-(np.log10(m500) - 14.7) / 0.12))


def simulate_field(shape=(512, 512), *, seed=None, pixel_scale=1.5 * u.arcsec,
                   beam=6 * u.arcsec, noise=70 * u.uJy / u.beam, frequency=144 * u.MHz,
                   center=None, n_clusters=1, redshift=None, redshift_range=(0.08, 0.6),
                   mass_range=(2e14, 1.5e15) * u.Msun, diffuse_probability=None,
                   diffuse_rates=None, cluster_at_center=False, overdensities=True,
                   source_counts="lotss", flux_range=(20e-6, 10.0) * u.Jy,
                   radio_galaxy_density=20.0, artefacts=True, noise_variation=0.1,
                   noise_correlation=None, blank_edges=False, mask_level=1e-3,
                   diffuse_scale=1.0, instrument=None):
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
    center : `~astropy.coordinates.SkyCoord` or (ra, dec), optional
        Sky position of the image centre (default RA 205, Dec 55 deg); its
        declination sets the uv-coverage of the PSF.
    n_clusters : int
        Number of galaxy clusters, placed at the highest peaks of the density field.
    redshift : float, optional
        Redshift of the structure (clusters, bridges, filaments); drawn uniformly
        from ``redshift_range`` when None.
    redshift_range : tuple of float
        Range for the random redshift.
    mass_range : `~astropy.units.Quantity`
        (min, max) of M500, drawn from a steep mass function.
    diffuse_probability : float, optional
        Probability that a cluster hosts diffuse emission (default: rising with mass
        from 0.1 to 0.85).
    diffuse_rates : dict, optional
        Overrides of `DEFAULT_DIFFUSE_RATES`.
    cluster_at_center : bool
        Put the first (most massive) cluster at the image centre.
    overdensities : bool
        Add over-densities of faint compact cluster members (confusers).
    source_counts : 'lotss', float or `SourceCounts`
        Compact-source counts: LoTSS 144 MHz counts, a power-law slope, or any
        `SourceCounts`.
    flux_range : `~astropy.units.Quantity`
        (min, max) flux of compact sources.
    radio_galaxy_density : float
        Extended field radio galaxies per square degree.
    artefacts : bool
        Add sidelobes and calibration-error patterns around bright sources.
    noise_variation : float
        Fractional amplitude of the smooth rms variation across the field.
    noise_correlation : `~astropy.units.Quantity`, optional
        FWHM of the noise autocorrelation (default: the beam major axis).
    blank_edges : bool or float
        Blank (NaN) an irregular mosaic edge; a float gives the blanked fraction
        (True: 0.15).
    mask_level : float
        Truth-mask threshold in units of the local noise rms (Radio U-Net: 1e-3).
    diffuse_scale : float
        Multiply the brightness of all diffuse sources (augmentation, tests).
    instrument : `InstrumentConfig`, optional
        A full instrument configuration; overrides ``pixel_scale``, ``beam``,
        ``noise``, ``frequency``, ``artefacts``, ``noise_variation`` and
        ``noise_correlation``.

    Returns
    -------
    `SimulatedField`

    Examples
    --------
    >>> from astropy_radiounet.simulation import simulate_field
    >>> f = simulate_field((128, 128), seed=1, n_clusters=1, diffuse_probability=1.0)
    >>> f.image.shape, f.image.dtype
    ((128, 128), dtype('float32'))
    >>> str(f.clusters['classification'][0])
    'DE'
    """
    ny, nx = check_shape("shape", shape)
    center = _resolve_center(center)
    if instrument is None:
        cfg = InstrumentConfig.from_arguments(
            pixel_scale=pixel_scale, beam=beam, noise=noise, frequency=frequency,
            noise_correlation=noise_correlation, noise_variation=noise_variation,
            artefacts=artefacts, declination=round(float(center.dec.deg), 1))
    elif isinstance(instrument, InstrumentConfig):
        cfg = instrument
    else:
        msg = f"instrument={instrument!r} must be an InstrumentConfig or None"
        raise TypeError(msg)
    if int(n_clusters) != n_clusters or n_clusters < 0:
        msg = f"n_clusters={n_clusters!r} must be a non-negative integer"
        raise ValueError(msg)
    n_clusters = int(n_clusters)
    z_lo, z_hi = check_range("redshift_range", redshift_range, low=1e-3, high=5.0)
    if redshift is not None and not 1e-3 <= float(redshift) <= 5.0:
        msg = f"redshift must be between 0.001 and 5; got {redshift!r}."
        raise ValueError(msg)
    m_lo, m_hi = check_range("mass_range", to_value("mass_range", mass_range, u.Msun), low=1e12)
    s_lo, s_hi = check_range("flux_range", to_value("flux_range", flux_range, u.Jy), low=0.0)
    counts = resolve_counts(source_counts)
    rates = dict(DEFAULT_DIFFUSE_RATES)
    if diffuse_rates:
        unknown = set(diffuse_rates) - set(rates)
        if unknown:
            msg = (f"diffuse_rates has unknown keys {sorted(unknown)}; "
                   f"valid keys are {sorted(rates)}")
            raise ValueError(msg)
        rates.update(diffuse_rates)
    if diffuse_probability is not None and not 0 <= diffuse_probability <= 1:
        msg = f"diffuse_probability={diffuse_probability!r} must be between 0 and 1 or None"
        raise ValueError(msg)
    if not mask_level > 0:
        msg = f"mask_level={mask_level!r} must be positive (Radio U-Net: 1e-3)"
        raise ValueError(msg)
    rng_web, rng_diff, rng_cmp, rng_rg, rng_noise, rng_art, rng_blank, rng_z = _spawn(seed)

    pix = cfg.pixel_scale
    bpix = cfg.beam[0] / pix
    pad = int(max(16, np.ceil(4 * bpix)))
    gy = fft.next_fast_len(ny + 2 * pad, real=True)
    gx = fft.next_fast_len(nx + 2 * pad, real=True)
    oy, ox = (gy - ny) // 2, (gx - nx) // 2
    grid = (gy, gx)
    area_deg2 = gy * gx * (pix / 3600) ** 2
    sigma = cfg.noise

    # ---- structure: density field, clusters, web -------------------------------------
    z = float(rng_z.uniform(z_lo, z_hi)) if redshift is None else float(redshift)
    kpc_pix = kpc_per_arcsec(z) * pix
    cell = 8
    coarse = (int(np.ceil(gy / cell)), int(np.ceil(gx / cell)))
    cell_mpc = cell * kpc_pix / 1000 * (1 + z) * 0.6766
    dens = density_field(rng_web, coarse, cell_mpc)
    n_peaks = max(n_clusters + 3, 6)
    py, px = find_peaks(dens, n_peaks, margin=0.12, min_separation=2)
    peak_y = py * cell + cell / 2 + rng_web.uniform(-cell / 2, cell / 2, py.size)
    peak_x = px * cell + cell / 2 + rng_web.uniform(-cell / 2, cell / 2, px.size)
    if len(peak_y) < n_peaks:  # featureless field: add random positions
        extra = n_peaks - len(peak_y)
        peak_y = np.r_[peak_y, rng_web.uniform(oy, oy + ny, extra)]
        peak_x = np.r_[peak_x, rng_web.uniform(ox, ox + nx, extra)]
    if cluster_at_center and n_clusters:
        dy, dx = oy + ny / 2 - 0.5 - peak_y[0], ox + nx / 2 - 0.5 - peak_x[0]
        peak_y, peak_x = peak_y + dy, peak_x + dx
        dens = np.roll(dens, (int(round(dy / cell)), int(round(dx / cell))), axis=(0, 1))
    masses = sample_masses(rng_web, n_clusters, (m_lo, m_hi))
    clusters = []
    for i in range(n_clusters):
        zc = max(z + rng_web.normal(0, 0.002), 1e-3)
        r500 = r500_kpc(masses[i], zc)
        p_de = (_default_p_diffuse(masses[i]) if diffuse_probability is None
                else diffuse_probability)
        clusters.append(dict(y=float(peak_y[i]), x=float(peak_x[i]), z=zc, m500=masses[i],
                             r500=r500, de=bool(rng_web.uniform() < p_de), kinds=[],
                             cool_core=bool(rng_web.uniform() < 0.3)))

    # ---- diffuse sources --------------------------------------------------------------
    comps = []
    for i, c in enumerate(clusters):
        if not c["de"]:
            continue
        kpc_c = kpc_per_arcsec(c["z"]) * pix
        r500p = c["r500"] / kpc_c
        want_mini = c["cool_core"] and rng_diff.uniform() < rates["mini_halo"] / 0.3
        want_halo = (not want_mini) and rng_diff.uniform() < rates["halo"]
        want_relic = rng_diff.uniform() < rates["relic"]
        if not (want_mini or want_halo or want_relic):
            # A cluster with diffuse emission gets at least its central kind,
            # unless that kind's rate is zero.
            want_halo = not c["cool_core"] and rates["halo"] > 0
            want_mini = c["cool_core"] and rates["mini_halo"] > 0
        if want_halo:
            r_e = np.clip(0.15 * c["r500"] * 10 ** rng_diff.normal(0, 0.12), 50, 300)
            power = dfs.HALO_RELATION.power(rng_diff, c["m500"])
            flux = dfs.flux_from_power(power, c["z"], dfs.HALO_RELATION.alpha) * diffuse_scale
            comp = dfs.halo(rng_diff, c["y"] + rng_diff.normal(0, 0.05 * r500p),
                            c["x"] + rng_diff.normal(0, 0.05 * r500p), r_e=r_e / kpc_c,
                            flux=flux, grid=grid, axis_ratio=rng_diff.uniform(0.6, 1.0),
                            angle=rng_diff.uniform(0, np.pi),
                            truncation=rng_diff.uniform(2.5, 3.5),
                            turbulence=rng_diff.uniform(0.2, 0.6), size_kpc=6 * r_e,
                            cluster=i, params={"power": power, "r_e_kpc": r_e})
            comps.append(comp)
        if want_mini:
            r_e = rng_diff.uniform(15, 60)
            power = dfs.MINI_HALO_RELATION.power(rng_diff, c["m500"])
            flux = (dfs.flux_from_power(power, c["z"], dfs.MINI_HALO_RELATION.alpha)
                    * diffuse_scale)
            trunc = min(3.0, 250 / r_e)
            comps.append(dfs.halo(rng_diff, c["y"], c["x"], r_e=r_e / kpc_c, flux=flux,
                                  grid=grid, axis_ratio=rng_diff.uniform(0.7, 1.0),
                                  angle=rng_diff.uniform(0, np.pi), truncation=trunc,
                                  turbulence=0.3, kind="mini_halo", size_kpc=2 * trunc * r_e,
                                  cluster=i, params={"power": power, "r_e_kpc": r_e}))
        if want_relic:
            n_rel = 2 if rng_diff.uniform() < 0.3 else 1
            ang0 = rng_diff.uniform(0, 2 * np.pi)
            for j in range(n_rel):
                length = float(np.clip(800 * 10 ** rng_diff.normal(0, 0.25), 200, 2000))
                width = rng_diff.uniform(40, 150)
                power = dfs.RELIC_RELATION.power(rng_diff, c["m500"]) * (0.6 if j else 1)
                flux = (dfs.flux_from_power(power, c["z"], dfs.RELIC_RELATION.alpha)
                        * diffuse_scale)
                comps.append(dfs.relic(
                    rng_diff, c["y"], c["x"],
                    distance=rng_diff.uniform(0.5, 1.5) * r500p,
                    angle=ang0 + j * np.pi + rng_diff.normal(0, 0.2),
                    length=length / kpc_c, width=width / kpc_c, flux=flux, grid=grid,
                    curvature=rng_diff.uniform(0.8, 1.6),
                    edge=max(10 / kpc_c, 0.5), size_kpc=length, cluster=i,
                    params={"power": power}))
    # bridges between close cluster pairs, filaments along the web
    edges = web_edges(peak_y, peak_x)
    n_fil = 0
    for i, j in edges:
        sep_kpc = np.hypot(peak_y[i] - peak_y[j], peak_x[i] - peak_x[j]) * kpc_pix
        both = i < n_clusters and j < n_clusters
        if both and sep_kpc < 4000 and rng_diff.uniform() < rates["bridge"]:
            sb = 10 ** rng_diff.uniform(np.log10(0.2e-6), np.log10(1.5e-6))  # Jy/arcsec^2
            width = rng_diff.uniform(300, 800)
            comps.append(dfs.bridge(rng_diff, (peak_y[i], peak_x[i]), (peak_y[j], peak_x[j]),
                                    width=width / kpc_pix,
                                    surface_brightness=sb * pix**2 * diffuse_scale,
                                    grid=grid, end_taper=0.2 * sep_kpc / kpc_pix,
                                    size_kpc=sep_kpc, cluster=i,
                                    params={"sb_uJy_arcsec2": sb * 1e6}))
            clusters[i]["de"] = clusters[j]["de"] = True
        elif (not both and n_fil < 2 and sep_kpc > 500
              and rng_diff.uniform() < rates["filament"]):
            sb = 10 ** rng_diff.uniform(np.log10(0.1e-6), np.log10(0.6e-6))
            width = rng_diff.uniform(300, 1000)
            comps.append(dfs.filament(rng_diff, (peak_y[i], peak_x[i]),
                                      (peak_y[j], peak_x[j]), width=width / kpc_pix,
                                      surface_brightness=sb * pix**2 * diffuse_scale,
                                      grid=grid, size_kpc=sep_kpc,
                                      params={"sb_uJy_arcsec2": sb * 1e6}))
            n_fil += 1
    comps = [c for c in comps if c is not None]
    for comp in comps:
        if comp.cluster >= 0:
            clusters[comp.cluster]["kinds"].append(comp.kind)

    # ---- compact sources, cluster members, radio galaxies ------------------------------
    beam_cov = beam_covariance(bpix, cfg.beam[1] / pix, cfg.beam[2])
    beam_area = cfg.beam_area_pixels
    model = np.zeros(grid)          # Jy/pixel, convolved with the beam below
    direct = np.zeros(grid)         # Jy/beam, bright sources rendered exactly
    art_y, art_x, art_s = [], [], []

    flux = counts.sample(rng_cmp, area_deg2, flux_range=(s_lo, s_hi))
    cy = rng_cmp.uniform(-0.5, gy - 0.5, flux.size)
    cx = rng_cmp.uniform(-0.5, gx - 0.5, flux.size)
    if overdensities:
        member_counts = PowerLawCounts(slope=-2.0)
        for c in clusters:
            kpc_c = kpc_per_arcsec(c["z"]) * pix
            r500p = c["r500"] / kpc_c
            n_mem = rng_cmp.poisson(60 * (c["m500"] / 5e14) * 10 ** rng_cmp.uniform(-0.5, 0.5))
            s_mem = member_counts.sample(rng_cmp, 1.0, flux_range=(15e-6, 3e-3))
            s_mem = rng_cmp.choice(s_mem, n_mem) if s_mem.size else s_mem
            oyc, oxc = cluster_member_offsets(rng_cmp, s_mem.size, 0.12 * r500p, r500p)
            flux = np.r_[flux, s_mem]
            cy, cx = np.r_[cy, c["y"] + oyc], np.r_[cx, c["x"] + oxc]
            if rng_cmp.uniform() < 0.6:  # central AGN / BCG
                flux = np.r_[flux, 10 ** rng_cmp.uniform(-3.3, -1.3)]
                cy, cx = np.r_[cy, c["y"]], np.r_[cx, c["x"]]
    n_compact = int(flux.size)
    major, minor, pa = sample_sizes(rng_cmp, flux)
    resolved = major / pix > 1.0
    bright = flux > 5 * sigma
    faint_pt = ~bright & ~resolved
    splat_points(model, cy[faint_pt], cx[faint_pt], flux[faint_pt])
    sel = ~bright & resolved
    splat_gaussians(model, cy[sel], cx[sel], flux[sel],
                    size_covariance(major[sel] / pix, minor[sel] / pix, pa[sel]))
    cov_b = size_covariance(major[bright] / pix, minor[bright] / pix, pa[bright]) + beam_cov
    splat_gaussians(direct, cy[bright], cx[bright], flux[bright] * beam_area, cov_b)
    art_y.append(cy[bright])
    art_x.append(cx[bright])
    art_s.append(flux[bright])

    rg_rows = []
    n_rg = rng_rg.poisson(radio_galaxy_density * area_deg2)
    rg_specs = [(rng_rg.choice(["FRI", "FRII", "head-tail", "WAT"], p=[0.35, 0.45, 0.1, 0.1]),
                 rng_rg.uniform(0, gy), rng_rg.uniform(0, gx),
                 10 ** rng_rg.uniform(np.log10(5e-3), 0.0),
                 10 ** rng_rg.uniform(np.log10(30), np.log10(240)) / pix, -1)
                for _ in range(n_rg)]
    for i, c in enumerate(clusters):
        if rng_rg.uniform() < 0.35:
            kpc_c = kpc_per_arcsec(c["z"]) * pix
            r = rng_rg.uniform(0, 0.6) * c["r500"] / kpc_c
            phi = rng_rg.uniform(0, 2 * np.pi)
            rg_specs.append((rng_rg.choice(["head-tail", "WAT"]), c["y"] + r * np.sin(phi),
                             c["x"] + r * np.cos(phi), 10 ** rng_rg.uniform(-2.3, -0.5),
                             rng_rg.uniform(60, 400) / kpc_c, i))
    for kind, y, x, s, size, ci in rg_specs:
        g = radio_galaxy(rng_rg, str(kind), y, x, flux=s, size=size)
        splat_gaussians(model, g.blob_y, g.blob_x, g.blob_flux, g.blob_cov)
        splat_gaussians(direct, [y], [x], [g.core_flux * beam_area], beam_cov[None])
        art_y.append(np.r_[y])
        art_x.append(np.r_[x])
        art_s.append(np.r_[s])
        rg_rows.append(dict(kind=str(kind), y=y, x=x, flux=s, size_kpc=np.nan,
                            size_pix=size, cluster=ci))

    # ---- observe: beam, noise, artefacts -------------------------------------------
    kern = instrument_kernels(cfg, grid)
    kinds = sorted({c.kind for c in comps})
    class_skies = {}
    diffuse_total_ft = 0
    for kind in kinds:
        chan = np.zeros(grid)
        for comp in comps:
            if comp.kind == kind:
                dfs.add_stamp(chan, comp)
        ft = fft.rfft2(chan) * kern.beam
        diffuse_total_ft = diffuse_total_ft + ft
        class_skies[kind] = fft.irfft2(ft, s=grid)[oy:oy + ny, ox:ox + nx]
    sky_full = fft.irfft2(fft.rfft2(model) * kern.beam + diffuse_total_ft, s=grid) + direct
    if kinds:
        diffuse_sky = sum(class_skies.values())
    else:
        diffuse_sky = np.zeros((ny, nx))
    rms = sigma * rms_variation(rng_noise, (ny, nx), cfg.noise_variation)
    noise_img = correlated_noise(rng_noise, kern)[oy:oy + ny, ox:ox + nx] * rms

    art = np.zeros((ny, nx))
    if cfg.artefacts:
        ay, ax, as_ = np.concatenate(art_y), np.concatenate(art_x), np.concatenate(art_s)
        peak = as_  # Jy/beam for point-like sources (upper bound for extended ones)
        hot = peak > cfg.artefact_snr * sigma
        ay, ax, as_ = ay[hot], ax[hot], as_[hot]
        if as_.size:
            lo, hi = cfg.residual_fraction
            frac = 10 ** rng_art.uniform(np.log10(max(lo, 1e-6)), np.log10(max(hi, 1e-6)),
                                         as_.size)
            resid = np.zeros(grid)
            splat_points(resid, ay, ax, as_ * frac)
            art_ft = fft.rfft2(resid) * kern.residual
            if kern.errors:
                which = rng_art.integers(0, len(kern.errors), as_.size)
                scale = 10 ** rng_art.normal(0, 0.3, as_.size)
                for k, err in enumerate(kern.errors):
                    sel = which == k
                    if np.any(sel):
                        e = np.zeros(grid)
                        splat_points(e, ay[sel], ax[sel], as_[sel] * scale[sel])
                        art_ft = art_ft + fft.rfft2(e) * err
            art = fft.irfft2(art_ft, s=grid)[oy:oy + ny, ox:ox + nx]

    sky = sky_full[oy:oy + ny, ox:ox + nx]
    image = sky + noise_img + art
    if blank_edges:
        frac = 0.15 if blank_edges is True else float(blank_edges)
        blank = blank_mask(rng_blank, (ny, nx), fraction=frac)
    else:
        blank = np.zeros((ny, nx), bool)
    image = np.where(blank, np.nan, image)

    mask = truth_mask(diffuse_sky, rms, level=mask_level)
    labels = label_image(class_skies, rms, level=mask_level)
    if labels is None:
        labels = np.zeros((ny, nx), np.int16)

    # ---- tables -----------------------------------------------------------------------
    header = lotss_header((ny, nx), center=center, pixel_scale=pix, beam=cfg.beam,
                          frequency=cfg.frequency,
                          extra={"SIMZ": (round(z, 5), "redshift of the simulated structure"),
                                 "SIMNOISE": (sigma, "[Jy/beam] median thermal noise"),
                                 "SIMMASK": (mask_level, "truth mask level / noise")})
    wcs = WCS(header).celestial
    clusters_tab = _cluster_table(clusters, comps, oy, ox, wcs, pix, mask)
    sources_tab = _source_table(comps, rg_rows, oy, ox, wcs)
    meta = {"redshift": z, "seed": None if isinstance(seed, np.random.Generator) else seed,
            "n_compact": n_compact, "n_radio_galaxies": len(rg_rows),
            "kpc_per_pixel": kpc_pix, "pad": (oy, ox)}
    f32 = np.float32
    return SimulatedField(image.astype(f32), sky.astype(f32), diffuse_sky.astype(f32),
                          noise_img.astype(f32), np.asarray(art, f32), rms.astype(f32), mask,
                          labels, blank, clusters_tab, sources_tab, header, cfg, meta)


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


def _source_table(comps, rg_rows, oy, ox, wcs):
    rows = [dict(kind=c.kind, label=c.label, cluster=c.cluster, y=c.y - oy, x=c.x - ox,
                 flux=c.flux, size_kpc=c.size_kpc) for c in comps]
    rows += [dict(kind=r["kind"], label=0, cluster=r["cluster"], y=r["y"] - oy,
                  x=r["x"] - ox, flux=r["flux"], size_kpc=np.nan) for r in rg_rows]
    tab = QTable()
    tab["kind"] = [r["kind"] for r in rows] if rows else np.zeros(0, "U10")
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
    return tab
