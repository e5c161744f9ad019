"""
`ImagePlane`: one 2-D image plane and what is known about it -- its celestial
WCS, restoring beam, brightness unit and blanking -- whatever the input was
(`~astropy_radiounet.image.read_image` makes one from any supported input).
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from radio_beam import Beam

from .beams import check_beam
from .units import parse_brightness_unit

__all__ = ["ImagePlane", "check_mask", "check_wcs", "drop_degenerate_axes"]

#: Values beyond this (in Jy/beam) overflow float32 and are blank.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


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
            Unlike `~astropy_radiounet.image.read_image`, zeros are always data here (see its
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
        array = np.asanyarray(data)
        own_mask = None
        source = "array"
        if isinstance(array, np.ma.MaskedArray):
            source = "masked array"
            own_mask = np.ma.getmaskarray(array)
            array = array.data
        if not (np.issubdtype(array.dtype, np.floating)
                or np.issubdtype(array.dtype, np.integer)):
            msg = f"The image has dtype {array.dtype}; a real-valued numeric array is required."
            raise TypeError(msg)
        array = drop_degenerate_axes(array, source=source)
        if own_mask is not None:
            own_mask = own_mask.reshape(array.shape)
        mask = check_mask(mask, array.shape)
        if mask is None:
            mask = own_mask
        elif own_mask is not None:
            mask = mask | own_mask  # a masked array's own mask adds to it
        unit, scale = parse_brightness_unit(unit, source=source)
        return cls(data=array, mask=mask, wcs=None if wcs is None else check_wcs(wcs),
                   beam=None if beam is None else check_beam(beam), unit=unit, scale=scale)

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
        if mode not in ("partial", "trim"):
            msg = f"mode must be 'partial' or 'trim'; got {mode!r}."
            raise ValueError(msg)
        if np.issubdtype(self.data.dtype, np.floating):
            cut = Cutout2D(self.data, position, size, wcs=self.wcs, mode=mode,
                           fill_value=np.nan, copy=True)
            values = cut.data
        else:
            # An integer image is converted where it is cut out, never whole.
            cut = Cutout2D(self.data, position, size, wcs=self.wcs, mode=mode, fill_value=0,
                           copy=True)
            values = np.full(cut.shape, np.nan, dtype=np.float32)
            values[cut.slices_cutout] = cut.data[cut.slices_cutout]
        mask = None
        if self.mask is not None:
            mask = Cutout2D(self.mask, position, size, wcs=self.wcs, mode=mode,
                            fill_value=True, copy=True).data
        return self.replace(data=values, mask=mask, wcs=cut.wcs, header=None)

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


def check_wcs(wcs):
    """
    A WCS checked for the image plane: an `~astropy.wcs.WCS` with celestial
    axes; its celestial part is returned.
    """
    if not isinstance(wcs, WCS):
        msg = f"wcs must be an astropy.wcs.WCS; got {type(wcs).__name__}."
        raise TypeError(msg)
    if not wcs.has_celestial:
        msg = "wcs has no celestial axes; pass a WCS with RA/Dec (or other sky) axes."
        raise ValueError(msg)
    return wcs.celestial


def drop_degenerate_axes(data, *, source, ctype=None):
    """
    The 2-D plane of an array whose leading axes all have length 1.

    Parameters
    ----------
    data : `~numpy.ndarray`
        The array (e.g. a LoTSS image with FREQ and STOKES axes of length 1).
    source : str
        What it came from, for the error message.
    ctype : callable, optional
        ``ctype(fits_axis)`` -> the axis type, for the message about a cube.

    Returns
    -------
    plane : `~numpy.ndarray`
        A view of the last two axes.

    Raises
    ------
    ValueError
        If the array has fewer than 2 axes, or is a cube (a leading axis
        longer than 1); the message says how to pick a plane.
    """
    if data.ndim < 2:
        msg = f"The {source} is {data.ndim}-dimensional; a 2-D image plane is required."
        raise ValueError(msg)
    for numpy_axis in range(data.ndim - 2):
        fits_axis = data.ndim - numpy_axis
        length = data.shape[numpy_axis]
        if length != 1:
            kind = ctype(fits_axis) if ctype is not None else "?"
            msg = (f"The {source} is a cube: FITS axis {fits_axis} ({kind}) has "
                   f"{length} planes, and astropy_radiounet segments one 2-D plane.  Pick "
                   f"a plane, e.g. read_image(hdu.data[{', '.join(['0'] * (numpy_axis + 1))}"
                   f"{', ...' if data.ndim - numpy_axis > 3 else ''}], "
                   f"wcs=WCS(hdu.header).celestial).")
            raise ValueError(msg)
    return data[(0,) * (data.ndim - 2)] if data.ndim > 2 else data
