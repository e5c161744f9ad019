import pickle

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st
from radio_beam import Beam

from astropy_radiounet.image.beams import (beam_area_pixels, beam_from_header,
                                           beam_pixel_covariance, gaussian_kernel,
                                           matching_kernel_covariance)
from astropy_radiounet.image.read import read_image
from astropy_radiounet.image.resampling import (ResampledImage, match_beam, model_grid_shape,
                                                to_input_grid, to_model_grid)
from astropy_radiounet.models.card import ModelCard

from helpers import lotss_header

#: sigma = FWHM / FWHM_PER_SIGMA for a Gaussian.
FWHM_PER_SIGMA = np.sqrt(8 * np.log(2))


def second_moments(image):
    """Covariance matrix (x, y) of a positive image."""
    y, x = np.indices(image.shape)
    total = image.sum()
    mx, my = (image * x).sum() / total, (image * y).sum() / total
    cxx = (image * (x - mx) ** 2).sum() / total
    cyy = (image * (y - my) ** 2).sum() / total
    cxy = (image * (x - mx) * (y - my)).sum() / total
    return np.array([[cxx, cxy], [cxy, cyy]])


def rotated_header():
    """
    A SIN header with rotated (20 deg), anisotropic (1.5 x 2.5 arcsec) pixels
    and an elliptical 15 x 7 arcsec beam at BPA 30 deg.
    """
    theta = np.deg2rad(20.0)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cd = rotation @ np.diag([-1.5 / 3600, 2.5 / 3600])
    header = fits.Header({"NAXIS": 2, "CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN",
                          "CRVAL1": 205.0, "CRVAL2": 55.0, "CRPIX1": 50.5, "CRPIX2": 40.5,
                          "CD1_1": cd[0, 0], "CD1_2": cd[0, 1], "CD2_1": cd[1, 0],
                          "CD2_2": cd[1, 1]})
    header["BMAJ"], header["BMIN"], header["BPA"] = 15 / 3600, 7 / 3600, 30.0
    return header


def test_beam_from_header_is_a_radio_beam_with_its_area():
    beam = beam_from_header(lotss_header((10, 10)))
    assert isinstance(beam, Beam)
    assert beam.major.to_value(u.arcsec) == beam.minor.to_value(u.arcsec) == pytest.approx(6)
    assert beam.sr.to_value(u.arcsec**2) == pytest.approx(np.pi / (4 * np.log(2)) * 36)
    assert beam_from_header(fits.Header()) is None
    assert beam_from_header({}) is None
    assert beam_from_header(None) is None
    # BMIN and BPA default to a circular beam at PA 0, as in radio-beam.
    assert beam_from_header({"BMAJ": 6 / 3600}) == Beam(6 * u.arcsec)


def test_beam_from_header_agrees_with_radio_beam_and_round_trips():
    header = rotated_header()
    beam = beam_from_header(header)
    assert beam == Beam.from_fits_header(header)
    assert beam.pa.to_value(u.deg) == pytest.approx(30.0)
    written = beam.attach_to_header(fits.Header())
    assert [written[key] for key in ("BMAJ", "BMIN", "BPA")] == pytest.approx(
        [15 / 3600, 7 / 3600, 30.0])
    again = beam_from_header(written)
    assert again == beam
    np.testing.assert_allclose(beam_pixel_covariance(again, WCS(header)),
                               beam_pixel_covariance(beam, WCS(header)), rtol=1e-12)
    # Pickling (how beams reach worker processes) keeps the beam.
    assert pickle.loads(pickle.dumps(beam)) == beam


