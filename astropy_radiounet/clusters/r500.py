"""
Cluster geometry: R500 from M500, and apertures of a multiple of R500 as angles.

R500 is the radius within which the mean density of a cluster is 500 times
the critical density of the Universe at its redshift,

.. math::

    R_{500} = \\left(\\frac{3 M_{500}}{4 \\pi \\, 500 \\, \\rho_c(z)}\\right)^{1/3},

and it subtends the angle :math:`R_{500} / D_A(z)`, with :math:`D_A` the
angular-diameter distance.  Planck18 is the default cosmology.
"""

import warnings

import astropy.units as u
import numpy as np

from ..exceptions import CatalogWarning

__all__ = ["r500_from_m500", "m500_from_r500", "angular_radius", "resolve_cosmology",
           "parse_redshift",
           "DEFAULT_APERTURE_FACTOR",
           "PLAUSIBLE_M500"]

#: Aperture radius in units of R500 used for the detection ratio (Stuardi et al. 2024).
DEFAULT_APERTURE_FACTOR = 2.2

#: The masses of galaxy groups and clusters: an M500 outside this range is
#: almost certainly in the wrong unit, and is warned about.
PLAUSIBLE_M500 = (1e12, 1e16) * u.Msun


def resolve_cosmology(cosmology=None):
    """
    The cosmology of every distance in the package: ``cosmology``, or Planck18.

    Examples
    --------
    >>> from astropy_radiounet.clusters.r500 import resolve_cosmology
    >>> resolve_cosmology().name
    'Planck18'
    """
    if cosmology is None:
        from astropy.cosmology import Planck18

        return Planck18
    return cosmology


def parse_redshift(redshift):
    """
    Redshifts as a float array, and where they are usable (finite and positive).

    Examples
    --------
    >>> from astropy_radiounet.clusters.r500 import parse_redshift
    >>> parse_redshift([0.1, -1.0])[1].tolist()
    [True, False]
    """
    try:
        redshift = np.asarray(redshift, dtype=float)
    except (TypeError, ValueError):
        msg = f"redshift must be a number or an array of numbers; got {redshift!r}."
        raise TypeError(msg) from None
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(redshift) & (redshift > 0)
    return redshift, usable


def _redshift(redshift):
    redshift, usable = parse_redshift(redshift)
    if not np.all(usable):
        msg = (f"redshift must be finite and positive for every cluster; got "
               f"{redshift[~usable][:5]}.  Clusters without "
               f"a redshift have no R500 angle: leave them out or give their radius directly.")
        raise ValueError(msg)
    return redshift


def _same_length(name, values, other_name, other):
    """Refuse two per-cluster arrays that do not broadcast (a scalar goes with any)."""
    n, n_other = np.size(values), np.size(other)
    if np.ndim(values) > 1 or np.ndim(other) > 1:
        msg = (f"{name} and {other_name} must be numbers or 1-D arrays, one value per "
               f"cluster; got shapes {np.shape(values)} and {np.shape(other)}.")
        raise ValueError(msg)
    if np.ndim(values) and np.ndim(other) and n != n_other:
        msg = (f"Got {n} {name} values and {n_other} {other_name} values; give one per "
               f"cluster (or a single value for all).")
        raise ValueError(msg)


def _warn_implausible_m500(m500, labels=None, fix=None, stacklevel=3):
    """
    Warn (`CatalogWarning`) about masses outside `PLAUSIBLE_M500`, naming the
    rows (``labels``, positions by default) and the likely unit, with ``fix``
    as the way out for masses 1e14 times too small.
    """
    msun = np.atleast_1d(u.Quantity(m500, u.Msun).value)
    low, high = PLAUSIBLE_M500.to_value(u.Msun)
    with np.errstate(invalid="ignore"):
        small, large = msun < low, msun > high
    bad = small | large
    if not bad.any():
        return
    index = np.flatnonzero(bad)
    listed = ", ".join(f"{labels[i] if labels is not None else i} ({msun[i]:.3g} solMass)"
                       for i in index[:5]) + (", ..." if len(index) > 5 else "")
    if small.any():
        hint = ("did you mean masses in units of 1e14 solMass? "
                + (fix or "multiply them by 1e14 (6 * u.Msun is 6 solar masses, "
                          "6e14 * u.Msun a cluster)"))
    else:
        hint = "check the unit of the masses (grams or kilograms read as solMass?)"
    msg = (f"M500 of {bad.sum()} of {msun.size} clusters is outside 1e{np.log10(low):.0f} to "
           f"1e{np.log10(high):.0f} solMass, the masses of galaxy groups and clusters "
           f"({'rows' if labels is not None else 'positions'} {listed}): {hint}.")
    warnings.warn(msg, CatalogWarning, stacklevel=stacklevel)


