import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData, NDData
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS

from astropy_radiounet.image import parse_brightness_unit, read_image

from helpers import lotss_header


def test_four_d_lotss_file_gives_plane_wcs_beam(lotss_fits):
    plane = read_image(lotss_fits)
    assert plane.shape == (150, 170)
    assert plane.wcs.naxis == 2 and plane.wcs.has_celestial
    assert plane.beam.major.to_value(u.arcsec) == pytest.approx(6.0)
    assert plane.unit == u.Jy / u.beam and plane.scale == 1.0
    assert plane.data.dtype.byteorder == ">"  # memory-mapped, not copied
    values, valid = plane.read()
    assert values.dtype == np.float32 and values.dtype.isnative
    assert not valid[:8].any() and valid[20, 20]
    assert np.all(values[~valid] == 0)


def test_hdu_hdulist_and_path_agree(lotss_fits):
    with fits.open(lotss_fits) as hdulist:
        from_list = read_image(hdulist)
        from_hdu = read_image(hdulist[0])
        np.testing.assert_array_equal(from_list.data, from_hdu.data)
    from_path = read_image(lotss_fits)
    np.testing.assert_array_equal(from_path.data, from_hdu.data)


def test_cube_with_real_third_axis_is_refused(tmp_path):
    header = lotss_header((20, 30))
    header["NAXIS3"] = 3
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((1, 3, 20, 30), dtype=np.float32), header=header).writeto(path)
    with pytest.raises(ValueError, match=r"cube: FITS axis 3 \(FREQ\) has 3 planes.*Pick a plane"):
        read_image(path)


def test_header_dialects_pc_leading_zeros_negative_ra(tmp_path):
    header = lotss_header((40, 50), four_d=False, crval1=-155.0)
    header["PC01_01"], header["PC02_02"] = 1.0, 1.0
    header["PC01_02"], header["PC02_01"] = 0.0, 0.0
    plane = read_image(fits.PrimaryHDU(np.ones((40, 50)), header=header))
    sky = plane.wcs.pixel_to_world(24.5, 19.5)
    assert sky.ra.deg == pytest.approx(205.0, abs=1e-6)


@pytest.mark.parametrize(("unit", "scale"), [
    ("JY/BEAM", 1.0), ("Jy/beam", 1.0), ("mJy/beam", 1e-3), ("MJY/BEAM", 1e-3),
    (u.uJy / u.beam, 1e-6), (None, 1.0)])
def test_brightness_units_understood(unit, scale):
    assert parse_brightness_unit(unit)[1] == pytest.approx(scale)


@pytest.mark.parametrize("unit", ["K", "Jy/pixel", u.Jy, "erg/s"])
def test_other_units_are_refused_with_the_fix(unit):
    with pytest.raises(ValueError, match="Convert the image to Jy/beam"):
        parse_brightness_unit(unit)


def test_mjy_quantity_is_scaled_to_jy():
    plane = read_image(np.full((10, 12), 2.0) * u.mJy / u.beam)
    values, _ = plane.read()
    assert values[0, 0] == pytest.approx(2e-3)


def test_integer_and_big_endian_arrays():
    for array in (np.arange(12, dtype=">i2").reshape(3, 4),
                  np.arange(12, dtype=">f8").reshape(3, 4)):
        values, valid = read_image(array).read()
        assert values.dtype == np.float32 and valid.all()
        np.testing.assert_array_equal(values, np.arange(12).reshape(3, 4))


def test_nan_and_inf_are_blank_never_signal():
    data = np.ones((5, 5))
    data[0, 0], data[1, 1] = np.nan, np.inf
    values, valid = read_image(data).read()
    assert not valid[0, 0] and not valid[1, 1] and valid.sum() == 23
    assert values[0, 0] == 0 and values[1, 1] == 0


def test_nddata_mask_wcs_unit_and_keyword_override_warn():
    wcs = WCS(lotss_header((10, 12), four_d=False))
    mask = np.zeros((10, 12), bool)
    mask[0] = True
    nd = NDData(np.ones((10, 12)), wcs=wcs, mask=mask, unit="mJy/beam")
    plane = read_image(nd)
    assert plane.scale == pytest.approx(1e-3) and plane.wcs is not None
    assert not plane.read()[1][0].any()
    with pytest.warns(AstropyUserWarning, match="mask keyword replaces"):
        read_image(nd, mask=np.zeros((10, 12), bool))
    with pytest.warns(AstropyUserWarning, match="wcs keyword replaces"):
        read_image(nd, wcs=wcs)


