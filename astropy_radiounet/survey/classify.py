"""
Catalogue-driven cluster classification over survey mosaics.

For every cluster of a catalogue (see
`~astropy_radiounet.clusters.read_cluster_catalog`) the mosaics covering it are
found from their headers, a cutout of the aperture (``factor`` x R500) plus
context is segmented, and the detection ratio R is measured.  The result is a
`~astropy.table.QTable` with R, coverage, class, the mosaic used and flags.

Choice of mosaic: see `~astropy_radiounet.survey.MosaicIndex`.

Runs are resumable: each cluster's result is written atomically to
``<output_dir>/units/<name>.json`` as soon as it is known, and the final
table is assembled from the units, so a killed run loses nothing and
duplicates nothing.  A rerun reuses the clusters already measured (status
``ok`` or ``blank``) whose catalogue values are unchanged, and does every
other cluster again: those that failed (for example all the clusters still
pending when a worker process crashed), those off the footprint (more
mosaics may have been given) and those without a redshift or size (the
catalogue may have been completed).  A cluster that fails (corrupt file,
no redshift, off the footprint) is recorded with its reason and never stops
the run.

Unit files are named after the clusters, with every character other than
letters, digits and ``_.+-`` replaced by ``_``; names that would share a
file (``Abell 2256`` and ``Abell_2256``, or names differing only in case,
which some file systems do not tell apart) are refused before any work.
Names longer than 100 characters are cut and end with a hash of the whole
name.  A cluster measured in an earlier run is never replaced by a
non-measurement (a rerun given fewer mosaics keeps it), and one output
directory holds one run at a time (`~astropy_radiounet.utils.run_lock`).

The settings that determine the results (the model, ``factor``,
``context`` and ``ratio_threshold``) are written to
``<output_dir>/classify_manifest.json``; a rerun with other settings is
refused rather than mixing results of both.

Parallel runs follow reproject's ``parallel=`` convention
(`~astropy_radiounet.utils.run_tasks`): `False` (serial), `True` or an
integer (one local process per CPU core, or that many), or ``'current-scheduler'``
(whatever dask scheduler is active, for example a ``dask.distributed``
client connected to an HPC cluster).  Tasks carry the cluster row, the
mosaic path and the segmenter, which pickles as its settings
(`~astropy_radiounet.segmentation.SegmenterBase`): each worker builds it,
and loads its model, once.
"""

import hashlib
import json
import logging
import re
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from ..clusters.catalogs import catalog_apertures
from ..clusters.r500 import DEFAULT_APERTURE_FACTOR
from ..exceptions import BlankDataWarning, CatalogWarning
from ..utils.files import atomic_write, run_lock
from ..utils.validation import PositiveNumber
from ..utils.parallel import run_tasks
from .cluster_measurements import (add_measurement_columns, measurement_settings,
                                   write_power_mass)
from .manifests import check_run_manifest, model_identity, write_json_atomic
from .mosaics import MosaicIndex
from .products import product_path

__all__ = ["classify_clusters"]

log = logging.getLogger(__name__)

#: Coverage below which a cluster is flagged ``partial``.
PARTIAL_COVERAGE = 0.9

#: Statuses of a unit that holds a measurement, reused by a rerun.  Units of
#: any other status (failed, off_footprint, no_redshift, no_size) are redone.
MEASURED_STATUSES = ("ok", "blank")

#: The catalogue values recorded in a unit, compared on a rerun.
_ROW_KEYS = ("ra", "dec", "z", "r500_kpc", "radius_arcmin")


def _check_segmenter(segmenter):
    """The default segmenter for `None`; a clear error for anything but a segmenter."""
    from ..segmentation.base import SegmenterBase
    from ..segmentation.segmenter import RadioUNetSegmenter

    if segmenter is None:
        return RadioUNetSegmenter()
    if not isinstance(segmenter, SegmenterBase):
        msg = (f"segmenter must be a RadioUNetSegmenter (or another SegmenterBase); got "
               f"{type(segmenter).__name__}.  Build one with RadioUNetSegmenter(weights=...).")
        raise TypeError(msg)
    return segmenter


