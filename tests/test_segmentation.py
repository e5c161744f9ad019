import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS
from photutils.segmentation import SegmentationImage
from photutils.utils import NoDetectionsWarning
from radio_beam import Beam

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.exceptions import ResolutionWarning
from astropy_radiounet.image import beam_area_pixels
from astropy_radiounet.models.card import ModelCard, load_model

from helpers import lotss_header, lotss_like_image


def test_probability_shape_range_and_blanking(tiny_segmenter, lotss_fits):
    probability = tiny_segmenter.predict_probability(lotss_fits)
    assert probability.shape == (150, 170) and probability.dtype == np.float32
    blank = np.isnan(probability)
    assert blank[:8].all() and blank[:, -8:].all()
    assert not blank[8:, :-8].any()
    finite = probability[~blank]
    assert finite.min() >= 0 and finite.max() <= 1


def test_path_array_quantity_and_hdu_inputs_agree(tiny_segmenter, lotss_fits):
    from_path = tiny_segmenter.predict_probability(lotss_fits)
    with fits.open(lotss_fits) as hdulist:
        data = hdulist[0].data[0, 0].astype(float)
        wcs = WCS(hdulist[0].header).celestial
        from_hdu = tiny_segmenter.predict_probability(hdulist[0])
    from_array = tiny_segmenter.predict_probability(data, wcs=wcs)
    from_mjy = tiny_segmenter.predict_probability(data * 1e3 * u.mJy / u.beam, wcs=wcs)
    for other in (from_hdu, from_array, from_mjy):
        np.testing.assert_allclose(other, from_path, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("shape", [(7, 13), (1, 40), (131, 67), (260, 390)])
def test_any_shape_and_tile_size_independence(tiny_model_dir, shape):
    image = lotss_like_image(shape, seed=shape[0])
    results = []
    for tile in (64, 96, 256):
        segmenter = RadioUNetSegmenter(weights=tiny_model_dir / "tiny.json",
                                       tile_shape=(tile, tile + 32), batch_size=3)
        results.append(segmenter.predict_probability(image))
    assert results[0].shape == shape
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], atol=1e-4)


def test_memory_mapped_input_and_output(tiny_segmenter, tmp_path):
    shape = (300, 200)
    image = lotss_like_image(shape, seed=5, blank_edge=10)
    source = np.lib.format.open_memmap(tmp_path / "in.npy", mode="w+", dtype=">f4",
                                       shape=shape)
    source[:] = image
    source.flush()
    mapped = np.load(tmp_path / "in.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32,
                                    shape=shape)
    result = tiny_segmenter.predict_probability(mapped, out=out)
    assert result is out
    np.testing.assert_allclose(out, tiny_segmenter.predict_probability(image), atol=1e-5,
                               equal_nan=True)
    with pytest.raises(ValueError, match="float32 array .either byte order. of the image"):
        tiny_segmenter.predict_probability(image, out=np.empty((3, 3), np.float32))


def test_resampling_model_returns_input_grid(coarse_model_dir, lotss_fits):
    segmenter = RadioUNetSegmenter(weights=coarse_model_dir / "coarse.json",
                                   tile_shape=(64, 64))
    probability = segmenter.predict_probability(lotss_fits)
    assert probability.shape == (150, 170)
    assert np.isnan(probability[:8]).all() and np.isfinite(probability[8:, :-8]).all()
    # No WCS: the pixel scale is unknown, which is said, not guessed silently.
    with pytest.warns(AstropyUserWarning, match="no WCS"):
        segmenter.predict_probability(lotss_like_image((64, 64)))


