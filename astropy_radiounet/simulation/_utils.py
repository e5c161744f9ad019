"""Small shared helpers: argument checking, unit stripping, random generators."""

import astropy.units as u
import numpy as np

__all__ = []

FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))


def as_rng(seed):
    """Return a `numpy.random.Generator` from a seed, SeedSequence or Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        msg = (f"seed={seed!r} is not usable; pass an int, a numpy.random.SeedSequence, "
               "a numpy.random.Generator or None")
        raise TypeError(msg)
    return np.random.default_rng(seed)


def to_value(name, value, unit, *, positive=True, allow_zero=False):
    """
    Strip a unit from ``value`` (a Quantity or a bare number already in ``unit``).

    Raises a `ValueError` that names the argument when the unit is wrong or the
    value is not positive.
    """
    if isinstance(value, u.Quantity):
        try:
            out = value.to_value(unit, equivalencies=u.dimensionless_angles())
        except u.UnitConversionError:
            msg = (f"{name}={value!r} has the wrong unit; pass a Quantity convertible to "
                   f"{unit} (e.g. {name}=1.0 * u.{unit}) or a number in {unit}")
            raise ValueError(msg) from None
    else:
        try:
            out = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            msg = f"{name}={value!r} is not a number; pass a number in {unit} or a Quantity"
            raise TypeError(msg) from None
    out = np.asarray(out, dtype=float)
    if positive:
        bad = (out < 0) if allow_zero else (out <= 0)
        if np.any(bad) or not np.all(np.isfinite(out)):
            word = "non-negative" if allow_zero else "positive"
            msg = f"{name}={value!r} must be finite and {word}"
            raise ValueError(msg)
    return float(out) if out.ndim == 0 else out


def check_shape(name, shape, *, minimum=16):
    """Validate a 2-D image shape and return it as a tuple of ints."""
    try:
        ny, nx = (int(s) for s in shape)
    except (TypeError, ValueError):
        msg = f"{name}={shape!r} must be a pair of ints (ny, nx), e.g. {name}=(256, 256)"
        raise ValueError(msg) from None
    if ny < minimum or nx < minimum:
        msg = f"{name}={shape!r} is too small; both sides must be at least {minimum} pixels"
        raise ValueError(msg)
    return ny, nx


def check_range(name, value, *, low=None, high=None):
    """Validate a (min, max) pair and return it as floats."""
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        msg = f"{name}={value!r} must be a pair (min, max) of numbers"
        raise ValueError(msg) from None
    if not a <= b or (low is not None and a < low) or (high is not None and b > high):
        msg = (f"{name}={value!r} must satisfy {low if low is not None else '-inf'} <= min "
               f"<= max <= {high if high is not None else 'inf'}")
        raise ValueError(msg)
    return a, b


def check_probability(name, value):
    """Validate a probability in [0, 1]."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        msg = f"{name}={value!r} must be a probability between 0 and 1"
        raise ValueError(msg)
    return value


def gaussian_stamp(ny, nx, y0, x0, cov, *, total=1.0):
    """
    Sample an elliptical Gaussian of given covariance (pixels^2) normalised to
    ``total`` (sum over the infinite plane) on an ``(ny, nx)`` grid.
    """
    yy = np.arange(ny)[:, None] - y0
    xx = np.arange(nx)[None, :] - x0
    inv = np.linalg.inv(cov)
    q = inv[0, 0] * yy**2 + 2 * inv[0, 1] * yy * xx + inv[1, 1] * xx**2
    return total / (2 * np.pi * np.sqrt(np.linalg.det(cov))) * np.exp(-0.5 * q)


def beam_covariance(major, minor, pa_deg):
    """
    Covariance (pixels^2, in (y, x) order) of a Gaussian with FWHMs ``major`` and
    ``minor`` (pixels) and position angle ``pa_deg`` east of north, for an image
    with north up and east to the left (RA increasing to -x).
    """
    theta = np.deg2rad(pa_deg)
    a = np.array([np.cos(theta), -np.sin(theta)])  # major axis direction (dy, dx)
    b = np.array([np.sin(theta), np.cos(theta)])
    s1, s2 = major * FWHM_TO_SIGMA, minor * FWHM_TO_SIGMA
    return s1**2 * np.outer(a, a) + s2**2 * np.outer(b, b)


def rotation_cov(sig_major, sig_minor, angle):
    """Covariance (y, x) of a Gaussian with sigmas along an axis at ``angle`` (rad from +x)."""
    a = np.array([np.sin(angle), np.cos(angle)])
    b = np.array([np.cos(angle), -np.sin(angle)])
    return sig_major**2 * np.outer(a, a) + sig_minor**2 * np.outer(b, b)
