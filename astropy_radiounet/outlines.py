"""
Segment outlines as `regions` polygons, for DS9 and CASA region files.
"""

import numpy as np

__all__ = ["segment_regions"]


def _outline(mask):
    """The longest closed contour around a boolean mask, as (x, y) vertices."""
    import contourpy

    padded = np.pad(mask.astype(float), 1)
    generator = contourpy.contour_generator(z=padded, line_type="Separate")
    lines = generator.lines(0.5)
    if not lines:
        return None
    longest = max(lines, key=len)[:-1] - 1.0  # drop the closing vertex; undo the padding
    return _drop_collinear(longest)


def _drop_collinear(vertices):
    """Keep only the vertices of a closed polygon where its direction changes."""
    incoming = vertices - np.roll(vertices, 1, axis=0)
    outgoing = np.roll(vertices, -1, axis=0) - vertices
    cross = incoming[:, 0] * outgoing[:, 1] - incoming[:, 1] * outgoing[:, 0]
    return vertices[np.abs(cross) > 1e-9]


def segment_regions(segment_image, *, wcs=None):
    """
    One polygon region per segment, tracing its outer boundary.

    Parameters
    ----------
    segment_image : `~photutils.segmentation.SegmentationImage`
        The segments.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS; sky polygons are returned when given.

    Returns
    -------
    regions : `regions.Regions`
        Polygons labelled ``meta['text'] = 'label N'``; holes in segments are
        not traced.

    Examples
    --------
    >>> import numpy as np
    >>> from photutils.segmentation import SegmentationImage
    >>> from astropy_radiounet.outlines import segment_regions
    >>> data = np.zeros((20, 20), dtype=int)
    >>> data[5:10, 5:15] = 1
    >>> regions = segment_regions(SegmentationImage(data))
    >>> len(regions), regions[0].meta['text']
    (1, 'label 1')
    """
    from regions import PixCoord, PolygonPixelRegion, Regions

    shapes = []
    for segment in segment_image.segments:
        y_slice, x_slice = segment.slices
        vertices = _outline(segment.data == segment.label)
        if vertices is None or len(vertices) < 3:
            continue
        region = PolygonPixelRegion(PixCoord(vertices[:, 0] + x_slice.start,
                                             vertices[:, 1] + y_slice.start))
        if wcs is not None:
            region = region.to_sky(wcs)
        region.meta["text"] = f"label {segment.label}"
        shapes.append(region)
    return Regions(shapes)
