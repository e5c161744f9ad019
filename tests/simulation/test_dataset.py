"""Tests of the cluster-sample writer."""

import hashlib

import numpy as np
import pytest
from astropy.table import QTable

from astropy_radiounet.simulation import write_cluster_sample


def _digest(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir())}


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_fields must be a positive integer; got 0"):
        write_cluster_sample("unused", 0)
    with pytest.raises(ValueError, match="parallel must be False, True, a positive number"):
        write_cluster_sample("unused", 1, parallel=0)
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
