"""The local background around a region (astropy_radiounet.measure.local_background)."""

import astropy.units as u
import numpy as np
import pytest
from radio_beam import Beam
from scipy.ndimage import gaussian_filter

from astropy_radiounet.image import beam_area_pixels
from astropy_radiounet.measure import local_background, segment_flux
from astropy_radiounet.measure.background import LocalBackground

from helpers import sin_wcs

SHAPE = (256, 256)
BEAM = Beam(15 * u.arcsec)  # 5 pixels of 3 arcsec
NOISE = 1e-4


def _noise(rng):
    """Noise correlated over the beam, of rms NOISE."""
    field = gaussian_filter(rng.normal(size=SHAPE), 5 / np.sqrt(8 * np.log(2)))
    return field * NOISE / field.std()


def _region():
    mask = np.zeros(SHAPE, bool)
    mask[108:148, 108:148] = True
    return mask


def test_pedestal_is_recovered_within_its_error():
    """Over many noise fields the level scatters as its quoted error says."""
    wcs = sin_wcs(128.5)
    rng = np.random.default_rng(1)
    pedestal = 0.1 * NOISE
    levels, errors = [], []
    for _ in range(30):
        background = local_background(pedestal + _noise(rng), _region(), beam=BEAM, wcs=wcs)
        levels.append(background.level.to_value(u.Jy / u.beam))
        errors.append(background.error.to_value(u.Jy / u.beam))
    levels, errors = np.array(levels), np.array(errors)
    assert np.mean(levels) == pytest.approx(pedestal, abs=3 * np.std(levels) / np.sqrt(30))
    assert 0.5 < np.median(errors) / np.std(levels) < 2


def test_ring_leaves_out_the_region_its_surroundings_and_excluded_pixels():
    wcs = sin_wcs(128.5)
    region = _region()
    image = np.random.default_rng(2).normal(0, 1e-6, SHAPE)
    image[region] = 1.0  # bright inside the region
    grown = np.zeros(SHAPE, bool)
    grown[98:158, 98:158] = True
    image[grown & ~region] = 0.5  # its wings, within 2 beams (10 pixels)
    other = np.zeros(SHAPE, bool)
    other[10:60, 10:60] = True
    image[other] = 2.0  # another segment, excluded
    background = local_background(image, region, exclude=other, beam=BEAM, wcs=wcs)
    assert background.level.to_value(u.Jy / u.beam) == pytest.approx(0.0, abs=1e-7)
    # A ring close enough to hold the wings sees them.
    near = local_background(image, region, exclude=other, inner=0.0, width=1.0, beam=BEAM,
                            wcs=wcs)
    assert near.level.to_value(u.Jy / u.beam) == 0.5


def test_no_room_for_a_ring_gives_nan():
    wcs = sin_wcs(128.5)
    full = np.ones(SHAPE, bool)
    full[0, 0] = False
    image = np.random.default_rng(3).normal(0, 1e-6, SHAPE)
    background = local_background(image, full, beam=BEAM, wcs=wcs)
    assert not background.usable
    assert np.isnan(background.level) and np.isnan(background.error)


def test_segment_flux_subtracts_a_background():
    wcs = sin_wcs(128.5)
    region = _region()
    image = np.full(SHAPE, 2e-5)
    beams = region.sum() / beam_area_pixels(BEAM, wcs)
    background = LocalBackground(level=2e-5 * u.Jy / u.beam, error=1e-6 * u.Jy / u.beam,
                                 n_pixels=1000)
    result = segment_flux(image, region, beam=BEAM, wcs=wcs, noise=0.0, background=background)
    assert result.flux.to_value(u.Jy) == pytest.approx(0.0, abs=1e-12)
    assert result.flux_error.to_value(u.Jy) == pytest.approx(1e-6 * beams)
    assert result.background == 2e-5 * u.Jy / u.beam
    as_number = segment_flux(image, region, beam=BEAM, wcs=wcs, noise=0.0, background=1e-5)
    assert as_number.flux.to_value(u.Jy) == pytest.approx(1e-5 * beams)
    assert as_number.flux_error.to_value(u.Jy) == pytest.approx(0.1 * 1e-5 * beams)


@pytest.mark.parametrize(("call", "match"), [
    (lambda img, m, w: local_background(img, np.zeros(SHAPE, bool), beam=BEAM, wcs=w),
     "mask is empty"),
    (lambda img, m, w: local_background(img, m, inner=-1, beam=BEAM, wcs=w),
     "inner must be at least 0"),
    (lambda img, m, w: local_background(img, m, width=0, beam=BEAM, wcs=w),
     "width positive"),
    (lambda img, m, w: local_background(img, m, exclude=m[:10], beam=BEAM, wcs=w),
     "shape"),
    (lambda img, m, w: segment_flux(img, m, beam=BEAM, wcs=w, background=np.nan),
     "background must be a finite level"),
    (lambda img, m, w: segment_flux(img, m, beam=BEAM, wcs=w, background=1 * u.s),
     "background must be a finite level"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.random.default_rng(4).normal(0, 1e-6, SHAPE), _region(), sin_wcs(128.5))
