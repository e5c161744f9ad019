"""
Catalogue-driven cluster classification over survey mosaics.

For every cluster of a catalogue (see
`~astropy_radiounet.clusters.read_cluster_catalog`) the mosaics covering it are
found from their headers, a cutout of the aperture (``factor`` x R500) plus
context is segmented, and the detection ratio R is measured.  The result is a
`~astropy.table.QTable` with R, coverage, class, the mosaic used and flags.

Choice of mosaic: of the mosaics whose footprint holds the cluster centre,
the one covering the largest fraction of the aperture; among equals, the one
whose centre is nearest (LoTSS noise rises away from a pointing centre).

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

The settings that determine the results (the model, ``factor``,
``context`` and ``ratio_threshold``) are written to
``<output_dir>/classify_manifest.json``; a rerun with other settings is
refused rather than mixing results of both.

Parallel runs follow reproject's ``parallel=`` convention
(`~astropy_radiounet.utils.run_tasks`): `False` (serial), `True` or an
integer (one local process per CPU core, or that many), or ``'current-scheduler'``
(whatever dask scheduler is active, for example a ``dask.distributed``
client connected to an HPC cluster).  Tasks carry the cluster row, the
mosaic path and the model settings; each worker builds the segmenter once.
"""

import hashlib
import json
import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import BlankDataWarning, CatalogWarning, SkippedInputWarning
from ..clusters.catalogs import catalog_r500
from ..clusters.r500 import DEFAULT_APERTURE_FACTOR, angular_radius
from ..utils.files import atomic_write
from ..utils.parallel import run_tasks

__all__ = ["Mosaic", "MosaicIndex", "SegmenterSettings", "classify_clusters"]

log = logging.getLogger(__name__)

#: Coverage below which a cluster is flagged ``partial``.
PARTIAL_COVERAGE = 0.9

#: Statuses of a unit that holds a measurement, reused by a rerun.  Units of
#: any other status (failed, off_footprint, no_redshift, no_size) are redone.
MEASURED_STATUSES = ("ok", "blank")

#: The catalogue values recorded in a unit, compared on a rerun.
_ROW_KEYS = ("ra", "dec", "z", "r500_kpc", "radius_arcmin")


@dataclass(frozen=True)
class Mosaic:
    """A mosaic's path, celestial WCS and shape, read from its header only."""

    path: str
    wcs: WCS
    shape: tuple

    @classmethod
    def from_path(cls, path):
        """Read the header of the first image HDU (no pixel data is read)."""
        with fits.open(path, memmap=True) as hdulist:
            for hdu in hdulist:
                if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
                    header = hdu.header
                    break
            else:
                msg = f"{path} holds no image HDU."
                raise ValueError(msg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header).celestial
        shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))
        return cls(str(path), wcs, shape)

    def aperture_coverage(self, coord, radius, n_samples=400):
        """
        Fraction of a circular aperture that falls inside the image bounds
        (geometry only; blank pixels are accounted for later).
        """
        rng = np.random.default_rng(0)
        r = radius.to_value(u.deg) * np.sqrt(rng.uniform(0, 1, n_samples))
        theta = rng.uniform(0, 2 * np.pi, n_samples)
        points = coord.directional_offset_by(theta * u.rad, r * u.deg)
        x, y = self.wcs.world_to_pixel(points)
        inside = (x > -0.5) & (x < self.shape[1] - 0.5) & (y > -0.5) & (y < self.shape[0] - 0.5)
        return float(np.mean(inside))

    def centre_offset(self, coord):
        """Angular distance of ``coord`` from the image centre."""
        centre = self.wcs.pixel_to_world((self.shape[1] - 1) / 2, (self.shape[0] - 1) / 2)
        return coord.separation(centre)


