"""
Galaxy-cluster catalogues (PSZ2, ACT, MCXC, eRASS1, ...) as one standard table.

Catalogues name their columns in many ways (``RA``, ``RAdeg``, ``_RAJ2000``;
``REDSHIFT``, ``z``; ``MSZ`` in 1e14 solar masses, ``M500``, ``R500``).
`read_cluster_catalog` finds them (or takes an explicit mapping) and returns a
`~astropy.table.QTable` with ``name``, ``ra``, ``dec`` (deg), ``z`` and
``r500`` (kpc) and/or ``m500`` (Msun).  A mass or radius column without a
unit is refused: guessing whether ``MSZ = 6.3`` means 6.3e14 solar masses
would silently change results.  `catalog_r500` gives every cluster's R500,
from its ``r500`` where known and otherwise from ``m500`` and ``z``.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from .r500 import DEFAULT_APERTURE_FACTOR, _r500, _warn_implausible_m500, angular_radius

__all__ = ["read_cluster_catalog", "catalog_r500", "catalog_apertures", "COLUMN_CANDIDATES"]

#: Column names tried, case-insensitively, for each standard column.
COLUMN_CANDIDATES = {
    "name": ("name", "cluster", "id", "cluster_name", "psz2_name", "mcxc"),
    "ra": ("ra", "ra_deg", "radeg", "raj2000", "_raj2000", "ra_icrs"),
    "dec": ("dec", "dec_deg", "dedeg", "decdeg", "dej2000", "_dej2000", "dec_icrs"),
    "z": ("z", "redshift", "zspec", "z_spec", "zbest"),
    "m500": ("m500", "m500c", "msz", "m500_msun"),
    "r500": ("r500", "r500c", "r500_kpc"),
}


def _find(table, key, explicit):
    if key in explicit:
        name = explicit[key]
        if name not in table.colnames:
            msg = (f"columns={{'{key}': '{name}'}} names no column of the catalogue; its "
                   f"columns are {table.colnames}.")
            raise ValueError(msg)
        return name
    lower = {name.lower(): name for name in table.colnames}
    for candidate in COLUMN_CANDIDATES[key]:
        if candidate in lower:
            return lower[candidate]
    return None


def _numbers(table, column, key):
    try:
        return np.asarray(table[column], dtype=float)
    except (TypeError, ValueError):
        msg = (f"Catalogue column {column!r} ({key}) holds values that are not numbers "
               f"(e.g. {table[column][0]!r}); map another column with "
               f"columns={{'{key}': ...}}.")
        raise ValueError(msg) from None


def _with_unit(table, column, key, unit, units):
    values = table[column]
    if key in units:
        given = units[key]
        try:
            if isinstance(given, str) and given.strip()[:1] in tuple("0123456789.+-"):
                given = u.Quantity(given)  # '1e14 solMass', as on the command line
            elif not isinstance(given, u.Quantity):
                given = u.Quantity(1.0, u.Unit(given))
        except (TypeError, ValueError):
            given = None
        if given is None or not given.unit.is_equivalent(unit):
            msg = (f"units={{'{key}': {units[key]!r}}} is not a unit of {unit.physical_type}; "
                   f"give one such as {'1e14 * u.Msun' if key == 'm500' else 'u.Mpc'} "
                   f"(or the string {'1e14 solMass' if key == 'm500' else 'Mpc'!r}).")
            raise ValueError(msg)
        return (_numbers(table, column, key) * given).to(unit)
    if getattr(values, "unit", None) is None:
        msg = (f"Catalogue column {column!r} ({key}) has no unit; say what it is, e.g. "
               f"units={{'{key}': {'1e14 * u.Msun' if key == 'm500' else 'u.Mpc'}}}.")
        raise ValueError(msg)
    try:
        return u.Quantity(values).to(unit)
    except u.UnitConversionError:
        msg = (f"Catalogue column {column!r} ({key}) has unit {values.unit}, which is not a "
               f"{unit.physical_type}; map the right column with columns={{'{key}': ...}}.")
        raise ValueError(msg) from None


def read_cluster_catalog(source, *, columns=None, units=None, format=None):
    """
    Read a cluster catalogue into the standard columns.

    Parameters
    ----------
    source : str, path, `~astropy.table.Table`
        An ECSV, FITS, VOTable or CSV file (anything `astropy.table.Table.read`
        reads), or a table.
    columns : dict, optional
        Standard name (``name``, ``ra``, ``dec``, ``z``, ``m500``, ``r500``)
        to the catalogue's column name, for columns not found automatically.
    units : dict, optional
        Units of unit-less columns, e.g. ``{'m500': 1e14 * u.Msun}`` (or the
        string ``'1e14 solMass'``).
    format : str, optional
        Table format, when the file extension does not tell.

    Returns
    -------
    catalog : `~astropy.table.QTable`
        ``name``, ``ra``, ``dec`` (deg), ``z``, and ``m500`` (Msun) and/or
        ``r500`` (kpc), in the catalogue's order.

    Raises
    ------
    ValueError
        If a needed column is missing, has no unit, or no cluster has a size.

    Warns
    -----
    `~astropy_radiounet.exceptions.CatalogWarning`
        When masses are outside 1e12 to 1e16 solar masses: a column in units
        of 1e14 solar masses read as solar masses (the warning names the rows
        and the ``units=`` that reads them right).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.table import Table
    >>> from astropy_radiounet.clusters.catalogs import read_cluster_catalog
    >>> psz2 = Table({'NAME': ['PSZ2 G000.00+00.00'], 'RA': [205.0], 'DEC': [55.0],
    ...               'REDSHIFT': [0.2], 'MSZ': [6.0]})
    >>> read_cluster_catalog(psz2, units={'m500': 1e14 * u.Msun})['m500']
    <Quantity [6.e+14] solMass>
    """
    columns = dict(columns or {})
    units = dict(units or {})
    unknown = (set(columns) | set(units)) - set(COLUMN_CANDIDATES)
    if unknown:
        msg = (f"Unknown standard column(s) {sorted(unknown)}; use "
               f"{sorted(COLUMN_CANDIDATES)}.")
        raise ValueError(msg)
    if isinstance(source, Table):
        table = source
    else:
        try:
            table = Table.read(source, format=format)
        except Exception as exc:  # noqa: BLE001 - astropy raises many kinds
            msg = f"Cannot read the cluster catalogue {str(source)!r}: {exc}"
            raise ValueError(msg) from exc
    found = {key: _find(table, key, columns) for key in COLUMN_CANDIDATES}
    missing = [key for key in ("ra", "dec", "z") if found[key] is None]
    if missing:
        msg = (f"The catalogue has no column for {missing}; its columns are {table.colnames}. "
               f"Map them with columns={{'ra': 'MY_RA', ...}}.")
        raise ValueError(msg)
    if found["m500"] is None and found["r500"] is None:
        msg = (f"The catalogue has neither an M500 nor an R500 column (columns: "
               f"{table.colnames}); map one with columns={{'m500': ...}}.")
        raise ValueError(msg)
    result = QTable()
    if found["name"] is not None:
        result["name"] = [str(value).strip() for value in table[found["name"]]]
    else:
        result["name"] = [f"cluster_{i + 1:05d}" for i in range(len(table))]
    for key in ("ra", "dec"):
        column = table[found[key]]
        if key in units or getattr(column, "unit", None) is not None:
            result[key] = _with_unit(table, found[key], key, u.deg, units)
        else:
            result[key] = np.asarray(column, dtype=float) * u.deg
    result["z"] = np.asarray(table[found["z"]], dtype=float)
    if found["m500"] is not None:
        result["m500"] = _with_unit(table, found["m500"], "m500", u.Msun, units)
        _warn_implausible_m500(
            result["m500"], labels=[repr(str(name)) for name in result["name"]],
            fix=(f"if column {found['m500']!r} is in those units, pass "
                 f"units={{'m500': 1e14 * u.Msun}} (on the command line: "
                 f"--unit m500='1e14 solMass')"))
    if found["r500"] is not None:
        result["r500"] = _with_unit(table, found["r500"], "r500", u.kpc, units)
    names = [str(name) for name in result["name"]]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        msg = (f"Cluster names must be unique (they name the per-cluster results); the "
               f"catalogue repeats {repeated[:5]}{' and more' if len(repeated) > 5 else ''}.  "
               f"Map another column with columns={{'name': ...}}.")
        raise ValueError(msg)
    return result


def catalog_r500(catalog, *, cosmology=None):
    """
    R500 of every cluster of a catalogue, row by row.

    A cluster's ``r500`` is used where it is finite and positive; otherwise
    R500 follows from its ``m500`` and redshift
    (`~astropy_radiounet.clusters.r500_from_m500`) where those are finite and
    positive.  Catalogues mark unknown values as NaN, 0 or -1 (PSZ2 writes
    ``REDSHIFT = -1``), so such values count as unknown, never as sizes.

    Parameters
    ----------
    catalog : `~astropy.table.QTable`
        From `read_cluster_catalog`: ``z`` and ``r500`` and/or ``m500``.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    r500 : `~astropy.units.Quantity`
        In kpc, one per row; NaN for a cluster with neither a usable R500
        nor a usable M500 and redshift.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.table import QTable
    >>> from astropy_radiounet.clusters.catalogs import catalog_r500
    >>> clusters = QTable({'z': [0.2, 0.2, -1.0], 'r500': [900, np.nan, np.nan] * u.kpc,
    ...                    'm500': [6e14, 6e14, 6e14] * u.Msun})
    >>> catalog_r500(clusters).round(-1)  # doctest: +FLOAT_CMP
    <Quantity [ 900., 1230.,   nan] kpc>
    """
    r500 = np.full(len(catalog), np.nan) * u.kpc
    if "r500" in catalog.colnames:
        given = u.Quantity(catalog["r500"], u.kpc)
        known = np.isfinite(given) & (given > 0)
        r500[known] = given[known]
    if "m500" in catalog.colnames:
        m500 = u.Quantity(catalog["m500"], u.Msun)
        z = np.asarray(catalog["z"], dtype=float)
        with np.errstate(invalid="ignore"):
            use = (~np.isfinite(r500) & np.isfinite(m500) & (m500 > 0) & np.isfinite(z)
                   & (z > 0))
        if use.any():
            r500[use] = _r500(m500[use], z[use], cosmology)
    return r500


def catalog_apertures(catalog, factor=DEFAULT_APERTURE_FACTOR, *, cosmology=None):
    """
    The aperture of every cluster of a catalogue, and why a cluster has none.

    Parameters
    ----------
    catalog : `~astropy.table.QTable`
        From `read_cluster_catalog`: ``z`` and ``r500`` and/or ``m500``.
    factor : float, optional
        Aperture radius in units of R500.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Planck18 by default.

    Returns
    -------
    r500 : `~astropy.units.Quantity`
        In kpc, one per row (`catalog_r500`); NaN where unknown.
    radius : `~astropy.units.Quantity`
        Aperture radius (``factor`` x R500) as an angle, in arcmin; NaN
        where the cluster has no aperture.
    problems : `~numpy.ndarray` of str
        ``''`` for a usable cluster, ``'no_redshift'`` when the redshift is
        not finite and positive, ``'no_size'`` when neither R500 nor M500
        is usable.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.table import QTable
    >>> from astropy_radiounet.clusters.catalogs import catalog_apertures
    >>> clusters = QTable({'z': [0.2, -1.0, 0.3], 'r500': [900, 900, np.nan] * u.kpc})
    >>> r500, radius, problems = catalog_apertures(clusters)
    >>> problems.tolist()
    ['', 'no_redshift', 'no_size']
    >>> radius[0].round(2)  # doctest: +FLOAT_CMP
    <Quantity 9.68 arcmin>
    """
    r500 = catalog_r500(catalog, cosmology=cosmology)
    z = np.asarray(catalog["z"], dtype=float)
    with np.errstate(invalid="ignore"):
        has_z = np.isfinite(z) & (z > 0)
    problems = np.where(~has_z, "no_redshift", np.where(np.isfinite(r500), "", "no_size"))
    radius = np.full(len(catalog), np.nan) * u.arcmin
    good = problems == ""
    if good.any():
        radius[good] = angular_radius(factor * r500[good], z[good], cosmology=cosmology)
    return r500, radius, problems
