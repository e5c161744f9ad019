"""
The output products of every run, written one way.

``radiounet segment``, the catalogue-driven classification and the blind
search write the same kinds of products, named ``<stem>_<kind>.<extension>``
(`product_path`) with the headers of `product_header`:

``<stem>_probability.fits``
    The probability map (float32, NaN where the input is blank), with the
    input's WCS and the model's name and threshold.
``<stem>_segmentation.fits``
    The segments (int32 labels, 0 for none), same header.
``<stem>_segments.reg`` / ``<stem>_aperture.reg``
    DS9 regions of the segment outlines, or of a cluster's aperture.
``<stem>_overlay.png`` / ``<stem>_gallery.png``
    The image with the probability contour (and segments or aperture), or
    the candidates of a mosaic side by side.
``<stem>_compact_subtracted.fits``
    A cluster's cutout with its compact sources subtracted (``classify
    --measure --products``; `~astropy_radiounet.measure.CompactSubtraction.write`).

Every file is written whole or not at all
(`~astropy_radiounet.utils.atomic_write`); maps larger than memory are
reserved on disk with `create_fits` and filled through a memory map.
"""

import contextlib
import errno
import os
import re
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..utils.files import atomic_write

__all__ = ["PRODUCT_SUFFIXES", "SEGMENT_PRODUCTS", "image_stem", "shared_stems",
           "product_path", "existing_products", "segmentation_products_state",
           "product_header", "write_fits", "write_regions", "save_figure", "create_fits",
           "write_segmentation_products", "segmentation_maps", "outline_regions"]

#: File-name suffix of each kind of product.
PRODUCT_SUFFIXES = {
    "probability": "_probability.fits",
    "segmentation": "_segmentation.fits",
    "segments": "_segments.reg",
    "aperture": "_aperture.reg",
    "overlay": "_overlay.png",
    "gallery": "_gallery.png",
    "compact_subtracted": "_compact_subtracted.fits",
}


#: Suffixes `image_stem` removes: a compression suffix, then a FITS suffix.
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
_FITS_SUFFIXES = (".fits", ".fit", ".fts")


def image_stem(path):
    """
    The name of an image file without its FITS and compression suffixes.

    Outputs named after an image use it, so ``field.fits`` and
    ``field.fits.gz`` both give ``field``.  Suffixes are matched in any case;
    a name that is nothing but a suffix is kept whole.

    Parameters
    ----------
    path : str or path
        The image file.

    Returns
    -------
    stem : str

    Examples
    --------
    >>> from astropy_radiounet.survey.products import image_stem
    >>> image_stem('mosaics/P205+55.fits.gz'), image_stem('m.FIT'), image_stem('m.h5')
    ('P205+55', 'm', 'm.h5')
    """
    name = Path(path).name
    for suffixes in (_COMPRESSION_SUFFIXES, _FITS_SUFFIXES):
        for suffix in suffixes:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
    return name


def shared_stems(paths):
    """
    Groups of paths whose `image_stem` is the same, ignoring case (as some
    file systems do): their products would overwrite each other.

    Examples
    --------
    >>> from astropy_radiounet.survey.products import shared_stems
    >>> shared_stems(['a/m.fits', 'b/M.fits.gz', 'c.fits'])
    [['a/m.fits', 'b/M.fits.gz']]
    """
    groups = {}
    for path in paths:
        groups.setdefault(image_stem(path).casefold(), []).append(path)
    return [group for group in groups.values() if len(group) > 1]


#: The products `write_segmentation_products` writes per image.
SEGMENT_PRODUCTS = ("probability", "segmentation", "segments", "overlay")


def existing_products(output_dir, stems, kinds=SEGMENT_PRODUCTS):
    """
    The products of some stems and kinds that exist already in a directory.

    Parameters
    ----------
    output_dir : str or path
        The directory.
    stems : iterable of str
        The products' names.
    kinds : iterable of str, optional
        Keys of `PRODUCT_SUFFIXES`; those of `write_segmentation_products`
        by default.

    Returns
    -------
    paths : list of `~pathlib.Path`
    """
    return [path for stem in stems for kind in kinds
            if (path := product_path(output_dir, stem, kind)).exists()]


