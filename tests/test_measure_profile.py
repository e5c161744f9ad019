"""The exponential halo profile: model image, fit, errors (measure/profile.py)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from radio_beam import Beam
from scipy.signal import fftconvolve

from astropy_radiounet.image import (ImagePlane, beam_area_pixels, beam_pixel_covariance,
                                     gaussian_kernel)
from astropy_radiounet.measure.profile import (FLUX_3RE_FACTOR, exponential_halo_image,
                                               fit_exponential_halo)

SHAPE = (128, 128)
PIXEL = 3.0  # arcsec
BEAM = Beam(15 * u.arcsec)  # 5 pixels FWHM, about 28 pixels per beam
R_E = 8.0  # pixels
SIGMA = 1e-4  # Jy/beam


def _wcs(pixel=PIXEL):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [150.0, 30.0]
    wcs.wcs.crpix = [SHAPE[1] / 2 + 1, SHAPE[0] / 2 + 1]
    wcs.wcs.cdelt = [-pixel / 3600, pixel / 3600]
    return wcs


def _correlated_noise(rng, covariance, sigma=SIGMA, shape=SHAPE):
    """Noise whose correlation function is the beam, as in an interferometric image:
    white noise smoothed by the Gaussian of half the beam's covariance, rescaled to sigma."""
    white = rng.standard_normal((shape[0] + 64, shape[1] + 64))
    smooth = fftconvolve(white, gaussian_kernel(covariance / 2), mode="same")[32:-32, 32:-32]
    return smooth * sigma / smooth.std()


def _i0_for_snr(snr, covariance, r_e=R_E):
    """I0 (Jy/beam) whose beam-convolved peak is snr * SIGMA."""
    peak = exponential_halo_image((65, 65), x0=32, y0=32, i0=1.0, r_e=r_e,
                                  beam_pixels=covariance).max()
    return snr * SIGMA / peak


def _circle(radius, centre=(64.0, 64.0)):
    y, x = np.mgrid[:SHAPE[0], :SHAPE[1]]
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < radius**2


def test_model_integrates_to_analytic_flux():
    total = 2 * np.pi * 1.0 * 10.0**2  # i0 = 1, r_e = 10 pixels
    bare = exponential_halo_image((401, 401), x0=200.3, y0=199.6, i0=1.0, r_e=10.0)
    assert abs(bare.sum() / total - 1) < 0.01
    convolved = exponential_halo_image((401, 401), x0=200.3, y0=199.6, i0=1.0, r_e=10.0,
                                       beam_pixels=7.0)
    assert abs(convolved.sum() / bare.sum() - 1) < 0.01
    assert convolved.max() < 0.8 * bare.max()  # the beam did smooth it
    # Within 3 r_e: the analytic fraction 1 - 4 exp(-3) = 0.80.
    y, x = np.mgrid[:401, :401]
    inside = (x - 200.3) ** 2 + (y - 199.6) ** 2 < 30.0**2
    assert abs(bare[inside].sum() / (total * FLUX_3RE_FACTOR) - 1) < 0.01
    # Elliptical: total 2 pi I0 r1 r2, major axis along theta.
    ellipse = exponential_halo_image((401, 401), x0=200, y0=200, i0=1.0, r_e=12.0,
                                     ellipticity=0.5, theta=np.pi / 2)
    assert abs(ellipse.sum() / (2 * np.pi * 12.0 * 6.0) - 1) < 0.01
    assert ellipse[260, 200] > ellipse[200, 260]  # longer along y


