"""
`DetectionRatio`: the mean probability of diffuse emission inside circular
apertures, the cluster statistic of Stuardi et al. (2024).

For a cluster at a position with an aperture of radius r (2.2 R500 in the
paper), the detection ratio is

.. math::

    R = \\frac{1}{N} \\sum_{i \\in {\\rm aperture}} p_i ,

the mean of the probability map over the N valid pixels whose centres lie
inside the circle.  Blank (NaN) and masked pixels, and the part of the circle
off the image, are left out; ``coverage`` reports the fraction of the
circle's pixels that were used, so partly covered clusters can be flagged.
It works on any probability map, not only those of this package.

Only the part of a circle on the image is ever masked, so a circle far
larger than the image (a nearby cluster) costs the memory of the image, not
of the circle; the circle's own pixel count, the denominator of
``coverage``, is counted on its mask up to ``EXACT_COUNT_PIXELS`` pixels of
bounding box and is :math:`\\pi r^2` above.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from photutils.aperture import BoundingBox
from photutils.geometry import circular_overlap_grid

from ..exceptions import BlankDataWarning
from ..image.beams import pixel_scale
from .r500 import DEFAULT_APERTURE_FACTOR, _checked_r500, angular_radius
from ..image.plane import check_mask

__all__ = ["DetectionRatio", "MIN_RADIUS_PIXELS", "EXACT_COUNT_PIXELS"]

#: The smallest aperture radius, in pixels: a smaller circle may hold no pixel
#: centre at all (and from M500 or R500, such a size means a wrong unit).
MIN_RADIUS_PIXELS = 0.5

#: Apertures whose bounding box holds more pixels than this (a radius above
#: about 1000 pixels) have their pixel count computed as pi r**2 instead of
#: counted on a mask of the whole circle.
EXACT_COUNT_PIXELS = 2**22

#: Pixels of the on-image part of an aperture masked at a time.
_BLOCK_PIXELS = 2**22


def _version():
    from .. import __version__

    return __version__


def _pixel_pairs(positions):
    """Pixel (x, y) pairs as an (N, 2) float array, or a clear error."""
    try:
        xy = np.atleast_2d(np.asarray(positions, dtype=float))
    except (TypeError, ValueError):
        msg = (f"positions must be a SkyCoord or pixel (x, y) pairs of numbers; got "
               f"{positions!r}.")
        raise TypeError(msg) from None
    if xy.size == 0:
        msg = ("positions holds no aperture centre (an empty list or SkyCoord); pass at least "
               "one position.")
        raise ValueError(msg)
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = (f"positions must be a SkyCoord or pixel (x, y) pairs of shape (N, 2); "
               f"got shape {np.shape(positions)}.")
        raise ValueError(msg)
    return xy


def _n_positions(positions):
    """The number of aperture centres (at least one)."""
    if not isinstance(positions, SkyCoord):
        return len(_pixel_pairs(positions))
    n = 1 if positions.isscalar else positions.size
    if n == 0:
        msg = ("positions holds no aperture centre (an empty SkyCoord); pass at least one "
               "position.")
        raise ValueError(msg)
    return n


def _check_per_cluster(positions, **values):
    """Refuse per-cluster values (M500, R500, redshift) of another length than positions."""
    n = _n_positions(positions)
    for name, value in values.items():
        if np.ndim(value) and np.size(value) != n:
            msg = (f"Got {np.size(value)} {name} values for {n} positions; give one per "
                   f"cluster (or a single value for all).")
            raise ValueError(msg)


def _pixel_positions(positions, wcs):
    if isinstance(positions, SkyCoord):
        _n_positions(positions)
        if wcs is None:
            msg = "positions are a SkyCoord, so a wcs= is needed to place them on the image."
            raise ValueError(msg)
        x, y = wcs.world_to_pixel(positions)
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]), positions
    xy = _pixel_pairs(positions)
    sky = None
    if wcs is not None:
        sky = wcs.pixel_to_world(xy[:, 0], xy[:, 1])
    return xy, sky


def _pixel_radii(radius, n, wcs):
    if isinstance(radius, u.Quantity) and radius.unit.physical_type == "angle":
        if wcs is None:
            msg = "radius is an angle, so a wcs= is needed to convert it to pixels."
            raise ValueError(msg)
        pixels = (radius / pixel_scale(wcs)).decompose().value
    elif isinstance(radius, u.Quantity) and radius.unit != u.pix:
        msg = (f"radius must be an angle or a number of pixels; got {radius!r}.  For a "
               f"length such as R500 use DetectionRatio.from_r500.")
        raise ValueError(msg)
    else:
        pixels = u.Quantity(radius, u.pix).value if isinstance(radius, u.Quantity) else radius
    pixels = np.asarray(pixels, dtype=float)
    if pixels.size not in (1, n) or pixels.ndim > 1:
        msg = (f"Got {pixels.size} aperture radii for {n} positions; pass one radius for "
               f"all apertures or one per position.")
        raise ValueError(msg)
    pixels = np.broadcast_to(pixels, (n,)).copy()
    bad = ~(np.isfinite(pixels) & (pixels > 0))
    if bad.any():
        msg = (f"Aperture radii must be finite and positive; {bad.sum()} are not (first: "
               f"{pixels[bad][:5]} pixels).")
        raise ValueError(msg)
    small = pixels < MIN_RADIUS_PIXELS
    if small.any():
        msg = (f"Aperture radii must be at least {MIN_RADIUS_PIXELS} pixel, or a circle may "
               f"hold no pixel centre; {small.sum()} are smaller (first: "
               f"{np.array2string(pixels[small][:5], precision=3)} pixels).  Apertures of "
               f"M500 or R500 this small mean a wrong unit: M500 in units of 1e14 solMass "
               f"given as solMass, or R500 in Mpc given as kpc.")
        raise ValueError(msg)
    return pixels


def _aperture_sum(data, x, y, radius):
    """
    Sum and number of the valid pixels of ``data`` whose centres lie in a
    circle, and the circle's own pixel count, on the image or not.

    Only the part of the circle on the image is masked, a block of rows at a
    time (photutils' ``'center'`` method: `~photutils.geometry.circular_overlap_grid`
    with one subpixel, as ``CircularAperture.to_mask(method='center')``).
    """
    ny, nx = data.shape
    box = BoundingBox.from_float(x - radius, x + radius, y - radius, y + radius)
    x0, x1 = max(box.ixmin, 0), min(box.ixmax, nx)
    y0, y1 = max(box.iymin, 0), min(box.iymax, ny)
    total, n_valid, n_on_image = 0.0, 0, 0
    if x0 < x1 and y0 < y1:
        rows = max(1, _BLOCK_PIXELS // (x1 - x0))
        for start in range(y0, y1, rows):
            stop = min(start + rows, y1)
            inside = circular_overlap_grid(x0 - 0.5 - x, x1 - 0.5 - x, start - 0.5 - y,
                                           stop - 0.5 - y, x1 - x0, stop - start, radius,
                                           0, 1) > 0
            values = data[start:stop, x0:x1][inside]
            n_on_image += values.size
            values = values[np.isfinite(values)]
            total += float(values.sum())
            n_valid += values.size
    box_ny, box_nx = box.shape
    if (x0, x1, y0, y1) == (box.ixmin, box.ixmax, box.iymin, box.iymax):
        n_circle = n_on_image  # the whole circle is on the image
    elif box_ny * box_nx <= EXACT_COUNT_PIXELS:
        n_circle = int(np.count_nonzero(circular_overlap_grid(
            box.ixmin - 0.5 - x, box.ixmax - 0.5 - x, box.iymin - 0.5 - y,
            box.iymax - 0.5 - y, box_nx, box_ny, radius, 0, 1)))
    else:
        n_circle = max(np.pi * radius**2, n_on_image)
    return total, n_valid, n_circle


class DetectionRatio:
    """
    Mean probability of diffuse emission inside circular apertures.

    Parameters
    ----------
    probability : array_like
        2-D probability map; NaN is blank.
    positions : `~astropy.coordinates.SkyCoord` or array_like
        Aperture centres: sky positions (needs ``wcs``) or pixel (x, y)
        pairs, one or many.
    radius : float, array_like or `~astropy.units.Quantity`
        Aperture radius: pixels, or an angle (needs ``wcs``); one for all
        apertures or one each; at least half a pixel (``MIN_RADIUS_PIXELS``).
        A circle larger than the map is measured on the map's pixels.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS of the map.
    mask : array_like of bool, optional
        `True` for pixels to leave out.

    Attributes
    ----------
    ratio : `~numpy.ndarray`
        Detection ratio R of each aperture; NaN where no valid pixel lies
        inside it.
    n_pixels : `~numpy.ndarray`
        Number of valid pixels averaged.
    coverage : `~numpy.ndarray`
        Fraction of the aperture's pixels that are on the image and valid.
    meta : dict
        The package version and how apertures are drawn; the ``meta`` of
        `to_table`.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet import DetectionRatio
    >>> probability = np.zeros((100, 100), dtype=np.float32)
    >>> probability[45:55, 45:55] = 1.0  # 100 pixels of diffuse emission
    >>> stats = DetectionRatio(probability, [(50, 50), (95, 5)], 10)
    >>> stats.n_pixels  # the second circle is partly off the image
    array([305, 195])
    >>> stats.ratio.round(3)
    array([0.328, 0.   ])
    >>> stats.coverage.round(2)
    array([1.  , 0.64])
    """

    def __init__(self, probability, positions, radius, *, wcs=None, mask=None):
        data = probability
        if isinstance(data, u.Quantity):
            if data.unit != u.dimensionless_unscaled:
                msg = f"probability must be dimensionless; it has unit {data.unit}."
                raise ValueError(msg)
            data = data.value
        data = np.asanyarray(data, dtype=float)
        if data.ndim != 2:
            msg = f"probability must be a 2-D map; got shape {data.shape}."
            raise ValueError(msg)
        if mask is not None:
            data = np.where(check_mask(np.asanyarray(mask, dtype=bool), data.shape), np.nan,
                            data)
        with np.errstate(invalid="ignore"):
            outside = (data < 0) | (data > 1)
        if outside.any():
            msg = (f"probability must be a probability map with values in [0, 1] (NaN for "
                   f"blank); {np.count_nonzero(outside)} pixels are outside it (from "
                   f"{np.nanmin(data):.3g} to {np.nanmax(data):.3g}).  Pass the map of "
                   f"RadioUNetSegmenter.predict_probability, not the image.")
            raise ValueError(msg)
        self.wcs = wcs
        self.meta = {"astropy_radiounet_version": _version(),
                     "aperture": "circle, pixels whose centre is inside"}
        self.xy, self.sky_positions = _pixel_positions(positions, wcs)
        self.radius_pixels = _pixel_radii(radius, len(self.xy), wcs)
        self.ratio, self.n_pixels, self.coverage = self._measure(data)

    def _measure(self, data):
        n = len(self.xy)
        ratio = np.full(n, np.nan)
        n_valid = np.zeros(n, dtype=int)
        coverage = np.zeros(n)
        for i, ((x, y), r) in enumerate(zip(self.xy, self.radius_pixels)):
            if not (np.isfinite(x) and np.isfinite(y)):
                continue  # a sky position the WCS cannot project
            total, n_valid[i], n_circle = _aperture_sum(data, x, y, r)
            coverage[i] = n_valid[i] / n_circle if n_circle else 0.0
            if n_valid[i]:
                ratio[i] = total / n_valid[i]
        empty = n_valid == 0
        if empty.any():
            warnings.warn(f"{empty.sum()} of {n} apertures contain no valid pixel (off the "
                          f"image, outside the WCS projection, or blank); their detection "
                          f"ratio is NaN.",
                          BlankDataWarning, stacklevel=2)
        return ratio, n_valid, coverage

    def __len__(self):
        return len(self.xy)

    @classmethod
    def from_r500(cls, probability, positions, r500, redshift, *, wcs,
                  factor=DEFAULT_APERTURE_FACTOR, cosmology=None, mask=None):
        """
        Apertures of ``factor`` x R500 around clusters.

        Parameters
        ----------
        probability : array_like
            2-D probability map.
        positions : `~astropy.coordinates.SkyCoord` or array_like
            Cluster centres.
        r500 : `~astropy.units.Quantity`
            R500 as a length, one per cluster (or one for all).
        redshift : float or array_like
            Cluster redshifts.
        wcs : `~astropy.wcs.WCS`
            Celestial WCS of the map.
        factor : float, optional
            Aperture radius in units of R500 (2.2 in Stuardi et al. 2024).
        cosmology : `~astropy.cosmology.Cosmology`, optional
            Planck18 by default.
        mask : array_like of bool, optional
            `True` for pixels to leave out.
        """
        if not isinstance(r500, u.Quantity) or r500.unit.physical_type != "length":
            msg = (f"r500 must be a length Quantity, one per cluster or one for all (e.g. "
                   f"[1.1, 0.9] * u.Mpc); got {r500!r}.")
            raise TypeError(msg)
        _check_per_cluster(positions, R500=r500, redshift=redshift)
        radius = angular_radius(factor * r500, redshift, cosmology=cosmology)
        return cls(probability, positions, radius, wcs=wcs, mask=mask)

    @classmethod
    def from_m500(cls, probability, positions, m500, redshift, *, wcs,
                  factor=DEFAULT_APERTURE_FACTOR, cosmology=None, mask=None):
        """
        Apertures of ``factor`` x R500 around clusters of mass M500.

        R500 follows from M500 and the critical density at the cluster's
        redshift (see `~astropy_radiounet.clusters.r500_from_m500`, which warns
        about masses outside 1e12 to 1e16 solar masses, almost certainly in
        the wrong unit); other parameters are those of `from_r500`.
        """
        _check_per_cluster(positions, M500=m500, redshift=redshift)
        r500 = _checked_r500(m500, redshift, cosmology)
        return cls.from_r500(probability, positions, r500, redshift, wcs=wcs, factor=factor,
                             cosmology=cosmology, mask=mask)

    def classify(self, threshold):
        """
        Classify apertures as hosting diffuse emission (R > threshold).

        Parameters
        ----------
        threshold : float or `~astropy_radiounet.models.ModelCard`
            Detection-ratio threshold, or the card of the model that made the
            probability map (its ``detection_ratio_threshold``; for the shipped
            model, ``RadioUNetSegmenter().card``).  A threshold belongs to one
            model: R of another model's map needs that model's threshold.

        Returns
        -------
        detected : `~numpy.ndarray` of bool
            `False` where the ratio is NaN (check ``coverage``).
        """
        if isinstance(threshold, (str, bytes, bool)):
            msg = (f"threshold must be a number or a model card; got {threshold!r} (a "
                   f"{type(threshold).__name__}): pass the number itself, e.g. 0.015.")
            raise TypeError(msg)
        card_threshold = getattr(threshold, "detection_ratio_threshold", threshold)
        if card_threshold is None:
            msg = (f"The model card {getattr(threshold, 'name', threshold)!r} gives no "
                   f"detection-ratio threshold; pass the threshold as a number.")
            raise ValueError(msg)
        try:
            value = float(card_threshold)
        except (TypeError, ValueError):
            msg = (f"threshold must be a number or a model card; got {threshold!r}.")
            raise TypeError(msg) from None
        if not 0 <= value <= 1:
            msg = (f"threshold={value} is outside [0, 1], the range of a detection ratio "
                   f"(a mean probability).")
            raise ValueError(msg)
        with np.errstate(invalid="ignore"):
            return np.asarray(self.ratio > value)

    def to_table(self, columns=None):
        """
        The measurements as a `~astropy.table.QTable`, as photutils'
        `~photutils.aperture.ApertureStats.to_table`.

        Parameters
        ----------
        columns : str or list of str, optional
            The columns to keep, in this order; all by default: ``id``
            (from 1), ``x`` and ``y`` (pixels), ``sky_centroid`` (with a
            WCS), ``radius`` (pixels) and ``radius_angle`` (with a WCS),
            ``ratio``, ``n_pixels`` and ``coverage``.

        Returns
        -------
        table : `~astropy.table.QTable`
            With `meta` as its ``meta``.

        Raises
        ------
        ValueError
            If a column is unknown.
        """
        table = QTable(meta=dict(self.meta))
        table["id"] = np.arange(1, len(self) + 1)
        table["x"] = self.xy[:, 0] * u.pix
        table["y"] = self.xy[:, 1] * u.pix
        if self.sky_positions is not None:
            table["sky_centroid"] = self.sky_positions
        table["radius"] = self.radius_pixels * u.pix
        if self.wcs is not None:
            table["radius_angle"] = (self.radius_pixels * pixel_scale(self.wcs)).to(u.arcmin)
        table["ratio"] = self.ratio
        table["n_pixels"] = self.n_pixels
        table["coverage"] = self.coverage
        if columns is None:
            return table
        columns = [columns] if isinstance(columns, str) else list(columns)
        unknown = [name for name in columns if name not in table.colnames]
        if unknown:
            msg = (f"Unknown columns {unknown}; the columns are "
                   f"{', '.join(table.colnames)}.")
            raise ValueError(msg)
        return table[columns]

    def to_regions(self):
        """
        The apertures as `regions.Regions` (sky circles when a WCS is known).

        Each region's ``meta['text']`` gives its ``id`` and detection ratio,
        which DS9 shows as a label.  An aperture without a pixel position (a
        sky position the WCS cannot project) has no region: it is left out,
        with a `~astropy_radiounet.exceptions.BlankDataWarning` naming its
        ``id``.
        """
        from regions import CirclePixelRegion, PixCoord, Regions

        finite = np.isfinite(self.xy).all(axis=1)
        if not finite.all():
            ids = np.flatnonzero(~finite) + 1
            warnings.warn(f"{ids.size} of {len(self)} apertures have no pixel position (a sky "
                          f"position the WCS cannot project) and are left out of the regions: "
                          f"id {', '.join(map(str, ids[:10]))}"
                          f"{', ...' if ids.size > 10 else ''}.",
                          BlankDataWarning, stacklevel=2)
        shapes = []
        for i, ((x, y), r) in enumerate(zip(self.xy, self.radius_pixels)):
            if not finite[i]:
                continue
            region = CirclePixelRegion(PixCoord(x, y), r)
            if self.wcs is not None:
                region = region.to_sky(self.wcs)
            region.meta["text"] = f"{i + 1}: R={self.ratio[i]:.4f}"
            shapes.append(region)
        return Regions(shapes)