#: Longest unit-file stem; longer names are cut and given a hash of the whole name
#: (file systems allow 255 bytes, and the products add suffixes).
_MAX_UNIT_NAME = 100


def _unit_name(name):
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_") or "cluster"
    if len(stem) > _MAX_UNIT_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        stem = f"{stem[:_MAX_UNIT_NAME - 13]}_{digest}"
    return stem


def _check_unit_names(names):
    """Refuse names that would share a unit file (also on case-insensitive file systems)."""
    files = {}
    for name in names:
        files.setdefault(_unit_name(str(name)).casefold(), []).append(str(name))
    shared = [group for group in files.values() if len(group) > 1]
    if shared:
        listed = "; ".join(" and ".join(repr(name) for name in group) for group in shared[:5])
        msg = (f"Cluster names {listed}{' (and more)' if len(shared) > 5 else ''} would share "
               f"one result file (units/<name>.json keeps letters, digits and _.+- and "
               f"replaces the rest by _; some file systems ignore case), so one result "
               f"would be lost.  Make the names distinct in the catalogue, or map another "
               f"name column with columns={{'name': ...}} (--column name=...).")
        raise ValueError(msg)


_PROBLEM_REASONS = {
    "no_redshift": "the redshift is unknown (not finite and positive): no R500 angle",
    "no_size": "neither R500 nor M500 is known (finite and positive): no aperture",
}


def _same_row(unit, row):
    """Whether a unit was made from these catalogue values (NaN equals NaN)."""
    for key in _ROW_KEYS:
        a, b = unit.get(key), row[key]
        if a is None or not (a == b or (np.isnan(a) and np.isnan(b))):
            return False
    return unit.get("name") == row["name"]


def _has_asked(unit, template):
    """Whether a unit holds the measurements and limits asked for now."""
    if template is None:
        return True
    if template.get("do_measure") and "flux" not in unit:
        return False
    return not (template.get("do_limits") and unit.get("status") == "ok"
                and "limit_flux" not in unit)


def _reusable_unit(unit_path, row, template=None):
    """
    'reuse', 'changed' (measured from other catalogue values) or 'redo' (not
    measured, or without the measurements of ``template`` asked for now).
    """
    if not unit_path.is_file():
        return "redo"
    try:
        unit = json.loads(unit_path.read_text())
    except ValueError:
        return "redo"
    if unit.get("status") not in MEASURED_STATUSES or not _has_asked(unit, template):
        return "redo"
    return "reuse" if _same_row(unit, row) else "changed"


def _unit_result(task):
    """The result dictionary of a cluster before it is measured."""
    result = dict(task["row"])
    result.update(ratio=float("nan"), coverage=0.0, n_pixels=0, detected=False,
                  mosaic=task["mosaic"] or "", flags="", status="ok", reason="")
    return result


def _unit_failure(task, exc):
    """The result of a cluster whose task raised outside `_classify_unit`."""
    result = _unit_result(task)
    result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    return result


def _classify_unit(task):
    """Measure one cluster; returns its result dictionary (never raises)."""
    result = _unit_result(task)
    if task["mosaic"] is None:
        result.update(status="off_footprint", reason="no mosaic holds the cluster centre")
        return result
    try:
        from ..clusters.detection_ratio import DetectionRatio
        from ..image.beams import pixel_scale
        from ..image.read import read_image

        segmenter = task["segmenter"]
        plane = read_image(task["mosaic"])
        coord = SkyCoord(task["row"]["ra"] * u.deg, task["row"]["dec"] * u.deg)
        radius = task["row"]["radius_arcmin"] * u.arcmin
        side = 2 * radius * task["context"]
        # An aperture larger than the mosaic (a nearby cluster) is cut to the
        # mosaic rather than padded with blank pixels: memory stays that of the
        # mosaic, and the coverage still counts the aperture's pixels off it.
        larger = (side / pixel_scale(plane.wcs)).decompose().value > max(plane.shape)
        cut_plane = plane.cutout(coord, (side, side), mode="trim" if larger else "partial")
        probability = segmenter.predict_probability(cut_plane)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BlankDataWarning)  # recorded as status "blank"
            stats = DetectionRatio(probability, coord, radius, wcs=cut_plane.wcs)
        threshold = task["ratio_threshold"]
        ratio = float(stats.ratio[0])
        flags = []
        if larger:
            flags.append("aperture_larger_than_mosaic")
        if stats.coverage[0] < PARTIAL_COVERAGE:
            flags.append("partial")
        x, y = cut_plane.wcs.world_to_pixel(coord)
        centre = probability[int(round(float(y))), int(round(float(x)))]
        if not np.isfinite(centre):
            flags.append("blank_centre")
        if stats.n_pixels[0] == 0:
            result.update(status="blank", reason="no valid pixel in the aperture")
        result.update(ratio=ratio, coverage=float(stats.coverage[0]),
                      n_pixels=int(stats.n_pixels[0]),
                      detected=bool(threshold is not None and ratio > threshold),
                      flags=",".join(flags))
        measured = _measure(task, result, cut_plane, probability, segmenter)
        if task["products_dir"] is not None:
            _write_products(task, cut_plane, probability, stats, segmenter, measured)
    except Exception as exc:  # noqa: BLE001 - one failing unit never stops the run
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    return result


