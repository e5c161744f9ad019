"""
Blind search for diffuse emission over whole mosaics.

Each mosaic is segmented whole (tiled with the model's receptive-field halo,
so the result equals a single-block run; the probability is written to a
memory-mapped file), and the segments become a catalogue of candidates with
photutils `~photutils.segmentation.SourceCatalog`: position, area, flux
density and mean surface brightness from the image, mean and peak
probability, and -- given a cluster catalogue -- the nearest catalogued
cluster and the distance to it in units of its R500, so that finds beyond
known clusters stand out.

Per mosaic the outputs are written atomically into ``<output_dir>/<stem>/``:
``candidates.ecsv``, ``candidates.reg`` (DS9 outlines),
``probability.fits``, ``segmentation.fits`` and ``gallery.png`` (the
candidates with the highest integrated probability).  A rerun skips mosaics
whose ``candidates.ecsv`` exists; a failing mosaic is reported, not raised.
"""

import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable, vstack
from astropy.utils.exceptions import AstropyUserWarning

from .clusters import angular_radius, r500_from_m500

__all__ = ["candidate_catalog", "search_mosaic", "search_mosaics"]


def candidate_catalog(image, probability, segment_image, *, wcs=None, beam=None,
                      clusters=None):
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
    beam : `~astropy_radiounet.beams.GaussianBeam`, optional
        The image's beam, to turn Jy/beam sums into flux densities.
    clusters : `~astropy.table.QTable`, optional
        A catalogue from `~astropy_radiounet.catalogs.read_cluster_catalog`.

    Returns
    -------
    table : `~astropy.table.QTable`
        ``label``, ``x``, ``y`` and ``sky_centroid`` (weighted by the
        probability), ``area`` (pixels and
        arcmin2), ``flux`` (Jy, with a beam), ``surface_brightness``
        (Jy/beam, the mean), ``mean_probability``, ``max_probability``,
        ``score`` (sum of probability), and with clusters ``nearest_cluster``,
        ``cluster_separation`` and ``cluster_distance_r500``.
    """
    from photutils.segmentation import SourceCatalog

    from .beams import pixel_scale

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
    if wcs is not None:
        table["sky_centroid"] = on_probability.sky_centroid
    area = np.asarray(on_image.area.value, dtype=float)
    table["area"] = area * u.pix**2
    if wcs is not None:
        table["area_angle"] = (area * pixel_scale(wcs) ** 2).to(u.arcmin**2)
    jy_beam_sum = np.asarray(on_image.segment_flux, dtype=float)
    if beam is not None and wcs is not None:
        beam_pixels = (beam.area / pixel_scale(wcs) ** 2).decompose().value
        table["flux"] = jy_beam_sum / beam_pixels * u.Jy
    table["surface_brightness"] = jy_beam_sum / area * u.Jy / u.beam
    score = np.asarray(on_probability.segment_flux, dtype=float)
    table["mean_probability"] = score / area
    table["max_probability"] = np.asarray(on_probability.max_value, dtype=float)
    table["score"] = score
    if clusters is not None and len(clusters) and wcs is not None:
        _nearest_clusters(table, clusters)
    return table


def _nearest_clusters(table, clusters):
    from astropy.coordinates import SkyCoord

    coords = SkyCoord(clusters["ra"], clusters["dec"])
    if "r500" in clusters.colnames:
        r500 = u.Quantity(clusters["r500"], u.kpc)
    else:
        r500 = r500_from_m500(clusters["m500"], clusters["z"])
    r500_angle = angular_radius(r500, clusters["z"])
    index, separation, _ = table["sky_centroid"].match_to_catalog_sky(coords)
    table["nearest_cluster"] = np.asarray(clusters["name"])[index]
    table["cluster_separation"] = separation.to(u.arcmin)
    table["cluster_distance_r500"] = (separation / r500_angle[index]).decompose().value


def _gallery(image, probability, table, wcs, path, n=12):
    """Cutouts around the candidates with the highest score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .visualization import image_normalization

    best = np.argsort(-np.asarray(table["score"]))[:n]
    columns = 4
    rows = max(1, -(-len(best) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    norm = image_normalization(image[:: max(1, image.shape[0] // 1000),
                                     :: max(1, image.shape[1] // 1000)])
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, best):
        row = table[i]
        half = int(max(32, 2 * np.sqrt(row["area"].value)))
        y, x = int(row["y"]), int(row["x"])
        window = (slice(max(y - half, 0), y + half), slice(max(x - half, 0), x + half))
        ax.imshow(image[window], origin="lower", cmap="gray_r", norm=norm)
        ax.contour(np.nan_to_num(probability[window]), levels=[0.5], colors="tab:red",
                   linewidths=1)
        text = f"#{row['label']} score {row['score']:.0f}"
        if "cluster_distance_r500" in table.colnames:
            text += f"\n{row['cluster_distance_r500']:.1f} R500 from {row['nearest_cluster']}"
        ax.set_title(text, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _write_fits_atomic(data, header, path):
    temporary = path.with_name(path.name + ".part")
    fits.PrimaryHDU(data, header=header).writeto(temporary, overwrite=True)
    os.replace(temporary, path)


def search_mosaic(path, segmenter, output_dir, *, clusters=None, gallery_size=12):
    """
    Segment one mosaic and write its candidate catalogue and products.

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
        Candidates shown in ``gallery.png``.

    Returns
    -------
    table : `~astropy.table.QTable`
        The candidates (possibly empty), with a ``mosaic`` column.
    """
    from photutils.utils import NoDetectionsWarning

    from .io import read_image
    from .outlines import segment_regions

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    plane = read_image(path)
    scratch = output_dir / "probability.npy.part"
    probability = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.float32,
                                            shape=plane.shape)
    segmenter.predict_probability(plane, out=probability)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segments = segmenter.segment(probability, wcs=plane.wcs, beam=plane.beam)
    header = plane.wcs.to_header() if plane.wcs is not None else fits.Header()
    header["MODEL"] = segmenter.card.name[:60]
    _write_fits_atomic(probability, header, output_dir / "probability.fits")
    labels = np.zeros(plane.shape, np.int32) if segments is None else segments.data
    _write_fits_atomic(labels.astype(np.int32), header, output_dir / "segmentation.fits")
    if segments is None:
        table = QTable(names=["label", "score"], dtype=[int, float])
    else:
        image, _ = plane.read()
        image = np.where(plane.blank(), np.nan, image)
        table = candidate_catalog(image, probability, segments, wcs=plane.wcs,
                                  beam=plane.beam, clusters=clusters)
        segment_regions(segments, wcs=plane.wcs).write(output_dir / "candidates.reg",
                                                       format="ds9", overwrite=True)
        _gallery(image, probability, table, plane.wcs, output_dir / "gallery.png",
                 n=gallery_size)
    del probability
    scratch.unlink()
    table["mosaic"] = [str(path)] * len(table)
    temporary = output_dir / "candidates.part.ecsv"
    table.write(temporary, format="ascii.ecsv", overwrite=True)
    os.replace(temporary, output_dir / "candidates.ecsv")
    return table


def search_mosaics(paths, segmenter, output_dir, *, clusters=None, progress_bar=False):
    """
    Search several mosaics; resumable, and failures are recorded not raised.

    Returns
    -------
    table : `~astropy.table.QTable`
        All candidates, written also to ``<output_dir>/candidates.ecsv``.
    summary : dict
        ``done``, ``skipped`` and ``failed`` (mosaic -> reason).
    """
    from tqdm.auto import tqdm

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tables, summary = [], {"done": 0, "skipped": 0, "failed": {}}
    for path in tqdm(list(paths), desc="mosaics", unit="mosaic", disable=not progress_bar):
        stem = Path(path).name.removesuffix(".fits")
        unit = output_dir / stem / "candidates.ecsv"
        if unit.is_file():
            summary["skipped"] += 1
        else:
            try:
                search_mosaic(path, segmenter, output_dir / stem, clusters=clusters)
                summary["done"] += 1
            except Exception as exc:  # noqa: BLE001 - one mosaic never stops the run
                summary["failed"][str(path)] = f"{type(exc).__name__}: {exc}"
                continue
        tables.append(QTable.read(unit))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metadata conflicts between per-mosaic tables
        table = vstack(tables) if tables else QTable()
    temporary = output_dir / "candidates.part.ecsv"
    table.write(temporary, format="ascii.ecsv", overwrite=True)
    os.replace(temporary, output_dir / "candidates.ecsv")
    return table, summary
