"""Input channels: the registry, the card, the backbone contract, training and warm start."""

import json
import warnings
from dataclasses import asdict
from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from radio_beam import Beam

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.backbones import (BackboneSpec, available_backbones, get_backbone,
                                         get_plugin_manager, hookimpl, register_plugin)
from astropy_radiounet.image import ImagePlane
from astropy_radiounet.models import ModelCard
from astropy_radiounet.models.card import load_model, save_model
from astropy_radiounet.models.channels import _max_pool, footprints
from astropy_radiounet.models.pretrained import default_card_path, shipped_card_path
from astropy_radiounet.segmentation import prepare_model_input
from astropy_radiounet.training import (TrainingConfig, make_training_pair, read_training_set,
                                        train, warm_start_model, write_training_set)

from helpers import TINY, lotss_header

TWO = ("image", "peak_snr")


def two_channel_card(**changes):
    """A card at 6 arcsec pixels and a 20 arcsec beam with both channels."""
    return ModelCard(**{"name": "two channels", "backbone": "unet", "config": TINY,
                        "pixel_scale": 6 * u.arcsec, "beam": Beam(20 * u.arcsec),
                        "input_channels": TWO, "noise_box_size": 32, **changes})


def point_source_plane(shape=(400, 400), *, at=(201, 202), snr=50.0, blank_rows=40):
    """White noise of 0.1 mJy/beam at 1.5 arcsec pixels, one bright pixel, blank rows."""
    image = np.random.default_rng(0).normal(0, 1e-4, shape).astype(np.float32)
    image[at] += snr * 1e-4
    image[:blank_rows] = np.nan
    wcs = WCS(lotss_header(shape, four_d=False))
    return ImagePlane.from_array(image, wcs=wcs, beam=Beam(6 * u.arcsec))


def test_point_source_is_a_peak_only_at_its_model_pixel():
    model_input = prepare_model_input(point_source_plane(), two_channel_card())
    x = model_input.network_input()
    assert model_input.factor == pytest.approx(4) and x.shape == (100, 100, 2)
    assert x.dtype == np.float32 and np.abs(x).max() <= 1
    image, peak = x[..., 0], x[..., 1]
    # The 50-sigma pixel at (201, 202) lies in model pixel (50, 50): its stretched
    # signal-to-noise ratio, log10(1 + 50) / log10(1 + 1000), is there and only there.
    assert np.unravel_index(np.argmax(peak), peak.shape) == (50, 50)
    assert peak[50, 50] == pytest.approx(np.log10(51) / 3, abs=0.03)
    others = np.delete(peak[10:].ravel(), (50 - 10) * 100 + 50)
    assert others.max() < 0.3 < peak[50, 50] - 0.25
    assert image[50, 50] < 0.5 * peak[50, 50]  # at 20" the point source is diluted
    # Blank input rows (0-39: model rows 0-9) stay blank in both channels.
    assert not x[:10].any() and np.all(x[11:] != 0)


def test_channels_read_the_same_in_any_window():
    model_input = prepare_model_input(point_source_plane(), two_channel_card())
    whole = model_input.network_input()
    window = model_input.network_input(slice(7, 61), slice(45, 100))
    np.testing.assert_array_equal(window, whole[7:61, 45:100])
    np.testing.assert_array_equal(model_input.normalised(), whole[..., 0])


@pytest.mark.parametrize("factor", [0.6, 1.0, 2.5, 3.3, 4.0])
def test_max_pool_takes_the_maximum_over_each_footprint(factor):
    rng = np.random.default_rng(1)
    n_in = 37
    values = rng.normal(size=(n_in, 5))
    n_model = int(np.ceil(n_in / factor))
    first, last = footprints(2, n_model, factor, n_in)
    pooled = _max_pool(values[first[0]:last[-1]], first, last, first[0], axis=0)
    for j, (a, b) in enumerate(zip(first, last), start=2):
        assert a <= j * factor < b and b - 1 < (j + 1) * factor  # what the model pixel overlaps
        np.testing.assert_array_equal(pooled[j - 2], values[a:b].max(axis=0))


