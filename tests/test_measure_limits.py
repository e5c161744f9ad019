"""Upper limits from injected mock halos (astropy_radiounet.measure.limits)."""

import astropy.units as u
import numpy as np
import pytest
from radio_beam import Beam
from scipy.ndimage import gaussian_filter

from astropy_radiounet.clusters import DetectionRatio
from astropy_radiounet.image import ImagePlane, beam_area_pixels, beam_pixel_covariance
from astropy_radiounet.measure import (HALO_RE_PER_R500, exponential_halo_image,
                                       halo_e_folding_radius, upper_limit)

from helpers import sin_wcs

SHAPE = (160, 160)
NOISE = 1e-4
BEAM = Beam(15 * u.arcsec)
RADIUS = 3 * u.arcmin
R_E = 30 * u.arcsec
THRESHOLD = 0.05


def _wcs():
    return sin_wcs(80.5)


def _noise_image(seed):
    """Noise with the beam's correlation and an rms of NOISE."""
    rng = np.random.default_rng(seed)
    fwhm = 5.0  # 15 arcsec in 3 arcsec pixels
    noise = gaussian_filter(rng.normal(size=SHAPE), fwhm / 2.3548 / np.sqrt(2))
    return NOISE * noise / noise.std()


class SmoothedThreshold:
    """A segmenter: smooth by two beams, call diffuse what is above 2.5 sigma."""

    card = None

    def predict_probability(self, plane):
        values, valid = plane.read()
        smoothed = gaussian_filter(values, 6.0)
        sigma = np.std(gaussian_filter(_noise_image(99), 6.0))
        return np.where(valid, smoothed > 2.5 * sigma, np.nan).astype(np.float32)


def _detected(segmenter, image, flux, x, y, wcs):
    """Whether a halo of ``flux`` (Jy) at (x, y) is detected: the public route."""
    r_e = (R_E / (3 * u.arcsec)).decompose().value
    beam_pixels = beam_area_pixels(BEAM, wcs)
    i0 = flux * beam_pixels / (2 * np.pi * r_e**2)
    halo = exponential_halo_image(SHAPE, x0=x, y0=y, i0=i0, r_e=r_e,
                                  beam_pixels=beam_pixel_covariance(BEAM, wcs))
    plane = ImagePlane.from_array(image + halo, wcs=wcs, beam=BEAM)
    probability = segmenter.predict_probability(plane)
    centre = wcs.pixel_to_world(79.5, 79.5)
    return DetectionRatio(probability, centre, RADIUS, wcs=wcs).ratio[0] > THRESHOLD


def test_halo_e_folding_radius():
    assert halo_e_folding_radius(1 * u.Mpc).to_value(u.kpc) == pytest.approx(
        1000 * HALO_RE_PER_R500)
    with pytest.raises(TypeError, match="length Quantity"):
        halo_e_folding_radius(1000)


def test_limit_is_where_half_are_detected():
    """Halos at twice the limit are found (>= 90%), at half of it rarely (<= 20%)."""
    wcs = _wcs()
    segmenter = SmoothedThreshold()
    image = _noise_image(1)
    centre = wcs.pixel_to_world(79.5, 79.5)
    limit = upper_limit(segmenter, image, centre, radius=RADIUS, r_e=R_E,
                        ratio_threshold=THRESHOLD, wcs=wcs, beam=BEAM, seed=2)
    assert limit.bracketed
    assert len(limit.trials) == 10
    assert limit.flux_low < limit.flux < limit.flux_high
    assert limit.r_e.to_value(u.arcsec) == pytest.approx(30.0)
    rng = np.random.default_rng(3)
    outcomes = {}
    for factor in (2.0, 0.5):
        flux = factor * limit.flux.to_value(u.Jy)
        hits = [_detected(segmenter, _noise_image(10 + k), flux,
                          79.5 + rng.normal(0, 3), 79.5 + rng.normal(0, 3), wcs)
                for k in range(10)]
        outcomes[factor] = np.mean(hits)
    assert outcomes[2.0] >= 0.9
    assert outcomes[0.5] <= 0.2


