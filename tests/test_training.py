import json
from pathlib import Path

import numpy as np
import pytest
from astropy.utils.exceptions import AstropyUserWarning

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.cli.main import main
from astropy_radiounet.models.card import ModelCard
from astropy_radiounet.evaluation.metrics import (best_threshold, classification_metrics,
                                                  pixel_metrics, roc_auc)
from astropy_radiounet.evaluation.simulated import evaluate_clusters, evaluate_pixels
from astropy_radiounet.training.config import TrainingConfig
from astropy_radiounet.training.pairs import make_training_pair
from astropy_radiounet.training.fit import train

SMALL = dict(name="small", backbone_config={"depth": 2, "filters": 4}, tile_size=32,
             n_train=8, n_val=4, epochs=2, batch_size=4, patience=1,
             field={"n_clusters": 1, "cluster_at_center": True, "diffuse_probability": 1.0,
                    "diffuse_rates": {"halo": 1.0}, "redshift": 0.1,
                    "mass_range": [1.2e15, 1.5e15]})


def test_config_round_trip_and_unknown_keys(tmp_path):
    config = TrainingConfig(**SMALL)
    config.write(tmp_path / "c.json")
    assert TrainingConfig.read(tmp_path / "c.json") == config
    from astropy_radiounet.models.pretrained import default_card_path, shipped_card_path

    shipped = TrainingConfig.read(default_card_path("unet"))  # a card gives its recipe
    assert shipped.n_train == 4000 and shipped.input_channels == ("image", "peak_snr")
    assert shipped.warm_start == "stage1/unet-v0.3-cpu.json"  # the first stage's output
    v02 = TrainingConfig.read(shipped_card_path("unet", "v0.2"))
    assert v02.epochs == 47 and v02.n_train == 8000 and v02.max_minutes is None
    (tmp_path / "bad.json").write_text(json.dumps({"epochz": 3}))
    with pytest.raises(ValueError, match="Unknown training config keys \\['epochz'\\]"):
        TrainingConfig.read(tmp_path / "bad.json")


@pytest.mark.parametrize("change, message", [
    ({"n_train": 3}, "n_train=3 is smaller than batch_size=4"),
    ({"n_val": 0}, "'n_val': 0"),
    ({"epochs": 2.5}, "'epochs': 2.5"),
    ({"learning_rate": -1e-3}, "'learning_rate': -0.001"),
    ({"max_minutes": -1}, "max_minutes=-1 must be None"),
])
def test_config_refuses_values_that_cannot_train(change, message):
    # n_train < batch_size used to make the batch generator yield nothing,
    # and training hang.
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**{**SMALL, **change})


def test_training_pair_is_deterministic_and_on_the_model_grid():
    config = TrainingConfig(**SMALL)
    x1, y1 = make_training_pair(config, 7)
    x2, y2 = make_training_pair(config, 7)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == y1.shape == (32, 32)
    assert np.abs(x1).max() <= 1 and set(np.unique(y1)) <= {0.0, 1.0}
    # A central cluster that certainly hosts diffuse emission is labelled.
    assert y1[12:20, 12:20].mean() > 0.5


def test_pixel_metrics():
    truth = np.zeros((10, 10))
    truth[:5] = 1
    probability = np.zeros((10, 10))
    probability[3:8] = 0.9
    metrics = pixel_metrics(truth, probability)
    assert metrics["precision"] == pytest.approx(0.4)
    assert metrics["recall"] == pytest.approx(0.4)
    assert metrics["iou"] == pytest.approx(20 / 80)
    assert metrics["dice"] == pytest.approx(0.4)


