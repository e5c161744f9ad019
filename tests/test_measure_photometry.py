"""Photometry of segments: radio power, sizes, flux densities and their errors."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import Planck18, WMAP9
from astropy.wcs import WCS
from photutils.segmentation import SegmentationImage
from radio_beam import Beam
from scipy.ndimage import gaussian_filter

from astropy_radiounet.clusters import angular_radius
from astropy_radiounet.image import read_image
from astropy_radiounet.measure import (largest_angular_size, linear_size, measure_segments,
                                       radio_power, segment_flux)

PIXEL = 1.5 * u.arcsec
BEAM = Beam(6 * u.arcsec)
BEAM_SIGMA_PIXELS = 4 / np.sqrt(8 * np.log(2))  # 6 arcsec FWHM on 1.5 arcsec pixels


def sky_wcs(shape=(64, 64)):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [205.0, 55.0]
    wcs.wcs.crpix = [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    wcs.wcs.cdelt = [-PIXEL.to_value(u.deg), PIXEL.to_value(u.deg)]
    return wcs


def gaussian_source(shape, y0, x0, peak):
    """A source with the beam's shape: its flux density in Jy is its peak in Jy/beam."""
    y, x = np.indices(shape)
    return peak * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * BEAM_SIGMA_PIXELS**2))


# radio_power ------------------------------------------------------------------------------

def test_radio_power_by_hand():
    flux, z, alpha = 50 * u.mJy, 0.1, -1.3
    distance = Planck18.luminosity_distance(z)
    expected = (4 * np.pi * distance**2 * flux * (1 + z) ** (-alpha - 1)
                * (150 / 144) ** alpha).to(u.W / u.Hz)
    power = radio_power(flux, z)
    assert power.unit == u.W / u.Hz
    assert u.allclose(power, expected, rtol=1e-10)
    # For a steep spectrum the rest frame adds power: (1.1)^0.3 > 1.
    no_k = (4 * np.pi * distance**2 * flux * (150 / 144) ** alpha).to(u.W / u.Hz)
    assert power > no_k
    # Another cosmology is honoured.
    assert not u.allclose(radio_power(flux, z, cosmology=WMAP9), power, rtol=1e-3)


def test_radio_power_frequency_direction():
    """S falls with frequency for alpha < 0: less power at 150 MHz than at 144 MHz."""
    at_150 = radio_power(1 * u.Jy, 0.2)
    at_144 = radio_power(1 * u.Jy, 0.2, reference_frequency=144 * u.MHz)
    assert at_150 < at_144
    assert float(at_150 / at_144) == pytest.approx((150 / 144) ** -1.3)
    # A flat spectrum needs no frequency correction.
    assert float(radio_power(1 * u.Jy, 0.2, alpha=0.0)
                 / radio_power(1 * u.Jy, 0.2, alpha=0.0,
                               reference_frequency=144 * u.MHz)) == pytest.approx(1.0)


