"""
What a model sees: an image brought to the model's grid and beam, its local
noise, and the normalisation, shared by inference and training so that the
two can never drift apart.

Before anything is allocated on the model grid its size is checked: an image
too small for a model, or a model grid that would need more memory than
``MAX_MODEL_GRID_BYTES`` (by default the machine's physical memory; a header
without a pixel scale makes one of hundreds of GiB), is refused with a
message that says why.
"""

import logging
import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.wcs.utils import proj_plane_pixel_scales

from ..exceptions import ImplausibleDataWarning, MissingMetadataWarning, ResolutionWarning
from ..image.beams import BEAM_EXAMPLE, beam_pixel_covariance, pixel_scale
from ..models.channels import (DEFAULT_INPUT_CHANNELS, INPUT_CHANNELS, check_input_channels,
                               estimate_input_noise, needs_input_noise, read_channels)
from ..models.normalisation import LogNormalisation
from ..image.noise import NoiseMap
from ..image.resampling import match_beam, model_grid_shape, to_model_grid
from ..utils.system import physical_memory

__all__ = ["ModelInput", "prepare_model_input", "scale_factor", "on_model_grid",
           "card_for_input"]

log = logging.getLogger(__name__)

#: Relative pixel-scale difference below which the input grid is used as is.
SCALE_TOLERANCE = 1e-3
#: Relative difference of the two pixel sides above which non-square pixels
#: are warned about (the model grid has the image's pixel shape).
SQUARE_TOLERANCE = 0.01
#: Fewest model-grid pixels of an image: the noise is measured on at least
#: 16 pixels (see `~astropy_radiounet.image.NoiseMap`).  Any shape with as
#: many is processed, down to a single row.
MIN_MODEL_GRID_PIXELS = 16
#: Most memory (bytes) that bringing an image to the model grid may need;
#: `None`: the machine's physical memory.
MAX_MODEL_GRID_BYTES = None
#: Working memory per model-grid pixel when the image is resampled or
#: convolved (sums, coverage, FFTs of the beam matching, the result).
BYTES_PER_MODEL_PIXEL = 64
#: Brightness (Jy/beam, absolute) above which a pixel cannot be sky: the
#: brightest radio sources (Cas A, Cyg A) have about 1e4 Jy in all at low
#: frequencies, so no beam holds ten times that.
IMPLAUSIBLE_BRIGHTNESS = 1e5


def scale_factor(plane, card):
    """
    Model pixel size over input pixel size (1 when no resampling is needed).

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    card : `~astropy_radiounet.models.ModelCard`
        The model's card.

    Raises
    ------
    ValueError
        If the card's or the image's pixel scale is not a finite, positive
        angle.
    """
    if card.pixel_scale is None:
        return 1.0
    model_scale = u.Quantity(card.pixel_scale).to(u.arcsec)
    if not (np.isfinite(model_scale.value) and model_scale.value > 0):
        msg = (f"The model card's pixel scale is {model_scale}; it must be a positive angle "
               f"(pixel_scale_arcsec in the card, or None to use images at their own "
               f"scale).  Correct the card.")
        raise ValueError(msg)
    if plane.wcs is None:
        warnings.warn(f"The image has no WCS, so its pixel scale is unknown: assuming it is "
                      f"already sampled at the model's {card.pixel_scale:.3g} pixels and beam. "
                      f" Pass wcs= to have it resampled.", MissingMetadataWarning, stacklevel=2)
        return 1.0
    image_scale = pixel_scale(plane.wcs)
    if not (np.isfinite(image_scale.value) and image_scale.value > 0):
        msg = (f"The image's WCS gives a pixel scale of {image_scale}; it must be a positive "
               f"angle.  Correct CDELT1/CDELT2 (or the CD matrix) of its header, or pass "
               f"wcs= with the image's WCS.")
        raise ValueError(msg)
    _warn_non_square(plane.wcs, image_scale, model_scale)
    factor = float(model_scale / image_scale)
    return 1.0 if abs(factor - 1.0) < SCALE_TOLERANCE else factor


