"""
Diffuse cluster and cosmic-web sources: radio halos, relics, mini-halos,
bridges and filaments, parameterised physically (redshift, M500/R500,
luminosity at 144 MHz or surface brightness, sizes in kpc) and rendered as
stamps in Jy/pixel with turbulent (Kolmogorov-like) substructure.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import fft

from .cosmology_web import luminosity_distance_m

__all__ = ["LABELS", "Component", "ScalingRelation", "HALO_RELATION", "RELIC_RELATION",
           "MINI_HALO_RELATION", "flux_from_power", "turbulent_field", "halo", "relic",
           "bridge", "filament", "add_stamp"]

#: Integer label of each diffuse class in label images.
LABELS = {"halo": 1, "relic": 2, "mini_halo": 3, "bridge": 4, "filament": 5}


@dataclass(frozen=True)
class ScalingRelation:
    """
    ``log10(P144 / W Hz^-1) = slope * log10(M500 / pivot) + norm`` with a
    Gaussian scatter (dex), and the spectral index used for the K-correction.
    """

    slope: float
    norm: float
    scatter: float
    pivot: float = 10**14.9
    alpha: float = 1.3

    def power(self, rng, m500):
        """Draw a 144 MHz power (W/Hz) for mass ``m500`` (Msun)."""
        lg = self.slope * np.log10(m500 / self.pivot) + self.norm
        return 10 ** (lg + rng.normal(0, self.scatter))


#: Radio halos: a Cassano et al. (2013)-like P-M500 relation scaled to 144 MHz
#: (alpha = 1.3), normalised to LoTSS-DR2 Planck-cluster halos.
HALO_RELATION = ScalingRelation(slope=3.3, norm=25.35, scatter=0.3, alpha=1.3)
#: Radio relics: steeper scatter, de Gasperin et al. (2014)-like slope.
RELIC_RELATION = ScalingRelation(slope=2.8, norm=25.1, scatter=0.4, alpha=1.1)
#: Mini-halos in cool-core clusters.
MINI_HALO_RELATION = ScalingRelation(slope=1.0, norm=24.2, scatter=0.4, alpha=1.2)


def flux_from_power(power, z, alpha):
    """Observed flux density (Jy) of a source of rest-frame power ``power`` (W/Hz)."""
    dl = luminosity_distance_m(z)
    return power * (1 + z) ** (1 - alpha) / (4 * np.pi * dl**2) / 1e-26


@dataclass
class Component:
    """A rendered diffuse source: a stamp in Jy/pixel placed at ``(y0, x0)`` of the grid."""

    kind: str
    y: float
    x: float
    y0: int
    x0: int
    stamp: np.ndarray
    flux: float
    size_kpc: float
    cluster: int = -1
    params: dict = field(default_factory=dict)

    @property
    def label(self):
        return LABELS[self.kind]


def add_stamp(channel, comp, *, scale=1.0):
    """Add ``comp.stamp`` (clipped to the grid) to ``channel`` in place."""
    ny, nx = channel.shape
    h, w = comp.stamp.shape
    y0, x0 = comp.y0, comp.x0
    ys, xs = max(0, -y0), max(0, -x0)
    ye, xe = min(h, ny - y0), min(w, nx - x0)
    if ye > ys and xe > xs:
        channel[y0 + ys:y0 + ye, x0 + xs:x0 + xe] += scale * comp.stamp[ys:ye, xs:xe]


def _box(yc, xc, half, grid):
    """Integer bounding box around (yc, xc) of half-size ``half``, clipped to ``grid``."""
    ny, nx = grid
    y0 = max(int(np.floor(yc - half)), 0)
    x0 = max(int(np.floor(xc - half)), 0)
    y1 = min(int(np.ceil(yc + half)) + 1, ny)
    x1 = min(int(np.ceil(xc + half)) + 1, nx)
    if y1 <= y0 or x1 <= x0:
        return None
    return y0, y1, x0, x1


def turbulent_field(rng, shape, outer_scale, *, slope=-11 / 3, anisotropy=1.0, angle=0.0):
    """
    A unit-variance Gaussian random field with a Kolmogorov-like spectrum
    ``P(k) ~ (k^2 + k0^2)^(slope/2)``, ``k0 = 1 / outer_scale`` (pixels).

    ``anisotropy > 1`` stretches structures along ``angle`` (rad from +x),
    e.g. filamentary substructure along a relic.
    """
    ny, nx = shape
    ky = fft.fftfreq(ny)[:, None]
    kx = fft.rfftfreq(nx)[None, :]
    ca, sa = np.cos(angle), np.sin(angle)
    k_par = kx * ca + ky * sa
    k_perp = -kx * sa + ky * ca
    k2 = (k_par * anisotropy) ** 2 + k_perp**2
    amp = (k2 + (1.0 / max(outer_scale, 2.0)) ** 2) ** (slope / 4)
    amp[0, 0] = 0.0
    g = fft.irfft2(fft.rfft2(rng.standard_normal(shape)) * amp, s=shape)
    sd = g.std()
    return g / sd if sd > 0 else g


def _taper(r, r1, r2):
    """1 inside r1, cosine roll-off to exactly 0 at r2."""
    t = np.clip((r - r1) / max(r2 - r1, 1e-9), 0.0, 1.0)
    return 0.5 * (1 + np.cos(np.pi * t))


def _lognormal(rng, shape, outer, sigma, **kw):
    if sigma <= 0:
        return 1.0
    g = turbulent_field(rng, shape, outer, **kw)
    return np.exp(sigma * g - sigma**2 / 2)


def halo(rng, y, x, *, r_e, flux, grid, axis_ratio=1.0, angle=0.0, truncation=3.0,
         turbulence=0.4, outer_scale=None, kind="halo", size_kpc=0.0, cluster=-1,
         params=None):
    """
    An exponential radio halo (or mini-halo) ``I0 exp(-r/r_e)`` with elliptical
    isophotes, truncated smoothly at ``truncation * r_e`` and modulated by a
    log-normal turbulent field.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    y, x : float
        Centre (grid pixels).
    r_e : float
        e-folding radius (pixels, along the major axis).
    flux : float
        Total flux density (Jy).
    grid : tuple of int
        Shape of the grid the stamp is clipped to.
    axis_ratio, angle : float
        Minor/major axis ratio and major-axis angle (rad from +x).
    truncation : float
        Outer radius in units of ``r_e`` (the emission is exactly zero beyond).
    turbulence : float
        Standard deviation of the log-normal modulation.
    outer_scale : float, optional
        Outer (injection) scale of the turbulence in pixels (default ``2 r_e``).

    Returns
    -------
    `Component` or None
        None when the source falls entirely outside the grid.
    """
    r_out = truncation * r_e
    box = _box(y, x, r_out, grid)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    yy = np.arange(y0, y1)[:, None] - y
    xx = np.arange(x0, x1)[None, :] - x
    ca, sa = np.cos(angle), np.sin(angle)
    a = xx * ca + yy * sa
    b = (-xx * sa + yy * ca) / axis_ratio
    r = np.hypot(a, b)
    prof = np.exp(-r / r_e) * _taper(r, 0.75 * r_out, r_out)
    prof = prof * _lognormal(rng, prof.shape, outer_scale or 2 * r_e, turbulence)
    if not np.any(prof > 0):
        return None
    # normalise on the analytic (untruncated) integral: clipping by the grid loses flux
    analytic = 2 * np.pi * r_e**2 * axis_ratio
    stamp = prof * (flux / analytic)
    return Component(kind, float(y), float(x), y0, x0, stamp, float(stamp.sum()), size_kpc,
                     cluster, dict(params or {}, r_e_pix=r_e, axis_ratio=axis_ratio))


def relic(rng, yc, xc, *, distance, angle, length, width, flux, grid, curvature=1.0,
          edge=1.0, n_threads=6, size_kpc=0.0, cluster=-1, params=None):
    """
    A radio relic: an arc at ``distance`` (pixels) from the cluster centre
    ``(yc, xc)`` in direction ``angle`` (rad from +x), of ``length`` pixels,
    concave towards the cluster, with a sharp outer edge (Gaussian of width
    ``edge`` pixels), an exponential inward decline of scale ``width`` and
    filamentary threads along the arc.

    Returns
    -------
    `Component` or None
    """
    rc = distance * curvature  # radius of curvature
    # centre of curvature on the line cluster -> relic, so that the arc passes at `distance`
    cy = yc + (distance - rc) * np.sin(angle)
    cx = xc + (distance - rc) * np.cos(angle)
    py, px = yc + distance * np.sin(angle), xc + distance * np.cos(angle)
    half = 0.6 * length + 4 * width + 5 * edge
    box = _box(py, px, half, grid)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    yy = np.arange(y0, y1)[:, None] - cy
    xx = np.arange(x0, x1)[None, :] - cx
    rho = np.hypot(yy, xx)
    psi = np.angle(np.exp(1j * (np.arctan2(yy, xx) - angle)))
    s = psi * rc                     # along the arc
    t = rho - rc                     # radial offset, > 0 outside
    threads = np.zeros_like(s)
    for _ in range(n_threads):
        t0 = -rng.uniform(0, 2.0) * width
        amp = rng.uniform(0.2, 1.0) * width
        lam = rng.uniform(0.3, 1.0) * length
        ph = rng.uniform(0, 2 * np.pi)
        h = rng.uniform(0.15, 0.4) * width
        threads += rng.uniform(0.5, 1) * np.exp(
            -0.5 * ((t - t0 - amp * np.sin(2 * np.pi * s / lam + ph)) / h) ** 2)
    across = np.where(t > 0, np.exp(-0.5 * (t / edge) ** 2), np.exp(t / width))
    across *= _taper(-t, 3 * width, 4 * width)
    along = _taper(np.abs(s), 0.3 * length, 0.5 * length)
    prof = across * along * (0.6 + threads / max(n_threads / 3, 1))
    prof *= _lognormal(rng, prof.shape, length / 3, 0.3, anisotropy=4.0,
                       angle=angle + np.pi / 2)
    total = prof.sum()
    if total <= 0 or not np.any(prof[prof > 0]):
        return None
    stamp = prof * (flux / total)
    return Component("relic", float(py), float(px), y0, x0, stamp, float(flux), size_kpc,
                     cluster, dict(params or {}, length_pix=length, width_pix=width))


def _path_coordinates(yy, xx, pts):
    """Distance to a polyline ``pts`` (n, 2) and the along-path coordinate of the closest point."""
    best = np.full(np.broadcast(yy, xx).shape, np.inf)
    along = np.zeros_like(best)
    start = 0.0
    for (ay, ax), (by, bx) in zip(pts[:-1], pts[1:]):
        dy, dx = by - ay, bx - ax
        seg = np.hypot(dy, dx) or 1e-9
        proj = np.clip(((yy - ay) * dy + (xx - ax) * dx) / seg**2, 0, 1)
        d = np.hypot(yy - ay - proj * dy, xx - ax - proj * dx)
        closer = d < best
        best = np.where(closer, d, best)
        along = np.where(closer, start + proj * seg, along)
        start += seg
    return best, along, start


def wiggly_path(rng, p1, p2, *, n=12, amplitude=0.1):
    """A gently curved polyline from ``p1`` to ``p2`` (sideways offsets ~ amplitude * length)."""
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    f = np.linspace(0, 1, n)[:, None]
    line = p1 + f * (p2 - p1)
    normal = np.array([-(p2 - p1)[1], (p2 - p1)[0]])
    k = np.arange(1, 4)
    coeff = rng.normal(0, amplitude, 3) / k
    off = (np.sin(np.pi * f * k[None, :]) * coeff).sum(axis=1, keepdims=True)
    return line + off * normal


def _sheet(rng, kind, pts, *, width, surface_brightness, grid, turbulence, end_taper,
           size_kpc, cluster, params):
    lo = pts.min(axis=0) - 2 * width
    hi = pts.max(axis=0) + 2 * width
    ny, nx = grid
    y0, x0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    y1, x1 = min(int(hi[0]) + 1, ny), min(int(hi[1]) + 1, nx)
    if y1 <= y0 or x1 <= x0:
        return None
    yy = np.arange(y0, y1)[:, None].astype(float)
    xx = np.arange(x0, x1)[None, :].astype(float)
    dist, along, total_len = _path_coordinates(yy, xx, pts)
    sig = width / 2.3548
    prof = np.exp(-0.5 * (dist / sig) ** 2) * _taper(dist, 1.5 * sig, 2.5 * sig)
    ends = np.minimum(along, total_len - along)
    if end_taper > 0:  # fade towards the ends; beyond them the cap is round
        prof *= np.clip((ends + 0.5 * width) / (end_taper + 0.5 * width), 0, 1)
    prof *= _lognormal(rng, prof.shape, width, turbulence)
    stamp = surface_brightness * prof
    if not np.any(stamp > 0):
        return None
    mid = pts[len(pts) // 2]
    return Component(kind, float(mid[0]), float(mid[1]), y0, x0, stamp, float(stamp.sum()),
                     size_kpc, cluster, dict(params or {}, width_pix=width,
                                             surface_brightness=surface_brightness))


def bridge(rng, p1, p2, *, width, surface_brightness, grid, end_taper=0.0, turbulence=0.5,
           size_kpc=0.0, cluster=-1, params=None):
    """
    A radio bridge between two clusters at ``p1`` and ``p2`` (pixels): a band of
    Gaussian cross-section (FWHM ``width`` pixels) and peak ``surface_brightness``
    (Jy/pixel) along a slightly curved path, with turbulent modulation.
    """
    pts = wiggly_path(rng, p1, p2, amplitude=0.05)
    return _sheet(rng, "bridge", pts, width=width, surface_brightness=surface_brightness,
                  grid=grid, turbulence=turbulence, end_taper=end_taper, size_kpc=size_kpc,
                  cluster=cluster, params=params)


def filament(rng, p1, p2, *, width, surface_brightness, grid, turbulence=0.7, size_kpc=0.0,
             params=None):
    """A faint cosmic-web filament along a wiggly path (see `bridge`)."""
    pts = wiggly_path(rng, p1, p2, amplitude=0.15, n=16)
    length = np.hypot(*(np.asarray(p2, float) - np.asarray(p1, float)))
    return _sheet(rng, "filament", pts, width=width, surface_brightness=surface_brightness,
                  grid=grid, turbulence=turbulence, end_taper=0.15 * length,
                  size_kpc=size_kpc, cluster=-1, params=params)
