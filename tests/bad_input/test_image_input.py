"""
Bad images get a clear answer (issue 15, the image-input cases).

Each test gives the package one kind of bad or unusual image and checks that
it is refused with an error, or used with a warning, that names the problem
and the fix -- or that it simply works -- and that nothing is changed
silently.  The random-weight models of conftest stand in for a trained one,
except where the case is about what the shipped model finds.
"""

import copy
import gzip
import shutil
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS
from radio_beam import Beam

from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.data import example_field_path
from astropy_radiounet.exceptions import (BlankDataWarning, ImplausibleDataWarning,
                                          InputReplacedWarning, MissingMetadataWarning,
                                          ResolutionWarning)
from astropy_radiounet.image import ImagePlane, NoiseMap, ResampledImage, read_image
from astropy_radiounet.image.beams import gaussian_kernel
from astropy_radiounet.image.resampling import convolve_same
from astropy_radiounet.segmentation import model_input
from astropy_radiounet.segmentation.model_input import prepare_model_input

from helpers import lotss_header, lotss_like_image

SHAPE = (96, 112)


@pytest.fixture(scope="module")
def shipped():
    """The shipped model (3 s to load; about 0.5 s per example field)."""
    return RadioUNetSegmenter()


@pytest.fixture(scope="module")
def example():
    """The shipped example field: data (float32) and header."""
    with fits.open(example_field_path()) as hdulist:
        return hdulist[0].data.astype(np.float32), hdulist[0].header.copy()


@pytest.fixture(scope="module")
def coarse(coarse_model_dir):
    """A random model at 3 arcsec pixels and a 12 arcsec beam: resamples and convolves."""
    return RadioUNetSegmenter(weights=coarse_model_dir / "coarse.json", tile_shape=(64, 64))


def field(shape=SHAPE, **kwargs):
    """A LoTSS-like image (float32) and its 2-D header."""
    return (lotss_like_image(shape, **kwargs).astype(np.float32),
            lotss_header(shape, four_d=False))


def n_segments(segmenter, data, header):
    plane = read_image(fits.PrimaryHDU(data, header=header))
    segments = segmenter.segment(segmenter.predict_probability(plane), wcs=plane.wcs,
                                 beam=plane.beam)
    return 0 if segments is None else segments.n_labels


# -- 1. one extreme pixel -----------------------------------------------------------

@pytest.mark.parametrize("value", [1e6, 1e30])
def test_one_extreme_pixel_keeps_the_segments_of_the_shipped_model(shipped, example, value):
    data, header = example
    assert n_segments(shipped, data, header) == 1
    bad = data.copy()
    bad[100, 120] = value
    with pytest.warns(ImplausibleDataWarning,
                      match=r"1 pixel brighter than 1e\+05 Jy/beam.*\(x, y\) = \(120, 100\)"):
        assert n_segments(shipped, bad, header) == 1


def test_one_extreme_pixel_changes_neither_the_noise_nor_the_input_elsewhere(coarse):
    data, header = field((256, 256))
    plane = read_image(fits.PrimaryHDU(data, header=header))
    clean = prepare_model_input(plane, coarse.card)
    bad = data.copy()
    bad[10, 12] = 1e30
    with pytest.warns(ImplausibleDataWarning, match=r"\(x, y\) = \(12, 10\)"):
        spoilt = prepare_model_input(read_image(fits.PrimaryHDU(bad, header=header)),
                                     coarse.card)
    # Noise boxes of 32 model pixels (4 x 4 of them), median filtered over 3 x 3: only
    # the boxes next to the one that holds the pixel may change, as for a bright source.
    assert spoilt.noise.mesh.shape == (4, 4)
    np.testing.assert_allclose(spoilt.noise.mesh[2:], clean.noise.mesh[2:], rtol=1e-6)
    np.testing.assert_allclose(spoilt.noise.mesh[:, 2:], clean.noise.mesh[:, 2:], rtol=1e-6)
    # Beyond those boxes (whose centres are 32 model pixels apart), the input is the same.
    for far in ((slice(80, None), slice(None)), (slice(None), slice(80, None))):
        np.testing.assert_allclose(spoilt.normalised(*far), clean.normalised(*far), atol=1e-6)