class MosaicIndex:
    """
    The footprints of a set of mosaics.

    Parameters
    ----------
    paths : iterable of str or path
        FITS mosaics.  Unreadable files are skipped with a warning and listed
        in ``unreadable``.
    """

    def __init__(self, paths):
        self.mosaics = []
        self.unreadable = {}
        for path in paths:
            try:
                self.mosaics.append(Mosaic.from_path(path))
            except (OSError, ValueError, KeyError) as exc:
                self.unreadable[str(path)] = str(exc)
                warnings.warn(f"Skipping mosaic {path}: {exc}", SkippedInputWarning, stacklevel=2)

    def best(self, coord, radius):
        """
        The mosaic that best covers an aperture, and its geometric coverage.

        Returns
        -------
        mosaic : `Mosaic` or `None`
            `None` when no mosaic holds the aperture's centre.
        coverage : float
        """
        candidates = []
        for mosaic in self.mosaics:
            x, y = mosaic.wcs.world_to_pixel(coord)
            if not (-0.5 < x < mosaic.shape[1] - 0.5 and -0.5 < y < mosaic.shape[0] - 0.5):
                continue
            coverage = mosaic.aperture_coverage(coord, radius)
            candidates.append((-coverage, mosaic.centre_offset(coord).deg, mosaic))
        if not candidates:
            return None, 0.0
        candidates.sort(key=lambda item: item[:2])
        return candidates[0][2], -candidates[0][0]


@dataclass(frozen=True)
class SegmenterSettings:
    """
    How to build the segmenter: what a task carries instead of a model.

    Workers build one `~astropy_radiounet.RadioUNetSegmenter` per distinct
    settings and keep it for all their tasks.
    """

    backbone: str = "unet"
    weights: str = "default"
    threshold: float | None = None
    n_pixels: int | None = None
    tile_shape: tuple = (768, 768)
    batch_size: int = 4

    def build(self):
        from ..segmentation.segmenter import RadioUNetSegmenter

        return RadioUNetSegmenter(self.n_pixels, threshold=self.threshold,
                                  backbone=self.backbone, weights=self.weights,
                                  tile_shape=self.tile_shape, batch_size=self.batch_size)


_SEGMENTERS = {}


def segmenter_for(settings):
    """The segmenter of these settings, built once per process."""
    if settings not in _SEGMENTERS:
        _SEGMENTERS[settings] = settings.build()
    return _SEGMENTERS[settings]


def _unit_name(name):
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_") or "cluster"


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


def _model_identity(card):
    """What of a model card determines its probabilities, for a run manifest."""
    values = card.to_dict()
    keys = ("backbone", "config", "pixel_scale_arcsec", "beam", "normalisation",
            "noise_box_size", "calibration", "sha256")
    text = json.dumps({key: values[key] for key in keys}, sort_keys=True)
    return {"weights_sha256": card.sha256,
            "card_sha256": hashlib.sha256(text.encode()).hexdigest()}


