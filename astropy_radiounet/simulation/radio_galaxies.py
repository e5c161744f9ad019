"""
Extended radio galaxies -- the confusers that fool diffuse-emission finders.

Each galaxy is a set of elliptical Gaussian blobs (Jy/pixel) plus a point-like
core, drawn from one of two populations:

``'lomorph'`` (the default)
    The population of extended LoTSS-DR1 radio galaxies in the LoMorph
    catalogue (Mingo et al. 2019, MNRAS 488, 2701): FRI (jets flaring into
    plumes), FRII (core, thin jets, compact hotspots, lobes with backflow),
    indeterminate (each side FRI- or FRII-like), narrow- and wide-angle tails
    (NAT, WAT), double-doubles (two nested pairs of lobes) and the small ones
    LoMorph could not classify further, in LoMorph's class fractions with its
    angular-size and flux distributions (`LOMORPH_POPULATION`), plus remnant
    (dying) radio galaxies, which LoMorph does not classify: faint, amorphous
    lobes with no core, jets or hotspots, a `REMNANT_FRACTION` of the total.
``'v0.2'``
    The FRI, FRII, head-tail and WAT chains of package version 0.2, on which
    the shipped v0.2 model was trained; kept so that its training sky can be
    made again bit for bit.
"""

from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from ._utils import FWHM_TO_SIGMA
from .compact import size_covariance
from .diffuse import flux_from_power

__all__ = ["RADIO_GALAXY_KINDS", "RADIO_GALAXY_POPULATIONS", "V02_RADIO_GALAXY_KINDS",
           "LOMORPH_POPULATION", "SMALL_SHAPES", "REMNANT_FRACTION", "CLUSTER_RADIO_GALAXIES",
           "PopulationClass", "RadioGalaxy", "radio_galaxy", "sample_radio_galaxies",
           "cluster_radio_galaxy_rates", "sample_cluster_radio_galaxies",
           "check_radio_galaxy_population"]

#: The radio-galaxy populations a simulation can draw from.
RADIO_GALAXY_POPULATIONS = ("lomorph", "v0.2")

#: Kinds of the ``'lomorph'`` population.
RADIO_GALAXY_KINDS = ("FRI", "FRII", "indeterminate", "NAT", "WAT", "double-double", "small",
                      "remnant")

#: Kinds of the ``'v0.2'`` population.
V02_RADIO_GALAXY_KINDS = ("FRI", "FRII", "head-tail", "WAT")

#: Fraction of remnant radio galaxies in the ``'lomorph'`` population.  LoMorph
#: has no remnant class; 5 per cent is within the remnant fractions of a few
#: to ~10 per cent found in LOFAR-selected samples (e.g. Brienza et al. 2017,
#: A&A 606, A98; Mahatma et al. 2018, MNRAS 475, 4557).  The LoMorph classes
#: share the other 95 per cent in their catalogue proportions.
REMNANT_FRACTION = 0.05


@dataclass(frozen=True)
class PopulationClass:
    """
    Fraction, angular sizes and fluxes of one class of field radio galaxies.

    The largest angular size is ``theta = theta0 + 10**x`` arcsec with
    ``x = mu + sigma * z``, ``z`` a standard normal truncated so that
    ``lo <= theta <= hi`` (a shifted, truncated log-normal); the flux density
    is ``log10(S / mJy) = flux_mu + flux_slope * z + flux_sigma * e``, ``e`` a
    standard normal truncated so that ``flux_lo <= log10(S / mJy) <= flux_hi``.
    """

    fraction: float
    theta0: float
    mu: float
    sigma: float
    lo: float
    hi: float
    flux_mu: float
    flux_slope: float
    flux_sigma: float
    flux_lo: float = 0.0
    flux_hi: float = 4.3


