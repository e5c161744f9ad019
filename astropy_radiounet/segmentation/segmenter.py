"""
`RadioUNetSegmenter`: a probability map and a photutils segmentation image
of diffuse radio emission, for an image of any size.
"""

import logging
import warnings

import numpy as np

from ..exceptions import BlankDataWarning
from ..image.read import read_image
from ..image.resampling import to_input_grid
from ..models.card import load_model
from ..utils.validation import IntegerPair, PositiveInteger, Probability
from .base import SegmenterBase
from .model_input import prepare_model_input
from .tiling import TileLayout, predict_tiled

log = logging.getLogger(__name__)

__all__ = ["RadioUNetSegmenter"]


class RadioUNetSegmenter(SegmenterBase):
    """
    Find diffuse radio emission with a U-Net.

    The segmenter reads the image (FITS path, HDU, NDData, Quantity or
    array), brings it to the pixel scale and beam its model was trained at
    (flux-conserving resampling, then convolution to the model's beam),
    normalises it by the local noise with a logarithmic stretch (and makes
    any further input channels its model card declares, such as the
    full-resolution peak signal-to-noise ratio), runs the model over
    overlapping tiles and returns the per-pixel probability of
    diffuse emission on the input's own pixel grid.  Calling the segmenter
    thresholds that probability into a `~photutils.segmentation.SegmentationImage`.

    Parameters
    ----------
    n_pixels : int or `None`, optional
        Minimum number of connected input pixels above ``threshold`` that
        make a segment.  `None` uses the area of the model's beam in input
        pixels (at least 5).
    threshold : float or `None`, optional
        Probability above which a pixel belongs to a segment; `None` uses
        the model card's threshold (0.5 for calibrated models).
    connectivity : {4, 8}, optional
        Pixel connectivity of segments.
    backbone : str, optional
        Registered backbone name (see ``radiounet backbones``).
    weights : {'default', None}, str, path or `~astropy_radiounet.models.ModelCard`, optional
        ``'default'``: the weights shipped for the backbone; a version name
        such as ``'v0.2'``: that shipped version; a path: a model
        card (``.json``) or ``.weights.h5`` file with its card beside it (or
        the card itself, read); `None`: random weights, for tests and
        benchmarks only.
    tile_shape : int or tuple of int, optional
        Shape of the tiles fed to the network, on the model's grid, including
        the context halo that is discarded on each side.  Smaller tiles use
        less memory; the result does not depend on it.
    batch_size : int, optional
        Tiles per network call.
    progress_bar : bool, optional
        Show a progress bar over the tiles.
    backbone_config : dict, optional
        Backbone keywords for ``weights=None``.
    seed : int, optional
        Seed for ``weights=None``.

    Attributes
    ----------
    model : `keras.Model`
        The network.
    card : `~astropy_radiounet.models.ModelCard`
        What the model is and how it is fed.

    Notes
    -----
    The settings are attributes, checked whenever they are set
    (``segmenter.threshold = 2`` raises `ValueError`), and a segmenter
    pickles as its settings (see `~astropy_radiounet.segmentation.SegmenterBase`).

    Examples
    --------
    Random weights stand in for a trained model here; the probabilities of
    such a model mean nothing, but the shapes and blanking are those of a
    real run:

    >>> import numpy as np
    >>> from astropy_radiounet import RadioUNetSegmenter
    >>> segmenter = RadioUNetSegmenter(weights=None, backbone_config={'depth': 2,
    ...                                'filters': 4}, seed=1)
    >>> image = np.random.default_rng(0).normal(0, 1e-4, (100, 150))
    >>> image[:, :10] = np.nan  # blanked mosaic edge
    >>> probability = segmenter.predict_probability(image)
    >>> probability.shape, probability.dtype, bool(np.isnan(probability[:, :10]).all())
    ((100, 150), dtype('float32'), True)
    """

    threshold = Probability()
    tile_shape = IntegerPair()
    batch_size = PositiveInteger()

    _params = ("n_pixels", "threshold", "connectivity", "backbone", "weights", "tile_shape",
               "batch_size", "progress_bar", "backbone_config", "seed")

    def __init__(self, n_pixels=None, *, threshold=None, connectivity=8, backbone="unet",
                 weights="default", tile_shape=(768, 768), batch_size=4,
                 progress_bar=False, backbone_config=None, seed=None):
        self.n_pixels = n_pixels
        self.connectivity = connectivity
        if threshold is not None:
            self.threshold = threshold  # refused before the model is loaded
        self.tile_shape = tile_shape
        self.batch_size = batch_size
        self.model, self.card = load_model(backbone, weights, config=backbone_config, seed=seed)
        if threshold is None:
            self.threshold = self.card.threshold
        self.backbone, self.weights = backbone, weights
        self.backbone_config, self.seed = backbone_config, seed
        self.progress_bar = bool(progress_bar)
        self.multiple, self.halo = self.card.geometry()
        # Validate the tile shape now rather than on the first image.
        TileLayout(self.tile_shape, self.tile_shape, self.halo, self.multiple)

    def _predict_batch(self, batch):
        return self.card.calibrate(np.asarray(self.model.predict_on_batch(batch)))

    # -- public API -----------------------------------------------------

    def predict_probability(self, data, *, mask=None, wcs=None, beam=None, out=None):
        """
        Per-pixel probability of diffuse emission.

        Parameters
        ----------
        data : path, HDU, `~astropy.io.fits.HDUList`, `~astropy.nddata.NDData`, \
`~astropy.units.Quantity`, `~numpy.ndarray` or `~astropy_radiounet.image.ImagePlane`
            The image, in Jy/beam, mJy/beam or uJy/beam.  FITS files are read
            memory-mapped; degenerate FREQ/STOKES axes are dropped.
        mask : array_like of bool, optional
            `True` for pixels to ignore (non-finite pixels always are).
        wcs : `~astropy.wcs.WCS`, optional
            Celestial WCS of an array input; needed to resample the image to
            the model's pixel scale.
        beam : `radio_beam.Beam`, optional
            Restoring beam of an input that carries none (an array or a
            Quantity); needed to convolve the image to the model's beam.
        out : `~numpy.ndarray`, optional
            float32 array (either byte order) of the plane's shape to write
            the result into, for images larger than memory: for example a
            `numpy.memmap`, or the memory-mapped data of a FITS file made
            by `~astropy_radiounet.survey.create_fits`.

        Returns
        -------
        probability : `~numpy.ndarray`
            float32 values in [0, 1] on the input's pixel grid, NaN where
            the input is blank or masked.
        """
        plane = read_image(data, mask=mask, wcs=wcs, beam=beam)
        if out is None:
            out = np.empty(plane.shape, dtype=np.float32)
        elif out.shape != plane.shape or out.dtype.newbyteorder("=") != np.float32:
            msg = (f"out has shape {out.shape} and dtype {out.dtype}; it must be a float32 "
                   f"array (either byte order) of the image plane's shape {plane.shape}.")
            raise ValueError(msg)
        if plane.is_blank():
            warnings.warn("The image is blank (NaN or masked) everywhere; its probability "
                          "map is NaN everywhere.", BlankDataWarning, stacklevel=2)
            out[...] = np.nan
            return out
        model_input = prepare_model_input(plane, self.card)
        factor = model_input.factor
        log.info("image %s, model grid %s (factor %.3g), median noise %.3g Jy/beam",
                 plane.shape, model_input.shape, factor, model_input.noise.median)
        source = model_input.network_input
        n_channels = len(model_input.channels)
        layout = TileLayout(model_input.shape, self.tile_shape, self.halo, self.multiple)
        if factor == 1.0:
            predict_tiled(source, self._predict_batch, layout, batch_size=self.batch_size,
                          out=out, progress_bar=self.progress_bar, n_channels=n_channels)
        else:
            on_model_grid = predict_tiled(source, self._predict_batch, layout,
                                          batch_size=self.batch_size,
                                          progress_bar=self.progress_bar,
                                          n_channels=n_channels)
            to_input_grid(on_model_grid, factor, plane.shape, out=out)
        plane.blank_into(out)
        return out