def test_convolution_takes_extreme_pixels_out_of_the_fft():
    from scipy import ndimage
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(1)
    values = rng.normal(size=(60, 70))
    kernel = gaussian_kernel(np.array([[4.0, 1.0], [1.0, 2.0]]))
    values[3, 5], values[40, 68] = 1e30, -1e12
    result = convolve_same(values, kernel)
    # Exact: the same as a direct convolution, at the extreme pixels and far from them.
    direct = ndimage.convolve(values, kernel, mode="constant")
    np.testing.assert_allclose(result[:15, :15], direct[:15, :15], rtol=1e-9)
    ordinary = values.copy()
    ordinary[3, 5] = ordinary[40, 68] = 0.0
    np.testing.assert_allclose(result[20:35, 20:50],
                               fftconvolve(ordinary, kernel, mode="same")[20:35, 20:50],
                               atol=1e-9)


def test_values_beyond_float32_are_blank_not_infinite(tiny_segmenter):
    data, _ = field()
    data = data.astype(np.float64)
    data[50, 50] = 1e39
    with pytest.warns(ImplausibleDataWarning, match="float32 range"):
        probability = tiny_segmenter.predict_probability(data)
    assert np.isnan(probability[50, 50])
    assert np.isfinite(np.delete(probability.ravel(), 50 * SHAPE[1] + 50)).all()


# -- 2. constant images ---------------------------------------------------------------

@pytest.mark.parametrize("which", ["tiny", "coarse"])
def test_constant_image_is_refused(which, tiny_segmenter, coarse):
    segmenter = tiny_segmenter if which == "tiny" else coarse
    _, header = field()
    image = np.full(SHAPE, 1e-3, dtype=np.float32)
    image[:, :5] = np.nan  # blanking does not make it less constant
    with pytest.raises(ValueError, match=r"image is constant: all \d+ valid pixels are "
                                         r"0\.001 Jy/beam.*no noise to measure"):
        segmenter.predict_probability(fits.PrimaryHDU(image, header=header))


def test_constant_image_is_refused_by_the_shipped_model(shipped, example):
    _, header = example
    with pytest.raises(ValueError, match="image is constant"):
        shipped.predict_probability(fits.PrimaryHDU(np.full((600, 600), 1e-3, np.float32),
                                                    header=header))


def test_noise_of_a_constant_image_after_rounding_is_refused():
    # A constant image resampled or convolved varies by float32 rounding only.
    values = np.float32(1e-3) * (1 + np.random.default_rng(0).normal(0, 1e-7, (64, 64)))
    with pytest.raises(ValueError, match="non-constant"):
        NoiseMap.estimate(ResampledImage(values.astype(np.float32), np.ones((64, 64), bool)))


# -- 3. blanking written as zeros -------------------------------------------------------

def test_zero_filled_borders_of_the_example_are_blank(shipped, example):
    data, header = example
    pad = 300
    padded = np.zeros((600 + 2 * pad,) * 2, dtype=np.float32)
    padded[pad:-pad, pad:-pad] = data
    header = header.copy()
    header["CRPIX1"] += pad
    header["CRPIX2"] += pad
    with pytest.warns(BlankDataWarning, match=r"1080000 pixels of exact zeros.*touching the "
                                              r"image edge.*blank_zero_borders=False"):
        plane = read_image(fits.PrimaryHDU(padded, header=header))
    assert plane.mask[:pad].all() and not plane.mask[pad:-pad, pad:-pad].any()
    probability = shipped.predict_probability(plane)
    assert np.isnan(probability[:pad]).all()
    assert shipped.segment(probability, wcs=plane.wcs, beam=plane.beam).n_labels == 1


