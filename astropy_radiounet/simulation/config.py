"""
Settings of the sky and cluster stages of `~astropy_radiounet.simulation.simulate_field`.

`SkyConfig` holds what the sky holds besides clusters (its position, compact
sources, radio galaxies, cluster-member over-densities); `ClusterConfig`
holds the clusters and their diffuse emission, and the truth-mask threshold.
The instrument's settings are `~astropy_radiounet.simulation.InstrumentConfig`.

Each field of a config has the name of the `simulate_field` keyword it
replaces and takes the same values (Quantities or bare numbers in the unit
given below); the configs are frozen and check their values when made.
"""

from dataclasses import dataclass, field as dc_field
from types import MappingProxyType

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from ._utils import check_probability, check_range, to_value
from .compact import resolve_counts
from .radio_galaxies import check_radio_galaxy_population

__all__ = ["SkyConfig", "ClusterConfig", "DEFAULT_DIFFUSE_RATES", "SKY_PRESETS"]

#: Named skies: keywords of `~astropy_radiounet.simulation.simulate_field`.
#: ``'lotss'`` is the default LoTSS-like sky (striped residual noise, spokes
#: around bright sources, radio galaxies from the LoMorph population);
#: ``'v0.2'`` the sky the shipped v0.2 model was trained on (isotropic
#: noise, ring-like artefacts, the four radio-galaxy kinds of version 0.2),
#: which it reproduces bit for bit.
SKY_PRESETS = MappingProxyType({
    "lotss": MappingProxyType({}),
    "v0.2": MappingProxyType({"noise_anisotropy": 1.0, "artefact_style": "rings",
                              "radio_galaxy_population": "v0.2"}),
})

#: Probabilities of each diffuse source type: per diffuse-emitting cluster (halo,
#: relic, mini-halo), per close cluster pair (bridge), per web edge (filament).
DEFAULT_DIFFUSE_RATES = {"halo": 0.75, "relic": 0.35, "mini_halo": 0.15, "bridge": 0.5,
                         "filament": 0.15}


def _set(config, name, value):
    object.__setattr__(config, name, value)  # the configs are frozen


def _resolve_center(center):
    """``(ra, dec)`` in ICRS degrees from None, a SkyCoord or a pair of angles."""
    if center is None:
        return 205.0, 55.0
    if isinstance(center, SkyCoord):
        icrs = center.icrs
    else:
        try:
            ra, dec = center
            icrs = SkyCoord(u.Quantity(ra, u.deg), u.Quantity(dec, u.deg))
        except Exception:  # noqa: BLE001
            msg = (f"center={center!r} is not a sky position; pass a SkyCoord or (ra, dec) "
                   "in degrees")
            raise ValueError(msg) from None
    if not icrs.isscalar:
        msg = f"center={center!r} must be a single sky position, not {icrs.shape} of them"
        raise ValueError(msg)
    return float(icrs.ra.deg), float(icrs.dec.deg)


@dataclass(frozen=True)
class SkyConfig:
    """
    The sky of a simulated field apart from its clusters.

    Parameters
    ----------
    center : `~astropy.coordinates.SkyCoord`, (ra, dec) or None
        Sky position of the image centre (None: RA 205, Dec 55 deg). Stored as
        ICRS ``(ra, dec)`` in degrees; `center_coord` gives the SkyCoord.
    source_counts : 'lotss', float or `SourceCounts`
        Compact-source counts: LoTSS 144 MHz counts, a power-law slope, or any
        `SourceCounts`.
    flux_range : `~astropy.units.Quantity` or tuple of float
        (min, max) flux of compact sources (stored in Jy).
    radio_galaxy_density : float
        Extended field radio galaxies per square degree (0 for none; the
        radio galaxies of the clusters come on top).  LoMorph has 13.7 per
        square degree (5,805 over the 424 deg^2 of LoTSS-DR1), a sample cut
        by its selection; the default 20 is above it.
    overdensities : bool
        Add over-densities of faint compact cluster members and central AGN.
    radio_galaxy_population : {'lomorph', 'v0.2'}
        The radio galaxies: ``'lomorph'`` draws the kinds, angular sizes and
        fluxes of field radio galaxies from fits to the LoMorph catalogue of
        LoTSS-DR1 radio galaxies (FRI, FRII, indeterminate, NAT, WAT,
        double-double, small, and a few per cent of remnants), and gives each
        cluster a central radio galaxy and tailed members with
        mass-dependent rates
        (`~astropy_radiounet.simulation.cluster_radio_galaxy_rates`);
        ``'v0.2'`` draws the FRI, FRII, head-tail and WAT galaxies of
        package version 0.2, so that, with the instrument of that version
        (``noise_anisotropy=1``, ``artefact_style='rings'``), a seed gives the
        field the shipped v0.2 model was trained on, bit for bit.

    Examples
    --------
    >>> import astropy.units as u
    >>> SkyConfig(flux_range=(0.1, 100) * u.mJy).flux_range
    (0.0001, 0.1)
    >>> SkyConfig(radio_galaxy_density=-1)
    Traceback (most recent call last):
    ...
    ValueError: radio_galaxy_density=-1 must be finite and non-negative
    >>> SkyConfig(radio_galaxy_population="v0.2").radio_galaxy_population
    'v0.2'
    """

    center: tuple = None
    source_counts: object = "lotss"
    flux_range: tuple = (20e-6, 10.0)
    radio_galaxy_density: float = 20.0
    overdensities: bool = True
    radio_galaxy_population: str = "lomorph"

    def __post_init__(self):
        _set(self, "center", _resolve_center(self.center))
        resolve_counts(self.source_counts)  # validates
        _set(self, "flux_range", _range("flux_range", self.flux_range, u.Jy, low=0.0))
        _set(self, "radio_galaxy_density", to_value(
            "radio_galaxy_density", self.radio_galaxy_density, u.deg**-2, allow_zero=True))
        _set(self, "overdensities", bool(self.overdensities))
        check_radio_galaxy_population(self.radio_galaxy_population)

    @property
    def center_coord(self):
        """The image centre as an ICRS `~astropy.coordinates.SkyCoord`."""
        return SkyCoord(self.center[0] * u.deg, self.center[1] * u.deg)

    @property
    def counts(self):
        """The compact-source counts as a `SourceCounts` instance."""
        return resolve_counts(self.source_counts)


