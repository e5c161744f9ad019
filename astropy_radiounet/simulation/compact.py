"""
Compact radio sources: differential source counts at 144 MHz, flux and size
sampling, over-densities of faint cluster members, and vectorised rendering of
many small Gaussians.
"""

import numpy as np

from ._utils import FWHM_TO_SIGMA, check_range

__all__ = ["SourceCounts", "LoTSSCounts", "PowerLawCounts", "resolve_counts",
           "sample_sizes", "splat_gaussians", "splat_points", "cluster_member_offsets"]

SR_PER_DEG2 = (np.pi / 180) ** 2


class SourceCounts:
    """
    Base class of differential source counts ``dN/dS`` (sources Jy^-1 sr^-1).

    Subclasses implement `dnds`; sampling is by inverse transform on a fine
    logarithmic flux grid.
    """

    def dnds(self, flux):
        """Differential counts at ``flux`` (Jy), in Jy^-1 sr^-1."""
        raise NotImplementedError

    def euclidean(self, flux):
        """Euclidean-normalised counts ``S^2.5 dN/dS`` in Jy^1.5 sr^-1."""
        flux = np.asarray(flux, dtype=float)
        return flux**2.5 * self.dnds(flux)

    def _grid(self, s_min, s_max):
        s = np.geomspace(s_min, s_max, 2048)
        n = self.dnds(s) * s  # per ln S
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (n[1:] + n[:-1]) * np.diff(np.log(s)))])
        return s, cum

    def number(self, area_deg2, *, flux_range=(20e-6, 10.0)):
        """Expected number of sources in ``area_deg2`` square degrees within ``flux_range`` (Jy)."""
        s_min, s_max = check_range("flux_range", flux_range, low=0.0)
        _, cum = self._grid(s_min, s_max)
        return cum[-1] * area_deg2 * SR_PER_DEG2

    def sample(self, rng, area_deg2, *, flux_range=(20e-6, 10.0)):
        """
        Draw a Poisson realisation of fluxes (Jy) over ``area_deg2``.

        Examples
        --------
        >>> import numpy as np
        >>> counts = PowerLawCounts(slope=-1.8)
        >>> s = counts.sample(np.random.default_rng(0), 1.0, flux_range=(1e-3, 1.0))
        >>> bool(s.min() >= 1e-3 and s.max() <= 1.0)
        True
        """
        s_min, s_max = check_range("flux_range", flux_range, low=0.0)
        if s_min <= 0:
            msg = f"flux_range={flux_range!r} must start above 0 Jy, e.g. (20e-6, 10.0)"
            raise ValueError(msg)
        s, cum = self._grid(s_min, s_max)
        n = rng.poisson(cum[-1] * area_deg2 * SR_PER_DEG2)
        u = rng.uniform(0, cum[-1], n)
        return np.exp(np.interp(u, cum, np.log(s)))


class LoTSSCounts(SourceCounts):
    """
    144 MHz differential source counts, piecewise power laws through tabulated
    Euclidean-normalised counts.

    Above 1 mJy the knots follow the counts of the LoTSS-DR1 PyBDSF catalogue
    (Shimwell et al. 2019) within 1.2 deg of two mosaic centres (P205+55 and
    P218+55), where the catalogue is complete. Below 1 mJy they flatten to
    ~8 Jy^1.5 sr^-1, the sub-mJy plateau of deep 150 MHz fields (star-forming
    galaxies and radio-quiet AGN), which sets the confusion contribution to the noise.

    Examples
    --------
    >>> counts = LoTSSCounts()
    >>> 30 < float(counts.euclidean(1e-3)) < 45
    True
    """

    #: (log10 S [Jy], log10 S^2.5 dN/dS [Jy^1.5 sr^-1])
    knots = np.array([
        (-5.5, 0.78), (-5.0, 0.85), (-4.5, 0.95), (-4.0, 1.08), (-3.5, 1.32),
        (-3.0, 1.57), (-2.6, 1.62), (-2.3, 1.74), (-2.0, 2.03), (-1.6, 2.38),
        (-1.2, 2.82), (-0.8, 3.12), (-0.4, 3.30), (0.0, 3.40), (0.5, 3.35), (1.0, 3.10),
        (1.5, 2.70)])

    def dnds(self, flux):
        flux = np.asarray(flux, dtype=float)
        lg = np.interp(np.log10(flux), self.knots[:, 0], self.knots[:, 1])
        return 10**lg * flux**-2.5


class PowerLawCounts(SourceCounts):
    """
    Power-law counts ``dN/dS = k (S / 1 mJy)^slope``.

    Parameters
    ----------
    slope : float
        Logarithmic slope of the differential counts (Euclidean: -2.5).
    density : float
        ``dN/dS`` at 1 mJy in Jy^-1 sr^-1 (default: the LoTSS value).

    Examples
    --------
    >>> bool(PowerLawCounts(slope=-1.7).dnds(1e-3) > 0)
    True
    """

    def __init__(self, slope=-1.7, density=None):
        if not -4.0 < float(slope) < 0.0:
            msg = f"slope={slope!r} must lie between -4 and 0 (Euclidean counts: -2.5)"
            raise ValueError(msg)
        self.slope = float(slope)
        self.density = float(LoTSSCounts().dnds(1e-3) if density is None else density)

    def dnds(self, flux):
        return self.density * (np.asarray(flux, dtype=float) / 1e-3) ** self.slope