def segmentation_products_state(output_dir, stem, segmenter):
    """
    Whether the products of `write_segmentation_products` for an image are there.

    Parameters
    ----------
    output_dir : str or path
        The directory.
    stem : str
        The image's products' name.
    segmenter : `~astropy_radiounet.segmentation.SegmenterBase`
        The segmenter that would make them now.

    Returns
    -------
    state : {'missing', 'partial', 'done', 'other'}
        None of them; some, from this segmenter (a run killed while writing
        them); all, from this segmenter (same model weights and threshold);
        or made by another model or threshold.
    """
    paths = [product_path(output_dir, stem, kind) for kind in SEGMENT_PRODUCTS]
    present = [path.exists() for path in paths]
    if not any(present):
        return "missing"
    if present[0]:
        try:
            header = fits.getheader(paths[0])
        except OSError:
            return "partial"  # unreadable: written in part
        made_by = (header.get("WEIGHTS"), header.get("THRESH"))
        if made_by != (segmenter.card.sha256 or None, float(segmenter.threshold)):
            return "other"
    return "done" if all(present) else "partial"


def product_path(output_dir, stem, kind):
    """
    Where a product of a kind goes: ``<output_dir>/<stem><suffix>``.

    Parameters
    ----------
    output_dir : str or path
        The directory.
    stem : str
        The name of what the product is of (an image, a cluster, a mosaic).
    kind : str
        A key of `PRODUCT_SUFFIXES`.

    Returns
    -------
    path : `~pathlib.Path`

    Examples
    --------
    >>> from astropy_radiounet.survey.products import product_path
    >>> product_path('out', 'P205+55', 'probability').as_posix()
    'out/P205+55_probability.fits'
    """
    if kind not in PRODUCT_SUFFIXES:
        msg = f"kind must be one of {', '.join(PRODUCT_SUFFIXES)}; got {kind!r}."
        raise ValueError(msg)
    return Path(output_dir) / f"{stem}{PRODUCT_SUFFIXES[kind]}"


def product_header(wcs, segmenter, **cards):
    """
    The header of a product map: the WCS, the model and its threshold.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS` or `None`
        Celestial WCS of the map.
    segmenter : `~astropy_radiounet.segmentation.SegmenterBase`
        What made the map (its card's name and its threshold are recorded).
    **cards
        Further keywords, a value or a (value, comment) pair each.

    Returns
    -------
    header : `~astropy.io.fits.Header`
    """
    header = fits.Header() if wcs is None else wcs.to_header()
    header["ORIGIN"] = "astropy_radiounet"
    header["MODEL"] = segmenter.card.name[:60]  # the model that made the map
    header["THRESH"] = (float(segmenter.threshold), "probability threshold of the segments")
    if segmenter.card.sha256:
        header["WEIGHTS"] = segmenter.card.sha256  # sha256 of the model weights
    for keyword, value in cards.items():
        header[keyword.upper()] = value
    return header


def write_fits(path, data, header):
    """Write a map as a primary HDU, whole or not at all."""
    with atomic_write(path) as temporary:
        fits.PrimaryHDU(data, header=header).writeto(temporary, overwrite=True)


def write_regions(path, regions):
    """
    Write regions as a DS9 file, whole or not at all.

    An empty list writes a DS9 file that says no region was found, so that
    the file exists for every input.
    """
    with atomic_write(path) as temporary:
        if len(regions):
            regions.write(temporary, format="ds9", overwrite=True)
        else:
            temporary.write_text("# Region file format: DS9\n# no segments found\n")


