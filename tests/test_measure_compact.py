"""Compact-source subtraction in the image plane (measure.compact)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from radio_beam import Beam
from scipy.ndimage import gaussian_filter

from astropy_radiounet.exceptions import OutputExistsError
from astropy_radiounet.image import ImagePlane, NoiseMap, read_image
from astropy_radiounet.measure import (SUBTRACTION_ERROR, CompactSubtraction,
                                       subtract_compact_sources)

from helpers import lotss_header, lotss_like_image

FWHM_TO_SIGMA = 1 / np.sqrt(8 * np.log(2))
NOISE = 1e-4  # Jy/beam
FINE = Beam(6 * u.arcsec)
COARSE = Beam(20 * u.arcsec)


def sky_wcs(shape, pixel=1.5, crpix=None):
    """A SIN WCS of ``pixel`` arcsec, its reference pixel at ``crpix`` (1-based)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [205.0, 55.0]
    wcs.wcs.crpix = crpix or [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    wcs.wcs.cdelt = [-pixel / 3600, pixel / 3600]
    return wcs


def gaussian(shape, y0, x0, flux, fwhm, size=0.0):
    """A circular source of ``flux`` (Jy) and intrinsic FWHM ``size`` seen with a beam of
    FWHM ``fwhm`` (both in pixels), in Jy/beam."""
    beam_var = (fwhm * FWHM_TO_SIGMA) ** 2
    var = beam_var + (size * FWHM_TO_SIGMA) ** 2
    y, x = np.indices(shape)
    return flux * beam_var / var * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * var))


def correlated_noise(shape, fwhm, seed=0):
    white = np.random.default_rng(seed).normal(size=shape)
    noise = gaussian_filter(white, fwhm * FWHM_TO_SIGMA / np.sqrt(2))
    return NOISE * noise / noise.std()


def beam_pixels(fwhm):
    return 2 * np.pi * (fwhm * FWHM_TO_SIGMA) ** 2


# the subtraction on one image ------------------------------------------------------------

def test_point_source_on_halo_is_removed_and_halo_kept():
    shape = (192, 192)
    y0, x0 = 95.3, 96.6
    halo = gaussian(shape, 96.0, 96.0, 0.0, 4.0) + 3 * NOISE * np.exp(
        -((np.indices(shape)[1] - 96.0) ** 2 + (np.indices(shape)[0] - 96.0) ** 2)
        / (2 * 18.0**2))
    point = gaussian(shape, y0, x0, 0.02, 4.0)  # 20 mJy, 200 sigma
    noise = correlated_noise(shape, 4.0)
    result = subtract_compact_sources(halo + point + noise, wcs=sky_wcs(shape), beam=FINE,
                                      noise=NOISE)
    assert isinstance(result, CompactSubtraction)
    assert len(result.sources) == 1
    row = result.sources[0]
    assert row["x"] == pytest.approx(x0, abs=0.1) and row["y"] == pytest.approx(y0, abs=0.1)
    assert row["flux"].to_value(u.mJy) == pytest.approx(20.0, rel=0.02)
    assert row["peak"].unit == u.Jy / u.beam and row["major"].unit == u.arcsec
    assert row["sky_centroid"].separation(sky_wcs(shape).pixel_to_world(x0, y0)) < 0.2 * u.arcsec
    # The point source is gone to within a small residual...
    left = result.subtracted.data - halo - noise
    assert np.abs(left).max() < 0.02 * point.max()
    assert np.abs(result.model - point).max() < 0.02 * point.max()
    # ... while the halo's flux density is kept within a few per cent.
    inside = np.hypot(*(np.indices(shape) - 96.0)) < 54
    true = halo[inside].sum() / beam_pixels(4.0)
    measured = (result.subtracted.data - noise)[inside].sum() / beam_pixels(4.0)
    assert measured == pytest.approx(true, rel=0.03)
    assert result.model.dtype == np.float32 and result.subtracted.data.dtype == np.float32
    assert result.subtraction_error == SUBTRACTION_ERROR


