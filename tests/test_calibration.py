import numpy as np
import pytest

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.models.calibration import ProbabilityCalibration
from astropy_radiounet.evaluation.metrics import reliability
from astropy_radiounet.models.card import ModelCard, save_model, load_model
from helpers import TINY


def overconfident(seed, n=300_000):
    """Raw scores whose true frequency is 0.1 + 0.5 * score**2."""
    rng = np.random.default_rng(seed)
    raw = rng.beta(0.5, 2.0, n)
    truth = rng.uniform(size=n) < 0.1 + 0.5 * raw**2
    return truth, raw


def test_fit_makes_probabilities_reliable_on_fresh_data():
    calibration = ProbabilityCalibration.fit(*overconfident(1))
    truth, raw = overconfident(2)
    before = reliability(truth, raw)[1]
    after = reliability(truth, calibration(raw))[1]
    assert before > 0.1 and after < 0.01
    assert np.all(np.diff(calibration.calibrated) >= 0)


def test_fit_keeps_the_order_of_probabilities():
    """Where the truth fraction is flat (here, below 0.4), plain isotonic
    regression would give many raw values one calibrated value and lose their
    order; the centred fit keeps it, so mean probabilities still rank."""
    rng = np.random.default_rng(3)
    raw = rng.uniform(size=300_000)
    truth = rng.uniform(size=raw.size) < np.where(raw < 0.4, 0.05, raw)
    calibration = ProbabilityCalibration.fit(truth, raw)
    calibrated = calibration(np.sort(raw))
    assert np.all(np.diff(calibrated) >= 0)
    # Strictly increasing between the end knots: no two of 1,000 distinct raw
    # values there share a value.
    grid = np.linspace(calibration.raw[0], calibration.raw[-1], 1002)[1:-1]
    assert np.all(np.diff(calibration(grid)) > 0)
    assert calibration.raw[0] < 0.05 and calibration.raw[-1] > 0.95
    assert abs(float(calibration(0.2)) - 0.05) < 0.02
    assert abs(float(calibration(0.8)) - 0.8) < 0.03


def test_runs_of_equal_truth_fraction_are_pooled():
    """Bins that are all negative (or all positive) have equal truth fractions;
    they form one run and one knot, not a staircase of flat knots."""
    rng = np.random.default_rng(4)
    raw = rng.uniform(size=200_000)
    truth = (raw > 0.3) & (rng.uniform(size=raw.size) < raw)
    calibration = ProbabilityCalibration.fit(truth, raw)
    assert np.all(np.diff(calibration.calibrated) > 0)
    assert calibration.calibrated[0] == 0 and 0.1 < calibration.raw[0] < 0.2


def test_ends_follow_the_data_not_an_assumed_0_and_1():
    """A model whose most confident pixels are right only 60% of the time must
    not have its raw 1.0 (where sigmoid outputs pile up) mapped to 1."""
    rng = np.random.default_rng(5)
    raw = rng.uniform(size=200_000)
    truth = rng.uniform(size=raw.size) < 0.2 + 0.4 * raw
    calibration = ProbabilityCalibration.fit(truth, raw)
    assert abs(float(calibration(1.0)) - 0.6) < 0.03
    assert abs(float(calibration(0.0)) - 0.2) < 0.03


def test_nan_preserved_and_bad_knots_refused():
    calibration = ProbabilityCalibration([0.0, 0.5, 1.0], [0.1, 0.2, 0.9])
    result = calibration(np.array([np.nan, 0.25, 1.0]))
    assert np.isnan(result[0]) and result[1] == pytest.approx(0.15) and result[2] == 0.9
    with pytest.raises(ValueError, match="damaged"):
        ProbabilityCalibration([0.0, 0.5], [0.9, 0.1])
    with pytest.raises(ValueError, match="Unknown probability calibration method 'platt'"):
        ProbabilityCalibration.from_dict({"method": "platt"})
    with pytest.raises(ValueError, match="needs at least 1000 pixels"):
        ProbabilityCalibration.fit(np.ones(50), np.ones(50))


def test_card_round_trip_and_segmenter_applies_it(tmp_path):
    model, card = load_model("unet", None, config=TINY, seed=5)
    card.name = "tiny calibrated"
    # A calibration that maps everything to 0.25 whatever the network says.
    card.calibration = ProbabilityCalibration([0.0, 1.0], [0.25, 0.25])
    path = save_model(model, card, tmp_path, stem="tiny")
    assert ModelCard.read(path).calibration == card.calibration
    segmenter = RadioUNetSegmenter(weights=path, tile_shape=(64, 64))
    image = np.random.default_rng(0).normal(0, 1e-4, (80, 90))
    probability = segmenter.predict_probability(image)
    np.testing.assert_allclose(probability, 0.25, atol=1e-6)


def test_tiny_knots_survive_the_card(tmp_path):
    """A confident model has bin means of 1e-7 and less; the card must read back."""
    rng = np.random.default_rng(3)
    raw = np.concatenate([10 ** rng.uniform(-9, -5, 50_000), rng.uniform(0, 1, 50_000)])
    truth = rng.uniform(size=raw.size) < raw
    calibration = ProbabilityCalibration.fit(truth, raw)
    again = ProbabilityCalibration.from_dict(calibration.to_dict())
    np.testing.assert_allclose(again([1e-8, 0.5]), calibration([1e-8, 0.5]), rtol=1e-6)
    assert calibration(0.3).shape == ()
