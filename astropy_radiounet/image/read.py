"""
Turn any supported input into one 2-D image plane with its celestial WCS,
restoring beam and brightness unit.

Supported inputs are a FITS file path, an `~astropy.io.fits.ImageHDU` /
`~astropy.io.fits.PrimaryHDU` / `~astropy.io.fits.HDUList`, an
`~astropy.nddata.NDData` (including `~astropy.nddata.CCDData`), a
`~astropy.units.Quantity` and a plain `~numpy.ndarray`.  LoTSS mosaics often
carry degenerate FREQ and STOKES axes: those are dropped.  A cube with a real
third axis is refused, with a message saying how to pick a plane.

Pixel values are not copied: a FITS file is opened memory-mapped and the
plane is a view, so images larger than memory can be processed in pieces
(integer images scaled by ``BSCALE``/``BZERO`` and tile-compressed images are
read into memory, as their values must be computed).  Non-finite pixels (NaN
blanking at mosaic edges) are left as they are and are treated as masked by
every later step.  Blanking written as zeros -- regions of exact zeros larger
than a few beams that touch the edge of the image -- is masked too, with a
`~astropy_radiounet.exceptions.BlankDataWarning`.
"""

import os
import warnings
from collections.abc import Mapping

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import InputReplacedWarning, MissingMetadataWarning
from .beams import beam_from_header, check_beam
from .blanking import mask_zero_borders
from .plane import ImagePlane, check_mask, check_wcs, drop_degenerate_axes
from .units import resolve_unit

__all__ = ["read_image"]

#: What astropy raises for a file that is not FITS, or is cut short.
_READ_ERRORS = (OSError, EOFError, ValueError, TypeError, IndexError, KeyError)


def _celestial_plane(data, header, *, source):
    """Drop degenerate non-celestial axes from a FITS image and its header."""
    if data is None:
        msg = (f"The {source} has no image data; pass the HDU that holds the image "
               f"(e.g. hdulist[1]).")
        raise ValueError(msg)
    if data.ndim < 2:
        drop_degenerate_axes(data, source=source)  # says what is wrong
    with warnings.catch_warnings():
        # Survey header dialects (PC01_01, ...) are fixed silently by wcslib.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header, naxis=data.ndim) if header is not None else None
    if wcs is not None and not wcs.has_celestial:
        wcs = None
    if wcs is not None:
        lng, lat = wcs.wcs.lng, wcs.wcs.lat
        if sorted((lng, lat)) != [0, 1]:
            msg = (f"The {source} has its celestial axes at FITS axes {lng + 1} and "
                   f"{lat + 1}; astropy_radiounet needs them as axes 1 and 2.  Transpose "
                   f"the data and WCS (e.g. with WCS.swapaxes) first.")
            raise ValueError(msg)
    plane = drop_degenerate_axes(
        data, source=source,
        ctype=None if header is None else lambda axis: header.get(f"CTYPE{axis}", "?"))
    return plane, (wcs.celestial if wcs is not None else None)


def _check_pixel_scale_keywords(header, wcs, *, source):
    """
    Refuse a celestial WCS whose header gives no pixel scale: wcslib then
    assumes 1 deg per pixel, which makes a model grid of absurd size.
    """
    naxis = int(header.get("NAXIS", 2) or 2)
    missing = [f"CDELT{axis}" for axis in (1, 2)
               if f"CDELT{axis}" not in header
               and not any(f"CD{axis}_{other}" in header for other in range(1, naxis + 1))]
    if missing:
        ctypes = ", ".join(f"CTYPE{axis}={wcs.wcs.ctype[axis - 1]!r}" for axis in (1, 2))
        msg = (f"The {source} has a celestial WCS ({ctypes}) but no pixel scale: its header "
               f"has no {' or '.join(missing)} (nor a CDi_j matrix), and wcslib would assume "
               f"1 deg per pixel.  Add CDELT1 and CDELT2 (degrees per pixel; CDELT1 is "
               f"negative when RA increases to the left) to the header, or pass wcs= with "
               f"the image's WCS.")
        raise ValueError(msg)


def _from_hdu(hdu, *, source, unit=None, wcs_given=False, beam_given=False):
    data, wcs = _celestial_plane(hdu.data, hdu.header, source=source)
    if wcs is not None and not wcs_given:
        _check_pixel_scale_keywords(hdu.header, wcs, source=source)
    bunit = hdu.header.get("BUNIT")
    if bunit is None and unit is None:
        warnings.warn(f"The {source} has no BUNIT keyword; assuming Jy/beam (pass unit= "
                      f"if it is not).", MissingMetadataWarning, stacklevel=3)
    unit, scale = resolve_unit(bunit, unit, source=source)
    try:
        beam = beam_from_header(hdu.header, source=f"header of the {source}")
    except ValueError as exc:
        if not beam_given:
            raise
        warnings.warn(f"{exc}  The beam keyword replaces it.", InputReplacedWarning,
                      stacklevel=3)
        beam = None
    return ImagePlane(data=data, mask=None, wcs=wcs, beam=beam, unit=unit, scale=scale,
                      header=hdu.header)