def test_beam_from_header_swaps_axes_and_refuses_non_beams():
    # radio-beam refuses BMIN > BMAJ; the same ellipse has the axes swapped, PA + 90.
    swapped = beam_from_header({"BMAJ": 5 / 3600, "BMIN": 6 / 3600, "BPA": 10.0})
    assert swapped.major.to_value(u.arcsec) == pytest.approx(6.0)
    assert swapped.minor.to_value(u.arcsec) == pytest.approx(5.0)
    assert swapped.pa.to_value(u.deg) == pytest.approx(100.0)
    for bad in (0.0, -1 / 3600, np.nan):
        with pytest.raises(ValueError, match="finite and positive"):
            beam_from_header({"BMAJ": bad, "BMIN": 5 / 3600})
    with pytest.raises(ValueError, match="BPA = 'north' is not a number"):
        beam_from_header({"BMAJ": 6 / 3600, "BPA": "north"})
    with pytest.raises(TypeError, match="mapping of FITS keywords"):
        beam_from_header("field.fits")


def test_read_image_gives_a_radio_beam_for_nddata_meta():
    plane = read_image(NDData(np.ones((10, 12)), meta={"BMAJ": 6 / 3600, "BMIN": 5 / 3600}))
    assert isinstance(plane.beam, Beam) and plane.beam.minor.to_value(u.arcsec) == pytest.approx(5)
    assert read_image(NDData(np.ones((10, 12)))).beam is None


def test_functions_refuse_what_is_not_a_radio_beam():
    wcs = WCS(lotss_header((10, 10), four_d=False)).celestial
    fix = r"radio_beam.Beam; got Quantity.*Pass e.g. radio_beam.Beam\(6 \* u.arcsec\)"
    for function in (beam_pixel_covariance, beam_area_pixels):
        with pytest.raises(TypeError, match=fix):
            function(6 * u.arcsec, wcs)
    with pytest.raises(ValueError, match="finite, positive widths"):
        beam_area_pixels(Beam(-6 * u.arcsec), wcs)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        beam_pixel_covariance(Beam(6 * u.arcsec), wcs, scale=0)
    with pytest.raises(TypeError, match="The model card's beam must be a radio_beam.Beam"):
        ModelCard(name="x", backbone="unet", beam=20 * u.arcsec)


def test_model_card_keeps_its_json_beam_format(tmp_path):
    beam = Beam(major=20 * u.arcsec, minor=15 * u.arcsec, pa=30 * u.deg)
    card = ModelCard(name="x", backbone="unet", beam=beam)
    assert card.to_dict()["beam"] == pytest.approx(
        {"major_arcsec": 20.0, "minor_arcsec": 15.0, "pa_deg": 30.0})
    again = ModelCard.read(card.write(tmp_path / "card.json"))
    assert isinstance(again.beam, Beam) and again.beam == beam


def test_beam_area_pixels():
    wcs = WCS(lotss_header((10, 10), four_d=False)).celestial
    expected = np.pi / (4 * np.log(2)) * 12 * 6 / 1.5**2
    assert beam_area_pixels(Beam(12 * u.arcsec, 6 * u.arcsec, 40 * u.deg), wcs) == \
        pytest.approx(expected)


def test_pixel_covariance_orientation():
    """A beam with PA 0 (north-south) is elongated along y; PA 90 along x."""
    wcs = WCS(lotss_header((10, 10), four_d=False)).celestial
    north = beam_pixel_covariance(Beam(12 * u.arcsec, 6 * u.arcsec, 0 * u.deg), wcs)
    east = beam_pixel_covariance(Beam(12 * u.arcsec, 6 * u.arcsec, 90 * u.deg), wcs)
    sigma = 12 / 1.5 / FWHM_PER_SIGMA
    assert north[1, 1] == pytest.approx(sigma**2) and east[0, 0] == pytest.approx(sigma**2)
    assert north[0, 0] == pytest.approx(east[1, 1])