def test_train_writes_a_loadable_model(tmp_path, capsys):
    card_path = train(TrainingConfig(**SMALL), tmp_path, progress_bar=False)
    card = ModelCard.read(card_path)
    assert card.pixel_scale.value == 6.0 and card.beam.major.value == 20.0
    assert card.training["config"]["tile_size"] == 32
    assert 0 <= card.metrics["validation_pixels"]["positive_fraction"] <= 1
    assert (tmp_path / "small.curves.png").stat().st_size > 5000
    assert (tmp_path / "small.config.json").exists()
    assert card.calibration is not None
    # Weights only, no optimizer state: the size of an untrained model's weights.
    from astropy_radiounet.models.card import load_model, save_model

    fresh, fresh_card = load_model("unet", None, config=SMALL["backbone_config"])
    save_model(fresh, fresh_card, tmp_path / "fresh")
    trained_size = (tmp_path / "small.weights.h5").stat().st_size
    assert trained_size < 1.2 * (tmp_path / "fresh" / "unet.weights.h5").stat().st_size
    segmenter = RadioUNetSegmenter(weights=card_path, tile_shape=(64, 64))
    from helpers import lotss_like_image

    with pytest.warns(AstropyUserWarning, match="no WCS"):
        assert segmenter.predict_probability(lotss_like_image((64, 64))).shape == (64, 64)
    metrics = evaluate_pixels(card_path, n_tiles=4)
    assert metrics["n_tiles"] == 4 and 0 <= metrics["positive_fraction"] <= 1
    # The same model on another sky: the tiles change, the truth of the same seeds too.
    on_v02 = evaluate_pixels(card_path, n_tiles=4, sky="v0.2")
    assert on_v02["n_tiles"] == 4 and on_v02 != metrics
    table, summary = evaluate_clusters(card_path, n_fields=3, shape=(256, 256),
                                       tile_shape=(64, 64))
    assert len(table) == 3 and set(table["classification"]) <= {"DE", "NDE", "faint"}
    for column in ("ratio", "ratio_baseline", "ratio_truth"):
        assert np.all((table[column] >= 0) & (table[column] <= 1))
    assert summary["n_de"] + summary["n_nde"] + summary["n_faint"] == 3
    assert 0 <= summary["confuser_fp_model"] <= 1 and 0 <= summary["confuser_fp_baseline"] <= 1
    assert main(["evaluate", "--weights", str(card_path), "--n-tiles", "4"]) == 0
    assert "| iou" in capsys.readouterr().out
    # A second run into the same directory refuses before doing any work.
    before = (tmp_path / "small.weights.h5").read_bytes()
    with pytest.raises(FileExistsError, match="small.json.*overwrite=True"):
        train(TrainingConfig(**SMALL), tmp_path, progress_bar=False)
    TrainingConfig(**SMALL).write(tmp_path / "recipe.json")
    assert main(["train", str(tmp_path / "recipe.json"), "-o", str(tmp_path),
                 "--no-progress"]) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert (tmp_path / "small.weights.h5").read_bytes() == before


def test_calibrate_leaves_the_shipped_card_alone():
    from astropy_radiounet.models.pretrained import default_card_path
    from astropy_radiounet.training.fit import calibrate

    card_path = Path(default_card_path("unet"))
    before = card_path.read_bytes()
    try:
        with pytest.raises(ValueError, match="shipped inside the package.*calibrate the copy"):
            calibrate(card_path, n_tiles=2)
    finally:
        # A broken guard must not leave the shipped card rewritten for every later test.
        changed = card_path.read_bytes() != before
        card_path.write_bytes(before)
    assert not changed


