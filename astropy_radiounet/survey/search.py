"""
Blind search for diffuse emission over whole mosaics.

Each mosaic is segmented whole (tiled with the model's receptive-field halo,
so the result equals a single-block run; the probability is written into a
memory-mapped FITS file), the segments are found and measured chunk by
chunk with the single-block result, so memory stays bounded whatever the
mosaic's size, and they become a catalogue of candidates with
photutils `~photutils.segmentation.SourceCatalog`: position, area, flux
density and mean surface brightness from the image, mean and peak
probability, and -- given a cluster catalogue -- the nearest catalogued
cluster and the distance to it in units of its R500, so that finds beyond
known clusters stand out.

Per mosaic the outputs are written atomically into ``<output_dir>/<stem>/``
(`~astropy_radiounet.survey.image_stem`: the file name without ``.fits``,
``.fit``, ``.fts`` and a compression suffix): ``candidates.ecsv`` and the products
(``astropy_radiounet.survey.products``) ``<stem>_probability.fits``,
``<stem>_segmentation.fits``, ``<stem>_segments.reg`` (DS9 outlines) and
``<stem>_gallery.png`` (the candidates with the highest integrated
probability).  A rerun skips
mosaics whose ``candidates.ecsv`` exists, which is written last, so a
mosaic that failed or was cut short is searched again; a failing mosaic is
reported, not raised.  The settings that determine the candidates (the
model, the threshold, the minimum size, the connectivity and the cluster
catalogue) are written to ``<output_dir>/search_manifest.json``, and a
rerun with other settings is refused rather than mixing results.

Clusters without a usable redshift or R500 (PSZ2 writes ``REDSHIFT = -1``
when unknown) are left out of the nearest-cluster matching, with a warning.
"""

import hashlib
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack
from astropy.utils.exceptions import AstropyUserWarning

from ..exceptions import CatalogWarning
from ..clusters.catalogs import catalog_apertures, catalog_r500
from ..clusters.r500 import angular_radius
from ..utils.files import atomic_write, run_lock
from .products import image_stem, shared_stems

__all__ = ["candidate_catalog", "search_mosaic", "search_mosaics"]


