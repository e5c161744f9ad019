"""
Images of coarse beams: training across input beams, the truth at one
surface brightness, and the classical baseline on a coarse image.
"""

import math
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

from astropy_radiounet.segmentation import prepare_model_input
from astropy_radiounet.segmentation.model_input import on_model_grid
from astropy_radiounet.simulation import noise_at_beam, simulate_field
from astropy_radiounet.training import TrainingConfig, make_training_pair, train
from astropy_radiounet.training.pairs import data_recipe, simulated_plane, truth_level

COARSE = dict(name="coarse", pixel_scale_arcsec=9.0, beam_arcsec=30.0, tile_size=32,
              n_train=4, n_val=2, batch_size=4)


@pytest.mark.parametrize("beams", [[], [0], ["45"], "45", [45, -1], 45])
def test_input_beams_must_be_positive_beams(beams):
    with pytest.raises(ValueError, match="input_beams_arcsec=.* must be None .* or a non-empty"):
        TrainingConfig(**COARSE, input_beams_arcsec=beams)


def test_input_beams_and_a_field_beam_are_refused_together():
    with pytest.raises(ValueError, match=r"field sets \['beam', 'pixel_scale'\] and "
                                         r"input_beams_arcsec sets them too"):
        TrainingConfig(**COARSE, input_beams_arcsec=[45], field={"beam": 20, "pixel_scale": 5})


def test_each_pair_is_drawn_at_one_of_the_input_beams_each_as_often():
    config = TrainingConfig(**COARSE, input_beams_arcsec=[25, 60])
    seeds = np.random.SeedSequence(3).spawn(400)
    beams = [config.input_beam(seed) for seed in seeds]
    assert set(beams) == {25.0, 60.0}
    assert 150 < beams.count(25.0) < 250  # binomial(400, 1/2): 5 sigma either side
    assert beams == [config.input_beam(seed) for seed in seeds]  # the seed decides
    assert TrainingConfig(**COARSE).input_beam(seeds[0]) is None
    assert data_recipe(config)["input_beams_arcsec"] == [25.0, 60.0]
    assert data_recipe(TrainingConfig(**COARSE))["input_beams_arcsec"] is None


def test_a_pair_at_a_coarser_beam_is_made_on_the_grid_the_segmenter_uses():
    """
    A 60" field (15" pixels, the 6" noise smoothed to 60") brought to the
    30" card scaled to 60" (18" pixels): what the segmenter does to a 60"
    image.  A 25" field is convolved to the card's own 30" on its 9" grid.
    """
    config = TrainingConfig(**COARSE, input_beams_arcsec=[25, 60])
    seeds = np.random.SeedSequence(8).spawn(12)
    beams = [config.input_beam(seed) for seed in seeds]
    assert config.field_factor(60.0) == pytest.approx(18 / 15)
    assert config.field_factor(25.0) == pytest.approx(9 / 6.25)
    for beam in (60.0, 25.0):
        seed = seeds[beams.index(beam)]
        x, y = make_training_pair(config, seed)
        size = math.ceil(32 * config.field_factor(beam))
        again = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)  # unspawned
        field = simulate_field((size, size), seed=again, beam=beam * u.arcsec,
                               pixel_scale=beam / 4 * u.arcsec,
                               noise=noise_at_beam(beam * u.arcsec), **config.field)
        model_input = prepare_model_input(simulated_plane(field), config.card())
        expected_pixel = 18.0 if beam == 60.0 else 9.0
        assert model_input.card.pixel_scale.to_value(u.arcsec) == pytest.approx(expected_pixel)
        np.testing.assert_array_equal(x, model_input.network_input()[:32, :32, 0])
        assert x.shape == y.shape == (32, 32)
        # The truth is the same surface brightness at every beam: at 60" on the
        # grid scaled 2 times, twice the card's level (0.5) over the noise.
        diffuse = on_model_grid(simulated_plane(field, field.diffuse_sky), model_input.card,
                                model_input.factor).read()[0] / model_input.noise()
        level = {60.0: 1.0, 25.0: 0.5}[beam]
        assert truth_level(0.5, config.card(), model_input.card) == level
        np.testing.assert_array_equal(y, (diffuse > level)[:32, :32])


def test_noise_at_beam_scales_the_noise_with_the_beam():
    assert noise_at_beam(45 * u.arcsec).to_value(u.uJy / u.beam) == pytest.approx(525.0)
    assert noise_at_beam(40 * u.arcsec, noise=100 * u.uJy / u.beam,
                         reference_beam=20 * u.arcsec).to_value(u.uJy / u.beam) == 200.0


def test_input_beams_of_numpy_numbers_are_stored_as_floats():
    config = TrainingConfig(**COARSE, input_beams_arcsec=np.array([25, 45], dtype=np.int64))
    assert config.input_beams_arcsec == (25.0, 45.0)
    assert all(type(beam) is float for beam in config.input_beams_arcsec)  # JSON-writable


def test_a_finer_model_warm_starts_a_coarser_one_of_the_same_beam_in_pixels(tmp_path):
    """v0.2 (6" pixels, 20" beam) scaled to 30" is a 9" / 30" model; 6" / 30" is not."""
    import json

    config = TrainingConfig(**{**COARSE, "n_train": 8, "batch_size": 4}, warm_start="v0.2",
                            input_beams_arcsec=[45], epochs=1, max_minutes=None)
    card_path = train(config, tmp_path / "coarse", progress_bar=False)
    card = json.loads(Path(card_path).read_text())
    assert card["training"]["warm_start"]["weights"] == "v0.2"
    assert card["beam"]["major_arcsec"] == 30.0
    assert card["training"]["config"]["input_beams_arcsec"] == [45.0]
    other = TrainingConfig(**{**COARSE, "pixel_scale_arcsec": 6.0}, warm_start="v0.2")
    with pytest.raises(ValueError, match="pixel_scale is 9.0 arcsec there and 6.0 arcsec"):
        train(other, tmp_path, progress_bar=False)
    assert not list(tmp_path.glob("*.json"))


def test_the_classical_baseline_reads_a_coarse_image_on_the_scaled_grid():
    """A 60" image is not smoothed to the card's 20" (impossible): the grid is scaled."""
    from astropy_radiounet.exceptions import ResolutionWarning
    from astropy_radiounet.models import find_card
    from astropy_radiounet.segmentation import ClassicalSegmenter

    field = simulate_field((120, 120), seed=3, beam=60 * u.arcsec, pixel_scale=15 * u.arcsec,
                           noise=noise_at_beam(60 * u.arcsec))
    classical = ClassicalSegmenter(card=find_card("v0.2"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResolutionWarning)  # no "smoother than trained on"
        diffuse, factor = classical.diffuse_on_model_grid(simulated_plane(field))
    assert factor == pytest.approx(18 / 15)  # v0.2's 6" pixels scaled 3 times
    assert diffuse.shape == (100, 100)
