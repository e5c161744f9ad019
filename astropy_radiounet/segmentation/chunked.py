"""
Segment a map larger than memory, chunk by chunk, with the single-block result.

A probability map of a whole mosaic (a memory-mapped array) is thresholded
in square chunks.  Each chunk is read with a margin around it; a segment
belongs to the chunk whose core holds its first pixel in raster order (the
pixel that `scipy.ndimage.label` meets first), and the margin is doubled for
a chunk until none of its segments reaches the margin's edge, so every
segment is found whole, exactly once.  At the end the segments are
numbered in raster order of their first pixel, as `detect_sources` numbers
them in one block: the labels, and anything measured per segment, equal
those of a single-block run, while memory is bounded by the chunk size.
"""

import warnings

import numpy as np
from astropy.table import QTable, vstack
from photutils.utils import NoDetectionsWarning
from scipy.ndimage import find_objects

from .threshold import threshold_map

__all__ = ["segment_in_chunks"]


def _owned_segments(labels, origin, core, shape):
    """
    Segments of a chunk whose first pixel lies in its core.

    Returns
    -------
    owned : dict
        label -> global (row, column) of its first pixel.
    cut : bool
        Whether an owned segment touches an edge of the chunk that is not
        an edge of the map (it may continue beyond it).
    """
    owned, cut = {}, False
    height, width = labels.shape
    for index, box in enumerate(find_objects(labels), start=1):
        if box is None:
            continue
        row = box[0].start
        columns = np.flatnonzero(labels[row, box[1]] == index)
        first = (origin[0] + row, origin[1] + box[1].start + int(columns[0]))
        if not (core[0].start <= first[0] < core[0].stop
                and core[1].start <= first[1] < core[1].stop):
            continue
        owned[index] = first
        cut |= ((box[0].start == 0 and origin[0] > 0)
                or (box[1].start == 0 and origin[1] > 0)
                or (box[0].stop == height and origin[0] + height < shape[0])
                or (box[1].stop == width and origin[1] + width < shape[1]))
    return owned, cut


def _segment_chunk(probability, core, margin, threshold, n_pixels, connectivity):
    """Segment one chunk, widening the margin until its segments are whole."""
    ny, nx = probability.shape
    while True:
        rows = slice(max(core[0].start - margin, 0), min(core[0].stop + margin, ny))
        cols = slice(max(core[1].start - margin, 0), min(core[1].stop + margin, nx))
        # Every connected region is kept here, however small: a piece of a large
        # segment cut by the chunk's edge may be small, and must still be seen
        # to widen the margin.  The size cut is made on whole segments below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoDetectionsWarning)
            segments = threshold_map(np.asarray(probability[rows, cols]), threshold, 1,
                                     connectivity=connectivity)
        if segments is None:
            return (rows, cols), None, {}
        owned, cut = _owned_segments(segments.data, (rows.start, cols.start), core,
                                     probability.shape)
        whole = rows == slice(0, ny) and cols == slice(0, nx)
        if not cut or whole:
            break
        margin *= 2
    areas = dict(zip(segments.labels, segments.areas))
    owned = {label: first for label, first in owned.items() if areas[label] >= n_pixels}
    if not owned:
        return (rows, cols), None, {}
    segments.keep_labels(list(owned))
    return (rows, cols), segments, owned


def segment_in_chunks(probability, threshold, n_pixels, *, out, connectivity=8,
                      chunk_size=2048, margin=256, measure=None, progress_bar=False):
    """
    Threshold a large probability map into segments, one chunk at a time.

    Parameters
    ----------
    probability : array_like
        2-D map (e.g. a `numpy.memmap`); NaN is blank.
    threshold : float
        Pixels above it belong to segments.
    n_pixels : int
        Minimum number of connected pixels of a segment.
    out : `~numpy.ndarray`
        Integer array of the map's shape (e.g. a memory-mapped FITS data
        array) that receives the segment labels, 0 for background.
    connectivity : {4, 8}, optional
        Pixel connectivity.
    chunk_size : int, optional
        Side of the square chunk cores, in pixels.
    margin : int, optional
        Initial margin read around each core; it is doubled for a chunk
        whose segments reach it.
    measure : callable, optional
        ``measure(slices, segment_image)`` -> `~astropy.table.QTable` with
        a ``label`` column, called for every chunk with segments, where
        ``slices`` are the (rows, columns) slices of the chunk read and
        ``segment_image`` holds only the segments the chunk owns (labels
        local to the chunk).  Its rows are relabelled to the final labels.
    progress_bar : bool, optional
        Show progress over the chunks.

    Returns
    -------
    n_segments : int
        Number of segments.
    table : `~astropy.table.QTable` or `None`
        With ``measure``, its rows for all segments sorted by final label.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.segmentation.chunked import segment_in_chunks
    >>> probability = np.zeros((100, 100), np.float32)
    >>> probability[10:20, 45:55] = probability[60:90, 5:95] = 0.9
    >>> labels = np.zeros((100, 100), np.int32)
    >>> segment_in_chunks(probability, 0.5, 5, out=labels, chunk_size=32, margin=4)[0]
    2
    >>> int(labels[15, 50]), int(labels[70, 50])
    (1, 2)
    """
    from tqdm.auto import tqdm

    if not (int(chunk_size) == chunk_size and chunk_size >= 16):
        msg = f"chunk_size must be an integer of at least 16 pixels; got {chunk_size!r}."
        raise ValueError(msg)
    if out.shape != probability.shape or out.dtype.kind not in "iu":
        msg = (f"out must be an integer array of the map's shape {probability.shape}; got "
               f"{out.dtype} {out.shape}.")
        raise ValueError(msg)
    ny, nx = probability.shape
    cores = [(slice(r, min(r + chunk_size, ny)), slice(c, min(c + chunk_size, nx)))
             for r in range(0, ny, chunk_size) for c in range(0, nx, chunk_size)]
    strip = max(1, chunk_size**2 // max(nx, 1))  # rows of about one chunk's pixels
    for start in range(0, ny, strip):
        out[start:start + strip] = 0
    first_pixels, tables = [], []
    for core in tqdm(cores, desc="chunks", unit="chunk", disable=not progress_bar):
        slices, segments, owned = _segment_chunk(probability, core, max(int(margin), 1),
                                                 threshold, n_pixels, connectivity)
        if segments is None:
            continue
        local = np.zeros(segments.max_label + 1, dtype=np.int64)
        for label, first in owned.items():
            first_pixels.append(first)
            local[label] = len(first_pixels)  # provisional label, made final below
        if measure is not None:
            table = measure(slices, segments)
            table["label"] = local[np.asarray(table["label"])]
            tables.append(table)
        # Each owned segment lies wholly inside the chunk read, so writing it
        # there cannot touch a segment owned by another chunk.
        target = out[slices]
        selected = segments.data > 0
        target[selected] = local[segments.data[selected]]
        out[slices] = target
    final = np.zeros(len(first_pixels) + 1, dtype=out.dtype)
    if first_pixels:
        order = np.lexsort(np.array(first_pixels).T[::-1])
        final[order + 1] = np.arange(1, len(first_pixels) + 1)
        for start in range(0, ny, strip):
            out[start:start + strip] = final[out[start:start + strip]]
    if measure is None:
        return len(first_pixels), None
    if not tables:
        return 0, None
    table = vstack(tables) if len(tables) > 1 else tables[0]
    table["label"] = final[np.asarray(table["label"])]
    table.sort("label")
    return len(first_pixels), QTable(table)