def _flatten(values, prefix=""):
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_run_manifest(path, settings, *, results_exist, info=None):
    """
    Record a run's settings, or refuse a rerun whose settings differ.

    Parameters
    ----------
    path : path
        The manifest (JSON), in the run's output directory.
    settings : dict
        The settings that determine the results (JSON-serialisable; nested
        dictionaries are compared key by key).
    results_exist : bool
        Whether the output directory holds results already.
    info : dict, optional
        Recorded but not compared (model name, package version, ...).

    Raises
    ------
    ValueError
        If the manifest records other settings, or if results exist without
        a manifest (their settings are unknown).
    """
    from .. import __version__

    path = Path(path)
    current = json.loads(json.dumps(settings))
    fix = (f"Use a new output directory, or delete {str(path.parent)!r} to start again.")
    if path.is_file():
        earlier = json.loads(path.read_text())["settings"]
        old, new = _flatten(earlier), _flatten(current)
        differing = [f"{key} was {old.get(key)!r} and is now {new.get(key)!r}"
                     for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
        if differing:
            msg = (f"The output directory {str(path.parent)!r} holds results of a run with "
                   f"other settings ({'; '.join(differing)}); resuming would mix results "
                   f"of both.  {fix}")
            raise ValueError(msg)
        return
    if results_exist:
        msg = (f"The output directory {str(path.parent)!r} holds results but no run "
               f"manifest ({path.name}), so the settings they were made with are unknown "
               f"and resuming could mix results.  {fix}")
        raise ValueError(msg)
    manifest = {"settings": current, "version": __version__,
                "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(info or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(path, manifest)


def _write_json_atomic(path, values):
    with atomic_write(path) as temporary:
        temporary.write_text(json.dumps(values, indent=1))


def _apertures(catalog, factor):
    """R500 (kpc) and aperture radius (arcmin) per row, with why a row has none."""
    r500 = catalog_r500(catalog)
    z = np.asarray(catalog["z"], dtype=float)
    with np.errstate(invalid="ignore"):
        has_z = np.isfinite(z) & (z > 0)
    problems = np.where(~has_z, "no_redshift", np.where(np.isfinite(r500), "", "no_size"))
    radius = np.full(len(catalog), np.nan) * u.arcmin
    good = problems == ""
    if good.any():
        radius[good] = angular_radius(factor * r500[good], z[good])
    return r500, radius, problems


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


def _reusable_unit(unit_path, row):
    """'reuse', 'changed' (measured from other catalogue values) or 'redo'."""
    if not unit_path.is_file():
        return "redo"
    try:
        unit = json.loads(unit_path.read_text())
    except ValueError:
        return "redo"
    if unit.get("status") not in MEASURED_STATUSES:
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
        from astropy.nddata import Cutout2D

        from ..image.read import read_image
        from ..clusters.detection_ratio import DetectionRatio

        segmenter = segmenter_for(task["settings"])
        plane = read_image(task["mosaic"])
        coord = SkyCoord(task["row"]["ra"] * u.deg, task["row"]["dec"] * u.deg)
        radius = task["row"]["radius_arcmin"] * u.arcmin
        side = 2 * radius * task["context"]
        cutout = Cutout2D(plane.data, coord, (side, side), wcs=plane.wcs, mode="partial",
                          fill_value=np.nan)
        cut_plane = read_image(fits.PrimaryHDU(np.asarray(cutout.data, dtype=np.float32),
                                               header=_plane_header(cutout.wcs, plane)))
        probability = segmenter.predict_probability(cut_plane)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BlankDataWarning)  # recorded as status "blank"
            stats = DetectionRatio(probability, coord, radius, wcs=cutout.wcs)
        threshold = task["ratio_threshold"]
        ratio = float(stats.ratio[0])
        flags = []
        if stats.coverage[0] < PARTIAL_COVERAGE:
            flags.append("partial")
        x, y = cutout.wcs.world_to_pixel(coord)
        centre = probability[int(round(float(y))), int(round(float(x)))]
        if not np.isfinite(centre):
            flags.append("blank_centre")
        if stats.n_pixels[0] == 0:
            result.update(status="blank", reason="no valid pixel in the aperture")
        result.update(ratio=ratio, coverage=float(stats.coverage[0]),
                      n_pixels=int(stats.n_pixels[0]),
                      detected=bool(threshold is not None and ratio > threshold),
                      flags=",".join(flags))
        if task["products_dir"] is not None:
            _write_products(task, cutout, cut_plane, probability, stats, segmenter)
    except Exception as exc:  # noqa: BLE001 - one failing unit never stops the run
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    return result


def _plane_header(wcs, plane):
    header = wcs.to_header()
    if plane.beam is not None:
        header["BMAJ"] = plane.beam.major.to_value(u.deg)
        header["BMIN"] = plane.beam.minor.to_value(u.deg)
        header["BPA"] = plane.beam.pa.to_value(u.deg)
    header["BUNIT"] = plane.unit.to_string()
    return header


def _write_products(task, cutout, cut_plane, probability, stats, segmenter):
    """Probability cutout (FITS), overlay (PNG) and aperture (DS9) of one cluster."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..visualization import plot_overlay

    stem = Path(task["products_dir"]) / _unit_name(task["row"]["name"])
    header = cutout.wcs.to_header()
    header["OBJECT"] = task["row"]["name"][:68]
    header["RATIO"] = (float(stats.ratio[0]), "detection ratio in the aperture")
    hdu = fits.PrimaryHDU(probability, header=header)
    hdu.writeto(f"{stem}_probability.fits", overwrite=True)
    stats.to_regions().write(f"{stem}_aperture.reg", format="ds9", overwrite=True)
    values, _ = cut_plane.read()
    ax = plot_overlay(np.where(np.isfinite(cutout.data), values, np.nan), probability,
                      wcs=cutout.wcs, threshold=segmenter.threshold,
                      title=f"{task['row']['name']}: R = {stats.ratio[0]:.4f}")
    stats.to_regions()[0].to_pixel(cutout.wcs).plot(ax=ax, edgecolor="yellow", lw=1.5)
    ax.figure.savefig(f"{stem}_overlay.png", dpi=100, bbox_inches="tight")
    plt.close(ax.figure)


def classify_clusters(catalog, images, *, output_dir, settings=None,
                      factor=DEFAULT_APERTURE_FACTOR, context=1.5, ratio_threshold=None,
                      products=False, parallel=False, progress_bar=False):
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
    settings : `SegmenterSettings`, optional
        Model settings (default weights by default).
    factor : float, optional
        Aperture radius in units of R500.
    context : float, optional
        Half-side of the segmented cutout in units of the aperture radius.
    ratio_threshold : float, optional
        Detection-ratio threshold of ``detected``; the model card's by default
        (when it has none, ``detected`` is `False` and ``ratio`` must be used).
    products : bool, optional
        Also write a probability cutout (FITS), an overlay (PNG) and the
        aperture (DS9) per cluster.
    parallel : bool, int or 'current-scheduler', optional
        See the module documentation.
    progress_bar : bool, optional
        Show a progress bar over the clusters.

    Returns
    -------
    table : `~astropy.table.QTable`
        The catalogue's rows with ``r500``, ``radius``, ``ratio``,
        ``coverage``, ``n_pixels``, ``detected``, ``mosaic``, ``flags``,
        ``status`` and ``reason``.
    summary : dict
        ``done`` (clusters done in this call), ``skipped`` (measured before
        and reused), ``failed``, ``off_footprint``, ``no_redshift`` and
        ``no_size`` (of those done now), and ``seconds``.

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
    from tqdm.auto import tqdm

    started = time.perf_counter()
    _check_unit_names(catalog["name"])
    settings = settings or SegmenterSettings()
    card = segmenter_for(settings).card  # a bad model is reported before any work
    if ratio_threshold is None:
        ratio_threshold = card.detection_ratio_threshold
    output_dir = Path(output_dir)
    units_dir = output_dir / "units"
    check_run_manifest(
        output_dir / "classify_manifest.json",
        {"model": _model_identity(card), "factor": float(factor), "context": float(context),
         "ratio_threshold": None if ratio_threshold is None else float(ratio_threshold)},
        results_exist=units_dir.is_dir() and any(units_dir.glob("*.json")),
        info={"command": "classify", "model_name": card.name})
    units_dir.mkdir(parents=True, exist_ok=True)
    products_dir = None
    if products:
        products_dir = output_dir / "products"
        products_dir.mkdir(exist_ok=True)
    index = MosaicIndex(images)
    r500, radius, problems = _apertures(catalog, factor)
    tasks, unmeasurable, changed = [], [], []
    counts = {"done": 0, "skipped": 0, "failed": 0, "off_footprint": 0, "no_redshift": 0,
              "no_size": 0}
    for i, row in enumerate(catalog):
        values = {"name": str(row["name"]), "ra": float(row["ra"].to_value(u.deg)),
                  "dec": float(row["dec"].to_value(u.deg)), "z": float(row["z"]),
                  "r500_kpc": float(r500[i].to_value(u.kpc)),
                  "radius_arcmin": float(radius[i].to_value(u.arcmin))}
        unit_name = _unit_name(values["name"])
        state = _reusable_unit(units_dir / f"{unit_name}.json", values)
        if state == "reuse" and products_dir is not None and not (
                products_dir / f"{unit_name}_overlay.png").is_file():
            state = "redo"  # measured before without the products asked for now
        if state == "reuse":
            counts["skipped"] += 1
            continue
        if state == "changed":
            changed.append(values["name"])
        task = {"row": values, "mosaic": None, "settings": settings, "context": context,
                "ratio_threshold": ratio_threshold,
                "products_dir": None if products_dir is None else str(products_dir)}
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
                      CatalogWarning, stacklevel=2)
    if unmeasurable:
        n_status = {status: sum(unit["status"] == status for unit in unmeasurable)
                    for status in _PROBLEM_REASONS}
        what = {"no_redshift": "no usable redshift (not finite and positive; PSZ2 writes -1 "
                               "for unknown)",
                "no_size": "neither a usable R500 nor M500"}
        listed = "; ".join(f"{n} clusters have {what[status]} (status {status!r})"
                           for status, n in n_status.items() if n)
        warnings.warn(f"{listed}: they have no aperture and are recorded unmeasured, e.g. "
                      f"{unmeasurable[0]['name']!r}.", CatalogWarning, stacklevel=2)

    def record(result):
        _write_json_atomic(units_dir / f"{_unit_name(result['name'])}.json", result)
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
    table = _assemble(catalog, units_dir)
    table_path = output_dir / "clusters_classified.ecsv"
    with atomic_write(table_path) as temporary:
        table.write(temporary, format="ascii.ecsv", overwrite=True)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return table, counts


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
    return table
