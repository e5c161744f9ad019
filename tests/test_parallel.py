import sys

import numpy as np
import pytest
from astropy.io import fits

from astropy_radiounet.survey.products import create_fits
from astropy_radiounet.utils.parallel import run_tasks


def test_serial_and_local_processes_give_every_result():
    for parallel in (False, None, 1, 2):
        results = []
        run_tasks(abs, [-3, 1, -2], parallel, results.append, None)
        assert sorted(results) == [1, 2, 3]


def test_a_task_that_kills_its_process_is_reported_not_raised():
    from os import _exit

    results = []
    run_tasks(_exit, [0], 2, results.append, lambda task, exc: ("failed", task))
    assert results == [("failed", 0)]


@pytest.mark.parametrize("parallel", [0, -2, "threads", 1.5])
def test_bad_parallel_values_are_refused(parallel):
    with pytest.raises(ValueError, match="parallel must be False, True, a positive number"):
        run_tasks(abs, [1], parallel, print, None)


def test_current_scheduler_without_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask fails
    with pytest.raises(ImportError, match=r"needs dask.*pip install "
                       r"'astropy_radiounet\[distributed\]'"):
        run_tasks(abs, [1], "current-scheduler", print, None)


def test_create_fits_ignores_scaling_and_structure_of_the_given_header(tmp_path):
    header = fits.Header({"BSCALE": 2.0, "BZERO": 10.0, "BLANK": -1, "NAXIS3": 5,
                          "OBJECT": "kept"})
    data = create_fits(tmp_path / "m.fits", (4, 3), np.int32, header)
    data[:] = 7
    del data
    with fits.open(tmp_path / "m.fits") as hdul:
        assert hdul[0].header["OBJECT"] == "kept" and "BSCALE" not in hdul[0].header
        assert hdul[0].data.dtype.kind == "i" and np.all(hdul[0].data == 7)
    with pytest.raises(ValueError, match="dtype must be one of"):
        create_fits(tmp_path / "x.fits", (2, 2), np.uint8)