def test_only_large_zero_regions_at_the_edge_are_blank():
    data, header = field()
    data[40:60, 40:60] = 0.0     # inside: not blanking
    data[0, :3] = 0.0            # at the edge, but smaller than 4 beams
    data[:, -10:] = 0.0          # blanking written as 0
    with pytest.warns(BlankDataWarning, match="960 pixels of exact zeros"):
        plane = read_image(fits.PrimaryHDU(data, header=header))
    assert plane.mask[:, -10:].all() and plane.mask.sum() == 960
    with warnings.catch_warnings():
        warnings.simplefilter("error", BlankDataWarning)
        assert read_image(fits.PrimaryHDU(data, header=header),
                          blank_zero_borders=False).mask is None
        assert ImagePlane.from_array(data).mask is None  # explicit construction keeps zeros


def test_all_zero_image_is_blank(tiny_segmenter):
    with pytest.warns(BlankDataWarning, match="blank"):
        probability = tiny_segmenter.predict_probability(np.zeros(SHAPE, np.float32))
    assert np.isnan(probability).all()


# -- 4. masked arrays -------------------------------------------------------------------

def test_masked_array_mask_is_honoured_and_adds_to_mask(tiny_segmenter):
    data, _ = field()
    masked = np.ma.MaskedArray(data, mask=np.zeros(SHAPE, bool))
    masked[:10] = np.ma.masked
    extra = np.zeros(SHAPE, bool)
    extra[:, :7] = True
    plane = read_image(masked, mask=extra)
    assert plane.mask[:10].all() and plane.mask[:, :7].all()
    assert plane.mask.sum() == 10 * SHAPE[1] + 7 * (SHAPE[0] - 10)
    probability = tiny_segmenter.predict_probability(masked)
    assert np.isnan(probability[:10]).all() and np.isfinite(probability[10:]).all()


# -- 5. non-square pixels -------------------------------------------------------------

def test_non_square_pixels_are_warned_about(coarse):
    data, header = field()
    header["CDELT2"] = 3.0 / 3600
    with pytest.warns(ResolutionWarning, match=r"not square \(1\.5 x 3 arcsec.*geometric mean "
                                               r"2\.12 arcsec.*Reproject"):
        coarse.predict_probability(fits.PrimaryHDU(data, header=header))


# -- 6. no pixel scale; absurd model grids ------------------------------------------------

def test_header_without_cdelt_is_refused_naming_the_keyword_and_file(tmp_path, coarse):
    data, header = field()
    wcs = WCS(header)
    del header["CDELT1"], header["CDELT2"]
    path = tmp_path / "no_scale.fits"
    fits.PrimaryHDU(data, header=header).writeto(path)
    with pytest.raises(ValueError, match=r"file '.*no_scale.fits' has a celestial WCS.*no "
                                         r"CDELT1 or CDELT2.*1 deg per pixel.*wcs="):
        coarse.predict_probability(path)
    with pytest.warns(InputReplacedWarning):
        assert coarse.predict_probability(path, wcs=wcs).shape == SHAPE


def test_absurd_model_grid_is_refused_before_allocation(coarse, monkeypatch):
    data, header = field()
    one_degree = WCS(header)
    one_degree.wcs.cdelt = [-1.0, 1.0]  # as wcslib assumes without CDELT
    with pytest.raises(ValueError, match=r"model grid of 115200 x 134400 pixels.*needs about "
                                         r"\d.* [GT]iB of memory, more than"):
        coarse.predict_probability(data, wcs=one_degree, beam=Beam(6 * u.arcsec))
    monkeypatch.setattr(model_input, "MAX_MODEL_GRID_BYTES", 2**16)
    with pytest.raises(ValueError, match=r"more than MAX_MODEL_GRID_BYTES \(64 KiB\)"):
        coarse.predict_probability(fits.PrimaryHDU(data, header=header))


# -- 7. a card pixel scale of 0 ----------------------------------------------------------

