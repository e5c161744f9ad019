"""
Brightness units of radio images: a flux density per beam, and the factor
that brings it to Jy/beam.  Survey dialects (``JY/BEAM``, ``Jy beam-1``) are
understood.
"""

import astropy.units as u

__all__ = ["JY_BEAM", "parse_brightness_unit", "resolve_unit"]

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
    >>> from astropy_radiounet.image.units import parse_brightness_unit
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


def resolve_unit(own, given, *, source):
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
