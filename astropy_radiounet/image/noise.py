"""
Robust local noise: a sigma-clipped MAD standard deviation and a noise map
interpolated from boxes.
"""

import warnings

import numpy as np
from scipy.ndimage import generic_filter

__all__ = ["robust_sigma", "NoiseMap"]


#: Converts the median absolute deviation to the standard deviation of a Gaussian.
MAD_TO_STD = 1.482602218505602
#: A box whose spread is below this fraction of its typical absolute value
#: is constant up to float32 rounding (such as a constant image after
#: resampling), and has no noise to measure.
ROUNDING_SPREAD = 1e-6


def robust_sigma(values, *, axis=-1, sigma=3.0, maxiters=5):
    """
    Sigma-clipped median-absolute-deviation standard deviation along an axis.

    NaN entries are ignored.

    Parameters
    ----------
    values : array_like
        The samples.
    axis : int, optional
        Axis along which to estimate.
    sigma : float, optional
        Clipping threshold, in standard deviations from the median.
    maxiters : int, optional
        Maximum number of clipping iterations.

    Returns
    -------
    std : `~numpy.ndarray` or float
        NaN where there are no finite samples.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.image import robust_sigma
    >>> rng = np.random.default_rng(0)
    >>> sample = rng.normal(0, 2.0, 100_000)
    >>> sample[:500] = 1000  # bright sources do not bias the estimate
    >>> round(float(robust_sigma(sample)), 1)
    2.0
    """
    values = np.array(values, dtype=np.float64)
    values = np.moveaxis(values, axis, -1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        # Boxes with no finite samples give NaN, which the caller handles.
        warnings.filterwarnings("ignore", message="All-NaN slice", category=RuntimeWarning)
        for _ in range(maxiters):
            centre = np.nanmedian(values, axis=-1, keepdims=True)
            std = MAD_TO_STD * np.nanmedian(np.abs(values - centre), axis=-1, keepdims=True)
            outliers = np.abs(values - centre) > sigma * std
            if not outliers.any():
                break
            values[outliers] = np.nan
        centre = np.nanmedian(values, axis=-1, keepdims=True)
        std = MAD_TO_STD * np.nanmedian(np.abs(values - centre), axis=-1)
    return std


class NoiseMap:
    """
    Local noise of an image, estimated on a mesh of boxes.

    Use `NoiseMap.estimate` to build one; call it with row and column slices
    to get the noise at those pixels.

    Parameters
    ----------
    mesh : `~numpy.ndarray`
        Noise in each box, after filling and filtering.
    box_size : int
        Box size in pixels.
    shape : tuple of int
        Shape of the image the mesh covers.
    """

    def __init__(self, mesh, box_size, shape):
        self.mesh = np.asarray(mesh, dtype=np.float64)
        self.box_size = int(box_size)
        self.shape = tuple(shape)
        self._centres = [self._box_centres(n) for n in self.shape]

    def _box_centres(self, n):
        starts = np.arange(0, n, self.box_size)
        stops = np.minimum(starts + self.box_size, n)
        return (starts + stops - 1) / 2.0

    @classmethod
    def estimate(cls, image, *, box_size=64, filter_size=3, min_valid_fraction=0.5,
                 sigma=3.0, maxiters=5):
        """
        Estimate the local noise of an image.

        Parameters
        ----------
        image : object with ``shape`` and ``read(rows, cols)``
            An `~astropy_radiounet.image.ImagePlane` or
            `~astropy_radiounet.image.ResampledImage`; it is read one
            row of boxes at a time.
        box_size : int, optional
            Box size in pixels; larger than the diffuse sources of interest so
            that they are clipped rather than counted as noise.
        filter_size : int, optional
            Size of the median filter applied to the mesh of box values.
        min_valid_fraction : float, optional
            Boxes with fewer valid pixels than this fraction are filled from
            their neighbours.
        sigma, maxiters : float, int, optional
            Clipping parameters of `robust_sigma`.

        Returns
        -------
        noise : `NoiseMap`

        Raises
        ------
        ValueError
            If no box has enough valid pixels to measure the noise.
        """
        box_size = int(max(8, min(box_size, max(image.shape))))
        ny, nx = image.shape
        n_boxes_y, n_boxes_x = -(-ny // box_size), -(-nx // box_size)
        mesh = np.full((n_boxes_y, n_boxes_x), np.nan)
        for by in range(n_boxes_y):
            rows = slice(by * box_size, min((by + 1) * box_size, ny))
            values, valid = image.read(rows)
            padded = np.full((values.shape[0], n_boxes_x * box_size), np.nan)
            padded[:, :nx] = np.where(valid, values, np.nan)
            boxes = padded.reshape(values.shape[0], n_boxes_x, box_size)
            boxes = boxes.transpose(1, 0, 2).reshape(n_boxes_x, -1)
            n_valid = np.isfinite(boxes).sum(axis=1)
            box_pixels = values.shape[0] * np.minimum(
                box_size, nx - np.arange(n_boxes_x) * box_size)
            # Each box against its own size (the last column may be narrower).
            enough = n_valid >= np.maximum(min_valid_fraction * box_pixels, 16)
            if enough.any():
                spread = robust_sigma(boxes[enough], sigma=sigma, maxiters=maxiters)
                level = np.nanmedian(np.abs(boxes[enough]), axis=1)
                spread[spread <= ROUNDING_SPREAD * level] = np.nan
                mesh[by, enough] = spread
        mesh[~(mesh > 0)] = np.nan
        if not np.isfinite(mesh).any():
            msg = ("Cannot estimate the noise: no box of the image has enough valid "
                   "(finite, unmasked, non-constant) pixels.  Check that the image is not "
                   "blank or constant and that the mask does not cover it.")
            raise ValueError(msg)
        mesh = _fill_nan(mesh)
        if filter_size > 1 and min(mesh.shape) > 1:
            mesh = generic_filter(mesh, np.median, size=filter_size, mode="nearest")
        return cls(mesh, box_size, image.shape)

    def __call__(self, rows=slice(None), cols=slice(None)):
        """
        Noise at the pixels selected by ``rows`` and ``cols`` (slices).

        Returns
        -------
        sigma : `~numpy.ndarray`
            float32 array.
        """
        ys = np.arange(*rows.indices(self.shape[0]))
        xs = np.arange(*cols.indices(self.shape[1]))
        return self.at(ys, xs)

    def at(self, ys, xs):
        """
        Noise on the grid of pixel coordinates ``ys`` x ``xs``, which may be fractional.

        Parameters
        ----------
        ys, xs : array_like
            1-D row and column coordinates (0-based pixels; those beyond
            the image take the value at its edge).

        Returns
        -------
        sigma : `~numpy.ndarray`
            float32 array of shape ``(len(ys), len(xs))``.

        Examples
        --------
        >>> import numpy as np
        >>> from astropy_radiounet.image import NoiseMap
        >>> noise = NoiseMap(np.array([[1.0, 3.0]]), box_size=10, shape=(10, 20))
        >>> noise.at([0.0], [4.5, 9.5, 14.5]).tolist()
        [[1.0, 2.0, 3.0]]
        """
        fy = np.interp(ys, self._centres[0], np.arange(len(self._centres[0])))
        fx = np.interp(xs, self._centres[1], np.arange(len(self._centres[1])))
        y0 = np.floor(fy).astype(int)
        x0 = np.floor(fx).astype(int)
        y1 = np.minimum(y0 + 1, self.mesh.shape[0] - 1)
        x1 = np.minimum(x0 + 1, self.mesh.shape[1] - 1)
        wy = (fy - y0)[:, None]
        wx = (fx - x0)[None, :]
        m = self.mesh
        sigma = ((1 - wy) * ((1 - wx) * m[np.ix_(y0, x0)] + wx * m[np.ix_(y0, x1)])
                 + wy * ((1 - wx) * m[np.ix_(y1, x0)] + wx * m[np.ix_(y1, x1)]))
        return sigma.astype(np.float32)

    @property
    def median(self):
        """Median noise over the mesh."""
        return float(np.median(self.mesh))


def _fill_nan(mesh):
    """Replace NaN boxes by the median of their nearest valid neighbours."""
    mesh = mesh.copy()
    while not np.isfinite(mesh).all():
        with warnings.catch_warnings():
            # Neighbourhoods with no valid box stay NaN until a later pass.
            warnings.filterwarnings("ignore", message="All-NaN slice",
                                    category=RuntimeWarning)
            filled = generic_filter(mesh, np.nanmedian, size=3, mode="nearest")
        holes = ~np.isfinite(mesh) & np.isfinite(filled)
        if not holes.any():  # pragma: no cover - cannot happen with one valid box
            mesh[~np.isfinite(mesh)] = np.nanmedian(mesh)
            break
        mesh[holes] = filled[holes]
    return mesh
