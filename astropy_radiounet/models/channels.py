"""
The input channels of a model: what the network sees at each pixel of the
model grid, declared by name in its model card (``input_channels``).

Every channel is a function of the prepared input (a
`~astropy_radiounet.segmentation.ModelInput`: the image on the model grid,
its local noise, the input at its own resolution and the normalisation) and
a window of the model grid, and returns a float32 map of that window in
[-1, 1], 0 where the image is blank.  It reads only what the window needs,
so a mosaic is fed to the network a tile at a time, and a pixel's value does
not depend on the window it is read in.  This module is the one definition
of each channel: inference and the training pairs both read them here.

``'image'``
    The image at the model's grid and beam over its local noise, through
    the card's symmetric-logarithm stretch (`LogNormalisation`): what every
    model before version 0.3 saw, and still its only channel by default.
``'peak_snr'``
    What the full-resolution image knows: its brightest pixel within each
    model pixel's footprint (the input pixels the model pixel overlaps)
    over the input's own local noise (a `~astropy_radiounet.image.NoiseMap`
    at the input resolution, with boxes of the same size on the sky as the
    model's), through the same stretch.  Compact cores, hotspots and jets
    keep their full-resolution signal-to-noise ratio there, while smooth
    diffuse emission has a lower one than at the model's beam.

Like the normalisation, the channels live in ``models`` because the card
declares them and is checked against them when it is read.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..image.noise import NoiseMap
from ..image.resampling import STRIP_PIXELS

__all__ = ["InputChannel", "INPUT_CHANNELS", "DEFAULT_INPUT_CHANNELS", "check_input_channels",
           "needs_input_noise", "estimate_input_noise", "read_channels"]

#: The channels of a card that declares none (every card before version 0.3).
DEFAULT_INPUT_CHANNELS = ("image",)

#: Tolerance, in input pixels, of the model-pixel footprint edges (rounding
#: of the pixel-size factor must not add a row of input pixels).
_EDGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class InputChannel:
    """
    One input channel of a model.

    Parameters
    ----------
    name : str
        The name a model card uses.
    read : callable
        ``read(model_input, rows, cols)`` returns the float32 map of a
        window (two slices) of the model grid.
    description : str
        One line, for messages and documentation.
    full_resolution : bool, optional
        Whether the channel reads the input at its own resolution and needs
        its local noise there (`estimate_input_noise`).
    """

    name: str
    read: Callable
    description: str
    full_resolution: bool = False


def _image_channel(model_input, rows, cols):
    """The image at the model's grid and beam, normalised by its local noise."""
    values, valid = model_input.image.read(rows, cols)
    return model_input.normalisation(values, valid, model_input.noise(rows, cols))


def _bounds(window, n):
    start, stop, step = window.indices(n)
    if step != 1:
        msg = f"A channel is read over contiguous windows; got a slice with step {step}."
        raise ValueError(msg)
    return start, max(start, stop)


def footprints(start, stop, factor, n_in):
    """
    The input pixels under model pixels ``start`` to ``stop - 1`` along one axis.

    Model pixel ``j`` covers input coordinates ``j * factor`` to
    ``(j + 1) * factor``; its footprint is every input pixel it overlaps.

    Returns
    -------
    first, last : `~numpy.ndarray`
        The footprint of each model pixel is ``first[i]`` to ``last[i] - 1``.

    Examples
    --------
    >>> from astropy_radiounet.models.channels import footprints
    >>> first, last = footprints(0, 3, 2.5, 8)
    >>> first.tolist(), last.tolist()
    ([0, 2, 5], [3, 5, 8])
    """
    j = np.arange(start, stop, dtype=np.float64)
    first = np.floor(j * factor + _EDGE_TOLERANCE).astype(np.int64)
    first = np.clip(first, 0, n_in - 1)
    last = np.ceil((j + 1) * factor - _EDGE_TOLERANCE).astype(np.int64)
    return first, np.clip(last, first + 1, n_in)


def _max_pool(block, first, last, offset, axis):
    """The maximum of ``block`` over each footprint along ``axis`` (footprints may share
    their edge pixel when the factor is not an integer)."""
    pooled = np.maximum.reduceat(block, first - offset, axis=axis)
    return np.maximum(pooled, np.take(block, last - 1 - offset, axis=axis), out=pooled)


def _centres(start, stop, factor, n_in):
    """Input-pixel coordinates of the centres of model pixels ``start`` to ``stop - 1``."""
    centres = (np.arange(start, stop, dtype=np.float64) + 0.5) * factor - 0.5
    return np.clip(centres, 0, n_in - 1)