def _first_image_hdu(hdulist, *, source, notes=()):
    """The first HDU with image data of 2 or more axes, and its index."""
    for index, hdu in enumerate(hdulist):
        if not hdu.is_image:
            continue
        try:
            data = hdu.data
        except _READ_ERRORS as exc:
            note = "".join(f"  {text}" for text in notes)
            msg = (f"The {source} cannot be read: the data of HDU {index} are cut short or "
                   f"corrupt ({exc}).{note}  The file is probably truncated (an interrupted "
                   f"download or copy): copy it again.")
            raise ValueError(msg) from exc
        if data is not None and data.ndim >= 2:
            return hdu, index
    msg = f"The {source} contains no image HDU with 2-D (or larger) data."
    raise ValueError(msg)


def _from_path(path, *, unit, wcs_given, beam_given):
    if not os.path.exists(path):
        msg = f"No such image file: {path!r}."
        raise FileNotFoundError(msg)
    source = f"file {path!r}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # memmap=None maps the file where astropy can, and reads into memory the
            # images whose values must be computed (BSCALE/BZERO/BLANK, compressed);
            # memmap=True refuses those.
            hdulist = fits.open(path, memmap=None, lazy_load_hdus=False)
        except _READ_ERRORS as exc:
            msg = f"Cannot read {path!r} as FITS ({exc}); is it a FITS image?"
            raise ValueError(msg) from exc
        try:
            notes = list(dict.fromkeys(str(item.message) for item in caught
                                       if "truncated" in str(item.message)))
            hdu, index = _first_image_hdu(hdulist, source=source, notes=notes)
        except BaseException:
            hdulist.close()
            raise
    said = {}  # what astropy had to say about a file that could be read, once each
    for item in caught:
        said.setdefault((item.category, str(item.message)), item)
    for item in said.values():
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if index:
        source = f"{source} (HDU {index})"
    try:
        return _from_hdu(hdu, source=source, unit=unit, wcs_given=wcs_given,
                         beam_given=beam_given)
    except BaseException:
        hdulist.close()
        raise