def test_wider_input_beam_scales_the_model_grid(coarse_model_dir):
    """
    An image of a beam wider than the model's (12") is segmented on a grid
    where its beam spans as many pixels as the model's did: the same array
    with a 20" beam on 1.5" pixels, and with the model's 12" beam on 0.9"
    pixels, is the same image to the model, pixel for pixel.
    """
    segmenter = RadioUNetSegmenter(weights=coarse_model_dir / "coarse.json",
                                   tile_shape=(64, 64))
    image = lotss_like_image((96, 96), beam_pixels=20.0 / 1.5)
    coarse = fits.PrimaryHDU(image, header=lotss_header((96, 96), four_d=False, beam=20.0))
    same_in_pixels = fits.PrimaryHDU(
        image, header=lotss_header((96, 96), four_d=False, beam=12.0, pixel=0.9))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResolutionWarning)  # no "smoother than trained on"
        probability = segmenter.predict_probability(coarse)
    assert np.isfinite(probability).all()
    np.testing.assert_allclose(probability, segmenter.predict_probability(same_in_pixels),
                               atol=1e-6)
    card = segmenter.card.at_beam(Beam(20 * u.arcsec))
    assert card.pixel_scale.to_value(u.arcsec) == pytest.approx(5.0)
    assert card.beam.major.to_value(u.arcsec) == pytest.approx(20.0)
    assert card.sha256 == segmenter.card.sha256 and "20" in card.name
    # A beam within the tolerance, or sharper, keeps the card itself.
    assert segmenter.card.at_beam(Beam(12.3 * u.arcsec)) is segmenter.card
    assert segmenter.card.at_beam(Beam(6 * u.arcsec)) is segmenter.card
    # Segments are at least one beam of the input when it is the wider.
    assert segmenter.segment_n_pixels(WCS(coarse.header), Beam(20 * u.arcsec)) == round(
        beam_area_pixels(Beam(20 * u.arcsec), WCS(coarse.header)))