def test_card_declares_and_round_trips_its_channels(tmp_path):
    card = two_channel_card()
    assert ModelCard.from_dict(json.loads(json.dumps(card.to_dict()))).input_channels == TWO
    card.write(tmp_path / "card.json")
    assert json.loads((tmp_path / "card.json").read_text())["input_channels"] == list(TWO)
    assert ModelCard.read(tmp_path / "card.json").input_channels == TWO
    # The shipped v0.2 card names no channels: it has the one image channel, quietly.
    v02_path = shipped_card_path("unet", "v0.2")
    assert "input_channels" not in json.loads(open(v02_path).read())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ModelCard.read(v02_path).input_channels == ("image",)
    # The default (v0.3) declares its two.
    assert ModelCard.read(default_card_path("unet")).input_channels == TWO
    with pytest.raises(ValueError, match="unknown channel 'snr'; the known channels are "
                                         "'image', 'peak_snr'"):
        two_channel_card(input_channels=("image", "snr"))
    with pytest.raises(ValueError, match="names a channel twice"):
        two_channel_card(input_channels=("image", "image"))
    with pytest.raises(ValueError, match="unknown channel 'colour'"):
        TrainingConfig(input_channels=["colour"])


def build_one_channel(*, filters=4):
    import keras

    inputs = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(x))


def build_ignoring_channels(*, filters=4, **unused):
    return build_one_channel(filters=filters)


@pytest.fixture()
def one_channel_plugin():
    @hookimpl
    def radiounet_backbones():
        return {name: BackboneSpec(name=name, builder=builder, depth=0, halo=1,
                                   default_config={"filters": 4})
                for name, builder in (("old_fcn", build_one_channel),
                                      ("careless_fcn", build_ignoring_channels))}

    register_plugin(SimpleNamespace(radiounet_backbones=radiounet_backbones),
                    name="one_channel_plugin")
    yield
    get_plugin_manager().unregister(name="one_channel_plugin")
    available_backbones.cache_clear()


def test_plugin_without_input_channels_builds_single_channel_cards_only(one_channel_plugin,
                                                                        tmp_path):
    spec = get_backbone("old_fcn")
    assert not spec.takes_input_channels() and get_backbone("unet").takes_input_channels()
    model, card = load_model("old_fcn", None, seed=0)
    save_model(model, card, tmp_path, stem="old")
    probability = RadioUNetSegmenter(weights=tmp_path / "old.json").predict_probability(
        np.random.default_rng(0).normal(size=(40, 50)))
    assert probability.shape == (40, 50)
    with pytest.raises(ValueError, match="'old_fcn' \\(plugin 'one_channel_plugin'\\) builds "
                                         "single-channel models only.*input_channels=1"):
        load_model("old_fcn", None, input_channels=TWO)
    with pytest.raises(ValueError, match="builds a model of 1 input channel, and 2 were "
                                         "asked for"):
        spec = get_backbone("careless_fcn")
        spec.build(input_channels=2)


@pytest.mark.parametrize("backbone", ["unet", "attention_unet"])
def test_tiles_carry_every_channel_to_the_network(backbone, tmp_path):
    model, card = load_model(backbone, None, config=TINY, seed=2, input_channels=TWO)
    assert model.input_shape == (None, None, None, 2)
    save_model(model, card, tmp_path, stem="two")
    image = np.random.default_rng(3).normal(size=(100, 120)).astype(np.float32)
    image[:30, :20] = np.nan
    segmenter = RadioUNetSegmenter(weights=tmp_path / "two.json", tile_shape=(64, 64))
    probability = segmenter.predict_probability(image)
    x = prepare_model_input(ImagePlane.from_array(image), card).network_input()
    assert x.shape == (100, 120, 2) and not x[:30, :20].any()
    # One tile, with zero input beyond the image as the tiles have.
    halo = segmenter.halo + (-segmenter.halo) % segmenter.multiple
    padded = np.pad(x, ((halo, halo), (halo, halo), (0, 0)))
    whole = model.predict_on_batch(padded[np.newaxis])[0, halo:-halo, halo:-halo, 0]
    assert np.isnan(probability[:30, :20]).all()
    valid = np.isfinite(probability)
    np.testing.assert_allclose(probability[valid], whole[valid], atol=1e-5)


