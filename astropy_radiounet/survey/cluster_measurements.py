"""
Physical measurements of a survey run: the diffuse emission of each classified
cluster (`~astropy_radiounet.measure.measure_cluster` on the compact-subtracted
cutout), upper limits for the clusters without a detection
(`~astropy_radiounet.measure.upper_limit`), their columns in the classify
table, and the radio power against mass plot.

`~astropy_radiounet.survey.classify_clusters` calls these per cluster
(``measure=True``, ``upper_limits=True``); the settings are those of
`measurement_settings`, recorded in the run manifest.
"""

import hashlib
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from ..measure.cluster import CLUSTER_COLUMNS
from ..measure.limits import check_segmentation_budget

__all__ = ["measurement_settings", "measure_unit", "limit_unit", "no_limit",
           "add_measurement_columns", "write_power_mass", "LIMIT_COLUMNS"]

#: The upper-limit columns of the classify table, their units and descriptions.
LIMIT_COLUMNS = {
    "limit_flux": (u.mJy, "flux density of a mock halo detected half of the time"),
    "limit_flux_low": (u.mJy, "brightest mock halo missed"),
    "limit_flux_high": (u.mJy, "faintest mock halo detected"),
    "limit_power_150": (u.W / u.Hz, "the limit as a radio power at 150 MHz"),
    "limit_r_e": (u.kpc, "e-folding radius of the mock halos"),
    "limit_flags": (None, "not_bracketed when the trials never changed outcome"),
}


#: Detections named on the radio power against mass plot at most.
MAX_LABELS = 25


def measurement_settings(*, flux_scale_error=0.1, alpha=-1.3, frequency=144 * u.MHz,
                         limit_segmentations=10):
    """
    The checked settings of the measurements, as recorded in a run manifest.

    Parameters
    ----------
    flux_scale_error : float, optional
        Fractional flux-scale error (LoTSS: 0.1).
    alpha : float, optional
        Spectral index of the k-correction to 150 MHz.
    frequency : `~astropy.units.Quantity`, optional
        Observed frequency of the mosaics.
    limit_segmentations : int, optional
        Segmentations per upper limit.

    Returns
    -------
    settings : dict
        ``flux_scale_error``, ``alpha``, ``frequency_mhz`` and
        ``limit_segmentations`` as plain numbers.

    Examples
    --------
    >>> from astropy_radiounet.survey.cluster_measurements import measurement_settings
    >>> measurement_settings()["frequency_mhz"]
    144.0
    """
    flux_scale_error = float(flux_scale_error)
    if not 0 <= flux_scale_error < 1:
        msg = (f"flux_scale_error is a fraction of the flux density in [0, 1) (LoTSS: 0.1); "
               f"got {flux_scale_error!r}.")
        raise ValueError(msg)
    alpha = float(alpha)
    if not (np.isfinite(alpha) and -5 < alpha < 3):
        msg = (f"alpha is a spectral index (S ~ nu^alpha, halos about -1.3) and must lie in "
               f"(-5, 3); got {alpha!r}.")
        raise ValueError(msg)
    if not isinstance(frequency, u.Quantity) or not frequency.unit.is_equivalent(u.Hz):
        msg = f"frequency must be a frequency Quantity (e.g. 144 * u.MHz); got {frequency!r}."
        raise TypeError(msg)
    frequency_mhz = float(frequency.to_value(u.MHz))
    if not (np.isfinite(frequency_mhz) and frequency_mhz > 0):
        msg = f"frequency must be positive; got {frequency!r}."
        raise ValueError(msg)
    limit_segmentations = check_segmentation_budget(limit_segmentations,
                                                    "limit_segmentations")
    return {"flux_scale_error": flux_scale_error, "alpha": alpha,
            "frequency_mhz": frequency_mhz, "limit_segmentations": limit_segmentations}


def _cluster(task):
    row = task["row"]
    coord = SkyCoord(row["ra"] * u.deg, row["dec"] * u.deg)
    return coord, row["radius_arcmin"] * u.arcmin, row["r500_kpc"] * u.kpc, row["z"]


