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
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from photutils.aperture import CircularAperture

from ..exceptions import BlankDataWarning
from ..image.beams import pixel_scale
from .r500 import DEFAULT_APERTURE_FACTOR, angular_radius, r500_from_m500
from ..image.read import check_mask

__all__ = ["DetectionRatio"]


def _pixel_positions(positions, wcs):
    if isinstance(positions, SkyCoord):
        if wcs is None:
            msg = "positions are a SkyCoord, so a wcs= is needed to place them on the image."
            raise ValueError(msg)
        x, y = wcs.world_to_pixel(positions)
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]), positions
    xy = np.atleast_2d(np.asarray(positions, dtype=float))
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = (f"positions must be a SkyCoord or pixel (x, y) pairs of shape (N, 2); "
               f"got shape {np.shape(positions)}.")
        raise ValueError(msg)
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
    return pixels


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
        apertures or one each.
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
        self.wcs = wcs
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
            aperture_mask = CircularAperture((x, y), r).to_mask(method="center")
            n_total = aperture_mask.data.sum()
            values = aperture_mask.get_values(data)
            values = values[np.isfinite(values)]
            n_valid[i] = values.size
            coverage[i] = values.size / n_total if n_total else 0.0
            if values.size:
                ratio[i] = values.mean()
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
        radius = angular_radius(factor * r500, redshift, cosmology=cosmology)
        return cls(probability, positions, radius, wcs=wcs, mask=mask)

    @classmethod
    def from_m500(cls, probability, positions, m500, redshift, *, wcs,
                  factor=DEFAULT_APERTURE_FACTOR, cosmology=None, mask=None):
        """
        Apertures of ``factor`` x R500 around clusters of mass M500.

        R500 follows from M500 and the critical density at the cluster's
        redshift (see `~astropy_radiounet.clusters.r500_from_m500`); other
        parameters are those of `from_r500`.
        """
        r500 = r500_from_m500(m500, redshift, cosmology=cosmology)
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

    def to_table(self):
        """
        The measurements as a `~astropy.table.QTable`.

        Columns: ``id`` (from 1), ``x`` and ``y`` (pixels), ``sky_centroid``
        (with a WCS), ``radius`` (pixels) and ``radius_angle`` (with a WCS),
        ``ratio``, ``n_pixels`` and ``coverage``.
        """
        table = QTable()
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
        return table

    def to_regions(self):
        """
        The apertures as `regions.Regions` (sky circles when a WCS is known).

        Each region's ``meta['text']`` gives its detection ratio, which DS9
        shows as a label.
        """
        from regions import CirclePixelRegion, PixCoord, Regions

        shapes = []
        for i, ((x, y), r) in enumerate(zip(self.xy, self.radius_pixels)):
            region = CirclePixelRegion(PixCoord(x, y), r)
            if self.wcs is not None:
                region = region.to_sky(self.wcs)
            region.meta["text"] = f"{i + 1}: R={self.ratio[i]:.4f}"
            shapes.append(region)
        return Regions(shapes)