def test_card_pixel_scale_of_zero_is_refused(coarse):
    data, header = field()
    card = copy.copy(coarse.card)  # a deep copy loses the beam's axes (radio-beam issue 71)
    card.pixel_scale = 0 * u.arcsec
    with pytest.raises(ValueError, match="model card's pixel scale is 0.0 arcsec"):
        prepare_model_input(read_image(fits.PrimaryHDU(data, header=header)), card)


# -- 8. a header beam that is not a beam ----------------------------------------------------

@pytest.mark.parametrize("bmaj, match", [("abc", r"BMAJ = 'abc' is not a number"),
                                         (0.0, r"BMAJ=0\.0.*not a beam")])
def test_bad_header_beam_names_the_keyword_and_the_file(tmp_path, bmaj, match):
    data, header = field()
    header["BMAJ"] = bmaj
    header["BMIN"] = bmaj
    path = tmp_path / "bad_beam.fits"
    fits.PrimaryHDU(data, header=header).writeto(path)
    with pytest.raises(ValueError, match=f"file '.*bad_beam.fits'.*{match}.*beam="):
        read_image(path)
    with pytest.warns(InputReplacedWarning, match="beam keyword replaces it"):
        assert read_image(path, beam=Beam(6 * u.arcsec)).beam.major == 6 * u.arcsec


# -- 9. an NDData mask of the wrong shape -------------------------------------------------

def test_nddata_mask_of_the_wrong_shape_names_both_shapes():
    data, _ = field()
    with pytest.raises(ValueError, match=r"mask has shape \(4, 4\) but its data have shape "
                                         r"\(96, 112\)"):
        read_image(NDData(data, mask=np.zeros((4, 4), bool)))
    # Degenerate axes of data and mask are dropped alike.
    four_d = NDData(data[np.newaxis, np.newaxis], mask=np.ones((1, 1, *SHAPE), bool))
    assert read_image(four_d).mask.shape == SHAPE


# -- 10. tiny images --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (1, 15)])
def test_image_too_small_for_the_model_says_so(tiny_segmenter, shape):
    with pytest.raises(ValueError, match=rf"image is {shape[0]} x {shape[1]} pixels: too small "
                                         r"for the model.*at least 16 pixels"):
        tiny_segmenter.predict_probability(lotss_like_image(shape))


def test_image_too_small_names_the_size_in_image_pixels(coarse):
    data, header = field((6, 6))
    with pytest.raises(ValueError, match=r"3 x 3 on the model's grid.*8 x 8 pixels of this"):
        coarse.predict_probability(fits.PrimaryHDU(data, header=header))


def test_single_row_image_is_processed(tiny_segmenter):
    assert np.isfinite(tiny_segmenter.predict_probability(lotss_like_image((1, 40)))).all()


# -- 11. scaled integers ------------------------------------------------------------------------

def test_int16_file_with_bscale_and_bzero_is_read(tmp_path, tiny_segmenter):
    data, header = field()
    quantised = np.clip(np.round(data / 1e-6), -30000, 30000).astype(np.int16)
    hdu = fits.PrimaryHDU(quantised, header=header)
    hdu.header["BSCALE"], hdu.header["BZERO"] = 1e-6, 1e-5
    path = tmp_path / "int16.fits"
    hdu.writeto(path)
    assert fits.getheader(path)["BITPIX"] == 16
    plane = read_image(path)
    np.testing.assert_allclose(plane.data, quantised * 1e-6 + 1e-5, rtol=1e-6, atol=1e-12)
    probability = tiny_segmenter.predict_probability(path)
    assert np.isfinite(probability).all()


# -- 12. what keeps working -----------------------------------------------------------------

def write(path, data, header, kind="primary"):
    if kind == "primary":
        fits.PrimaryHDU(data, header=header).writeto(path)
    elif kind == "extension":
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header=header)]).writeto(path)
    elif kind == "compressed":  # lossless for floats
        hdu = fits.CompImageHDU(data, header=header, compression_type="GZIP_2",
                                quantize_level=0.0)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path