def test_limit_trials_and_power():
    """The trials are recorded; a redshift gives a power, none gives NaN."""
    wcs = _wcs()
    centre = wcs.pixel_to_world(79.5, 79.5)
    keywords = dict(radius=RADIUS, r_e=R_E, ratio_threshold=THRESHOLD, wcs=wcs, beam=BEAM,
                    seed=4, n_segmentations=6)
    with_z = upper_limit(SmoothedThreshold(), _noise_image(5), centre, redshift=0.2,
                         **keywords)
    without = upper_limit(SmoothedThreshold(), _noise_image(5), centre, **keywords)
    assert len(with_z.trials) == 6
    assert set(with_z.trials.colnames) == {"flux", "i0", "x", "y", "ratio", "detected"}
    assert with_z.power_150.unit == u.W / u.Hz and np.isfinite(with_z.power_150)
    assert np.isnan(without.power_150)
    assert with_z.flux == without.flux  # the same seed, the same trials
    # The mock halos are put near the centre: within r_e (10 pixels).
    offsets = np.hypot(with_z.trials["x"] - 79.5, with_z.trials["y"] - 79.5)
    assert offsets.max() <= 10.0 + 1e-9


def test_limit_avoids_bright_sources():
    """A bright source at the centre: the mock halos are placed off it."""
    wcs = _wcs()
    image = _noise_image(6)
    image[78:82, 78:82] += 0.05
    centre = wcs.pixel_to_world(79.5, 79.5)
    limit = upper_limit(SmoothedThreshold(), image, centre, radius=RADIUS, r_e=R_E,
                        ratio_threshold=THRESHOLD, wcs=wcs, beam=BEAM, seed=7,
                        n_segmentations=4)
    offsets = np.hypot(limit.trials["x"] - 79.5, limit.trials["y"] - 79.5)
    assert offsets.min() > 2.0


def test_never_detected_is_not_bracketed():
    class Never:
        card = None

        def predict_probability(self, plane):
            return np.zeros(plane.shape, dtype=np.float32)

    wcs = _wcs()
    limit = upper_limit(Never(), _noise_image(8), wcs.pixel_to_world(79.5, 79.5),
                        radius=RADIUS, r_e=R_E, ratio_threshold=THRESHOLD, wcs=wcs,
                        beam=BEAM, n_segmentations=4)
    assert not limit.bracketed
    assert np.isnan(limit.flux) and np.isnan(limit.flux_high)
    # Every trial doubled the flux of the one before.
    flux = np.asarray(limit.trials["flux"])
    np.testing.assert_allclose(flux[1:] / flux[:-1], 2.0)
    assert limit.flux_low.to_value(u.mJy) == pytest.approx(flux[-1])


@pytest.mark.parametrize("keywords, error, match", [
    (dict(ratio_threshold=None), ValueError, "detection-ratio threshold"),
    (dict(ratio_threshold=1.5), ValueError, "detection-ratio threshold"),
    (dict(n_segmentations=1), ValueError, "at least 2"),
    (dict(r_e=10), TypeError, "r_e must be an angle"),
    (dict(radius=-1 * u.arcmin), ValueError, "radius must be a finite, positive angle"),
    (dict(beam=None), ValueError, "WCS and beam"),
])
def test_bad_input(keywords, error, match):
    wcs = _wcs()
    arguments = dict(radius=RADIUS, r_e=R_E, ratio_threshold=THRESHOLD, wcs=wcs, beam=BEAM)
    arguments.update(keywords)
    with pytest.raises(error, match=match):
        upper_limit(SmoothedThreshold(), _noise_image(1), wcs.pixel_to_world(79.5, 79.5),
                    **arguments)


def test_not_a_segmenter():
    wcs = _wcs()
    with pytest.raises(TypeError, match="predict_probability"):
        upper_limit(object(), _noise_image(1), wcs.pixel_to_world(79.5, 79.5), radius=RADIUS,
                    r_e=R_E, ratio_threshold=THRESHOLD, wcs=wcs, beam=BEAM)


def test_blank_image():
    wcs = _wcs()
    with pytest.raises(ValueError, match="noise of the image"):
        upper_limit(SmoothedThreshold(), np.full(SHAPE, np.nan), wcs.pixel_to_world(79.5, 79.5),
                    radius=RADIUS, r_e=R_E, ratio_threshold=THRESHOLD, wcs=wcs, beam=BEAM)