def r500_from_m500(m500, redshift, *, cosmology=None):
    """
    R500 of clusters of mass M500 at a redshift.

    Parameters
    ----------
    m500 : `~astropy.units.Quantity`
        Mass within R500 (e.g. in solar masses).
    redshift : float or array_like
        Cluster redshift(s).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    r500 : `~astropy.units.Quantity`
        In kpc.

    Raises
    ------
    TypeError
        If ``m500`` is not a mass Quantity.
    ValueError
        If a mass or redshift is not finite and positive, or if the numbers
        of masses and redshifts differ (either may be a single value).

    Warns
    -----
    `~astropy_radiounet.exceptions.CatalogWarning`
        For masses outside 1e12 to 1e16 solar masses (``PLAUSIBLE_M500``),
        almost certainly in the wrong unit, such as masses in units of 1e14
        solar masses given as solar masses.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.clusters.r500 import r500_from_m500
    >>> r500_from_m500(6e14 * u.Msun, 0.2).round(-1)  # doctest: +FLOAT_CMP
    <Quantity 1230. kpc>
    """
    return _checked_r500(m500, redshift, cosmology)


def _checked_r500(m500, redshift, cosmology, stacklevel=4):
    """`r500_from_m500`, warning ``stacklevel`` frames up (the caller of the caller)."""
    if not isinstance(m500, u.Quantity) or m500.unit.physical_type != "mass":
        msg = f"m500 must be a mass Quantity (e.g. 6e14 * u.Msun); got {m500!r}."
        raise TypeError(msg)
    redshift = _redshift(redshift)
    _same_length("M500", m500, "redshift", redshift)
    bad = ~(np.isfinite(m500) & (m500 > 0))
    if np.any(bad):
        msg = (f"m500 must be finite and positive for every cluster; got "
               f"{np.atleast_1d(m500)[np.atleast_1d(bad)][:5]}.  Leave clusters without a "
               f"mass out (catalog_r500 does so row by row).")
        raise ValueError(msg)
    _warn_implausible_m500(m500, stacklevel=stacklevel)
    return _r500(m500, redshift, cosmology)


def _r500(m500, redshift, cosmology):
    """R500 in kpc of checked masses and redshifts (empty in, empty out)."""
    if np.size(m500) == 0 or np.size(redshift) == 0:
        return np.zeros(np.broadcast_shapes(np.shape(m500), np.shape(redshift))) * u.kpc
    rho_c = resolve_cosmology(cosmology).critical_density(redshift)
    return np.cbrt(3 * m500 / (4 * np.pi * 500 * rho_c)).to(u.kpc)


def m500_from_r500(r500, redshift, *, cosmology=None):
    """
    M500 of clusters of radius R500 at a redshift: the inverse of `r500_from_m500`.

    .. math:: M_{500} = \\frac{4}{3} \\pi \\, 500 \\, \\rho_c(z) \\, R_{500}^3

    Parameters
    ----------
    r500 : `~astropy.units.Quantity`
        R500 as a length.
    redshift : float or array_like
        Cluster redshift(s); one that is not finite and positive gives NaN.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    m500 : `~astropy.units.Quantity`
        In solar masses.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.clusters.r500 import m500_from_r500, r500_from_m500
    >>> m500_from_r500(r500_from_m500(6e14 * u.Msun, 0.2), 0.2)  # doctest: +FLOAT_CMP
    <Quantity 6.e+14 solMass>
    """
    if not isinstance(r500, u.Quantity) or not r500.unit.is_equivalent(u.kpc):
        msg = f"r500 must be a length Quantity (e.g. 1200 * u.kpc); got {r500!r}."
        raise TypeError(msg)
    redshift, usable = parse_redshift(redshift)
    shape = np.broadcast_shapes(np.shape(r500), np.shape(redshift))
    redshift = np.where(np.broadcast_to(usable, shape), np.broadcast_to(redshift, shape), 1.0)
    rho_c = resolve_cosmology(cosmology).critical_density(redshift)
    m500 = (4 * np.pi / 3 * 500 * rho_c * r500**3).to(u.Msun)
    return np.where(np.broadcast_to(usable, shape), m500, np.nan * u.Msun)


def angular_radius(radius, redshift, *, cosmology=None):
    """
    Angle subtended by a proper length at a redshift.

    Parameters
    ----------
    radius : `~astropy.units.Quantity`
        Length (e.g. 2.2 R500).
    redshift : float or array_like
        Redshift(s).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    angle : `~astropy.units.Quantity`
        In arcmin.

    Raises
    ------
    TypeError
        If ``radius`` is not a length Quantity.
    ValueError
        If a redshift is not finite and positive, or if the numbers of radii
        and redshifts differ (either may be a single value).
    """
    if not isinstance(radius, u.Quantity) or radius.unit.physical_type != "length":
        msg = f"radius must be a length Quantity (e.g. 1.2 * u.Mpc); got {radius!r}."
        raise TypeError(msg)
    redshift = _redshift(redshift)
    _same_length("radius", radius, "redshift", redshift)
    if np.size(radius) == 0 or np.size(redshift) == 0:
        return np.zeros(np.broadcast_shapes(np.shape(radius), np.shape(redshift))) * u.arcmin
    distance = resolve_cosmology(cosmology).angular_diameter_distance(redshift)
    return (radius / distance * u.rad).to(u.arcmin)