def _warn_non_square(wcs, mean_scale, model_scale):
    unit = u.Unit(wcs.wcs.cunit[0] or "deg")
    sides = (np.abs(proj_plane_pixel_scales(wcs)) * unit).to(u.arcsec)
    if abs(sides[0] / sides[1] - 1.0) <= SQUARE_TOLERANCE:
        return
    factor = float(model_scale / mean_scale)
    ratio = float(sides[1] / sides[0])
    squeezed = f"{ratio:.3g} along y" if ratio > 1 else f"{1 / ratio:.3g} along x"
    warnings.warn(f"The image's pixels are not square ({sides[0].value:.3g} x "
                  f"{sides[1].value:.3g} arcsec along x and y), and it is resampled by one "
                  f"factor, from their geometric mean {mean_scale:.3g} to the model's "
                  f"{model_scale:.3g} pixels: the model sees pixels of "
                  f"{sides[0].value * factor:.3g} x {sides[1].value * factor:.3g} arcsec, "
                  f"the sky squeezed by a factor {squeezed}, unlike what it was trained on.  "
                  f"Reproject the image to square pixels first (for example with the "
                  f"reproject package).", ResolutionWarning, stacklevel=3)


def _size_text(n_bytes):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return None  # pragma: no cover


def check_model_grid(plane, card, factor):
    """
    Refuse an image whose model grid is too small for the model, or too large
    to allocate, before anything is allocated.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    card : `~astropy_radiounet.models.ModelCard`
        The model's card.
    factor : float
        Model pixel size over input pixel size (see `scale_factor`).

    Returns
    -------
    shape : tuple of int
        Shape of the model grid.

    Raises
    ------
    ValueError
        If the model grid has fewer than ``MIN_MODEL_GRID_PIXELS`` (16)
        pixels, or needs more memory than ``MAX_MODEL_GRID_BYTES`` (by
        default the machine's physical memory).
    """
    factor = float(factor)
    if not (np.isfinite(factor) and factor > 0):
        msg = (f"The pixel-size factor between the model's grid and the image's is "
               f"{factor!r}; it must be a finite positive number.  Check the model card's "
               f"pixel scale and the image's WCS (CDELT1/CDELT2).")
        raise ValueError(msg)
    shape = model_grid_shape(plane.shape, factor)
    grid = "" if factor == 1.0 else f" ({shape[0]} x {shape[1]} on the model's grid)"
    n_pixels = float(shape[0]) * float(shape[1])
    if n_pixels < MIN_MODEL_GRID_PIXELS:
        side = int(np.ceil(np.sqrt(MIN_MODEL_GRID_PIXELS)))
        need = int(np.ceil(side * factor - 1e-9))
        in_image = "" if factor == 1.0 else f", {need} x {need} pixels of this image"
        msg = (f"The image is {plane.shape[0]} x {plane.shape[1]} pixels{grid}: too small for "
               f"the model, which needs at least {MIN_MODEL_GRID_PIXELS} pixels on its grid "
               f"(such as {side} x {side}{in_image}) to measure the noise.  Use a larger "
               f"image or cutout.")
        raise ValueError(msg)
    resampled = factor != 1.0 or (card.beam is not None and plane.beam is not None
                                  and plane.wcs is not None)
    if not resampled:
        return shape  # the model reads the input itself, a tile at a time
    needed = BYTES_PER_MODEL_PIXEL * n_pixels
    if factor != 1.0:  # the result, brought back to the input grid row by row
        needed += 8.0 * shape[0] * plane.shape[1]
    limit = MAX_MODEL_GRID_BYTES if MAX_MODEL_GRID_BYTES is not None else physical_memory()
    if limit is not None and needed > limit:
        scale = "" if plane.wcs is None else f" of {pixel_scale(plane.wcs):.3g}"
        model = "" if card.pixel_scale is None else f" of {card.pixel_scale:.3g}"
        which = ("MAX_MODEL_GRID_BYTES" if MAX_MODEL_GRID_BYTES is not None
                 else "this machine's memory")
        msg = (f"The image of {plane.shape[0]} x {plane.shape[1]} pixels{scale} becomes a "
               f"model grid of {shape[0]} x {shape[1]} pixels{model}, which needs about "
               f"{_size_text(needed)} of memory, more than {which} ({_size_text(limit)}).  "
               f"Check the image's pixel scale (CDELT1/CDELT2 in its header, or the wcs= "
               f"passed) and the model card's; a mosaic that is simply this large can be "
               f"segmented in cutouts (ImagePlane.cutout).  The limit is "
               f"astropy_radiounet.segmentation.model_input.MAX_MODEL_GRID_BYTES.")
        raise ValueError(msg)
    return shape


