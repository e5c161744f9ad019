import astropy.units as u
import numpy as np
import pytest
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from astropy_radiounet.image.beams import GaussianBeam, gaussian_kernel, matching_kernel_covariance
from astropy_radiounet.image.read import read_image
from astropy_radiounet.image.resampling import (ResampledImage, match_beam, model_grid_shape,
                                                to_input_grid, to_model_grid)

from helpers import lotss_header


def second_moments(image):
    """Covariance matrix (x, y) of a positive image."""
    y, x = np.indices(image.shape)
    total = image.sum()
    mx, my = (image * x).sum() / total, (image * y).sum() / total
    cxx = (image * (x - mx) ** 2).sum() / total
    cyy = (image * (y - my) ** 2).sum() / total
    cxy = (image * (x - mx) * (y - my)).sum() / total
    return np.array([[cxx, cxy], [cxy, cyy]])


def test_beam_from_header_and_area():
    beam = GaussianBeam.from_header(lotss_header((10, 10)))
    assert beam.major == beam.minor
    assert beam.area.to_value(u.arcsec**2) == pytest.approx(np.pi / (4 * np.log(2)) * 36)
    assert GaussianBeam.from_header({}) is None


def test_beam_validation():
    with pytest.raises(TypeError, match="angle Quantity"):
        GaussianBeam(6, 6)
    with pytest.raises(ValueError, match="swap them"):
        GaussianBeam(5 * u.arcsec, 6 * u.arcsec)


def test_pixel_covariance_orientation():
    """A beam with PA 0 (north-south) is elongated along y; PA 90 along x."""
    wcs = WCS(lotss_header((10, 10), four_d=False)).celestial
    north = GaussianBeam(12 * u.arcsec, 6 * u.arcsec, 0 * u.deg).pixel_covariance(wcs)
    east = GaussianBeam(12 * u.arcsec, 6 * u.arcsec, 90 * u.deg).pixel_covariance(wcs)
    sigma = 12 / 1.5 / np.sqrt(8 * np.log(2))
    assert north[1, 1] == pytest.approx(sigma**2) and east[0, 0] == pytest.approx(sigma**2)
    assert north[0, 0] == pytest.approx(east[1, 1])


def test_matching_kernel_reaches_target_beam():
    current = np.diag([4.0, 4.0])
    target = np.array([[10.0, 2.0], [2.0, 6.0]])
    kernel_cov, deficit = matching_kernel_covariance(target, current)
    assert deficit == 0
    image = np.zeros((121, 121))
    image[60, 60] = 1.0
    blurred = np.asarray(gaussian_kernel(current + np.eye(2) * 1e-9))
    from scipy.signal import fftconvolve

    point = fftconvolve(image, blurred, mode="same")
    result = fftconvolve(point, gaussian_kernel(kernel_cov, n_sigma=6), mode="same")
    np.testing.assert_allclose(second_moments(result), target, atol=0.05)
    _, deficit = matching_kernel_covariance(np.diag([2.0, 2.0]), np.diag([4.0, 1.0]))
    assert deficit == pytest.approx(2.0)


def _inside(n, factor, n_out):
    """Length of each model pixel that lies inside the input, in input pixels."""
    starts = np.arange(n_out) * factor
    return np.minimum(starts + factor, n) - starts


@settings(max_examples=40, deadline=None)
@given(ny=st.integers(5, 60), nx=st.integers(5, 60),
       factor=st.floats(1.0, 5.0, allow_nan=False))
def test_downsampling_conserves_flux(ny, nx, factor):
    rng = np.random.default_rng(ny * 100 + nx)
    data = rng.uniform(0, 1, (ny, nx))
    image = to_model_grid(read_image(data), factor, strip_rows=7)
    assert image.shape == model_grid_shape((ny, nx), factor)
    area = np.outer(_inside(ny, factor, image.shape[0]), _inside(nx, factor, image.shape[1]))
    # Model pixels mostly off the image are blank; the others carry their mean brightness.
    covered = area >= 0.5 * factor**2
    np.testing.assert_array_equal(image.valid, covered)
    if covered.all():
        assert (image.values * area).sum() == pytest.approx(data.sum(), rel=1e-5)


def test_integer_downsampling_is_block_mean_and_blanks_sparse_coverage():
    data = np.arange(64, dtype=float).reshape(8, 8)
    data[:4, :4] = np.nan  # a blank quarter
    image = to_model_grid(read_image(data), 4.0)
    assert image.shape == (2, 2)
    assert not image.valid[0, 0] and image.valid[1, 1]
    assert image.values[1, 1] == pytest.approx(np.nanmean(data[4:, 4:]))


def test_upsampling_back_to_input_grid():
    constant = np.full((10, 12), 0.7, dtype=np.float32)
    out = np.empty((40, 47), dtype=np.float32)
    to_input_grid(constant, 4.0, (40, 47), out=out, strip_rows=9)
    np.testing.assert_allclose(out, 0.7, rtol=1e-6)
    ramp = np.tile(np.arange(12, dtype=np.float32), (10, 1))
    to_input_grid(ramp, 4.0, (40, 47), out=out)
    # Input pixel centre x maps to model coordinate (x + 0.5) / 4 - 0.5.
    assert out[5, 20] == pytest.approx((20 + 0.5) / 4 - 0.5)


def test_match_beam_widens_point_source_to_model_beam():
    wcs = WCS(lotss_header((10, 10), four_d=False)).celestial
    current = GaussianBeam(6 * u.arcsec, 6 * u.arcsec).pixel_covariance(wcs)
    target = GaussianBeam(15 * u.arcsec, 9 * u.arcsec, 30 * u.deg).pixel_covariance(wcs)
    values = np.zeros((101, 101), dtype=np.float32)
    values[50, 50] = 1.0
    from scipy.signal import fftconvolve

    values = fftconvolve(values, gaussian_kernel(current, n_sigma=6), mode="same")
    peak_before = values.max()
    image = ResampledImage(values.astype(np.float32), np.ones(values.shape, bool))
    deficit = match_beam(image, target, current)
    assert deficit == 0
    np.testing.assert_allclose(second_moments(image.values), target, rtol=0.02, atol=0.05)
    # Jy/beam: a point source keeps its peak value when the beam widens.
    assert image.values.max() == pytest.approx(peak_before, rel=0.02)
