"""The diffuse emission of one cluster (astropy_radiounet.measure.measure_cluster)."""

import astropy.units as u
import numpy as np
import pytest
from radio_beam import Beam

from astropy_radiounet.clusters import angular_radius
from astropy_radiounet.measure import (CLUSTER_COLUMNS, exponential_halo_image,
                                       local_background, measure_cluster, radio_power,
                                       segment_flux)

from helpers import sin_wcs

SHAPE = (192, 192)
BEAM = Beam(15 * u.arcsec)
NOISE = 1e-4


def _wcs():
    return sin_wcs(96.5)


def _halo_field(seed=0):
    """A halo at the centre, a relic-like blob near the edge of the aperture, noise."""
    rng = np.random.default_rng(seed)
    halo = exponential_halo_image(SHAPE, x0=95.5, y0=95.5, i0=2e-3, r_e=8.0, beam_pixels=5.0)
    relic = exponential_halo_image(SHAPE, x0=150.0, y0=95.5, i0=3e-3, r_e=3.0,
                                   beam_pixels=5.0)
    far = exponential_halo_image(SHAPE, x0=20.0, y0=20.0, i0=3e-3, r_e=3.0, beam_pixels=5.0)
    image = halo + relic + far + rng.normal(0, NOISE, SHAPE)
    labels = np.zeros(SHAPE, dtype=np.int32)
    labels[(halo > 3 * NOISE)] = 1
    labels[(relic > 3 * NOISE) & (labels == 0)] = 2
    labels[(far > 3 * NOISE)] = 3
    return image, labels


def test_segments_overlapping_the_aperture_are_measured():
    wcs = _wcs()
    image, labels = _halo_field()
    centre = wcs.pixel_to_world(95.5, 95.5)
    result = measure_cluster(image, labels, centre, radius=3 * u.arcmin, redshift=0.1,
                             r500=1 * u.Mpc, noise=NOISE, wcs=wcs, beam=BEAM)
    assert result.n_segments == 2  # the halo and the relic, not the far source
    region = np.isin(labels, [1, 2])
    np.testing.assert_array_equal(result.region, region)
    background = local_background(image, region, exclude=labels > 0, beam=BEAM, wcs=wcs)
    assert result.background.to_value(u.Jy / u.beam) == pytest.approx(
        background.level.to_value(u.Jy / u.beam))
    expected = segment_flux(image, region, beam=BEAM, wcs=wcs, noise=NOISE,
                            background=background)
    assert result.flux.to_value(u.Jy) == pytest.approx(expected.flux.to_value(u.Jy))
    assert result.flux_err.to_value(u.Jy) == pytest.approx(expected.flux_error.to_value(u.Jy))
    assert result.power_150.to_value(u.W / u.Hz) == pytest.approx(
        radio_power(expected.flux, 0.1).to_value(u.W / u.Hz))
    assert result.compact_flux == 0 * u.mJy
    assert result.flags == ()
    # The fit finds the halo's e-folding radius (8 pixels of 3 arcsec).
    assert result.profile.r_e.to_value(u.arcsec) == pytest.approx(24.0, rel=0.15)
    # The relic pulls the brightness-weighted centroid off the centre.
    r500_pixels = (angular_radius(1 * u.Mpc, 0.1) / (3 * u.arcsec)).decompose().value
    assert 0 < result.offset_r500 < 55 / r500_pixels


