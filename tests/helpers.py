"""Test data helpers: LoTSS-style headers and images made on the fly."""

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from scipy.ndimage import gaussian_filter

#: Configuration of the tiny U-Net used by most tests (random weights).
TINY = {"depth": 2, "filters": 4}

PIXEL = 1.5  # arcsec, as LoTSS
BEAM = 6.0   # arcsec FWHM


def lotss_header(shape, *, four_d=True, crval1=205.0, crval2=55.0, pixel=PIXEL, beam=BEAM,
                 bunit="JY/BEAM"):
    """A LoTSS-style header: SIN projection, degenerate FREQ and STOKES axes."""
    ny, nx = shape
    header = fits.Header()
    header["NAXIS"] = 4 if four_d else 2
    header["NAXIS1"], header["NAXIS2"] = nx, ny
    header["CTYPE1"], header["CTYPE2"] = "RA---SIN", "DEC--SIN"
    header["CRPIX1"], header["CRPIX2"] = nx / 2 + 0.5, ny / 2 + 0.5
    header["CRVAL1"], header["CRVAL2"] = crval1, crval2
    header["CDELT1"], header["CDELT2"] = -pixel / 3600, pixel / 3600
    header["CUNIT1"], header["CUNIT2"] = "deg", "deg"
    if four_d:
        header["NAXIS3"], header["NAXIS4"] = 1, 1
        header["CTYPE3"], header["CRPIX3"], header["CRVAL3"], header["CDELT3"] = (
            "FREQ", 1.0, 1.44e8, 4.8e7)
        header["CUNIT3"] = "Hz"
        header["CTYPE4"], header["CRPIX4"], header["CRVAL4"], header["CDELT4"] = (
            "STOKES", 1.0, 1.0, 1.0)
    header["BMAJ"], header["BMIN"], header["BPA"] = beam / 3600, beam / 3600, 90.0
    header["BUNIT"] = bunit
    header["RESTFRQ"] = 1.44e8
    return header


def lotss_like_image(shape, *, seed=0, noise=7e-5, beam_pixels=BEAM / PIXEL, blank_edge=0,
                     halo_at=None, halo_radius=25.0, halo_peak_snr=2.0):
    """Beam-correlated noise, a few point sources, optionally a faint halo, blank edges."""
    rng = np.random.default_rng(seed)
    sigma = beam_pixels / np.sqrt(8 * np.log(2))
    white = rng.normal(size=shape)
    correlated = gaussian_filter(white, sigma)
    image = correlated / correlated.std() * noise
    for _ in range(max(1, shape[0] * shape[1] // 20000)):
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        image[y, x] += rng.uniform(20, 200) * noise * 2 * np.pi * sigma**2
    if halo_at is not None:
        yy, xx = np.indices(shape)
        r = np.hypot(yy - halo_at[0], xx - halo_at[1])
        image += halo_peak_snr * noise * np.exp(-r / halo_radius)
    if blank_edge:
        image[:blank_edge] = np.nan
        image[:, -blank_edge:] = np.nan
    return image


def sin_wcs(crpix, *, pixel=3.0, crval=(150.0, 30.0)):
    """A SIN celestial WCS with square pixels of ``pixel`` arcsec, reference at ``crpix``."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = [crpix, crpix]
    wcs.wcs.cdelt = [-pixel / 3600, pixel / 3600]
    return wcs