def test_radio_power_unusable_redshift_is_nan_without_warning():
    redshifts = np.array([0.1, 0.0, -0.5, np.nan, np.inf, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        power = radio_power(np.full(6, 10.0) * u.mJy, redshifts)
        scalar = radio_power(10 * u.mJy, -1)
    assert power.shape == (6,)
    assert np.isfinite(power[[0, 5]]).all()
    assert np.isnan(power[1:5]).all()
    assert np.isnan(scalar) and scalar.unit == u.W / u.Hz
    assert u.allclose(power[0], radio_power(10 * u.mJy, 0.1))


def test_radio_power_needs_a_flux_density():
    with pytest.raises(TypeError, match="flux"):
        radio_power(1 * u.Jy / u.beam, 0.1)
    with pytest.raises(TypeError, match="flux"):
        radio_power(1.0, 0.1)


# sizes ------------------------------------------------------------------------------------

def test_largest_angular_size_of_a_rectangle_is_its_diagonal():
    mask = np.zeros((40, 40), bool)
    mask[10:14, 3:10] = True  # 4 by 7 pixels, measured on pixel corners
    size = largest_angular_size(mask, sky_wcs((40, 40)))
    assert size.unit == u.arcsec
    assert size.to_value(u.arcsec) == pytest.approx(np.hypot(4, 7) * 1.5, rel=1e-4)
    # Holes and concavities do not change it.
    mask[11:13, 4:9] = False
    assert largest_angular_size(mask, sky_wcs((40, 40))).to_value(u.arcsec) == pytest.approx(
        np.hypot(4, 7) * 1.5, rel=1e-4)


def test_largest_angular_size_single_pixel_and_empty():
    mask = np.zeros((20, 20), bool)
    assert np.isnan(largest_angular_size(mask, sky_wcs((20, 20))))
    mask[5, 7] = True
    assert largest_angular_size(mask, sky_wcs((20, 20))).to_value(u.arcsec) == pytest.approx(
        np.sqrt(2) * 1.5, rel=1e-4)


def test_linear_size():
    angle = [1, 2, 3] * u.arcmin
    size = linear_size(angle, [0.1, 0.0, np.nan])
    assert size.unit == u.kpc
    assert u.allclose(size[0], 1 * u.arcmin * Planck18.kpc_proper_per_arcmin(0.1))
    assert np.isnan(size[1:]).all()
    # The inverse of clusters.angular_radius.
    assert u.allclose(linear_size(angular_radius(800 * u.kpc, 0.25), 0.25), 800 * u.kpc)


# segment_flux -----------------------------------------------------------------------------

def test_segment_flux_of_a_gaussian_source():
    shape = (64, 64)
    image = gaussian_source(shape, 31.3, 30.7, 0.05)
    mask = image > 1e-5 * 0.05
    result = segment_flux(image, mask, beam=BEAM, wcs=sky_wcs(shape), noise=0.0)
    assert result.flux.unit == u.Jy
    assert result.flux.to_value(u.Jy) == pytest.approx(0.05, rel=0.01)
    assert result.flux_error.to_value(u.Jy) == pytest.approx(0.1 * 0.05, rel=0.01)
    assert not result.touches_edge and not result.blank
    assert result.surface_brightness.unit == u.Jy / u.beam
    area = result.n_pixels * PIXEL**2
    assert u.allclose(result.surface_brightness_sky, result.flux / area)


def test_segment_flux_error_and_scatter_match_the_noise():
    shape, sigma, n_realisations = (48, 48), 1e-3, 200
    wcs = sky_wcs(shape)
    mask = np.zeros(shape, bool)
    mask[9:39, 9:39] = True
    rng = np.random.default_rng(1)
    # Noise correlated like the beam: white noise through a kernel whose
    # autocorrelation is the beam.
    white = rng.normal(size=(n_realisations, *shape))
    noise = gaussian_filter(white, (0, BEAM_SIGMA_PIXELS / np.sqrt(2),
                                    BEAM_SIGMA_PIXELS / np.sqrt(2)))
    noise *= sigma / noise.std()
    source = gaussian_source(shape, 24, 24, 0.02)
    fluxes = []
    for realisation in noise:
        result = segment_flux(source + realisation, mask, beam=BEAM, wcs=wcs, noise=sigma)
        fluxes.append(result.flux.to_value(u.Jy))
    n_beams = mask.sum() / float(BEAM.sr / PIXEL**2)
    assert result.n_beams == pytest.approx(n_beams)
    noise_term = sigma * np.sqrt(n_beams)
    assert result.noise_error.to_value(u.Jy) == pytest.approx(noise_term)
    assert result.flux_error.to_value(u.Jy) == pytest.approx(
        np.hypot(0.1 * result.flux.to_value(u.Jy), noise_term))
    assert np.std(fluxes) == pytest.approx(noise_term, rel=0.2)
    assert np.mean(fluxes) == pytest.approx(0.02, abs=3 * noise_term / np.sqrt(n_realisations))
    # Without a noise level, it is estimated outside the mask.
    estimated = segment_flux(source + noise[0], mask, beam=BEAM, wcs=wcs)
    assert estimated.noise.to_value(u.Jy / u.beam) == pytest.approx(sigma, rel=0.2)
    # A noise map gives its rms over the segment.
    mapped = segment_flux(source + noise[0], mask, beam=BEAM, wcs=wcs,
                          noise=np.full(shape, 2 * sigma))
    assert mapped.noise.to_value(u.Jy / u.beam) == pytest.approx(2 * sigma)


def test_segment_flux_flags_edge_and_blank():
    shape = (32, 32)
    image = gaussian_source(shape, 16, 16, 0.01)
    image[16, 16] = np.nan
    mask = np.zeros(shape, bool)
    mask[12:21, 12:21] = True
    result = segment_flux(image, mask, beam=BEAM, wcs=sky_wcs(shape), noise=1e-4)
    assert result.blank and result.n_blank == 1 and result.n_pixels == 80
    assert np.isfinite(result.flux)
    assert not result.touches_edge
    mask[12:21, 0:21] = True
    assert segment_flux(image, mask, beam=BEAM, wcs=sky_wcs(shape), noise=1e-4).touches_edge


def test_segment_flux_needs_beam_and_wcs():
    image = np.ones((16, 16))
    with pytest.raises(ValueError, match="beam"):
        segment_flux(image, image == 1, wcs=sky_wcs((16, 16)), noise=1.0)
    with pytest.raises(TypeError, match="boolean"):
        segment_flux(image, np.ones((16, 16), int), beam=BEAM, wcs=sky_wcs((16, 16)))


# measure_segments -------------------------------------------------------------------------

@pytest.fixture
def two_segments():
    shape = (64, 64)
    image = gaussian_source(shape, 20, 20, 0.03) + gaussian_source(shape, 45, 60, 0.01)
    image[44, 61] = np.nan
    labels = np.zeros(shape, int)
    labels[8:33, 8:33] = 1
    labels[33:58, 48:64] = 2  # touches the right edge and covers the NaN pixel
    return image, SegmentationImage(labels)


def test_measure_segments_without_redshift(two_segments):
    image, segm = two_segments
    wcs = sky_wcs(image.shape)
    table = measure_segments(image, segm, wcs=wcs, beam=BEAM, noise=1e-4)
    assert list(table["label"]) == [1, 2]
    assert table["flux"][0].to_value(u.Jy) == pytest.approx(0.03, rel=0.01)
    assert [str(flags) for flags in table["flags"]] == ["no_redshift", "edge,blank,no_redshift"]
    assert np.isnan(table["power_150"]).all() and np.isnan(table["largest_linear_size"]).all()
    assert np.isfinite(table["largest_angular_size"]).all()
    assert table["largest_angular_size"][0].to_value(u.arcsec) == pytest.approx(
        np.hypot(25, 25) * 1.5, rel=1e-4)
    for name, unit in [("flux", u.Jy), ("flux_err", u.Jy), ("surface_brightness", u.Jy / u.beam),
                       ("n_beams", u.one), ("largest_angular_size", u.arcsec),
                       ("largest_linear_size", u.kpc), ("power_150", u.W / u.Hz),
                       ("power_150_err", u.W / u.Hz)]:
        assert table[name].unit == unit, name
    # Each row is what segment_flux measures for its mask.
    one = segment_flux(image, segm.data == 2, beam=BEAM, wcs=wcs, noise=1e-4)
    assert u.allclose(table["flux"][1], one.flux) and u.allclose(table["flux_err"][1],
                                                                 one.flux_error)
    assert table["area"][1] == one.n_pixels * u.pix**2
    # An integer label array and an ImagePlane carrying WCS and beam give the same table.
    plane = read_image(image, wcs=wcs, beam=BEAM)
    again = measure_segments(plane, segm.data, noise=1e-4)
    assert u.allclose(again["flux"], table["flux"])


def test_measure_segments_with_redshift(two_segments):
    image, segm = two_segments
    wcs = sky_wcs(image.shape)
    table = measure_segments(image, segm, wcs=wcs, beam=BEAM, noise=1e-4, redshift=0.1)
    assert [str(flags) for flags in table["flags"]] == ["", "edge,blank"]
    assert u.allclose(table["power_150"], radio_power(table["flux"], 0.1))
    assert u.allclose(table["power_150_err"], radio_power(table["flux_err"], 0.1))
    assert u.allclose(table["largest_linear_size"],
                      linear_size(table["largest_angular_size"], 0.1))
    # One redshift per segment; the one without a usable redshift is flagged.
    table = measure_segments(image, segm, wcs=wcs, beam=BEAM, noise=1e-4,
                             redshift=[0.2, -1])
    assert [str(flags) for flags in table["flags"]] == ["", "edge,blank,no_redshift"]
    assert np.isfinite(table["power_150"][0]) and np.isnan(table["power_150"][1])
    with pytest.raises(ValueError, match="one per segment"):
        measure_segments(image, segm, wcs=wcs, beam=BEAM, noise=1e-4, redshift=[0.1] * 3)


def test_measure_segments_estimates_noise_outside_segments(two_segments):
    image, segm = two_segments
    rng = np.random.default_rng(3)
    noisy = image + rng.normal(0, 1e-3, image.shape)
    table = measure_segments(noisy, segm, wcs=sky_wcs(image.shape), beam=BEAM)
    assert table["noise"].to_value(u.Jy / u.beam) == pytest.approx([1e-3, 1e-3], rel=0.15)


def test_flux_agrees_with_candidate_catalog(two_segments):
    """One flux definition: survey.candidate_catalog measures the same flux density."""
    from astropy_radiounet.survey.search import candidate_catalog

    image, segm = two_segments
    wcs = sky_wcs(image.shape)
    ours = measure_segments(image, segm, wcs=wcs, beam=BEAM, noise=1e-4)
    theirs = candidate_catalog(image, np.ones(image.shape), segm, wcs=wcs, beam=BEAM)
    assert u.allclose(ours["flux"], theirs["flux"])
    assert u.allclose(ours["surface_brightness"], theirs["surface_brightness"])