def candidate_catalog(image, probability, segment_image, *, wcs=None, beam=None,
                      clusters=None, flux_scale_error=0.1):
    """
    Measure diffuse-emission candidates.

    Parameters
    ----------
    image : `~numpy.ndarray`
        The radio image in Jy/beam (blank pixels NaN).
    probability : `~numpy.ndarray`
        The probability map.
    segment_image : `~photutils.segmentation.SegmentationImage`
        The candidates.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS, for sky positions and angular sizes.
    beam : `radio_beam.Beam`, optional
        The image's beam, to turn Jy/beam sums into flux densities.
    clusters : `~astropy.table.QTable`, optional
        A catalogue from `~astropy_radiounet.clusters.read_cluster_catalog`.
        Clusters without a usable redshift or R500 are left out, with a
        warning.
    flux_scale_error : float, optional
        Fractional flux-scale error, in ``flux_err``.

    Returns
    -------
    table : `~astropy.table.QTable`
        ``label``, ``x``, ``y`` and ``sky_centroid`` (weighted by the
        probability), ``bbox_xmin``, ``bbox_xmax``, ``bbox_ymin``,
        ``bbox_ymax`` (inclusive pixel bounds), ``area`` (pixels and
        arcmin2), ``flux`` and ``flux_err`` (Jy, with a beam:
        `~astropy_radiounet.measure.flux_error` with the rms ``noise`` of the
        image outside the candidates), ``surface_brightness``
        (Jy/beam, the mean), ``mean_probability``, ``max_probability``,
        ``score`` (sum of probability), and with clusters ``nearest_cluster``,
        ``cluster_separation`` and ``cluster_distance_r500``.
    """
    from photutils.segmentation import SourceCatalog

    from ..image.beams import beam_area_pixels, pixel_scale
    from ..image.noise import robust_sigma
    from ..measure.photometry import flux_error

    blank = ~np.isfinite(image) | ~np.isfinite(probability)
    values = np.where(blank, 0.0, image)
    probabilities = np.where(blank, 0.0, probability)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        on_image = SourceCatalog(values, segment_image, mask=blank, wcs=wcs)
        on_probability = SourceCatalog(probabilities, segment_image, mask=blank, wcs=wcs)
    table = QTable()
    table["label"] = on_image.label
    # Probability-weighted centroids: the image itself has negative noise.
    table["x"] = on_probability.x_centroid
    table["y"] = on_probability.y_centroid
    for name in ("bbox_xmin", "bbox_xmax", "bbox_ymin", "bbox_ymax"):
        table[name] = np.asarray(getattr(on_image, name), dtype=int)
    if wcs is not None:
        table["sky_centroid"] = on_probability.sky_centroid
    area = np.asarray(on_image.area.value, dtype=float)
    table["area"] = area * u.pix**2
    if wcs is not None:
        table["area_angle"] = (area * pixel_scale(wcs) ** 2).to(u.arcmin**2)
    jy_beam_sum = np.asarray(on_image.segment_flux, dtype=float)
    if beam is not None and wcs is not None:
        beam_pixels = beam_area_pixels(beam, wcs)
        background = values[~blank & (np.asarray(segment_image.data) == 0)]
        noise = (float(robust_sigma(background[::max(1, background.size // 250_000)]))
                 if background.size else np.nan)
        table["flux"] = jy_beam_sum / beam_pixels * u.Jy
        table["flux_err"] = flux_error(jy_beam_sum / beam_pixels, noise, area / beam_pixels,
                                       flux_scale_error=flux_scale_error) * u.Jy
        table["noise"] = np.full(len(table), noise) * u.Jy / u.beam
    table["surface_brightness"] = jy_beam_sum / area * u.Jy / u.beam
    score = np.asarray(on_probability.segment_flux, dtype=float)
    table["mean_probability"] = score / area
    table["max_probability"] = np.asarray(on_probability.max_value, dtype=float)
    table["score"] = score
    if clusters is not None and len(clusters) and wcs is not None:
        _nearest_clusters(table, clusters)
    return table


def _clusters_with_r500(clusters):
    """
    The clusters with a usable redshift and R500, their R500, and a warning
    about the others.
    """
    r500, _, problems = catalog_apertures(clusters)
    usable = problems == ""
    if not usable.all():
        names = [str(name) for name in np.asarray(clusters["name"])[~usable][:3]]
        warnings.warn(f"{np.count_nonzero(~usable)} of {len(clusters)} clusters have no "
                      f"usable redshift or R500 (not finite and positive; PSZ2 writes -1 for "
                      f"an unknown redshift), e.g. {names}: they are left out of the "
                      f"nearest-cluster matching.", CatalogWarning, stacklevel=2)
    return clusters[usable], r500[usable]


def _nearest_clusters(table, clusters):
    from astropy.coordinates import SkyCoord

    clusters, r500 = _clusters_with_r500(clusters)
    if not len(clusters):
        return
    coords = SkyCoord(clusters["ra"], clusters["dec"])
    r500_angle = angular_radius(r500, clusters["z"])
    index, separation, _ = table["sky_centroid"].match_to_catalog_sky(coords)
    table["nearest_cluster"] = np.asarray(clusters["name"])[index]
    table["cluster_separation"] = separation.to(u.arcmin)
    table["cluster_distance_r500"] = (separation / r500_angle[index]).decompose().value


def _gallery(plane, probability, table, path, n=12):
    """Cutouts around the candidates with the highest score, read one at a time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..visualization import image_normalization
    from .products import save_figure

    best = np.argsort(-np.asarray(table["score"]))[:n]
    columns = 4
    rows = max(1, -(-len(best) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    step = max(1, max(plane.shape) // 1000)
    sample = np.asarray(plane.data[::step, ::step], dtype=np.float32) * np.float32(plane.scale)
    norm = image_normalization(sample)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, best):
        row = table[i]
        half = int(max(32, 2 * np.sqrt(row["area"].value)))
        y, x = int(row["y"]), int(row["x"])
        window = (slice(max(y - half, 0), y + half), slice(max(x - half, 0), x + half))
        values, valid = plane.read(*window)
        ax.imshow(np.where(valid, values, np.nan), origin="lower", cmap="gray_r", norm=norm)
        ax.contour(np.nan_to_num(np.asarray(probability[window])), levels=[0.5],
                   colors="tab:red", linewidths=1)
        text = f"#{row['label']} score {row['score']:.0f}"
        if "cluster_distance_r500" in table.colnames:
            text += f"\n{row['cluster_distance_r500']:.1f} R500 from {row['nearest_cluster']}"
        ax.set_title(text, fontsize=8)
    figure.tight_layout()
    save_figure(figure, path, dpi=90)


def _measure_chunk(plane, probability, slices, segments):
    """`candidate_catalog` of one chunk, in the mosaic's pixel coordinates."""
    values, valid = plane.read(*slices)
    wcs = None if plane.wcs is None else plane.wcs[slices]
    table = candidate_catalog(np.where(valid, values, np.nan), np.asarray(probability[slices]),
                              segments, wcs=wcs, beam=plane.beam)
    for axis, offset in (("x", slices[1].start), ("y", slices[0].start)):
        for name in (axis, f"bbox_{axis}min", f"bbox_{axis}max"):
            table[name] += offset
    return table


def search_mosaic(path, segmenter, output_dir, *, clusters=None, gallery_size=12,
                  chunk_size=2048, progress_bar=False):
    """
    Segment one mosaic and write its candidate catalogue and products.

    Memory stays bounded whatever the mosaic's size: the mosaic is read
    memory-mapped, the probability and segmentation maps are written
    straight into memory-mapped FITS files, and the segments are found and
    measured chunk by chunk (`~astropy_radiounet.segmentation.segment_in_chunks`) with the
    same result as in one block.

    Parameters
    ----------
    path : str or path
        The mosaic (FITS).
    segmenter : `~astropy_radiounet.RadioUNetSegmenter`
        The model.
    output_dir : str or path
        Directory for this mosaic's outputs (created).
    clusters : `~astropy.table.QTable`, optional
        Cluster catalogue for the ``nearest_cluster`` columns.
    gallery_size : int, optional
        Candidates shown in ``<stem>_gallery.png``.
    chunk_size : int, optional
        Side of the chunks in which segments are found and measured.
    progress_bar : bool, optional
        Show progress over the chunks.

    Returns
    -------
    table : `~astropy.table.QTable`
        The candidates (possibly empty), with a ``mosaic`` column.
    """
    from ..image.read import read_image
    from .products import outline_regions, product_path, segmentation_maps, write_regions

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    plane = read_image(path)
    stem = image_stem(path)
    with segmentation_maps(plane, segmenter, output_dir, stem, measure=_measure_chunk,
                           chunk_size=chunk_size,
                           progress_bar=progress_bar) as (probability, labels, table):
        if table is None:
            table = QTable(names=["label", "score"], dtype=[int, float])
            write_regions(product_path(output_dir, stem, "segments"), [])
        else:
            if clusters is not None and len(clusters) and plane.wcs is not None:
                _nearest_clusters(table, clusters)
            write_regions(product_path(output_dir, stem, "segments"),
                          outline_regions(labels, table, plane.wcs))
            _gallery(plane, probability, table, product_path(output_dir, stem, "gallery"),
                     n=gallery_size)
    table["mosaic"] = np.array([str(path)] * len(table), dtype=str)
    with atomic_write(output_dir / "candidates.ecsv") as temporary:
        table.write(temporary, format="ascii.ecsv", overwrite=True)
    return table


def _clusters_digest(clusters):
    """sha256 of the cluster values used in the nearest-cluster matching, or None."""
    if clusters is None or not len(clusters):
        return None
    digest = hashlib.sha256()
    digest.update("\n".join(str(name) for name in clusters["name"]).encode())
    for values in (u.Quantity(clusters["ra"], u.deg).value,
                   u.Quantity(clusters["dec"], u.deg).value,
                   np.asarray(clusters["z"], dtype=float),
                   catalog_r500(clusters).to_value(u.kpc)):
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def _search_unit(task):
    """Search one mosaic; returns (path, reason or None) and never raises."""
    try:
        search_mosaic(task["path"], task["segmenter"], task["output_dir"],
                      clusters=task["clusters"], progress_bar=task["progress_bar"])
    except Exception as exc:  # noqa: BLE001 - one mosaic never stops the run
        return task["path"], f"{type(exc).__name__}: {exc}"
    return task["path"], None


def search_mosaics(paths, segmenter, output_dir, *, clusters=None, parallel=False,
                   progress_bar=False):
    """
    Search several mosaics; resumable, and failures are recorded not raised.

    Parameters
    ----------
    paths : iterable of str or path
        The mosaics (FITS).
    segmenter : `~astropy_radiounet.RadioUNetSegmenter`
        The model.  Parallel runs send it to the workers as its settings;
        each worker builds it, and loads its model, once.
    output_dir : str or path
        Each mosaic's products go to ``<output_dir>/<mosaic stem>/``, all
        candidates to ``<output_dir>/candidates.ecsv``.
    clusters : `~astropy.table.QTable`, optional
        Cluster catalogue for the ``nearest_cluster`` columns.
    parallel : bool, int or 'current-scheduler', optional
        One task per mosaic (see `~astropy_radiounet.utils.run_tasks`).
    progress_bar : bool, optional
        Show progress over the mosaics.

    Returns
    -------
    table : `~astropy.table.QTable`
        All candidates, written also to ``<output_dir>/candidates.ecsv``.
    summary : dict
        ``done``, ``skipped``, ``failed`` (mosaic -> reason) and ``seconds``.

    Raises
    ------
    ValueError
        If mosaics share a stem (`~astropy_radiounet.survey.image_stem`), or if
        ``output_dir`` holds results of a search with other settings (see the module
        documentation).
    """
    import time

    from tqdm.auto import tqdm

    from ..utils.parallel import run_tasks
    from .classify import _check_segmenter
    from .manifests import check_run_manifest, model_identity

    model = segmenter = _check_segmenter(segmenter)
    started = time.perf_counter()
    output_dir = Path(output_dir)
    paths = [str(path) for path in paths]
    units = {path: output_dir / image_stem(path) for path in paths}
    shared = shared_stems(paths)
    if shared:
        listed = "; ".join(f"{image_stem(group[0])!r}: {' and '.join(group)}"
                           for group in shared)
        msg = (f"Several mosaics share a name once their FITS and compression suffixes are "
               f"removed ({listed}), and each mosaic's products go to <output_dir>/<that "
               f"name>; rename them or search them into different output directories.")
        raise ValueError(msg)
    if clusters is not None and len(clusters):
        clusters, _ = _clusters_with_r500(clusters)
    with run_lock(output_dir, "radiounet search"):
        check_run_manifest(
            output_dir / "search_manifest.json",
            {"model": model_identity(model.card), "threshold": float(model.threshold),
             "n_pixels": model.n_pixels, "connectivity": int(model.connectivity),
             "clusters": _clusters_digest(clusters)},
            results_exist=output_dir.is_dir() and any(output_dir.glob("*/candidates.ecsv")),
            info={"command": "search", "model_name": model.card.name})
        summary = {"done": 0, "skipped": 0, "failed": {}}
        tasks = []
        for path in paths:
            if (units[path] / "candidates.ecsv").is_file():
                summary["skipped"] += 1
            else:
                tasks.append({"path": path, "segmenter": segmenter, "output_dir": str(units[path]),
                              "clusters": clusters, "progress_bar": False})
        with tqdm(total=len(tasks), desc="mosaics", unit="mosaic",
                  disable=not progress_bar) as bar:
            def on_result(result):
                path, reason = result
                if reason is None:
                    summary["done"] += 1
                else:
                    summary["failed"][path] = reason
                bar.update(1)

            run_tasks(_search_unit, tasks, parallel, on_result,
                      lambda task, exc: (task["path"], f"{type(exc).__name__}: {exc}"))
        tables = [QTable.read(units[path] / "candidates.ecsv") for path in paths
                  if path not in summary["failed"]]
        tables = [table for table in tables if len(table)]  # no columns to merge in an empty one
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # metadata conflicts between per-mosaic tables
            table = vstack(tables) if tables else QTable()
        with atomic_write(output_dir / "candidates.ecsv") as temporary:
            table.write(temporary, format="ascii.ecsv", overwrite=True)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return table, summary
