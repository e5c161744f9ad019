"""
Move images between the input pixel grid and the model's grid.

A model is trained at one pixel scale and beam (its model card says which).
The *model grid* is the input grid with pixels ``factor`` times larger, in
the same orientation, so no reprojection is needed:

* to the model grid, each model pixel is the area-weighted mean of the input
  pixels it overlaps (``factor >= 1``; this conserves surface brightness, and
  so flux) or a linear interpolation of them (``factor < 1``);
* the image is then convolved to the model's beam, if it is sharper;
* back on the input grid, the probability is interpolated linearly.

Resampling is a separable sparse matrix product applied to strips of rows,
so a memory-mapped input is read once, in pieces, and only the (smaller)
model-grid image is held in memory; the beam convolution works on that
whole model-grid image.  When the input is already at the model's pixel
scale (``factor`` 1), the model-grid image is a full-size copy.
"""

import numpy as np
from scipy import ndimage, sparse
from scipy.signal import fftconvolve

from .beams import gaussian_kernel, matching_kernel_covariance

__all__ = ["ResampledImage", "to_model_grid", "match_beam", "to_input_grid",
           "model_grid_shape", "fftconvolve_strips"]

#: Model pixels whose area is covered by less than this fraction of valid
#: input pixels are blank.
MIN_COVERAGE = 0.5

#: Pixels read or convolved at a time: strips of rows are cut to about this many
#: pixels, so that memory does not grow with the width of a mosaic.
STRIP_PIXELS = 2**22
#: Pixels brighter than this many times the median absolute value are
#: convolved directly rather than by FFT, whose rounding errors (a fraction
#: 1e-16 of the brightest value, at every pixel) would otherwise drown the
#: noise everywhere: one 1e30 Jy/beam pixel must not change the rest.
FFT_DYNAMIC_RANGE = 1e5
#: Up to this many such pixels the kernel is added at each; beyond, the
#: direct convolution of scipy.ndimage is used.
MAX_SCATTERED = 10_000


def model_grid_shape(shape, factor):
    """Shape of the model grid for an input ``shape`` and a pixel-size ``factor``."""
    return tuple(int(np.ceil(n / factor - 1e-9)) for n in shape)


def _area_weights(n_in, n_out, factor):
    """Sparse (n_out, n_in) matrix of area-weighted means, for factor >= 1."""
    rows, cols, weights = [], [], []
    for j in range(n_out):
        start, stop = j * factor, (j + 1) * factor
        first, last = int(np.floor(start)), min(int(np.ceil(stop)), n_in)
        for i in range(first, last):
            overlap = min(stop, i + 1) - max(start, i)
            if overlap > 1e-12:
                rows.append(j)
                cols.append(i)
                weights.append(overlap / factor)
    return sparse.csr_matrix((weights, (rows, cols)), shape=(n_out, n_in))


def _linear_weights(n_from, n_to, factor):
    """
    Sparse (n_to, n_from) linear interpolation matrix from a grid to one whose
    pixels are ``factor`` times larger, with the edges held constant.
    """
    centres = (np.arange(n_to) + 0.5) * factor - 0.5
    centres = np.clip(centres, 0, n_from - 1)
    lower = np.floor(centres).astype(int)
    upper = np.minimum(lower + 1, n_from - 1)
    frac = centres - lower
    rows = np.concatenate([np.arange(n_to), np.arange(n_to)])
    cols = np.concatenate([lower, upper])
    weights = np.concatenate([1 - frac, frac])
    return sparse.csr_matrix((weights, (rows, cols)), shape=(n_to, n_from))


def _weights(n_in, n_out, factor):
    if factor >= 1:
        return _area_weights(n_in, n_out, factor)
    return _linear_weights(n_in, n_out, factor)


class ResampledImage:
    """
    An image held in memory on the model grid.

    It reads like `~astropy_radiounet.image.ImagePlane` (``shape`` and
    ``read``), so later steps do not care whether the input was resampled.

    Parameters
    ----------
    values : `~numpy.ndarray`
        float32 values in Jy/beam, zero where blank.
    valid : `~numpy.ndarray`
        `True` where the value is valid.
    """

    def __init__(self, values, valid):
        self.values = values
        self.valid = valid

    @property
    def shape(self):
        """Shape of the image, (ny, nx)."""
        return self.values.shape

    def read(self, rows=slice(None), cols=slice(None)):
        """Return (values, valid) for part of the image."""
        return self.values[rows, cols], self.valid[rows, cols]


