import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.cosmology import FlatLambdaCDM
from astropy.table import QTable
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from regions import CircleSkyRegion

from astropy_radiounet import DetectionRatio
from astropy_radiounet.clusters.r500 import angular_radius, r500_from_m500

from helpers import lotss_header


@pytest.fixture()
def wcs():
    return WCS(lotss_header((200, 200), four_d=False)).celestial


def disc(shape, centre, radius, value=1.0):
    y, x = np.indices(shape)
    return np.where(np.hypot(x - centre[0], y - centre[1]) <= radius, value, 0.0)


def test_ratio_is_mean_probability_in_circle():
    probability = disc((100, 100), (50, 50), 5) * 0.8
    stats = DetectionRatio(probability, (50, 50), 20)
    inside = disc((100, 100), (50, 50), 20 - 1e-9) > 0
    assert stats.ratio[0] == pytest.approx(probability[inside].mean())
    assert stats.n_pixels[0] == inside.sum() and stats.coverage[0] == 1.0


def test_vectorised_over_clusters_with_own_radii():
    probability = np.random.default_rng(0).uniform(size=(80, 90))
    positions = [(10, 10), (45, 40), (70, 60)]
    radii = [5, 8, 12]
    together = DetectionRatio(probability, positions, radii)
    for i, (position, radius) in enumerate(zip(positions, radii)):
        alone = DetectionRatio(probability, position, radius)
        assert together.ratio[i] == alone.ratio[0]


def test_partial_and_blank_coverage():
    probability = np.ones((50, 50))
    probability[:, :25] = np.nan  # half the map blank
    stats = DetectionRatio(probability, [(25, 25), (49, 0)], 10)
    assert stats.ratio.tolist() == [1.0, 1.0]
    assert 0.45 < stats.coverage[0] < 0.6
    assert stats.coverage[1] < 0.3
    with pytest.warns(AstropyUserWarning, match="1 of 2 apertures contain no valid pixel"):
        off = DetectionRatio(probability, [(25, 25), (500, 500)], 10)
    assert np.isnan(off.ratio[1]) and off.coverage[1] == 0
    assert off.classify(0.5).tolist() == [True, False]


def test_mask_excludes_pixels():
    probability = np.ones((40, 40))
    mask = np.zeros((40, 40), bool)
    mask[:20] = True
    probability[:20] = 0.0
    assert DetectionRatio(probability, (20, 20), 10, mask=mask).ratio[0] == 1.0


def test_sky_positions_and_angular_radius(wcs):
    centre = wcs.pixel_to_world(100, 100)
    probability = disc((200, 200), (100, 100), 30)
    stats = DetectionRatio(probability, SkyCoord([centre.ra], [centre.dec]), 45 * u.arcsec,
                           wcs=wcs)
    # 45" on 1.5" pixels is a 30-pixel radius.
    assert stats.radius_pixels[0] == pytest.approx(30.0)
    assert stats.ratio[0] == pytest.approx(1.0)
    table = stats.to_table()
    assert isinstance(table, QTable)
    assert table["radius_angle"].unit == u.arcmin
    assert {"id", "x", "y", "sky_centroid", "ratio", "n_pixels", "coverage"} <= set(
        table.colnames)
    regions = stats.to_regions()
    assert isinstance(regions[0], CircleSkyRegion)
    assert regions[0].radius.to_value(u.arcsec) == pytest.approx(45.0)
    assert regions[0].meta["text"].startswith("1: R=")


def test_from_m500_and_from_r500(wcs):
    cosmology = FlatLambdaCDM(H0=70, Om0=0.3)
    m500, z = 5e14 * u.Msun, 0.1
    r500 = r500_from_m500(m500, z, cosmology=cosmology)
    # 500 rho_c (4/3) pi R^3 = M
    rho_c = cosmology.critical_density(z)
    assert (4 / 3 * np.pi * 500 * rho_c * r500**3).to(u.Msun).value == pytest.approx(5e14)
    centre = wcs.pixel_to_world(100, 100)
    probability = np.full((200, 200), 0.25)
    by_mass = DetectionRatio.from_m500(probability, centre, m500, z, wcs=wcs,
                                       cosmology=cosmology, factor=0.1)
    by_radius = DetectionRatio.from_r500(probability, centre, r500, z, wcs=wcs,
                                         cosmology=cosmology, factor=0.1)
    expected = angular_radius(0.1 * r500, z, cosmology=cosmology) / (1.5 * u.arcsec)
    assert by_mass.radius_pixels[0] == pytest.approx(expected.decompose().value)
    assert by_mass.radius_pixels == pytest.approx(by_radius.radius_pixels)
    assert by_mass.ratio[0] == by_radius.ratio[0] == pytest.approx(0.25)


def test_default_aperture_is_2_2_r500(wcs):
    centre = wcs.pixel_to_world(100, 100)
    stats = DetectionRatio.from_r500(np.zeros((200, 200)), centre, 50 * u.kpc, 0.5, wcs=wcs)
    expected = angular_radius(2.2 * 50 * u.kpc, 0.5) / (1.5 * u.arcsec)
    assert stats.radius_pixels[0] == pytest.approx(expected.decompose().value)


