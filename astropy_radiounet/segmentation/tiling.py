"""
Run a model over an image of any size in overlapping tiles.

Each tile fed to the network is a *core* plus a *halo* on every side.  Only
the core of each prediction is kept, and the cores tile the image exactly.
When the halo is at least the network's receptive-field radius and every
tile starts on a multiple of the network's downsampling factor, a core pixel
sees exactly the same input whatever tile it sits in, so the result does not
depend on the tile size (to float32 rounding) and there are no seams.
Outside the image the input is zero, which the normalisation uses for blank
sky, so image edges look the same to every tile too.
"""

import numpy as np
from tqdm.auto import tqdm

__all__ = ["TileLayout", "predict_tiled"]


def _round_up(value, multiple):
    return -(-int(value) // multiple) * multiple


class TileLayout:
    """
    Where the tiles of an image lie.

    Parameters
    ----------
    image_shape : tuple of int
        Shape of the image, (ny, nx).
    tile_shape : tuple of int
        Requested shape of the tiles fed to the network, halo included.
        Tiles are never larger than needed to cover a small image.
    halo : int
        Pixels of context on each side of a core.
    multiple : int
        Tile corners and sizes are multiples of this (the network's total
        downsampling factor, 2**depth for a U-Net).

    Raises
    ------
    ValueError
        If ``tile_shape`` leaves no room for a core.

    Examples
    --------
    >>> from astropy_radiounet.segmentation.tiling import TileLayout
    >>> layout = TileLayout((1000, 300), tile_shape=(512, 512), halo=64, multiple=16)
    >>> layout.core_shape, layout.tile_shape, len(layout)
    ((384, 304), (512, 432), 3)
    """

    def __init__(self, image_shape, tile_shape, halo, multiple):
        self.image_shape = tuple(int(n) for n in image_shape)
        self.multiple = int(multiple)
        self.halo = _round_up(halo, self.multiple)
        cores = []
        for requested, size in zip(tile_shape, self.image_shape):
            core = (int(requested) - 2 * self.halo) // self.multiple * self.multiple
            if core < self.multiple:
                minimum = 2 * self.halo + self.multiple
                msg = (f"tile_shape={tuple(tile_shape)} is too small for this model, which "
                       f"needs {self.halo} pixels of context on each side of a tile: use "
                       f"tiles of at least {minimum} x {minimum} pixels.")
                raise ValueError(msg)
            cores.append(min(core, _round_up(size, self.multiple)))
        self.core_shape = tuple(cores)
        self.tile_shape = tuple(c + 2 * self.halo for c in cores)

    def __len__(self):
        return int(np.prod([-(-n // c) for n, c in zip(self.image_shape, self.core_shape)]))

    def __iter__(self):
        """Yield the (y, x) corner of each core, in row-major order."""
        for y in range(0, self.image_shape[0], self.core_shape[0]):
            for x in range(0, self.image_shape[1], self.core_shape[1]):
                yield y, x

    def read_tile(self, source, corner, *, n_channels=None):
        """
        Cut the tile around a core from ``source``, zero outside the image.

        Parameters
        ----------
        source : callable
            ``source(rows, cols)`` returns the float32 input for slices inside
            the image: of shape (ny, nx), or (ny, nx, n_channels).
        corner : tuple of int
            The core's (y, x) corner.
        n_channels : int, optional
            Number of channels of the source; `None` for a 2-D source.

        Returns
        -------
        tile : `~numpy.ndarray`
            Array of ``tile_shape``, followed by ``n_channels`` if given.
        """
        channels = () if n_channels is None else (int(n_channels),)
        tile = np.zeros(self.tile_shape + channels, dtype=np.float32)
        bounds = []
        for start, size, n in zip(corner, self.tile_shape, self.image_shape):
            lo = start - self.halo
            bounds.append((max(lo, 0), min(lo + size, n), max(lo, 0) - lo))
        (y0, y1, ty), (x0, x1, tx) = bounds
        tile[ty:ty + y1 - y0, tx:tx + x1 - x0] = source(slice(y0, y1), slice(x0, x1))
        return tile

    def core_slices(self, corner):
        """Slices of the image, and of the tile, holding a core's prediction."""
        image_slices, tile_slices = [], []
        for start, core, n in zip(corner, self.core_shape, self.image_shape):
            stop = min(start + core, n)
            image_slices.append(slice(start, stop))
            tile_slices.append(slice(self.halo, self.halo + stop - start))
        return tuple(image_slices), tuple(tile_slices)


def predict_tiled(source, predict_batch, layout, *, batch_size=4, out=None,
                  progress_bar=False, description="tiles", n_channels=None):
    """
    Predict over an image tile by tile.

    Parameters
    ----------
    source : callable
        ``source(rows, cols)`` returns the network input for a part of the
        image (float32): of shape (ny, nx), or (ny, nx, n_channels) when
        ``n_channels`` is given.
    predict_batch : callable
        Maps a float32 batch of shape (n, ty, tx, C) to predictions of shape
        (n, ty, tx, 1); C is ``n_channels``, or 1 for a 2-D source.
    layout : `TileLayout`
        Where the tiles lie.
    batch_size : int, optional
        Tiles per network call.
    out : `~numpy.ndarray`, optional
        float32 array of the image shape to write into (for example a
        memory-mapped file); allocated when not given.
    progress_bar : bool, optional
        Show a tqdm progress bar.
    description : str, optional
        Label of the progress bar.
    n_channels : int, optional
        Number of channels of the source (a model's input channels); `None`
        for a source of 2-D maps.

    Returns
    -------
    out : `~numpy.ndarray`
        The prediction over the whole image.
    """
    if batch_size < 1:
        msg = f"batch_size must be a positive integer; got {batch_size}."
        raise ValueError(msg)
    if out is None:
        out = np.empty(layout.image_shape, dtype=np.float32)
    corners = list(layout)
    # All calls get the same batch shape (one compiled graph for the whole
    # image); the last batch is padded with empty tiles.
    batch_size = min(batch_size, len(corners))
    with tqdm(total=len(corners), desc=description, unit="tile",
              disable=not progress_bar, leave=False) as bar:
        for first in range(0, len(corners), batch_size):
            chunk = corners[first:first + batch_size]
            batch = np.zeros((batch_size, *layout.tile_shape, n_channels or 1),
                             dtype=np.float32)
            for i, corner in enumerate(chunk):
                if n_channels is None:
                    batch[i, ..., 0] = layout.read_tile(source, corner)
                else:
                    batch[i] = layout.read_tile(source, corner, n_channels=n_channels)
            prediction = np.asarray(predict_batch(batch))
            for i, corner in enumerate(chunk):
                image_slices, tile_slices = layout.core_slices(corner)
                out[image_slices] = prediction[(i, *tile_slices, 0)]
            bar.update(len(chunk))
    return out