@pytest.mark.parametrize("noise", ["number", "map"])
def test_measurement_does_not_depend_on_the_image_around_it(noise):
    """
    The measurement works on the box of the region and its background ring:
    the same cluster in an image with 64 blank pixels more on every side
    (beyond the ring) gives the same numbers.
    """
    wcs = _wcs()
    image, labels = _halo_field(seed=2)
    pad = 64
    larger = np.pad(image, pad, constant_values=np.nan)
    larger_labels = np.pad(labels, pad)
    larger_wcs = sin_wcs(96.5 + pad)
    centre = wcs.pixel_to_world(95.5, 95.5)
    keywords = dict(radius=3 * u.arcmin, redshift=0.1, r500=1 * u.Mpc, beam=BEAM)

    def noise_of(shape):
        return NOISE if noise == "number" else np.full(shape, NOISE)

    small = measure_cluster(image, labels, centre, wcs=wcs, noise=noise_of(SHAPE), **keywords)
    large = measure_cluster(larger, larger_labels, centre, wcs=larger_wcs,
                            noise=noise_of(larger.shape), **keywords)
    np.testing.assert_array_equal(large.region[pad:-pad, pad:-pad], small.region)
    assert large.region.sum() == small.region.sum()
    for name in ("flux", "flux_err", "background", "las", "offset_r500", "power_150"):
        assert large.to_row()[name] == pytest.approx(small.to_row()[name], rel=1e-6), name
    assert large.flags == small.flags == ()
    # The fit bins the box by 2 pixels from its corner, which the padding may shift.
    assert large.profile.r_e.to_value(u.arcsec) == pytest.approx(
        small.profile.r_e.to_value(u.arcsec), rel=0.05)
    assert large.profile.centre.separation(small.profile.centre) < 3 * u.arcsec


def test_local_background_is_subtracted():
    """A pedestal under the field: measured around the region and taken off its flux."""
    wcs = _wcs()
    image, labels = _halo_field(seed=4)
    centre = wcs.pixel_to_world(95.5, 95.5)
    keywords = dict(radius=3 * u.arcmin, noise=NOISE, wcs=wcs, beam=BEAM, fit_profile=False,
                    flux_scale_error=0.0)
    pedestal = 0.2 * NOISE
    local = measure_cluster(image, labels, centre, **keywords)
    raised = measure_cluster(image + pedestal, labels, centre, **keywords)
    assert (raised.background - local.background).to_value(u.Jy / u.beam) == pytest.approx(
        pedestal)
    assert raised.flux.to_value(u.mJy) == pytest.approx(local.flux.to_value(u.mJy))
    flat = measure_cluster(image, labels, centre, background=None, **keywords)
    not_subtracted = measure_cluster(image + pedestal, labels, centre, background=None,
                                     **keywords)
    beams = raised.region.sum() / (BEAM.sr / (3 * u.arcsec) ** 2).decompose().value
    assert (not_subtracted.flux - flat.flux).to_value(u.Jy) == pytest.approx(pedestal * beams)
    # The level's error adds to the noise's.
    assert local.flux_err > 1.01 * flat.flux_err
    # A level given as a number is subtracted as given.
    given = measure_cluster(image + pedestal, labels, centre, background=pedestal, **keywords)
    assert given.flux.to_value(u.mJy) == pytest.approx(flat.flux.to_value(u.mJy))
    with pytest.raises(ValueError, match="background must be 'local'"):
        measure_cluster(image, labels, centre, background="annulus", **keywords)


def test_region_without_room_for_a_ring_is_flagged():
    wcs = _wcs()
    image, _ = _halo_field()
    labels = np.ones(SHAPE, dtype=np.int32)  # one segment over the whole cutout
    result = measure_cluster(image, labels, wcs.pixel_to_world(95.5, 95.5),
                             radius=3 * u.arcmin, noise=NOISE, wcs=wcs, beam=BEAM,
                             fit_profile=False)
    assert "no_background" in result.flags
    assert result.background == 0 * u.uJy / u.beam


def test_row_has_every_column_with_units():
    wcs = _wcs()
    image, labels = _halo_field()
    result = measure_cluster(image, labels, wcs.pixel_to_world(95.5, 95.5),
                             radius=3 * u.arcmin, redshift=0.1, noise=NOISE, wcs=wcs,
                             beam=BEAM)
    row = result.to_row()
    assert set(row) == set(CLUSTER_COLUMNS)
    assert row["flux"] == pytest.approx(result.flux.to_value(u.mJy))
    assert row["halo_r_e"] > 0 and row["lls"] > 0
    assert np.isnan(row["offset_r500"])  # no R500 given