def test_a_coarse_image_has_no_full_resolution_channel():
    """The shipped two-channel model warns, with the fix; the one-channel v0.2 does not."""
    from astropy_radiounet.image import ImagePlane
    from astropy_radiounet.models import find_card
    from astropy_radiounet.segmentation.model_input import card_for_input

    header = lotss_header((64, 64), four_d=False, beam=45.0, pixel=11.25)
    plane = ImagePlane.from_array(np.zeros((64, 64)), wcs=WCS(header),
                                  beam=Beam(45 * u.arcsec))
    with pytest.warns(ResolutionWarning, match=r"\['peak_snr'\] channel reads an image "
                                               r"several times sharper.*weights='v0.2' "
                                               r"worse than v0.3"):
        scaled = card_for_input(plane, find_card("default"))
    assert scaled.beam.major.to_value(u.arcsec) == pytest.approx(45.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert card_for_input(plane, find_card("v0.2")).pixel_scale.to_value(
            u.arcsec) == pytest.approx(13.5)


def test_segmentation_image_and_no_detections(tiny_segmenter, lotss_fits):
    probability = tiny_segmenter.predict_probability(lotss_fits)
    segmenter = RadioUNetSegmenter(5, weights=tiny_segmenter.card, threshold=0.0,
                                   tile_shape=(128, 128))
    segments = segmenter.segment(probability)
    assert isinstance(segments, SegmentationImage)
    assert segments.shape == probability.shape
    assert np.all(segments.data[np.isnan(probability)] == 0)
    nothing = RadioUNetSegmenter(5, weights=tiny_segmenter.card, threshold=0.999,
                                 tile_shape=(128, 128))
    with pytest.warns(NoDetectionsWarning):
        assert nothing.segment(probability) is None


def test_segmenter_call_thresholds_probability(tiny_segmenter, lotss_fits):
    probability = tiny_segmenter.predict_probability(lotss_fits)
    threshold = float(np.nanpercentile(probability, 80))
    segmenter = RadioUNetSegmenter(20, weights=tiny_segmenter.card, threshold=threshold,
                                   tile_shape=(128, 128))
    segments = segmenter(lotss_fits)
    assert isinstance(segments, SegmentationImage)
    inside = segments.data > 0
    assert np.all(probability[inside] > threshold)
    assert segments.areas.min() >= 20
    np.testing.assert_array_equal(segments.data, segmenter.segment(probability).data)


def test_n_pixels_defaults_to_one_model_beam(coarse_model_dir):
    segmenter = RadioUNetSegmenter(weights=coarse_model_dir / "coarse.json",
                                   tile_shape=(64, 64))
    wcs = WCS(lotss_header((10, 10), four_d=False)).celestial
    # 12" beam on 1.5" pixels: pi / (4 ln 2) * 8 * 8 = 72.5 pixels.
    assert segmenter.segment_n_pixels(wcs, None) == 73
    assert RadioUNetSegmenter(9, weights=coarse_model_dir / "coarse.json",
                              tile_shape=(64, 64)).segment_n_pixels(wcs, None) == 9
    with pytest.warns(AstropyUserWarning, match="segment\\(\\) has no WCS.*Pass wcs="):
        assert segmenter.segment_n_pixels(None, None) == 5


def test_saved_weights_round_trip(tiny_model_dir, tiny_segmenter):
    model, card = load_model(weights=tiny_model_dir / "tiny.weights.h5")
    assert card.name == "tiny random U-Net"
    batch = np.random.default_rng(0).normal(size=(1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict_on_batch(batch),
                                  tiny_segmenter.model.predict_on_batch(batch))


def test_weight_problems_have_clear_errors(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError,
                       match="No trained default model ships for backbone 'attention_unet'"):
        RadioUNetSegmenter(backbone="attention_unet")
    card = ModelCard.read(tiny_model_dir / "tiny.json")
    card.sha256 = "0" * 64
    card.weights = str(tiny_model_dir / "tiny.weights.h5")
    card.write(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="corrupt or does not belong"):
        RadioUNetSegmenter(weights=tmp_path / "bad.json")
    with pytest.raises(ValueError, match="no model card beside it"):
        RadioUNetSegmenter(weights=tmp_path / "lonely.weights.h5")
    with pytest.raises(ValueError, match="is not understood"):
        RadioUNetSegmenter(weights="model.pkl")
    (tmp_path / "notjson.json").write_text("{")
    with pytest.raises(ValueError, match="Cannot read the model card"):
        RadioUNetSegmenter(weights=tmp_path / "notjson.json")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_pixels": 0}, "n_pixels must be a positive integer"),
    ({"connectivity": 6}, "connectivity must be one of 4, 8"),
    ({"threshold": 1.5}, r"must be a probability in \[0, 1\)"),
    ({"threshold": "0.5"}, r"must be a probability in \[0, 1\)"),
    ({"tile_shape": (64,)}, "a positive integer or a pair of them"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"tile_shape": (16, 16)}, "too small for this model"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RadioUNetSegmenter(weights=None, backbone_config={"depth": 2, "filters": 2}, **kwargs)


def test_blank_image_gives_a_blank_map_and_no_segments(tiny_segmenter):
    image = np.full((64, 64), np.nan)
    with pytest.warns(AstropyUserWarning, match="blank .* everywhere"):
        probability = tiny_segmenter.predict_probability(image)
    assert probability.shape == (64, 64) and np.isnan(probability).all()
    with pytest.warns(NoDetectionsWarning), pytest.warns(AstropyUserWarning):
        assert tiny_segmenter(np.zeros((64, 64)), mask=np.ones((64, 64), bool)) is None


def test_square_tile_size_and_mask_shape_checked(tiny_segmenter):
    segmenter = RadioUNetSegmenter(5, weights=tiny_segmenter.card, tile_shape=64)
    assert segmenter.tile_shape == (64, 64)
    with pytest.raises(ValueError, match="mask has shape \\(3, 3\\).*same shape"):
        segmenter.segment(np.zeros((10, 10)), mask=np.zeros((3, 3), bool))


def test_tile_size_independence_at_full_depth():
    """Depth 4 (tiles on multiples of 16, a 128-pixel halo) is exact too."""
    image = lotss_like_image((300, 410), seed=9, blank_edge=12)
    results = []
    for tile_shape in ((288, 304), (400, 400), (1024, 1024)):
        segmenter = RadioUNetSegmenter(weights=None, backbone_config={"depth": 4, "filters": 2},
                                       seed=2, tile_shape=tile_shape, batch_size=2)
        assert segmenter.multiple == 16 and segmenter.halo >= 122
        results.append(segmenter.predict_probability(image))
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("name, value, match", [
    ("threshold", 2, r"threshold must be a probability in \[0, 1\); got 2"),
    ("threshold", "0.5", "threshold must be a probability"),
    ("n_pixels", 0, "n_pixels must be a positive integer or None; got 0"),
    ("n_pixels", True, "n_pixels must be a positive integer"),
    ("connectivity", 6, "connectivity must be one of 4, 8; got 6"),
    ("tile_shape", (64, 0), "tile_shape must be a positive integer or a pair of them"),
    ("batch_size", 1.5, "batch_size must be a positive integer; got 1.5"),
])
def test_settings_are_checked_when_set_after_construction(tiny_segmenter, name, value, match):
    before = getattr(tiny_segmenter, name)
    with pytest.raises((ValueError, TypeError), match=match):
        setattr(tiny_segmenter, name, value)
    assert getattr(tiny_segmenter, name) == before


def test_repr_lists_every_setting(tiny_segmenter):
    text = repr(tiny_segmenter)
    assert text.startswith("<RadioUNetSegmenter(n_pixels=None, threshold=0.45, connectivity=8")
    for name in tiny_segmenter._params:
        assert f"{name}=" in text


def test_segmenter_pickles_as_its_settings_and_is_rebuilt_once(tiny_segmenter, lotss_fits):
    import pickle

    tiny_segmenter.threshold = 0.4  # a setting changed after construction travels too
    payload = pickle.dumps(tiny_segmenter)
    assert len(payload) < 5000  # the settings, not the network's weights
    copy = pickle.loads(payload)
    assert copy is not tiny_segmenter
    assert copy.settings() == tiny_segmenter.settings()
    assert pickle.loads(payload) is copy  # one model per process and settings
    np.testing.assert_array_equal(copy.predict_probability(lotss_fits),
                                  tiny_segmenter.predict_probability(lotss_fits))
    tiny_segmenter.threshold = 0.3
    assert pickle.loads(pickle.dumps(tiny_segmenter)).threshold == 0.3


def test_classical_segmenter_shares_the_settings_machinery():
    import pickle

    from astropy_radiounet.segmentation import ClassicalSegmenter, SegmenterBase

    classical = ClassicalSegmenter(snr_threshold=4)
    assert isinstance(classical, SegmenterBase)
    with pytest.raises(ValueError, match="compact_snr must be a finite positive number"):
        classical.compact_snr = -1
    copy = pickle.loads(pickle.dumps(classical))
    assert copy.snr_threshold == 4.0 and copy.card.name == classical.card.name
    assert "snr_threshold=4.0" in repr(classical)


def test_every_input_kind_with_wcs_and_beam_gives_the_same_map(coarse_model_dir, lotss_fits):
    """A path, an HDU, an NDData and an array or Quantity with wcs= and beam= agree."""
    import warnings

    from astropy.nddata import NDData
    from radio_beam import Beam

    from astropy_radiounet.exceptions import MissingMetadataWarning

    segmenter = RadioUNetSegmenter(weights=coarse_model_dir / "coarse.json",
                                   tile_shape=(64, 64))
    with fits.open(lotss_fits) as hdulist:
        header = hdulist[0].header
        data = hdulist[0].data[0, 0].astype(float)
        from_hdu = segmenter.predict_probability(hdulist[0])
    wcs, beam = WCS(header).celestial, Beam.from_fits_header(header)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingMetadataWarning)  # nothing is assumed
        maps = [segmenter.predict_probability(lotss_fits), from_hdu,
                segmenter.predict_probability(data, wcs=wcs, beam=beam),
                segmenter.predict_probability(data * u.Jy / u.beam, wcs=wcs, beam=beam),
                segmenter.predict_probability(NDData(data, wcs=wcs, unit="Jy/beam"),
                                              beam=beam)]
    for other in maps[1:]:
        np.testing.assert_allclose(other, maps[0], atol=1e-5, equal_nan=True)
    # Without the beam the image cannot be matched to the model's, which is said.
    with pytest.warns(MissingMetadataWarning, match="no beam"):
        no_beam = segmenter.predict_probability(data, wcs=wcs)
    assert np.nanmax(np.abs(no_beam - maps[0])) > 1e-4
    with pytest.raises(TypeError, match="beam must be a radio_beam.Beam"):
        segmenter.predict_probability(data, wcs=wcs, beam=6 * u.arcsec)