def _beam_text(beam):
    return f"{beam.major.to(u.arcsec):.3g} x {beam.minor.to(u.arcsec):.3g}"


def on_model_grid(plane, card, factor):
    """
    An image plane on the model grid, convolved to the model's beam.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    card : `~astropy_radiounet.models.ModelCard`
        The model's card.
    factor : float
        Model pixel size over input pixel size (see `scale_factor`).

    Returns
    -------
    image : `~astropy_radiounet.image.ImagePlane` or `~astropy_radiounet.image.ResampledImage`
        The input itself when nothing needs doing.

    Raises
    ------
    ValueError
        If the model grid is too small or too large (see ``check_model_grid``).
    """
    check_model_grid(plane, card, factor)
    image = plane if factor == 1.0 else to_model_grid(plane, factor)
    if card.beam is None or plane.wcs is None:
        return image
    if plane.beam is None:
        warnings.warn(f"The image has no beam (no BMAJ/BMIN/BPA in its header, and no beam= "
                      f"given), so it cannot be convolved to the model's "
                      f"{_beam_text(card.beam)} beam; it is used as it is.  Pass the image's "
                      f"restoring beam, e.g. {BEAM_EXAMPLE}.", MissingMetadataWarning,
                      stacklevel=2)
        return image
    target = beam_pixel_covariance(card.beam, plane.wcs, scale=factor)
    current = beam_pixel_covariance(plane.beam, plane.wcs, scale=factor)
    if np.allclose(target, current, rtol=1e-3, atol=1e-4):
        return image
    if image is plane:
        image = to_model_grid(plane, 1.0)
    deficit = match_beam(image, target, current,
                         pixel_variance=1.0 / 12.0 if factor > 1 else 0.0)
    if deficit > 0.05 * np.linalg.eigvalsh(target).max():
        warnings.warn(f"The image's beam ({_beam_text(plane.beam)}) is wider than the "
                      f"model's ({_beam_text(card.beam)}) and cannot be sharpened; the model "
                      f"sees a smoother image than it was trained on.", ResolutionWarning,
                      stacklevel=2)
    return image