@dataclass(frozen=True)
class ClusterConfig:
    """
    The galaxy clusters of a simulated field and their diffuse emission.

    Parameters
    ----------
    n_clusters : int
        Number of galaxy clusters, placed at the highest peaks of the density field.
    redshift : float, optional
        Redshift of the structure (clusters, bridges, filaments); drawn uniformly
        from ``redshift_range`` when None.
    redshift_range : tuple of float
        Range for the random redshift, within [0.001, 5].
    mass_range : `~astropy.units.Quantity` or tuple of float
        (min, max) of M500 (stored in Msun), drawn from a steep mass function.
    diffuse_probability : float, optional
        Probability that a cluster hosts diffuse emission (None: rising with mass
        from 0.1 to 0.85).
    diffuse_rates : dict, optional
        Overrides of `DEFAULT_DIFFUSE_RATES`; stored as the full read-only mapping
        of the five rates.
    cluster_at_center : bool
        Put the first (most massive) cluster at the image centre.
    diffuse_scale : float
        Multiply the brightness of all diffuse sources (augmentation, tests).
    mask_level : float
        Truth-mask threshold in units of the local noise rms (Radio U-Net: 1e-3).

    Examples
    --------
    >>> ClusterConfig(diffuse_rates={"relic": 0.0}).diffuse_rates["relic"]
    0.0
    >>> ClusterConfig(n_clusters=1.5)
    Traceback (most recent call last):
    ...
    ValueError: n_clusters=1.5 must be a non-negative integer, e.g. n_clusters=2
    """

    n_clusters: int = 1
    redshift: float = None
    redshift_range: tuple = (0.08, 0.6)
    mass_range: tuple = (2e14, 1.5e15)
    diffuse_probability: float = None
    diffuse_rates: MappingProxyType = dc_field(default=None, hash=False)
    cluster_at_center: bool = False
    diffuse_scale: float = 1.0
    mask_level: float = 1e-3

    def __post_init__(self):
        _set(self, "n_clusters", _count("n_clusters", self.n_clusters))
        _set(self, "redshift_range", check_range("redshift_range", self.redshift_range,
                                                 low=1e-3, high=5.0))
        if self.redshift is not None:
            _set(self, "redshift", _redshift(self.redshift))
        _set(self, "mass_range", _range("mass_range", self.mass_range, u.Msun, low=1e12))
        if self.diffuse_probability is not None:
            _set(self, "diffuse_probability",
                 check_probability("diffuse_probability", self.diffuse_probability))
        _set(self, "diffuse_rates", _rates(self.diffuse_rates))
        _set(self, "cluster_at_center", bool(self.cluster_at_center))
        _set(self, "diffuse_scale", to_value("diffuse_scale", self.diffuse_scale,
                                             u.dimensionless_unscaled, allow_zero=True))
        level = self.mask_level
        if isinstance(level, bool) or not (isinstance(level, (int, float, np.number))
                                           and 0 < level < np.inf):
            msg = f"mask_level={level!r} must be a positive number (Radio U-Net: 1e-3)"
            raise ValueError(msg)


def _range(name, value, unit, *, low):
    """A (min, max) pair in ``unit`` (from a Quantity or numbers), as floats."""
    values = np.atleast_1d(to_value(name, value, unit)).tolist()
    return check_range(name, tuple(values) if len(values) != 1 else values[0], low=low)


def _count(name, value):
    try:
        ok = int(value) == value and value >= 0 and not isinstance(value, bool)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        msg = f"{name}={value!r} must be a non-negative integer, e.g. {name}=2"
        raise ValueError(msg)
    return int(value)


def _redshift(value):
    try:
        z = float(value)
    except (TypeError, ValueError):
        z = np.nan
    if not 1e-3 <= z <= 5.0:
        msg = (f"redshift must be between 0.001 and 5; got {value!r}. Pass a redshift in "
               "that range, or None to draw it from redshift_range.")
        raise ValueError(msg)
    return z


def _rates(overrides):
    """The five diffuse rates: the defaults updated with ``overrides``, read-only."""
    rates = dict(DEFAULT_DIFFUSE_RATES)
    if overrides:
        if not hasattr(overrides, "keys"):
            msg = (f"diffuse_rates={overrides!r} must be a dict of rates, e.g. "
                   "diffuse_rates={'halo': 1.0, 'relic': 0.0}")
            raise ValueError(msg)
        unknown = set(overrides) - set(rates)
        if unknown:
            msg = (f"diffuse_rates has unknown keys {sorted(unknown)}; "
                   f"valid keys are {sorted(rates)}")
            raise ValueError(msg)
        rates.update({key: check_probability(f"diffuse_rates[{key!r}]", value)
                      for key, value in overrides.items()})
    return MappingProxyType(rates)
