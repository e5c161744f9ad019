"""
The cosmic-web backbone of a field: a log-normal projected density field with
a LambdaCDM-like power spectrum, galaxy clusters at its highest peaks (masses
from a steep mass function, R500 from Planck18) and filaments along the ridges
joining them (a minimum spanning tree of the peaks).
"""

from functools import lru_cache

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from scipy import fft, ndimage
from scipy.sparse.csgraph import minimum_spanning_tree

__all__ = ["kpc_per_arcsec", "luminosity_distance_m", "r500_kpc", "density_field",
           "find_peaks", "web_edges", "sample_masses"]


@lru_cache(maxsize=4096)
def _kpc_per_arcsec(z):
    return float(Planck18.angular_diameter_distance(z).to_value(u.kpc) * np.pi / 180 / 3600)


def kpc_per_arcsec(z):
    """
    Proper kpc per arcsec at redshift ``z`` (Planck18).

    Examples
    --------
    >>> round(kpc_per_arcsec(0.1), 3)
    1.906
    """
    return _kpc_per_arcsec(round(float(z), 5))


@lru_cache(maxsize=4096)
def _dl(z):
    return float(Planck18.luminosity_distance(z).to_value(u.m))


def luminosity_distance_m(z):
    """Luminosity distance in metres at redshift ``z`` (Planck18)."""
    return _dl(round(float(z), 5))


@lru_cache(maxsize=4096)
def _rho_c(z):
    return float(Planck18.critical_density(z).to_value(u.Msun / u.kpc**3))


def r500_kpc(m500, z):
    """
    R500 in kpc from M500 (solar masses): ``(3 M500 / (4 pi 500 rho_c(z)))^(1/3)``.

    Examples
    --------
    >>> round(r500_kpc(5e14, 0.2))
    1153
    """
    return (3 * m500 / (4 * np.pi * 500 * _rho_c(round(float(z), 5)))) ** (1 / 3)


def _power_spectrum(k, shape_gamma=0.21):
    """Projected LCDM-like spectrum: P(k) ~ k T_BBKS(k)^2 (k in h/Mpc) flattened in 2-D."""
    q = np.maximum(k, 1e-6) / shape_gamma
    t = np.log(1 + 2.34 * q) / (2.34 * q) * (
        1 + 3.89 * q + (16.1 * q) ** 2 + (5.46 * q) ** 3 + (6.71 * q) ** 4) ** -0.25
    return k * t**2


def density_field(rng, shape, cell_mpc, *, sigma_ln=1.0):
    """
    A log-normal projected over-density ``1 + delta`` (mean 1) on a grid.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    shape : tuple of int
        Grid shape (coarse: the field is smooth on cluster scales).
    cell_mpc : float
        Cell size in comoving Mpc/h.
    sigma_ln : float
        Standard deviation of the underlying Gaussian field.

    Examples
    --------
    >>> import numpy as np
    >>> d = density_field(np.random.default_rng(1), (32, 32), 0.5)
    >>> bool(abs(d.mean() - 1) < 0.2 and d.min() > 0)
    True
    """
    ny, nx = shape
    ky = fft.fftfreq(ny, d=cell_mpc)[:, None] * 2 * np.pi
    kx = fft.rfftfreq(nx, d=cell_mpc)[None, :] * 2 * np.pi
    k = np.hypot(ky, kx)
    amp = np.sqrt(_power_spectrum(k) * np.exp(-(k * 0.6) ** 2))  # smooth below ~cluster scale
    amp[0, 0] = 0.0
    noise = fft.rfft2(rng.standard_normal(shape))
    g = fft.irfft2(noise * amp, s=shape)
    g = (g - g.mean()) / (g.std() or 1.0)
    dens = np.exp(sigma_ln * g - sigma_ln**2 / 2)
    return dens / dens.mean()


def find_peaks(density, n, *, margin=0.1, min_separation=4):
    """Indices ``(iy, ix)`` of the ``n`` highest local maxima of ``density``."""
    ny, nx = density.shape
    local = density == ndimage.maximum_filter(density, size=2 * min_separation + 1,
                                              mode="wrap")
    my, mx = int(margin * ny), int(margin * nx)
    local[:my] = local[ny - my:] = False
    local[:, :mx] = local[:, nx - mx:] = False
    iy, ix = np.nonzero(local)
    order = np.argsort(density[iy, ix])[::-1][:n]
    return iy[order], ix[order]


def web_edges(y, x, *, max_length=np.inf):
    """Edges ``(i, j)`` of the minimum spanning tree of points, shorter than ``max_length``."""
    pts = np.column_stack([y, x]).astype(float)
    if len(pts) < 2:
        return []
    dist = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    tree = minimum_spanning_tree(dist + 1e-9 * (dist > 0)).tocoo()
    return [(int(i), int(j)) for i, j, d in zip(tree.row, tree.col, tree.data)
            if d <= max_length]


def sample_masses(rng, n, mass_range, *, slope=-2.8):
    """Masses (Msun) from ``dN/dM ~ M^slope`` within ``mass_range``, sorted descending."""
    lo, hi = mass_range
    a = slope + 1
    u = rng.uniform(0, 1, n)
    m = (lo**a + u * (hi**a - lo**a)) ** (1 / a)
    return np.sort(m)[::-1]