def test_two_channel_model_trains_from_a_two_channel_training_set(tmp_path):
    config = TrainingConfig(name="two", backbone_config=TINY, tile_size=32, n_train=4,
                            n_val=2, epochs=1, batch_size=4, patience=1, input_channels=TWO,
                            hard_negative_weight=3.0,
                            field={"n_clusters": 1, "cluster_at_center": True,
                                   "radio_galaxy_density": 2000.0})
    x, y, hard = make_training_pair(config, 3, hard_negatives=True)
    assert x.shape == (32, 32, 2) and y.shape == hard.shape == (32, 32)
    assert hard.any() and not (hard.astype(bool) & y.astype(bool)).any()
    manifest = write_training_set(tmp_path / "set", config, 4, seed=5)
    assert manifest["recipe"]["input_channels"] == list(TWO)
    assert manifest["recipe"]["hard_negative_level"] == 0.5
    with np.load(tmp_path / "set" / "pairs_00000.npz") as shard:
        assert shard["x"].shape == (4, 32, 32, 2) and shard["hard"].shape == (4, 32, 32)
    x, y = read_training_set(tmp_path / "set", config)
    assert x.shape == (4, 32, 32, 2) and y.shape == (4, 32, 32, 1)
    with pytest.raises(ValueError, match="input_channels is \\['image', 'peak_snr'\\] there "
                                         "and \\['image'\\] in the config"):
        read_training_set(tmp_path / "set",
                          TrainingConfig(**{**asdict(config), "input_channels": ("image",)}))
    card_path = train(config, tmp_path / "model", training_set=tmp_path / "set",
                      progress_bar=False)
    card = ModelCard.read(card_path)
    assert card.input_channels == TWO and card.metrics["epochs_run"] == 1
    assert card.training["config"]["input_channels"] == list(TWO)
    segmenter = RadioUNetSegmenter(weights=card_path, tile_shape=(64, 64))
    assert segmenter.model.input_shape[-1] == 2
    assert segmenter.predict_probability(point_source_plane()).shape == (400, 400)


def test_warm_start_reproduces_the_shipped_model(tmp_path):
    from astropy_radiounet.simulation import SKY_PRESETS, simulate_field

    field = simulate_field((256, 256), seed=4, **SKY_PRESETS["v0.2"])
    hdu = fits.PrimaryHDU(field.image, header=field.header)
    v02 = RadioUNetSegmenter(weights="v0.2")
    model, card = warm_start_model("v0.2", input_channels=TWO)
    assert card.input_channels == TWO and card.calibration == v02.card.calibration
    assert card.training["warm_start"]["sha256"] == v02.card.sha256
    first = model.get_layer("down0_conv0").kernel.numpy()
    assert first.shape[2] == 2 and not first[:, :, 1].any()
    warm = RadioUNetSegmenter(weights=save_model(model, card, tmp_path, stem="warm"))
    difference = warm.predict_probability(hdu) - v02.predict_probability(hdu)
    assert np.nanmax(np.abs(difference)) < 1e-6
    with pytest.raises(ValueError, match="lacks the channel 'image'"):
        warm_start_model("default", input_channels=("peak_snr",))


def test_warm_start_of_another_grid_is_refused_before_any_work(tmp_path):
    config = TrainingConfig(name="w", tile_size=32, n_train=4, n_val=2, batch_size=4,
                            input_channels=TWO, warm_start="default", pixel_scale_arcsec=3.0)
    with pytest.raises(ValueError, match="pixel_scale is 6.0 arcsec there and 3.0 arcsec"):
        train(config, tmp_path, progress_bar=False)
    assert not list(tmp_path.glob("*.json"))


def test_train_command_takes_channels_and_warm_start(capsys):
    from astropy_radiounet.cli.main import main

    assert main(["train", "--print-config", "--input-channels", "image", "peak_snr",
                 "--warm-start", "default"]) == 0
    recipe = json.loads(capsys.readouterr().out)
    assert recipe["input_channels"] == list(TWO) and recipe["warm_start"] == "default"
    assert recipe["hard_negative_weight"] == 1.0
    assert main(["train", "--print-config", "--input-channels", "image", "snr"]) == 2
    assert "unknown channel 'snr'; the known channels are" in capsys.readouterr().err
