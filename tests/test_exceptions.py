"""The warning family and OutputExistsError, raised where the package raises them."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from astropy_radiounet import DetectionRatio, read_image
from astropy_radiounet.exceptions import (BlankDataWarning, InputReplacedWarning,
                                          MissingMetadataWarning, OutputExistsError,
                                          RadioUNetWarning)

from astropy.wcs import WCS

from .helpers import lotss_header


def make_wcs(n):
    return WCS(lotss_header((n, n), four_d=False)).celestial


def test_every_warning_is_a_radiounet_and_an_astropy_warning():
    import astropy_radiounet.exceptions as exceptions

    kinds = [getattr(exceptions, name) for name in exceptions.__all__
             if name.endswith("Warning")]
    assert len(kinds) >= 6
    for kind in kinds:
        assert issubclass(kind, RadioUNetWarning)
        assert issubclass(kind, AstropyUserWarning)


def test_missing_unit_warns_missing_metadata_at_the_callers_line():
    with pytest.warns(MissingMetadataWarning, match="no BUNIT") as record:
        read_image(fits.PrimaryHDU(np.random.default_rng(0).normal(size=(8, 8)).astype("f4")))
    # stacklevel=2 points into the package's caller chain, never at warnings.py
    assert not record[0].filename.endswith("warnings.py")


def test_replaced_wcs_warns_input_replaced():
    hdu = fits.PrimaryHDU(np.zeros((8, 8), dtype=np.float32),
                          header=lotss_header((8, 8), four_d=False))
    with pytest.warns(InputReplacedWarning, match="wcs keyword replaces it"):
        read_image(hdu, wcs=make_wcs(8))


def test_one_kind_can_be_silenced_without_the_others():
    probability = np.full((20, 20), 0.5, dtype=np.float32)
    far = SkyCoord(100 * u.deg, -40 * u.deg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", BlankDataWarning)
        stats = DetectionRatio(probability, far, 1 * u.arcmin, wcs=make_wcs(20))
    assert np.isnan(stats.ratio[0])
    with pytest.warns(BlankDataWarning, match="no valid pixel"):
        DetectionRatio(probability, far, 1 * u.arcmin, wcs=make_wcs(20))


def test_output_exists_error_carries_the_paths(tmp_path):
    from astropy_radiounet.simulation import simulate_field

    field = simulate_field((64, 64), seed=1, n_clusters=0, radio_galaxy_density=0)
    field.write(tmp_path / "f")
    with pytest.raises(OutputExistsError, match="overwrite=True") as info:
        field.write(tmp_path / "f")
    assert isinstance(info.value, FileExistsError)
    assert sorted(info.value.paths) == sorted(str(p) for p in tmp_path.iterdir())
    field.write(tmp_path / "f", overwrite=True)


def test_output_exists_error_lists_few_paths():
    error = OutputExistsError([f"out/{i}.fits" for i in range(6)])
    assert len(error.paths) == 6
    assert str(error).startswith("out/0.fits, out/1.fits, out/2.fits, out/3.fits, ... exist")