def to_model_grid(plane, factor, *, strip_rows=1024):
    """
    Resample an image plane to a grid with pixels ``factor`` times larger.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    factor : float
        Model pixel size over input pixel size.
    strip_rows : int, optional
        Number of input rows read at a time.

    Returns
    -------
    image : `ResampledImage`
    """
    ny, nx = plane.shape
    out_shape = model_grid_shape(plane.shape, factor)
    w_rows = _weights(ny, out_shape[0], factor)
    w_cols = _weights(nx, out_shape[1], factor)
    # float32 sums: each model pixel adds the few input pixels it covers.
    total = np.zeros(out_shape, dtype=np.float32)
    coverage = np.zeros(out_shape, dtype=np.float32)
    strip_rows = max(1, min(strip_rows, STRIP_PIXELS // max(nx, 1)))
    for start in range(0, ny, strip_rows):
        rows = slice(start, min(start + strip_rows, ny))
        values, valid = plane.read(rows)
        block = w_rows[:, rows]
        total += block @ (w_cols @ values.T).T
        coverage += block @ (w_cols @ valid.T.astype(np.float32)).T
    valid = coverage >= MIN_COVERAGE
    values = np.zeros(out_shape, dtype=np.float32)
    values[valid] = total[valid] / coverage[valid]
    return ResampledImage(values, valid)


def match_beam(image, target_covariance, current_covariance, *, pixel_variance=0.0):
    """
    Convolve an image on the model grid to the model's beam.

    Parameters
    ----------
    image : `ResampledImage`
        The image, changed in place.
    target_covariance, current_covariance : `~numpy.ndarray`
        2x2 pixel covariances of the model's beam and of the image's beam,
        on the model grid.
    pixel_variance : float, optional
        Variance (model pixels squared) already added on each axis by the
        resampling, subtracted from the kernel.

    Returns
    -------
    deficit : float
        How much wider (as a variance, model pixels squared) the image's beam
        is than the model's along its worst direction; 0 when the model's
        beam could be reached exactly.
    """
    current = np.asarray(current_covariance) + np.eye(2) * pixel_variance
    kernel_cov, deficit = matching_kernel_covariance(target_covariance, current)
    kernel = gaussian_kernel(kernel_cov)
    if kernel is None:
        return deficit
    area_ratio = np.sqrt(np.linalg.det(target_covariance) / np.linalg.det(current))
    weight = image.valid.astype(np.float32)
    smoothed = convolve_same(image.values, kernel, dtype=np.float32)
    norm = fftconvolve_strips(weight, kernel, dtype=np.float32)
    del weight
    good = image.valid & (norm > 1e-3)
    values = np.zeros(image.values.shape, dtype=np.float32)
    values[good] = smoothed[good] / norm[good] * max(area_ratio, 1.0)
    image.values = values
    image.valid = good
    return deficit


def fftconvolve_strips(values, kernel, *, dtype=np.float64):
    """
    ``fftconvolve(values, kernel, mode='same')``, computed a strip of rows at a time.

    Each strip is convolved with the rows of its neighbours that the kernel
    reaches, so the result is that of one convolution of the whole image,
    while the FFT buffers are those of a strip of about ``STRIP_PIXELS``
    pixels instead of the whole image.

    Parameters
    ----------
    values : `~numpy.ndarray`
        2-D image.
    kernel : `~numpy.ndarray`
        Odd-sized 2-D kernel.
    dtype : dtype, optional
        Of the result (each strip is convolved in double precision).

    Returns
    -------
    convolved : `~numpy.ndarray`
        Array of the shape of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import fftconvolve
    >>> from astropy_radiounet.image.resampling import fftconvolve_strips
    >>> image = np.random.default_rng(0).normal(size=(300, 40))
    >>> kernel = np.ones((5, 7)) / 35
    >>> np.allclose(fftconvolve_strips(image, kernel), fftconvolve(image, kernel, mode='same'))
    True
    """
    ny, nx = values.shape
    half = kernel.shape[0] // 2
    rows = max(16, STRIP_PIXELS // max(nx + kernel.shape[1], 1))
    if rows + 2 * half >= ny:
        return fftconvolve(values, kernel, mode="same").astype(dtype, copy=False)
    out = np.empty(values.shape, dtype=dtype)
    for start in range(0, ny, rows):
        stop = min(start + rows, ny)
        lo, hi = max(start - half, 0), min(stop + half, ny)
        block = fftconvolve(values[lo:hi], kernel, mode="same")
        out[start:stop] = block[start - lo:start - lo + stop - start]
    return out


def convolve_same(values, kernel, *, dtype=np.float64):
    """
    ``fftconvolve(values, kernel, mode='same')``, exact for extreme values.

    Pixels more than ``FFT_DYNAMIC_RANGE`` times brighter than the median
    absolute (non-zero) value are taken out of the FFT and convolved
    directly, so that the rounding errors of the FFT, which are a fraction of
    the brightest value at every pixel, stay far below the noise.

    Parameters
    ----------
    values : `~numpy.ndarray`
        2-D image (finite).
    kernel : `~numpy.ndarray`
        Odd-sized 2-D kernel.
    dtype : dtype, optional
        Of the result.

    Returns
    -------
    convolved : `~numpy.ndarray`
        Array of the shape of ``values``.
    """
    magnitude = np.abs(values)
    nonzero = magnitude[magnitude > 0]
    if nonzero.size == 0:
        return np.zeros(values.shape, dtype=dtype)
    extreme = magnitude > FFT_DYNAMIC_RANGE * np.median(nonzero)
    del magnitude, nonzero
    n_extreme = int(np.count_nonzero(extreme))
    if n_extreme == 0:
        return fftconvolve_strips(values, kernel, dtype=dtype)
    convolved = fftconvolve_strips(np.where(extreme, 0.0, values), kernel, dtype=dtype)
    if n_extreme > MAX_SCATTERED:
        convolved += ndimage.convolve(np.where(extreme, values, 0.0).astype(np.float64),
                                      kernel, mode="constant")
        return convolved
    half_y, half_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    ny, nx = values.shape
    for y, x in zip(*np.nonzero(extreme)):
        y0, y1 = max(y - half_y, 0), min(y + half_y + 1, ny)
        x0, x1 = max(x - half_x, 0), min(x + half_x + 1, nx)
        convolved[y0:y1, x0:x1] += float(values[y, x]) * kernel[
            y0 - y + half_y:y1 - y + half_y, x0 - x + half_x:x1 - x + half_x]
    return convolved


def to_input_grid(probability, factor, shape, *, out, strip_rows=1024):
    """
    Interpolate a model-grid map back onto the input grid.

    At ``factor`` 1 the two grids are the same, and the map is copied into
    ``out``.

    Parameters
    ----------
    probability : `~numpy.ndarray`
        Map on the model grid.
    factor : float
        Model pixel size over input pixel size.
    shape : tuple of int
        Shape of the input grid.
    out : `~numpy.ndarray`
        float32 array of ``shape`` written in strips of ``strip_rows`` rows.

    Returns
    -------
    out : `~numpy.ndarray`
    """
    if factor == 1.0:
        out[...] = probability
        return out
    ny, nx = shape
    w_rows = _linear_weights(probability.shape[0], ny, 1.0 / factor).tocsc()
    w_cols = _linear_weights(probability.shape[1], nx, 1.0 / factor)
    strip_rows = max(1, min(strip_rows, STRIP_PIXELS // max(nx, 1)))
    for start in range(0, ny, strip_rows):
        rows = slice(start, min(start + strip_rows, ny))
        weights = w_rows[rows]
        used = np.flatnonzero(weights.getnnz(axis=0))  # the model rows this strip needs
        first, last = used[0], used[-1] + 1
        # Interpolate along x only the model rows of this strip, so that memory
        # is that of a strip, not of the whole model grid at the input's width.
        along_x = (w_cols @ np.asarray(probability[first:last], dtype=np.float64).T).T
        out[rows] = weights[:, first:last] @ along_x
    return out