# The parameters below were made by ``python benchmarks/compare_radio_galaxies.py --fit``
# from the LoMorph catalogue (5,805 galaxies; maximum-likelihood fits of each class;
# the 7 galaxies larger than 1000" left out) and pasted here: do not edit them by
# hand.  The remnants are not fitted: they have the sizes of LoMorph's extended
# (not small) classes together and fluxes 0.7 dex (a factor 5) fainter.
#: The ``'lomorph'`` population: each kind's `PopulationClass`.
LOMORPH_POPULATION = {
    "FRI": PopulationClass(0.13043, 32.587, 1.5628, 0.38552, 32.587, 1000.0,
                           1.5580, 0.16946, 0.47034),
    "FRII": PopulationClass(0.06922, 24.474, 1.6857, 0.33656, 24.474, 1000.0,
                            1.9214, 0.31602, 0.78948),
    "indeterminate": PopulationClass(0.16283, 30.380, 1.5331, 0.38123, 30.380, 1000.0,
                                     1.7145, 0.14967, 0.55160),
    "NAT": PopulationClass(0.04320, 22.032, 1.5080, 0.24040, 22.032, 1000.0,
                           1.5084, 0.16465, 0.43493),
    "WAT": PopulationClass(0.03191, 21.965, 1.7424, 0.27111, 21.965, 1000.0,
                           1.8056, 0.13368, 0.46545),
    "double-double": PopulationClass(0.00311, 65.526, 1.5718, 0.41790, 65.526, 1000.0,
                                     1.8423, 0.15337, 0.41989),
    "small": PopulationClass(0.50929, 0.000, 1.3878, 0.14938, 6.000, 48.0,
                             1.0032, 0.58623, 0.77632),
    "remnant": PopulationClass(0.05000, 26.182, 1.6194, 0.33472, 26.182, 1000.0,
                               0.9877, 0.19026, 0.57052, -0.7, 3.6),
}

#: What the small LoMorph galaxies look like (LoMorph's FR classes of its
#: ``Small`` sources; made by the same script): a small galaxy is drawn as one
#: of these kinds at its small size.
SMALL_SHAPES = {"FRI": 0.54916, "FRII": 0.03952, "indeterminate": 0.41131}

#: Radio galaxies of galaxy clusters (this package's choices, not fitted).
#: ``central``: the brightest cluster galaxy is radio-loud and extended with a
#: probability ``central_probability * (M500 / pivot)**central_slope`` (at
#: most ``central_max``), as a small source or a small FRI.  ``tailed``: NAT
#: and WAT members, Poisson-distributed with mean ``tailed_rate * M500 /
#: pivot`` (the number of cluster radio galaxies grows roughly in proportion
#: to the cluster's mass; with ``tailed_rate`` 0.35 a cluster of 4e14 Msun has
#: at least one in 30 per cent of cases, as every cluster had in 35 per cent
#: of cases in package version 0.2).  ``kinds``: (share, linear size range in
#: kpc, 144 MHz power range in W/Hz) of each kind; sizes are log-uniform and
#: powers follow dN/dlog P ~ P**-0.5 between the limits.
CLUSTER_RADIO_GALAXIES = {
    "pivot": 4e14,
    "central_probability": 0.3,
    "central_slope": 0.5,
    "central_max": 0.6,
    "tailed_rate": 0.35,
    "central": {"small": (0.6, (15.0, 60.0), (10**22.5, 10**25.0)),
                "FRI": (0.4, (40.0, 250.0), (10**23.0, 10**25.5))},
    "tailed": {"NAT": (0.6, (50.0, 400.0), (10**23.5, 10**25.5)),
               "WAT": (0.4, (100.0, 500.0), (10**24.0, 10**26.0))},
}

#: Spectral index of the radio galaxies (for the k-correction of their power).
SPECTRAL_INDEX = 0.7


@dataclass
class RadioGalaxy:
    """
    Blobs ``(y, x, flux, cov)`` (pixels, Jy, pixels^2) of one radio galaxy and its core.

    ``size`` is the largest extent (pixels); ``angle`` the axis or, for tailed
    galaxies, the direction the tails point (rad from +x).
    """

    kind: str
    y: float
    x: float
    flux: float
    size: float
    angle: float
    blob_y: np.ndarray
    blob_x: np.ndarray
    blob_flux: np.ndarray
    blob_cov: np.ndarray
    core_flux: float

    def shifted(self, dy, dx):
        """The same galaxy moved by ``(dy, dx)`` pixels."""
        return replace(self, y=self.y + dy, x=self.x + dx, blob_y=self.blob_y + dy,
                       blob_x=self.blob_x + dx)