def test_pixel_covariance_of_header_beam_on_rotated_anisotropic_wcs():
    """
    The covariance of a BPA = 30 deg beam read from a header is the matrix the
    package computed before beams became radio_beam.Beam, and the one found
    independently: pixel offsets mapped to (east, north) offsets on the sky
    through the whole WCS, and the major axis along astropy's position angle
    (north through east, as FITS BPA).
    """
    header = rotated_header()
    wcs = WCS(header)
    covariance = beam_pixel_covariance(beam_from_header(header), wcs)
    # GaussianBeam.from_header(header).pixel_covariance(wcs) of version 0.1.dev.
    before = np.array([[12.205283372355044, -4.167613300399217],
                       [-4.167613300399216, 3.5120668100238652]])
    np.testing.assert_allclose(covariance, before, rtol=1e-12)
    np.testing.assert_allclose(beam_pixel_covariance(beam_from_header(header), wcs, scale=2.5),
                               before / 2.5**2, rtol=1e-12)

    centre = (header["CRPIX1"] - 1, header["CRPIX2"] - 1)
    reference = wcs.pixel_to_world(*centre)

    def east_north(coord):
        east, north = reference.spherical_offsets_to(coord)
        return np.array([east.to_value(u.arcsec), north.to_value(u.arcsec)])

    step = 1e-3
    jacobian = np.column_stack([
        (east_north(wcs.pixel_to_world(centre[0] + step, centre[1]))
         - east_north(wcs.pixel_to_world(centre[0] - step, centre[1]))) / (2 * step),
        (east_north(wcs.pixel_to_world(centre[0], centre[1] + step))
         - east_north(wcs.pixel_to_world(centre[0], centre[1] - step))) / (2 * step)])
    axes = []
    for pa in (30, 120):  # major, minor axis
        offset = east_north(reference.directional_offset_by(pa * u.deg, 1 * u.arcsec))
        axes.append(offset / np.linalg.norm(offset))
    sky = ((15 / FWHM_PER_SIGMA) ** 2 * np.outer(axes[0], axes[0])
           + (7 / FWHM_PER_SIGMA) ** 2 * np.outer(axes[1], axes[1]))
    to_pixels = np.linalg.inv(jacobian)
    np.testing.assert_allclose(covariance, to_pixels @ sky @ to_pixels.T, rtol=1e-5)


def test_pixel_covariances_add_as_radio_beam_convolves():
    """radio-beam's sky convolution and deconvolution agree with our covariances."""
    wcs = WCS(rotated_header())
    first = Beam(major=15 * u.arcsec, minor=7 * u.arcsec, pa=30 * u.deg)
    second = Beam(major=9 * u.arcsec, minor=4 * u.arcsec, pa=-50 * u.deg)
    np.testing.assert_allclose(beam_pixel_covariance(first.convolve(second), wcs),
                               beam_pixel_covariance(first, wcs)
                               + beam_pixel_covariance(second, wcs), rtol=1e-6, atol=1e-9)
    kernel, deficit = matching_kernel_covariance(
        beam_pixel_covariance(first.convolve(second), wcs), beam_pixel_covariance(first, wcs))
    assert deficit == pytest.approx(0, abs=1e-9)
    np.testing.assert_allclose(
        kernel, beam_pixel_covariance(first.convolve(second).deconvolve(first), wcs),
        rtol=1e-5, atol=1e-8)


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
    current = beam_pixel_covariance(Beam(6 * u.arcsec), wcs)
    target = beam_pixel_covariance(Beam(15 * u.arcsec, 9 * u.arcsec, 30 * u.deg), wcs)
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


def test_strip_wise_resampling_and_convolution_equal_whole_image_results():
    from scipy.signal import fftconvolve

    from astropy_radiounet.image import resampling

    rng = np.random.default_rng(3)
    model = rng.uniform(0, 1, (40, 30)).astype(np.float32)
    whole = resampling.to_input_grid(model, 2.5, (100, 75), out=np.empty((100, 75), np.float32),
                                     strip_rows=1000)
    strips = resampling.to_input_grid(model, 2.5, (100, 75), out=np.empty((100, 75), np.float32),
                                      strip_rows=7)
    np.testing.assert_allclose(strips, whole, rtol=1e-6)
    image = rng.normal(size=(500, 60))
    kernel = np.outer(np.hanning(9), np.hanning(7))
    old, resampling.STRIP_PIXELS = resampling.STRIP_PIXELS, 1000  # force many strips
    try:
        np.testing.assert_allclose(resampling.fftconvolve_strips(image, kernel),
                                   fftconvolve(image, kernel, mode="same"), atol=1e-12)
    finally:
        resampling.STRIP_PIXELS = old
