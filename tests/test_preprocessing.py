import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from astropy_radiounet.models.normalisation import LogNormalisation
from astropy_radiounet.image.noise import NoiseMap, robust_sigma
from astropy_radiounet.image.resampling import ResampledImage


def test_robust_sigma_ignores_bright_sources_and_nan():
    rng = np.random.default_rng(1)
    sample = rng.normal(0, 3.0, 50_000)
    sample[:2000] = rng.uniform(100, 1000, 2000)
    sample[2000:2100] = np.nan
    assert robust_sigma(sample) == pytest.approx(3.0, rel=0.03)
    assert np.isnan(robust_sigma(np.full(10, np.nan)))


def test_noise_map_follows_a_noise_gradient():
    rng = np.random.default_rng(2)
    ny, nx = 256, 384
    truth = np.linspace(1.0, 4.0, nx)[np.newaxis, :] * np.ones((ny, 1))
    data = (rng.normal(size=(ny, nx)) * truth).astype(np.float32)
    data[100:110, 100:110] += 500  # a bright source does not raise the noise
    valid = np.ones((ny, nx), bool)
    valid[:, :40] = False  # a blank strip is filled from its neighbours
    noise = NoiseMap.estimate(ResampledImage(np.where(valid, data, 0), valid), box_size=32)
    sigma = noise(slice(None), slice(None))
    assert sigma.shape == (ny, nx)
    inner = slice(64, 320)
    np.testing.assert_allclose(sigma[:, inner], truth[:, inner], rtol=0.12)
    # Evaluating a part equals the same part of the whole (no tile seams).
    np.testing.assert_array_equal(noise(slice(10, 50), slice(70, 90)), sigma[10:50, 70:90])


def test_sparse_box_is_filled_even_beside_a_narrow_last_column():
    """With 129 columns and boxes of 64, the last box column is 1 pixel wide;
    a full box with only 40 valid pixels must still count as too sparse."""
    rng = np.random.default_rng(3)
    data = rng.normal(size=(128, 129)).astype(np.float32)
    valid = np.ones(data.shape, bool)
    valid[:64, 64:128] = False
    valid[10, 70:110] = True
    data[10, 70:110] *= 60  # too few pixels for a noise estimate
    noise = NoiseMap.estimate(ResampledImage(np.where(valid, data, 0), valid), box_size=64,
                              filter_size=1)
    assert noise(slice(0, 64), slice(64, 128)).max() < 2


def test_noise_map_refuses_blank_image():
    values = np.zeros((64, 64), np.float32)
    with pytest.raises(ValueError, match="Cannot estimate the noise"):
        NoiseMap.estimate(ResampledImage(values, np.zeros((64, 64), bool)))
    with pytest.raises(ValueError, match="non-constant"):
        NoiseMap.estimate(ResampledImage(values, np.ones((64, 64), bool)))


def test_log_normalisation_formula():
    norm = LogNormalisation(snr_max=99.0)
    values = np.array([-990.0, -1.0, 0.0, 9.0, 99.0, 1e9])
    result = norm(values, np.ones(6, bool), 1.0)
    expected = np.sign(values) * np.log10(1 + np.abs(values)) / 2.0
    np.testing.assert_allclose(result, np.clip(expected, -1, 1), rtol=1e-6)
    assert norm(values, np.zeros(6, bool), 1.0).tolist() == [0.0] * 6


@settings(max_examples=50, deadline=None)
@given(values=arrays(np.float64, 20, elements=st.floats(-1e6, 1e6)),
       sigma=st.floats(1e-6, 10.0), snr_max=st.floats(1.0, 1e5))
def test_log_normalisation_is_bounded_odd_and_monotonic(values, sigma, snr_max):
    norm = LogNormalisation(snr_max=snr_max)
    valid = np.ones(values.shape, bool)
    result = norm(values, valid, sigma)
    assert result.dtype == np.float32
    assert np.all(np.abs(result) <= 1.0)
    np.testing.assert_allclose(norm(-values, valid, sigma), -result, atol=1e-6)
    order = np.argsort(values)
    assert np.all(np.diff(result[order]) >= -1e-6)


def test_normalisation_card_round_trip_and_errors():
    norm = LogNormalisation(snr_max=300.0)
    assert LogNormalisation.from_dict(norm.to_dict()) == norm
    with pytest.raises(ValueError, match="Unknown normalisation method"):
        LogNormalisation.from_dict({"method": "minmax"})
    with pytest.raises(ValueError, match="Unknown normalisation keys \\['snr_maxx'\\]"):
        LogNormalisation.from_dict({"method": "symlog_snr", "snr_maxx": 30})
    with pytest.raises(ValueError, match="snr_max must be a finite positive number"):
        LogNormalisation(snr_max=0)