def check_radio_galaxy_population(population, *, name="radio_galaxy_population"):
    """Return ``population`` if it names a population, else raise a `ValueError`."""
    if isinstance(population, str) and population in RADIO_GALAXY_POPULATIONS:
        return population
    msg = (f"{name}={population!r} is not a radio-galaxy population; use 'lomorph' (LoTSS "
           f"radio galaxies as in LoMorph, the default) or 'v0.2' (the sky of the v0.2 model)")
    raise ValueError(msg)


def radio_galaxy(rng, kind, y, x, *, flux, size, angle=None, bend=None, population="lomorph"):
    """
    Build one extended radio galaxy.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    kind : str
        One of `RADIO_GALAXY_KINDS` (``'lomorph'``) or of
        `V02_RADIO_GALAXY_KINDS` (``'v0.2'``).
    y, x : float
        Position of the host (grid pixels).
    flux : float
        Total flux density (Jy).
    size : float
        Largest extent (pixels).
    angle : float, optional
        Axis angle, or the direction of the tails of a tailed galaxy (rad
        from +x); random when None.
    bend : float, optional
        Bending of tailed galaxies (rad): the curvature of a NAT's (or
        head-tail's) tail, how far a WAT's plumes turn; random when None.
    population : {'lomorph', 'v0.2'}
        The morphologies: those of this version, or those of version 0.2.

    Returns
    -------
    `RadioGalaxy`

    Examples
    --------
    >>> import numpy as np
    >>> g = radio_galaxy(np.random.default_rng(0), 'FRII', 50.0, 50.0, flux=0.1, size=40.0)
    >>> bool(abs(g.blob_flux.sum() + g.core_flux - 0.1) < 1e-9)
    True
    >>> radio_galaxy(np.random.default_rng(0), 'remnant', 50.0, 50.0, flux=0.01,
    ...              size=60.0).core_flux
    0.0
    """
    population = check_radio_galaxy_population(population, name="population")
    kinds = RADIO_GALAXY_KINDS if population == "lomorph" else V02_RADIO_GALAXY_KINDS
    if kind not in kinds:
        msg = (f"kind={kind!r} is not a radio-galaxy kind of population={population!r}; "
               f"use one of {kinds}")
        raise ValueError(msg)
    angle = rng.uniform(0, 2 * np.pi) if angle is None else angle
    if population == "v0.2":
        return _v02_radio_galaxy(rng, kind, y, x, flux=flux, size=size, angle=angle, bend=bend)
    blobs = _Blobs()
    shape = kind
    if kind == "small":
        p = np.array(list(SMALL_SHAPES.values()))
        shape = str(rng.choice(list(SMALL_SHAPES), p=p / p.sum()))
    core = _BUILDERS[shape](rng, blobs, y, x, size, angle, bend)
    return blobs.galaxy(kind, y, x, flux, size, angle, core)


# ---- the 'lomorph' morphologies ----------------------------------------------------------

class _Blobs:
    """Collects blobs (sigmas in pixels), each group with its share of the flux."""

    def __init__(self):
        self.parts = []

    def add(self, y, x, major, minor, angle, weight, *, share):
        arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float))
                                       for a in (y, x, major, minor, angle, weight)))
        arrays = [np.array(a) for a in arrays]
        arrays[5] = arrays[5] / arrays[5].sum() * share
        self.parts.append(arrays)

    def galaxy(self, kind, y, x, flux, size, angle, core):
        by, bx, major, minor, ax, weight = (np.concatenate(p) for p in zip(*self.parts))
        weight = weight / weight.sum() * flux * (1 - core)
        major, minor = (np.maximum(s, 0.35) / FWHM_TO_SIGMA for s in (major, minor))
        cov = size_covariance(np.maximum(major, minor), minor, ax)
        return RadioGalaxy(kind, float(y), float(x), float(flux), float(size), float(angle),
                           by, bx, weight, cov, float(flux * core))


def _path(y, x, theta, s, length):
    """Points at the fractions ``s`` of ``length`` along a path of direction ``theta(s)``."""
    step = np.diff(s, prepend=0.0) * length
    return y + np.cumsum(np.sin(theta) * step), x + np.cumsum(np.cos(theta) * step)