def _check_values(plane, *, strip_rows=256):
    """
    Refuse a constant image and warn of implausible pixels, reading the plane
    ``strip_rows`` rows at a time.
    """
    lowest, highest, n_valid = np.inf, -np.inf, 0
    n_implausible, brightest, where = 0, 0.0, []
    for start in range(0, plane.shape[0], strip_rows):
        rows = slice(start, min(start + strip_rows, plane.shape[0]))
        data = np.asarray(plane.data[rows], dtype=np.float64)
        valid = np.isfinite(data)  # those beyond float32 too, which are blank later
        if plane.mask is not None:
            valid &= ~plane.mask[rows]
        if not valid.any():
            continue
        values = data[valid] * plane.scale
        n_valid += values.size
        lowest, highest = min(lowest, values.min()), max(highest, values.max())
        implausible = np.abs(values) > IMPLAUSIBLE_BRIGHTNESS
        if implausible.any():
            n_implausible += int(implausible.sum())
            brightest = max(brightest, float(np.abs(values[implausible]).max()))
            if len(where) < 5:
                ys, xs = np.nonzero(valid)
                where += [(int(x), int(y) + start) for y, x in
                          zip(ys[implausible][:5], xs[implausible][:5])]
    if n_valid and lowest == highest:
        msg = (f"The image is constant: all {n_valid} valid pixels are {lowest:.6g} Jy/beam, so "
               f"there is no noise to measure and nothing to find.  Check that this is the "
               f"image you meant (a constant image is a placeholder or a failed imaging run); "
               f"blank pixels must be NaN, not a constant.")
        raise ValueError(msg)
    if n_implausible:
        shown = ", ".join(f"({x}, {y})" for x, y in where[:5])
        more = ", ..." if n_implausible > 5 else ""
        overflow = (" (those beyond the float32 range, 3.4e38, are blank)"
                    if brightest > float(np.finfo(np.float32).max) else "")
        warnings.warn(f"The image has {n_implausible} pixel{'s' if n_implausible > 1 else ''} "
                      f"brighter than {IMPLAUSIBLE_BRIGHTNESS:.0e} Jy/beam (up to "
                      f"{brightest:.3g} Jy/beam), which no radio source is: at (x, y) = "
                      f"{shown}{more} (0-based pixels).  They are usually corrupt; they are "
                      f"kept as data{overflow} and change only their own surroundings.  "
                      f"Mask them (mask=) or set them to NaN if they are not real.",
                      ImplausibleDataWarning, stacklevel=3)


@dataclass
class ModelInput:
    """
    An image ready for a model.

    Attributes
    ----------
    image : `~astropy_radiounet.image.ImagePlane` or `~astropy_radiounet.image.ResampledImage`
        The image on the model grid (the input itself when no resampling or
        convolution is needed, so memory-mapped data stay on disk).
    noise : `~astropy_radiounet.image.NoiseMap`
        Its local noise.
    factor : float
        Model pixel size over input pixel size.
    normalisation : `~astropy_radiounet.models.LogNormalisation`
        The model's normalisation.
    channels : tuple of str
        The model's input channels (`~astropy_radiounet.models.channels.INPUT_CHANNELS`),
        in the order the network takes them.
    plane : `~astropy_radiounet.image.ImagePlane` or `None`
        The input at its own resolution, read by the full-resolution
        channels (``'peak_snr'``).
    input_noise : `~astropy_radiounet.image.NoiseMap` or `None`
        The local noise of ``plane``, when a channel needs it.
    card : `~astropy_radiounet.models.ModelCard` or `None`
        The card the input was prepared for: the model's, or the model's
        scaled to a coarser input beam (`card_for_input`).
    """

    image: object
    noise: NoiseMap
    factor: float
    normalisation: LogNormalisation
    channels: tuple = DEFAULT_INPUT_CHANNELS
    plane: object = None
    input_noise: NoiseMap | None = None
    card: object = None

    @property
    def shape(self):
        """Shape of the model grid."""
        return self.image.shape

    def normalised(self, rows=slice(None), cols=slice(None)):
        """The normalised image (the ``'image'`` channel) for part of the model grid (float32)."""
        return INPUT_CHANNELS["image"].read(self, rows, cols)

    def network_input(self, rows=slice(None), cols=slice(None)):
        """
        The network's input for part of the model grid: its channels, stacked.

        Parameters
        ----------
        rows, cols : slice, optional
            The window of the model grid; all of it by default.

        Returns
        -------
        channels : `~numpy.ndarray`
            float32 array of shape (ny, nx, len(channels)); for a model with
            the one ``'image'`` channel, `normalised` with a channel axis.
        """
        return read_channels(self, self.channels, rows, cols)


