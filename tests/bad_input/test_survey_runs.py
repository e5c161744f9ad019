"""Bad input and faults in survey runs: each gets a clear answer, and nothing is lost."""

import errno
import json
import os
import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.cli import main
from astropy_radiounet.exceptions import BlankDataWarning, CatalogWarning, OutputLockedError
from astropy_radiounet.survey import classify_clusters, search_mosaics
from astropy_radiounet.utils import run_lock

from helpers import lotss_header, lotss_like_image

SHAPE = (200, 220)


def _mosaic(path, *, ra=205.0, seed=1, halo=True):
    data = lotss_like_image(SHAPE, seed=seed, halo_at=(100, 110) if halo else None)
    fits.PrimaryHDU(data.astype(np.float32), header=lotss_header(SHAPE, crval1=ra)).writeto(path)
    return path


def _catalog(names, ra, z=0.3):
    return QTable({"name": names, "ra": ra * u.deg, "dec": [55.0] * len(names) * u.deg,
                   "z": [z] * len(names), "r500": [800.0] * len(names) * u.kpc})


@pytest.fixture()
def segmenter(tiny_model_dir):
    return RadioUNetSegmenter(10, weights=tiny_model_dir / "tiny.json", tile_shape=(128, 128))


def test_search_with_a_mosaic_without_candidates_merges_and_resumes(tmp_path, segmenter):
    with_halo = _mosaic(tmp_path / "halo.fits", seed=3)
    empty = tmp_path / "empty.fits"  # blank: it can have no candidate
    fits.PrimaryHDU(np.full(SHAPE, np.nan, np.float32), header=lotss_header(SHAPE)).writeto(empty)
    probability = segmenter.predict_probability(with_halo)
    segmenter.threshold = float(np.nanpercentile(probability, 90))
    with pytest.warns(BlankDataWarning):
        table, summary = search_mosaics([with_halo, empty], segmenter, tmp_path / "out")
    assert not summary["failed"] and summary["done"] == 2
    assert len(table) >= 1 and set(table["mosaic"]) == {str(with_halo)}
    assert (tmp_path / "out" / "empty" / "empty_segments.reg").exists()
    again, summary = search_mosaics([with_halo, empty], segmenter, tmp_path / "out")
    assert summary["skipped"] == 2 and len(again) == len(table)


def test_a_second_run_into_one_output_directory_is_refused(tmp_path, segmenter):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "out"
        out.mkdir()
        (out / ".radiounet.lock").write_text(json.dumps(
            {"host": os.uname().nodename, "pid": sleeper.pid, "command": "radiounet search",
             "started": "2026-11-29T12:00:00"}))
        mosaic = _mosaic(tmp_path / "m.fits")
        with pytest.raises(OutputLockedError, match=f"radiounet search started .* by process "
                                                    f"{sleeper.pid}.*another output directory"):
            search_mosaics([mosaic], segmenter, out)
        assert main(["search", str(mosaic), "-o", str(out), "--weights",
                     str(segmenter.weights), "--no-progress"]) == 2
    finally:
        sleeper.kill()
        sleeper.wait()
    # The holder is gone (a run killed with kill -9): the lock is taken over.
    table, summary = search_mosaics([mosaic], segmenter, out)
    assert summary["done"] == 1 and not (out / ".radiounet.lock").exists()


def test_run_lock_is_released_however_the_run_ends(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), run_lock(tmp_path, "test"):
        raise RuntimeError("boom")
    with run_lock(tmp_path, "test"):
        with pytest.raises(OutputLockedError, match="test started"):
            with run_lock(tmp_path, "other"):
                pass
    assert not list(tmp_path.iterdir())


def test_rerun_with_fewer_mosaics_keeps_earlier_measurements(tmp_path, segmenter):
    a = _mosaic(tmp_path / "A.fits", ra=205.0)
    catalog = _catalog(["c1", "c2"], [205.0, 205.01])
    first, _ = classify_clusters(catalog, [a], output_dir=tmp_path / "out",
                                 segmenter=segmenter, ratio_threshold=0.4, products=True)
    assert set(first["status"]) == {"ok"}
    (tmp_path / "out" / "products" / "c1_overlay.png").unlink()  # products to redo
    with pytest.warns(CatalogWarning, match="1 clusters measured in an earlier run could not "
                                            "be measured now.*kept"):
        again, counts = classify_clusters(catalog, [], output_dir=tmp_path / "out",
                                          segmenter=segmenter, ratio_threshold=0.4,
                                          products=True)
    assert counts["kept"] == 1 and counts["skipped"] == 1
    np.testing.assert_array_equal(again["ratio"], first["ratio"])
    assert set(again["status"]) == {"ok"}


@pytest.mark.parametrize("options, match", [
    ({"factor": 0}, "factor must be a finite positive number; got 0"),
    ({"factor": -2.2}, "factor must be a finite positive number"),
    ({"factor": float("nan")}, "factor must be a finite positive number"),
    ({"context": 0.5}, "context must be at least 1"),
    ({"ratio_threshold": -1}, r"ratio_threshold is a detection ratio .* \[0, 1\]; got -1"),
    ({"ratio_threshold": 2}, r"must be in \[0, 1\]; got 2"),
])
def test_bad_classify_options_are_refused_before_any_work(tmp_path, segmenter, options, match):
    with pytest.raises(ValueError, match=match):
        classify_clusters(_catalog(["c"], [205.0]), [], output_dir=tmp_path / "out",
                          segmenter=segmenter, **options)
    assert not (tmp_path / "out").exists()


def test_very_long_cluster_names_get_short_unit_files(tmp_path, segmenter):
    a = _mosaic(tmp_path / "A.fits")
    long = ["PSZ2 " + "G" * 300, "PSZ2 " + "G" * 299 + "H"]
    table, counts = classify_clusters(_catalog(long, [205.0, 205.01]), [a],
                                      output_dir=tmp_path / "out", segmenter=segmenter,
                                      ratio_threshold=0.4)
    assert list(table["name"]) == long and set(table["status"]) == {"ok"}
    units = sorted(p.name for p in (tmp_path / "out" / "units").iterdir())
    assert len(units) == 2 and all(len(name) <= 105 for name in units)


def test_outputs_where_a_file_is_are_a_clear_error(tmp_path, lotss_fits, tiny_model_dir, capsys):
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file")
    status = main(["segment", str(lotss_fits), "-o", str(blocker / "out"), "--weights",
                   str(tiny_model_dir / "tiny.json"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert f"cannot use '{blocker / 'out'}'" in err and "Not a directory" in err


def test_a_full_disk_is_an_error_when_the_map_is_reserved(tmp_path, monkeypatch):
    from astropy_radiounet.survey import create_fits

    def full(fd, offset, size):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(OSError, match=r"Cannot reserve 0\.00 GiB .*No space left on device.*"
                                      r"Free space there"):
        create_fits(tmp_path / "map.fits", (100, 100), "float32")
    assert not (tmp_path / "map.fits").exists()


def test_simulating_a_field_nobody_meant_is_a_one_line_error(tmp_path, capsys):
    status = main(["simulate", "field", str(tmp_path / "f"), "--shape", "100000", "100000"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and "GiB, more than" in err
