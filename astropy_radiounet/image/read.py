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
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS, FITSFixedWarning
from radio_beam import Beam
from scipy import ndimage

from ..exceptions import BlankDataWarning, InputReplacedWarning, MissingMetadataWarning
from .beams import beam_area_pixels, beam_from_header, check_beam

__all__ = ["ImagePlane", "read_image", "parse_brightness_unit", "check_mask"]

JY_BEAM = u.Jy / u.beam
#: Brightness units understood, by their lower-case spelling.
_BRIGHTNESS_UNITS = {
    "jy/beam": JY_BEAM,
    "mjy/beam": u.mJy / u.beam,
    "ujy/beam": u.uJy / u.beam,
    "µjy/beam": u.uJy / u.beam,
    "jy beam-1": JY_BEAM,
    "mjy beam-1": u.mJy / u.beam,
}
#: A region of exact zeros touching the image edge is blanking written as 0
#: when it covers at least this many beams (and ZERO_BORDER_MIN_PIXELS pixels).
ZERO_BORDER_BEAMS = 4
ZERO_BORDER_MIN_PIXELS = 64
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: What astropy raises for a file that is not FITS, or is cut short.
_READ_ERRORS = (OSError, EOFError, ValueError, TypeError, IndexError, KeyError)


@dataclass(frozen=True)
class ImagePlane:
    """
    One 2-D image plane and what is known about it.

    Attributes
    ----------
    data : `~numpy.ndarray`
        The 2-D pixel values (possibly a memory-mapped view in any byte order
        or dtype); non-finite values are blank.
    mask : `~numpy.ndarray` or `None`
        Boolean user mask, `True` where masked, or `None`.
    wcs : `~astropy.wcs.WCS` or `None`
        Two-dimensional celestial WCS.
    beam : `radio_beam.Beam` or `None`
        The restoring beam (from the header's ``BMAJ``, ``BMIN`` and
        ``BPA``; see `~astropy_radiounet.image.beam_from_header`).
    unit : `~astropy.units.UnitBase`
        The brightness unit of ``data`` (Jy/beam when the input had none).
    scale : float
        Factor that converts ``data`` to Jy/beam.
    header : `~astropy.io.fits.Header` or `None`
        The header the plane came from, if any.
    """

    data: np.ndarray
    mask: np.ndarray | None
    wcs: WCS | None
    beam: Beam | None
    unit: u.UnitBase
    scale: float
    header: fits.Header | None = None

    @property
    def shape(self):
        """Shape of the plane, (ny, nx)."""
        return self.data.shape

    def blank(self, rows=slice(None), cols=slice(None)):
        """
        Boolean array, `True` where a pixel is masked or non-finite (or
        beyond the float32 range, in which the image is processed).

        Parameters
        ----------
        rows, cols : slice, optional
            Part of the plane to evaluate (the whole plane by default).
        """
        data = self.data[rows, cols]
        blank = ~np.isfinite(data)
        if data.dtype.kind == "f" and data.dtype.itemsize > 4:
            # Values beyond the float32 range (about 3e38 Jy/beam) cannot be computed with.
            with np.errstate(over="ignore", invalid="ignore"):
                blank |= np.abs(data) * abs(self.scale) > _FLOAT32_MAX
        if self.mask is not None:
            blank |= self.mask[rows, cols]
        return blank

    def is_blank(self, *, strip_rows=1024):
        """
        Whether every pixel is blank, read ``strip_rows`` rows at a time (so that a
        memory-mapped plane is never read whole).
        """
        return all(self.blank(slice(start, start + strip_rows)).all()
                   for start in range(0, self.shape[0], strip_rows))

    def blank_into(self, out, *, strip_rows=1024):
        """
        Set ``out`` (an array of the plane's shape) to NaN where the plane is blank,
        ``strip_rows`` rows at a time.
        """
        for start in range(0, self.shape[0], strip_rows):
            rows = slice(start, min(start + strip_rows, self.shape[0]))
            out[rows][self.blank(rows)] = np.nan

    @classmethod
    def from_array(cls, data, *, wcs=None, beam=None, unit=None, mask=None):
        """
        An image plane of an array and what is known about it, without FITS.

        Parameters
        ----------
        data : array_like
            The 2-D image (degenerate leading axes are dropped).
        wcs : `~astropy.wcs.WCS`, optional
            Its celestial WCS.
        beam : `radio_beam.Beam`, optional
            Its restoring beam.
        unit : str or `~astropy.units.UnitBase`, optional
            Its brightness unit; Jy/beam by default.
        mask : array_like of bool, optional
            `True` where pixels are to be ignored.

        Returns
        -------
        plane : `ImagePlane`
            Unlike `read_image`, zeros are always data here (see its
            ``blank_zero_borders``).

        Examples
        --------
        >>> import numpy as np
        >>> import astropy.units as u
        >>> from radio_beam import Beam
        >>> from astropy_radiounet.image import ImagePlane
        >>> plane = ImagePlane.from_array(np.zeros((3, 4)), beam=Beam(6 * u.arcsec),
        ...                               unit='mJy/beam')
        >>> plane.shape, plane.scale, plane.beam.major.to(u.arcsec)
        ((3, 4), 0.001, <Quantity 6. arcsec>)
        """
        return read_image(np.asanyarray(data), wcs=wcs, beam=beam, unit=unit, mask=mask,
                          blank_zero_borders=False)

    def replace(self, **changes):
        """
        A copy of the plane with some attributes replaced (the data are shared).

        Parameters
        ----------
        **changes
            New values of attributes (``data``, ``mask``, ``wcs``, ``beam``,
            ``unit``, ``scale``, ``header``).

        Returns
        -------
        plane : `ImagePlane`
        """
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return ImagePlane(**values)

    def cutout(self, position, size, *, mode="partial"):
        """
        The part of the plane around a position, blank where it leaves the plane.

        Parameters
        ----------
        position : `~astropy.coordinates.SkyCoord` or tuple of float
            Centre of the cutout: a sky position (needs the plane's WCS) or
            pixel coordinates ``(x, y)``.
        size : int, `~astropy.units.Quantity` or tuple of them
            Side(s) of the cutout, ``(ny, nx)``, in pixels or as angles (see
            `~astropy.nddata.Cutout2D`).
        mode : {'partial', 'trim'}, optional
            ``'partial'``: the cutout has the requested size, NaN off the
            plane; ``'trim'``: only the part on the plane (for a size larger
            than the plane, which would otherwise allocate mostly NaN).

        Returns
        -------
        cutout : `ImagePlane`
            Pixels outside the plane are NaN; the WCS is the cutout's, and
            the beam, unit and scale are the plane's.

        Examples
        --------
        >>> import numpy as np
        >>> from astropy_radiounet.image import ImagePlane
        >>> plane = ImagePlane.from_array(np.ones((10, 10)))
        >>> part = plane.cutout((1, 1), 4)
        >>> part.shape, int(np.isnan(part.data).sum())
        ((4, 4), 7)
        """
        from astropy.nddata import Cutout2D

        if self.wcs is None and not isinstance(position, tuple):
            msg = ("A cutout at a sky position needs the plane's WCS, and this plane has "
                   "none; give the position in pixels, (x, y).")
            raise ValueError(msg)
        data = self.data
        if not np.issubdtype(data.dtype, np.floating):
            data = np.asarray(data, dtype=np.float32)
        if mode not in ("partial", "trim"):
            msg = f"mode must be 'partial' or 'trim'; got {mode!r}."
            raise ValueError(msg)
        cut = Cutout2D(data, position, size, wcs=self.wcs, mode=mode, fill_value=np.nan,
                       copy=True)
        mask = None
        if self.mask is not None:
            mask = Cutout2D(self.mask, position, size, wcs=self.wcs, mode=mode,
                            fill_value=True, copy=True).data
        return self.replace(data=cut.data, mask=mask, wcs=cut.wcs, header=None)

    def read(self, rows=slice(None), cols=slice(None)):
        """
        Read part of the plane as native float32 Jy/beam, blanks set to zero.

        Returns
        -------
        values, valid : `~numpy.ndarray`
            The float32 values and a boolean array, `True` where valid.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.array(self.data[rows, cols], dtype=np.float32)
            if self.scale != 1.0:
                values *= np.float32(self.scale)
        valid = ~self.blank(rows, cols) & np.isfinite(values)
        values[~valid] = 0.0
        return values, valid


def parse_brightness_unit(unit, *, source="data"):
    """
    Interpret a brightness unit as a flux density per beam.

    Parameters
    ----------
    unit : str, `~astropy.units.UnitBase` or `None`
        The unit, in any case (``'JY/BEAM'`` as LoTSS writes it works).
        `None` is taken to be Jy/beam.
    source : str, optional
        What the unit came from, for the error message.

    Returns
    -------
    unit : `~astropy.units.UnitBase`
        The unit as astropy understands it.
    scale : float
        Factor that converts values in ``unit`` to Jy/beam.

    Raises
    ------
    ValueError
        If the unit is not a flux density per beam.

    Examples
    --------
    >>> from astropy_radiounet.image.read import parse_brightness_unit
    >>> parse_brightness_unit('MJY/BEAM')
    (Unit("mJy / beam"), 0.001)
    """
    if unit is None:
        return JY_BEAM, 1.0
    text = unit.to_string() if isinstance(unit, u.UnitBase) else str(unit)
    if not isinstance(unit, u.UnitBase):
        # Exact spellings first ('MJy/beam' is mega); all-capitals survey
        # dialects such as 'JY/BEAM' are not valid units and fall through.
        unit = u.Unit(text, parse_strict="silent")
    if not isinstance(unit, u.UnrecognizedUnit):
        try:
            return unit, float(unit.to(JY_BEAM))
        except u.UnitConversionError:
            pass
    key = " ".join(text.strip().lower().split())
    if key in _BRIGHTNESS_UNITS:
        parsed = _BRIGHTNESS_UNITS[key]
        return parsed, float(parsed.to(JY_BEAM))
    msg = (f"The {source} has brightness unit {text!r}; astropy_radiounet works on "
           f"radio images in Jy/beam, mJy/beam or uJy/beam.  Convert the image to "
           f"Jy/beam first (for Jy/pixel, multiply by the beam area in pixels).")
    raise ValueError(msg)


def _celestial_plane(data, header, *, source):
    """Drop degenerate non-celestial axes from a FITS image and its header."""
    if data is None:
        msg = (f"The {source} has no image data; pass the HDU that holds the image "
               f"(e.g. hdulist[1]).")
        raise ValueError(msg)
    if data.ndim < 2:
        msg = f"The {source} is {data.ndim}-dimensional; a 2-D image plane is required."
        raise ValueError(msg)
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
    index = []
    for numpy_axis in range(data.ndim - 2):
        fits_axis = data.ndim - numpy_axis
        length = data.shape[numpy_axis]
        if length != 1:
            ctype = header.get(f"CTYPE{fits_axis}", "?") if header is not None else "?"
            msg = (f"The {source} is a cube: FITS axis {fits_axis} ({ctype}) has "
                   f"{length} planes, and astropy_radiounet segments one 2-D plane.  Pick "
                   f"a plane, e.g. read_image(hdu.data[{', '.join(['0'] * (numpy_axis + 1))}"
                   f"{', ...' if data.ndim - numpy_axis > 3 else ''}], "
                   f"wcs=WCS(hdu.header).celestial).")
            raise ValueError(msg)
        index.append(0)
    plane = data[tuple(index)] if index else data
    return plane, (wcs.celestial if wcs is not None else None)


def _resolve_unit(own, given, *, source):
    """
    Unit and scale to Jy/beam of an input whose own unit is ``own`` (None
    when it carries none), with the ``unit`` keyword ``given``: the keyword
    supplies a missing unit, and must agree with a unit the input carries.
    """
    if given is None:
        return parse_brightness_unit(own, source=source)
    unit, scale = parse_brightness_unit(given, source="unit keyword")
    if own is not None:
        own_unit, own_scale = parse_brightness_unit(own, source=source)
        if own_scale != scale:
            msg = (f"unit={unit.to_string()!r} was passed, but the {source} says its values "
                   f"are in {own_unit.to_string()!r}; leave unit out to use the input's "
                   f"own unit, or correct the input.")
            raise ValueError(msg)
    return unit, scale


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
    unit, scale = _resolve_unit(bunit, unit, source=source)
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


def check_mask(mask, shape):
    """
    A user mask checked against the image plane: boolean, of the plane's shape.

    Parameters
    ----------
    mask : array_like of bool or `None`
        `True` where pixels are masked.
    shape : tuple of int
        The plane's shape.

    Returns
    -------
    mask : `~numpy.ndarray` or `None`

    Raises
    ------
    ValueError
        If the shapes differ.
    TypeError
        If the mask is not boolean.
    """
    if mask is None:
        return None
    mask = np.asanyarray(mask)
    if mask.shape != shape:
        msg = (f"mask has shape {mask.shape} but the image plane has shape {shape}; "
               f"pass a boolean mask of the same shape (True = masked).")
        raise ValueError(msg)
    if mask.dtype != bool:
        msg = f"mask must be a boolean array (True = masked); got dtype {mask.dtype}."
        raise TypeError(msg)
    return mask


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
    own_mask = None
    if isinstance(data, ImagePlane):
        plane = data
        blank_zero_borders = False
        _resolve_unit(plane.unit, unit, source="ImagePlane")
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
        array, _ = _celestial_plane(np.asarray(data.value), None, source="Quantity")
        unit, scale = _resolve_unit(data.unit, unit, source="Quantity")
        plane = ImagePlane(data=array, mask=None, wcs=None, beam=None, unit=unit, scale=scale)
    elif isinstance(data, np.ndarray) or np.ndim(data) >= 2:
        array = np.asanyarray(data)
        if not (np.issubdtype(array.dtype, np.floating)
                or np.issubdtype(array.dtype, np.integer)):
            msg = f"The image has dtype {array.dtype}; a real-valued numeric array is required."
            raise TypeError(msg)
        source = "array"
        if isinstance(array, np.ma.MaskedArray):
            source = "masked array"
            own_mask = np.ma.getmaskarray(array)
            array = array.data
        squeezed, _ = _celestial_plane(array, None, source=source)
        if own_mask is not None:
            own_mask = own_mask.reshape(squeezed.shape)
        unit, scale = parse_brightness_unit(unit, source="array")
        plane = ImagePlane(data=squeezed, mask=own_mask, wcs=None, beam=None, unit=unit,
                           scale=scale)
    else:
        msg = (f"Cannot read an image from {type(data).__name__}; pass a FITS path, an "
               f"HDU or HDUList, an NDData, a Quantity or a 2-D numpy array.")
        raise TypeError(msg)

    if wcs is not None:
        if plane.wcs is not None:
            warnings.warn("The input carries its own WCS; the wcs keyword replaces it.",
                          InputReplacedWarning, stacklevel=2)
        plane = plane.replace(wcs=_check_wcs(wcs))
    if mask is not None:
        mask = check_mask(mask, plane.shape)
        if own_mask is not None:  # a masked array's own mask adds to it
            mask = mask | own_mask
        plane = plane.replace(mask=mask)
    if beam is not None:
        if plane.beam is not None:
            warnings.warn("The input carries its own beam; the beam keyword replaces it.",
                          InputReplacedWarning, stacklevel=2)
        plane = plane.replace(beam=check_beam(beam))
    if blank_zero_borders:
        plane = _blank_zero_borders(plane, source=source)
    return plane


def _edge_has_zero(data):
    return any(np.any(np.asarray(edge) == 0)
               for edge in (data[0], data[-1], data[:, 0], data[:, -1]))


def _blank_zero_borders(plane, *, source, strip_rows=1024):
    """
    Mask regions of exact zeros that touch the image edge and cover at least
    ZERO_BORDER_BEAMS beams: blanking written as 0 instead of NaN.
    """
    if min(plane.shape) == 0 or not _edge_has_zero(plane.data):
        return plane  # the usual case, decided from the four edges alone
    ny, nx = plane.shape
    zeros = np.zeros(plane.shape, dtype=bool)
    for start in range(0, ny, strip_rows):
        rows = slice(start, min(start + strip_rows, ny))
        zeros[rows] = plane.data[rows] == 0
        if plane.mask is not None:
            zeros[rows] &= ~plane.mask[rows]
    seeds = np.zeros_like(zeros)
    for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
        seeds[edge] = zeros[edge]
    border = ndimage.binary_propagation(seeds, mask=zeros)
    del zeros, seeds
    min_pixels = ZERO_BORDER_MIN_PIXELS
    if plane.beam is not None and plane.wcs is not None:
        min_pixels = max(min_pixels, int(np.ceil(ZERO_BORDER_BEAMS
                                                 * beam_area_pixels(plane.beam, plane.wcs))))
    if np.count_nonzero(border) < min_pixels:
        return plane
    labels, _ = ndimage.label(border)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    large = sizes >= min_pixels
    if not large.any():
        return plane
    blank = large[labels]
    del labels
    count = int(sizes[large].sum())
    regions = int(large.sum())
    warnings.warn(
        f"The {source} has {count} pixels of exact zeros ({100 * count / blank.size:.3g} per "
        f"cent of the image) in {regions} region{'s' if regions > 1 else ''} touching the "
        f"image edge, each of at least {min_pixels} pixels ({ZERO_BORDER_BEAMS} beams or "
        f"{ZERO_BORDER_MIN_PIXELS} pixels, the larger): blanking written as 0 rather than NaN."
        f"  "
        f"They are treated as blank (masked, NaN in the results).  Write blank pixels as NaN "
        f"to avoid this warning, or pass blank_zero_borders=False to read_image to keep "
        f"them as data.", BlankDataWarning, stacklevel=3)
    mask = blank if plane.mask is None else (blank | plane.mask)
    return plane.replace(mask=mask)


def _check_wcs(wcs):
    if not isinstance(wcs, WCS):
        msg = f"wcs must be an astropy.wcs.WCS; got {type(wcs).__name__}."
        raise TypeError(msg)
    if not wcs.has_celestial:
        msg = "wcs has no celestial axes; pass a WCS with RA/Dec (or other sky) axes."
        raise ValueError(msg)
    return wcs.celestial


def _from_nddata(nddata, *, mask, wcs, unit=None):
    header = nddata.meta if isinstance(nddata.meta, fits.Header) else None
    array, _ = _celestial_plane(np.asanyarray(nddata.data), None, source="NDData")
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
        own_wcs = _check_wcs(wcs)
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
    unit, scale = _resolve_unit(own, unit, source="NDData")
    meta = nddata.meta
    beam = (beam_from_header(meta, source="meta of the NDData")
            if isinstance(meta, (fits.Header, Mapping)) else None)
    return ImagePlane(data=array, mask=check_mask(own_mask, array.shape), wcs=own_wcs,
                      beam=beam, unit=unit, scale=scale, header=header)