def test_classify_with_explicit_threshold_and_missing_default():
    from astropy_radiounet.models.card import default_detection_threshold

    stats = DetectionRatio(np.full((20, 20), 0.02), (10, 10), 5)
    assert stats.classify(0.015).tolist() == [True]
    assert stats.classify(0.05).tolist() == [False]
    with pytest.raises(ValueError, match="pass threshold= explicitly"):
        default_detection_threshold("attention_unet")


def test_position_outside_the_projection_gives_nan_for_that_aperture_only(wcs):
    # The antipode of a SIN projection's centre has no pixel position.
    inside = wcs.pixel_to_world(100, 100)
    antipode = SkyCoord(205 + 180, -55, unit="deg")
    both = SkyCoord([inside.ra, antipode.ra], [inside.dec, antipode.dec])
    with pytest.warns(AstropyUserWarning, match="1 of 2 apertures.*outside the WCS projection"):
        stats = DetectionRatio(np.full((200, 200), 0.5), both, 10, wcs=wcs)
    assert stats.ratio[0] == 0.5 and np.isnan(stats.ratio[1])
    assert stats.n_pixels.tolist()[1] == 0 and stats.coverage[1] == 0


def test_bad_inputs_are_explained(wcs):
    with pytest.raises(ValueError, match="a wcs= is needed"):
        DetectionRatio(np.zeros((5, 5)), SkyCoord(0, 0, unit="deg"), 2)
    with pytest.raises(ValueError, match="a wcs= is needed"):
        DetectionRatio(np.zeros((5, 5)), (2, 2), 1 * u.arcmin)
    with pytest.raises(ValueError, match="use DetectionRatio.from_r500"):
        DetectionRatio(np.zeros((5, 5)), (2, 2), 1 * u.Mpc, wcs=wcs)
    with pytest.raises(ValueError, match="finite and positive"):
        DetectionRatio(np.zeros((5, 5)), (2, 2), 0)
    with pytest.raises(ValueError, match="1 are not \\(first: \\[nan\\]"):
        DetectionRatio(np.zeros((5, 5)), [(2, 2), (3, 3)], [1, np.nan])
    with pytest.raises(ValueError, match="Got 3 aperture radii for 2 positions"):
        DetectionRatio(np.zeros((5, 5)), [(2, 2), (3, 3)], [1, 2, 3])
    with pytest.raises(ValueError, match="shape"):
        DetectionRatio(np.zeros((5, 5)), [(1, 2, 3)], 1)
    with pytest.raises(ValueError, match="2-D map"):
        DetectionRatio(np.zeros(5), (1, 1), 1)
    with pytest.raises(ValueError, match="mask has shape \\(4, 4\\).*same shape"):
        DetectionRatio(np.zeros((5, 5)), (1, 1), 1, mask=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="dimensionless"):
        DetectionRatio(np.zeros((5, 5)) * u.Jy, (1, 1), 1)
    with pytest.raises(ValueError, match="redshift must be finite and positive"):
        DetectionRatio.from_r500(np.zeros((5, 5)), (1, 1), 1 * u.Mpc, 0.0, wcs=wcs)
    with pytest.raises(TypeError, match="mass Quantity"):
        DetectionRatio.from_m500(np.zeros((5, 5)), (1, 1), 5e14, 0.1, wcs=wcs)


@settings(max_examples=40, deadline=None)
@given(probability=arrays(np.float64, (30, 30), elements=st.floats(0, 1)),
       x=st.floats(-10, 40), y=st.floats(-10, 40), radius=st.floats(0.8, 25))
def test_ratio_is_bounded_by_the_map(probability, x, y, radius):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        stats = DetectionRatio(probability, (x, y), radius)
    assert 0.0 <= stats.coverage[0] <= 1.0
    if stats.n_pixels[0]:
        assert probability.min() - 1e-12 <= stats.ratio[0] <= probability.max() + 1e-12
    else:
        assert np.isnan(stats.ratio[0])


def test_to_table_columns_and_meta_as_aperture_stats():
    probability = np.zeros((40, 40))
    probability[15:25, 15:25] = 1.0
    stats = DetectionRatio(probability, [(20, 20), (5, 5)], 6)
    table = stats.to_table(columns=["id", "ratio"])
    assert table.colnames == ["id", "ratio"] and len(table) == 2
    assert table.meta["astropy_radiounet_version"] == stats.meta["astropy_radiounet_version"]
    assert stats.to_table("coverage").colnames == ["coverage"]
    with pytest.raises(ValueError, match=r"Unknown columns \['area'\]; the columns are id, x"):
        stats.to_table(columns=["area"])


@pytest.mark.parametrize("bad", [3.2, -0.5])
def test_a_map_that_is_not_a_probability_is_refused(bad):
    probability = np.zeros((20, 20))
    probability[5, 5] = bad
    probability[0, 0] = np.nan  # blank pixels are fine
    with pytest.raises(ValueError, match="values in \\[0, 1\\].*1 pixels are outside"):
        DetectionRatio(probability, [(10, 10)], 5)