def test_extended_emission_is_not_compact():
    """A source broader than max_size, and a relic-like ridge, stay in the image."""
    shape = (160, 160)
    y, x = np.indices(shape)
    blob = gaussian(shape, 50.0, 50.0, 0.05, 4.0, size=12.0)  # 18 arcsec
    # A ridge 15 arcsec wide (FWHM 10 pixels), 130 arcsec long, seen with the beam.
    width = np.hypot(10.0, 4.0) * FWHM_TO_SIGMA
    ridge = 10 * NOISE * np.exp(-((x - 110.0) ** 2) / (2 * width**2)
                                - (np.abs(y - 80.0) / 45) ** 4 / 2)
    image = blob + ridge + correlated_noise(shape, 4.0)
    result = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE, noise=NOISE)
    assert len(result.sources) == 0
    assert not result.model.any() and not result.unreliable.any()
    np.testing.assert_array_equal(result.subtracted.data, image.astype(np.float32))
    # With a larger max_size (and box), the blob is compact.
    larger = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE, noise=NOISE,
                                      max_size=24 * u.arcsec)
    assert 1 <= len(larger.sources)
    assert larger.sources["flux"].to_value(u.Jy).max() == pytest.approx(0.05, rel=0.05)


def test_compact_source_on_a_compact_core_is_split():
    """A point source on a barely larger core (a mini-halo): only the point is subtracted."""
    shape = (128, 128)
    core = gaussian(shape, 64.0, 64.0, 0.02, 4.0, size=10.0)  # 15 arcsec, too broad
    point = gaussian(shape, 64.4, 63.7, 0.01, 4.0)
    result = subtract_compact_sources(core + point + correlated_noise(shape, 4.0),
                                      wcs=sky_wcs(shape), beam=FINE, noise=NOISE)
    assert len(result.sources) == 1
    assert result.sources["flux"][0].to_value(u.mJy) == pytest.approx(10.0, rel=0.1)


def test_blends_and_faint_sources():
    shape = (128, 128)
    image = (gaussian(shape, 60.0, 60.0, 0.01, 4.0) + gaussian(shape, 60.0, 66.0, 0.005, 4.0)
             + gaussian(shape, 20.0, 100.0, 3 * NOISE, 4.0)  # 3 sigma: not subtracted
             + correlated_noise(shape, 4.0, seed=2))
    result = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE, noise=NOISE)
    order = np.argsort(result.sources["x"])
    assert len(result.sources) == 2
    np.testing.assert_allclose(result.sources["x"][order], [60.0, 66.0], atol=0.3)
    np.testing.assert_allclose(result.sources["flux"][order].to_value(u.mJy), [10.0, 5.0],
                               rtol=0.05)


def test_size_and_position_angle_of_a_resolved_source():
    """A source of 8 x 3 arcsec at PA 30 deg (north through east) on a north-up image."""
    shape = (96, 96)
    theta = np.radians(30.0)
    along = np.array([-np.sin(theta), np.cos(theta)])  # (x, y): east is -x
    across = np.array([np.cos(theta), np.sin(theta)])
    intrinsic = ((8 / 1.5 * FWHM_TO_SIGMA) ** 2 * np.outer(along, along)
                 + (3 / 1.5 * FWHM_TO_SIGMA) ** 2 * np.outer(across, across))
    total = intrinsic + np.eye(2) * (4 * FWHM_TO_SIGMA) ** 2
    inverse = np.linalg.inv(total)
    y, x = np.indices(shape) - 48.0
    q = inverse[0, 0] * x**2 + 2 * inverse[0, 1] * x * y + inverse[1, 1] * y**2
    beam_area = 2 * np.pi * (4 * FWHM_TO_SIGMA) ** 2
    image = 0.05 * beam_area / (2 * np.pi * np.sqrt(np.linalg.det(total))) * np.exp(-q / 2)
    result = subtract_compact_sources(image + correlated_noise(shape, 4.0, seed=3),
                                      wcs=sky_wcs(shape), beam=FINE, noise=NOISE)
    row = result.sources[0]
    assert len(result.sources) == 1
    assert row["flux"].to_value(u.mJy) == pytest.approx(50.0, rel=0.03)
    assert row["major"].to_value(u.arcsec) == pytest.approx(8.0, rel=0.1)
    assert row["minor"].to_value(u.arcsec) == pytest.approx(3.0, abs=1.5)
    assert row["pa"].to_value(u.deg) == pytest.approx(30.0, abs=5.0)