def _fri_arm(rng, blobs, y, x, theta, length, share):
    """A jet that flares into a plume, fading outwards (edge-darkened)."""
    s = np.linspace(0.04, 1.0, 18)
    th = theta + rng.normal(0, 0.35) * s**2 + np.cumsum(rng.normal(0, 0.03, s.size))
    py, px = _path(y, x, th, s, length)
    flare = rng.uniform(0.2, 0.4)
    jet = s < flare
    width = length * np.where(jet, 0.012 + 0.05 * s / flare,
                              0.07 + rng.uniform(0.15, 0.3) * (s - flare) / (1 - flare))
    along = np.maximum(width, 0.06 * length)
    weight = np.where(jet, 1.0, np.exp(-(s - flare) / 0.45)) * rng.uniform(0.7, 1.3, s.size)
    jet_share = rng.uniform(0.2, 0.4)
    blobs.add(py[jet], px[jet], along[jet], width[jet], th[jet], weight[jet],
              share=share * jet_share)
    blobs.add(py[~jet], px[~jet], along[~jet], width[~jet], th[~jet], weight[~jet],
              share=share * (1 - jet_share))


def _frii_arm(rng, blobs, y, x, theta, length, share, *, hotspot=(0.1, 0.3),
              backflow=(0.6, 0.9), jet=0.04):
    """A compact hotspot at the tip, a lobe flowing back towards the core, a faint jet."""
    th0 = theta + rng.normal(0, 0.05)
    hy, hx = y + length * np.sin(th0), x + length * np.cos(th0)
    hot = rng.uniform(*hotspot)
    radius = max(0.015 * length, 0.4)
    blobs.add(hy, hx, radius, radius * rng.uniform(0.6, 1.0), th0, 1.0, share=share * hot)
    s = np.linspace(0.0, 1.0, 12)
    th = th0 + np.pi + rng.normal(0, 0.35) * s**2
    py, px = _path(hy, hx, th, s * rng.uniform(*backflow), length)
    width = length * (0.11 + 0.1 * s) * rng.uniform(0.8, 1.25)
    weight = np.exp(-s / 0.45) * rng.uniform(0.7, 1.3, s.size)
    blobs.add(py, px, width * 1.2, width, th, weight, share=share * (1 - hot - jet))
    if jet:
        s = np.linspace(0.05, 0.9, 10)
        blobs.add(y + s * length * np.sin(th0), x + s * length * np.cos(th0),
                  0.06 * length, 0.01 * length, th0, 1.0, share=share * jet)


def _fri(rng, blobs, y, x, size, angle, bend):
    ratio = rng.uniform(1.0, 3.0)  # the approaching jet is the brighter
    for side, share in ((0.0, ratio / (1 + ratio)), (np.pi, 1 / (1 + ratio))):
        _fri_arm(rng, blobs, y, x, angle + side + rng.normal(0, 0.08),
                 0.45 * size * rng.uniform(0.8, 1.0), share)
    return rng.uniform(0.03, 0.15)


def _frii(rng, blobs, y, x, size, angle, bend):
    share = rng.uniform(0.35, 0.65)
    for side, part in ((0.0, share), (np.pi, 1 - share)):
        _frii_arm(rng, blobs, y, x, angle + side, 0.42 * size * rng.uniform(0.8, 1.0), part)
    return rng.uniform(0.005, 0.05)


def _indeterminate(rng, blobs, y, x, size, angle, bend):
    """Each side FRI- or FRII-like: ambiguous or hybrid morphologies."""
    for side in (0.0, np.pi):
        arm = _fri_arm if rng.uniform() < 0.5 else _frii_arm
        arm(rng, blobs, y, x, angle + side + rng.normal(0, 0.08),
            0.44 * size * rng.uniform(0.8, 1.0), rng.uniform(0.35, 0.65))
    return rng.uniform(0.02, 0.1)