def test_model_convolution_keeps_edge_flux():
    """Emission just outside the grid is convolved into it (padding, not zeros)."""
    inside = exponential_halo_image((64, 64), x0=0, y0=32, i0=1.0, r_e=4.0, beam_pixels=8.0)
    big = exponential_halo_image((64, 128), x0=64, y0=32, i0=1.0, r_e=4.0, beam_pixels=8.0)
    np.testing.assert_allclose(inside, big[:, 64:], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_fit_recovers_circular_halo(seed):
    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    i0 = _i0_for_snr(10.0, covariance)  # r_e and I0 scatter 6-7% here, 10-13% at 6
    rng = np.random.default_rng(seed)
    truth = exponential_halo_image(SHAPE, x0=64.0, y0=63.0, i0=i0, r_e=R_E,
                                   beam_pixels=covariance)
    image = truth + _correlated_noise(rng, covariance)
    fit = fit_exponential_halo(image, _circle(4 * R_E), beam=BEAM, wcs=wcs, noise=SIGMA)
    assert fit.success
    assert abs(fit.r_e_pixels / R_E - 1) < 0.2
    assert abs(fit.i0_beam / i0 - 1) < 0.2
    assert fit.r_e.unit == u.arcsec
    assert abs(fit.r_e.to_value(u.arcsec) - fit.r_e_pixels * PIXEL) < 1e-6
    # I0 in uJy/arcsec^2 is I0 in Jy/beam over the beam area.
    expected = fit.i0_beam / BEAM.sr.to_value(u.arcsec**2) * 1e6
    assert fit.i0.unit == u.uJy / u.arcsec**2
    assert abs(fit.i0.value / expected - 1) < 1e-9
    # Flux within 3 r_e of the model, analytic, against the pixel sum of the model.
    bare = fit.model_image(convolved=False)
    x0, y0 = fit.centre_pixels
    y, x = np.mgrid[:SHAPE[0], :SHAPE[1]]
    inside = (x - x0) ** 2 + (y - y0) ** 2 < (3 * fit.r_e_pixels) ** 2
    pixel_sum = bare[inside].sum() / beam_area_pixels(BEAM, wcs) * 1e3  # mJy
    assert abs(fit.flux_3re.to_value(u.mJy) / pixel_sum - 1) < 0.02
    assert 0 < fit.flux_3re_err < fit.flux_3re
    assert fit.centre.separation(SkyCoord(*wcs.pixel_to_world_values(64.0, 63.0),
                                          unit="deg")) < 6 * u.arcsec
    assert 0.5 < fit.chi2 / fit.dof < 1.5
    residual = (image - fit.model_image())[_circle(4 * R_E)]
    assert abs(residual.std() / SIGMA - 1) < 0.2
    assert abs(residual.mean()) < 0.2 * SIGMA


def test_fit_error_coverage():
    """About 68% of fits lie within 1 sigma of the statistical errors (an exact
    exponential: no structure); errors off by a factor 3 would fail."""
    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    i0 = _i0_for_snr(6.0, covariance)
    truth = exponential_halo_image(SHAPE, x0=64.0, y0=64.0, i0=i0, r_e=R_E,
                                   beam_pixels=covariance)
    mask = _circle(4 * R_E)
    rng = np.random.default_rng(2024)
    r_e, r_e_err, i0_fit, i0_err = [], [], [], []
    for _ in range(40):
        fit = fit_exponential_halo(truth + _correlated_noise(rng, covariance), mask,
                                   beam=BEAM, wcs=wcs, noise=SIGMA, systematic_error=0.0)
        r_e.append(fit.r_e_pixels)
        r_e_err.append(fit.r_e_err_pixels)
        i0_fit.append(fit.i0_beam)
        i0_err.append(fit.i0_err.value * BEAM.sr.to_value(u.arcsec**2) * 1e-6)
    r_e, r_e_err = np.array(r_e), np.array(r_e_err)
    i0_fit, i0_err = np.array(i0_fit), np.array(i0_err)
    coverage_r = np.mean(np.abs(r_e - R_E) < r_e_err)
    coverage_i = np.mean(np.abs(i0_fit - i0) < i0_err)
    assert 0.5 <= coverage_r <= 0.9, coverage_r
    assert 0.5 <= coverage_i <= 0.9, coverage_i
    # The quoted errors match the scatter within a factor 2 (1.31 here; 1.01 over 200 fits).
    assert 0.5 < np.median(r_e_err) / r_e.std() < 2
    assert abs(np.mean(r_e) / R_E - 1) < 0.05


def test_fit_recovers_axis_ratio():
    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    i0 = _i0_for_snr(30.0, covariance, r_e=12.0)
    truth = exponential_halo_image(SHAPE, x0=62.0, y0=66.0, i0=i0, r_e=12.0,
                                   beam_pixels=covariance, ellipticity=0.4, theta=0.6)
    image = truth + _correlated_noise(np.random.default_rng(7), covariance)
    fit = fit_exponential_halo(image, _circle(50), beam=BEAM, wcs=wcs, noise=SIGMA,
                               elliptical=True)
    assert fit.success
    assert abs(fit.axis_ratio - 0.6) < 0.15
    assert abs(fit.r_e_pixels / 12.0 - 1) < 0.15
    assert abs(fit.theta - 0.6) < 0.2
    assert 0 < fit.axis_ratio_err < 0.15
    # Flux within 3 r_e: 2 pi I0 r1 r2 (1 - 4 e^-3).
    r1, r2 = fit.r_e.to_value(u.arcsec), fit.r_e.to_value(u.arcsec) * fit.axis_ratio
    expected = 2 * np.pi * fit.i0.to_value(u.mJy / u.arcsec**2) * r1 * r2 * FLUX_3RE_FACTOR
    assert abs(fit.flux_3re.to_value(u.mJy) / expected - 1) < 1e-9


def test_fit_image_plane_and_noise_map():
    """An ImagePlane gives WCS and beam (and its unit); a noise map works like a number."""
    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    i0 = _i0_for_snr(20.0, covariance)
    truth = exponential_halo_image(SHAPE, x0=64.0, y0=64.0, i0=i0, r_e=R_E,
                                   beam_pixels=covariance)
    image = truth + _correlated_noise(np.random.default_rng(3), covariance)
    image[60, 60] = np.nan  # blank pixels are left out
    plane = ImagePlane.from_array(image * 1e3, wcs=wcs, beam=BEAM, unit="mJy/beam")
    mask = _circle(4 * R_E)
    from_plane = fit_exponential_halo(plane, mask, noise=np.full(SHAPE, SIGMA))
    from_array = fit_exponential_halo(image, mask, beam=BEAM, wcs=wcs,
                                      noise=SIGMA * u.Jy / u.beam)
    assert abs(from_plane.r_e_pixels / R_E - 1) < 0.1
    np.testing.assert_allclose(from_plane.r_e_pixels, from_array.r_e_pixels, rtol=1e-5)
    np.testing.assert_allclose(from_plane.i0_beam, from_array.i0_beam, rtol=1e-5)
    assert from_plane.dof == mask.sum() - 1 - 4
    start = SkyCoord(*wcs.pixel_to_world_values(60.0, 68.0), unit="deg")
    centred = fit_exponential_halo(image, mask, beam=BEAM, wcs=wcs, noise=SIGMA, centre=start)
    np.testing.assert_allclose(centred.centre_pixels, from_array.centre_pixels, atol=0.05)


def test_bad_input():
    wcs = _wcs()
    image = np.zeros(SHAPE)
    mask = _circle(20)
    with pytest.raises(ValueError, match="No beam: pass beam=radio_beam.Beam"):
        fit_exponential_halo(image, mask, wcs=wcs, noise=SIGMA)
    with pytest.raises(ValueError, match="No WCS: pass wcs="):
        fit_exponential_halo(image, mask, beam=BEAM, noise=SIGMA)
    with pytest.raises(ValueError, match="No WCS"):
        fit_exponential_halo(ImagePlane.from_array(image, beam=BEAM), mask, noise=SIGMA)
    with pytest.raises(ValueError, match="Only 0 usable pixels in mask"):
        fit_exponential_halo(image, np.zeros(SHAPE, bool), beam=BEAM, wcs=wcs, noise=SIGMA)
    few = np.zeros(SHAPE, bool)
    few[0, :5] = True
    with pytest.raises(ValueError, match="Only 5 usable pixels .* 6 free parameters"):
        fit_exponential_halo(image, few, beam=BEAM, wcs=wcs, noise=SIGMA, elliptical=True)
    nan = np.full(SHAPE, np.nan)
    with pytest.raises(ValueError, match="Only 0 usable pixels"):
        fit_exponential_halo(nan, mask, beam=BEAM, wcs=wcs, noise=SIGMA)
    with pytest.raises(ValueError, match="boolean array of the image's shape"):
        fit_exponential_halo(image, mask[:10], beam=BEAM, wcs=wcs, noise=SIGMA)
    with pytest.raises(ValueError, match="mask is required"):
        fit_exponential_halo(image, None, beam=BEAM, wcs=wcs, noise=SIGMA)
    with pytest.raises(ValueError, match="noise must be a number or a map"):
        fit_exponential_halo(image, mask, beam=BEAM, wcs=wcs, noise=np.ones((3, 3)))
    with pytest.raises(TypeError, match="beam must be a radio_beam.Beam"):
        fit_exponential_halo(image, mask, beam=15.0, wcs=wcs, noise=SIGMA)
    with pytest.raises(ValueError, match="r_e must be a positive number"):
        exponential_halo_image(SHAPE, x0=0, y0=0, i0=1, r_e=0)
    with pytest.raises(ValueError, match="ellipticity must be in"):
        exponential_halo_image(SHAPE, x0=0, y0=0, i0=1, r_e=3, ellipticity=1.0)
    with pytest.raises(ValueError, match="beam_pixels must be a FWHM"):
        exponential_halo_image(SHAPE, x0=0, y0=0, i0=1, r_e=3, beam_pixels=[1, 2, 3])


def test_errors_grow_with_the_misfit():
    """A profile the exponential does not describe: the errors include the misfit."""
    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    y, x = np.indices(SHAPE)
    r2 = (x - 64.0) ** 2 + (y - 64.0) ** 2
    flat_top = 2e-3 * np.exp(-(r2 / (2 * 12.0**2)) ** 2)  # flatter than any exponential
    rng = np.random.default_rng(5)
    noise = _correlated_noise(rng, covariance)
    mask = _circle(40)
    statistical = {"systematic_error": 0.0}
    misfit = fit_exponential_halo(flat_top + noise, mask, beam=BEAM, wcs=wcs, noise=SIGMA,
                                  **statistical)
    reduced = misfit.chi2 / misfit.dof
    assert reduced > 2
    # The best-fitting exponential itself, with the same noise, is fitted with
    # the errors of the noise alone; the misfit's are larger.
    exact = fit_exponential_halo(misfit.model_image() + noise, mask, beam=BEAM, wcs=wcs,
                                 noise=SIGMA, **statistical)
    assert misfit.r_e_err_pixels > 1.5 * exact.r_e_err_pixels
    # The same fit with the noise raised so that chi2/dof is 1 has the same errors:
    # they are those of the residuals, whatever noise was quoted.
    scaled = fit_exponential_halo(flat_top + noise, mask, beam=BEAM, wcs=wcs,
                                  noise=SIGMA * np.sqrt(reduced), **statistical)
    assert misfit.r_e_err_pixels == pytest.approx(scaled.r_e_err_pixels, rel=0.02)
    assert misfit.r_e_pixels == pytest.approx(scaled.r_e_pixels, rel=1e-3)


def test_systematic_error_covers_turbulent_halos():
    """
    Halos with log-normal turbulent structure on the scale of 2 r_e, as
    simulated (``simulation.diffuse.halo``, circular and untruncated here):
    the fit absorbs part of it, so the statistical errors miss the truth far
    more often than 1 in 3 (at S/N 10); with the systematic error in
    quadrature (the default) they cover it at least as often as 1-sigma
    errors should.
    """
    from astropy_radiounet.measure.profile import SYSTEMATIC_ERROR
    from astropy_radiounet.simulation.diffuse import add_stamp, halo

    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    i0 = _i0_for_snr(10.0, covariance)
    mask = _circle(4 * R_E)
    rng = np.random.default_rng(7)
    misses, statistical, total = [], [], []
    flux = 2 * np.pi * i0 * R_E**2  # the stamp's unit: Jy/beam per pixel, as i0
    for _ in range(30):
        sky = np.zeros(SHAPE)
        add_stamp(sky, halo(rng, 64.0, 64.0, r_e=R_E, flux=flux, grid=SHAPE, truncation=8.0))
        image = (fftconvolve(sky, gaussian_kernel(covariance), mode="same")
                 + _correlated_noise(rng, covariance))
        fit = fit_exponential_halo(image, mask, beam=BEAM, wcs=wcs, noise=SIGMA)
        alone = fit_exponential_halo(image, mask, beam=BEAM, wcs=wcs, noise=SIGMA,
                                     systematic_error=0.0)
        assert fit.r_e_pixels == alone.r_e_pixels
        # The systematic error is added in quadrature, to r_e only.
        assert fit.r_e_err_pixels == pytest.approx(
            np.hypot(alone.r_e_err_pixels, SYSTEMATIC_ERROR * fit.r_e_pixels))
        assert fit.flux_3re_err == alone.flux_3re_err
        misses.append(abs(fit.r_e_pixels - R_E))
        statistical.append(alone.r_e_err_pixels)
        total.append(fit.r_e_err_pixels)
    misses = np.array(misses)
    alone, with_systematic = (np.mean(misses <= np.array(errors))
                              for errors in (statistical, total))
    assert alone <= 0.6  # 0.5 here
    assert with_systematic >= 0.65


@pytest.mark.parametrize("theta", [0.0, 0.7])
def test_model_derivatives_match_finite_differences(theta):
    """The fit's analytic Jacobian is the derivative of the convolved model."""
    from astropy_radiounet.measure.profile import _ConvolvedExponential

    kernel = gaussian_kernel(beam_pixel_covariance(BEAM, _wcs()))
    profile = _ConvolvedExponential((48, 40), kernel)
    params = np.array([20.3, 23.6, 2e-3, 7.0, 4.5, theta])
    analytic = profile.derivatives(*params)
    for k in range(6):
        step = np.zeros(6)
        step[k] = 1e-6 * max(abs(params[k]), 1.0)
        numeric = (profile.model(*(params + step))
                   - profile.model(*(params - step))) / (2 * step[k])
        scale = np.abs(numeric).max()
        assert np.abs(analytic[k] - numeric).max() < 1e-3 * scale, k


def test_circular_derivatives_match_finite_differences():
    """The circular fit's four derivatives: (x0, y0, i0) and r = r1 = r2 together."""
    from astropy_radiounet.measure.profile import _ConvolvedExponential

    kernel = gaussian_kernel(beam_pixel_covariance(BEAM, _wcs()))
    profile = _ConvolvedExponential((48, 40), kernel)
    x0, y0, i0, r = 20.3, 23.6, 2e-3, 6.0

    def model(p):
        return profile.model(p[0], p[1], p[2], p[3], p[3], 0.0)

    analytic = profile.derivatives(x0, y0, i0, r, r, 0.0, circular=True)
    assert analytic.shape == (4, 48, 40)
    params = np.array([x0, y0, i0, r])
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6 * max(abs(params[k]), 1.0)
        numeric = (model(params + step) - model(params - step)) / (2 * step[k])
        assert np.abs(analytic[k] - numeric).max() < 1e-3 * np.abs(numeric).max(), k


def test_fit_centre_stays_on_the_fitted_pixels():
    """A mask on one flank of a brighter source: the centre stays on the mask's box."""
    wcs = _wcs()
    covariance = beam_pixel_covariance(BEAM, wcs)
    halo = exponential_halo_image(SHAPE, x0=64, y0=64, i0=_i0_for_snr(50, covariance),
                                  r_e=R_E, beam_pixels=covariance)
    rng = np.random.default_rng(2)
    image = halo + _correlated_noise(rng, covariance)
    mask = np.zeros(SHAPE, bool)
    mask[70:110, 90:120] = True  # off the peak: the data rise towards (64, 64)
    fit = fit_exponential_halo(image, mask, beam=BEAM, wcs=wcs, noise=SIGMA)
    x0, y0 = fit.centre_pixels
    assert 89.5 <= x0 <= 119.5
    assert 69.5 <= y0 <= 109.5