def _peak_snr_channel(model_input, rows, cols):
    """The full-resolution peak signal-to-noise ratio in each model pixel, stretched."""
    plane, factor = model_input.plane, model_input.factor
    (y0, y1), (x0, x1) = _bounds(rows, model_input.shape[0]), _bounds(cols, model_input.shape[1])
    out = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    if y1 == y0 or x1 == x0:
        return out
    valid = model_input.image.read(slice(y0, y1), slice(x0, x1))[1]
    first_x, last_x = footprints(x0, x1, factor, plane.shape[1])
    sigma_x = _centres(x0, x1, factor, plane.shape[1])
    width = int(last_x[-1] - first_x[0])
    strip = max(1, int(STRIP_PIXELS // max(width * max(factor, 1.0), 1)))
    for start in range(y0, y1, strip):
        stop = min(start + strip, y1)
        first_y, last_y = footprints(start, stop, factor, plane.shape[0])
        values, good = plane.read(slice(first_y[0], last_y[-1]), slice(first_x[0], last_x[-1]))
        values[~good] = -np.inf
        peak = _max_pool(values, first_y, last_y, first_y[0], axis=0)
        peak = _max_pool(peak, first_x, last_x, first_x[0], axis=1)
        del values, good
        seen = np.isfinite(peak) & valid[start - y0:stop - y0]
        peak[~seen] = 0.0
        sigma = model_input.input_noise.at(_centres(start, stop, factor, plane.shape[0]),
                                           sigma_x)
        out[start - y0:stop - y0] = model_input.normalisation(peak, seen, sigma)
    return out


#: Every input channel a model card may declare, by name.
INPUT_CHANNELS = {
    "image": InputChannel(
        "image", _image_channel,
        "the image at the model's grid and beam over its local noise, stretched"),
    "peak_snr": InputChannel(
        "peak_snr", _peak_snr_channel,
        "the full-resolution image's peak signal-to-noise ratio in each model pixel, "
        "stretched", full_resolution=True),
}


def check_input_channels(names, *, where="input_channels"):
    """
    Input channel names checked against `INPUT_CHANNELS`.

    Parameters
    ----------
    names : sequence of str
        The channel names, in the order the network takes them.
    where : str, optional
        What they are called in messages.

    Returns
    -------
    names : tuple of str

    Raises
    ------
    ValueError
        If ``names`` is not a non-empty sequence of distinct known names;
        the message lists the known ones.

    Examples
    --------
    >>> from astropy_radiounet.models.channels import check_input_channels
    >>> check_input_channels(["image", "peak_snr"])
    ('image', 'peak_snr')
    """
    known = ", ".join(repr(name) for name in INPUT_CHANNELS)
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        msg = (f"{where} must be a non-empty list of channel names, such as "
               f"['image'] or ['image', 'peak_snr']; got {names!r}.  The known channels "
               f"are {known}.")
        raise ValueError(msg)
    unknown = [name for name in names if not isinstance(name, str) or name not in INPUT_CHANNELS]
    if unknown:
        msg = (f"{where} has unknown channel{'s' if len(unknown) > 1 else ''} "
               f"{', '.join(map(repr, unknown))}; the known channels are {known}.  Correct "
               f"the name, or upgrade astropy_radiounet if the card was written by a newer "
               f"version.")
        raise ValueError(msg)
    if len(set(names)) != len(names):
        msg = f"{where} names a channel twice: {list(names)!r}; give each channel once."
        raise ValueError(msg)
    return tuple(names)


def needs_input_noise(names):
    """Whether any of the channels ``names`` reads the input at its own resolution."""
    return any(INPUT_CHANNELS[name].full_resolution for name in names)


def estimate_input_noise(plane, noise_box_size, factor):
    """
    The local noise of the input at its own resolution, for the full-resolution channels.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input, read a row of boxes at a time.
    noise_box_size : int
        The model card's noise box, in model pixels; the boxes here cover
        the same area of sky (``noise_box_size * factor`` input pixels).
    factor : float
        Model pixel size over input pixel size.

    Returns
    -------
    noise : `~astropy_radiounet.image.NoiseMap`
    """
    box = max(8, int(round(noise_box_size * factor)))
    return NoiseMap.estimate(plane, box_size=box)


def read_channels(model_input, names, rows=slice(None), cols=slice(None)):
    """
    The network input for a window of the model grid: the channels ``names``, stacked.

    Parameters
    ----------
    model_input : `~astropy_radiounet.segmentation.ModelInput`
        The prepared input.
    names : tuple of str
        Channel names (see `INPUT_CHANNELS`).
    rows, cols : slice, optional
        The window of the model grid; all of it by default.

    Returns
    -------
    channels : `~numpy.ndarray`
        float32 array of shape (ny, nx, len(names)).
    """
    maps = [INPUT_CHANNELS[name].read(model_input, rows, cols) for name in names]
    if len(maps) == 1:
        return maps[0][..., np.newaxis]
    return np.stack(maps, axis=-1)
