"""
Bad input to the cluster apertures and to training and evaluation gets a
clear answer (issue 15): an error or warning that names the problem and the
fix, never a traceback from numpy or a silently wrong result.
"""

import json
import time
import tracemalloc
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.wcs import WCS
from photutils.aperture import CircularAperture

from astropy_radiounet import DetectionRatio
from astropy_radiounet.cli.main import main
from astropy_radiounet.clusters import read_cluster_catalog
from astropy_radiounet.clusters.r500 import angular_radius, r500_from_m500
from astropy_radiounet.evaluation.simulated import evaluate_clusters, evaluate_pixels
from astropy_radiounet.exceptions import BlankDataWarning, CatalogWarning
from astropy_radiounet.training.config import TrainingConfig
from astropy_radiounet.training.fit import calibrate, train

from helpers import lotss_header

SMALL = dict(name="small", backbone_config={"depth": 2, "filters": 4}, tile_size=32,
             n_train=8, n_val=4, epochs=2, batch_size=4, patience=1,
             field={"n_clusters": 1, "cluster_at_center": True, "redshift": 0.1})


@pytest.fixture()
def wcs():
    return WCS(lotss_header((100, 100), four_d=False))


# Cluster apertures -------------------------------------------------------------------------


def test_aperture_far_larger_than_the_map_is_measured_on_the_map_only(wcs):
    # At z = 1e-4, 2.2 R500 is some 700,000 pixels: its mask alone was 1.3 TiB.
    probability = np.full((100, 100), 0.25)
    probability[:10] = np.nan
    centre = wcs.pixel_to_world(50, 50)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        stats = DetectionRatio.from_m500(probability, centre, 6e14 * u.Msun, 1e-4, wcs=wcs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 10 and peak < 64 * 2**20
    radius = stats.radius_pixels[0]
    assert radius > 1e5
    assert stats.n_pixels[0] == 9000 and stats.ratio[0] == pytest.approx(0.25)
    # The fraction of the circle that is on the map and valid.
    assert stats.coverage[0] == pytest.approx(9000 / (np.pi * radius**2), rel=1e-6)


@pytest.mark.parametrize("x, y, radius", [
    (30, 20, 45.3), (-20.2, 50.7, 33), (70, 110.5, 12.2), (50, 50, 80), (140, 140, 60.1)])
def test_apertures_partly_off_the_map_count_as_photutils_does(x, y, radius):
    rng = np.random.default_rng(4)
    probability = rng.uniform(size=(60, 90))
    probability[rng.uniform(size=probability.shape) < 0.1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BlankDataWarning)
        stats = DetectionRatio(probability, (x, y), radius)
    aperture = CircularAperture((x, y), radius).to_mask(method="center")
    values = aperture.get_values(probability)
    values = values[np.isfinite(values)]
    assert stats.n_pixels[0] == values.size
    assert stats.coverage[0] == pytest.approx(values.size / aperture.data.sum(), abs=1e-12)
    if values.size:
        assert stats.ratio[0] == pytest.approx(values.mean(), abs=1e-12)


def test_large_aperture_partly_on_the_map_has_the_covered_fraction():
    # Above EXACT_COUNT_PIXELS the circle's pixel count is pi r**2, within 1e-5 here.
    stats = DetectionRatio(np.full((50, 50), 0.5), (-3000, 25), 3025.0)
    inside = CircularAperture((-3000, 25), 3025.0).area_overlap(np.ones((50, 50)),
                                                                method="center")
    assert stats.n_pixels[0] == inside and stats.ratio[0] == 0.5
    assert stats.coverage[0] == pytest.approx(inside / (np.pi * 3025.0**2), rel=1e-4)


def test_masses_and_redshifts_of_other_lengths_are_explained(wcs):
    positions = wcs.pixel_to_world([40, 60], [40, 60])
    probability = np.zeros((100, 100))
    with pytest.raises(ValueError, match=r"Got 3 M500 values and 2 redshift values; give "
                                         r"one per cluster"):
        r500_from_m500([1e14, 2e14, 3e14] * u.Msun, [0.1, 0.2])
    with pytest.raises(ValueError, match="Got 3 M500 values for 2 positions"):
        DetectionRatio.from_m500(probability, positions, [1e14, 2e14, 3e14] * u.Msun,
                                 [0.1, 0.2, 0.3], wcs=wcs)
    with pytest.raises(ValueError, match="Got 3 redshift values for 2 positions"):
        DetectionRatio.from_r500(probability, positions, 1 * u.Mpc, [0.1, 0.2, 0.3], wcs=wcs)
    with pytest.raises(ValueError, match="Got 3 R500 values for 2 positions"):
        DetectionRatio.from_r500(probability, positions, [1, 1, 1] * u.Mpc, 0.1, wcs=wcs)
    with pytest.raises(ValueError, match="Got 2 radius values and 3 redshift values"):
        angular_radius([1, 2] * u.Mpc, [0.1, 0.2, 0.3])


def test_r500_without_a_unit_and_bad_redshifts_are_explained(wcs):
    with pytest.raises(TypeError, match=r"r500 must be a length Quantity.*got \[1000, 1000\]"):
        DetectionRatio.from_r500(np.zeros((100, 100)), [(40, 40), (60, 60)], [1000, 1000],
                                 [0.1, 0.2], wcs=wcs)
    with pytest.raises(TypeError, match="redshift must be a number or an array of numbers; "
                                        "got 'abc'"):
        r500_from_m500(6e14 * u.Msun, "abc")
    with pytest.raises(ValueError, match="m500 must be finite and positive"):
        r500_from_m500(-6e14 * u.Msun, 0.1)  # was a negative R500


def test_empty_positions_are_refused(wcs):
    empty = SkyCoord([], [], unit="deg")
    with pytest.raises(ValueError, match="positions holds no aperture centre"):
        DetectionRatio(np.zeros((100, 100)), empty, 5, wcs=wcs)
    with pytest.raises(ValueError, match="positions holds no aperture centre"):
        DetectionRatio.from_r500(np.zeros((100, 100)), empty, [] * u.kpc, [], wcs=wcs)
    with pytest.raises(ValueError, match="positions holds no aperture centre"):
        DetectionRatio(np.zeros((100, 100)), [], 5)


def test_a_string_threshold_is_refused():
    stats = DetectionRatio(np.full((20, 20), 0.2), (10, 10), 5)
    with pytest.raises(TypeError, match=r"got '0.1' \(a str\): pass the number itself"):
        stats.classify("0.1")
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        stats.classify(-1)


def test_regions_leave_out_apertures_without_a_pixel_position(wcs):
    inside = wcs.pixel_to_world(50, 50)
    both = SkyCoord([inside.ra.deg, 25.0], [inside.dec.deg, -55.0], unit="deg")  # antipode
    with pytest.warns(BlankDataWarning, match="1 of 2 apertures"):
        stats = DetectionRatio(np.full((100, 100), 0.5), both, 5, wcs=wcs)
    with pytest.warns(BlankDataWarning, match="no pixel position .* left out of the "
                                              "regions: id 2"):
        regions = stats.to_regions()
    assert len(regions) == 1 and regions[0].meta["text"].startswith("1: R=0.5")


def test_masses_1e14_times_too_small_are_warned_about_and_refused(wcs):
    table = Table({"NAME": ["A2255", "A2256"], "RA": [258.2, 256.0], "DEC": [64.1, 78.6],
                   "REDSHIFT": [0.08, 0.06], "MSZ": [5.4, 6.2e14]})
    with pytest.warns(CatalogWarning, match=r"M500 of 1 of 2 clusters .*rows 'A2255' "
                                            r"\(5.4 solMass\).*units=\{'m500': 1e14 \* u.Msun\}"):
        read_cluster_catalog(table, units={"m500": "solMass"})
    with pytest.warns(CatalogWarning, match="did you mean masses in units of 1e14 solMass"):
        r500_from_m500(6 * u.Msun, 0.1)
    with pytest.warns(CatalogWarning, match="grams or kilograms"):
        r500_from_m500(6e44 * u.Msun, 0.1)
    # Their apertures are far below a pixel: a clear error, not an IndexError or NaN.
    with pytest.warns(CatalogWarning), \
            pytest.raises(ValueError, match="at least 0.5 pixel.*M500 in units of 1e14 "
                                            "solMass given as solMass"):
        DetectionRatio.from_m500(np.zeros((100, 100)), wcs.pixel_to_world(50, 50),
                                 6 * u.Msun, 0.1, wcs=wcs)


def test_catalogue_units_as_strings_and_wrong_units():
    table = Table({"name": ["a"], "ra": [1.0], "dec": [2.0], "z": [0.1], "m500": [6.0]})
    catalog = read_cluster_catalog(table, units={"m500": "1e14 solMass"})
    assert catalog["m500"][0] == 6e14 * u.Msun
    with pytest.raises(ValueError, match=r"units=\{'m500': 'kpc'\} is not a unit of mass"):
        read_cluster_catalog(table, units={"m500": "kpc"})


# Training and evaluation -------------------------------------------------------------------


@pytest.mark.parametrize("change, message", [
    ({"mask_snr": -1}, "mask_snr must be a finite positive number; got -1"),
    ({"bce_weight": 0, "tversky_weight": 0}, "bce_weight and tversky_weight are both 0"),
    ({"tversky_weight": -1}, r"loss weights \{'tversky_weight': -1\} must be finite "
                             r"numbers >= 0"),
    ({"tversky_alpha": 1.5}, r"\{'tversky_alpha': 1.5\} must be in \[0, 1\]"),
    ({"tversky_beta": -0.2}, r"\{'tversky_beta': -0.2\} must be in \[0, 1\]"),
    ({"tversky_alpha": 0, "tversky_beta": 0}, "tversky_alpha and tversky_beta are both 0"),
    ({"name": "../../evil"}, r"plain file name.*got '../../evil'.*Use name='evil'"),
    ({"name": ".."}, r"plain file name.*got '..'"),
    ({"name": ""}, "plain file name.*got ''"),
    ({"field": {"n_cluster": 2}}, r"Unknown field keys \['n_cluster'\].*valid keys are "
                                  r"pixel_scale, .*n_clusters"),
    ({"field": {"seed": 2}}, r"field keys \['seed'\] are set by the training pairs"),
])
def test_config_refuses_what_cannot_train(change, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**{**SMALL, **change})


def test_config_file_with_an_unknown_field_key_or_no_json(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({**SMALL, "field": {"noize": 70}}))
    with pytest.raises(ValueError, match=r"Unknown field keys \['noize'\]"):
        TrainingConfig.read(tmp_path / "c.json")
    (tmp_path / "bad.json").write_text("{name: unet")
    with pytest.raises(ValueError, match="is not a JSON training config"):
        TrainingConfig.read(tmp_path / "bad.json")


def test_train_refuses_a_name_changed_into_a_path(tmp_path):
    config = TrainingConfig(**SMALL)
    config.name = "../../evil"
    with pytest.raises(ValueError, match="plain file name"):
        train(config, tmp_path / "a" / "b" / "out", progress_bar=False)
    assert not (tmp_path / "a").exists() and not list(tmp_path.glob("*.h5"))


def test_evaluation_refuses_thresholds_and_counts(tiny_model_dir):
    weights = str(tiny_model_dir / "tiny.json")
    with pytest.raises(ValueError, match=r"threshold must be a probability in \[0, 1\).*got 2"):
        evaluate_pixels(weights, n_tiles=1, threshold=2)
    for n in (0, -3):
        with pytest.raises(ValueError, match=f"n_tiles must be a positive integer; got {n}"):
            evaluate_pixels(weights, n_tiles=n)
    with pytest.raises(ValueError, match=r"sky='dr2' is not a named sky; use one of "
                                         r"\['lotss', 'v0.2'\]"):
        evaluate_pixels(weights, n_tiles=1, sky="dr2")
    with pytest.raises(ValueError, match="n_tiles must be a positive integer; got 0"):
        calibrate(weights, n_tiles=0)
    with pytest.raises(ValueError, match="n_fields must be a positive integer; got 0"):
        evaluate_clusters(weights, n_fields=0)
    with pytest.raises(ValueError, match=r"Unknown field_kwargs keys \['n_cluster'\]"):
        evaluate_clusters(weights, n_fields=1, field_kwargs={"n_cluster": 2})


def test_evaluate_command_refuses_a_threshold_above_one(tiny_model_dir, capsys):
    status = main(["evaluate", "--weights", str(tiny_model_dir / "tiny.json"),
                   "--threshold", "2", "--n-tiles", "1"])
    assert status == 2
    assert "threshold must be a probability in [0, 1)" in capsys.readouterr().err
