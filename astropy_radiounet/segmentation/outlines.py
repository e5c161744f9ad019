"""
Segment outlines as `regions` polygons, for DS9 and CASA region files.

photutils 3 can do this itself (`photutils.segmentation.SegmentationImage.to_regions`),
but it traces pixel edges with rasterio and shapely, two optional
dependencies of photutils whose GDAL/GEOS binaries a radio-astronomy
environment rarely has, and it cannot work on one window of a map larger
than memory.  Here the outline is the 0.5 contour of the segment's boolean
mask, traced by contourpy (which matplotlib already installs), with collinear
vertices dropped: a polygon halfway between the pixels inside and outside
the segment, on any window (`mask_region` takes the window's origin), and in
sky coordinates with a WCS.
"""

import numpy as np

__all__ = ["segment_regions", "mask_region"]


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
    >>> from astropy_radiounet.segmentation.outlines import segment_regions
    >>> data = np.zeros((20, 20), dtype=int)
    >>> data[5:10, 5:15] = 1
    >>> regions = segment_regions(SegmentationImage(data))
    >>> len(regions), regions[0].meta['text']
    (1, 'label 1')
    """
    from regions import Regions

    shapes = []
    for segment in segment_image.segments:
        y_slice, x_slice = segment.slices
        region = mask_region(segment.data == segment.label, origin=(y_slice.start,
                                                                    x_slice.start),
                             wcs=wcs, label=segment.label)
        if region is not None:
            shapes.append(region)
    return Regions(shapes)


def mask_region(mask, *, origin=(0, 0), wcs=None, label=None):
    """
    The polygon region tracing the outer boundary of a boolean mask.

    Parameters
    ----------
    mask : `~numpy.ndarray` of bool
        The mask, a cutout of a larger image.
    origin : tuple of int, optional
        (row, column) of the cutout's first pixel in the larger image.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS of the larger image; a sky polygon is returned when given.
    label : int, optional
        Written as ``meta['text'] = 'label N'``.

    Returns
    -------
    region : `regions.PolygonPixelRegion`, `regions.PolygonSkyRegion` or `None`
        `None` when the mask has no outline of three vertices or more.
    """
    from regions import PixCoord, PolygonPixelRegion

    vertices = _outline(mask)
    if vertices is None or len(vertices) < 3:
        return None
    region = PolygonPixelRegion(PixCoord(vertices[:, 0] + origin[1],
                                         vertices[:, 1] + origin[0]))
    if wcs is not None:
        region = region.to_sky(wcs)
    if label is not None:
        region.meta["text"] = f"label {label}"
    return region
