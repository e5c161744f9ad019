import numpy as np
import pytest
from astropy.io import fits
from photutils.segmentation import SegmentationImage
from photutils.utils import NoDetectionsWarning
from scipy.ndimage import gaussian_filter

from astropy_radiounet.segmentation.classical import ClassicalSegmenter
from astropy_radiounet.image.read import read_image
from helpers import BEAM, PIXEL, lotss_header

NOISE = 7e-5


def noise_image(shape, seed):
    """Beam-correlated Gaussian noise of rms NOISE (Jy/beam)."""
    sigma = BEAM / PIXEL / np.sqrt(8 * np.log(2))
    correlated = gaussian_filter(np.random.default_rng(seed).normal(size=shape), sigma)
    return correlated / correlated.std() * NOISE


def point_sources(shape, positions, peak):
    """Beam-shaped point sources of a given peak brightness."""
    sigma = BEAM / PIXEL / np.sqrt(8 * np.log(2))
    yy, xx = np.indices(shape)
    image = np.zeros(shape)
    for y, x in positions:
        image += peak * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))
    return image


@pytest.fixture(scope="module")
def classical():
    return ClassicalSegmenter()


def test_bright_compact_sources_are_masked_not_diffuse(classical):
    shape = (400, 400)
    positions = [(80, 90), (200, 300), (320, 150), (120, 320)]
    image = noise_image(shape, 1) + point_sources(shape, positions, 500 * NOISE)
    hdu = fits.PrimaryHDU(image.astype(np.float32), header=lotss_header(shape))
    compact = classical.compact_sources(read_image(hdu))
    assert all(compact[y, x] for y, x in positions)
    probability = classical.predict_probability(hdu)
    assert np.nanmean(probability > 0.5) < 0.002
    # Without the masking, their tapered wings would be marked.
    unmasked = ClassicalSegmenter(compact_max_beams=1e-3).predict_probability(hdu)
    assert np.nanmean(unmasked > 0.5) > 0.01


def test_faint_extended_emission_is_found(classical):
    shape = (400, 400)
    yy, xx = np.indices(shape)
    halo = 1.5 * NOISE * np.exp(-np.hypot(yy - 200, xx - 200) / 40)
    image = noise_image(shape, 2) + halo
    hdu = fits.PrimaryHDU(image.astype(np.float32), header=lotss_header(shape))
    probability = classical.predict_probability(hdu)
    assert probability[200, 200] == 1
    assert np.nanmean(probability[yy > 340]) < 0.01
    segments = classical(hdu)
    assert isinstance(segments, SegmentationImage)
    assert segments.n_labels >= 1 and segments.data[200, 200] > 0


def test_pure_noise_gives_no_segments_and_blank_stays_blank(classical):
    shape = (300, 300)
    image = noise_image(shape, 3)
    image[:, :20] = np.nan
    hdu = fits.PrimaryHDU(image.astype(np.float32), header=lotss_header(shape))
    probability = classical.predict_probability(hdu)
    assert np.isnan(probability[:, :20]).all() and np.isfinite(probability[:, 20:]).all()
    with pytest.warns(NoDetectionsWarning):
        assert classical(hdu) is None


@pytest.mark.parametrize("keyword", ["snr_threshold", "compact_snr", "compact_max_beams",
                                     "compact_mask_snr"])
def test_rejects_non_positive_parameters(keyword):
    with pytest.raises(ValueError, match=f"{keyword} must be a finite positive number"):
        ClassicalSegmenter(**{keyword: 0})


def test_rejects_card_without_grid(tiny_model_dir):
    from astropy_radiounet.models.card import ModelCard

    card = ModelCard.read(tiny_model_dir / "tiny.json")
    card.pixel_scale = None
    with pytest.raises(ValueError, match="declares no pixel scale or beam"):
        ClassicalSegmenter(card=card)