def test_no_compact_sources():
    shape = (96, 96)
    image = correlated_noise(shape, 4.0, seed=5)
    result = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE)
    assert len(result.sources) == 0
    assert {"x", "y", "sky_centroid", "peak", "flux", "major", "reliable"} <= set(
        result.sources.colnames)
    assert not result.model.any() and not result.unreliable.any()
    assert result.residual_error(np.ones(shape, bool)) == 0 * u.Jy


# unreliable pixels ------------------------------------------------------------------------

def test_unreliable_around_a_source_too_bright_to_subtract():
    shape = (160, 160)
    bright = gaussian(shape, 50.0, 50.0, 1.0, 4.0)  # 10^4 sigma: 3 per cent is 300 sigma
    faint = gaussian(shape, 110.0, 110.0, 20 * NOISE, 4.0)  # 3 per cent is 0.6 sigma
    image = bright + faint + correlated_noise(shape, 4.0)
    result = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE, noise=NOISE)
    assert len(result.sources) == 2
    by_flux = result.sources[np.argsort(result.sources["flux"])]
    assert list(by_flux["reliable"]) == [True, False]
    distance_bright = np.hypot(*(np.indices(shape) - 50.0))
    distance_faint = np.hypot(*(np.indices(shape) - 110.0))
    assert result.unreliable[50, 50]
    # Flagged where 3 per cent of the model exceeds the noise, and nowhere else.
    expected = SUBTRACTION_ERROR * result.model > NOISE
    np.testing.assert_array_equal(result.unreliable, expected)
    assert result.unreliable[distance_bright < 5].all()
    assert not result.unreliable[distance_bright > 20].any()
    assert not result.unreliable[distance_faint < 10].any()
    # The error of a region follows the model's flux density inside it.
    region = distance_bright < 30
    error = result.residual_error(region)
    assert error.unit == u.Jy
    assert error.to_value(u.Jy) == pytest.approx(SUBTRACTION_ERROR * 1.0, rel=0.02)


def test_badly_fitted_sources_are_flagged():
    shape = (128, 128)
    image = gaussian(shape, 64.0, 64.0, 20 * NOISE, 4.0) + correlated_noise(shape, 4.0)
    strict = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE, noise=NOISE,
                                      max_residual=0.05)
    assert len(strict.sources) == 1 and not strict.sources["reliable"][0]
    assert strict.sources["fit_residual"][0] > 0.05
    assert strict.unreliable[64, 64] and strict.unreliable.sum() < 200
    lenient = subtract_compact_sources(image, wcs=sky_wcs(shape), beam=FINE, noise=NOISE)
    assert lenient.sources["reliable"][0] and not lenient.unreliable.any()
    np.testing.assert_array_equal(strict.model, lenient.model)  # subtracted all the same


def test_blank_pixels_and_units_are_kept():
    shape = (128, 128)
    image = (gaussian(shape, 64.0, 64.0, 0.01, 4.0) + correlated_noise(shape, 4.0)) * 1e3
    image[:, :10] = np.nan  # mJy/beam, with a blank edge
    plane = ImagePlane.from_array(image, wcs=sky_wcs(shape), beam=FINE, unit="mJy/beam")
    result = subtract_compact_sources(plane, noise=NOISE)
    assert result.subtracted.unit == u.mJy / u.beam and result.subtracted.scale == 1e-3
    assert result.subtracted.beam == FINE
    assert np.isnan(result.subtracted.data[:, :10]).all()
    assert not result.unreliable[:, :10].any()
    np.testing.assert_allclose(result.subtracted.data * 1e-3 + result.model, image * 1e-3,
                               atol=1e-7)
    assert result.sources["flux"][0].to_value(u.mJy) == pytest.approx(10.0, rel=0.03)