def test_no_segment_in_the_aperture():
    wcs = _wcs()
    image, labels = _halo_field()
    labels[labels != 3] = 0  # only the far source
    result = measure_cluster(image, labels, wcs.pixel_to_world(95.5, 95.5),
                             radius=2 * u.arcmin, redshift=0.1, noise=NOISE, wcs=wcs,
                             beam=BEAM)
    assert result.n_segments == 0
    assert result.flags == ("no_segment",)
    row = result.to_row()
    assert np.isnan(row["flux"]) and np.isnan(row["halo_i0"])
    none = measure_cluster(image, None, wcs.pixel_to_world(95.5, 95.5), radius=2 * u.arcmin,
                           wcs=wcs, beam=BEAM)
    assert none.flags == ("no_redshift", "no_segment")


@pytest.mark.parametrize("redshift", [None, -1, np.nan])
def test_no_redshift_gives_angles_and_nan_power(redshift):
    wcs = _wcs()
    image, labels = _halo_field()
    result = measure_cluster(image, labels, wcs.pixel_to_world(95.5, 95.5),
                             radius=3 * u.arcmin, redshift=redshift, r500=1 * u.Mpc,
                             noise=NOISE, wcs=wcs, beam=BEAM, fit_profile=False)
    assert "no_redshift" in result.flags
    assert np.isfinite(result.flux) and np.isfinite(result.las)
    assert np.isnan(result.power_150) and np.isnan(result.lls)
    assert np.isnan(result.offset_r500)
    row = result.to_row()
    assert np.isnan(row["halo_r_e"]) and row["measure_flags"] == "no_redshift"


def test_edge_and_blank_are_flagged():
    wcs = _wcs()
    image, labels = _halo_field()
    image[95, 90:100] = np.nan
    labels[90:100, 0:5] = 1  # the halo's segment reaches the border
    result = measure_cluster(image, labels, wcs.pixel_to_world(95.5, 95.5),
                             radius=3 * u.arcmin, redshift=0.1, noise=NOISE, wcs=wcs,
                             beam=BEAM, fit_profile=False)
    assert "edge" in result.flags and "blank" in result.flags


def test_bad_input():
    wcs = _wcs()
    image, labels = _halo_field()
    centre = wcs.pixel_to_world(95.5, 95.5)
    with pytest.raises(ValueError, match="integer array of the image's shape"):
        measure_cluster(image, labels[:10], centre, radius=3 * u.arcmin, wcs=wcs, beam=BEAM)
    with pytest.raises(ValueError, match="WCS and beam"):
        measure_cluster(image, labels, centre, radius=3 * u.arcmin, wcs=wcs)


def test_compact_sources_are_subtracted_and_counted():
    """A point source on the halo: subtracted, its flux reported, its residual in the error."""
    from astropy_radiounet.measure import subtract_compact_sources

    wcs = _wcs()
    rng = np.random.default_rng(3)
    # A halo broad against the beam (r_e of 3 beams), as at LoTSS resolution.
    halo = exponential_halo_image(SHAPE, x0=95.5, y0=95.5, i0=2e-3, r_e=15.0, beam_pixels=5.0)
    point = exponential_halo_image(SHAPE, x0=115.0, y0=92.0, i0=1.0, r_e=0.05,
                                   beam_pixels=5.0)
    point *= 5e-3 / point.max()  # a 5 mJy/beam point source (50 sigma)
    image = halo + point + rng.normal(0, NOISE, SHAPE)
    segments = (halo > 3 * NOISE).astype(int)
    centre = wcs.pixel_to_world(95.5, 95.5)
    # The halo's wings reach past its segment; no background is subtracted here.
    keywords = dict(radius=3 * u.arcmin, redshift=0.1, noise=NOISE, wcs=wcs, beam=BEAM,
                    fit_profile=False, background=None)
    truth = measure_cluster(halo, segments, centre, **keywords).flux
    plain = measure_cluster(image, segments, centre, **keywords)
    compact = subtract_compact_sources(image, wcs=wcs, beam=BEAM, noise=NOISE)
    clean = measure_cluster(image, segments, centre, compact=compact, **keywords)
    # A point source's flux density is its peak in Jy/beam: 5 mJy.
    assert (plain.flux - truth).to_value(u.mJy) == pytest.approx(5.0, rel=0.1)
    assert clean.flux.to_value(u.mJy) == pytest.approx(truth.to_value(u.mJy), rel=0.03)
    assert clean.compact_flux.to_value(u.mJy) == pytest.approx(5.0, rel=0.1)
    # The subtraction residual adds to the flux-scale and noise errors.
    base = segment_flux(compact.subtracted, segments > 0, noise=NOISE).flux_error
    residual = compact.residual_error(segments > 0)
    assert residual > 0 * u.Jy
    assert clean.flux_err.to_value(u.Jy) == pytest.approx(
        np.hypot(base, residual).to_value(u.Jy))