def save_figure(figure, path, *, dpi=100):
    """Save a matplotlib figure, whole or not at all, and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_write(path) as temporary:
            figure.savefig(temporary, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)


@contextlib.contextmanager
def segmentation_maps(plane, segmenter, output_dir, stem, *, measure=None, chunk_size=2048,
                      progress_bar=False):
    """
    Fill the probability and segmentation products of an image plane on disk.

    The maps are written straight into memory-mapped FITS files
    (`create_fits`) under temporary names, the segments are found chunk by
    chunk (`~astropy_radiounet.segmentation.segment_in_chunks`, the same
    result as in one block), and the files take their product names
    (`product_path`) when the ``with`` block ends without an error, so the
    memory needed does not grow with the image.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The image.
    segmenter : `~astropy_radiounet.segmentation.SegmenterBase`
        The segmenter.
    output_dir : str or path
        The directory (must exist).
    stem : str
        The products' name.
    measure : callable, optional
        ``measure(plane, probability, slices, segment_image)`` -> table
        with a ``label`` column and the ``bbox_xmin``, ``bbox_xmax``,
        ``bbox_ymin``, ``bbox_ymax`` of each segment in the plane's pixels;
        by default only those.
    chunk_size : int, optional
        Side of the chunks in which segments are found.
    progress_bar : bool, optional
        Show progress over the chunks.

    Yields
    ------
    probability : `numpy.memmap`
        The probability map.
    labels : `numpy.memmap`
        The segment labels (0 for none).
    table : `~astropy.table.QTable` or `None`
        The rows of ``measure``, one per segment, by label; `None` when no
        segment was found.
    """
    from functools import partial

    from ..segmentation.chunked import segment_in_chunks

    header = product_header(plane.wcs, segmenter)
    finished = {kind: product_path(output_dir, stem, kind)
                for kind in ("probability", "segmentation")}
    parts = {kind: path.with_name(path.name + ".part") for kind, path in finished.items()}
    try:
        probability = create_fits(parts["probability"], plane.shape, np.float32, header)
        segmenter.predict_probability(plane, out=probability)
        labels = create_fits(parts["segmentation"], plane.shape, np.int32, header)
        _, table = segment_in_chunks(
            probability, segmenter.threshold, segmenter.segment_n_pixels(plane.wcs, plane.beam),
            out=labels, connectivity=segmenter.connectivity, chunk_size=chunk_size,
            measure=partial(measure or _bounding_boxes, plane, probability),
            progress_bar=progress_bar)
        yield probability, labels, table
        probability.flush()
        labels.flush()
    except BaseException:
        for part in parts.values():
            part.unlink(missing_ok=True)
        raise
    for kind, part in parts.items():
        os.replace(part, finished[kind])


def _bounding_boxes(plane, probability, slices, segments):
    """The label and bounding box of each segment of a chunk, in the plane's pixels."""
    from astropy.table import QTable

    table = QTable()
    table["label"] = segments.labels
    boxes = segments.bbox
    table["bbox_xmin"] = [box.ixmin + slices[1].start for box in boxes]
    table["bbox_xmax"] = [box.ixmax - 1 + slices[1].start for box in boxes]
    table["bbox_ymin"] = [box.iymin + slices[0].start for box in boxes]
    table["bbox_ymax"] = [box.iymax - 1 + slices[0].start for box in boxes]
    return table


def outline_regions(labels, table, wcs):
    """
    DS9 outlines of segments, each traced in its bounding box.

    Parameters
    ----------
    labels : array_like
        The segment labels (e.g. a memory map).
    table : `~astropy.table.QTable`
        ``label`` and ``bbox_xmin``, ``bbox_xmax``, ``bbox_ymin``,
        ``bbox_ymax`` of each segment (inclusive pixel bounds).
    wcs : `~astropy.wcs.WCS` or `None`
        Sky regions with a WCS, pixel regions without.

    Returns
    -------
    regions : `regions.Regions`
    """
    from regions import Regions

    from ..segmentation.outlines import mask_region

    shapes = []
    for row in table:
        window = (slice(int(row["bbox_ymin"]), int(row["bbox_ymax"]) + 1),
                  slice(int(row["bbox_xmin"]), int(row["bbox_xmax"]) + 1))
        region = mask_region(np.asarray(labels[window]) == row["label"],
                             origin=(window[0].start, window[1].start), wcs=wcs,
                             label=int(row["label"]))
        if region is not None:
            shapes.append(region)
    return Regions(shapes)


#: Largest side of the pictures of `write_segmentation_products`, in pixels; larger
#: images are shown every n-th pixel.
OVERLAY_PIXELS = 2000


def write_segmentation_products(segmenter, image, output_dir, stem, *, chunk_size=2048):
    """
    Segment one image and write its four products.

    Writes ``<stem>_probability.fits``, ``<stem>_segmentation.fits``,
    ``<stem>_segments.reg`` and ``<stem>_overlay.png`` into ``output_dir``
    (what ``radiounet segment`` writes per image).  The maps go straight to
    memory-mapped files and the segments are found in chunks
    (`segmentation_maps`), so images larger than memory can be segmented;
    the overlay shows every n-th pixel of images larger than 2000 pixels.

    Parameters
    ----------
    segmenter : `~astropy_radiounet.segmentation.SegmenterBase`
        The segmenter.
    image : path or any input of `~astropy_radiounet.image.read_image`
        The image.
    output_dir : str or path
        The directory (must exist).
    stem : str
        The products' name.
    chunk_size : int, optional
        Side of the chunks in which segments are found.

    Returns
    -------
    n_segments : int
        The number of segments found.
    """
    from ..image.read import read_image

    plane = read_image(image)
    with segmentation_maps(plane, segmenter, output_dir, stem,
                           chunk_size=chunk_size) as (probability, labels, table):
        regions = [] if table is None else outline_regions(labels, table, plane.wcs)
        write_regions(product_path(output_dir, stem, "segments"), regions)
        _write_overlay(plane, probability, labels if table is not None else None, segmenter,
                       product_path(output_dir, stem, "overlay"), title=f"{stem}: "
                       f"diffuse-emission probability")
    return 0 if table is None else len(table)