def test_noise_as_map_and_noise_map():
    shape = (128, 128)
    image = gaussian(shape, 64.0, 64.0, 0.01, 4.0) + correlated_noise(shape, 4.0)
    plane = ImagePlane.from_array(image, wcs=sky_wcs(shape), beam=FINE)
    as_number = subtract_compact_sources(plane, noise=NOISE * u.Jy / u.beam)
    as_map = subtract_compact_sources(plane, noise=np.full(shape, NOISE))
    estimated = subtract_compact_sources(plane, noise=NoiseMap.estimate(plane, box_size=32))
    for other in (as_map, estimated):
        assert len(other.sources) == len(as_number.sources) == 1
        assert other.sources["flux"][0].to_value(u.Jy) == pytest.approx(
            as_number.sources["flux"][0].to_value(u.Jy), rel=1e-3)


# from the full-resolution image to the measurement beam ---------------------------------

def fine_and_coarse(factor=3, coarse_shape=(80, 80)):
    """
    Sources at 6 arcsec on 1.5 arcsec pixels, and the same sources rendered directly at
    20 arcsec on pixels ``factor`` times larger whose centres fall on fine pixel centres.
    """
    fine_shape = tuple(factor * n + 2 for n in coarse_shape)
    # Fine pixel (0-based) of coarse pixel c is factor * c + 1.
    fine_wcs = sky_wcs(fine_shape, 1.5, crpix=[fine_shape[1] / 2 + 0.5, fine_shape[0] / 2 + 0.5])
    coarse_crpix = [(fine_wcs.wcs.crpix[i] - 2) / factor + 1 for i in (0, 1)]
    coarse_wcs = sky_wcs(coarse_shape, 1.5 * factor, crpix=coarse_crpix)
    sources = [(60.3, 70.8, 0.02, 0.0), (150.0, 120.5, 0.01, 3.0), (200.2, 60.0, 0.05, 1.5)]
    fine = sum(gaussian(fine_shape, y, x, s, 4.0, size) for y, x, s, size in sources)
    fine += 1e-8 * np.random.default_rng(0).normal(size=fine_shape)  # no exact zeros
    coarse = np.zeros(coarse_shape)
    for y, x, s, size in sources:
        coarse += gaussian(coarse_shape, (y - 1) / factor, (x - 1) / factor, s,
                           20 / 1.5 / factor, size / factor)
    return (ImagePlane.from_array(fine, wcs=fine_wcs, beam=FINE), coarse, coarse_wcs,
            sources)


def test_fine_to_coarse_matches_a_direct_coarse_render():
    fine, coarse, coarse_wcs, sources = fine_and_coarse()
    result = subtract_compact_sources(coarse, wcs=coarse_wcs, beam=COARSE, full_resolution=fine,
                                      noise=1e-5, full_resolution_noise=1e-5)
    assert len(result.sources) == 3
    assert result.model.shape == coarse.shape
    np.testing.assert_allclose(result.model, coarse, rtol=0, atol=0.005 * coarse.max())
    assert np.abs(result.subtracted.data).max() < 0.005 * coarse.max()
    order = np.argsort(result.sources["flux"])
    true = sorted(sources, key=lambda source: source[2])
    np.testing.assert_allclose(result.sources["x"][order], [(s[1] - 1) / 3 for s in true],
                               atol=0.02)
    np.testing.assert_allclose(result.sources["y"][order], [(s[0] - 1) / 3 for s in true],
                               atol=0.02)
    np.testing.assert_allclose(result.sources["flux"][order].to_value(u.Jy),
                               [s[2] for s in true], rtol=0.01)
    # Point sources keep their peak in Jy/beam at the coarse beam.
    point = result.sources[np.argmin(np.abs(result.sources["flux"] - 0.02 * u.Jy))]
    assert point["model_peak"].to_value(u.Jy / u.beam) == pytest.approx(0.02, rel=0.01)
    assert point["peak"].to_value(u.Jy / u.beam) == pytest.approx(0.02, rel=0.01)