@pytest.mark.parametrize("kind", ["big-endian", "extension", "compressed", "gzip", "unicode"])
def test_files_of_every_kind_agree(tmp_path, tiny_segmenter, kind):
    data, header = field(blank_edge=6)
    reference = tiny_segmenter.predict_probability(write(tmp_path / "ref.fits", data, header))
    if kind == "big-endian":
        path = write(tmp_path / "be.fits", data.astype(">f4"), header)
    elif kind in ("extension", "compressed"):
        path = write(tmp_path / f"{kind}.fits", data, header, kind)
    elif kind == "gzip":
        plain = write(tmp_path / "plain.fits", data, header)
        path = tmp_path / "plain.fits.gz"
        with open(plain, "rb") as source, gzip.open(path, "wb") as target:
            shutil.copyfileobj(source, target)
    else:
        path = write(tmp_path / "Abell 2255 – champ é 光.fits", data, header)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingMetadataWarning)
        probability = tiny_segmenter.predict_probability(path)
    np.testing.assert_allclose(probability, reference, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("projection", ["NCP", "CAR", "TAN"])
def test_projections(coarse, projection):
    data, header = field()
    header["CTYPE1"], header["CTYPE2"] = f"RA---{projection}", f"DEC--{projection}"
    assert np.isfinite(coarse.predict_probability(fits.PrimaryHDU(data, header=header))).all()


def test_cube_is_refused_with_how_to_pick_a_plane(tmp_path):
    data, _ = field()
    header = lotss_header(SHAPE)
    header["NAXIS3"] = 2
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.stack([data, data])[np.newaxis], header=header).writeto(path)
    with pytest.raises(ValueError, match=r"file '.*cube.fits' is a cube: FITS axis 3 \(FREQ\) "
                                         r"has 2 planes.*Pick a plane"):
        read_image(path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_all_blank_images_give_a_blank_map(tiny_segmenter, value):
    with pytest.warns(BlankDataWarning, match="blank.*everywhere"):
        probability = tiny_segmenter.predict_probability(np.full(SHAPE, value, np.float32))
    assert np.isnan(probability).all()


def test_infinite_pixels_are_blank(tiny_segmenter):
    data, _ = field()
    data[20, 30], data[60, 70] = np.inf, -np.inf
    probability = tiny_segmenter.predict_probability(data)
    assert np.isnan(probability[20, 30]) and np.isnan(probability[60, 70])
    assert np.isfinite(probability).sum() == data.size - 2


def test_wrong_and_missing_bunit():
    data, header = field()
    header["BUNIT"] = "K"
    with pytest.raises(ValueError, match=r"brightness unit 'K'.*Convert the image to Jy/beam"):
        read_image(fits.PrimaryHDU(data, header=header))
    del header["BUNIT"]
    with pytest.warns(MissingMetadataWarning, match="no BUNIT.*pass unit="):
        assert read_image(fits.PrimaryHDU(data, header=header)).unit == u.Jy / u.beam


@pytest.mark.parametrize("cut", [0.5, 0.05])
def test_truncated_file_is_refused_naming_the_file(tmp_path, cut):
    data, header = field()
    whole = write(tmp_path / "whole.fits", data, header).read_bytes()
    path = tmp_path / "cut.fits"
    path.write_bytes(whole[:int(len(whole) * cut)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # the file is closed again
        with pytest.raises(ValueError, match=r"'.*cut.fits'.*(truncated|corrupt)"):
            read_image(path)


def test_non_fits_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "notes.fits"
    path.write_text("not an image\n" * 300)
    with pytest.raises(ValueError, match=r"Cannot read '.*notes.fits' as FITS"):
        read_image(path)


# -- 13. no beam anywhere -----------------------------------------------------------------

def test_no_beam_warning_says_how_to_pass_one(coarse):
    data, header = field()
    with pytest.warns(MissingMetadataWarning,
                      match=r"no beam.*beam=radio_beam\.Beam\(6 \* u\.arcsec\)"):
        coarse.predict_probability(data, wcs=WCS(header))