def prepare_model_input(plane, card):
    """
    Bring an image plane to a model's grid, beam and normalisation.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input (see `~astropy_radiounet.image.read_image`).
    card : `~astropy_radiounet.models.ModelCard`
        The model's card: pixel scale, beam, noise box, normalisation and
        input channels.

    Returns
    -------
    model_input : `ModelInput`

    Raises
    ------
    ValueError
        If the image is constant, or too small or too large for the model
        (see ``check_model_grid``).

    Warns
    -----
    `~astropy_radiounet.exceptions.ImplausibleDataWarning`
        For pixels brighter than ``IMPLAUSIBLE_BRIGHTNESS`` (1e5 Jy/beam),
        which no radio source is; they are kept, and change only their own
        surroundings.
    """
    card = card_for_input(plane, card)
    factor = scale_factor(plane, card)
    check_model_grid(plane, card, factor)
    _check_values(plane)
    image = on_model_grid(plane, card, factor)
    noise = NoiseMap.estimate(image, box_size=card.noise_box_size)
    channels = check_input_channels(card.input_channels)  # changed since the card was made?
    input_noise = (estimate_input_noise(plane, card.noise_box_size, factor)
                   if needs_input_noise(channels) else None)
    return ModelInput(image=image, noise=noise, factor=factor,
                      normalisation=card.normalisation, channels=channels, plane=plane,
                      input_noise=input_noise, card=card)


def card_for_input(plane, card, *, warn=True):
    """
    The card a model applies to an image: its own, or scaled to a coarser beam.

    An image whose beam is wider than the model's (by more than
    ``BEAM_SCALE_TOLERANCE`` along the major axis) cannot be sharpened to
    it; the model then works on a grid whose pixels are as many times
    larger as the beam is (`~astropy_radiounet.models.ModelCard.at_beam`),
    where the image looks as the training images did.

    Parameters
    ----------
    plane : `~astropy_radiounet.image.ImagePlane`
        The input.
    card : `~astropy_radiounet.models.ModelCard`
        The model's card.
    warn : bool, optional
        Warn when the card has a full-resolution channel that a coarser
        image cannot feed (off for the classical baseline, which reads none).

    Returns
    -------
    card : `~astropy_radiounet.models.ModelCard`

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from radio_beam import Beam
    >>> from astropy_radiounet.image import ImagePlane
    >>> from astropy_radiounet.models import find_card
    >>> from astropy_radiounet.segmentation.model_input import card_for_input
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ['RA---SIN', 'DEC--SIN']
    >>> wcs.wcs.cdelt = [-15 / 3600, 15 / 3600]
    >>> nvss_like = ImagePlane.from_array(np.zeros((64, 64)), wcs=wcs,
    ...                                   beam=Beam(45 * u.arcsec))
    >>> card_for_input(nvss_like, find_card("default")).pixel_scale
    <Quantity 13.5 arcsec>
    """
    if card.beam is None or plane.beam is None:
        return card
    scaled = card.at_beam(plane.beam)
    if scaled is not card:
        log.info("the image's beam (%s) is wider than the model's (%s): the model works on "
                 "%.3g\" pixels, where the beam spans as many pixels as in training",
                 _beam_text(plane.beam), _beam_text(card.beam),
                 scaled.pixel_scale.to_value(u.arcsec))
        sharp = [name for name in card.input_channels if INPUT_CHANNELS[name].full_resolution]
        if sharp and warn:
            warnings.warn(f"The image's beam ({_beam_text(plane.beam)}) is wider than the "
                          f"model's ({_beam_text(card.beam)}), and the model's {sharp} "
                          f"channel reads an image several times sharper than its beam, "
                          f"which this one is not: the channel is outside what the model "
                          f"was trained on, and diffuse emission may be missed.  No shipped "
                          "model ranks simulated clusters well at such beams (the "
                          "single-channel weights='v0.2' worse than v0.3; see the coarse-beam "
                          "section of the segmentation docs): treat the results as "
                          "candidates to inspect.", ResolutionWarning, stacklevel=3)
    return scaled