def test_fine_to_coarse_on_the_same_grid():
    """Same pixels, coarser beam: the fine model convolved, no resampling."""
    fine, _, _, sources = fine_and_coarse()
    fine_shape = fine.shape
    coarse = sum(gaussian(fine_shape, y, x, s, 20 / 1.5, size) for y, x, s, size in sources)
    result = subtract_compact_sources(coarse, wcs=fine.wcs, beam=COARSE, full_resolution=fine,
                                      noise=1e-5, full_resolution_noise=1e-5)
    np.testing.assert_allclose(result.model, coarse, rtol=0, atol=0.005 * coarse.max())


def test_full_resolution_covering_part_of_the_image_warns():
    from astropy_radiounet.exceptions import BlankDataWarning

    fine, coarse, coarse_wcs, _ = fine_and_coarse()
    half = fine.cutout((50, fine.shape[0] / 2), (fine.shape[0], 100))  # columns 0-99
    with pytest.warns(BlankDataWarning, match="covers only part"):
        result = subtract_compact_sources(coarse, wcs=coarse_wcs, beam=COARSE,
                                          full_resolution=half, noise=1e-5,
                                          full_resolution_noise=1e-5)
    assert len(result.sources) == 2


# bad input ---------------------------------------------------------------------------------

def test_missing_wcs_or_beam():
    image = correlated_noise((64, 64), 4.0)
    with pytest.raises(ValueError, match="beam is missing.*beam="):
        subtract_compact_sources(image, wcs=sky_wcs((64, 64)))
    with pytest.raises(ValueError, match="WCS and beam are missing"):
        subtract_compact_sources(image)
    fine, coarse, coarse_wcs, _ = fine_and_coarse()
    with pytest.raises(ValueError, match="full_resolution's WCS and beam.*ImagePlane.from_array"):
        subtract_compact_sources(coarse, wcs=coarse_wcs, beam=COARSE,
                                 full_resolution=np.asarray(fine.data))


@pytest.mark.parametrize("change, match", [
    (dict(cdelt=4.0), "not an integer multiple.*reproject"),
    (dict(rotate=10.0), "not that of full_resolution.*reproject"),
    (dict(crval=[206.0, 55.0]), "not that of full_resolution|does not cover"),
    (dict(crval=[215.0, 55.0]), "does not cover"),
])
def test_mismatched_grids(change, match):
    fine, coarse, coarse_wcs, _ = fine_and_coarse()
    wcs = coarse_wcs.deepcopy()
    if "cdelt" in change:
        wcs.wcs.cdelt = [-change["cdelt"] / 3600, change["cdelt"] / 3600]
    if "rotate" in change:
        angle = np.radians(change["rotate"])
        wcs.wcs.pc = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    if "crval" in change:
        wcs.wcs.crval = change["crval"]
    with pytest.raises(ValueError, match=match):
        subtract_compact_sources(coarse, wcs=wcs, beam=COARSE, full_resolution=fine,
                                 noise=1e-5, full_resolution_noise=1e-5)


def test_full_resolution_beam_wider_than_the_image():
    fine, coarse, coarse_wcs, _ = fine_and_coarse()
    with pytest.raises(ValueError, match="wider than the image's.*finer resolution"):
        subtract_compact_sources(coarse, wcs=coarse_wcs, beam=Beam(5 * u.arcsec),
                                 full_resolution=fine, noise=1e-5)


def test_wrong_shapes_and_settings():
    shape = (64, 64)
    image = correlated_noise(shape, 4.0)
    kwargs = dict(wcs=sky_wcs(shape), beam=FINE)
    with pytest.raises(ValueError, match="noise map has shape"):
        subtract_compact_sources(image, noise=np.ones((32, 32)), **kwargs)
    with pytest.raises(ValueError, match="NoiseMap of an image of shape"):
        other = ImagePlane.from_array(np.random.default_rng(0).normal(size=(96, 96)))
        subtract_compact_sources(image, noise=NoiseMap.estimate(other), **kwargs)
    with pytest.raises(ValueError, match="full_resolution_noise.*not given"):
        subtract_compact_sources(image, full_resolution_noise=NOISE, **kwargs)
    with pytest.raises(ValueError, match="box_size.*at least 1.5 times"):
        subtract_compact_sources(image, box_size=6 * u.arcsec, **kwargs)
    with pytest.raises(TypeError, match="max_size must be an angle"):
        subtract_compact_sources(image, max_size=6, **kwargs)
    with pytest.raises(ValueError, match="snr must be a positive number"):
        subtract_compact_sources(image, snr=-1, **kwargs)
    with pytest.raises(ValueError, match="subtraction_error"):
        subtract_compact_sources(image, subtraction_error=np.nan, **kwargs)
    with pytest.raises(ValueError, match="noise must be a positive rms"):
        subtract_compact_sources(image, noise=0.0, **kwargs)
    with pytest.raises(ValueError, match="blank or constant"):
        subtract_compact_sources(np.full(shape, 1e-3), **kwargs)
    result = subtract_compact_sources(image, **kwargs)
    with pytest.raises(ValueError, match="mask has shape"):
        result.residual_error(np.ones((32, 32), bool))
    with pytest.raises(TypeError, match="boolean"):
        result.residual_error(np.ones(shape))


