"""Tests of the training-set and cluster-sample writers."""

import hashlib

import numpy as np
import pytest
from astropy.table import QTable

from astropy_radiounet.simulation import (load_training_shard, write_cluster_sample,
                                          write_training_set)
from astropy_radiounet.simulation.dataset import augment_pair, make_training_pair


def _digest(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir())}


def test_training_set_deterministic_across_processes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ta = write_training_set(a, 5, tile_shape=(64, 64), seed=3, shard_size=2)
    write_training_set(b, 5, tile_shape=(64, 64), seed=3, shard_size=2, n_processes=2,
                       mp_context="fork")
    assert _digest(a) == _digest(b)
    assert len(ta) == 5
    images, masks, labels = load_training_shard(a / "pairs_00002.npz")
    assert images.shape == (1, 64, 64) and images.dtype == np.float32
    assert masks.dtype == np.uint8 and set(np.unique(masks)) <= {0, 1}
    assert ((labels > 0) <= (masks > 0)).all()
    with pytest.raises(OSError, match="overwrite"):
        write_training_set(a, 1, tile_shape=(64, 64))


def test_augmentation_consistent():
    rng = np.random.default_rng(0)
    parts = {"sky": np.zeros((8, 8)), "diffuse_sky": np.zeros((8, 8)),
             "noise": rng.normal(size=(8, 8)), "artefacts": np.zeros((8, 8)),
             "rms": np.ones((8, 8)), "labels": np.zeros((8, 8), np.int16)}
    parts["diffuse_sky"][1, 2] = parts["sky"][1, 2] = 1.0
    parts["labels"][1, 2] = 1
    img, mask, labels, info = augment_pair(rng, None, parts)
    assert mask.sum() == 1 and labels.sum() == 1
    assert np.argwhere(mask)[0].tolist() == np.argwhere(labels)[0].tolist()
    assert info["rot90"] in range(4)
    # Blanked pixels of the simulated image stay blank, with no truth there.
    image = np.zeros((8, 8))
    image[:, :3] = np.nan
    img, mask, labels, info = augment_pair(np.random.default_rng(1), image, parts,
                                           rotate=False, flip=False)
    assert np.isnan(img[:, :3]).all() and np.isfinite(img[:, 3:]).all()
    assert mask.sum() == 0 and labels.sum() == 0  # the one true pixel, (1, 2), is blank


def test_training_pair_with_and_without_augmentation():
    img, mask, labels, info = make_training_pair(5, tile_shape=(64, 64), augment=False,
                                                 n_clusters=0)
    assert info["n_clusters"] == 0 and info["noise_scale"] == 1.0
    assert img.shape == mask.shape == labels.shape == (64, 64)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_pairs"):
        write_training_set("unused", 0)
    with pytest.raises(ValueError, match="n_processes"):
        write_cluster_sample("unused", 1, n_processes=0)
    with pytest.raises(ValueError, match="n_clusters must be at least 1"):
        write_cluster_sample("unused", 1, n_clusters=0)


def test_cluster_sample(tmp_path):
    cat = write_cluster_sample(tmp_path, 2, shape=(96, 96), seed=4, diffuse_probability=1.0)
    assert isinstance(cat, QTable)
    assert list(cat["classification"]) == ["DE", "DE"]
    assert (tmp_path / "clusters.ecsv").exists()
    assert (tmp_path / cat["field"][0]).exists()
    np.testing.assert_allclose(cat["x"], 47.5)
    (tmp_path / "clusters.ecsv").unlink()  # the field files alone are not overwritten
    with pytest.raises(OSError, match="field_00000.*overwrite=True"):
        write_cluster_sample(tmp_path, 2, shape=(96, 96), seed=4)