def _nat(rng, blobs, y, x, size, angle, bend):
    """Two jets swept back at once into one narrow tail behind the host."""
    bend = rng.normal(0, 0.6) if bend is None else bend
    opening = rng.uniform(0.8, 1.4)
    s = np.linspace(0.01, 1.0, 22)
    for sign in (1, -1):
        th = (angle + bend * s**2 + sign * opening * np.exp(-s / 0.06)
              + np.cumsum(rng.normal(0, 0.025, s.size)))
        py, px = _path(y, x, th, s, 0.92 * size)
        width = size * (0.01 + 0.07 * s)
        weight = np.exp(-s / 0.35) * rng.uniform(0.7, 1.3, s.size)
        blobs.add(py, px, np.maximum(width, 0.05 * size), width, th, weight,
                  share=rng.uniform(0.4, 0.6))
    return rng.uniform(0.1, 0.3)


def _wat(rng, blobs, y, x, size, angle, bend):
    """Two jets that flare into plumes bent to the same side (the tail direction)."""
    bend = rng.uniform(0.6, 1.4) if bend is None else abs(bend)
    s = np.linspace(0.03, 1.0, 20)
    for sign in (1, -1):
        knee = rng.uniform(0.15, 0.3)
        t = np.clip((s - knee) / (1 - knee), 0, 1)
        th = angle + sign * (np.pi / 2 + rng.normal(0.1, 0.1) - bend * np.sqrt(t))
        py, px = _path(y, x, th, s, 0.55 * size * rng.uniform(0.85, 1.0))
        jet = s < knee
        width = size * np.where(jet, 0.008 + 0.025 * s / knee, 0.035 + 0.07 * t)
        weight = np.where(jet, 0.5, np.exp(-t / 0.6)) * rng.uniform(0.7, 1.3, s.size)
        blobs.add(py, px, np.maximum(width, 0.04 * size), width, th, weight,
                  share=rng.uniform(0.4, 0.6))
    return rng.uniform(0.03, 0.15)


def _double_double(rng, blobs, y, x, size, angle, bend):
    """An old outer pair of lobes (faint hotspots) around a young inner pair on the same axis."""
    inner = rng.uniform(0.3, 0.6)
    radius = rng.uniform(0.15, 0.4)
    for side in (0.0, np.pi):
        outer = 0.44 * size * rng.uniform(0.9, 1.0)
        _frii_arm(rng, blobs, y, x, angle + side, outer, (1 - inner) / 2, hotspot=(0.02, 0.08),
                  backflow=(0.3, 0.45), jet=0.0)
        _frii_arm(rng, blobs, y, x, angle + side + rng.normal(0, 0.05), outer * radius,
                  inner / 2, hotspot=(0.15, 0.35), backflow=(0.4, 0.7), jet=0.03)
    return rng.uniform(0.01, 0.05)


def _remnant(rng, blobs, y, x, size, angle, bend):
    """One or two amorphous, relaxed lobes: no core, no jets, no hotspots."""
    offsets = (0.0,) if rng.uniform() < 0.3 else (1.0, -1.0)
    for sign in offsets:
        r0 = sign * size * rng.uniform(0.18, 0.28)
        cy, cx = y + r0 * np.sin(angle), x + r0 * np.cos(angle)
        n = int(rng.integers(5, 9))
        r = size * np.sqrt(rng.uniform(0, 1, n)) * (0.08 if len(offsets) > 1 else 0.3)
        phi = rng.uniform(0, 2 * np.pi, n)
        sigma = size * rng.uniform(0.045, 0.1, n)
        blobs.add(cy + r * np.sin(phi), cx + r * np.cos(phi), sigma,
                  sigma * rng.uniform(0.5, 1.0, n), rng.uniform(0, np.pi, n),
                  rng.uniform(0.5, 1.5, n), share=1.0)
    return 0.0


_BUILDERS = {"FRI": _fri, "FRII": _frii, "indeterminate": _indeterminate, "NAT": _nat,
             "WAT": _wat, "double-double": _double_double, "remnant": _remnant}


# ---- the populations -------------------------------------------------------------------

def _truncated_normal(u, lo, hi):
    """Standard normal deviates truncated to ``[lo, hi]`` from uniforms ``u`` (inverse CDF)."""
    a, b = special.ndtr(lo), special.ndtr(hi)
    return special.ndtri(a + u * (b - a))


