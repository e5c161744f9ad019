"""
Validated attributes: settings that refuse a bad value when they are set.

A class declares its settings as descriptors, so that the same check runs
in the constructor and on every later assignment, and the error names the
setting, the value and what it must be::

    class Finder:
        n_pixels = PositiveInteger(optional=True)
        connectivity = OneOf((4, 8))

``Finder().connectivity = 6`` then raises ``ValueError: connectivity must be
one of 4, 8; got 6.``  Standard library only (values are checked with
``numbers``).
"""

import math
import numbers

__all__ = ["ValidatedAttribute", "PositiveInteger", "PositiveNumber", "Probability",
           "OneOf", "IntegerPair"]


class ValidatedAttribute:
    """
    Base of the validated attributes (a data descriptor).

    Subclasses implement `convert`, which returns the value to store or
    raises `ValueError`/`TypeError`; the message is made here.

    Parameters
    ----------
    optional : bool, optional
        Whether `None` is accepted (and stored as it is).
    """

    #: What a valid value is, for the error message ("a positive integer").
    expected = "valid"

    def __init__(self, *, optional=False):
        self.optional = optional
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        try:
            return instance.__dict__[self.name]
        except KeyError:
            msg = f"{type(instance).__name__}.{self.name} has not been set."
            raise AttributeError(msg) from None

    def __set__(self, instance, value):
        instance.__dict__[self.name] = self.validate(value)

    def validate(self, value, name=None):
        """
        The value as stored, or an error naming what the value must be.

        Parameters
        ----------
        value : object
            The candidate value.
        name : str, optional
            The name to report; the attribute's own by default.

        Raises
        ------
        ValueError or TypeError
            If the value is not valid.
        """
        if value is None and self.optional:
            return None
        try:
            converted = self.convert(value)
        except (TypeError, ValueError):
            converted = None
        if converted is None:
            expected = self.expected + (" or None" if self.optional else "")
            msg = f"{name or self.name} must be {expected}; got {value!r}."
            raise (TypeError if isinstance(value, (str, bytes)) else ValueError)(msg)
        return converted

    def convert(self, value):  # pragma: no cover - abstract
        """The stored value, or `None` when ``value`` is not valid."""
        raise NotImplementedError


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class PositiveInteger(ValidatedAttribute):
    """
    An integer of at least 1 (integral floats such as ``5.0`` are accepted).

    Examples
    --------
    >>> from astropy_radiounet.utils.validation import PositiveInteger
    >>> PositiveInteger().validate(5.0, 'n_pixels')
    5
    >>> PositiveInteger().validate(0, 'n_pixels')
    Traceback (most recent call last):
    ...
    ValueError: n_pixels must be a positive integer; got 0.
    """

    expected = "a positive integer"

    def convert(self, value):
        if _is_number(value) and math.isfinite(value) and int(value) == value and value >= 1:
            return int(value)
        return None


class PositiveNumber(ValidatedAttribute):
    """A finite number above 0, stored as a float."""

    expected = "a finite positive number"

    def convert(self, value):
        if _is_number(value) and math.isfinite(value) and value > 0:
            return float(value)
        return None


class Probability(ValidatedAttribute):
    """A probability threshold: a number in [0, 1), stored as a float."""

    expected = "a probability in [0, 1)"

    def convert(self, value):
        if _is_number(value) and 0 <= value < 1:
            return float(value)
        return None


class OneOf(ValidatedAttribute):
    """
    One of a fixed set of values.

    Parameters
    ----------
    choices : tuple
        The accepted values.
    """

    def __init__(self, choices, *, optional=False):
        super().__init__(optional=optional)
        self.choices = tuple(choices)
        self.expected = "one of " + ", ".join(str(choice) for choice in self.choices)

    def convert(self, value):
        for choice in self.choices:
            if type(value) is not bool and value == choice:
                return choice
        return None


class IntegerPair(ValidatedAttribute):
    """
    A pair of positive integers, from an integer (a square) or a pair.

    Examples
    --------
    >>> from astropy_radiounet.utils.validation import IntegerPair
    >>> IntegerPair().validate(256, 'tile_shape')
    (256, 256)
    """

    expected = "a positive integer or a pair of them"

    def convert(self, value):
        if _is_number(value):
            value = (value, value)
        try:
            values = tuple(value)
        except TypeError:
            return None
        converted = tuple(PositiveInteger().convert(item) for item in values)
        if len(converted) != 2 or None in converted:
            return None
        return converted
