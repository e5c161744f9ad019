"""Several models side by side: confuser areas at several beams and cluster-level metrics."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.evaluation.confusers import (OTHER_CONFUSERS, confuser_fields,
                                                    confuser_masks, evaluate_confusers,
                                                    format_confuser_table)
from astropy_radiounet.evaluation.simulated import (_host_false_positives, evaluate_clusters,
                                                    format_cluster_summary)
from astropy_radiounet.models import ModelCard, find_card
from astropy_radiounet.training.pairs import simulated_plane

SHAPE = (256, 256)
SEED = 11


@pytest.fixture(scope="module")
def two_defaults():
    """The shipped model twice, on one small field at a LoTSS and a coarse beam."""
    return evaluate_confusers(["default", "default"], n_fields=1, seed=SEED, shape=SHAPE,
                              beams=[6, 45] * u.arcsec)


@pytest.fixture(scope="module")
def field():
    """The 6 arcsec field of `two_defaults`."""
    return next(confuser_fields(1, seed=SEED, beam=6 * u.arcsec, shape=SHAPE))


def test_table_has_a_row_per_beam_and_confuser_and_a_column_per_model(two_defaults):
    table = two_defaults
    assert table.colnames == ["beam", "kind", "n_pixels", "default", "default #2"]
    assert table["beam"].unit == u.arcsec and set(table["beam"].value) == {6.0, 45.0}
    for beam, n_pixels in ((6.0, SHAPE[0] * SHAPE[1]), (45.0, 34 * 34)):
        rows = table[table["beam"].value == beam]
        assert list(rows["kind"][-3:]) == list(OTHER_CONFUSERS)
        assert len(set(rows["kind"])) == len(rows)
        # The confusers split the (unblanked, diffuse-free) field.
        assert rows["n_pixels"].sum() == n_pixels
    for label in ("default", "default #2"):
        values = np.asarray(table[label])
        assert np.all(np.isnan(values) == (table["n_pixels"] == 0))
        assert np.all((values[np.isfinite(values)] >= 0) & (values[np.isfinite(values)] <= 1))
    np.testing.assert_array_equal(table["default"], table["default #2"])
    assert table.meta["thresholds"] == {"default": 0.5, "default #2": 0.5}
    assert table.meta["field_shapes"] == {6.0: SHAPE, 45.0: (34, 34)}
    text = format_confuser_table(table).splitlines()
    assert text[0] == "| beam | confuser | pixels | default (%) | default #2 (%) |"
    assert len(text) == len(table) + 2 and text[2].startswith('| 6" |')


def test_marked_areas_match_an_independent_count(two_defaults, field):
    segmenter = RadioUNetSegmenter(weights="default")
    marked = np.nan_to_num(segmenter.predict_probability(simulated_plane(field))) > 0.5
    footprints = field.radio_galaxy_footprints()
    kinds = np.asarray(field.sources["kind"]).astype(str)
    rows = two_defaults[two_defaults["beam"].value == 6.0]
    for row in rows:
        if row["kind"] in OTHER_CONFUSERS:
            continue
        inside = np.isin(footprints, np.flatnonzero(kinds == row["kind"]) + 1)
        assert row["n_pixels"] == inside.sum() > 0
        assert row["default"] == pytest.approx(marked[inside].mean())
    # All confusers together: every pixel, and every marked pixel, counted once.
    assert np.sum(rows["default"] * rows["n_pixels"], where=rows["n_pixels"] > 0) \
        == pytest.approx(marked.sum())


def test_confuser_masks_do_not_overlap(field):
    masks = confuser_masks(field)
    stacked = np.sum(list(masks.values()), axis=0)
    assert stacked.max() == 1 and stacked.sum() == field.image.size
    radio_galaxies = np.any([masks[kind] for kind in masks if kind not in OTHER_CONFUSERS],
                            axis=0)
    np.testing.assert_array_equal(radio_galaxies, field.radio_galaxy_footprints() > 0)
    assert not field.mask.any()  # no diffuse emission in a confuser field
    brighter = confuser_masks(field, level=5.0)
    assert brighter["compact sources"].sum() < masks["compact sources"].sum()


@pytest.mark.parametrize("kwargs, match", [
    ({"n_fields": 0}, "n_fields must be a positive integer; got 0"),
    ({"beams": [6, -20] * u.arcsec}, r"beams must be positive angles, e\.g\. beams=\(6, 20"),
    ({"beams": [] * u.arcsec}, "beams must be positive angles"),
    ({"beams": 6 * u.Jy}, "beams must be positive angles"),
    ({"shape": (64, 64)}, r"shape=\(64, 64\).*at least 16 pixels: use a larger shape"),
    ({"level": 0}, "level must be a finite positive number; got 0"),
    ({"field_kwargs": {"beam": 3 * u.arcsec}}, r"field_kwargs keys \['beam'\] are set by"),
])
def test_bad_input_is_refused_before_any_work(kwargs, match):
    with pytest.raises(ValueError, match=match):
        evaluate_confusers(["default"], **{"n_fields": 1, **kwargs})


def test_an_empty_list_of_models_is_refused():
    with pytest.raises(ValueError, match=r"weights is an empty list.*weights=\['default'\]"):
        evaluate_confusers([], n_fields=1)


def test_several_models_on_the_same_cluster_fields(tiny_model_dir):
    tiny = str(tiny_model_dir / "tiny.json")
    table, summary = evaluate_clusters(["default", "default", tiny], n_fields=4, seed=4,
                                       shape=SHAPE, baseline=False)
    assert summary["models"] == ["default", "default #2", "tiny.json"]
    assert {"ratio_default", "ratio_default #2", "ratio_tiny.json", "hosts_radio_galaxy",
            "radio_galaxy_fraction"} <= set(table.colnames) and "ratio" not in table.colnames
    np.testing.assert_array_equal(table["ratio_default"], table["ratio_default #2"])
    assert summary["default"] == summary["default #2"]
    assert summary["n_de"] and summary["n_nde_hosts"]
    default = summary["default"]
    card_threshold = find_card("default").detection_ratio_threshold
    assert default["card_threshold"] == default["fp_threshold"] == card_threshold
    hosts = (table["classification"] == "NDE") & table["hosts_radio_galaxy"]
    assert default["fp_rate_hosts"] == np.mean(table["ratio_default"][hosts] > card_threshold)
    assert default["fp_rate_hosts_counts"][1] == summary["n_nde_hosts"]
    clear = default["fp_rate_hosts_clear_counts"][1] + default["fp_rate_others_clear_counts"][1]
    assert clear + np.sum((table["classification"] == "NDE")
                          & (table["ratio_truth"] > card_threshold)) == summary["n_nde"]
    assert default["auc_over_truth"] == pytest.approx(default["auc"] / summary["truth"]["auc"])
    # A card without a threshold on R: the balanced-accuracy one, marked in the table.
    assert summary["tiny.json"]["card_threshold"] is None
    assert summary["tiny.json"]["fp_threshold"] == summary["tiny.json"]["threshold"]
    lines = format_cluster_summary(summary).splitlines()
    assert lines[0] == "| metric | default | default #2 | tiny.json | truth |"
    row = next(line for line in lines if line.startswith("| card's threshold on R"))
    assert row.endswith(f"| {card_threshold:.4g} | {card_threshold:.4g} | "
                        f"{summary['tiny.json']['threshold']:.4g}* | - |")
    flagged, total = default["fp_rate_hosts_counts"]
    assert f"| {default['fp_rate_hosts']:.3f} ({flagged}/{total}) |" in lines[-4]


def test_false_positives_where_the_truth_mask_is_below_the_threshold():
    # Five NDE clusters, four hosting a radio galaxy; the truth mask passes
    # the threshold (0.01) on one host, which the model flags too.
    table = QTable({"classification": ["NDE"] * 5 + ["DE"],
                    "hosts_radio_galaxy": [True, True, True, True, False, True],
                    "ratio": [0.05, 0.02, 0.0, 0.0, 0.03, 0.5],
                    "ratio_truth": [0.2, 0.0, 0.0, 0.005, 0.0, 0.3]})
    card = ModelCard(name="t", backbone="unet", detection_ratio_threshold=0.01)
    rates = _host_false_positives(table, "ratio", {}, card)
    assert rates["fp_rate_hosts_counts"] == (2, 4) and rates["fp_rate_hosts"] == 0.5
    assert rates["fp_rate_hosts_truth_counts"] == (1, 4)
    assert rates["fp_rate_hosts_clear_counts"] == (1, 3)
    assert rates["fp_rate_others_clear_counts"] == (1, 1) and rates["fp_rate_others_clear"] == 1


def test_a_named_sky_replaces_the_recipes_own():
    from astropy_radiounet.evaluation.simulated import _with_sky

    v02_recipe = {"noise_anisotropy": 1.0, "artefact_style": "rings",
                  "radio_galaxy_population": "v0.2", "noise": 1e-4}
    assert _with_sky(v02_recipe, "lotss") == {"noise": 1e-4}
    assert _with_sky({"noise": 1e-4}, "v0.2") == v02_recipe