def sample_radio_galaxies(rng, n):
    """
    Kinds, largest angular sizes and flux densities of ``n`` field radio galaxies.

    Drawn from the ``'lomorph'`` population: the kinds in the fractions of
    `LOMORPH_POPULATION` and each kind's sizes and fluxes as its
    `PopulationClass` says.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    n : int
        Number of galaxies.

    Returns
    -------
    kind : `~numpy.ndarray` of str
    size : `~numpy.ndarray`
        Largest angular sizes in arcsec.
    flux : `~numpy.ndarray`
        Flux densities at 144 MHz in Jy.

    Examples
    --------
    >>> import numpy as np
    >>> kind, size, flux = sample_radio_galaxies(np.random.default_rng(1), 20000)
    >>> round(float(np.mean(kind == 'small')), 1), bool(np.all(size >= 6))
    (0.5, True)
    """
    names = list(LOMORPH_POPULATION)
    fractions = np.array([LOMORPH_POPULATION[k].fraction for k in names])
    kind = rng.choice(np.array(names), size=int(n), p=fractions / fractions.sum())
    u = rng.uniform(size=(2, kind.size))
    size, flux = np.empty(kind.size), np.empty(kind.size)
    for name in names:
        sel = kind == name
        c = LOMORPH_POPULATION[name]
        lo, hi = ((np.log10(max(t - c.theta0, 1e-3)) - c.mu) / c.sigma for t in (c.lo, c.hi))
        z = _truncated_normal(u[0, sel], lo, hi)
        size[sel] = np.clip(c.theta0 + 10 ** (c.mu + c.sigma * z), c.lo, c.hi)
        mean = c.flux_mu + c.flux_slope * z
        e = _truncated_normal(u[1, sel], (c.flux_lo - mean) / c.flux_sigma,
                              (c.flux_hi - mean) / c.flux_sigma)
        flux[sel] = 10 ** (mean + c.flux_sigma * e) * 1e-3
    return kind, size, flux


def cluster_radio_galaxy_rates(m500):
    """
    How many radio galaxies a cluster of mass ``m500`` has (`CLUSTER_RADIO_GALAXIES`).

    Parameters
    ----------
    m500 : float or array_like
        M500 in solar masses.

    Returns
    -------
    p_central : float or `~numpy.ndarray`
        Probability that the brightest cluster galaxy is an extended radio galaxy.
    n_tailed : float or `~numpy.ndarray`
        Mean number of tailed (NAT, WAT) members.

    Examples
    --------
    >>> [round(float(v), 3) for v in cluster_radio_galaxy_rates(4e14)]
    [0.3, 0.35]
    """
    c = CLUSTER_RADIO_GALAXIES
    mass = np.asarray(m500, dtype=float) / c["pivot"]
    p_central = np.minimum(c["central_probability"] * mass ** c["central_slope"],
                           c["central_max"])
    return p_central, c["tailed_rate"] * mass


def sample_cluster_radio_galaxies(rng, m500, z):
    """
    The radio galaxies of one cluster: its central one (if any), then its tailed members.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    m500 : float
        M500 in solar masses (sets how many, `cluster_radio_galaxy_rates`).
    z : float
        Redshift (sets the flux from the 144 MHz power).

    Returns
    -------
    list of tuple
        ``(kind, role, size_kpc, flux)``: role ``'central'`` or ``'tailed'``,
        the largest linear size in kpc and the flux density in Jy.

    Examples
    --------
    >>> import numpy as np
    >>> rows = sample_cluster_radio_galaxies(np.random.default_rng(3), 1.5e15, 0.2)
    >>> sorted({row[1] for row in rows}) <= ['central', 'tailed']
    True
    """
    p_central, n_tailed = cluster_radio_galaxy_rates(m500)
    roles = (["central"] if rng.uniform() < p_central else []) + ["tailed"] * int(
        rng.poisson(n_tailed))
    rows = []
    for role in roles:
        table = CLUSTER_RADIO_GALAXIES[role]
        kinds = list(table)
        kind = kinds[rng.choice(len(kinds), p=[table[k][0] for k in kinds])]
        _, (s_lo, s_hi), (p_lo, p_hi) = table[kind]
        size = 10 ** rng.uniform(np.log10(s_lo), np.log10(s_hi))
        # dN/dlog P ~ P**-0.5 between p_lo and p_hi (inverse CDF)
        q = 1 - rng.uniform() * (1 - (p_hi / p_lo) ** -0.5)
        power = p_lo * q ** -2.0
        rows.append((kind, role, float(size), float(flux_from_power(power, z, SPECTRAL_INDEX))))
    return rows