def _measure(task, result, cut_plane, probability, segmenter):
    """
    Add the measurement and upper-limit columns asked for to ``result`` (the
    limit columns are NaN for a detected cluster); returns the measurement
    for the products (or `None`).  A failing measurement is recorded in ``measure_flags`` and
    ``reason``; the classification stands.
    """
    from .cluster_measurements import limit_unit, measure_unit, no_limit

    measured = None
    try:
        if task["do_measure"]:
            row, measured = measure_unit(task, cut_plane, probability, segmenter,
                                         fit_profile=result["detected"])
            result.update(row)
        if task["do_limits"] and result["status"] == "ok":
            result.update(no_limit() if result["detected"]
                          else limit_unit(task, cut_plane, segmenter, task["ratio_threshold"]))
    except Exception as exc:  # noqa: BLE001 - the classification is kept
        result.update(measure_flags="measure_failed",
                      reason=f"measurement failed: {type(exc).__name__}: {exc}")
    return measured


def _write_products(task, cut_plane, probability, stats, segmenter, measured=None):
    """
    Probability cutout (FITS), overlay (PNG) and aperture (DS9) of one
    cluster; with a measurement also the compact-subtracted cutout (FITS),
    and the overlay shows the measured region and the fitted profile.
    """
    from ..visualization import plot_overlay
    from .products import product_header, product_path, save_figure, write_fits, write_regions

    directory, stem = task["products_dir"], _unit_name(task["row"]["name"])
    header = product_header(cut_plane.wcs, segmenter, OBJECT=task["row"]["name"][:68],
                            RATIO=(float(stats.ratio[0]), "detection ratio in the aperture"))
    write_fits(product_path(directory, stem, "probability"), probability, header)
    write_regions(product_path(directory, stem, "aperture"), stats.to_regions())
    values, valid = cut_plane.read()
    ax = plot_overlay(np.where(valid, values, np.nan), probability,
                      wcs=cut_plane.wcs, threshold=segmenter.threshold,
                      title=f"{task['row']['name']}: R = {stats.ratio[0]:.4f}")
    stats.to_regions()[0].to_pixel(cut_plane.wcs).plot(ax=ax, edgecolor="yellow", lw=1.5)
    if measured is not None:
        if measured.compact is not None:
            measured.compact.write(product_path(directory, stem, "compact_subtracted"),
                                   overwrite=True)
        _draw_measurement(ax, measured, cut_plane.wcs)
    save_figure(ax.figure, product_path(directory, stem, "overlay"))


