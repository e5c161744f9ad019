"""
FITS images written without holding them in memory.

`create_fits` reserves a primary-HDU image file of a given shape on disk
and returns its data as a writable memory map, so that maps of whole
mosaics can be filled strip by strip.
"""

import re

import numpy as np
from astropy.io import fits

__all__ = ["create_fits"]

#: Keywords of the copied header that this file sets itself or must not have.
_STRUCTURAL = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
               "BSCALE", "BZERO", "BLANK", "END", ""}

#: FITS BITPIX of the data types written.
_BITPIX = {np.dtype(np.float32): -32, np.dtype(np.float64): -64,
           np.dtype(np.int16): 16, np.dtype(np.int32): 32}


def create_fits(path, shape, dtype, header=None):
    """
    Reserve a FITS image on disk and return its data, memory-mapped.

    Parameters
    ----------
    path : str or path
        File to create (overwritten if it exists).
    shape : tuple of int
        Image shape, (ny, nx).
    dtype : dtype
        float32, float64, int16 or int32.
    header : `~astropy.io.fits.Header`, optional
        Further keywords (e.g. the WCS); the structural ones are set here.

    Returns
    -------
    data : `numpy.memmap`
        Big-endian, as FITS stores it, zero-filled; flush or delete it to
        finish writing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.io import fits
    >>> from astropy_radiounet.survey.fits_files import create_fits
    >>> path = pathlib.Path(tempfile.mkdtemp()) / 'map.fits'
    >>> data = create_fits(path, (3, 4), 'float32')
    >>> data[1] = 2.5
    >>> del data
    >>> fits.getdata(path)[1].tolist()
    [2.5, 2.5, 2.5, 2.5]
    """
    dtype = np.dtype(dtype)
    if dtype not in _BITPIX:
        msg = f"dtype must be one of {sorted(str(d) for d in _BITPIX)}; got {dtype}."
        raise ValueError(msg)
    ny, nx = (int(n) for n in shape)
    full = fits.Header()
    full["SIMPLE"] = True
    full["BITPIX"] = _BITPIX[dtype]
    full["NAXIS"] = 2
    full["NAXIS1"] = nx
    full["NAXIS2"] = ny
    for card in (header or fits.Header()).cards:
        # Structure and scaling are this file's own: a BSCALE/BZERO/BLANK or NAXISn
        # copied from another file would change how its data are read.
        if card.keyword in _STRUCTURAL or re.fullmatch(r"NAXIS\d+", card.keyword):
            continue
        full.append(card)
    text = full.tostring().encode("ascii")
    n_bytes = ny * nx * dtype.itemsize
    total = len(text) + -(-n_bytes // 2880) * 2880
    with open(path, "wb") as handle:
        handle.write(text)
        handle.truncate(total)
    return np.memmap(path, dtype=dtype.newbyteorder(">"), mode="r+", offset=len(text),
                     shape=(ny, nx))