def test_unit_keyword_supplies_a_missing_unit_and_must_agree_with_one_given():
    header = lotss_header((10, 12), four_d=False)
    header.pop("BUNIT", None)
    hdu = fits.PrimaryHDU(np.ones((10, 12), np.float32), header=header)
    with pytest.warns(AstropyUserWarning, match="no BUNIT.*pass unit="):
        assert read_image(hdu).scale == 1.0
    assert read_image(hdu, unit="mJy/beam").scale == pytest.approx(1e-3)
    assert read_image(NDData(np.ones((10, 12))), unit="uJy/beam").scale == pytest.approx(1e-6)
    with pytest.raises(ValueError, match="unit='Jy / beam' was passed.*'mJy / beam'"):
        read_image(NDData(np.ones((10, 12)), unit="mJy/beam"), unit="Jy/beam")
    with pytest.raises(ValueError, match="leave unit out"):
        read_image(np.ones((10, 12)) * u.mJy / u.beam, unit="Jy/beam")
    assert read_image(np.ones((10, 12)) * u.mJy / u.beam, unit="MJY/BEAM").scale == 1e-3


def test_ccddata_with_beam_in_header():
    header = lotss_header((10, 12), four_d=False)
    ccd = CCDData(np.ones((10, 12)), unit="Jy/beam", wcs=WCS(header), meta=header)
    plane = read_image(ccd)
    assert plane.beam.major.to_value(u.arcsec) == pytest.approx(6.0)


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such image file"):
        read_image(tmp_path / "missing.fits")
    (tmp_path / "text.fits").write_text("not a fits file")
    with pytest.raises(ValueError, match="is it a FITS image"):
        read_image(tmp_path / "text.fits")
    with pytest.raises(TypeError, match="Cannot read an image from dict"):
        read_image({"a": 1})
    with pytest.raises(ValueError, match="mask has shape"):
        read_image(np.ones((4, 4)), mask=np.zeros((3, 3), bool))
    with pytest.raises(TypeError, match="boolean"):
        read_image(np.ones((4, 4)), mask=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="one 2-D plane"):
        read_image(np.ones((2, 4, 4)))
    with pytest.raises(TypeError, match="real-valued"):
        read_image(np.ones((4, 4), dtype=complex))


def test_image_plane_from_array_cutout_and_replace():
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.wcs import WCS
    from radio_beam import Beam

    from astropy_radiounet.exceptions import InputReplacedWarning
    from astropy_radiounet.image import ImagePlane, read_image

    from helpers import lotss_header

    wcs = WCS(lotss_header((40, 50), four_d=False)).celestial
    data = np.arange(40 * 50, dtype=np.float32).reshape(40, 50)
    mask = np.zeros(data.shape, bool)
    mask[:5] = True
    plane = ImagePlane.from_array(data, wcs=wcs, beam=Beam(6 * u.arcsec), unit="mJy/beam",
                                  mask=mask)
    assert plane.scale == pytest.approx(1e-3) and plane.beam.major == 6 * u.arcsec
    centre = wcs.pixel_to_world(10, 20)
    part = plane.cutout(centre, (11, 9))
    assert part.shape == (11, 9) and part.beam == plane.beam and part.unit == plane.unit
    assert part.data[5, 4] == data[20, 10]
    np.testing.assert_allclose(part.wcs.world_to_pixel(centre), (4, 5), atol=1e-6)
    assert part.mask[5, 4] == mask[20, 10]
    corner = plane.cutout((0, 0), 6)  # pixel position; off the plane is blank
    assert np.isnan(corner.data[:3, :3]).all() and corner.mask[:3].all()
    assert plane.replace(beam=None).beam is None and plane.beam is not None
    with pytest.raises(ValueError, match="needs the plane's WCS"):
        plane.replace(wcs=None).cutout(SkyCoord(205 * u.deg, 55 * u.deg), 4)
    with pytest.warns(InputReplacedWarning, match="beam keyword replaces it"):
        read_image(plane, beam=Beam(12 * u.arcsec))


def test_cutout_of_an_integer_image_is_float_and_blank_off_the_image():
    from astropy_radiounet.image import ImagePlane

    data = np.arange(100, dtype=np.int16).reshape(10, 10)
    part = ImagePlane.from_array(data).cutout((1, 1), 4)
    assert part.data.dtype == np.float32
    assert np.isnan(part.data[0]).all() and np.isnan(part.data[:, 0]).all()
    np.testing.assert_array_equal(part.data[1:, 1:], data[:3, :3])