# ---- the 'v0.2' morphologies (kept bit for bit) ----------------------------------------

def _chain(rng, y, x, angle, length, *, n, w0, w1, bend=0.0, decay=1.0, wobble=0.03):
    """Blob centres, widths and relative weights along a (bent) jet."""
    s = np.linspace(0, 1, n)
    theta = angle + bend * s**2 + np.cumsum(rng.normal(0, wobble, n))
    step = length / (n - 1)
    dy = np.concatenate([[0.0], np.cumsum(np.sin(theta[:-1]) * step)])
    dx = np.concatenate([[0.0], np.cumsum(np.cos(theta[:-1]) * step)])
    width = w0 + (w1 - w0) * s
    weight = np.exp(-s / decay) * rng.uniform(0.6, 1.4, n)
    return y + dy, x + dx, width, weight, theta


def _add(parts, *arrays):
    for store, arr in zip(parts, arrays):
        store.append(arr)


def _v02_radio_galaxy(rng, kind, y, x, *, flux, size, angle, bend):
    """A radio galaxy of package version 0.2 (FRI, FRII, head-tail, WAT), bit for bit."""
    parts = ([], [], [], [], [])
    if kind == "FRI":
        core = rng.uniform(0.05, 0.2)
        for side in (0, np.pi):
            ln = size / 2 * rng.uniform(0.7, 1.0)
            cy, cx, w, wt, th = _chain(rng, y, x, angle + side + rng.normal(0, 0.1), ln,
                                       n=14, w0=0.6, w1=0.35 * ln, bend=rng.normal(0, 0.4),
                                       decay=0.6)
            _add(parts, cy[1:], cx[1:], w[1:], wt[1:], th[1:])
    elif kind == "FRII":
        core = rng.uniform(0.005, 0.05)
        for side in (0, np.pi):
            ln = size / 2 * rng.uniform(0.75, 1.0)
            th0 = angle + side + rng.normal(0, 0.06)
            hy, hx = y + ln * np.sin(th0), x + ln * np.cos(th0)
            # lobe: from the hotspot back towards the core, widening then fading
            cy, cx, w, wt, th = _chain(rng, hy, hx, th0 + np.pi + rng.normal(0, 0.1),
                                       0.7 * ln, n=10, w0=0.12 * ln, w1=0.3 * ln,
                                       decay=0.5, wobble=0.08)
            hot = rng.uniform(0.1, 0.35)
            wt = (1 - hot) * wt / wt.sum()
            _add(parts, np.r_[hy, cy], np.r_[hx, cx], np.r_[max(0.03 * ln, 0.8), w],
                 np.r_[hot, wt], np.r_[th0, th])
    elif kind == "head-tail":
        core = rng.uniform(0.1, 0.3)
        bend = rng.normal(0, 1.0) if bend is None else bend
        cy, cx, w, wt, th = _chain(rng, y, x, angle, size, n=18, w0=0.8, w1=0.12 * size,
                                   bend=bend, decay=0.45, wobble=0.06)
        _add(parts, cy[1:], cx[1:], w[1:], wt[1:], th[1:])
    else:  # WAT
        core = rng.uniform(0.03, 0.15)
        bend = rng.uniform(0.6, 1.4) if bend is None else abs(bend)
        for sign in (1, -1):
            th0 = angle + sign * (np.pi / 2 + rng.normal(0, 0.15))
            cy, cx, w, wt, th = _chain(rng, y, x, th0, size / 2, n=14, w0=0.7,
                                       w1=0.25 * size, bend=-sign * bend * 1.5, decay=0.8)
            _add(parts, cy[1:], cx[1:], w[1:], wt[1:], th[1:])
    by, bx, bw, bwt, ax = (np.concatenate(p) for p in parts)
    bwt = bwt / bwt.sum() * flux * (1 - core)
    major = bw / FWHM_TO_SIGMA  # blob widths are Gaussian sigmas
    cov = size_covariance(major * 1.3, major, ax)
    return RadioGalaxy(kind, float(y), float(x), float(flux), float(size), float(angle),
                       by, bx, bwt, cov, float(flux * core))