def measure_unit(task, cut_plane, probability, segmenter, *, fit_profile=True):
    """
    Measure one cluster of a classify run: the compact sources of the
    segments in its aperture are subtracted (only those: the others do not
    matter and cost time), and the exponential profile is fitted when
    ``fit_profile`` (the survey fits the clusters it detects).

    Returns
    -------
    row : dict
        The columns of ``CLUSTER_COLUMNS``
        (`~astropy_radiounet.measure.ClusterMeasurement.to_row`).
    measurement : `~astropy_radiounet.measure.ClusterMeasurement`
        Its ``compact`` is the subtraction (`None` without a segment).
    """
    from photutils.utils import NoDetectionsWarning

    from ..measure.cluster import measure_cluster

    settings = task["measure"]
    coord, radius, r500, z = _cluster(task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)  # recorded as no_segment
        segments = segmenter.segment(probability, wcs=cut_plane.wcs, beam=cut_plane.beam)
    measurement = measure_cluster(
        cut_plane, segments, coord, radius=radius, r500=r500, redshift=z, compact="region",
        flux_scale_error=settings["flux_scale_error"], alpha=settings["alpha"],
        frequency=settings["frequency_mhz"] * u.MHz, fit_profile=fit_profile)
    return measurement.to_row(), measurement


def limit_unit(task, cut_plane, segmenter, ratio_threshold):
    """The upper-limit columns (``LIMIT_COLUMNS``) of one cluster without a detection."""
    from ..clusters.r500 import angular_radius
    from ..measure.limits import halo_e_folding_radius, upper_limit

    settings = task["measure"]
    coord, radius, r500, z = _cluster(task)
    r_e = halo_e_folding_radius(r500)
    seed = int.from_bytes(hashlib.sha256(task["row"]["name"].encode()).digest()[:8], "little")
    limit = upper_limit(segmenter, cut_plane, coord, radius=radius,
                        r_e=angular_radius(r_e, z), ratio_threshold=ratio_threshold,
                        n_segmentations=settings["limit_segmentations"], redshift=z,
                        alpha=settings["alpha"], frequency=settings["frequency_mhz"] * u.MHz,
                        seed=seed)
    return {"limit_flux": float(limit.flux.to_value(u.mJy)),
            "limit_flux_low": float(limit.flux_low.to_value(u.mJy)),
            "limit_flux_high": float(limit.flux_high.to_value(u.mJy)),
            "limit_power_150": float(limit.power_150.to_value(u.W / u.Hz)),
            "limit_r_e": float(r_e.to_value(u.kpc)),
            "limit_flags": "" if limit.bracketed else "not_bracketed"}


def no_limit():
    """The upper-limit columns of a cluster with a detection: NaN, no flags."""
    return {name: ("" if unit is None else float("nan"))
            for name, (unit, _) in LIMIT_COLUMNS.items()}


def add_measurement_columns(table, rows):
    """
    Add the measurement and upper-limit columns, with units, to the classify
    table (in place), for the columns any of the unit ``rows`` has.
    """
    for columns in (CLUSTER_COLUMNS, LIMIT_COLUMNS):
        if not any(name in row for row in rows for name in columns):
            continue
        for name, (unit, description) in columns.items():
            if unit is None:
                default = 0 if name == "n_segments" else ""
                table[name] = [row.get(name, default) for row in rows]
            else:
                table[name] = u.Quantity([row.get(name, np.nan) for row in rows], unit)
            table[name].description = description


def write_power_mass(table, path):
    """
    The radio power against M500 plot of a classify table with measurements.

    Detections are the clusters classified ``detected`` with a power; upper
    limits those with a ``limit_power_150``.  M500 is computed from the
    table's R500 and redshift.
    """
    import matplotlib.pyplot as plt

    from ..clusters.r500 import m500_from_r500
    from ..visualization import plot_power_mass

    m500 = m500_from_r500(table["r500"], np.asarray(table["z"], dtype=float))
    detected = np.asarray(table["detected"], dtype=bool)
    nan = np.nan * u.W / u.Hz
    power = np.where(detected, table["power_150"], nan)
    power_err = np.where(detected, table["power_150_err"], nan)
    limit = (np.where(~detected, table["limit_power_150"], nan)
             if "limit_power_150" in table.colnames else None)
    # Names are readable next to a few dozen points, not thousands.
    labels = table["name"] if np.isfinite(power).sum() <= MAX_LABELS else None
    ax = plot_power_mass(m500, power, power_err=power_err, upper_limit=limit, labels=labels,
                         title=f"{detected.sum()} detections of {len(table)} clusters")
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
