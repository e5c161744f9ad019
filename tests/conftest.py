"""Shared fixtures: tiny random-weight models and LoTSS-style test images."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import astropy.units as u  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from astropy.io import fits  # noqa: E402
from radio_beam import Beam  # noqa: E402

from astropy_radiounet.models.card import load_model, save_model  # noqa: E402

from helpers import TINY, lotss_header, lotss_like_image  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A saved random-weight tiny U-Net with a card at the input's pixel scale."""
    model, card = load_model("unet", None, config=TINY, seed=3)
    directory = tmp_path_factory.mktemp("tiny_model")
    card.name = "tiny random U-Net"
    save_model(model, card, directory, stem="tiny")
    return directory


@pytest.fixture(scope="session")
def coarse_model_dir(tmp_path_factory):
    """A random tiny U-Net whose card asks for 3 arcsec pixels and a 12 arcsec beam."""
    model, card = load_model("unet", None, config=TINY, seed=4)
    card.name = "tiny random U-Net at 3 arcsec"
    card.pixel_scale = 3.0 * u.arcsec
    card.beam = Beam(12 * u.arcsec)
    card.noise_box_size = 32
    directory = tmp_path_factory.mktemp("coarse_model")
    save_model(model, card, directory, stem="coarse")
    return directory


@pytest.fixture(scope="session")
def tiny_segmenter(tiny_model_dir):
    from astropy_radiounet import RadioUNetSegmenter

    return RadioUNetSegmenter(weights=tiny_model_dir / "tiny.json", tile_shape=(128, 128),
                              threshold=0.45)


@pytest.fixture()
def lotss_fits(tmp_path):
    """A 4-D LoTSS-style FITS file (big-endian float32) with blanked edges."""
    shape = (150, 170)
    data = lotss_like_image(shape, blank_edge=8, halo_at=(75, 85))
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(data[np.newaxis, np.newaxis].astype(">f4"),
                    header=lotss_header(shape)).writeto(path)
    return path