# the product -------------------------------------------------------------------------------

def test_write_round_trips_through_read_image(tmp_path):
    shape = (150, 170)
    data = lotss_like_image(shape, blank_edge=8, halo_at=(75, 85))
    header = lotss_header(shape)
    header["TELESCOP"] = "LOFAR"
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(data[np.newaxis, np.newaxis].astype(">f4"), header=header).writeto(path)
    result = subtract_compact_sources(path)
    assert len(result.sources) >= 1
    out = tmp_path / "field_compact_subtracted.fits"
    result.write(out)
    back = read_image(out)
    assert back.beam == read_image(path).beam
    assert back.unit == u.Jy / u.beam
    assert back.header["TELESCOP"] == "LOFAR"
    assert "compact sources subtracted" in str(back.header["HISTORY"])
    np.testing.assert_allclose(back.wcs.wcs.crval, result.subtracted.wcs.wcs.crval)
    np.testing.assert_allclose(back.wcs.wcs.cdelt, result.subtracted.wcs.wcs.cdelt)
    np.testing.assert_array_equal(np.isnan(back.data), np.isnan(data))
    np.testing.assert_array_equal(back.data, result.subtracted.data)
    with pytest.raises(OutputExistsError):
        result.write(out)
    result.write(out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field.fits",
                                                          "field_compact_subtracted.fits"]


def test_search_within_a_region_finds_what_the_whole_image_search_finds():
    """Restricted to a region, the search works on a crop around it; same components."""
    from astropy_radiounet.measure.compact import _find_components, _find_in, _finder

    shape = (400, 400)
    fwhm = 4.0
    rng = np.random.default_rng(7)
    image = correlated_noise(shape, fwhm, seed=3)
    for y, x in rng.uniform(20, 380, size=(150, 2)):
        image += gaussian(shape, y, x, rng.uniform(1e-3, 2e-2), fwhm, size=rng.uniform(0, 3))
    plane = ImagePlane.from_array(image.astype(np.float32), wcs=sky_wcs(shape), beam=FINE)
    finder = _finder(plane, snr=5.0, max_size=None, box_size=None, max_residual=3.0)
    values, valid = plane.read()
    allowed = np.zeros(shape, bool)
    allowed[150:260, 120:230] = True
    cropped = _find_components(values, valid, NOISE, finder, allowed=allowed)
    whole = _find_in(values, valid, NOISE, finder, allowed)
    assert len(cropped) >= 3
    assert len(cropped) == len(whole)
    # The same sources to the fits' tolerance (ftol, xtol 1e-4: the fits start
    # from coordinates of another origin): flux within 0.1 per cent, centre
    # within 0.01 pixel, intrinsic size within 0.05 pixel.
    for (params, rms), (expected, expected_rms) in zip(cropped, whole):
        assert params[0] == pytest.approx(expected[0], rel=1e-3)
        np.testing.assert_allclose(params[1:3], expected[1:3], atol=0.01)
        np.testing.assert_allclose(params[3:], expected[3:], atol=0.05)
        assert rms == pytest.approx(expected_rms, rel=0.05)
    assert _find_components(values, valid, NOISE, finder, allowed=np.zeros(shape, bool)) == []
