"""LoTSS-style FITS output: 4-D SIN headers with degenerate FREQ and STOKES axes."""

import astropy.units as u
import numpy as np
from astropy.io import fits

__all__ = ["lotss_header", "image_hdu"]


def lotss_header(shape, *, center, pixel_scale, beam, frequency=144e6, bandwidth=48e6,
                 four_d=True, bunit="JY/BEAM", object_name="SIMULATED", extra=None):
    """
    A LoTSS-style FITS header.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(ny, nx)``.
    center : `~astropy.coordinates.SkyCoord`
        Sky position of the reference pixel (the image centre).
    pixel_scale : float
        Pixel size in arcsec.
    beam : tuple of float
        ``(major, minor, pa)`` in arcsec, arcsec, deg.
    frequency, bandwidth : float
        Reference frequency and bandwidth in Hz.
    four_d : bool
        Add degenerate FREQ and STOKES axes (as the LoTSS mosaics have).
    bunit : str
        Brightness unit string.
    object_name : str
        OBJECT keyword.
    extra : dict, optional
        More keywords (name -> value or (value, comment)).

    Returns
    -------
    `~astropy.io.fits.Header`

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> h = lotss_header((64, 64), center=SkyCoord(205, 55, unit='deg'), pixel_scale=1.5,
    ...                  beam=(6.0, 6.0, 0.0))
    >>> h['CTYPE3'], h['CTYPE4'], h['NAXIS']
    ('FREQ', 'STOKES', 4)
    """
    ny, nx = shape
    icrs = center.icrs
    h = fits.Header()
    h["SIMPLE"] = True
    h["BITPIX"] = -32
    h["NAXIS"] = 4 if four_d else 2
    h["NAXIS1"], h["NAXIS2"] = nx, ny
    if four_d:
        h["NAXIS3"], h["NAXIS4"] = 1, 1
    h["WCSAXES"] = 4 if four_d else 2
    h["CTYPE1"], h["CTYPE2"] = "RA---SIN", "DEC--SIN"
    h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
    h["CRPIX1"], h["CRPIX2"] = nx / 2 + 0.5, ny / 2 + 0.5
    h["CRVAL1"] = float(icrs.ra.to_value(u.deg))
    h["CRVAL2"] = float(icrs.dec.to_value(u.deg))
    h["CDELT1"], h["CDELT2"] = -pixel_scale / 3600, pixel_scale / 3600
    if four_d:
        h["CTYPE3"], h["CUNIT3"] = "FREQ", "Hz"
        h["CRPIX3"], h["CRVAL3"], h["CDELT3"] = 1.0, float(frequency), float(bandwidth)
        h["CTYPE4"], h["CUNIT4"] = "STOKES", ""
        h["CRPIX4"], h["CRVAL4"], h["CDELT4"] = 1.0, 1.0, 1.0
    h["RADESYS"], h["EQUINOX"] = "ICRS", 2000.0
    h["LONPOLE"], h["LATPOLE"] = 180.0, h["CRVAL2"]
    h["BMAJ"] = (beam[0] / 3600, "[deg] restoring beam major axis FWHM")
    h["BMIN"] = (beam[1] / 3600, "[deg] restoring beam minor axis FWHM")
    h["BPA"] = (beam[2], "[deg] restoring beam position angle")
    h["BUNIT"] = bunit
    h["BTYPE"] = "Intensity"
    h["RESTFRQ"] = (float(frequency), "[Hz]")
    h["TELESCOP"] = "LOFAR"
    h["OBSERVER"] = "SIMULATION"
    h["OBJECT"] = object_name
    h["ORIGIN"] = "astropy_radiounet.simulation"
    for key, value in (extra or {}).items():
        h[key] = value
    return h


def image_hdu(data, header, *, primary=True, name=None, dtype=np.float32):
    """An HDU holding a 2-D plane, reshaped to the header's dimensionality."""
    arr = np.asarray(data, dtype=dtype)
    if header["NAXIS"] == 4:
        arr = arr[np.newaxis, np.newaxis]
    hdr = header.copy()
    for key in ("SIMPLE", "BITPIX", "EXTEND"):
        hdr.remove(key, ignore_missing=True)
    if not np.issubdtype(arr.dtype, np.floating):
        hdr.remove("BUNIT", ignore_missing=True)
    if primary:
        return fits.PrimaryHDU(arr, header=hdr)
    return fits.ImageHDU(arr, header=hdr, name=name)