def _draw_measurement(ax, measurement, wcs):
    """The measured region (green) and circles at r_e and 3 r_e of the fit (magenta)."""
    from matplotlib.patches import Circle

    from ..image.beams import angle_pixels

    if measurement.n_segments:
        ax.contour(measurement.region.astype(float), levels=[0.5], colors="tab:green",
                   linewidths=1.2)
    fit = measurement.profile
    if fit is not None:  # fitted on a binned grid: drawn from its sky values
        x0, y0 = (float(v) for v in wcs.world_to_pixel(fit.centre))
        r_e = angle_pixels(fit.r_e, wcs, name="r_e")
        for factor, style in ((1, "dotted"), (3, "dashed")):
            ax.add_patch(Circle((x0, y0), factor * r_e, fill=False, edgecolor="magenta",
                                linestyle=style, lw=1.2))
    flux = measurement.flux
    if np.isfinite(flux.value):
        ax.set_title(f"{ax.get_title()}\nS = {flux.value:.1f} +/- "
                     f"{measurement.flux_err.to_value(flux.unit):.1f} {flux.unit:latex_inline}; "
                     f"region green, fit r_e and 3 r_e magenta", fontsize=9)


def classify_clusters(catalog, images, *, output_dir, segmenter=None,
                      factor=DEFAULT_APERTURE_FACTOR, context=1.5, ratio_threshold=None,
                      products=False, measure=False, upper_limits=False, flux_scale_error=0.1,
                      alpha=-1.3, frequency=144 * u.MHz, limit_segmentations=10,
                      parallel=False, progress_bar=False):
    """
    Classify every cluster of a catalogue from the mosaics covering it.

    Parameters
    ----------
    catalog : `~astropy.table.QTable`
        From `~astropy_radiounet.clusters.read_cluster_catalog`.
    images : iterable of str or path
        Mosaics (FITS).
    output_dir : str or path
        Where the per-cluster units, the final table
        (``clusters_classified.ecsv``) and the products go.
    segmenter : `~astropy_radiounet.RadioUNetSegmenter`, optional
        The segmenter; ``RadioUNetSegmenter()`` (the shipped model) by
        default.  Parallel runs send it to the workers as its settings.
    factor : float, optional
        Aperture radius in units of R500.
    context : float, optional
        Half-side of the segmented cutout in units of the aperture radius.
    ratio_threshold : float, optional
        Detection-ratio threshold of ``detected``; the model card's by default
        (when it has none, ``detected`` is `False` and ``ratio`` must be used).
    products : bool, optional
        Also write a probability cutout (FITS), an overlay (PNG) and the
        aperture (DS9) per cluster; with ``measure``, also the
        compact-subtracted cutout (FITS), and the overlay shows the
        measured region and the fitted profile.
    measure : bool, optional
        Measure the diffuse emission of every cluster
        (`~astropy_radiounet.measure.measure_cluster` on the cutout with
        compact sources subtracted,
        `~astropy_radiounet.measure.subtract_compact_sources`): the columns
        of ``astropy_radiounet.measure.CLUSTER_COLUMNS`` (flux density with
        its error, power at 150 MHz, sizes, offset in R500, exponential
        profile fit, flags), and ``power_mass.png`` in ``output_dir``.
    upper_limits : bool, optional
        For the clusters classified without diffuse emission, inject mock
        halos (`~astropy_radiounet.measure.upper_limit`, at most
        ``limit_segmentations`` segmentations of the cutout each): the
        columns of ``LIMIT_COLUMNS`` (`~astropy_radiounet.survey.cluster_measurements`).
    flux_scale_error, alpha, frequency, limit_segmentations : optional
        Settings of the measurements, see
        `~astropy_radiounet.survey.cluster_measurements.measurement_settings`.
    parallel : bool, int or 'current-scheduler', optional
        See the module documentation.
    progress_bar : bool, optional
        Show a progress bar over the clusters.

    Returns
    -------
    table : `~astropy.table.QTable`
        The catalogue's rows with ``r500``, ``radius``, ``ratio``,
        ``coverage``, ``n_pixels``, ``detected``, ``mosaic``, ``flags``,
        ``status`` and ``reason``; with ``measure`` or ``upper_limits``
        their columns, with units.
    summary : dict
        ``done`` (clusters done in this call), ``skipped`` (measured before
        and reused), ``failed``, ``off_footprint``, ``no_redshift`` and
        ``no_size`` (of those done now), ``kept`` (measured before, not
        measurable now, earlier measurement kept) and ``seconds``.

    Raises
    ------
    ValueError
        If cluster names would share a result file, or if ``output_dir``
        holds results of a run with other settings (see the module
        documentation).

    Warns
    -----
    `~astropy_radiounet.exceptions.CatalogWarning`
        When clusters have no usable redshift or size (recorded with
        status ``no_redshift`` or ``no_size``), or when clusters measured
        before have other catalogue values now (they are measured again).
    """
    started = time.perf_counter()
    _check_unit_names(catalog["name"])
    segmenter = _check_segmenter(segmenter)
    factor = PositiveNumber().validate(factor, "factor")
    context = PositiveNumber().validate(context, "context")
    if context < 1:
        msg = (f"context must be at least 1 (the cutout must hold the aperture); got "
               f"{context!r}.")
        raise ValueError(msg)
    if ratio_threshold is None:
        ratio_threshold = segmenter.card.detection_ratio_threshold
    elif not (isinstance(ratio_threshold, (int, float, np.number)) and 0 <= ratio_threshold <= 1):
        msg = (f"ratio_threshold is a detection ratio (a mean probability) and must be in "
               f"[0, 1]; got {ratio_threshold!r}.")
        raise ValueError(msg)
    settings = measurement_settings(flux_scale_error=flux_scale_error, alpha=alpha,
                                    frequency=frequency,
                                    limit_segmentations=limit_segmentations)
    if upper_limits and ratio_threshold is None:
        msg = ("upper_limits needs a detection-ratio threshold: pass ratio_threshold "
               "(--ratio-threshold), or use a model whose card has one.")
        raise ValueError(msg)
    output_dir = Path(output_dir)
    with run_lock(output_dir, "radiounet classify"):
        counts = _classify_into(catalog, images, output_dir, segmenter, factor=factor,
                                context=context, ratio_threshold=ratio_threshold,
                                products=products, parallel=parallel,
                                progress_bar=progress_bar,
                                measure={"settings": settings, "do_measure": bool(measure),
                                         "do_limits": bool(upper_limits)})
        table = _assemble(catalog, output_dir / "units")
        with atomic_write(output_dir / "clusters_classified.ecsv") as temporary:
            table.write(temporary, format="ascii.ecsv", overwrite=True)
        if measure and len(table):
            with atomic_write(output_dir / "power_mass.png") as temporary:
                write_power_mass(table, temporary)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return table, counts


