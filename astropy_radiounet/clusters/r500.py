"""
Cluster geometry: R500 from M500, and apertures of a multiple of R500 as angles.

R500 is the radius within which the mean density of a cluster is 500 times
the critical density of the Universe at its redshift,

.. math::

    R_{500} = \\left(\\frac{3 M_{500}}{4 \\pi \\, 500 \\, \\rho_c(z)}\\right)^{1/3},

and it subtends the angle :math:`R_{500} / D_A(z)`, with :math:`D_A` the
angular-diameter distance.  Planck18 is the default cosmology.
"""

import astropy.units as u
import numpy as np

__all__ = ["r500_from_m500", "angular_radius", "DEFAULT_APERTURE_FACTOR"]

#: Aperture radius in units of R500 used for the detection ratio (Stuardi et al. 2024).
DEFAULT_APERTURE_FACTOR = 2.2


def _cosmology(cosmology):
    if cosmology is None:
        from astropy.cosmology import Planck18

        return Planck18
    return cosmology


def _redshift(redshift):
    redshift = np.asarray(redshift, dtype=float)
    if np.any(~np.isfinite(redshift)) or np.any(redshift <= 0):
        msg = (f"redshift must be finite and positive for every cluster; got "
               f"{redshift[~(np.isfinite(redshift) & (redshift > 0))][:5]}.  Clusters without "
               f"a redshift have no R500 angle: leave them out or give their radius directly.")
        raise ValueError(msg)
    return redshift


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

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.clusters.r500 import r500_from_m500
    >>> r500_from_m500(6e14 * u.Msun, 0.2).round(-1)  # doctest: +FLOAT_CMP
    <Quantity 1230. kpc>
    """
    if not isinstance(m500, u.Quantity) or m500.unit.physical_type != "mass":
        msg = f"m500 must be a mass Quantity (e.g. 6e14 * u.Msun); got {m500!r}."
        raise TypeError(msg)
    rho_c = _cosmology(cosmology).critical_density(_redshift(redshift))
    return np.cbrt(3 * m500 / (4 * np.pi * 500 * rho_c)).to(u.kpc)


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
    """
    if not isinstance(radius, u.Quantity) or radius.unit.physical_type != "length":
        msg = f"radius must be a length Quantity (e.g. 1.2 * u.Mpc); got {radius!r}."
        raise TypeError(msg)
    distance = _cosmology(cosmology).angular_diameter_distance(_redshift(redshift))
    return (radius / distance * u.rad).to(u.arcmin)