def resolve_counts(source_counts):
    """Turn ``'lotss'``, a slope (float) or a `SourceCounts` into a `SourceCounts`."""
    if isinstance(source_counts, SourceCounts):
        return source_counts
    if isinstance(source_counts, str) and source_counts.lower() == "lotss":
        return LoTSSCounts()
    if isinstance(source_counts, (int, float)) and not isinstance(source_counts, bool):
        return PowerLawCounts(slope=source_counts)
    msg = (f"source_counts={source_counts!r} is not understood; pass 'lotss', a power-law "
           "slope such as -1.7, or a SourceCounts instance")
    raise ValueError(msg)


def sample_sizes(rng, flux):
    """
    Intrinsic (deconvolved) FWHM major/minor axes in arcsec and position angles
    (rad) of compact sources: log-normal around 1.5" (S / 1 mJy)^0.3.
    """
    n = len(flux)
    major = 1.5 * (flux / 1e-3) ** 0.3 * np.exp(rng.normal(0, 0.6, n))
    major = np.clip(major, 0.0, 40.0)
    minor = major * rng.uniform(0.3, 1.0, n)
    return major, minor, rng.uniform(0, np.pi, n)


def cluster_member_offsets(rng, n, core, truncation):
    """
    Radii-and-angle offsets (same unit as ``core``) of ``n`` cluster members on a
    projected King-like profile ``(1 + (r/core)^2)^-1`` truncated at ``truncation``.
    """
    u = rng.uniform(0, 1, n)
    r = core * np.sqrt(np.expm1(u * np.log1p((truncation / core) ** 2)))
    phi = rng.uniform(0, 2 * np.pi, n)
    return r * np.sin(phi), r * np.cos(phi)


def splat_points(image, y, x, flux):
    """Add point sources to the nearest pixels of ``image`` (in place)."""
    ny, nx = image.shape
    iy = np.rint(y).astype(np.int64)
    ix = np.rint(x).astype(np.int64)
    ok = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
    image += np.bincount(iy[ok] * nx + ix[ok], flux[ok], ny * nx).reshape(ny, nx)


def splat_gaussians(image, y, x, total, cov, *, peak_normalised=False):
    """
    Add elliptical Gaussians to ``image`` in place (vectorised over sources).

    Parameters
    ----------
    image : ndarray
        2-D array to add to.
    y, x : ndarray
        Exact (sub-pixel) centres.
    total : ndarray
        Integrated value of each Gaussian (or its peak if ``peak_normalised``).
    cov : ndarray
        Covariances (pixels^2, (y, x) order), shape ``(n, 2, 2)``.
    """
    y, x, total = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (y, x, total))
    cov = np.asarray(cov, dtype=float).reshape(-1, 2, 2)
    if y.size == 0:
        return image
    ny, nx = image.shape
    sig = np.sqrt(np.maximum(cov[:, 0, 0], cov[:, 1, 1]))
    # group by stamp size so that big Gaussians do not inflate small ones
    half = np.ceil(3.5 * sig + 1).astype(int)
    bins = 2 ** np.ceil(np.log2(np.maximum(half, 2))).astype(int)
    for h in np.unique(bins):
        sel = bins == h
        off = np.arange(-h, h + 1)
        cy = np.rint(y[sel]).astype(np.int64)
        cx = np.rint(x[sel]).astype(np.int64)
        dy = (cy - y[sel])[:, None, None] + off[None, :, None]
        dx = (cx - x[sel])[:, None, None] + off[None, None, :]
        c = cov[sel]
        det = c[:, 0, 0] * c[:, 1, 1] - c[:, 0, 1] ** 2
        a = (c[:, 1, 1] / det)[:, None, None]
        b = (-c[:, 0, 1] / det)[:, None, None]
        d = (c[:, 0, 0] / det)[:, None, None]
        g = np.exp(-0.5 * (a * dy**2 + 2 * b * dy * dx + d * dx**2))
        norm = 1.0 if peak_normalised else 1.0 / (2 * np.pi * np.sqrt(det))
        g *= (total[sel] * norm)[:, None, None]
        iy = cy[:, None, None] + off[None, :, None]
        ix = cx[:, None, None] + off[None, None, :]
        ok = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
        image += np.bincount((iy * nx + ix)[ok], g[ok], ny * nx).reshape(ny, nx)
    return image


def size_covariance(major_pix, minor_pix, angle):
    """Covariances ``(n, 2, 2)`` from FWHM axes (pixels) and angles (rad from +x)."""
    s1 = np.asarray(major_pix) * FWHM_TO_SIGMA
    s2 = np.asarray(minor_pix) * FWHM_TO_SIGMA
    ca, sa = np.cos(angle), np.sin(angle)
    cov = np.empty((np.size(s1), 2, 2))
    cov[:, 0, 0] = s1**2 * sa**2 + s2**2 * ca**2
    cov[:, 1, 1] = s1**2 * ca**2 + s2**2 * sa**2
    cov[:, 0, 1] = cov[:, 1, 0] = (s1**2 - s2**2) * sa * ca
    return cov
