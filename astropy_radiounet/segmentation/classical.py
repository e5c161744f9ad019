"""
The classical way to find diffuse emission, as a baseline for the network.

Before machine learning, diffuse emission in survey images was found by
hand-tuned image processing: find the compact sources at full resolution,
remove them, taper the image to bring out extended low-surface-brightness
emission, and keep what is left above a few times the local noise.
`ClassicalSegmenter` does exactly that, on the same tapered grid as a model
(its card's pixel scale, beam and noise box), so that the two can be compared
pixel for pixel and cluster for cluster (see
`~astropy_radiounet.evaluation.simulated.evaluate_pixels`).
"""

import warnings

import numpy as np
from photutils.segmentation import detect_sources
from photutils.utils import NoDetectionsWarning

from ..image.beams import beam_area_pixels
from ..image.noise import NoiseMap
from ..image.read import read_image
from ..image.resampling import to_input_grid
from ..models.card import ModelCard, load_model
from ..utils.validation import PositiveNumber
from .base import SegmenterBase
from .model_input import card_for_input, on_model_grid, scale_factor

__all__ = ["ClassicalSegmenter"]


class ClassicalSegmenter(SegmenterBase):
    """
    Diffuse emission found by tapering, compact-source masking and thresholding.

    1. Islands above ``compact_snr`` times the local noise are found in the
       full-resolution image; those smaller than ``compact_max_beams`` beams
       are compact sources.
    2. The image is resampled and convolved to the card's grid and beam (the
       taper), exactly as for the network: an image of a wider beam is read
       on the card's grid scaled to its beam
       (`~astropy_radiounet.models.ModelCard.at_beam`).
    3. The compact sources alone are tapered the same way, and every tapered
       pixel where they contribute more than ``compact_mask_snr`` times the
       tapered noise is masked.
    4. What is left above ``snr_threshold`` times the tapered local noise is
       diffuse emission.

    Extended radio galaxies are larger than ``compact_max_beams`` and are
    therefore kept: telling them apart from halos and relics is what the
    network is for, and what this baseline cannot do.

    Parameters
    ----------
    n_pixels : int, optional
        Minimum number of connected pixels of a segment in `__call__`; one
        tapered beam by default.
    snr_threshold : float, optional
        Threshold in units of the tapered local noise.
    compact_snr : float, optional
        Island threshold at full resolution, in units of the local noise.
    compact_max_beams : float, optional
        Largest island, in full-resolution beams, that counts as compact.
    compact_mask_snr : float, optional
        Tapered pixels where the compact sources contribute more than this
        many tapered noise units are masked.
    card : `~astropy_radiounet.models.ModelCard` or path, optional
        Model card whose pixel scale, beam and noise box define the tapered
        grid; the shipped model's by default.
    connectivity : {4, 8}, optional
        Pixel connectivity of segments.

    Examples
    --------
    A halo-like disc of 0.2 mJy/beam peak in noise of 0.07 mJy/beam is
    invisible pixel by pixel at full resolution, but stands out once tapered:

    >>> import numpy as np
    >>> from astropy_radiounet.simulation import simulate_field
    >>> from astropy_radiounet.segmentation.classical import ClassicalSegmenter
    >>> field = simulate_field((512, 512), seed=3, n_clusters=0, radio_galaxy_density=0)
    >>> y, x = np.mgrid[:512, :512]
    >>> halo = 2e-4 * np.exp(-np.hypot(y - 256, x - 256) / 40)
    >>> from astropy.io import fits
    >>> hdu = fits.PrimaryHDU(field.image + halo.astype('f4'), header=field.header)
    >>> probability = ClassicalSegmenter().predict_probability(hdu)
    >>> bool(probability[256, 256] == 1), float(np.nanmean(probability)) < 0.1
    (True, True)
    """

    snr_threshold = PositiveNumber()
    compact_snr = PositiveNumber()
    compact_max_beams = PositiveNumber()
    compact_mask_snr = PositiveNumber()

    #: The map is 1 inside diffuse emission and 0 elsewhere.
    threshold = 0.5

    _params = ("n_pixels", "snr_threshold", "compact_snr", "compact_max_beams",
               "compact_mask_snr", "card", "connectivity")

    def __init__(self, n_pixels=None, *, snr_threshold=3.0, compact_snr=5.0,
                 compact_max_beams=10.0, compact_mask_snr=1.0, card="default",
                 connectivity=8):
        self.n_pixels = n_pixels
        self.snr_threshold = snr_threshold
        self.compact_snr = compact_snr
        self.compact_max_beams = compact_max_beams
        self.compact_mask_snr = compact_mask_snr
        self.connectivity = connectivity
        if isinstance(card, ModelCard):
            self.card = card
        elif card == "default":
            self.card = load_model(weights="default")[1]
        else:
            self.card = ModelCard.read(card)
        if self.card.pixel_scale is None or self.card.beam is None:
            msg = (f"The card {self.card.name!r} declares no pixel scale or beam, so it "
                   f"defines no tapered grid; pass a card that does (the default one does).")
            raise ValueError(msg)

    def compact_sources(self, plane):
        """
        Boolean map of the compact sources of a full-resolution image plane.

        Parameters
        ----------
        plane : `~astropy_radiounet.image.ImagePlane`
            The input.

        Returns
        -------
        compact : `~numpy.ndarray`
            `True` on the pixels of compact islands.
        """
        return self._compact_sources(plane, scale_factor(plane, self._card_for(plane)))

    def _card_for(self, plane):
        """The card's grid and beam for ``plane``: scaled to a wider beam, as the U-Net's."""
        return card_for_input(plane, self.card, warn=False)

    def _compact_sources(self, plane, factor):
        values, valid = plane.read()
        noise = NoiseMap.estimate(plane, box_size=int(round(self.card.noise_box_size
                                                            * factor)))
        snr = np.where(valid, values / noise(), 0.0)
        beam = self.card.beam if plane.beam is None else plane.beam
        beam_pixels = 5.0 if plane.wcs is None else beam_area_pixels(beam, plane.wcs)
        with warnings.catch_warnings():
            # No compact source is a normal outcome here, not the user's result.
            warnings.simplefilter("ignore", NoDetectionsWarning)
            islands = detect_sources(snr, self.compact_snr, max(3, int(beam_pixels // 2)),
                                     connectivity=self.connectivity, mask=~valid)
        if islands is None:
            return np.zeros(plane.shape, dtype=bool)
        compact = islands.labels[islands.areas <= self.compact_max_beams * beam_pixels]
        return np.isin(islands.data, compact)

    def diffuse_on_model_grid(self, plane):
        """
        The diffuse-emission mask on the tapered (model) grid.

        Parameters
        ----------
        plane : `~astropy_radiounet.image.ImagePlane`
            The input.

        Returns
        -------
        diffuse : `~numpy.ndarray`
            float32 map on the model grid: 1 for diffuse emission, 0
            elsewhere (masked compact sources included).
        factor : float
            Model pixel size over input pixel size.
        """
        card = self._card_for(plane)
        factor = scale_factor(plane, card)
        tapered = on_model_grid(plane, card, factor)
        noise = NoiseMap.estimate(tapered, box_size=card.noise_box_size)()
        values, valid = tapered.read()
        compact = self._compact_sources(plane, factor)
        compact_plane = plane.replace(data=np.where(compact, plane.data, 0.0), mask=None)
        compact_tapered = on_model_grid(compact_plane, card, factor).read()[0]
        keep = valid & (compact_tapered < self.compact_mask_snr * noise)
        diffuse = keep & (values > self.snr_threshold * noise)
        return diffuse.astype(np.float32), factor

    def predict_probability(self, data, *, mask=None, wcs=None, beam=None):
        """
        The diffuse-emission mask as a map comparable with a model's probability.

        Parameters are those of
        `~astropy_radiounet.RadioUNetSegmenter.predict_probability`.

        Returns
        -------
        map : `~numpy.ndarray`
            float32 values in [0, 1] on the input grid (1 inside diffuse
            emission, fractional only where the tapered grid is interpolated
            back), NaN where the input is blank or masked.
        """
        plane = read_image(data, mask=mask, wcs=wcs, beam=beam)
        diffuse, factor = self.diffuse_on_model_grid(plane)
        out = to_input_grid(diffuse, factor, plane.shape,
                            out=np.empty(plane.shape, dtype=np.float32))
        np.clip(out, 0.0, 1.0, out=out)
        plane.blank_into(out)
        return out