def _write_overlay(plane, probability, labels, segmenter, path, *, title):
    """The image, the probability contour and the segments, every n-th pixel when large."""
    from photutils.segmentation import SegmentationImage

    from ..visualization import plot_overlay

    step = max(1, int(np.ceil(max(plane.shape) / OVERLAY_PIXELS)))
    values, valid = plane.read(slice(None, None, step), slice(None, None, step))
    segments = None
    if labels is not None:
        sampled = np.asarray(labels[::step, ::step])
        segments = SegmentationImage(sampled) if sampled.any() else None
    wcs = None if plane.wcs is None else plane.wcs[::step, ::step]
    ax = plot_overlay(np.where(valid, values, np.nan),
                      np.asarray(probability[::step, ::step]), wcs=wcs, segment_image=segments,
                      threshold=segmenter.threshold,
                      title=title + (f" (every {step}th pixel)" if step > 1 else ""))
    save_figure(ax.figure, path, dpi=110)


#: Keywords of the copied header that this file sets itself or must not have.
_STRUCTURAL = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
               "BSCALE", "BZERO", "BLANK", "END", ""}

#: FITS BITPIX of the data types written.
_BITPIX = {np.dtype(np.float32): -32, np.dtype(np.float64): -64,
           np.dtype(np.int16): 16, np.dtype(np.int32): 32}


def create_fits(path, shape, dtype, header=None):
    """
    Reserve a FITS image on disk and return its data, memory-mapped.

    Parameters
    ----------
    path : str or path
        File to create (overwritten if it exists).
    shape : tuple of int
        Image shape, (ny, nx).
    dtype : dtype
        float32, float64, int16 or int32.
    header : `~astropy.io.fits.Header`, optional
        Further keywords (e.g. the WCS); the structural ones are set here.

    Returns
    -------
    data : `numpy.memmap`
        Big-endian, as FITS stores it, zero-filled; flush or delete it to
        finish writing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.io import fits
    >>> from astropy_radiounet.survey.products import create_fits
    >>> path = pathlib.Path(tempfile.mkdtemp()) / 'map.fits'
    >>> data = create_fits(path, (3, 4), 'float32')
    >>> data[1] = 2.5
    >>> del data
    >>> fits.getdata(path)[1].tolist()
    [2.5, 2.5, 2.5, 2.5]
    """
    dtype = np.dtype(dtype)
    if dtype not in _BITPIX:
        msg = f"dtype must be one of {sorted(str(d) for d in _BITPIX)}; got {dtype}."
        raise ValueError(msg)
    ny, nx = (int(n) for n in shape)
    full = fits.Header()
    full["SIMPLE"] = True
    full["BITPIX"] = _BITPIX[dtype]
    full["NAXIS"] = 2
    full["NAXIS1"] = nx
    full["NAXIS2"] = ny
    for card in (header or fits.Header()).cards:
        # Structure and scaling are this file's own: a BSCALE/BZERO/BLANK or NAXISn
        # copied from another file would change how its data are read.
        if card.keyword in _STRUCTURAL or re.fullmatch(r"NAXIS\d+", card.keyword):
            continue
        full.append(card)
    text = full.tostring().encode("ascii")
    n_bytes = ny * nx * dtype.itemsize
    total = len(text) + -(-n_bytes // 2880) * 2880
    with open(path, "wb") as handle:
        handle.write(text)
        handle.truncate(total)
        _reserve(handle, total, path)
    return np.memmap(path, dtype=dtype.newbyteorder(">"), mode="r+", offset=len(text),
                     shape=(ny, nx))


def _reserve(handle, size, path):
    """
    Allocate the file's blocks now, so that a full disk is an error here and not
    a SIGBUS later when the memory map is filled.
    """
    import os

    try:
        os.posix_fallocate(handle.fileno(), 0, size)
    except AttributeError:  # pragma: no cover - not on this platform: a sparse file
        return
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return  # the file system cannot reserve blocks: a sparse file, as before
        handle.close()
        Path(path).unlink(missing_ok=True)
        msg = (f"Cannot reserve {size / 2**30:.2f} GiB for {str(path)!r}: {exc.strerror}.  "
               f"Free space there or choose another output directory.")
        raise OSError(exc.errno, msg) from exc