def test_train_command_prints_and_checks_config(tmp_path, capsys):
    assert main(["train", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["pixel_scale_arcsec"] == 6.0
    (tmp_path / "c.json").write_text("{")
    assert main(["train", str(tmp_path / "c.json")]) == 2
    assert "cannot use the training config" in capsys.readouterr().err
    bad = TrainingConfig(**{**SMALL, "tile_size": 30})
    bad.write(tmp_path / "odd.json")
    assert main(["train", str(tmp_path / "odd.json"), "-o", str(tmp_path / "m"),
                 "--no-progress"]) == 2
    assert "must be a multiple of 4" in capsys.readouterr().err


def test_roc_auc_and_best_threshold():
    scores = [0.01, 0.02, 0.03, 0.05, 0.04, 0.06]
    labels = [0, 0, 0, 1, 1, 1]
    assert roc_auc(scores, labels) == 1.0
    assert roc_auc(scores, [1, 1, 1, 0, 0, 0]) == 0.0
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5
    assert np.isnan(roc_auc([0.1], [1]))
    threshold = best_threshold(scores, labels)
    assert 0.03 < threshold < 0.04
    metrics = classification_metrics(scores, labels, threshold)
    assert metrics["accuracy"] == 1.0 and metrics["tp"] == 3 and metrics["fp"] == 0


def test_best_threshold_balances_the_classes():
    """Nine negatives for one positive: the plain accuracy would call all of
    them negative (0.9) rather than catch the positive with two false
    positives (0.8); the balanced accuracy catches it."""
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.75]
    labels = [0] * 9 + [1]
    threshold = best_threshold(scores, labels)
    assert 0.7 < threshold < 0.75
    metrics = classification_metrics(scores, labels, threshold)
    assert metrics["tp"] == 1 and metrics["fp"] == 2


def test_time_budget_and_data_cache(tmp_path):
    config = TrainingConfig(**{**SMALL, "epochs": 5, "patience": 5, "max_minutes": 0.0})
    card = ModelCard.read(train(config, tmp_path / "m", progress_bar=False,
                                cache_dir=tmp_path / "cache"))
    assert card.metrics["epochs_run"] == 1
    assert card.metrics["tiles_from_cache"] is False
    cached = sorted((tmp_path / "cache").glob("pairs_*/pairs_*.npz"))
    assert len(cached) == 2  # training and validation pairs, one shard each
    before = [p.stat().st_mtime_ns for p in cached]
    again = ModelCard.read(train(config, tmp_path / "m2", progress_bar=False,
                                 cache_dir=tmp_path / "cache"))
    assert [p.stat().st_mtime_ns for p in cached] == before
    assert again.metrics["tiles_from_cache"] is True
    assert not list((tmp_path / "m").glob("*.best.weights.h5"))


def test_reliability_of_calibrated_and_overconfident_probabilities():
    from astropy_radiounet.evaluation.metrics import reliability

    rng = np.random.default_rng(0)
    probability = rng.uniform(0, 1, 200_000)
    calibrated_truth = rng.uniform(0, 1, probability.size) < probability
    table, ece = reliability(calibrated_truth, probability)
    assert ece < 0.01 and table["n_pixels"].sum() == probability.size
    np.testing.assert_allclose(table["observed_fraction"], table["mean_probability"],
                               atol=0.02)
    _, overconfident = reliability(calibrated_truth, np.round(probability))
    assert overconfident > 0.2


def test_recall_by_type_and_snr():
    from astropy_radiounet.evaluation.simulated import recall_by_type_and_snr

    labels = np.array([1, 1, 2, 2, 0, 0])
    snr = np.array([0.8, 3.0, 1.5, 5.0, 0.1, 0.2])
    predicted = np.array([False, True, True, True, False, True])
    recall = recall_by_type_and_snr(predicted, labels, snr, mask_snr=0.5)
    assert recall["recall_halo"] == 0.5 and recall["n_halo"] == 2
    assert recall["recall_relic"] == 1.0
    assert recall["recall_snr_0.5-1"] == 0.0 and recall["n_snr_0.5-1"] == 1
    assert recall["recall_snr_4-inf"] == 1.0
    assert "recall_filament" not in recall


def test_detailed_pairs_label_every_true_pixel():
    x, y, labels, snr, baseline = make_training_pair(TrainingConfig(**SMALL), 7, details=True)
    assert labels.shape == snr.shape == y.shape == baseline.shape
    assert set(np.unique(baseline)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y > 0, snr > 0.5)
    assert np.all(labels[y > 0] == 1)  # the recipe has halos only
    assert np.all(labels[y == 0] == 0)


def test_pairs_from_spawned_processes_equal_serial_ones():
    from astropy_radiounet.training.pairs import make_training_pairs

    config = TrainingConfig(**SMALL)
    serial = make_training_pairs(config, 3, seed=11)
    spawned = make_training_pairs(config, 3, seed=11, parallel=2)
    for a, b in zip(serial, spawned):
        np.testing.assert_array_equal(a, b)


def test_training_set_written_once_is_what_train_reads(tmp_path, capsys):
    from astropy_radiounet.exceptions import OutputExistsError
    from astropy_radiounet.training import read_training_set, write_training_set
    from astropy_radiounet.training.pairs import make_training_pairs

    config = TrainingConfig(**SMALL)
    config.write(tmp_path / "small.json")
    # Written with one process in shards of 3 and with two processes in one
    # shard: the same pairs, byte for byte the same arrays, as simulated.
    write_training_set(tmp_path / "a", config, 8, seed=5, shard_size=3)
    write_training_set(tmp_path / "b", config, 8, seed=5, parallel=2)
    x, y = read_training_set(tmp_path / "a", config)
    expected = make_training_pairs(config, 8, seed=5)
    for got, other, want in zip((x, y), read_training_set(tmp_path / "b"), expected):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(other, want)
    assert len(list((tmp_path / "a").glob("pairs_*.npz"))) == 3
    with pytest.raises(OutputExistsError):
        write_training_set(tmp_path / "a", config, 2, seed=5)
    # The command line writes the same set, and trains a model from it.
    assert main(["simulate", "training-set", str(tmp_path / "cli"), "--n-pairs", "8",
                 "--seed", "5", "--config", str(tmp_path / "small.json"),
                 "--no-progress"]) == 0
    np.testing.assert_array_equal(read_training_set(tmp_path / "cli")[0], x)
    assert main(["train", str(tmp_path / "small.json"), "-o", str(tmp_path / "model"),
                 "--training-set", str(tmp_path / "cli"), "--no-progress"]) == 0
    card = ModelCard.read(tmp_path / "model" / "small.json")
    assert card.training["training_set"] == {"path": str(tmp_path / "cli"), "n": 8}
    assert card.metrics["epochs_run"] >= 1


def test_training_set_of_another_recipe_is_refused(tmp_path):
    from astropy_radiounet.training import read_training_set, write_training_set

    config = TrainingConfig(**SMALL)
    write_training_set(tmp_path / "set", config, 4, seed=1)
    other = TrainingConfig(**{**SMALL, "mask_snr": 2.0})
    with pytest.raises(ValueError, match="mask_snr is 0.5 there and 2.0 in the config"):
        read_training_set(tmp_path / "set", other)
    with pytest.raises(ValueError, match="mask_snr is 0.5 there"):
        train(other, tmp_path / "m", training_set=tmp_path / "set", progress_bar=False)
    with pytest.raises(ValueError, match="holds no readable training set"):
        read_training_set(tmp_path / "nothing")
    from astropy_radiounet.training.config import VALIDATION_SEED_OFFSET

    write_training_set(tmp_path / "val", config, 4, seed=config.seed + VALIDATION_SEED_OFFSET)
    with pytest.raises(ValueError, match="the seed of this config's validation pairs"):
        train(config, tmp_path / "m", training_set=tmp_path / "val", progress_bar=False)