def read_image(data, *, mask=None, wcs=None, unit=None, beam=None, blank_zero_borders=True):
    """
    Read any supported input into an `~astropy_radiounet.image.ImagePlane`.

    Parameters
    ----------
    data : str, `os.PathLike`, HDU, `~astropy.io.fits.HDUList`, `~astropy.nddata.NDData`, \
`~astropy.units.Quantity`, `~numpy.ndarray` or `~astropy_radiounet.image.ImagePlane`
        The image.  A path is opened memory-mapped and the first HDU with
        image data is used.  An `~astropy_radiounet.image.ImagePlane` is
        returned as it is (with ``mask`` and ``wcs`` applied).  The mask of a
        `numpy.ma.MaskedArray` is honoured.
    mask : array_like of bool, optional
        `True` where pixels are to be ignored, in addition to non-finite
        ones (and to the mask of a `numpy.ma.MaskedArray`).  Same shape as
        the 2-D plane.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS of a plain array or Quantity.  For inputs that carry
        their own WCS (FITS, NDData) an explicit ``wcs`` replaces it with an
        `~astropy_radiounet.exceptions.InputReplacedWarning`.
    unit : str or `~astropy.units.UnitBase`, optional
        Brightness unit (a flux density per beam) of an input that carries
        none: a plain array, or a FITS image or NDData without a unit;
        Jy/beam when not given.  An input that carries its own unit (BUNIT,
        ``NDData.unit``, a Quantity) keeps it, and a ``unit`` that disagrees
        with it is an error.
    beam : `radio_beam.Beam`, optional
        Restoring beam of an input that carries none (an array, a Quantity,
        or a FITS image or NDData without ``BMAJ``).  For inputs that carry
        their own, an explicit ``beam`` replaces it with an
        `~astropy_radiounet.exceptions.InputReplacedWarning`.
    blank_zero_borders : bool, optional
        Mask blanking written as zeros rather than NaN: regions of exact
        zeros that touch the edge of the image and cover at least
        ``ZERO_BORDER_BEAMS`` (4) beams (at least 64 pixels), with a
        `~astropy_radiounet.exceptions.BlankDataWarning`.  `False` keeps
        them as data.  An `~astropy_radiounet.image.ImagePlane` input is
        never changed.

    Returns
    -------
    image : `~astropy_radiounet.image.ImagePlane`

    Raises
    ------
    ValueError
        For a file that is not FITS or is cut short, a cube, a unit that is
        not a brightness per beam, a header beam that is not a beam, or a
        celestial WCS without a pixel scale (no ``CDELT``/``CD``); the
        message names the file and what to change.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.image.read import read_image
    >>> plane = read_image(np.zeros((4, 4, 1, 1)).T)
    >>> plane.shape
    (4, 4)
    """
    given = {"wcs_given": wcs is not None, "beam_given": beam is not None}
    source = type(data).__name__
    if isinstance(data, ImagePlane):
        plane = data
        blank_zero_borders = False
        resolve_unit(plane.unit, unit, source="ImagePlane")
    elif isinstance(data, (str, os.PathLike)):
        source = f"file {os.fspath(data)!r}"
        plane = _from_path(os.fspath(data), unit=unit, **given)
    elif isinstance(data, fits.HDUList):
        hdu, index = _first_image_hdu(data, source="HDUList")
        source = f"HDUList (HDU {index})"
        plane = _from_hdu(hdu, source=source, unit=unit, **given)
    elif isinstance(data, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        plane = _from_hdu(data, source=source, unit=unit, **given)
    elif isinstance(data, NDData):
        plane = _from_nddata(data, mask=mask, wcs=wcs, unit=unit)
        mask = wcs = None  # already applied
    elif isinstance(data, u.Quantity):
        array = drop_degenerate_axes(np.asarray(data.value), source="Quantity")
        unit, scale = resolve_unit(data.unit, unit, source="Quantity")
        plane = ImagePlane(data=array, mask=None, wcs=None, beam=None, unit=unit, scale=scale)
    elif isinstance(data, np.ndarray) or np.ndim(data) >= 2:
        source = "masked array" if isinstance(data, np.ma.MaskedArray) else "array"
        plane = ImagePlane.from_array(data, wcs=wcs, beam=beam, unit=unit, mask=mask)
        mask = wcs = beam = None  # already applied
    else:
        msg = (f"Cannot read an image from {type(data).__name__}; pass a FITS path, an "
               f"HDU or HDUList, an NDData, a Quantity or a 2-D numpy array.")
        raise TypeError(msg)

    if wcs is not None:
        if plane.wcs is not None:
            warnings.warn("The input carries its own WCS; the wcs keyword replaces it.",
                          InputReplacedWarning, stacklevel=2)
        plane = plane.replace(wcs=check_wcs(wcs))
    if mask is not None:
        plane = plane.replace(mask=check_mask(mask, plane.shape))
    if beam is not None:
        if plane.beam is not None:
            warnings.warn("The input carries its own beam; the beam keyword replaces it.",
                          InputReplacedWarning, stacklevel=2)
        plane = plane.replace(beam=check_beam(beam))
    if blank_zero_borders:
        plane = mask_zero_borders(plane, source=source)
    return plane


def _from_nddata(nddata, *, mask, wcs, unit=None):
    header = nddata.meta if isinstance(nddata.meta, fits.Header) else None
    array = drop_degenerate_axes(np.asanyarray(nddata.data), source="NDData")
    own_wcs = nddata.wcs
    if own_wcs is not None and not isinstance(own_wcs, WCS):
        own_wcs = getattr(own_wcs, "low_level_wcs", None)
        own_wcs = own_wcs if isinstance(own_wcs, WCS) else None
    if own_wcs is not None and own_wcs.has_celestial:
        own_wcs = own_wcs.celestial
    else:
        own_wcs = None
    if wcs is not None:
        if own_wcs is not None:
            warnings.warn("The NDData carries its own WCS; the wcs keyword replaces it.",
                          InputReplacedWarning, stacklevel=2)
        own_wcs = check_wcs(wcs)
    own_mask = None if nddata.mask is None else np.asanyarray(nddata.mask, dtype=bool)
    if own_mask is not None and own_mask.shape != array.shape:
        if own_mask.shape != np.shape(nddata.data) and mask is None:
            msg = (f"The NDData's mask has shape {own_mask.shape} but its data have shape "
                   f"{np.shape(nddata.data)}; give the NDData a boolean mask of the data's "
                   f"shape (True = masked), or pass mask= of the image plane's shape "
                   f"{array.shape}.")
            raise ValueError(msg)
        if own_mask.size == array.size:
            own_mask = own_mask.reshape(array.shape)  # degenerate axes dropped
    if mask is not None:
        if own_mask is not None:
            warnings.warn("The NDData carries its own mask; the mask keyword replaces it.",
                          InputReplacedWarning, stacklevel=2)
        own_mask = mask
    own = nddata.unit
    if own is None and header is not None:
        own = header.get("BUNIT")
    unit, scale = resolve_unit(own, unit, source="NDData")
    meta = nddata.meta
    beam = (beam_from_header(meta, source="meta of the NDData")
            if isinstance(meta, (fits.Header, Mapping)) else None)
    return ImagePlane(data=array, mask=check_mask(own_mask, array.shape), wcs=own_wcs,
                      beam=beam, unit=unit, scale=scale, header=header)