def test_flat_emission_gives_no_e_folding_radius():
    """Emission that hardly falls inside its region: the fit is flagged, not reported."""
    wcs = _wcs()
    rng = np.random.default_rng(4)
    flat = exponential_halo_image(SHAPE, x0=95.5, y0=95.5, i0=1e-3, r_e=300.0,
                                  beam_pixels=5.0)
    y, x = np.indices(SHAPE)
    region = np.hypot(x - 95.5, y - 95.5) < 25
    image = flat + rng.normal(0, NOISE, SHAPE)
    result = measure_cluster(image, region.astype(int), wcs.pixel_to_world(95.5, 95.5),
                             radius=3 * u.arcmin, redshift=0.1, noise=NOISE, wcs=wcs,
                             beam=BEAM)
    assert result.profile is None
    assert "fit_unconstrained" in result.flags
    assert np.isnan(result.to_row()["halo_r_e"])


def test_profile_is_fitted_to_the_central_segments():
    """
    The halo's fit takes the segments that come within HALO_REACH R500 of
    the centre: a relic-like source farther out is measured (flux) but left
    out of the fit, and a cluster with nothing near its centre gets no fit.
    """
    from astropy_radiounet.measure.cluster import HALO_REACH

    wcs = _wcs()
    rng = np.random.default_rng(6)
    halo = exponential_halo_image(SHAPE, x0=95.5, y0=95.5, i0=2e-3, r_e=8.0, beam_pixels=5.0)
    # R500 of 150 arcsec = 50 pixels: the relic at 70 pixels is beyond HALO_REACH R500.
    r500_pixels = 50.0
    assert 70 - 8 > HALO_REACH * r500_pixels
    relic = exponential_halo_image(SHAPE, x0=165.5, y0=95.5, i0=4e-3, r_e=3.0,
                                   beam_pixels=5.0)
    image = halo + relic + rng.normal(0, NOISE, SHAPE)
    labels = np.zeros(SHAPE, dtype=np.int32)
    labels[halo > 3 * NOISE] = 1
    labels[(relic > 3 * NOISE) & (labels == 0)] = 2
    centre = wcs.pixel_to_world(95.5, 95.5)
    r500 = (angular_radius(1 * u.Mpc, 0.1).to_value(u.arcsec))
    keywords = dict(radius=3.3 * u.arcmin, redshift=0.1, noise=NOISE, wcs=wcs, beam=BEAM,
                    r500=(150 / r500) * u.Mpc)
    both = measure_cluster(image, labels, centre, **keywords)
    assert both.n_segments == 2
    alone = measure_cluster(image, np.where(labels == 1, 1, 0), centre, **keywords)
    # The flux holds both; the fit is that of the halo alone.
    assert both.flux > 1.3 * alone.flux
    assert both.profile.r_e.to_value(u.arcsec) == pytest.approx(
        alone.profile.r_e.to_value(u.arcsec), rel=0.02)
    assert both.profile.r_e.to_value(u.arcsec) == pytest.approx(24.0, rel=0.15)
    # Only the relic: measured, not fitted.
    relic_only = measure_cluster(image, np.where(labels == 2, 2, 0), centre, **keywords)
    assert relic_only.n_segments == 1
    assert relic_only.profile is None
    assert "no_central_segment" in relic_only.flags
    assert np.isfinite(relic_only.flux.value)
