"""
`RadioUNetSegmenter`: a probability map and a photutils segmentation image
of diffuse radio emission, for an image of any size.
"""

import logging
import warnings

import numpy as np

from ..exceptions import BlankDataWarning, MissingMetadataWarning
from ..image.beams import pixel_scale
from ..image.read import read_image
from .model_input import prepare_model_input
from ..models.card import load_model
from ..image.resampling import to_input_grid
from .tiling import TileLayout, predict_tiled
from .threshold import threshold_map


log = logging.getLogger(__name__)

__all__ = ["RadioUNetSegmenter"]


class RadioUNetSegmenter:
    """
    Find diffuse radio emission with a U-Net.

    The segmenter reads the image (FITS path, HDU, NDData, Quantity or
    array), brings it to the pixel scale and beam its model was trained at
    (flux-conserving resampling, then convolution to the model's beam),
    normalises it by the local noise with a logarithmic stretch, runs the
    model over overlapping tiles and returns the per-pixel probability of
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
    weights : {'default', None}, path or `~astropy_radiounet.models.ModelCard`, optional
        ``'default'``: the weights shipped for the backbone; a path: a model
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

    def __init__(self, n_pixels=None, *, threshold=None, connectivity=8, backbone="unet",
                 weights="default", tile_shape=(768, 768), batch_size=4,
                 progress_bar=False, backbone_config=None, seed=None):
        if n_pixels is not None and not (int(n_pixels) == n_pixels and n_pixels >= 1):
            msg = f"n_pixels must be a positive integer or None; got {n_pixels!r}."
            raise ValueError(msg)
        if connectivity not in (4, 8):
            msg = f"connectivity must be 4 or 8; got {connectivity!r}."
            raise ValueError(msg)
        if threshold is not None and not (isinstance(threshold, (int, float, np.number))
                                          and 0 <= threshold < 1):
            msg = f"threshold is a probability and must be in [0, 1); got {threshold!r}."
            raise ValueError(msg)
        if np.ndim(tile_shape) == 0:
            tile_shape = (tile_shape, tile_shape)
        if np.ndim(tile_shape) != 1 or len(tile_shape) != 2:
            msg = f"tile_shape must be an integer or a pair of integers; got {tile_shape!r}."
            raise ValueError(msg)
        if not (int(batch_size) == batch_size and batch_size >= 1):
            msg = f"batch_size must be a positive integer; got {batch_size!r}."
            raise ValueError(msg)
        self.model, self.card = load_model(backbone, weights, config=backbone_config, seed=seed)
        self.n_pixels = None if n_pixels is None else int(n_pixels)
        self.threshold = self.card.threshold if threshold is None else float(threshold)
        self.connectivity = connectivity
        self.tile_shape = tuple(int(n) for n in tile_shape)
        self.batch_size = int(batch_size)
        self.progress_bar = progress_bar
        self.multiple, self.halo = self.card.geometry()
        # Validate the tile shape now rather than on the first image.
        TileLayout(self.tile_shape, self.tile_shape, self.halo, self.multiple)

    def __repr__(self):
        return (f"<{type(self).__name__}(model={self.card.name!r}, "
                f"threshold={self.threshold}, n_pixels={self.n_pixels}, "
                f"tile_shape={self.tile_shape})>")

    def _predict_batch(self, batch):
        return self.card.calibrate(np.asarray(self.model.predict_on_batch(batch)))

    # -- public API -----------------------------------------------------

    def predict_probability(self, data, *, mask=None, wcs=None, out=None):
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
        return self._predict(read_image(data, mask=mask, wcs=wcs), out=out)

    def _predict(self, plane, *, out=None):
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
        source = model_input.normalised
        layout = TileLayout(model_input.shape, self.tile_shape, self.halo, self.multiple)
        if factor == 1.0:
            predict_tiled(source, self._predict_batch, layout, batch_size=self.batch_size,
                          out=out, progress_bar=self.progress_bar)
        else:
            on_model_grid = predict_tiled(source, self._predict_batch, layout,
                                          batch_size=self.batch_size,
                                          progress_bar=self.progress_bar)
            to_input_grid(on_model_grid, factor, plane.shape, out=out)
        plane.blank_into(out)
        return out

    def segment(self, probability, *, mask=None, wcs=None, beam=None):
        """
        Threshold a probability map into a segmentation image.

        Parameters
        ----------
        probability : array_like
            Probability map, e.g. from `predict_probability`; NaN is blank.
        mask : array_like of bool, optional
            `True` for pixels to leave out.
        wcs : `~astropy.wcs.WCS`, optional
            WCS of the map, used with the model's beam to choose
            ``n_pixels`` when it is `None` (one beam's area).  Without it,
            segments of 5 pixels or more are kept, with a warning.
        beam : `~astropy_radiounet.image.GaussianBeam`, optional
            Beam of the input, used when the model has none.

        Returns
        -------
        segment_image : `~photutils.segmentation.SegmentationImage` or `None`
            `None`, with a `~photutils.utils.NoDetectionsWarning`, when no
            segment is found.
        """
        return threshold_map(probability, self.threshold, self._n_pixels(wcs, beam),
                             connectivity=self.connectivity, mask=mask)

    def __call__(self, data, *, mask=None, wcs=None):
        """
        Segment the diffuse emission in an image.

        Parameters are those of `predict_probability`.

        Returns
        -------
        segment_image : `~photutils.segmentation.SegmentationImage` or `None`
            `None`, with a `~photutils.utils.NoDetectionsWarning`, when no
            segment is found.
        """
        plane = read_image(data, mask=mask, wcs=wcs)
        probability = self._predict(plane)
        return self.segment(probability, wcs=plane.wcs, beam=plane.beam)

    def _n_pixels(self, wcs, beam):
        if self.n_pixels is not None:
            return self.n_pixels
        beam = self.card.beam or beam
        if beam is None:
            return 5
        if wcs is None:
            warnings.warn("segment() has no WCS, so the beam cannot be turned into a number "
                          "of pixels; segments of 5 pixels or more are kept.  Pass wcs= (the "
                          "image's) or set n_pixels.", MissingMetadataWarning, stacklevel=2)
            return 5
        pixel_area = pixel_scale(wcs) ** 2
        return max(5, int(round((beam.area / pixel_area).decompose().value)))
