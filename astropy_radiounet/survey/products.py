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

Every file is written whole or not at all
(`~astropy_radiounet.utils.atomic_write`); maps larger than memory are
reserved on disk with `create_fits` and filled through a memory map.
"""

import re
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..utils.files import atomic_write

__all__ = ["PRODUCT_SUFFIXES", "SEGMENT_PRODUCTS", "image_stem", "shared_stems",
           "product_path", "existing_products", "product_header", "write_fits",
           "write_regions", "save_figure", "create_fits", "write_segmentation_products"]

#: File-name suffix of each kind of product.
PRODUCT_SUFFIXES = {
    "probability": "_probability.fits",
    "segmentation": "_segmentation.fits",
    "segments": "_segments.reg",
    "aperture": "_aperture.reg",
    "overlay": "_overlay.png",
    "gallery": "_gallery.png",
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
    header["MODEL"] = (segmenter.card.name[:60], "model that made the map")
    header["THRESH"] = (float(segmenter.threshold), "probability threshold of the segments")
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


def write_segmentation_products(segmenter, image, output_dir, stem):
    """
    Segment one image and write its four products.

    Writes ``<stem>_probability.fits``, ``<stem>_segmentation.fits``,
    ``<stem>_segments.reg`` and ``<stem>_overlay.png`` into ``output_dir``
    (what ``radiounet segment`` writes per image).

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

    Returns
    -------
    segment_image : `~photutils.segmentation.SegmentationImage` or `None`
        The segments, `None` when none was found.
    """
    from photutils.utils import NoDetectionsWarning

    from ..image.read import read_image
    from ..segmentation.outlines import segment_regions
    from ..visualization import plot_overlay

    plane = read_image(image)
    probability = segmenter.predict_probability(plane)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segments = segmenter.segment(probability, wcs=plane.wcs, beam=plane.beam)
    header = product_header(plane.wcs, segmenter)
    write_fits(product_path(output_dir, stem, "probability"), probability, header)
    labels = np.zeros(plane.shape, dtype=np.int32) if segments is None else segments.data
    write_fits(product_path(output_dir, stem, "segmentation"), labels.astype(np.int32), header)
    regions = [] if segments is None else segment_regions(segments, wcs=plane.wcs)
    write_regions(product_path(output_dir, stem, "segments"), regions)
    values, valid = plane.read()
    ax = plot_overlay(np.where(valid, values, np.nan), probability, wcs=plane.wcs,
                      segment_image=segments, threshold=segmenter.threshold,
                      title=f"{stem}: diffuse-emission probability")
    save_figure(ax.figure, product_path(output_dir, stem, "overlay"), dpi=110)
    return segments


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
    return np.memmap(path, dtype=dtype.newbyteorder(">"), mode="r+", offset=len(text),
                     shape=(ny, nx))