def _classify_into(catalog, images, output_dir, segmenter, *, factor, context,
                   ratio_threshold, products, parallel, progress_bar, measure):
    """Check the manifest, measure the clusters not measured yet, write their units."""
    from tqdm.auto import tqdm

    card = segmenter.card
    units_dir = output_dir / "units"
    check_run_manifest(
        output_dir / "classify_manifest.json",
        {"model": model_identity(card), "factor": float(factor), "context": float(context),
         "ratio_threshold": None if ratio_threshold is None else float(ratio_threshold),
         "measurement": measure["settings"]},
        results_exist=units_dir.is_dir() and any(units_dir.glob("*.json")),
        info={"command": "classify", "model_name": card.name})
    units_dir.mkdir(parents=True, exist_ok=True)
    products_dir = None
    if products:
        products_dir = output_dir / "products"
        products_dir.mkdir(exist_ok=True)
    index = MosaicIndex(images)
    template = {"segmenter": segmenter, "context": context, "ratio_threshold": ratio_threshold,
                "products_dir": None if products_dir is None else str(products_dir),
                "measure": measure["settings"], "do_measure": measure["do_measure"],
                "do_limits": measure["do_limits"]}
    tasks, unmeasurable, skipped = _plan_units(catalog, factor, index, units_dir, template)
    counts = {"done": 0, "skipped": skipped, "failed": 0, "off_footprint": 0,
              "no_redshift": 0, "no_size": 0}
    kept = []

    def record(result):
        path = units_dir / f"{_unit_name(result['name'])}.json"
        if result["status"] not in MEASURED_STATUSES and _reusable_unit(
                path, result) == "reuse":
            kept.append(result["name"])  # measured before; never replaced by a non-measurement
            return
        write_json_atomic(path, result)
        counts["done"] += 1
        if result["status"] in counts:
            counts[result["status"]] += 1

    for result in unmeasurable:
        record(result)
    with tqdm(total=len(tasks), desc="clusters", unit="cluster",
              disable=not progress_bar) as bar:
        def on_result(result):
            record(result)
            bar.update(1)

        run_tasks(_classify_unit, tasks, parallel, on_result, _unit_failure)
    if kept:
        warnings.warn(f"{len(kept)} clusters measured in an earlier run could not be measured "
                      f"now (e.g. {kept[0]!r}: no mosaic given now holds it, or it failed); "
                      f"their earlier measurements are kept.", CatalogWarning, stacklevel=3)
    counts["kept"] = len(kept)
    return counts


