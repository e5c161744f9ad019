"""
Extended radio galaxies -- the confusers that fool diffuse-emission finders:
FRI (jets and plumes), FRII (lobes with hotspots), head-tail and wide-angle-tail
galaxies. Each is a chain of elliptical Gaussian blobs (Jy/pixel) plus a core.
"""

from dataclasses import dataclass

import numpy as np

from ._utils import FWHM_TO_SIGMA
from .compact import size_covariance

__all__ = ["RADIO_GALAXY_KINDS", "RadioGalaxy", "radio_galaxy"]

RADIO_GALAXY_KINDS = ("FRI", "FRII", "head-tail", "WAT")


@dataclass
class RadioGalaxy:
    """Blobs ``(y, x, flux, cov)`` (pixels, Jy, pixels^2) of one radio galaxy and its core."""

    kind: str
    y: float
    x: float
    flux: float
    size: float
    angle: float
    blob_y: np.ndarray
    blob_x: np.ndarray
    blob_flux: np.ndarray
    blob_cov: np.ndarray
    core_flux: float


def _chain(rng, y, x, angle, length, *, n, w0, w1, bend=0.0, decay=1.0, wobble=0.03):
    """Blob centres, widths and relative weights along a (bent) jet."""
    s = np.linspace(0, 1, n)
    theta = angle + bend * s**2 + np.cumsum(rng.normal(0, wobble, n))
    step = length / (n - 1)
    dy = np.concatenate([[0.0], np.cumsum(np.sin(theta[:-1]) * step)])
    dx = np.concatenate([[0.0], np.cumsum(np.cos(theta[:-1]) * step)])
    width = w0 + (w1 - w0) * s
    weight = np.exp(-s / decay) * rng.uniform(0.6, 1.4, n)
    return y + dy, x + dx, width, weight, theta


def _add(parts, *arrays):
    for store, arr in zip(parts, arrays):
        store.append(arr)


def radio_galaxy(rng, kind, y, x, *, flux, size, angle=None, bend=None):
    """
    Build one extended radio galaxy.

    Parameters
    ----------
    rng : `numpy.random.Generator`
    kind : {'FRI', 'FRII', 'head-tail', 'WAT'}
    y, x : float
        Position of the host (grid pixels).
    flux : float
        Total flux density (Jy).
    size : float
        Largest linear extent (pixels).
    angle : float, optional
        Axis angle (rad from +x); random when None.
    bend : float, optional
        Bending angle of tailed sources (rad); random when None.

    Returns
    -------
    `RadioGalaxy`

    Examples
    --------
    >>> import numpy as np
    >>> g = radio_galaxy(np.random.default_rng(0), 'FRII', 50.0, 50.0, flux=0.1, size=40.0)
    >>> bool(abs(g.blob_flux.sum() + g.core_flux - 0.1) < 1e-9)
    True
    """
    if kind not in RADIO_GALAXY_KINDS:
        msg = f"kind={kind!r} is not a radio-galaxy kind; use one of {RADIO_GALAXY_KINDS}"
        raise ValueError(msg)
    angle = rng.uniform(0, 2 * np.pi) if angle is None else angle
    parts = ([], [], [], [], [])
    if kind == "FRI":
        core = rng.uniform(0.05, 0.2)
        for side in (0, np.pi):
            ln = size / 2 * rng.uniform(0.7, 1.0)
            cy, cx, w, wt, th = _chain(rng, y, x, angle + side + rng.normal(0, 0.1), ln,
                                       n=14, w0=0.6, w1=0.35 * ln, bend=rng.normal(0, 0.4),
                                       decay=0.6)
            _add(parts, cy[1:], cx[1:], w[1:], wt[1:], th[1:])
    elif kind == "FRII":
        core = rng.uniform(0.005, 0.05)
        for side in (0, np.pi):
            ln = size / 2 * rng.uniform(0.75, 1.0)
            th0 = angle + side + rng.normal(0, 0.06)
            hy, hx = y + ln * np.sin(th0), x + ln * np.cos(th0)
            # lobe: from the hotspot back towards the core, widening then fading
            cy, cx, w, wt, th = _chain(rng, hy, hx, th0 + np.pi + rng.normal(0, 0.1),
                                       0.7 * ln, n=10, w0=0.12 * ln, w1=0.3 * ln,
                                       decay=0.5, wobble=0.08)
            hot = rng.uniform(0.1, 0.35)
            wt = (1 - hot) * wt / wt.sum()
            _add(parts, np.r_[hy, cy], np.r_[hx, cx], np.r_[max(0.03 * ln, 0.8), w],
                 np.r_[hot, wt], np.r_[th0, th])
    elif kind == "head-tail":
        core = rng.uniform(0.1, 0.3)
        bend = rng.normal(0, 1.0) if bend is None else bend
        cy, cx, w, wt, th = _chain(rng, y, x, angle, size, n=18, w0=0.8, w1=0.12 * size,
                                   bend=bend, decay=0.45, wobble=0.06)
        _add(parts, cy[1:], cx[1:], w[1:], wt[1:], th[1:])
    else:  # WAT
        core = rng.uniform(0.03, 0.15)
        bend = rng.uniform(0.6, 1.4) if bend is None else abs(bend)
        for sign in (1, -1):
            th0 = angle + sign * (np.pi / 2 + rng.normal(0, 0.15))
            cy, cx, w, wt, th = _chain(rng, y, x, th0, size / 2, n=14, w0=0.7,
                                       w1=0.25 * size, bend=-sign * bend * 1.5, decay=0.8)
            _add(parts, cy[1:], cx[1:], w[1:], wt[1:], th[1:])
    by, bx, bw, bwt, ax = (np.concatenate(p) for p in parts)
    bwt = bwt / bwt.sum() * flux * (1 - core)
    major = bw / FWHM_TO_SIGMA  # blob widths are Gaussian sigmas
    cov = size_covariance(major * 1.3, major, ax)
    return RadioGalaxy(kind, float(y), float(x), float(flux), float(size), float(angle),
                       by, bx, bwt, cov, float(flux * core))