def _plan_units(catalog, factor, index, units_dir, template):
    """
    The tasks of the clusters to measure now, the unmeasurable ones' results,
    and the number reused from an earlier run; warns about the changed and
    the unmeasurable clusters.
    """
    r500, radius, problems = catalog_apertures(catalog, factor)
    products_dir = template["products_dir"]
    tasks, unmeasurable, changed, skipped = [], [], [], 0
    for i, row in enumerate(catalog):
        values = {"name": str(row["name"]), "ra": float(row["ra"].to_value(u.deg)),
                  "dec": float(row["dec"].to_value(u.deg)), "z": float(row["z"]),
                  "r500_kpc": float(r500[i].to_value(u.kpc)),
                  "radius_arcmin": float(radius[i].to_value(u.arcmin))}
        unit_name = _unit_name(values["name"])
        state = _reusable_unit(units_dir / f"{unit_name}.json", values, template)
        if state == "reuse" and products_dir is not None and not product_path(
                products_dir, unit_name, "overlay").is_file():
            state = "redo"  # measured before without the products asked for now
        if state == "reuse":
            skipped += 1
            continue
        if state == "changed":
            changed.append(values["name"])
        task = {"row": values, "mosaic": None, **template}
        if problems[i]:
            unmeasurable.append(_unit_result(task))
            unmeasurable[-1].update(status=str(problems[i]), reason=_PROBLEM_REASONS[problems[i]])
            continue
        mosaic, _ = index.best(SkyCoord(row["ra"], row["dec"]), radius[i])
        task["mosaic"] = None if mosaic is None else mosaic.path
        tasks.append(task)
    if changed:
        warnings.warn(f"{len(changed)} clusters measured in an earlier run have other "
                      f"catalogue values now (e.g. {changed[0]!r}): they are measured again.",
                      CatalogWarning, stacklevel=3)
    if unmeasurable:
        _warn_unmeasurable(unmeasurable)
    return tasks, unmeasurable, skipped


def _warn_unmeasurable(unmeasurable):
    n_status = {status: sum(unit["status"] == status for unit in unmeasurable)
                for status in _PROBLEM_REASONS}
    what = {"no_redshift": "no usable redshift (not finite and positive; PSZ2 writes -1 "
                           "for unknown)",
            "no_size": "neither a usable R500 nor M500"}
    listed = "; ".join(f"{n} clusters have {what[status]} (status {status!r})"
                       for status, n in n_status.items() if n)
    warnings.warn(f"{listed}: they have no aperture and are recorded unmeasured, e.g. "
                  f"{unmeasurable[0]['name']!r}.", CatalogWarning, stacklevel=4)


def _assemble(catalog, units_dir):
    """The final table from the per-cluster units, in catalogue order."""
    rows = [json.loads((units_dir / f"{_unit_name(name)}.json").read_text())
            for name in catalog["name"]
            if (units_dir / f"{_unit_name(name)}.json").is_file()]
    table = QTable()
    table["name"] = [r["name"] for r in rows]
    table["ra"] = [r["ra"] for r in rows] * u.deg
    table["dec"] = [r["dec"] for r in rows] * u.deg
    table["z"] = [r["z"] for r in rows]
    table["r500"] = [r["r500_kpc"] for r in rows] * u.kpc
    table["radius"] = [r["radius_arcmin"] for r in rows] * u.arcmin
    for key in ("ratio", "coverage", "n_pixels", "detected", "mosaic", "flags", "status",
                "reason"):
        table[key] = [r[key] for r in rows]
    add_measurement_columns(table, rows)
    return table
